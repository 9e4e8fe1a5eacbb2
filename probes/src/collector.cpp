#include <loopscope/probes/collector.hpp>
#include <loopscope/probes/fork.hpp>
#include <loopscope/probes/ring_reader.hpp>
#include <loopscope/probes/symbolizer.hpp>
#include <loopscope/probes/trace_format.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sched.h>
#include <sys/resource.h>
#include <system_error>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loopscope::probes {

namespace {

// Turns raw events into trace records: code addresses and static strings become ids, each
// defined (symbolized) once, the first time it is seen.
class Interner {
 public:
  std::uint64_t string(std::string text) {
    const auto [it, added] = by_text_.try_emplace(std::move(text), next_string_);
    if (added) {
      pending_strings_.emplace_back(next_string_++, it->first);
    }
    return it->second;
  }
  std::uint64_t static_string(const char* text, bool mangled) {
    if (text == nullptr) {
      return 0;
    }
    const auto it = by_pointer_.find(text);
    if (it != by_pointer_.end()) {
      return it->second;
    }
    const std::uint64_t id = string(mangled ? demangle(text) : std::string(text));
    by_pointer_.emplace(text, id);
    return id;
  }
  std::uint64_t code(std::uintptr_t address) {
    const auto it = code_.find(address);
    if (it != code_.end()) {
      return it->second;
    }
    const Symbol symbol = symbolizer_.symbolize(address);
    const std::uint64_t id =
        location(address, string(symbol.function), string(symbol.file), symbol.line);
    code_.emplace(address, id);
    return id;
  }
  std::uint64_t site(const char* file, std::uint64_t line, const char* function) {
    // std::source_location names anonymous namespaces "{anonymous}"; the demangler says
    // "(anonymous namespace)": use one spelling.
    if (function != nullptr && std::strstr(function, "{anonymous}") != nullptr) {
      return site_named(file, line, function);
    }
    const auto key = std::make_tuple(file, line, function);
    const auto it = sites_.find(key);
    if (it != sites_.end()) {
      return it->second;
    }
    const std::uint64_t id =
        location(0, static_string(function, false), static_string(file, false), line);
    sites_.emplace(key, id);
    return id;
  }
  std::uint64_t site_named(const char* file, std::uint64_t line, const char* function) {
    const auto key = std::make_tuple(file, line, function);
    const auto it = sites_.find(key);
    if (it != sites_.end()) {
      return it->second;
    }
    std::string name = function;
    for (auto pos = name.find("{anonymous}"); pos != std::string::npos;
         pos = name.find("{anonymous}", pos)) {
      name.replace(pos, 11, "(anonymous namespace)");
    }
    const std::uint64_t id = location(0, string(std::move(name)), static_string(file, false), line);
    sites_.emplace(key, id);
    return id;
  }
  // Appends the definitions made since the last call.
  void flush_definitions(format::Bytes& out) {
    if (!pending_strings_.empty()) {
      std::vector<std::pair<std::uint64_t, std::string_view>> view;
      view.reserve(pending_strings_.size());
      for (const auto& [id, text] : pending_strings_) {
        view.emplace_back(id, text);
      }
      format::append_strings(out, view);
      pending_strings_.clear();
    }
    if (!pending_locations_.empty()) {
      format::append_locations(out, pending_locations_);
      pending_locations_.clear();
    }
  }

 private:
  std::uint64_t location(std::uint64_t address, std::uint64_t function, std::uint64_t file,
                         std::uint64_t line) {
    pending_locations_.push_back(format::Location{next_location_, address, function, file, line});
    return next_location_++;
  }

