"""The entry points of the robustness tools: `make flaky` (tests/flaky.py)
counts and shows every failure; `make fuzz` (tests/fuzz/run) runs each
libFuzzer target and prints its table (when clang has libFuzzer)."""

import os
import subprocess
import sys

import pytest

from conftest import KIT

ENV = dict(os.environ, SOCKLAB_VALGRIND="0")


def flaky(tmp_path, *args):
    command = [sys.executable, str(KIT / "tests" / "flaky.py"), "--runs", "2", "--step", "01", "--out", str(tmp_path), *args]
    return subprocess.run(command, cwd=KIT, env=ENV, capture_output=True, text=True, timeout=300)


def test_flake_hunt_of_the_solutions_finds_nothing(tmp_path):
    run = flaky(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "run   2/2: 10/10" in run.stdout
    assert "2 runs in" in run.stdout and "0 check(s) failed at least once" in run.stdout


def test_flake_hunt_counts_failures_and_shows_the_first(tmp_path):
    run = flaky(tmp_path, "--submission", str(KIT / "steps"))  # the starters fail every check
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2/2  01-client: prints a greeting sent whole   (first in run 1:" in run.stdout
    assert "[01-client] verdict:" in run.stdout


def libfuzzer():
    probe = "int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }"
    try:
        return subprocess.run(["clang", "-x", "c", "-fsanitize=fuzzer", "-o", "/dev/null", "-"], input=probe,
                              capture_output=True, text=True, timeout=60).returncode == 0  # fmt: skip
    except OSError:
        return False


@pytest.mark.skipif(not libfuzzer(), reason="clang with libFuzzer is not installed (apt-get install clang)")
def test_make_fuzz_runs_a_target_and_prints_its_table():
    run = subprocess.run([str(KIT / "tests" / "fuzz" / "run"), "2", "wp1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    row = next(line for line in run.stdout.splitlines() if line.startswith("wp1 "))
    name, executions, rate, crashes = row.split()
    assert int(executions) > 1000 and crashes == "0", row
