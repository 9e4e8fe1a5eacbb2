// The speedscope export (https://www.speedscope.app/file-format-schema.json): one "evented"
// profile per thread that ran steps or callbacks, whose frames are the
// coroutines (and callback types) it ran, each with its file and line where the trace has
// them. An open ("O") event starts a step, a close ("C") event ends it; the Timeline keeps
// them balanced and in time order, which speedscope requires.
//
// Profiles are written one after another, so the trace is read once per profile; the shared
// frames are only known at the end and come last (JSON objects are unordered).
#include "exporters.hpp"
#include "json_text.hpp"

#include <unordered_map>
#include <vector>

namespace loopscope::viewer::detail {

namespace {

// The frames shared by every profile; they survive the passes.
class FrameTable {
 public:
  std::size_t index(NameKey key) {
    const auto [it, added] = frames_.try_emplace(key, order_.size());
    if (added) {
      order_.push_back(key);
    }
    return it->second;
  }
  // The file and line of a frame come from the first coroutine location with its name.
  void locate(NameKey key, std::uint64_t location) { where_.try_emplace(key, location); }
  void write(OutBuffer& buf, const Catalog& catalog) const;

 private:
  std::unordered_map<NameKey, std::size_t> frames_;
  std::vector<NameKey> order_;
  std::unordered_map<NameKey, std::uint64_t> where_;
};

void FrameTable::write(OutBuffer& buf, const Catalog& catalog) const {
  buf.append(R"("shared":{"frames":[)");
  for (std::size_t i = 0; i < order_.size(); ++i) {
    const NameKey key = order_[i];
    buf.append(i == 0 ? "\n{\"name\":" : ",\n{\"name\":");
    buf.append(json_string(catalog.name(key)));
    const auto where = where_.find(key);
    const format::Location* loc = where != where_.end() ? catalog.location(where->second) : nullptr;
    if (loc != nullptr && !catalog.string(loc->file).empty()) {
      buf.append(",\"file\":");
      buf.append(json_string(catalog.string(loc->file)));
      if (loc->line != 0) {
        buf.append(",\"line\":");
        buf.append_u64(loc->line);
      }
    }
    buf.append('}');
  }
  buf.append("\n]}");
}

// One profile: the slices of one thread.
class ProfileWriter final : public TimelineHandler {
 public:
  ProfileWriter(const Catalog& catalog, OutBuffer& buf, FrameTable& frames, std::uint32_t thread)
      : catalog_(catalog), buf_(buf), frames_(frames), thread_(thread) {}

  void begin(bool first_profile);
  void finish();

  void slice_begin(const Slice& s) override {
    if (s.thread == thread_) {
      at('O', frames_.index(s.name), s.begin_ns);
    }
  }
  void slice_end(const Slice& s, std::uint64_t end_ns, int /*reason*/) override {
    if (s.thread == thread_) {
      at('C', frames_.index(s.name), end_ns);
    }
  }
  void task_created(std::uint32_t /*thread*/, std::uint64_t /*ns*/, std::uint32_t /*task*/,
                    std::uint64_t coroutine, std::uint64_t /*flow_out*/) override {
    frames_.locate(catalog_.function_of(coroutine), coroutine);
  }
  void task_finished(std::uint32_t /*thread*/, std::uint64_t /*ns*/, std::uint32_t /*task*/,
                     std::uint16_t /*state*/, std::string_view /*failure*/) override {}
  void thread_job(std::uint32_t /*thread*/, std::uint32_t /*task*/, std::uint64_t /*begin_ns*/,
                  std::uint64_t /*end_ns*/) override {}
  void warning(const format::WarningRecord& /*w*/, std::uint64_t /*ns*/) override {}
  void lag(std::uint32_t /*thread*/, std::uint64_t /*ns*/, std::uint64_t /*lag_ns*/) override {}

 private:
  void at(char type, std::size_t frame, std::uint64_t ns) {
    buf_.maybe_flush();
    buf_.append(first_event_ ? "\n{\"type\":\"" : ",\n{\"type\":\"");
    first_event_ = false;
    buf_.append(type);
    buf_.append(R"(","frame":)");
    buf_.append_u64(frame);
    buf_.append(",\"at\":");
    last_ = catalog_.relative_ns(ns);
    buf_.append_u64(last_);
    buf_.append('}');
  }

  const Catalog& catalog_;
  OutBuffer& buf_;
  FrameTable& frames_;
  std::uint32_t thread_;
  bool first_event_ = true;
  std::uint64_t last_ = 0;
};

void ProfileWriter::begin(bool first_profile) {
  const auto& threads = catalog_.threads();
  const auto it = threads.find(thread_);
  std::string name = it != threads.end() && !it->second.name.empty()
                         ? it->second.name
                         : "thread " + std::to_string(thread_);
  name += it != threads.end() && it->second.is_loop ? " (loop, thread " : " (thread ";
  name += std::to_string(thread_) + ")";
  buf_.append(first_profile ? "\n{\"type\":\"evented\",\"name\":"
                            : ",\n{\"type\":\"evented\",\"name\":");
  buf_.append(json_string(name));
  buf_.append(R"(,"unit":"nanoseconds","startValue":0,"events":[)");
}

void ProfileWriter::finish() {
  buf_.append("\n],\"endValue\":");
  buf_.append_u64(last_);
  buf_.append('}');
}

}  // namespace

ExportResult export_speedscope(TraceReader& reader, const Catalog& catalog, std::ostream& out) {
  OutBuffer buf(out);
  FrameTable frames;
  buf.append(R"({"$schema":"https://www.speedscope.app/file-format-schema.json",)");
  buf.append("\"name\":");
  buf.append(json_string("loopscope trace (pid " + std::to_string(catalog.pid()) + ")"));
  buf.append(R"(,"exporter":"loopscope","activeProfileIndex":0,"profiles":[)");
  ExportResult result;
  bool first = true;
  for (const auto& [index, t] : catalog.threads()) {
    if (!t.has_slices) {
      continue;
    }
    ProfileWriter profile(catalog, buf, frames, index);
    profile.begin(first);
    first = false;
    read_timeline(reader, catalog, profile, &result.slices, &result.tasks);
    profile.finish();
  }
  if (first) {
    // speedscope needs a profile to open a file: an empty one says there were no steps.
    buf.append("\n{\"type\":\"evented\",\"name\":\"no steps in this trace\",");
    buf.append(R"("unit":"nanoseconds","startValue":0,"endValue":0,"events":[]})");
  }
  buf.append("\n],");
  frames.write(buf, catalog);
  buf.append("}\n");
  buf.flush();
  return result;
}

}  // namespace loopscope::viewer::detail