  Symbolizer symbolizer_;
  std::map<std::string, std::uint64_t, std::less<>> by_text_;
  std::unordered_map<const char*, std::uint64_t> by_pointer_;
  std::unordered_map<std::uintptr_t, std::uint64_t> code_;
  std::map<std::tuple<const char*, std::uint64_t, const char*>, std::uint64_t> sites_;
  std::vector<std::pair<std::uint64_t, std::string_view>> pending_strings_;
  std::vector<format::Location> pending_locations_;
  std::uint64_t next_string_ = 1;
  std::uint64_t next_location_ = 1;
};

struct ThreadState {
  std::shared_ptr<Recorder> recorder;
  RingReader reader{};  // the ring's compact forms (event.hpp) back to trace events
  std::uint64_t dropped_seen = 0;
  std::uint64_t last_ticks = 0;
  std::chrono::steady_clock::time_point last_drain = std::chrono::steady_clock::now();
  bool announced = false;
  bool finished = false;
  bool behind = false;  // the last drain left a quarter of the ring or more: drain again
};

std::uint64_t unix_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

struct Collector::Impl {
  CollectorOptions options;
  // In a forked child the thread below is gone, with any lock it held: the child's copy
  // of the collector then writes nothing and takes no lock (fork.hpp).
  ForkGuard fork;
  int fd = -1;
  std::mutex mutex;  // guards threads, stopping, and the whole drain/write path
  std::condition_variable wake;
  bool stopping = false;
  std::vector<ThreadState> threads;
  std::uint32_t next_thread_index = 0;
  Interner interner;
  format::Bytes out;
  // A drain converts raw events a batch at a time and encodes each batch straight away, so
  // that the records stay in the cache; the chunks wait in `events_out` until the
  // definitions they use have been written.
  std::array<format::Record, 256> batch{};
  format::Bytes events_out;
  std::uint64_t written = 0;
  std::uint64_t dropped = 0;
  bool failed = false;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  std::thread thread;

