// The Perfetto export: a protobuf `Trace` (a sequence of `TracePacket`s) written directly
// with ProtoWriter. Field numbers come from the Perfetto protos (github.com/google/perfetto,
// protos/perfetto/trace/...), cited next to each constant. All packets form one sequence
// (trusted_packet_sequence_id 1); the first clears the incremental state, the track events
// need it for their interned names.
//
// Tracks: one process track; one thread track per thread with events (task steps and
// callbacks as slices, spawns and warnings as instants); one async track per task, a child of
// the process track, with one slice from creation to completion and in it the thread jobs
// the task ran; one lag counter track per loop thread, a child of its thread track.
#include "export_timeline.hpp"
#include "exporters.hpp"
#include "flat_map.hpp"
#include "proto_writer.hpp"

#include <map>
#include <unordered_map>

namespace loopscope::viewer::detail {

namespace {

// trace.proto: message Trace { repeated TracePacket packet = 1; }
constexpr std::uint32_t kTracePacket = 1;
// trace_packet.proto: TracePacket.
constexpr std::uint32_t kTimestamp = 8, kTrustedSequenceId = 10, kTrackEvent = 11,
                        kInternedData = 12, kSequenceFlags = 13, kTrackDescriptor = 60;
// TracePacket.SequenceFlags.
constexpr std::uint64_t kSeqIncrementalStateCleared = 1, kSeqNeedsIncrementalState = 2;
// track_descriptor.proto: TrackDescriptor.
constexpr std::uint32_t kTdUuid = 1, kTdName = 2, kTdProcess = 3, kTdThread = 4, kTdParentUuid = 5,
                        kTdCounter = 8;
// process_descriptor.proto: ProcessDescriptor.
constexpr std::uint32_t kPdPid = 1, kPdProcessName = 6;
// thread_descriptor.proto: ThreadDescriptor.
constexpr std::uint32_t kThdPid = 1, kThdTid = 2, kThdThreadName = 5;
// counter_descriptor.proto: CounterDescriptor.unit = 3, Unit.UNIT_TIME_NS = 1.
constexpr std::uint32_t kCdUnit = 3;
constexpr std::uint64_t kUnitTimeNs = 1;
// track_event.proto: TrackEvent.
constexpr std::uint32_t kTeDebugAnnotations = 4, kTeType = 9, kTeNameIid = 10, kTeTrackUuid = 11,
                        kTeCounterValue = 30, kTeFlowIds = 47, kTeTerminatingFlowIds = 48;
// TrackEvent.Type.
constexpr std::uint64_t kSliceBegin = 1, kSliceEnd = 2, kInstant = 3, kCounter = 4;
// debug_annotation.proto: DebugAnnotation.
constexpr std::uint32_t kDaNameIid = 1, kDaUintValue = 3, kDaStringValue = 6;
// interned_data.proto: InternedData; EventName and DebugAnnotationName are {iid = 1, name = 2}.
constexpr std::uint32_t kIdEventNames = 2, kIdDebugAnnotationNames = 3;
constexpr std::uint32_t kInternIid = 1, kInternName = 2;

constexpr std::uint64_t kSequence = 1;

// Track uuids: disjoint ranges per kind of track. Thread tracks, named by nearly every
// event, get the small numbers (a varint of one or two bytes).
constexpr std::uint64_t kProcessTrack = 1;
constexpr std::uint64_t kThreadTracks = 16;
constexpr std::uint64_t kLagTracks = std::uint64_t{1} << 31;
constexpr std::uint64_t kTaskTracks = std::uint64_t{1} << 32;
constexpr std::uint64_t kJobTracks = std::uint64_t{2} << 32;

// Debug annotation names, interned once in the first packet.
enum Annotation : std::uint64_t { kTask = 1, kSuspendedOn, kState, kMessage, kStack, kException };
constexpr std::array<std::string_view, 6> kAnnotationNames = {
    "task", "suspended_on", "state", "message", "stack", "exception"};

// Names of warnings' instants: keys beside the catalog's.
constexpr NameKey kWarningNames = NameKey{1} << 62;

class PerfettoWriter final : public TimelineHandler {
 public:
  PerfettoWriter(const Catalog& catalog, std::ostream& out)
      : catalog_(catalog), buf_(out), w_(buf_) {}

