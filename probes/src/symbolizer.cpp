#include <loopscope/probes/symbolizer.hpp>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dlfcn.h>
#include <dwarf.h>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <vector>

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

// The declaration of an inlined instance: through DW_AT_abstract_origin and
// DW_AT_specification, to the DIE that sits in its namespaces and classes.
Dwarf_Die declaration_of(Dwarf_Die die) {
  for (int hops = 0; hops < 4; ++hops) {
    Dwarf_Attribute attribute;
    Dwarf_Die next;
    if ((dwarf_attr(&die, DW_AT_abstract_origin, &attribute) == nullptr &&
         dwarf_attr(&die, DW_AT_specification, &attribute) == nullptr) ||
        dwarf_formref_die(&attribute, &next) == nullptr) {
      break;
    }
    die = next;
  }
  return die;
}

// "ns::(anonymous namespace)::f", "ns::g::{lambda}::operator()": the scopes' names, without
// parameters (an inlined instance has no linkage name to demangle in general).
std::string qualified_name(Dwarf_Die* die) {
  Dwarf_Die declaration = declaration_of(*die);
  const char* own = dwarf_diename(&declaration);
  std::string name = own != nullptr ? own : "";
  Dwarf_Die* scopes = nullptr;
  const int n = dwarf_getscopes_die(&declaration, &scopes);
  for (int i = 1; i < n; ++i) {  // scopes[0] is the declaration itself
    const int tag = dwarf_tag(&scopes[i]);
    const char* scope_name = dwarf_diename(&scopes[i]);
    std::string part;
    if (tag == DW_TAG_namespace) {
      part = scope_name != nullptr ? scope_name : "(anonymous namespace)";
    } else if (tag == DW_TAG_class_type || tag == DW_TAG_structure_type) {
      part = scope_name != nullptr ? scope_name : "{lambda}";
    } else if (tag == DW_TAG_subprogram && scope_name != nullptr) {
      part = scope_name;
    } else {
      continue;
    }
    name.insert(0, part + "::");
  }
  std::free(scopes);  // NOLINT(cppcoreguidelines-no-malloc): allocated by libdw
  return name;
}

// The name of an inlined function: its linkage name demangled, else its qualified name.
std::string die_function(Dwarf_Die* die) {
  Dwarf_Attribute attribute;
  if (const char* linkage =
          dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attribute))) {
    return demangle(linkage);
  }
  return qualified_name(die);
}

// The file a DW_AT_call_file index names, absolute (DWARF 5 file tables may name files
// relative to the unit's compilation directory).
std::string call_file(Dwarf_Die* cu, Dwarf_Word index) {
  Dwarf_Files* files = nullptr;
  std::size_t count = 0;
  if (dwarf_getsrcfiles(cu, &files, &count) != 0 || index >= count) {
    return {};
  }
  const char* name = dwarf_filesrc(files, index, nullptr, nullptr);
  if (name == nullptr) {
    return {};
  }
  Dwarf_Attribute attribute;
  const char* dir =
      name[0] != '/' ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attribute)) : nullptr;
  return dir != nullptr ? std::string(dir) + "/" + name : std::string(name);
}

// The inlined calls at an address, innermost first, as eu-addr2line -i tells them: the
// innermost inlined function at `symbol`'s line, then each function it was inlined into at
// the line of that call, down to the real function. Left empty when nothing is inlined there.
void add_inlined_frames(Dwfl_Module* module, Dwarf_Addr addr, Symbol& symbol) {
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(module, addr, &bias);
  // dwarf_getscopes nests an inlined instance in its abstract definition's scopes; the
  // concrete nesting (which function each instance was inlined into) comes from the DIE
  // tree, by dwarf_getscopes_die on the innermost scope.
  Dwarf_Die* abstract = nullptr;
  Dwarf_Die* scopes = nullptr;
  int n = 0;
  if (cu != nullptr && dwarf_getscopes(cu, addr - bias, &abstract) > 0) {
    n = dwarf_getscopes_die(&abstract[0], &scopes);
  }
  std::free(abstract);  // NOLINT(cppcoreguidelines-no-malloc): allocated by libdw
  std::string file = symbol.file;
  std::uint32_t line = symbol.line;
  std::vector<SourceFrame> frames;
  for (int i = 0; i < n; ++i) {
    Dwarf_Die* scope = &scopes[i];
    const int tag = dwarf_tag(scope);
    if (tag == DW_TAG_subprogram) {
      if (!frames.empty()) {
        frames.push_back(SourceFrame{symbol.function, file, line});
      }
      break;
    }
    if (tag != DW_TAG_inlined_subroutine) {
      continue;
    }
    frames.push_back(SourceFrame{die_function(scope), file, line});
    Dwarf_Attribute attribute;
    Dwarf_Word index = 0;
    Dwarf_Word call_line = 0;
    if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attribute), &index) != 0 ||
        dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attribute), &call_line) != 0) {
      frames.clear();  // a broken chain: keep the plain symbol
      break;
    }
    file = call_file(cu, index);
    line = static_cast<std::uint32_t>(call_line);
  }
  std::free(scopes);  // NOLINT(cppcoreguidelines-no-malloc): allocated by libdw
  symbol.inlined = std::move(frames);
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

namespace {

// A library of the system (libc, libstdc++, ...): it is named from its symbol table only.
// Its file:line would be the system's sources, nothing a user edits, and reading its DWARF
// costs the most of all: Debian's libc debug information is compressed, and decompressing
// it took most of the ~350 ms a first stall report waited for.
bool system_module(Dwfl_Module* module) {
  const char* name =
      dwfl_module_info(module, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (name == nullptr) {
    return false;
  }
  const std::string_view path(name);
  return path.starts_with("/lib/") || path.starts_with("/lib64/") ||
         path.starts_with("/usr/lib/") || path.starts_with("/usr/lib64/");
}

}  // namespace

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
    if (system_module(module)) {
      return symbol;
    }
    if (Dwfl_Line* line = dwfl_module_getsrc(module, addr)) {
      int lineno = 0;
      if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
        symbol.file = file;
        symbol.line = static_cast<std::uint32_t>(lineno);
      }
    }
    add_inlined_frames(module, addr, symbol);
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