  void run();
  // Drains the rings that are due (all of them if `all`); says whether one is still behind.
  bool drain_all(bool all);
  void drain(ThreadState& state);
  // The thread's rare records (task names and errors, warnings) into `out`.
  void write_rare(Recorder& recorder);
  void resolve(format::Record& rec, std::span<const EventExt> ext);
  void write_out(bool force, bool end = false);
};

namespace {

// Extension words that carry the address of a string with static storage duration (a
// source file name, a type name): the recording thread stored the pointer, not the text.
const char* as_static_string(std::uint64_t word) noexcept {
  return reinterpret_cast<const char*>(word);  // NOLINT(performance-no-int-to-ptr)
}

}  // namespace

// The extension records of an event as trace fields: code addresses and static strings
// become ids.
void Collector::Impl::resolve(format::Record& rec, std::span<const EventExt> ext) {
  switch (rec.kind) {
    case EventKind::kTaskCreated:
      if (ext.size() < 3) {
        break;
      }
      rec.f[0] = ext[0].a;
      rec.f[1] = interner.code(static_cast<std::uintptr_t>(ext[0].b));
      rec.f[2] = interner.site(as_static_string(ext[1].a), ext[1].b, as_static_string(ext[2].a));
      break;
    case EventKind::kTaskFinished:
    case EventKind::kCallbackBegin:
      rec.f[0] = interner.static_string(as_static_string(ext[0].a), true);
      break;
    default:
      for (std::size_t k = 0; k < ext.size() && k < std::size(rec.f); ++k) {
        rec.f[k] = ext[k].a;
      }
      break;
  }
}

void Collector::Impl::drain(ThreadState& state) {
  Recorder& recorder = *state.recorder;
  if (!state.announced) {
    format::append_thread(out, recorder.thread_index(), recorder.os_thread_id(),
                          recorder.thread_name());
    state.announced = true;
  }
  EventRing& ring = recorder.ring();
  const EventRing::Readable r = ring.readable();
  const std::size_t n = r.size();
  const std::uint64_t dropped_now = ring.dropped();
  events_out.clear();
  format::EventEncoder encoder(events_out, recorder.thread_index());
  std::size_t batched = 0;
  std::uint64_t count = 0;
  std::uint64_t first_ticks = 0;
  std::uint64_t last_ticks = 0;
  const auto encode_batch = [&] {
    if (batched == 0) {
      return;
    }
    first_ticks = count == 0 ? batch[0].ticks : first_ticks;
    last_ticks = batch[batched - 1].ticks;
    encoder.add(std::span<const format::Record>(batch.data(), batched));
    count += batched;
    batched = 0;
  };
  auto convert = [&](const Event& e, std::span<const EventExt> ext) {
    // Built in place: most events carry no extension record and need nothing else.
    format::Record& rec = batch[batched];
    rec.ticks = e.time;
    rec.kind = e.kind;
    rec.task = e.task;
    rec.arg = e.arg;
    rec.f[0] = rec.f[1] = rec.f[2] = 0;
    if (!ext.empty()) {
      resolve(rec, ext);
    }
    if (++batched == batch.size()) {
      encode_batch();
    }
  };
  state.reader.read(r, convert);
  if (state.finished) {
    state.reader.finish(convert);
  }
  encode_batch();
  encoder.finish();
  ring.consume(n);
  if (dropped_now > state.dropped_seen) {
    const std::uint64_t after = count == 0 ? state.last_ticks : first_ticks;
    format::append_drops(out, recorder.thread_index(), dropped_now - state.dropped_seen,
                         state.last_ticks, after);
    dropped += dropped_now - state.dropped_seen;
    state.dropped_seen = dropped_now;
  }
  if (count != 0) {
    interner.flush_definitions(out);
    out.insert(out.end(), events_out.begin(), events_out.end());
    written += count;
    state.last_ticks = last_ticks;
  }
  write_rare(recorder);
}

void Collector::Impl::write_rare(Recorder& recorder) {
  std::vector<Recorder::TaskText> names;
  std::vector<Recorder::TaskText> errors;
  std::vector<WarningEvent> warnings;
  recorder.take_rare(names, errors, warnings);
  for (const auto& name : names) {
    format::append_task_name(out, recorder.thread_index(), name.task, name.text);
  }
  for (const auto& error : errors) {
    format::append_task_error(out, recorder.thread_index(), error.task, error.text);
  }
  for (auto& w : warnings) {
    format::WarningRecord record{recorder.thread_index(), w.ticks, w.kind, w.task,
                                 std::move(w.message),    {}};
    for (std::uintptr_t frame : w.frames) {
      record.frames.push_back(interner.code(frame));
    }
    interner.flush_definitions(out);
    format::append_warning(out, record);
  }
}

bool drain_due(const RingLook& look, const CollectorOptions& options) noexcept {
  return look.closed || look.waiting || look.behind || look.readable >= look.capacity / 2 ||
         look.since_drain >= std::chrono::milliseconds(options.busy_drain_interval_ms);
}

bool Collector::Impl::drain_all(bool all) {
  const auto now = std::chrono::steady_clock::now();
  bool busy = false;
  for (ThreadState& state : threads) {
    // A closed recorder (or one nobody else holds) gets no more events: drain it a last time.
    // Checked before draining, so that nothing recorded just before the close is missed;
    // the acquire in closed() makes those events visible.
    state.finished = state.recorder->closed() || state.recorder.use_count() == 1;
    const EventRing& ring = state.recorder->ring();
    const RingLook look{.closed = state.finished,
                        .waiting = state.recorder->waiting(),
                        .behind = state.behind,
                        .readable = ring.readable().size(),
                        .capacity = ring.capacity(),
                        .since_drain = std::chrono::duration_cast<std::chrono::milliseconds>(
                            now - state.last_drain)};
    if (!all && !drain_due(look, options)) {
      continue;  // its loop is running steps: leave it alone a while yet
    }
    drain(state);
    state.last_drain = now;
    state.behind = ring.readable().size() >= ring.capacity() / 4;
    busy = busy || state.behind;
  }
  std::erase_if(threads, [](const ThreadState& s) { return s.finished; });
  return busy;
}

void Collector::Impl::write_out(bool force, bool end) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && out.size() < (std::size_t{1} << 20) &&
      now - last_write < std::chrono::milliseconds(options.flush_interval_ms)) {
    return;
  }
  // A calibration point with every flush, and before the end chunk (nothing may follow it).
  const ClockSync sync = sync_point(tick_source());
  format::append_clock_sync(out, std::span<const ClockSync>(&sync, 1));
  if (end) {
    format::append_end(out, written, dropped);
  }
  last_write = now;
  std::size_t done = 0;
  while (!failed && done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      failed = true;
      const std::string reason = std::error_code(errno, std::generic_category()).message();
      std::fprintf(stderr, "loopscope: error: writing the trace failed (%s); tracing stops\n",
                   reason.c_str());
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  out.clear();
}

