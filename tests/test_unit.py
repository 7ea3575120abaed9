"""The cmocka unit tests of tests/unit/, built and run; each binary is one test."""

import fcntl
import subprocess

import pytest

from conftest import KIT

UNIT = KIT / "tests" / "unit"
OUT = KIT / "build" / "unit"
SOURCES = sorted(UNIT.glob("test_*.c"))


@pytest.fixture(scope="module")
def built():
    # One make at a time across the parallel workers: two at once relink a
    # binary that the other is running ("Text file busy" on a fresh clone).
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = subprocess.run(["make", "-s", "-C", str(UNIT), f"OUT={OUT}"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"the unit tests do not build:\n{run.stdout}{run.stderr}"
    return OUT


@pytest.mark.parametrize("source", [pytest.param(s, id=s.stem) for s in SOURCES])
def test_cmocka_suite_passes(built, source):
    run = subprocess.run([str(built / source.stem)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{source.name}:\n{run.stdout}{run.stderr}"
    assert "[  PASSED  ]" in run.stdout + run.stderr
