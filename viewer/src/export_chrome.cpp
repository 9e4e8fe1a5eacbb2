// The Chrome Trace Event export (the JSON object form, "Trace Event Format" document by
// Google; read by chrome://tracing and by Perfetto's JSON importer). Written item by item as
// the trace is read: each event is one line, nothing is kept but the names already escaped.
//
//   M  process_name / thread_name metadata
//   X  a task step or callback (complete event: ts + dur), on its thread
//   b/e  a task's life from creation to completion (nestable async, cat "task", id = task),
//        and nested in it the thread jobs it ran
//   s/f  the flow from the step that spawned a task to the task's first step ("bp":"e")
//   i  a warning, thread-scoped, with its message and stack
//   C  a loop lag sample, one counter series per loop thread
//
// Times ("ts", "dur") are microseconds since the first event of the trace, with three
// decimals: nanosecond precision without floating-point rounding.
#include "exporters.hpp"
#include "json_text.hpp"

#include <unordered_map>

namespace loopscope::viewer::detail {

namespace {

class ChromeWriter final : public TimelineHandler {
 public:
  ChromeWriter(const Catalog& catalog, std::ostream& out) : catalog_(catalog), buf_(out) {}

  void begin();
  void finish();

  void slice_begin(const Slice& s) override;
  void slice_end(const Slice& s, std::uint64_t end_ns, int reason) override;
  void task_created(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                    std::uint64_t coroutine, std::uint64_t flow_out) override;
  void task_finished(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                     std::uint16_t state, std::string_view failure) override;
  void thread_job(std::uint32_t thread, std::uint32_t task, std::uint64_t begin_ns,
                  std::uint64_t end_ns) override;
  void warning(const format::WarningRecord& w, std::uint64_t ns) override;
  void lag(std::uint32_t thread, std::uint64_t ns, std::uint64_t lag_ns) override;

 private:
  // Starts an event: `{"ph":"<ph>","pid":..,"tid":..,"ts":..` (the caller closes it).
  void event(char ph, std::uint32_t thread, std::uint64_t ns) {
    buf_.maybe_flush();
    buf_.append(first_ ? "\n{\"ph\":\"" : ",\n{\"ph\":\"");
    first_ = false;
    buf_.append(ph);
    buf_.append(R"(","pid":)");
    buf_.append_u64(catalog_.pid());
    buf_.append(",\"tid\":");
    buf_.append_u64(tid(thread));
    buf_.append(",\"ts\":");
    append_us(buf_, catalog_.relative_ns(ns));
  }
  void name(NameKey key) {
    auto it = names_.find(key);
    if (it == names_.end()) {
      it = names_.emplace(key, json_string(catalog_.name(key))).first;
    }
    buf_.append(",\"name\":");
    buf_.append(it->second);
  }
  [[nodiscard]] std::uint64_t tid(std::uint32_t thread) const {
    const auto& threads = catalog_.threads();
    const auto it = threads.find(thread);
    // Threads without an OS id still need distinct tids (as in the Perfetto export).
    return it != threads.end() && it->second.os_tid != 0 ? it->second.os_tid : 0x7fff0000u + thread;
  }
  void metadata(std::string_view what, std::uint32_t thread, std::string_view value);

