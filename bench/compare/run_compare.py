#!/usr/bin/env python3
"""Side-by-side runner for the anchor workloads W1-W6.

Runs loopscope, CPython asyncio and Asio on the same workloads, back to back,
each run in a fresh process, and prints a Markdown table of median/min/max
elapsed times plus the median of per-repetition ratios against loopscope.

Example:
    python3 bench/compare/run_compare.py --build-dir build/release \\
        --workloads w1,w2 --reps 7 --update docs/BENCHMARKS.md

With --debug it measures instead what debug mode costs: loopscope with LOOPSCOPE_DEBUG=1
against loopscope, and asyncio.run(debug=True) against asyncio, on W1-W4 by default, and
counts the findings each debug run reports (they are expected, never a failure).

Only the Python standard library is used so the runner works on a bare CI image.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASYNCIO_SCRIPT = HERE / "asyncio_workloads.py"

WORKLOAD_NAMES = {
    "w1": "spawn_join",
    "w2": "yield_round_robin",
    "w3": "queue_pingpong",
    "w4": "semaphore_fanout",
    "w5": "timers",
    "w6": "tcp_echo",
}

# Canonical order: it fixes both the run order within a repetition and the
# column order of the table, whatever order --systems lists them in.
SYSTEM_ORDER = ["loopscope", "loopscope-traced", "loopscope-debug", "asyncio", "asyncio-debug",
                "asio"]

# --debug: each debug system and the normal system its time is divided by.
DEBUG_PAIRS = {"loopscope-debug": "loopscope", "asyncio-debug": "asyncio"}
DEBUG_WORKLOADS = "w1,w2,w3,w4"

# Settings that would change what a run measures; each run gets exactly the ones it needs.
MODE_VARIABLES = ("LOOPSCOPE_DEBUG", "LOOPSCOPE_DEBUG_ABORT", "LOOPSCOPE_TRACE", "LOOPSCOPE_LIVE",
                  "LOOPSCOPE_SLOW_CALLBACK_MS", "LOOPSCOPE_FANOUT_LIMIT", "PYTHONASYNCIODEBUG",
                  "PYTHONDEVMODE")
FINDING_PREFIX = "loopscope: warning: "

# loopscope-traced is loopscope_workloads with LOOPSCOPE_TRACE set: its ratio to loopscope is
# the cost of tracing. Its traces are written here, one per workload, and kept for a look.
TRACE_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "loopscope-compare-traces"
BASELINE = "loopscope"

REQUIRED_KEYS = ("system", "workload", "elapsed_s", "ops", "rate", "unit", "check", "ok")

# Far above any expected run (asyncio debug mode takes ~25 s on the slowest
# workload, and W6 has its own 120 s watchdog); only guards against a hang.
RUN_TIMEOUT_S = 600

MARK_BEGIN = "<!-- compare:begin -->"
MARK_END = "<!-- compare:end -->"
DEBUG_MARK_BEGIN = "<!-- debug:begin -->"
DEBUG_MARK_END = "<!-- debug:end -->"

MIN_VALID_REPS = 5  # WORKLOADS.md: at least 5 repetitions for a reported figure


class RunFailure(Exception):
    """A benchmark run that must abort the whole comparison."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run W1-W6 on loopscope, asyncio and Asio and compare them.")
    parser.add_argument("--build-dir", default="build/release",
                        help="CMake build directory holding bench/compare/ (default: %(default)s)")
    parser.add_argument("--workloads", default=None,
                        help="comma-separated workload ids (default: w1,w2,w3,w4,w5,w6; "
                             f"with --debug {DEBUG_WORKLOADS})")
    parser.add_argument("--reps", type=int, default=7,
                        help="repetitions per (workload, system) (default: %(default)s)")
    parser.add_argument("--systems", default="loopscope,asyncio,asio",
                        help="comma-separated systems among loopscope, asyncio, asio "
                             "(default: %(default)s)")
    parser.add_argument("--asyncio-debug", action="store_true",
                        help="also run asyncio in debug mode (asyncio.run(debug=True))")
    parser.add_argument("--traced", action="store_true",
                        help="also run loopscope with tracing on (LOOPSCOPE_TRACE)")
    parser.add_argument("--debug", action="store_true",
                        help="measure debug mode instead: loopscope with LOOPSCOPE_DEBUG=1 vs "
                             "loopscope, asyncio debug=True vs asyncio (Asio is left out)")
    parser.add_argument("--update", metavar="FILE",
                        help="replace the compare:begin/end region of FILE with the table "
                             "(debug:begin/end with --debug)")
    parser.add_argument("--quick", action="store_true",
                        help="one repetition (CI smoke run); overrides --reps")
    args = parser.parse_args(argv)

    if args.workloads is None:
        args.workloads = DEBUG_WORKLOADS if args.debug else ",".join(WORKLOAD_NAMES)
    args.workloads = split_list(args.workloads)
    bad = [w for w in args.workloads if w not in WORKLOAD_NAMES]
    if bad or not args.workloads:
        parser.error(f"--workloads: unknown id(s) {bad or '(empty)'}; "
                     f"choose from {','.join(WORKLOAD_NAMES)}")

    systems = split_list(args.systems)
    bad = [s for s in systems if s not in ("loopscope", "asyncio", "asio")]
    if bad:
        parser.error(f"--systems: unknown system(s) {bad}; choose from loopscope,asyncio,asio")
    if BASELINE not in systems:
        parser.error("--systems must include loopscope: every ratio is relative to it")
    if args.debug:
        if args.traced or args.asyncio_debug:
            parser.error("--debug is a run of its own: leave out --traced and --asyncio-debug")
        # Each normal system with its debug twin; Asio has no debug mode.
        systems = [s for s in systems if s != "asio"]
        systems += [debug for debug, normal in DEBUG_PAIRS.items() if normal in systems]
    if args.asyncio_debug:
        systems.append("asyncio-debug")
    if args.traced:
        systems.append("loopscope-traced")
    args.systems = [s for s in SYSTEM_ORDER if s in systems]

    if args.quick:
        args.reps = 1
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def split_list(text):
    return [item.strip().lower() for item in text.split(",") if item.strip()]


