"""A time budget: what is not graded in time scores 0 and says why; the report
written after each step survives a grading that is killed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from conftest import KIT, registry, runner

STEP01, STEP02 = registry.find("01"), registry.find("02")


def solutions(tmp_path, *steps):
    for step in steps:
        shutil.copytree(KIT / "solutions" / step.folder, tmp_path / step.folder)
    return tmp_path


def test_what_starts_after_the_budget_is_not_graded_and_says_why(tmp_path):
    report = runner.grade(solutions(tmp_path, STEP01, STEP02), [STEP01, STEP02], budget=0.001)
    assert report.score == 0
    assert len(report.outcomes) == 2 + len(runner.checks_of(STEP01)) + len(runner.checks_of(STEP02))
    for o in report.outcomes:
        assert not o.passed and "time budget of 0.001 s ran out" in o.output, o.output
    assert round(sum(o.max_score for o in report.outcomes), 2) == STEP01.points + STEP02.points  # shares of 2 decimals: their float sum is not exact


def test_a_checkpoint_after_each_step_counts_the_steps_graded(tmp_path):
    seen = []
    report = runner.grade(solutions(tmp_path, STEP01), [STEP01, STEP02], checkpoint=seen.append)
    assert len(seen) == 2
    first, last = seen
    assert [o.score for o in first.of_step(STEP01)] == [o.score for o in report.of_step(STEP01)]
    assert first.score == STEP01.points  # step 01 graded: full marks so far
    (missing,) = first.of_step(STEP02)  # step 02 not yet: one failed placeholder worth its points
    assert not missing.passed and missing.max_score == STEP02.points and "not graded" in missing.output
    assert last.max_score == report.max_score and last.score == report.score


def test_a_grading_killed_midway_leaves_the_report_of_the_steps_before(tmp_path):
    """Step 01 graded, then step 02's build never ends: the platform's timeout
    kills the grader; results.json counts step 01 and says why 02 is missing."""
    sub = solutions(tmp_path / "sub", STEP01)
    (sub / STEP02.folder).mkdir()
    (sub / STEP02.folder / "Makefile").write_text("server:\n\tsleep 600\n")
    out = tmp_path / "out"
    env = dict(os.environ, SOCKLAB_VALGRIND="0")
    grader = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", "--submission", str(sub), "--out", str(out), "--step", "01", "--step", "02"],
        cwd=KIT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / "results.json").is_file() and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.1)
        assert (out / "results.json").is_file(), "no report after step 01"
    finally:
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == STEP01.points
    (step02,) = [t for t in results["tests"] if STEP02.folder in t["tags"]]
    assert step02["status"] == "failed" and step02["max_score"] == STEP02.points and "not graded" in step02["output"]


def test_a_class_budget_keeps_the_steps_graded_before_it_ran_out(tmp_path):
    """Step 01 is correct, step 02's build never ends: past the class budget
    the student's grader is stopped, and step 01 keeps its points."""
    klass, out = tmp_path / "class", tmp_path / "out"
    solutions(klass / "ada", STEP01)
    (klass / "ada" / STEP02.folder).mkdir()
    (klass / "ada" / STEP02.folder / "Makefile").write_text("server:\n\tsleep 600\n")
    env = dict(os.environ, SOCKLAB_VALGRIND="0")
    command = [sys.executable, "-m", "grader", "class", str(klass), "--out", str(out), "--budget", "40", "--step", "01", "--step", "02"]
    done = subprocess.run(command, cwd=KIT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "ada" / "results.json").read_text())
    assert results["score"] == STEP01.points, results["output"]
    assert "time budget of 40 s" in results["output"] and "graded by then count" in results["output"]
    book = (out / "gradebook.csv").read_text().splitlines()
    assert book[1].startswith(f"ada,{STEP01.points},{STEP01.points + STEP02.points},{STEP01.points},0"), book
