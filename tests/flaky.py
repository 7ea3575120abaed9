"""The flake hunt (`make flaky RUNS=N [LOAD=1]`): grade the reference solutions
N times in a row, each time by a grader process of its own (valgrind on, as
`make grade`), optionally with a CPU hog on every core beside it, and report
every check that ever failed: how often, and the first failure's output.

A flake is fixed at its root (a missing deadline, a race on a port, a read
that assumed one segment), never by raising a sleep or a timeout.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent


def start_hogs():
    """One busy process per core, in a session of its own: the machine is full."""
    count = os.cpu_count() or 1
    hog = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", hog], start_new_session=True) for _ in range(count)]


def stop_hogs(hogs):
    for hog in hogs:
        try:
            os.killpg(hog.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        hog.wait()


def grade_once(submission, out, steps, env):
    """One grading of the solutions; (results.json's tests, seconds, trouble)."""
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "grader", "grade", "--submission", str(submission), "--out", str(out), "--quiet"]
    for step in steps:
        command += ["--step", step]
    started = time.monotonic()
    run = subprocess.run(command, cwd=KIT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    try:
        tests = json.loads((out / "results.json").read_text())["tests"]
    except (OSError, ValueError, KeyError) as error:
        return [], seconds, f"no results.json ({error}); grader exit {run.returncode}:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    return tests, seconds, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--load", action="store_true", help="a CPU hog on every core while grading")
    parser.add_argument("--out", default=str(KIT / "build" / "flaky"))
    parser.add_argument("--step", action="append", default=[], help="only this step (repeatable)")
    parser.add_argument("--submission", default=str(KIT / "solutions"), help="what is graded (the kit's self-test: a failing one)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    env = dict(os.environ)
    hogs = start_hogs() if args.load else []
    failures = {}  # check -> [count, first run, first output]
    troubles = []
    load = f", {len(hogs)} CPU hogs beside it" if hogs else ""
    print(f"socklab flake hunt: grading {args.submission} {args.runs} times{load}", flush=True)
    started = time.monotonic()
    try:
        for run in range(1, args.runs + 1):
            tests, seconds, trouble = grade_once(args.submission, out / f"run-{run}", args.step, env)
            if trouble:
                troubles.append((run, trouble))
            failed = [t for t in tests if t.get("status") != "passed"]
            for test in failed:
                seen = failures.setdefault(test["name"], [0, run, test.get("output", "")])
                seen[0] += 1
            score = sum(t.get("score", 0) for t in tests)
            total = sum(t.get("max_score", 0) for t in tests)
            said = f"{len(failed)} failed: " + "; ".join(t["name"] for t in failed) if failed else "all passed"
            print(f"run {run:>3}/{args.runs}: {score:g}/{total:g} in {seconds:.0f} s, {said}{' (grader trouble)' if trouble else ''}", flush=True)
    finally:
        stop_hogs(hogs)
    minutes = (time.monotonic() - started) / 60
    print(f"\n{args.runs} runs in {minutes:.1f} min{load}: {len(failures)} check(s) failed at least once")
    for name, (count, first, output) in sorted(failures.items(), key=lambda kv: -kv[1][0]):
        print(f"\n  {count}/{args.runs}  {name}   (first in run {first}: {out}/run-{first}/results.json)")
        print("\n".join("      " + line for line in output.splitlines()[:40]))
    for run, trouble in troubles:
        print(f"\n  run {run}: the grading itself failed: {trouble}")
    return 1 if failures or troubles else 0


if __name__ == "__main__":
    sys.exit(main())