def system_command(system, build_dir, workload):
    """Returns the argv for one run, or None if that system's program is not built."""
    if system in ("loopscope", "loopscope-traced", "loopscope-debug", "asio"):
        program = "asio" if system == "asio" else "loopscope"
        exe = build_dir / "bench" / "compare" / f"{program}_workloads"
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            return None
        return [str(exe), workload]
    if not ASYNCIO_SCRIPT.is_file():
        return None
    # The runner's own interpreter, so the reported Python version is the one measured.
    cmd = [sys.executable, str(ASYNCIO_SCRIPT), workload]
    if system == "asyncio-debug":
        cmd.append("--debug")
    return cmd


def trace_path(workload):
    return TRACE_DIR / f"{workload}.lstrace"


def run_environment(system, workload):
    """The runner's environment without any mode setting, plus the one `system` needs."""
    env = {k: v for k, v in os.environ.items() if k not in MODE_VARIABLES}
    if system == "loopscope-traced":
        TRACE_DIR.mkdir(parents=True, exist_ok=True)
        env["LOOPSCOPE_TRACE"] = str(trace_path(workload))
    if system == "loopscope-debug":
        env["LOOPSCOPE_DEBUG"] = "1"
    return env


def count_findings(system, rec, stderr):
    """{kind: count} of the findings a run reported (loopscope: on stderr; asyncio: in its
    JSON line, as one kind)."""
    if system.startswith("loopscope"):
        kinds = Counter()
        for line in stderr.splitlines():
            if line.startswith(FINDING_PREFIX):
                kinds[line[len(FINDING_PREFIX):].split(":", 1)[0]] += 1
        return kinds
    count = rec.get("findings", 0)
    return Counter({"logged": count}) if isinstance(count, int) and count > 0 else Counter()


