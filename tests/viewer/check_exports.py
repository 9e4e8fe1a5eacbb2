#!/usr/bin/env python3
"""Reads loopscope's exports back with readers loopscope did not write.

perfetto:   `protoc --decode_raw` (Debian protobuf-compiler) decodes the protobuf; the decoded
            text is parsed here and checked against the Perfetto schema's rules: one packet
            sequence whose first packet clears the incremental state, interned names defined
            before use, every track described before use, slices balanced per track, every
            flow started and terminated once, counters on counter tracks.
chrome:     Python's json module; complete events do not overlap on a thread, async
            begin/end pairs nest per id, every flow start has its end, thread names are set.
speedscope: Python's json module; the documented file schema ($schema, shared.frames,
            evented profiles) with open/close events balanced and in time order.

Usage: check_exports.py --cli LOOPSCOPE --writer WRITE_TEST_TRACE --workdir DIR
                        [--protoc PROTOC] [--trace EXTRA.lstrace ...] [--program EXE ...]

--program runs a loopscope program with LOOPSCOPE_TRACE set and checks the exports of the
trace it writes, and that its report names the program's coroutines.
Exits 0 when every check passed; prints one line per check.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

CHECKS = {"passed": 0, "failed": 0}


def check(condition, what):
    if condition:
        CHECKS["passed"] += 1
    else:
        CHECKS["failed"] += 1
        print("FAILED: " + what)


# ---- protoc --decode_raw text ----

LINE = re.compile(r'^\s*(\d+)(?:: (.*)| \{)$')


def parse_decode_raw(text):
    """Parses `protoc --decode_raw` output into nested lists of (field, value) pairs; a
    nested message's value is such a list, a scalar stays text."""
    root = []
    stack = [root]
    for line in text.splitlines():
        if line.strip() == "}":
            stack.pop()
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError("unexpected decode_raw line: " + line)
        field = int(m.group(1))
        if m.group(2) is None:
            child = []
            stack[-1].append((field, child))
            stack.append(child)
        else:
            stack[-1].append((field, m.group(2)))
    return root


def fields(message, number):
    return [v for f, v in message if f == number]


def one(message, number, default=None):
    values = fields(message, number)
    return values[0] if values else default


def integer(value):
    return int(value, 16) if value.startswith("0x") else int(value)


