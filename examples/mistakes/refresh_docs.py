#!/usr/bin/env python3
"""Pastes the real output of the mistake examples into docs/debug-mode.md.

Each `<!-- output:KIND -->` ... `<!-- /output:KIND -->` region of the document is
replaced by the KIND findings that <build-dir>/examples/mistakes/KIND prints on stderr
when run with LOOPSCOPE_DEBUG=1: the `loopscope: warning: KIND:` lines and their `    at`
frames, with the source directory cut from the paths (they are printed absolute). Findings
of other kinds are left out: on a busy machine a run may also report, say, a slow step.

    python3 examples/mistakes/refresh_docs.py --build-dir build/release

Only the standard library is used.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[2]
REGION = re.compile(r"(<!-- output:([a-z_]+) -->\n)(.*?)(<!-- /output:\2 -->)", re.DOTALL)
TIMEOUT_S = 30


def findings_of(program, kind):
    env = dict(os.environ, LOOPSCOPE_DEBUG="1")
    env.pop("LOOPSCOPE_DEBUG_ABORT", None)
    proc = subprocess.run([str(program)], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S)
    lines = []
    keep = False
    for line in proc.stderr.splitlines():
        if line.startswith("loopscope: warning: "):
            keep = line.startswith(f"loopscope: warning: {kind}: ")
        elif not line.startswith("    at "):
            keep = False
        if keep:
            lines.append(line)
    text = "\n".join(lines).replace(f"{SOURCE_DIR}/", "")
    return text or f"(no {kind} finding)"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default="build/release")
    parser.add_argument("--docs", default=str(SOURCE_DIR / "docs" / "debug-mode.md"))
    args = parser.parse_args(argv)
    programs = Path(args.build_dir) / "examples" / "mistakes"
    docs = Path(args.docs)
    text = docs.read_text(encoding="utf-8")

    def replace(match):
        program = programs / match.group(2)
        if not program.is_file():
            raise SystemExit(f"refresh_docs: {program} is not built")
        return f"{match.group(1)}```text\n{findings_of(program, match.group(2))}\n```\n{match.group(4)}"

    new_text, count = REGION.subn(replace, text)
    docs.write_text(new_text, encoding="utf-8")
    print(f"refresh_docs: {count} output region(s) of {docs} refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
