#!/usr/bin/env python3
"""Runs an example in debug mode and checks the findings it prints on stderr.

    check_finding.py --kind KIND --source FILE -- PROGRAM [ARGS...]
        passes if the program exits 0 and reports a KIND finding, one of whose
        `    at <function> (<file>:<line>)` frames is in FILE (the example's source);
    check_finding.py --none -- PROGRAM [ARGS...]
        passes if the program exits 0 and reports no finding at all.

The program runs with LOOPSCOPE_DEBUG=1. Only the standard library is used.
"""

import argparse
import os
import re
import subprocess
import sys

HEADER = re.compile(r"^loopscope: warning: ([a-z_]+): (.*)$")
FRAME = re.compile(r"^    at (.*) \((.+):(\d+)\)$")
TIMEOUT_S = 30


def parse_findings(stderr):
    """Returns [(kind, message, [(function, file, line)])] in the order printed."""
    findings = []
    for line in stderr.splitlines():
        header = HEADER.match(line)
        if header:
            findings.append((header.group(1), header.group(2), []))
            continue
        frame = FRAME.match(line)
        if frame and findings:
            findings[-1][2].append((frame.group(1), frame.group(2), int(frame.group(3))))
    return findings


def same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normpath(a) == os.path.normpath(b)


def check(args, returncode, findings):
    """Returns the reason the run fails, or None."""
    if returncode != 0:
        return f"exit status {returncode}, expected 0"
    if args.none:
        if findings:
            return f"{len(findings)} finding(s) where none was expected"
        return None
    of_kind = [f for f in findings if f[0] == args.kind]
    if not of_kind:
        kinds = sorted({f[0] for f in findings}) or ["none"]
        return f"no {args.kind} finding (got: {', '.join(kinds)})"
    for _, _, frames in of_kind:
        if any(same_file(path, args.source) for _, path, _ in frames):
            return None
    return f"no frame of the {args.kind} finding is in {args.source}"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--kind", help="the finding the program must report")
    what.add_argument("--none", action="store_true", help="the program must report nothing")
    parser.add_argument("--source", help="the example's source file (with --kind)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no program given")
    if args.kind and not args.source:
        parser.error("--kind needs --source")

    env = dict(os.environ, LOOPSCOPE_DEBUG="1")
    env.pop("LOOPSCOPE_DEBUG_ABORT", None)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"check_finding: FAILED: {exc}", file=sys.stderr)
        return 1
    findings = parse_findings(proc.stderr)
    reason = check(args, proc.returncode, findings)
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr)
    if reason:
        print(f"check_finding: FAILED: {reason}")
        return 1
    print("check_finding: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