  void begin();
  void finish() { buf_.flush(); }

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
  // A packet of the sequence; event packets need the incremental state.
  std::size_t packet(std::uint64_t ns, std::uint64_t flags = kSeqNeedsIncrementalState) {
    buf_.maybe_flush();
    const std::size_t mark = w_.begin(kTracePacket);
    w_.varint(kTimestamp, ns);
    w_.varint(kTrustedSequenceId, kSequence);
    if (flags != 0) {
      w_.varint(kSequenceFlags, flags);
    }
    return mark;
  }
  // A packet for a track event that needs no new interned data (the common case), opened
  // up to the track event's fields.
  InlinePacket event_packet(std::uint64_t ns) {
    buf_.maybe_flush();
    InlinePacket p(buf_, kTracePacket);
    p.varint(kTimestamp, ns);
    p.varint(kTrustedSequenceId, kSequence);
    p.varint(kSequenceFlags, kSeqNeedsIncrementalState);
    p.begin(kTrackEvent);
    return p;
  }
  // The interned id of a name; a new name is interned in a packet of its own, at `ns`.
  std::uint64_t name_iid(NameKey key, std::uint64_t ns, std::string_view text);
  std::uint64_t name_iid(NameKey key, std::uint64_t ns) {
    const auto it = iids_.find(key);
    return it != iids_.end() ? it->second : name_iid(key, ns, catalog_.name(key));
  }
  // A slice's begin (kSliceBegin) or an instant (kInstant) named `iid` on `track`, with its
  // task (0: none) and a flow it starts or ends (flow_field 0: none).
  void slice_event(std::uint64_t ns, std::uint64_t type, std::uint64_t track, std::uint64_t iid,
                   std::uint64_t task, std::uint32_t flow_field, std::uint64_t flow) {
    // At most 17 (packet) + 2 + 2 + 11 + 11 + 15 + 10 bytes: an InlinePacket.
    InlinePacket p = event_packet(ns);
    p.varint(kTeType, type);
    p.varint(kTeTrackUuid, track);
    p.varint(kTeNameIid, iid);
    if (task != 0) {
      p.begin(kTeDebugAnnotations);
      p.varint(kDaNameIid, kTask);
      p.varint(kDaUintValue, task);
      p.end();
    }
    if (flow_field != 0) {
      p.fixed64(flow_field, flow);
    }
    p.end();
    p.finish();
  }
  // A slice's end on `track`, with a short text annotation (empty: none).
  void slice_end_event(std::uint64_t ns, std::uint64_t track, Annotation name,
                       std::string_view text) {
    InlinePacket p = event_packet(ns);
    p.varint(kTeType, kSliceEnd);
    p.varint(kTeTrackUuid, track);
    if (!text.empty()) {
      p.begin(kTeDebugAnnotations);
      p.varint(kDaNameIid, name);
      p.bytes(kDaStringValue, text.substr(0, 32));
      p.end();
    }
    p.end();
    p.finish();
  }
  // A slice end with a second, longer text: a failed task's exception.
  void slice_end_event(std::uint64_t ns, std::uint64_t track, Annotation name,
                       std::string_view text, Annotation more, std::string_view more_text) {
    const std::size_t p = packet(ns);
    const std::size_t te = w_.begin(kTrackEvent);
    w_.varint(kTeType, kSliceEnd);
    w_.varint(kTeTrackUuid, track);
    annotation(name, text);
    annotation(more, more_text);
    w_.end(te);
    w_.end(p);
  }
  void annotation(Annotation name, std::uint64_t value) {
    const std::size_t a = w_.begin(kTeDebugAnnotations);
    w_.varint(kDaNameIid, name);
    w_.varint(kDaUintValue, value);
    w_.end(a);
  }
  void annotation(Annotation name, std::string_view value) {
    const std::size_t a = w_.begin(kTeDebugAnnotations);
    w_.varint(kDaNameIid, name);
    w_.bytes(kDaStringValue, value);
    w_.end(a);
  }
  struct ThreadTracks {
    std::uint64_t uuid = kProcessTrack, lag_uuid = 0;
    bool lag_written = false;
  };
  // The tracks of a thread; events of a thread without a descriptor go on the process track.
  ThreadTracks& tracks_of(std::uint32_t thread) {
    if (cached_ == nullptr || cached_index_ != thread) {
      const auto it = threads_.find(thread);
      cached_ = it != threads_.end() ? &it->second : &unknown_thread_;
      cached_index_ = thread;
    }
    return *cached_;
  }
  std::uint64_t thread_track(std::uint32_t thread) { return tracks_of(thread).uuid; }
  void thread_descriptor(const CatalogThread& t);