def string(value):
    """A decoded string field; decode_raw shows a string that happens to parse as a
    message as a message, which none of the names here do."""
    if isinstance(value, list):
        return None
    return bytes(value[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode(
        "utf-8", "replace")


def check_perfetto(path, protoc, expect):
    decoded = subprocess.run([protoc, "--decode_raw"], stdin=open(path, "rb"),
                             capture_output=True, check=False)
    check(decoded.returncode == 0, f"protoc --decode_raw reads {path}: {decoded.stderr[:200]}")
    if decoded.returncode != 0:
        return
    trace = parse_decode_raw(decoded.stdout.decode("utf-8"))
    check(all(f == 1 for f, _ in trace), "perfetto: the trace holds only packets (field 1)")
    packets = fields(trace, 1)
    check(len(packets) > 0, "perfetto: packets")
    check(all(integer(one(p, 10, "0")) == 1 for p in packets),
          "perfetto: every packet is on trusted_packet_sequence_id 1")
    check(integer(one(packets[0], 13, "0")) & 1 == 1,
          "perfetto: the first packet sets SEQ_INCREMENTAL_STATE_CLEARED")
    names, tracks, counter_tracks = {}, {}, set()
    slices = collections.defaultdict(list)  # track -> [(ts, +1/-1)]
    flows_out, flows_in = collections.Counter(), collections.Counter()
    counters = instants = 0
    for p in packets:
        ts = integer(one(p, 8, "0"))
        for interned in fields(p, 12):
            for name in fields(interned, 2):
                iid = integer(one(name, 1))
                check(iid not in names, f"perfetto: event name iid {iid} interned once")
                names[iid] = string(one(name, 2))
        for td in fields(p, 60):
            uuid = integer(one(td, 1))
            check(uuid not in tracks, f"perfetto: track {uuid} described once")
            parent = one(td, 5)
            check(parent is None or integer(parent) in tracks,
                  f"perfetto: the parent of track {uuid} is described before it")
            tracks[uuid] = td
            if fields(td, 8):
                counter_tracks.add(uuid)
        for te in fields(p, 11):
            check(integer(one(p, 13, "0")) & 2 == 2,
                  "perfetto: track events set SEQ_NEEDS_INCREMENTAL_STATE")
            kind = integer(one(te, 9, "0"))
            track = integer(one(te, 11, "0"))
            check(track in tracks, f"perfetto: track {track} is described before its events")
            if kind in (1, 3):
                iid = integer(one(te, 10, "0"))
                check(iid in names, f"perfetto: name iid {iid} is interned before use")
            if kind == 1:
                slices[track].append((ts, 1))
            elif kind == 2:
                slices[track].append((ts, -1))
            elif kind == 3:
                instants += 1
            elif kind == 4:
                counters += 1
                check(track in counter_tracks, "perfetto: counter values on counter tracks")
                check(one(te, 30) is not None, "perfetto: counter events carry counter_value")
            for flow in fields(te, 47):
                flows_out[integer(flow)] += 1
            for flow in fields(te, 48):
                flows_in[integer(flow)] += 1
    for track, events in slices.items():
        depth, ok = 0, True
        # Python's sort is stable: equal times keep the file order, as the importer does.
        for _, step in sorted(events, key=lambda e: e[0]):
            depth += step
            ok = ok and depth >= 0
        check(ok and depth == 0, f"perfetto: slices on track {track} are balanced")
    check(set(flows_out) == set(flows_in) and all(n == 1 for n in flows_out.values()) and
          all(n == 1 for n in flows_in.values()),
          "perfetto: every flow starts once and terminates once")
    if expect:
        # Track uuids (export_perfetto.cpp): threads from 16, lag from 2^31, tasks from 2^32.
        thread_slices = sum(len(e) // 2 for t, e in slices.items() if 16 <= t < 1 << 31)
        check(thread_slices == expect["slices"],
              f"perfetto: {thread_slices} slices on thread tracks, {expect['slices']} expected")
        task_tracks = sum(1 for t in tracks if (t >> 32) == 1)
        check(task_tracks == expect["tasks"], f"perfetto: {task_tracks} task tracks")
        check(len(flows_out) == expect["flows"], f"perfetto: {len(flows_out)} flows")
        check(counters == expect["lag_samples"], f"perfetto: {counters} lag counter values")
        check(instants == expect["flows"] + expect["warnings"],
              f"perfetto: {instants} instants (spawns and warnings)")
        for name in expect["names"]:
            check(name in names.values(), f"perfetto: the interned names include {name!r}")


# ---- Chrome Trace Event JSON ----

def check_chrome(path, expect):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    check(doc.get("displayTimeUnit") == "ns", "chrome: displayTimeUnit is ns")
    events = doc.get("traceEvents")
    check(isinstance(events, list) and events, "chrome: traceEvents is a non-empty list")
    named = {e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    by_phase = collections.defaultdict(list)
    for e in events:
        check({"ph", "pid", "tid", "ts"} <= set(e), f"chrome: event has ph/pid/tid/ts: {e}")
        check(isinstance(e["ts"], (int, float)) and e["ts"] >= 0, "chrome: ts is a number")
        by_phase[e["ph"]].append(e)
    steps = collections.defaultdict(list)
    for e in by_phase["X"]:
        check(e["dur"] >= 0 and "name" in e, "chrome: complete events have dur >= 0 and a name")
        check(e["tid"] in named, f"chrome: thread {e['tid']} has a thread_name")
        steps[e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
    for tid, spans in steps.items():
        spans.sort()
        overlap = any(b[0] < a[1] - 1e-9 for a, b in zip(spans, spans[1:]))
        check(not overlap, f"chrome: steps on thread {tid} do not overlap")
    opened = collections.defaultdict(list)
    for e in sorted(by_phase["b"] + by_phase["e"], key=lambda e: (e["ts"], e["ph"] == "b")):
        key = (e["cat"], e["id"])
        if e["ph"] == "b":
            opened[key].append(e["ts"])
        else:
            check(opened[key], f"chrome: async end {key} has a begin")
            if opened[key]:
                opened[key].pop()
    check(all(not v for v in opened.values()), "chrome: every async begin has its end")
    starts = {e["id"]: e for e in by_phase["s"]}
    ends = {e["id"]: e for e in by_phase["f"]}
    check(set(starts) == set(ends), "chrome: every flow start has a flow end")
    for fid, s in starts.items():
        f = ends.get(fid)
        if f is None:
            continue
        check(f["ts"] >= s["ts"] and f.get("bp") == "e", f"chrome: flow {fid} ends after it starts")
        inside = any(a <= s["ts"] <= b for a, b in steps[s["tid"]])
        check(inside, f"chrome: flow {fid} starts inside a step on its thread")
        at_step = any(abs(a - f["ts"]) < 1e-9 for a, _ in steps[f["tid"]])
        check(at_step, f"chrome: flow {fid} ends where a step begins")
    for e in by_phase["C"]:
        check(all(isinstance(v, (int, float)) for v in e["args"].values()),
              "chrome: counters carry numbers")
    if expect:
        check(len(by_phase["X"]) == expect["slices"], f"chrome: {len(by_phase['X'])} slices")
        check(len(starts) == expect["flows"], f"chrome: {len(starts)} flows")
        check(len(by_phase["C"]) == expect["lag_samples"], "chrome: one counter per lag sample")
        check(len(by_phase["i"]) == expect["warnings"], "chrome: one instant per warning")
        task_spans = {e["id"] for e in by_phase["b"] if e.get("name") != "thread job"}
        check(len(task_spans) == expect["tasks"], f"chrome: {len(task_spans)} task spans")


# ---- speedscope ----

def check_speedscope(path, expect):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    check(doc.get("$schema") == "https://www.speedscope.app/file-format-schema.json",
          "speedscope: $schema")
    frames = doc.get("shared", {}).get("frames")
    check(isinstance(frames, list), "speedscope: shared.frames is a list")
    check(all(isinstance(fr.get("name"), str) for fr in frames), "speedscope: frames have names")
    profiles = doc.get("profiles")
    check(isinstance(profiles, list) and profiles, "speedscope: at least one profile")
    check(0 <= doc.get("activeProfileIndex", 0) < len(profiles), "speedscope: activeProfileIndex")
    opens = 0
    for p in profiles:
        check(p.get("type") == "evented" and p.get("unit") == "nanoseconds",
              "speedscope: evented profiles in nanoseconds")
        check(isinstance(p.get("name"), str), "speedscope: profiles have names")
        stack, last, ok = [], p["startValue"], True
        for e in p["events"]:
            ok = ok and e["type"] in ("O", "C") and 0 <= e["frame"] < len(frames)
            ok = ok and last <= e["at"] <= p["endValue"]
            last = e["at"]
            if e["type"] == "O":
                stack.append(e["frame"])
                opens += 1
            else:
                ok = ok and bool(stack) and stack.pop() == e["frame"]
        check(ok and not stack,
              f"speedscope: profile {p['name']!r} is balanced and ordered in time")
    if expect:
        check(opens == expect["slices"], f"speedscope: {opens} frames opened")
        names = {fr["name"] for fr in frames}
        for name in expect["frames"]:
            check(name in names, f"speedscope: a frame named {name!r}")
        located = [fr for fr in frames if fr["name"] == "worker"]
        check(located and located[0].get("file") == "app/main.cpp" and
              located[0].get("line") == 20, "speedscope: frames carry file and line")


# The program trace of tests/viewer/program_trace.hpp.
PROGRAM = {
    "slices": 12,  # loop-0: amain 2, fetch 4, worker 3, one callback; loop-1: serve 2
    "tasks": 5,
    "flows": 3,
    "warnings": 2,
    "lag_samples": 15,
    "names": ["amain", "(anonymous namespace)::fetch", "worker", "serve",
              "loopscope::detail::TimerEntry", "spawn", "thread job", "warning: slow_callback"],
    "frames": ["amain", "(anonymous namespace)::fetch", "worker", "serve",
               "loopscope::detail::TimerEntry"],
}


def export(cli, trace, fmt, out):
    result = subprocess.run([cli, "export", "--format", fmt, trace, "-o", out],
                            capture_output=True, check=False)
    check(result.returncode == 0, f"export {fmt} of {trace}: {result.stderr.decode()}")
    check(not os.path.exists(out + ".tmp"), f"export {fmt}: no temporary file left")
    return result.returncode == 0


def check_trace(args, trace, expect):
    base = os.path.join(args.workdir, os.path.basename(trace))
    if export(args.cli, trace, "perfetto", base + ".pftrace"):
        check_perfetto(base + ".pftrace", args.protoc, expect)
    if export(args.cli, trace, "chrome", base + ".json"):
        check_chrome(base + ".json", expect)
    if export(args.cli, trace, "speedscope", base + ".speedscope.json"):
        check_speedscope(base + ".speedscope.json", expect)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--writer", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--protoc", default="protoc")
    parser.add_argument("--trace", action="append", default=[])
    parser.add_argument("--program", action="append", default=[])
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    for name, expect in (("program", PROGRAM), ("synthetic", None)):
        trace = os.path.join(args.workdir, name + ".lstrace")
        subprocess.run([args.writer, name, trace], check=True)
        check_trace(args, trace, expect)
    for trace in args.trace:
        check_trace(args, trace, None)
    for program in args.program:
        trace = os.path.join(args.workdir, os.path.basename(program) + ".lstrace")
        env = dict(os.environ, LOOPSCOPE_TRACE=trace)
        run = subprocess.run([program], env=env, capture_output=True, check=False)
        check(run.returncode == 0, f"{program} runs: {run.stderr[:300]}")
        check_trace(args, trace, None)
        report = subprocess.run([args.cli, "report", "--json", trace], capture_output=True,
                                check=False)
        check(report.returncode == 0, f"report of {trace}: {report.stderr[:300]}")
        doc = json.loads(report.stdout)
        check(doc["tasks"]["created"] > 0 and doc["events"] > 0 and doc["loops"],
              f"the report of {program} has tasks, events and a loop")
        names = " ".join(site["function"] for site in doc["sites"])
        check("consumer" in names and "producer" in names,
              f"the report of {program} names its coroutines: {names[:200]}")
    print(f"{CHECKS['passed']} passed, {CHECKS['failed']} failed")
    return 1 if CHECKS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
