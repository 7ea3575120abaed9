"""Hints: `make hint STEP=NN` reveals one more each time and remembers;
LEVEL=all shows them all; a failed check names the hint that helps."""

import io
import json
import shutil
import subprocess

import pytest

from conftest import KIT, registry
from grader import engine, report, runner


def make_hint(*args, state):
    env = {"PATH": "/usr/bin:/bin", "SOCKLAB_HINT_STATE": str(state)}
    return subprocess.run(["make", "-s", "-C", str(KIT), "hint", *args], capture_output=True, text=True, timeout=60, env=env)


def test_hints_are_revealed_one_by_one_and_remembered(tmp_path):
    state = tmp_path / "hints.json"
    step = registry.find("02")
    total = len(step.hints())
    for n in range(1, total + 1):
        run = make_hint("STEP=02", state=state)
        assert f"--- {step.folder}: hint {n} of {total} ---" in run.stdout
        assert f"hint {n + 1} of" not in run.stdout
    assert "that was the last hint" in run.stdout
    again = make_hint("STEP=02", state=state)  # stays on the last one
    assert f"hint {total} of {total}" in again.stdout
    assert json.loads(state.read_text()) == {step.folder: total}
    every = make_hint("STEP=02", "LEVEL=all", state=state)
    assert every.stdout.count(f"--- {step.folder}: hint") == total
    other = make_hint("STEP=03", state=state)  # each step keeps its own place
    assert "hint 1 of" in other.stdout


STEPS = [pytest.param(step, id=step.folder) for step in registry.STEPS]


@pytest.mark.parametrize("step", STEPS)
def test_every_hint_a_check_names_exists(step):
    try:
        specs = runner.checks_of(step)
    except ImportError:
        pytest.fail(f"{step.folder}: no check module {step.module}")
    names = {path.stem for path in step.hints()}
    for spec in specs:
        assert spec.hint is None or str(spec.hint) in names, f"{step.folder}: {spec.name!r} names hint {spec.hint}, which does not exist"


def test_a_failed_check_says_which_hint_helps(tmp_path):
    step = registry.find("01")
    folder = tmp_path / step.folder
    folder.mkdir()
    shutil.copy(KIT / "solutions" / step.folder / "Makefile", folder)
    (folder / "client.c").write_text("int main(void) { return 0; }\n")  # connects to nothing, prints nothing
    build = subprocess.run(["make", "-s", "-C", str(folder)], capture_output=True, text=True, timeout=60)
    assert build.returncode == 0, build.stderr
    spec = next(s for s in runner.checks_of(step) if s.hint)
    outcome = engine.run_check(step, spec, 1, folder, tmp_path)
    assert not outcome.passed
    result = runner.Report("test", [step], [outcome])
    out = io.StringIO()
    report.console(result, stream=out)
    assert f"more help: make hint STEP=01  (hint {spec.hint} helps here)" in out.getvalue()
