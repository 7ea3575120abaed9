"""The make entry points, as a student or an instructor types them."""

import json
import re
import subprocess

from conftest import KIT, registry

FIRST = registry.STEPS[0]
COUNTS = re.compile(r"^\d+ passed, \d+ failed$")


def make(*args, env=None):
    return subprocess.run(["make", "-s", "-C", str(KIT), *args], capture_output=True, text=True, timeout=600, env=env)


def test_check_passes_on_the_solution_and_ends_with_the_counts(tmp_path):
    run = make("check", f"STEP={FIRST.number:02d}", "SUBMISSION=solutions", f"OUT={tmp_path}")
    assert run.returncode == 0, run.stdout + run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert COUNTS.match(last) and last.endswith(" 0 failed")


def test_check_fails_on_the_starter(tmp_path):
    run = make("check", f"STEP={FIRST.number:02d}", f"OUT={tmp_path}")
    assert run.returncode != 0
    assert "FAIL" in run.stdout and "verdict:" in run.stdout


def test_grade_writes_the_reports_where_out_says(tmp_path):
    run = make("grade", "SUBMISSION=solutions", f"OUT={tmp_path / 'reports'}")
    assert run.returncode == 0, run.stderr
    assert COUNTS.match(run.stdout.strip().splitlines()[-1])
    data = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert data["score"] == sum(step.points for step in registry.STEPS)
    assert (tmp_path / "reports" / "junit.xml").is_file()


def test_check_without_step_says_how_to_call_it():
    run = make("check")
    assert run.returncode != 0 and "usage: make check STEP=NN" in run.stderr


def test_hint_reveals_one_more_hint_each_time(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SOCKLAB_HINT_STATE": str(tmp_path / "hints.json")}
    first = make("hint", "STEP=1", env=env)
    second = make("hint", "STEP=1", env=env)
    assert f"hint 1 of" in first.stdout and "hint 2 of" not in first.stdout
    assert f"hint 2 of" in second.stdout
    every = make("hint", "STEP=1", "LEVEL=all", env=env)
    assert every.stdout.count("--- 01-client: hint") == len(FIRST.hints())


def test_unknown_step_is_a_clear_error():
    run = make("check", "STEP=42")
    assert run.returncode != 0 and "no step '42'" in run.stderr


def test_autolab_format_puts_the_scores_on_the_last_line(tmp_path):
    run = make("check", f"STEP={FIRST.number:02d}", "SUBMISSION=solutions", f"OUT={tmp_path}", "FORMAT=autolab", "VALGRIND=0")
    assert run.returncode == 0, run.stdout + run.stderr
    last = json.loads(run.stdout.strip().splitlines()[-1])
    assert last == {"scores": {FIRST.folder: FIRST.points}}