def run_once(system, cmd, workload):
    """Runs one fresh process and returns its parsed JSON line; raises RunFailure.

    The line gets a "_findings" entry: what count_findings() saw. Findings never fail a run.
    """
    where = f"{workload} / {system}: `{shlex.join(cmd)}`"
    env = run_environment(system, workload)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              env=env)
    except subprocess.TimeoutExpired:
        raise RunFailure(f"{where} did not finish within {RUN_TIMEOUT_S} s")
    except OSError as exc:
        raise RunFailure(f"{where} could not be started: {exc}")

    def details():
        # Debug-mode asyncio can write a lot to stderr; the tail holds the error.
        err = proc.stderr.strip().splitlines()[-20:]
        return (f"\n  exit code: {proc.returncode}\n  stdout: {proc.stdout.strip()!r}"
                + "".join(f"\n  stderr: {line}" for line in err))

    records = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    if proc.returncode != 0:
        raise RunFailure(f"{where} exited with status {proc.returncode}{details()}")
    if len(records) != 1:
        raise RunFailure(f"{where} printed {len(records)} JSON lines, expected 1{details()}")
    rec = records[0]
    missing = [k for k in REQUIRED_KEYS if k not in rec]
    if missing:
        raise RunFailure(f"{where} JSON lacks {missing}{details()}")
    if rec["ok"] is not True:
        raise RunFailure(f"{where} failed its check (check={rec['check']}){details()}")
    # Guards against a program silently running a different workload or mode.
    # Accepts the short id ("w1") or a long form starting with it ("W1 spawn_join").
    reported_wl = str(rec["workload"]).lower().split()
    if reported_wl[:1] != [workload]:
        raise RunFailure(f"{where} reported workload {rec['workload']!r}{details()}")
    reported_sys = str(rec["system"])
    expected_sys = "loopscope" if system.startswith("loopscope") else system
    if reported_sys != expected_sys and not reported_sys.startswith(expected_sys + " "):
        raise RunFailure(f"{where} reported system {reported_sys!r}{details()}")
    for key in ("elapsed_s", "rate"):
        value = rec[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise RunFailure(f"{where} reported {key}={value!r}{details()}")
    rec["_findings"] = count_findings(system, rec, proc.stderr)
    return rec


def run_workload(workload, systems, build_dir, reps):
    """Returns {system: [elapsed_s per rep]}, {system: label}, {system: [ratio per rep]} and
    {system: Counter of findings per run, the most seen in any repetition}."""
    commands = {}
    for system in systems:
        cmd = system_command(system, build_dir, workload)
        if cmd is None:
            if system == BASELINE:
                raise RunFailure("loopscope program disappeared during the comparison")
            continue  # optional system, already warned about in main()
        commands[system] = cmd

    elapsed = {s: [] for s in commands}
    labels = {}
    ratios = {s: [] for s in commands if s != BASELINE}
    findings = {s: Counter() for s in commands}
    for rep in range(reps):
        # All systems run back to back inside one repetition so that each ratio
        # compares runs made under the same machine conditions. Odd repetitions run them
        # in reverse order, so no system always runs first (a run right after another
        # finds caches, page tables and the CPU's clock in a different state).
        this_rep = {}
        order = list(commands.items())
        if rep % 2 == 1:
            order.reverse()
        for system, cmd in order:
            rec = run_once(system, cmd, workload)
            this_rep[system] = rec["elapsed_s"]
            findings[system] |= rec["_findings"]
            labels[system] = system if system.startswith("loopscope") else rec["system"]
            progress(f"{workload} rep {rep + 1}/{reps} {system:<15} "
                     f"{fmt_ms(rec['elapsed_s'])}  {rec['rate']:.4g} {rec['unit']}")
        for system, value in this_rep.items():
            elapsed[system].append(value)
            if system != BASELINE:
                ratios[system].append(value / this_rep[BASELINE])
    return elapsed, labels, ratios, findings


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def warn(msg):
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def fmt_num(value):
    """Three significant figures, which is about what run-to-run noise allows."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ms(seconds):
    return f"{fmt_num(seconds * 1e3)} ms"


def fmt_cell(samples, label, system):
    ms = [s * 1e3 for s in samples]
    cell = f"{fmt_num(statistics.median(ms))} ms ({fmt_num(min(ms))}-{fmt_num(max(ms))})"
    # A program may qualify its figure (e.g. "asio (emulated sem.)"); keep that visible.
    if label != system:
        cell += ", " + label[len(system):].strip().strip("()")
    return cell


def fmt_ratio(ratios):
    return f"{fmt_num(statistics.median(ratios))}x"


def first_line_of(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = out.strip().splitlines()
    return lines[0] if lines else "unknown"


def cxx_compiler(build_dir):
    """The compiler the build directory was configured with, falling back to g++."""
    cache = build_dir / "CMakeCache.txt"
    try:
        for line in cache.read_text(errors="replace").splitlines():
            if line.startswith("CMAKE_CXX_COMPILER:"):
                return line.split("=", 1)[1].strip() or "g++"
    except OSError:
        pass
    return "g++"


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_count():
    # Matches `nproc`: the CPUs this process may actually run on.
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 0


def machine_info(build_dir):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Machine: {cpu_model()}, nproc {cpu_count()}, {date}, "
            f"Python {platform.python_version()}, "
            f"{first_line_of([cxx_compiler(build_dir), '--version'])}")


def build_report(args, build_dir, results):
    shown = [s for s in args.systems if any(s in r[0] for r in results.values())]
    others = [s for s in shown if s != BASELINE]
    header = ["workload", "loopscope (median ms, min-max)"] + others
    header += [f"{s} / loopscope" for s in others]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for workload, (elapsed, labels, ratios, _) in results.items():
        row = [f"{workload} {WORKLOAD_NAMES[workload]}",
               fmt_cell(elapsed[BASELINE], labels[BASELINE], BASELINE)]
        for s in others:
            row.append(fmt_cell(elapsed[s], labels[s], s) if s in elapsed else "n/a")
        for s in others:
            row.append(fmt_ratio(ratios[s]) if s in ratios else "n/a")
        lines.append("| " + " | ".join(row) + " |")

    if "loopscope-traced" in shown:
        lines += trace_size_table(build_dir, list(results))

    reps_note = f"{args.reps} repetition{'s' if args.reps != 1 else ''}"
    if args.reps < MIN_VALID_REPS:
        reps_note += f" (fewer than {MIN_VALID_REPS}: smoke run, not a reportable figure)"
    lines += [
        "",
        f"Elapsed in ms: median (min-max) over {reps_note}, each run a fresh process. "
        "Ratios = median over repetitions of (system elapsed / loopscope elapsed) for runs "
        "made back to back, in alternating order; above 1 means loopscope is faster.",
        "",
        machine_info(build_dir),
        "",
        "Command: `python3 " + shlex.join(sys.argv) + "`",
    ]
    return "\n".join(lines) + "\n"


def fmt_findings(counter):
    if not counter:
        return "none"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counter.items()))


def pair_ratios(elapsed, debug, normal):
    """Per-repetition debug/normal ratios (both ran back to back in each repetition)."""
    return [d / n for d, n in zip(elapsed[debug], elapsed[normal])]


def build_debug_report(args, build_dir, results):
    """The --debug table: each debug system next to its normal twin, and their ratio."""
    pairs = [(d, n) for d, n in DEBUG_PAIRS.items() if d in args.systems]
    header = ["workload"]
    for debug, normal in pairs:
        header += [f"{normal} (median ms, min-max)", debug, f"{debug} / {normal}"]
    header += [f"{debug} findings per run" for debug, _ in pairs]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for workload, (elapsed, labels, _, findings) in results.items():
        row = [f"{workload} {WORKLOAD_NAMES[workload]}"]
        for debug, normal in pairs:
            if debug in elapsed and normal in elapsed:
                row += [fmt_cell(elapsed[normal], labels[normal], normal),
                        fmt_cell(elapsed[debug], labels[debug], debug),
                        fmt_ratio(pair_ratios(elapsed, debug, normal))]
            else:
                row += ["n/a"] * 3
        row += [fmt_findings(findings[d]) if d in findings else "n/a" for d, _ in pairs]
        lines.append("| " + " | ".join(row) + " |")

    reps_note = f"{args.reps} repetition{'s' if args.reps != 1 else ''}"
    if args.reps < MIN_VALID_REPS:
        reps_note += f" (fewer than {MIN_VALID_REPS}: smoke run, not a reportable figure)"
    lines += [
        "",
        f"Elapsed in ms: median (min-max) over {reps_note}, each run a fresh process. "
        "Ratios = median over repetitions of (debug elapsed / normal elapsed) for runs made "
        "back to back, in alternating order. loopscope-debug is the same binary run with LOOPSCOPE_DEBUG=1; "
        "asyncio-debug is asyncio.run(..., debug=True), its log records counted, not printed. "
        "Findings: the `loopscope: warning:` lines on stderr by kind, and asyncio's logged "
        "warnings. They do not fail a run: W1 and W4 spawn 100,000 tasks from one site "
        "(unbounded_fanout), and on a busy machine the step that spawns them can pass the "
        "100 ms slow-callback threshold.",
        "",
        machine_info(build_dir),
        "",
        "Command: `python3 " + shlex.join(sys.argv) + "`",
    ]
    return "\n".join(lines) + "\n"


def trace_size_table(build_dir, workloads):
    """Bytes per event of the last traced run of each workload, read with loopscope report."""
    cli = build_dir / "viewer" / "loopscope"
    lines = ["", "| workload | trace events | trace bytes | bytes/event |", "|---|---|---|---|"]
    for workload in workloads:
        path = trace_path(workload)
        if not (cli.is_file() and path.is_file()):
            continue
        out = subprocess.run([str(cli), "report", "--json", str(path)], capture_output=True,
                             text=True, timeout=RUN_TIMEOUT_S)
        if out.returncode != 0:
            raise RunFailure(f"loopscope report failed on {path}: {out.stderr.strip()}")
        events = json.loads(out.stdout)["events"]
        size = path.stat().st_size
        per_event = size / events if events else 0
        lines.append(f"| {workload} {WORKLOAD_NAMES[workload]} | {events} | {size} | "
                     f"{per_event:.2f} |")
    return lines


def read_update_target(path, markers=(MARK_BEGIN, MARK_END)):
    """Returns (text or None if missing, begin, end) and rejects a malformed marker region.

    Called once before any run so a bad file fails fast, and again when writing.
    """
    mark_begin, mark_end = markers
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, -1, -1
    except OSError as exc:
        raise RunFailure(f"cannot read {path}: {exc}")
    begin = text.find(mark_begin)
    end = text.find(mark_end)
    if (begin == -1) != (end == -1) or end < begin or text.count(mark_begin) > 1 \
            or text.count(mark_end) > 1:
        # Guessing where a malformed region ends could delete real content.
        raise RunFailure(f"{path}: expected exactly one {mark_begin} followed by one "
                         f"{mark_end} (or neither); fix the markers by hand")
    return text, begin, end


def update_file(path, report, markers=(MARK_BEGIN, MARK_END)):
    """Replaces the marker region of path with report (adding markers/file as needed)."""
    mark_begin, mark_end = markers
    block = f"{mark_begin}\n{report}{mark_end}"
    text, begin, end = read_update_target(path, markers)
    if text is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        new_text = block + "\n"
    elif begin == -1:
        # Append as its own paragraph so Markdown does not glue it to the last line.
        body = text.rstrip("\n")
        new_text = (body + "\n\n" if body else "") + block + "\n"
    else:
        new_text = text[:begin] + block + text[end + len(mark_end):]
    path.write_text(new_text, encoding="utf-8")


def main(argv):
    args = parse_args(argv)
    build_dir = Path(args.build_dir)
    if args.reps < MIN_VALID_REPS and not args.quick:
        warn(f"--reps {args.reps} is below the {MIN_VALID_REPS} repetitions WORKLOADS.md asks for")

    if system_command(BASELINE, build_dir, "w1") is None:
        print(f"run_compare: FAILED: loopscope program not found at "
              f"{build_dir / 'bench/compare/loopscope_workloads'} "
              "(build the loopscope_workloads target first)", file=sys.stderr)
        return 1
    # Announce missing optional programs once, before spending minutes on runs.
    for system in args.systems:
        if system != BASELINE and system_command(system, build_dir, "w1") is None:
            where = ASYNCIO_SCRIPT if system.startswith("asyncio") else (
                build_dir / "bench" / "compare" / f"{system}_workloads")
            warn(f"{system} program not found at {where}, skipping it")

    markers = (DEBUG_MARK_BEGIN, DEBUG_MARK_END) if args.debug else (MARK_BEGIN, MARK_END)
    results = {}
    try:
        if args.update:
            read_update_target(Path(args.update), markers)
        for workload in args.workloads:
            results[workload] = run_workload(workload, args.systems, build_dir, args.reps)
        report = (build_debug_report if args.debug else build_report)(args, build_dir, results)
        print(report, end="")
        if args.update:
            update_file(Path(args.update), report, markers)
            progress(f"updated {args.update}")
    except RunFailure as exc:
        print(f"run_compare: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
