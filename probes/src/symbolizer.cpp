#include <loopscope/probes/symbolizer.hpp>

#include <elfutils/libdwfl.h>

#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dlfcn.h>
#include <string>
#include <string_view>
#include <unistd.h>

namespace loopscope::probes {

namespace {

char* debuginfo_path = nullptr;

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = &debuginfo_path,
};

// GCC names the body of a coroutine `f(args)` as a function taking a pointer to its frame
// type, which demangles to "f(f(args)::_Z...Frame*)": give back "f(args)".
std::string coroutine_signature(std::string name) {
  constexpr std::string_view kFrameSuffix = "Frame*)";
  if (name.size() < kFrameSuffix.size() ||
      std::string_view(name).substr(name.size() - kFrameSuffix.size()) != kFrameSuffix) {
    return name;
  }
  const auto frame_type = name.rfind("::_Z");
  // The parameter list is the last top-level parenthesized group.
  int depth = 0;
  std::size_t open = std::string::npos;
  for (std::size_t i = name.size(); i-- > 0;) {
    depth += name[i] == ')' ? 1 : name[i] == '(' ? -1 : 0;
    if (depth == 0) {
      open = i;
      break;
    }
  }
  if (frame_type == std::string::npos || open == std::string::npos || frame_type <= open) {
    return name;
  }
  return name.substr(open + 1, frame_type - open - 1);
}

}  // namespace

std::string demangle(const char* name) {
  if (name == nullptr) {
    return {};
  }
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 && out != nullptr ? out : name;
  std::free(out);  // NOLINT(cppcoreguidelines-no-malloc): allocated by __cxa_demangle
  const auto clone = result.find(" [clone");
  if (clone != std::string::npos) {
    result.erase(clone);
  }
  return coroutine_signature(std::move(result));
}

struct Symbolizer::State {
  Dwfl* dwfl = nullptr;
};

Symbolizer::Symbolizer() : state_(std::make_unique<State>()) {
  state_->dwfl = dwfl_begin(&kCallbacks);
  if (state_->dwfl != nullptr) {
    // Modules loaded later (dlopen) are picked up by reporting again on a miss.
    dwfl_linux_proc_report(state_->dwfl, getpid());
    dwfl_report_end(state_->dwfl, nullptr, nullptr);
  }
}

Symbolizer::~Symbolizer() {
  if (state_->dwfl != nullptr) {
    dwfl_end(state_->dwfl);
  }
}

Symbol Symbolizer::symbolize(std::uintptr_t address) {
  Symbol symbol;
  Dwfl* dwfl = state_->dwfl;
  const auto addr = static_cast<Dwarf_Addr>(address);
  Dwfl_Module* module = dwfl != nullptr ? dwfl_addrmodule(dwfl, addr) : nullptr;
  if (module == nullptr && dwfl != nullptr) {
    dwfl_report_begin_add(dwfl);
    dwfl_linux_proc_report(dwfl, getpid());
    dwfl_report_end(dwfl, nullptr, nullptr);
    module = dwfl_addrmodule(dwfl, addr);
  }
  if (module != nullptr) {
    symbol.function = demangle(dwfl_module_addrname(module, addr));
    if (Dwfl_Line* line = dwfl_module_getsrc(module, addr)) {
      int lineno = 0;
      if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        symbol.file = file;
        symbol.line = static_cast<std::uint32_t>(lineno);
      }
    }
  }
  if (symbol.function.empty()) {
    Dl_info info{};
    // NOLINTNEXTLINE(performance-no-int-to-ptr): a code address, as dladdr wants it
    if (dladdr(reinterpret_cast<void*>(address), &info) != 0 && info.dli_sname != nullptr) {
      symbol.function = demangle(info.dli_sname);
    }
  }
  return symbol;
}

}  // namespace loopscope::probes
