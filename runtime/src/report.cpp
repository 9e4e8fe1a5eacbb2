#include <loopscope/detail/report.hpp>
#include <loopscope/probes/symbolizer.hpp>
#include <loopscope/probes/trace_format.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

namespace loopscope {

namespace {

// One list of names for the findings, shared with the trace format and the viewer.
constexpr const auto& kWarningNames = probes::format::kWarningKindNames;
static_assert(kWarningNames.size() ==
              static_cast<std::size_t>(WarningKind::kGeneratorClosedByCancellation) + 1);

std::mutex& observer_mutex() {
  static std::mutex mutex;
  return mutex;
}
WarningObserver& observer() {
  static WarningObserver instance;
  return instance;
}

}  // namespace

std::string_view warning_kind_name(WarningKind kind) noexcept {
  return kWarningNames.at(static_cast<std::size_t>(kind));
}

WarningObserver set_warning_observer(WarningObserver obs) {
  std::lock_guard lock(observer_mutex());
  return std::exchange(observer(), std::move(obs));
}

namespace detail {

void report_warning(WarningKind kind, std::string message) noexcept {
  std::fprintf(stderr, "loopscope: warning: %.*s: %s\n",
               static_cast<int>(warning_kind_name(kind).size()), warning_kind_name(kind).data(),
               message.c_str());
  try {
    std::lock_guard lock(observer_mutex());
    if (observer()) {
      observer()(Warning{kind, std::move(message)});
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): an observer must not break the loop
  }
}

std::string coroutine_name(std::coroutine_handle<> frame) {
  // With GCC (and Clang) a coroutine frame starts with the address of its resume function.
  void* resume_fn = nullptr;
  static_assert(sizeof(resume_fn) == sizeof(void (*)()));
  std::memcpy(&resume_fn, frame.address(), sizeof(resume_fn));
  // The symbolizer reads the ELF symbol tables, so this works without -rdynamic. Findings
  // are rare: one shared symbolizer behind a lock is enough.
  static std::mutex mutex;
  static probes::Symbolizer symbolizer;
  std::lock_guard lock(mutex);
  const probes::Symbol symbol = symbolizer.symbolize(reinterpret_cast<std::uintptr_t>(resume_fn));
  if (!symbol.function.empty()) {
    return symbol.function;
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "<coroutine %p>", resume_fn);
  return text.data();
}

}  // namespace detail
}  // namespace loopscope
