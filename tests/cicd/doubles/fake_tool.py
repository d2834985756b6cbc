#!/usr/bin/python3
"""A scripted test double for helm, kubectl and scripts/smoke.sh.

The tool it stands for is its file name (the tests link `helm`, `kubectl` and `smoke` to it).
Every call must be the next one the scenario expects, with exactly the same arguments;
anything else -- an unexpected tool, an extra or missing argument, a call after the script ran
out -- is written to errors.txt, reported on stderr and answered with exit status 97, and the
test fails on it. Nothing here talks to a cluster: there is none on this machine.

State lives in $FAKE_STATE (a directory the test creates):
  script.json   [{"tool", "argv", "stdout", "stderr", "exit", "hold"}, ...] in call order
  cursor        index of the next expected call
  calls.jsonl   one line per call received: tool, argv, matched
  errors.txt    one line per mismatch
A "hold" call prints its stdout and then waits for SIGTERM/SIGINT, like `kubectl port-forward`.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from pathlib import Path

UNEXPECTED = 97
HOLD_LIMIT_SECONDS = 120


def main(tool: str | None = None) -> int:
    tool = tool or Path(sys.argv[0]).name
    argv = sys.argv[1:]
    state = os.environ.get("FAKE_STATE")
    if not state:
        print(f"test double {tool}: FAKE_STATE is not set", file=sys.stderr)
        return UNEXPECTED
    state_dir = Path(state)
    with open(state_dir / "lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        script = json.loads((state_dir / "script.json").read_text())
        cursor_file = state_dir / "cursor"
        index = int(cursor_file.read_text()) if cursor_file.exists() else 0
        expected = script[index] if index < len(script) else None
        matched = (expected is not None and expected["tool"] == tool
                   and expected["argv"] == argv)
        with open(state_dir / "calls.jsonl", "a") as log:
            log.write(json.dumps({"tool": tool, "argv": argv, "matched": matched}) + "\n")
        if not matched:
            if expected is None:
                why = (f"call #{index + 1} is unexpected (the script has {len(script)} calls): "
                       f"{tool} {argv}")
            else:
                why = (f"call #{index + 1}: expected {expected['tool']} {expected['argv']}, "
                       f"got {tool} {argv}")
            with open(state_dir / "errors.txt", "a") as errors:
                errors.write(why + "\n")
            print(f"test double {tool}: {why}", file=sys.stderr)
            return UNEXPECTED
        cursor_file.write_text(str(index + 1))

    sys.stdout.write(expected.get("stdout", ""))
    sys.stdout.flush()
    sys.stderr.write(expected.get("stderr", ""))
    sys.stderr.flush()
    if expected.get("hold"):
        stop = {"now": False}

        def on_signal(_signum, _frame):
            stop["now"] = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        while not stop["now"]:
            if time.monotonic() > deadline:
                with open(state_dir / "errors.txt", "a") as errors:
                    errors.write(f"{tool} {argv}: held for {HOLD_LIMIT_SECONDS} s, never stopped\n")
                return UNEXPECTED
            time.sleep(0.05)
        return 0
    return int(expected.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
