#include <loopscope/detail/report.hpp>
#include <loopscope/loop.hpp>
#include <loopscope/probes/recorder.hpp>
#include <loopscope/probes/symbolizer.hpp>
#include <loopscope/probes/trace_format.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace loopscope {

namespace {

// One list of names for the findings, shared with the trace format and the viewer.
constexpr const auto& kWarningNames = probes::format::kWarningKindNames;
static_assert(kWarningNames.size() ==
              static_cast<std::size_t>(WarningKind::kGeneratorClosedByCancellation) + 1);

// Findings are rare: one lock guards the observer, the reported sites and the symbolizer.
// fork() takes it first, so that a child never starts with it held by a thread it does not
// have (the debug watchdog's, mid-symbolization) nor with the symbolizer half-updated.
std::mutex& report_mutex();
void lock_reports_for_fork() noexcept {
  report_mutex().lock();
}
void unlock_reports_after_fork() noexcept {
  report_mutex().unlock();
}
std::mutex& report_mutex() {
  static std::mutex mutex;
  static const bool at_fork = pthread_atfork(lock_reports_for_fork, unlock_reports_after_fork,
                                             unlock_reports_after_fork) == 0;
  (void)at_fork;
  return mutex;
}
WarningObserver& observer() {
  static WarningObserver instance;
  return instance;
}
std::set<std::pair<WarningKind, std::uintptr_t>>& reported_sites() {
  static std::set<std::pair<WarningKind, std::uintptr_t>> sites;
  return sites;
}
// The symbolizer findings use; replaced once by a warmed-up one (warm_up_symbols) if no
// finding has used it by then. Never destroyed, like the memo of symbols below: the thread
// that warms them up is not waited for, and may still be at it when the process exits.
struct SharedSymbolizer {
  std::unique_ptr<probes::Symbolizer> instance;
  bool used = false;
};
SharedSymbolizer& shared_symbolizer() {
  static auto* const shared = new SharedSymbolizer;
  return *shared;
}
probes::Symbolizer& symbolizer() {
  SharedSymbolizer& shared = shared_symbolizer();
  if (!shared.instance) {
    shared.instance = std::make_unique<probes::Symbolizer>();
  }
  shared.used = true;
  return *shared.instance;
}

// LOOPSCOPE_DEBUG_ABORT=kind,kind,... or "all": a bit per kind, read once.
std::uint32_t abort_mask() {
  static const std::uint32_t mask = [] {
    std::uint32_t bits = 0;
    // Read once; see options.cpp on getenv.
    const char* value = std::getenv("LOOPSCOPE_DEBUG_ABORT");  // NOLINT(concurrency-mt-unsafe)
    std::string_view rest = value != nullptr ? value : "";
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      for (std::size_t i = 0; i < kWarningNames.size(); ++i) {
        if (item == kWarningNames[i] || item == "all") {
          bits |= 1U << i;
        }
      }
    }
    return bits;
  }();
  return mask;
}

// Where loopscope's own sources were when it was built (see runtime/CMakeLists.txt).
constexpr std::string_view kSourceDir = LOOPSCOPE_SOURCE_DIR;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Frames a user cannot act on: the runtime's and probes' code, the standard library's.
bool internal_frame(const StackFrame& frame) {
  if (!frame.file.empty()) {
    if (starts_with(frame.file, kSourceDir)) {
      const std::string_view rest = std::string_view(frame.file).substr(kSourceDir.size());
      return starts_with(rest, "/runtime/") || starts_with(rest, "/probes/");
    }
    // libstdc++'s headers, and its target-specific ones (x86_64-linux-gnu/c++/12/bits/...).
    if (frame.file.find("/include/c++/") != std::string::npos ||
        frame.file.find("-linux-gnu/c++/") != std::string::npos) {
      return true;
    }
  }
  const std::string_view fn = frame.function;
  return starts_with(fn, "loopscope::detail::") || starts_with(fn, "loopscope::Loop::") ||
         starts_with(fn, "loopscope::probes::") || starts_with(fn, "loopscope::run") ||
         starts_with(fn, "std::") || starts_with(fn, "__gnu_cxx::");
}

// Each address is symbolized once: with inlined frames libdw takes milliseconds per address,
// and the stall watchdog reports within milliseconds of its threshold only with the
// addresses of a stack already known. Code addresses are few; the memo is never trimmed.
std::unordered_map<std::uintptr_t, probes::Symbol>& known_symbols() {
  static auto* const known = new std::unordered_map<std::uintptr_t, probes::Symbol>;
  return *known;
}
probes::Symbol symbol_locked(std::uintptr_t address) {
  auto& known = known_symbols();
  const auto found = known.find(address);
  if (found != known.end()) {
    return found->second;
  }
  return known.emplace(address, symbolizer().symbolize(address)).first->second;
}