  const Catalog& catalog_;
  OutBuffer buf_;
  bool first_ = true;
  std::unordered_map<NameKey, std::string> names_;  // as JSON strings
};

void ChromeWriter::metadata(std::string_view what, std::uint32_t thread, std::string_view value) {
  event('M', thread, catalog_.origin_ns());
  buf_.append(R"(,"name":")");
  buf_.append(what);
  buf_.append(R"(","args":{"name":)");
  buf_.append(json_string(value));
  buf_.append("}}");
}

void ChromeWriter::begin() {
  buf_.append(R"({"displayTimeUnit":"ns","otherData":{"exporter":"loopscope"},"traceEvents":[)");
  metadata("process_name", 0, "loopscope trace (pid " + std::to_string(catalog_.pid()) + ")");
  for (const auto& [index, t] : catalog_.threads()) {
    if (t.has_events) {
      metadata("thread_name", index, t.name.empty() ? "thread " + std::to_string(index) : t.name);
    }
  }
}

void ChromeWriter::finish() {
  buf_.append("\n]}\n");
  buf_.flush();
}

void ChromeWriter::slice_begin(const Slice& s) {
  if (s.flow_in == 0) {
    return;  // the step itself is written when it ends
  }
  event('f', s.thread, s.begin_ns);
  buf_.append(R"(,"bp":"e","cat":"spawn","name":"spawn","id":)");
  buf_.append_u64(s.flow_in);
  buf_.append('}');
}

void ChromeWriter::slice_end(const Slice& s, std::uint64_t end_ns, int reason) {
  event('X', s.thread, s.begin_ns);
  buf_.append(",\"dur\":");
  append_us(buf_, end_ns - s.begin_ns);
  name(s.name);
  switch (s.kind) {
    case SliceKind::kStep:
      buf_.append(R"(,"cat":"step","args":{"task":)");
      buf_.append_u64(s.task);
      if (reason >= 0 && static_cast<std::size_t>(reason) < format::kSuspendReasonNames.size()) {
        buf_.append(R"(,"suspended_on":")");
        buf_.append(format::kSuspendReasonNames[static_cast<std::size_t>(reason)]);
        buf_.append('"');
      }
      buf_.append("}}");
      break;
    case SliceKind::kCallback:
      buf_.append(R"(,"cat":"callback"})");
      break;
  }
}

void ChromeWriter::task_created(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                                std::uint64_t coroutine, std::uint64_t flow_out) {
  event('b', thread, ns);
  name(catalog_.function_of(coroutine));
  buf_.append(R"(,"cat":"task","id":)");
  buf_.append_u64(task);
  buf_.append(R"(,"args":{"task":)");
  buf_.append_u64(task);
  if (const std::string_view label = catalog_.task_name(task); !label.empty()) {
    buf_.append(",\"task_name\":");
    buf_.append(json_string(label));
  }
  buf_.append("}}");
  if (flow_out != 0) {
    event('s', thread, ns);
    buf_.append(R"(,"cat":"spawn","name":"spawn","id":)");
    buf_.append_u64(flow_out);
    buf_.append('}');
  }
}

void ChromeWriter::task_finished(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                                 std::uint16_t state, std::string_view failure) {
  event('e', thread, ns);
  buf_.append(R"(,"cat":"task","id":)");
  buf_.append_u64(task);
  buf_.append(R"(,"args":{"state":")");
  buf_.append(state < format::kTaskStateNames.size() ? format::kTaskStateNames[state]
                                                     : std::string_view("unknown"));
  buf_.append("\"");
  if (!failure.empty()) {
    buf_.append(R"(,"exception":)");
    buf_.append(json_string(failure));
  }
  buf_.append("}}");
}

// A job nests in its task's async slice: same category and id.
void ChromeWriter::thread_job(std::uint32_t thread, std::uint32_t task, std::uint64_t begin_ns,
                              std::uint64_t end_ns) {
  for (const char ph : {'b', 'e'}) {
    event(ph, thread, ph == 'b' ? begin_ns : end_ns);
    name(kNameThreadJob);
    buf_.append(R"(,"cat":"task","id":)");
    buf_.append_u64(task);
    buf_.append('}');
  }
}

void ChromeWriter::warning(const format::WarningRecord& w, std::uint64_t ns) {
  const std::string kind = w.kind < format::kWarningKindNames.size()
                               ? std::string(format::kWarningKindNames[w.kind])
                               : "unknown_" + std::to_string(w.kind);
  event('i', w.thread, ns);
  buf_.append(R"(,"s":"t","cat":"warning","name":)");
  buf_.append(json_string("warning: " + kind));
  buf_.append(R"(,"args":{"message":)");
  buf_.append(json_string(w.message));
  buf_.append(",\"task\":");
  buf_.append_u64(w.task);
  buf_.append(",\"stack\":[");
  for (std::size_t i = 0; i < w.frames.size(); ++i) {
    const format::Location* loc = catalog_.location(w.frames[i]);
    const std::string where = catalog_.file_line(w.frames[i]);
    const std::string& function = catalog_.name(loc != nullptr ? loc->function : 0);
    std::string frame = function;
    if (!where.empty()) {
      frame.append(" (").append(where).append(")");
    }
    buf_.append(i == 0 ? "" : ",");
    buf_.append(json_string(frame));
  }
  buf_.append("]}}");
}

void ChromeWriter::lag(std::uint32_t thread, std::uint64_t ns, std::uint64_t lag_ns) {
  event('C', thread, ns);
  buf_.append(R"(,"name":"loop lag (thread )");
  buf_.append_u64(thread);
  buf_.append(")\",\"args\":{\"lag_us\":");
  append_us(buf_, lag_ns);
  buf_.append("}}");
}

}  // namespace

ExportResult export_chrome(TraceReader& reader, const Catalog& catalog, std::ostream& out) {
  ChromeWriter writer(catalog, out);
  writer.begin();
  ExportResult result;
  read_timeline(reader, catalog, writer, &result.slices, &result.tasks);
  writer.finish();
  return result;
}

}  // namespace loopscope::viewer::detail