  const Catalog& catalog_;
  OutBuffer buf_;
  ProtoWriter w_;
  std::unordered_map<NameKey, std::uint64_t> iids_;
  FlatMap<bool> task_tracks_;  // tasks whose async slice is open
  std::uint64_t job_tracks_ = 0;
  std::map<std::uint32_t, ThreadTracks> threads_;  // node-based: cached_ stays valid
  ThreadTracks* cached_ = nullptr;
  std::uint32_t cached_index_ = 0;
  ThreadTracks unknown_thread_;
};

std::uint64_t PerfettoWriter::name_iid(NameKey key, std::uint64_t ns, std::string_view text) {
  const auto [it, added] = iids_.try_emplace(key, iids_.size() + 1);
  if (added) {
    const std::size_t p = packet(ns);
    const std::size_t interned = w_.begin(kInternedData);
    const std::size_t name = w_.begin(kIdEventNames);
    w_.varint(kInternIid, it->second);
    w_.bytes(kInternName, text);
    w_.end(name);
    w_.end(interned);
    w_.end(p);
  }
  return it->second;
}

void PerfettoWriter::thread_descriptor(const CatalogThread& t) {
  // Numbered in order, so that any thread index gives a small uuid in its own range.
  const auto ordinal = threads_.size();
  ThreadTracks& tracks = threads_[t.index];
  tracks.uuid = kThreadTracks + ordinal;
  tracks.lag_uuid = kLagTracks + ordinal;
  cached_ = nullptr;
  const std::size_t p = packet(catalog_.origin_ns(), 0);
  const std::size_t td = w_.begin(kTrackDescriptor);
  w_.varint(kTdUuid, tracks.uuid);
  const std::size_t thread = w_.begin(kTdThread);
  w_.varint(kThdPid, catalog_.pid());
  // Threads without an OS id still need distinct tids, or the UI merges them.
  w_.varint(kThdTid, t.os_tid != 0 ? t.os_tid : 0x7fff0000u + t.index);
  w_.bytes(kThdThreadName, t.name.empty() ? "thread " + std::to_string(t.index) : t.name);
  w_.end(thread);
  w_.end(td);
  w_.end(p);
}

void PerfettoWriter::begin() {
  // The process track, and the debug annotation names, clearing the incremental state.
  const std::size_t p = packet(catalog_.origin_ns(), kSeqIncrementalStateCleared);
  const std::size_t interned = w_.begin(kInternedData);
  for (std::size_t i = 0; i < kAnnotationNames.size(); ++i) {
    const std::size_t name = w_.begin(kIdDebugAnnotationNames);
    w_.varint(kInternIid, i + 1);
    w_.bytes(kInternName, kAnnotationNames[i]);
    w_.end(name);
  }
  w_.end(interned);
  const std::size_t td = w_.begin(kTrackDescriptor);
  w_.varint(kTdUuid, kProcessTrack);
  const std::size_t process = w_.begin(kTdProcess);
  w_.varint(kPdPid, catalog_.pid());
  w_.bytes(kPdProcessName, "loopscope trace (pid " + std::to_string(catalog_.pid()) + ")");
  w_.end(process);
  w_.end(td);
  w_.end(p);
  for (const auto& [index, t] : catalog_.threads()) {
    if (t.has_events) {
      thread_descriptor(t);
    }
  }
}

void PerfettoWriter::slice_begin(const Slice& s) {
  const std::uint64_t iid = name_iid(s.name, s.begin_ns);
  slice_event(s.begin_ns, kSliceBegin, thread_track(s.thread), iid,
              s.kind == SliceKind::kStep ? s.task : 0, s.flow_in != 0 ? kTeTerminatingFlowIds : 0,
              s.flow_in);
}

void PerfettoWriter::slice_end(const Slice& s, std::uint64_t end_ns, int reason) {
  const auto r = static_cast<std::size_t>(reason);
  slice_end_event(end_ns, thread_track(s.thread), kSuspendedOn,
                  reason < 0                               ? std::string_view()
                  : r < format::kSuspendReasonNames.size() ? format::kSuspendReasonNames[r]
                                                           : std::string_view("unknown"));
}

void PerfettoWriter::task_created(std::uint32_t thread, std::uint64_t ns, std::uint32_t task,
                                  std::uint64_t coroutine, std::uint64_t flow_out) {
  const NameKey name = catalog_.function_of(coroutine);
  std::string track_name(catalog_.task_name(task));
  if (track_name.empty()) {
    track_name = catalog_.name(name) + " #" + std::to_string(task);
  }
  task_tracks_.try_emplace(task, true);
  const std::size_t p = packet(ns, 0);
  const std::size_t td = w_.begin(kTrackDescriptor);
  w_.varint(kTdUuid, kTaskTracks + task);
  w_.varint(kTdParentUuid, kProcessTrack);
  w_.bytes(kTdName, track_name);
  w_.end(td);
  w_.end(p);

  slice_event(ns, kSliceBegin, kTaskTracks + task, name_iid(name, ns), task, 0, 0);
  if (flow_out != 0) {
    // The flow starts at an instant inside the spawning slice.
    slice_event(ns, kInstant, thread_track(thread), name_iid(kNameSpawn, ns), task, kTeFlowIds,
                flow_out);
  }
}

void PerfettoWriter::task_finished(std::uint32_t /*thread*/, std::uint64_t ns, std::uint32_t task,
                                   std::uint16_t state, std::string_view failure) {
  task_tracks_.erase(task);
  const std::string_view state_name = state < format::kTaskStateNames.size()
                                          ? format::kTaskStateNames[state]
                                          : std::string_view("unknown");
  if (failure.empty()) {
    slice_end_event(ns, kTaskTracks + task, kState, state_name);
  } else {
    slice_end_event(ns, kTaskTracks + task, kState, state_name, kException, failure);
  }
}

// A job is a child slice on its task's track (the task awaits it); a job whose task has no
// track gets a track of its own.
void PerfettoWriter::thread_job(std::uint32_t /*thread*/, std::uint32_t task,
                                std::uint64_t begin_ns, std::uint64_t end_ns) {
  std::uint64_t track = kTaskTracks + task;
  if (!task_tracks_.contains(task)) {
    track = kJobTracks + job_tracks_++;
    const std::size_t p = packet(begin_ns, 0);
    const std::size_t td = w_.begin(kTrackDescriptor);
    w_.varint(kTdUuid, track);
    w_.varint(kTdParentUuid, kProcessTrack);
    w_.bytes(kTdName, "thread job (task " + std::to_string(task) + ")");
    w_.end(td);
    w_.end(p);
  }
  slice_event(begin_ns, kSliceBegin, track, name_iid(kNameThreadJob, begin_ns), task, 0, 0);
  slice_end_event(end_ns, track, kState, {});
}

void PerfettoWriter::warning(const format::WarningRecord& w, std::uint64_t ns) {
  const std::string kind = w.kind < format::kWarningKindNames.size()
                               ? std::string(format::kWarningKindNames[w.kind])
                               : "unknown_" + std::to_string(w.kind);
  std::string stack;
  for (const std::uint64_t frame : w.frames) {
    const format::Location* loc = catalog_.location(frame);
    const std::string where = catalog_.file_line(frame);
    stack += catalog_.name(loc != nullptr ? loc->function : 0);
    if (!where.empty()) {
      stack.append(" (").append(where).append(")");
    }
    stack += "\n";
  }
  const std::uint64_t iid = name_iid(kWarningNames | w.kind, ns, "warning: " + kind);
  const std::size_t p = packet(ns);
  const std::size_t te = w_.begin(kTrackEvent);
  w_.varint(kTeType, kInstant);
  w_.varint(kTeTrackUuid, thread_track(w.thread));
  w_.varint(kTeNameIid, iid);
  annotation(kMessage, w.message);
  if (!stack.empty()) {
    annotation(kStack, stack);
  }
  if (w.task != 0) {
    annotation(kTask, w.task);
  }
  w_.end(te);
  w_.end(p);
}

void PerfettoWriter::lag(std::uint32_t thread, std::uint64_t ns, std::uint64_t lag_ns) {
  ThreadTracks& tracks = tracks_of(thread);
  if (tracks.lag_uuid == 0) {
    return;  // lag of a thread the trace never defined: there is no track to put it on
  }
  if (!tracks.lag_written) {
    tracks.lag_written = true;
    const std::size_t p = packet(ns, 0);
    const std::size_t td = w_.begin(kTrackDescriptor);
    w_.varint(kTdUuid, tracks.lag_uuid);
    w_.varint(kTdParentUuid, tracks.uuid);
    w_.bytes(kTdName, "loop lag");
    const std::size_t counter = w_.begin(kTdCounter);
    w_.varint(kCdUnit, kUnitTimeNs);
    w_.end(counter);
    w_.end(td);
    w_.end(p);
  }
  const std::size_t p = packet(ns);
  const std::size_t te = w_.begin(kTrackEvent);
  w_.varint(kTeType, kCounter);
  w_.varint(kTeTrackUuid, tracks.lag_uuid);
  // int64 counter_value: varint of the two's complement, positive here.
  w_.varint(kTeCounterValue, std::min<std::uint64_t>(lag_ns, INT64_MAX));
  w_.end(te);
  w_.end(p);
}

}  // namespace

ExportResult export_perfetto(TraceReader& reader, const Catalog& catalog, std::ostream& out) {
  PerfettoWriter writer(catalog, out);
  writer.begin();
  ExportResult result;
  read_timeline(reader, catalog, writer, &result.slices, &result.tasks);
  writer.finish();
  return result;
}

}  // namespace loopscope::viewer::detail