StackFrame symbolize_locked(std::uintptr_t address) {
  probes::Symbol symbol = symbol_locked(address);
  StackFrame frame{std::move(symbol.function), std::move(symbol.file), symbol.line, address};
  if (frame.function.empty()) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "<unknown %#zx>", static_cast<std::size_t>(address));
    frame.function = text.data();
  }
  return frame;
}

// One frame per function at `address`: code inlined there (the runtime's headers inlined into
// the user's function, or the user's lambda inlined into std::thread's) gives several, each
// filtered on its own.
void add_frames_locked(std::uintptr_t address, std::vector<StackFrame>& frames) {
  probes::Symbol symbol = symbol_locked(address);
  if (symbol.inlined.empty()) {
    StackFrame frame{std::move(symbol.function), std::move(symbol.file), symbol.line, address};
    if (frame.function.empty()) {
      frame.function = symbolize_locked(address).function;  // "<unknown ...>"
    }
    if (!internal_frame(frame)) {
      frames.push_back(std::move(frame));
    }
    return;
  }
  for (probes::SourceFrame& inlined : symbol.inlined) {
    StackFrame frame{std::move(inlined.function), std::move(inlined.file), inlined.line, address};
    if (!internal_frame(frame)) {
      frames.push_back(std::move(frame));
    }
  }
}

// "ns::f" (an inlined function, named without its parameters) is "ns::f(int)".
bool same_function(std::string_view a, std::string_view b) {
  if (a.size() < b.size()) {
    std::swap(a, b);
  }
  return a.substr(0, b.size()) == b && (a.size() == b.size() || a[b.size()] == '(');
}

// Where a thread's stack begins (glibc's names): nothing below is the program's.
bool thread_entry(std::string_view function) {
  return function == "start_thread" || function == "__clone3" || function == "__clone" ||
         function == "clone3" || function == "clone";
}

std::vector<StackFrame> user_frames_locked(std::span<const std::uintptr_t> stack) {
  std::vector<StackFrame> frames;
  for (const std::uintptr_t return_address : stack) {
    // A return address points after the call: its line is the next statement's.
    const std::size_t before = frames.size();
    add_frames_locked(return_address - 1, frames);
    const bool is_main = frames.size() > before && frames.back().function == "main";
    if (is_main) {
      break;  // below main is the C runtime
    }
    if (frames.size() > before && thread_entry(frames.back().function)) {
      // Below a thread's own function: the C library's thread start, and before it the
      // C++ library's (std::thread), unnamed in a stripped libstdc++.
      frames.pop_back();
      while (!frames.empty() && frames.back().file.empty() &&
             frames.back().function.starts_with("<unknown")) {
        frames.pop_back();
      }
      break;
    }
  }
  return frames;
}

void print_finding(const Warning& warning) {
  const std::string_view kind = warning_kind_name(warning.kind);
  std::string text = "loopscope: warning: ";
  text.append(kind).append(": ").append(warning.message).append("\n");
  for (const StackFrame& frame : warning.frames) {
    text.append("    at ").append(frame.function);
    if (!frame.file.empty()) {
      text.append(" (").append(frame.file).append(":").append(std::to_string(frame.line));
      text.append(")");
    }
    text.append("\n");
  }
  // One write, so that findings from several threads do not interleave.
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void record_in_trace(const Warning& warning, const detail::FindingContext& context) {
  probes::Recorder* recorder = context.recorder;
  if (recorder == nullptr && detail::t_current_loop != nullptr) {
    recorder = detail::t_current_loop->recorder();
  }
  if (recorder == nullptr) {
    return;
  }
  probes::WarningEvent event;
  event.ticks = context.ticks != 0 ? context.ticks : recorder->now();
  event.kind = static_cast<std::uint8_t>(warning.kind);
  event.task = context.task;
  event.message = warning.message;
  if (context.code != 0) {
    event.frames.push_back(context.code);
  }
  for (const std::uintptr_t return_address : context.stack) {
    event.frames.push_back(return_address - 1);
  }
  recorder->record_warning(std::move(event));
}

}  // namespace

std::string_view warning_kind_name(WarningKind kind) noexcept {
  return kWarningNames.at(static_cast<std::size_t>(kind));
}

WarningObserver set_warning_observer(WarningObserver obs) {
  std::lock_guard lock(report_mutex());
  return std::exchange(observer(), std::move(obs));
}

