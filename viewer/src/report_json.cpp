// The JSON rendering of a Report: one object whose field names are a stable interface
// (scripts and CI read them), in a fixed order.
#include <loopscope/viewer/report.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

namespace loopscope::viewer {

namespace {

using Json = nlohmann::ordered_json;

Json frame_json(const Frame& f) {
  return Json{{"function", f.function}, {"file", f.file}, {"line", f.line}};
}

Json trace_json(const Report& r) {
  Json trace{{"pid", r.pid},
             {"start_unix_ns", r.start_unix_ns},
             {"tick_source", r.tick_source},
             {"calibrated", r.calibrated},
             {"duration_ns", r.duration_ns},
             {"complete", r.complete},
             {"truncated", nullptr}};
  if (r.truncation) {
    trace["truncated"] = Json{{"offset", r.truncation->offset}, {"reason", r.truncation->reason}};
  }
  return trace;
}

Json sites_json(const Report& r) {
  Json sites = Json::array();
  for (const SiteStats& s : r.sites) {
    sites.push_back(Json{{"function", s.function},
                         {"file", s.file},
                         {"line", s.line},
                         {"spawned_in", s.spawned_in},
                         {"tasks", s.tasks},
                         {"resumes", s.resumes},
                         {"busy_ns", s.busy_ns},
                         {"max_step_ns", s.max_step_ns},
                         {"p50_step_ns", s.p50_step_ns},
                         {"p99_step_ns", s.p99_step_ns},
                         {"idle_ns", s.idle_ns},
                         {"scheduled_ns", s.scheduled_ns},
                         {"completed", s.completed},
                         {"failed", s.failed},
                         {"cancelled", s.cancelled}});
  }
  return sites;
}

Json frames_json(const std::vector<Frame>& stack) {
  Json frames = Json::array();
  for (const Frame& f : stack) {
    frames.push_back(frame_json(f));
  }
  return frames;
}

Json slowest_json(const Report& r) {
  Json steps = Json::array();
  for (const SlowStep& s : r.slowest) {
    steps.push_back(Json{{"task", s.task},
                         {"thread", s.thread},
                         {"function", s.function},
                         {"file", s.file},
                         {"line", s.line},
                         {"spawned_in", s.spawned_in},
                         {"start_ns", s.start_ns},
                         {"duration_ns", s.duration_ns},
                         {"stack_kind", s.stack_kind},
                         {"stack", frames_json(s.stack)}});
  }
  return steps;
}

Json lag_json(const LagStats& lag) {
  Json histogram = Json::array();
  for (const LagBucket& b : lag.histogram) {
    histogram.push_back(Json{{"lo_ns", b.lo_ns},
                             {"hi_ns", b.hi_ns == 0 ? Json(nullptr) : Json(b.hi_ns)},
                             {"count", b.count}});
  }
  return Json{{"samples", lag.samples}, {"p50_ns", lag.p50_ns}, {"p90_ns", lag.p90_ns},
              {"p99_ns", lag.p99_ns},   {"max_ns", lag.max_ns}, {"histogram", histogram}};
}

Json waits_json(const Report& r) {
  Json waits = Json::array();
  for (const WaitStats& w : r.waits) {
    waits.push_back(Json{
        {"reason", w.reason}, {"count", w.count}, {"total_ns", w.total_ns}, {"max_ns", w.max_ns}});
  }
  return waits;
}

Json warnings_json(const Report& r) {
  Json warnings = Json::array();
  for (const WarningEntry& w : r.warnings) {
    Json frames = frames_json(w.frames);
    warnings.push_back(Json{{"kind", w.kind},
                            {"message", w.message},
                            {"function", w.function},
                            {"file", w.file},
                            {"line", w.line},
                            {"thread", w.thread},
                            {"task", w.task},
                            {"time_ns", w.time_ns},
                            {"frames", std::move(frames)}});
  }
  return warnings;
}

Json failures_json(const Report& r) {
  Json failures = Json::array();
  for (const Failure& f : r.failures) {
    failures.push_back(Json{{"task", f.task},
                            {"thread", f.thread},
                            {"time_ns", f.time_ns},
                            {"function", f.function},
                            {"file", f.file},
                            {"line", f.line},
                            {"spawned_in", f.spawned_in},
                            {"exception", f.exception},
                            {"message", f.message}});
  }
  return failures;
}

Json loops_json(const Report& r) {
  Json loops = Json::array();
  for (const LoopStats& l : r.loops) {
    loops.push_back(Json{{"thread", l.thread},
                         {"name", l.name},
                         {"os_tid", l.os_tid},
                         {"busy_ns", l.busy_ns},
                         {"idle_ns", l.idle_ns},
                         {"iterations", l.iterations}});
  }
  return loops;
}

}  // namespace

void render_json(const Report& r, std::ostream& out) {
  Json reasons = Json::object();  // the counts alone, kept for scripts written against it
  for (const WaitStats& w : r.waits) {
    reasons[w.reason] = w.count;
  }
  const Json j{
      {"trace", trace_json(r)},
      {"tasks", Json{{"created", r.tasks.created},
                     {"completed", r.tasks.completed},
                     {"failed", r.tasks.failed},
                     {"cancelled", r.tasks.cancelled}}},
      {"events", r.events},
      {"dropped", r.dropped},
      {"threads", r.threads},
      // Two decimals: more would be noise, and would make the JSON vary between platforms.
      {"utilization_pct", std::round(utilization_percent(r) * 100.0) / 100.0},
      {"sites", sites_json(r)},
      {"slowest_steps", slowest_json(r)},
      {"warnings", warnings_json(r)},
      {"warnings_omitted", r.warnings_omitted},
      {"failures", failures_json(r)},
      {"failures_omitted", r.failures_omitted},
      {"lag", lag_json(r.lag)},
      {"loops", loops_json(r)},
      {"waits", waits_json(r)},
      {"suspend_reasons", std::move(reasons)},
  };
  // Invalid UTF-8 in a symbol or message must not make the report fail.
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

}  // namespace loopscope::viewer