void Collector::Impl::run() {
  // Background work: when CPUs are short, the observed program goes first. The ring absorbs
  // bursts meanwhile (a full one drops and counts, it never slows the loop).
  // SCHED_IDLE rather than nice 19: a nice thread that lands on the loop's CPU still gets
  // time slices of a few ms there, an idle-class one runs only when the CPU has nothing else.
  const sched_param idle{0};
  if (sched_setscheduler(0, SCHED_IDLE, &idle) != 0) {  // this thread (Linux: 0 is the caller)
    setpriority(PRIO_PROCESS, 0, 19);
  }
  std::unique_lock lock(mutex);
  while (!stopping) {
    const bool busy = drain_all(false);
    write_out(false);
    if (!busy) {
      wake.wait_for(lock, std::chrono::milliseconds(options.drain_interval_ms));
    }
  }
}

std::shared_ptr<Collector> Collector::open(const std::string& path, CollectorOptions options) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "loopscope: cannot open trace file '" + path + "'");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->fd = fd;
  format::append_header(impl->out, format::FileHeader{tick_source(), unix_ns(),
                                                      static_cast<std::uint32_t>(getpid())});
  const ClockSync sync = sync_point(tick_source());
  format::append_clock_sync(impl->out, std::span<const ClockSync>(&sync, 1));
  std::shared_ptr<Collector> collector(new Collector(std::move(impl)));
  Impl* raw = collector->impl_.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return collector;
}

std::shared_ptr<Collector> Collector::shared(const std::string& path, CollectorOptions options) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<Collector>> registry;
  std::lock_guard lock(registry_mutex);
  if (auto existing = registry[path].lock()) {
    return existing;
  }
  auto collector = open(path, options);
  registry[path] = collector;
  return collector;
}

Collector::Collector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
}

Collector::~Collector() {
  if (impl_->fork.in_child()) {
    // The parent writes this trace; the child's events were never drained. The state is
    // left allocated too: destroying the condition variable the gone thread waited on
    // would wait for that thread forever.
    abandon(impl_->thread);
    ::close(impl_->fd);
    (void)impl_.release();  // NOLINT(bugprone-unused-return-value): leaked on purpose
    return;
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
  std::lock_guard lock(impl_->mutex);
  impl_->drain_all(true);
  impl_->write_out(true, true);
  ::close(impl_->fd);
}

std::shared_ptr<Recorder> Collector::add_thread(std::string name) {
  if (impl_->fork.in_child()) {
    // A loop started in a forked child records into a ring nobody drains: the smallest
    // one, whose events are dropped and counted, never written into the parent's trace.
    return std::make_shared<Recorder>(0, std::move(name), 0);
  }
  std::lock_guard lock(impl_->mutex);
  auto recorder = std::make_shared<Recorder>(impl_->next_thread_index++, std::move(name),
                                             impl_->options.ring_words);
  impl_->threads.push_back(ThreadState{recorder});
  return recorder;
}

std::uint64_t Collector::events_written() const noexcept {
  if (impl_->fork.in_child()) {
    return 0;
  }
  std::lock_guard lock(impl_->mutex);
  return impl_->written;
}

std::uint64_t Collector::events_dropped() const noexcept {
  if (impl_->fork.in_child()) {
    return 0;
  }
  std::lock_guard lock(impl_->mutex);
  return impl_->dropped;
}

void Collector::flush() {
  if (impl_->fork.in_child()) {
    return;
  }
  std::lock_guard lock(impl_->mutex);
  impl_->drain_all(true);
  impl_->write_out(true);
}

}  // namespace loopscope::probes