namespace detail {

void report_warning(WarningKind kind, std::string message, const FindingContext& context) noexcept {
  const ReportingTime timing;
  try {
    std::unique_lock lock(report_mutex());
    const std::uintptr_t site =
        context.site != 0 ? context.site : std::hash<std::string>{}(message);
    if (!reported_sites().emplace(kind, site).second) {
      return;  // once per site: the first report says everything a repeat would
    }
    Warning warning{kind, std::move(message), {}};
    if (context.code != 0) {
      warning.frames.push_back(symbolize_locked(context.code));
    }
    std::vector<StackFrame> frames = user_frames_locked(context.stack);
    // A creation stack starts in the coroutine's ramp: the function the code frame names.
    if (!warning.frames.empty() && !frames.empty() &&
        same_function(frames.front().function, warning.frames.front().function)) {
      frames.erase(frames.begin());
    }
    std::move(frames.begin(), frames.end(), std::back_inserter(warning.frames));
    print_finding(warning);
    record_in_trace(warning, context);
    if (observer()) {
      observer()(warning);
    }
    lock.unlock();
    if (aborts_on(kind)) {
      std::fprintf(stderr, "loopscope: aborting: LOOPSCOPE_DEBUG_ABORT includes %.*s\n",
                   static_cast<int>(warning_kind_name(kind).size()),
                   warning_kind_name(kind).data());
      std::abort();
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): reporting must never break the program
  }
}

namespace {
std::atomic<std::int64_t> g_reporting_ns{0};
std::atomic<int> g_reports_under_way{0};
constinit thread_local int t_reporting_depth = 0;
constinit thread_local bool t_reporting_uncounted = false;

std::int64_t monotonic_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::int64_t reporting_ns() noexcept {
  return g_reporting_ns.load(std::memory_order_relaxed);
}

bool reporting_under_way() noexcept {
  return g_reports_under_way.load(std::memory_order_relaxed) > 0;
}

void set_reporting_uncounted() noexcept {
  t_reporting_uncounted = true;
}

ReportingTime::ReportingTime() noexcept {
  if (t_reporting_uncounted) {
    return;
  }
  if (t_reporting_depth++ == 0) {
    g_reports_under_way.fetch_add(1, std::memory_order_relaxed);
    start_ns_ = monotonic_now_ns();
  }
}

ReportingTime::~ReportingTime() {
  if (t_reporting_uncounted) {
    return;
  }
  if (--t_reporting_depth == 0) {
    g_reporting_ns.fetch_add(monotonic_now_ns() - start_ns_, std::memory_order_relaxed);
    g_reports_under_way.fetch_sub(1, std::memory_order_relaxed);
  }
}

void reset_reported_sites() noexcept {
  std::lock_guard lock(report_mutex());
  reported_sites().clear();
}

bool aborts_on(WarningKind kind) noexcept {
  return (abort_mask() & (1U << static_cast<unsigned>(kind))) != 0;
}

std::vector<StackFrame> user_frames(std::span<const std::uintptr_t> stack) {
  const ReportingTime timing;
  std::lock_guard lock(report_mutex());
  return user_frames_locked(stack);
}

std::string coroutine_name(std::coroutine_handle<> frame) {
  return code_name(coroutine_code(frame));
}

void warm_up_symbols(std::span<const std::uintptr_t> stack, std::span<const std::uintptr_t> code) {
  // The expensive part (libdw reading the modules' symbol tables and DWARF) with a
  // symbolizer of this thread's own, so that the report lock is held only to hand over
  // what it found: a thread that needs the lock meanwhile (a finding, fork()'s handler)
  // does not wait for this one, which may run at a low priority.
  auto own = std::make_unique<probes::Symbolizer>();
  std::vector<std::pair<std::uintptr_t, probes::Symbol>> found;
  found.reserve(stack.size() + code.size());
  for (const std::uintptr_t return_address : stack) {
    found.emplace_back(return_address - 1, own->symbolize(return_address - 1));
  }
  for (const std::uintptr_t address : code) {
    found.emplace_back(address, own->symbolize(address));
  }
  {
    std::lock_guard lock(report_mutex());
    auto& known = known_symbols();
    for (auto& [address, symbol] : found) {
      known.emplace(address, std::move(symbol));
    }
    SharedSymbolizer& shared = shared_symbolizer();
    if (!shared.used) {
      std::swap(shared.instance, own);  // the warmed one serves the findings to come
    }
  }
  // Whichever symbolizer is left over is torn down here, outside the lock.
}

std::string code_name(std::uintptr_t code) {
  // The symbolizer reads the ELF symbol tables, so this works without -rdynamic.
  const ReportingTime timing;
  std::lock_guard lock(report_mutex());
  return symbolize_locked(code).function;
}

}  // namespace detail
}  // namespace loopscope
