"""The fuzz targets of tests/fuzz/, built with a plain main (replay.c) and ASan
+ UBSan: the seeds, the regressions and fixed pseudo-random inputs replayed
through each; and the read_line target catches the known read_line bugs."""

import subprocess

import pytest

from conftest import KIT, PROGRAMS

FUZZ = KIT / "tests" / "fuzz"
OUT = KIT / "build" / "fuzz-replay"
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.c"))
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
CFLAGS = ["-std=c17", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-U_FORTIFY_SOURCE", *SANITIZE]
# The known-bug frame.c files whose read_line() gives wrong results: the
# target must catch each (the others are bugs of line-echo.c, or of memory use).
READ_LINE_BUGS = [
    "05-framing-eintr-not-retried",
    "05-framing-eof-returns-tail",
    "05-framing-keeps-cr",
    "05-framing-no-resync",
    "05-framing-one-line-per-recv",
    "05-framing-recv-unbounded",
    "05-framing-toolong-at-newline",
]


def build(name, output, *defines):
    output.parent.mkdir(parents=True, exist_ok=True)
    command = ["cc", *CFLAGS, *defines, "-o", str(output), str(FUZZ / f"fuzz_{name}.c"), str(FUZZ / "replay.c")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{' '.join(command)}\n{run.stdout}{run.stderr}"
    return output


def replay(binary, name):
    inputs = [FUZZ / "corpus" / name, FUZZ / "regressions" / name]
    command = [str(binary), *(str(p) for p in inputs if p.is_dir()), "--random", "20000", "1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", TARGETS)
def test_target_replays_its_corpus_without_a_crash(name):
    binary = build(name, OUT / f"replay_{name}")
    seeds = list((FUZZ / "corpus" / name).iterdir())
    assert len(seeds) >= 5, f"tests/fuzz/corpus/{name} needs seeds"
    assert all(s.stat().st_size <= 4096 for s in seeds), "seeds stay small"
    run = replay(binary, name)
    assert run.returncode == 0, f"{name}:\n{run.stdout}{run.stderr[-6000:]}"
    regressions = [p for p in (FUZZ / "regressions" / name).iterdir() if not p.name.startswith(".")]
    assert f"replayed {len(seeds) + len(regressions) + 20000} inputs" in run.stdout, run.stdout


@pytest.mark.parametrize("bug", READ_LINE_BUGS)
def test_read_line_target_catches_a_known_bug(bug):
    frame = PROGRAMS / "bugs" / bug / "frame.c"
    binary = build("read_line", OUT / f"replay_read_line_{bug}", f'-DFRAME_C="{frame}"')
    run = replay(binary, "read_line")
    assert run.returncode != 0, f"the read_line target did not catch {bug}:\n{run.stdout}"
    assert "invariant broken" in run.stderr or "ERROR: AddressSanitizer" in run.stderr, run.stderr[-3000:]


def test_every_target_has_a_seed_corpus_and_a_regressions_folder():
    for name in TARGETS:
        assert (FUZZ / "corpus" / name).is_dir(), name
        assert (FUZZ / "regressions" / name).is_dir(), name
