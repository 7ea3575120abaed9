"""`make grade` ends with the student's progress: each step done / current /
started / not started, its points and a bar, and the next step to do."""

import io
import re
import shutil
import subprocess

from conftest import KIT, registry
from grader import report, runner
from grader.engine import Outcome

STEPS = registry.STEPS[:4]


def fake(scores):
    """A Report where step i has two checks scoring scores[i] of 2 (points 10)."""
    result = runner.Report("fake", list(STEPS))
    for step, got in zip(STEPS, scores):
        result.outcomes.append(Outcome(step, 0, "builds with make", 0, got is not None))
        for index in (1, 2):
            passed = got is not None and got >= index
            result.outcomes.append(Outcome(step, index, f"check {index}", 1, passed, max_score=5, score=5 if passed else 0))
    return result


class Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self):
        return True


def states(result):
    return [state for _, state, _, _ in report.step_states(result)]


def test_done_current_started_not_started():
    result = fake([2, 1, 1, 0])
    assert states(result) == ["done", "current", "started", "not started"]
    out = io.StringIO()
    assert report.progress(result, stream=out) is STEPS[1]
    text = out.getvalue()
    assert re.search(r"01-client +done +10 / 10", text)
    assert re.search(r"02-server +current +5 / 10", text)
    assert re.search(r"04-chat-server +not started +0 / 10", text)
    assert f"Next: {STEPS[1].folder}" in text and "make watch STEP=02" in text
    assert "20 / 40 points" in text


def test_a_missing_folder_or_a_zero_score_is_not_started_and_the_first_is_next():
    result = fake([None, 0, 0, 0])
    assert states(result) == ["not started"] * 4
    out = io.StringIO()
    assert report.progress(result, stream=out) is STEPS[0]


def test_every_step_done():
    out = io.StringIO()
    assert report.progress(fake([2, 2, 2, 2]), stream=out) is None
    assert "Every step is done" in out.getvalue()


def test_colours_on_a_terminal_only(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    tty, pipe = Terminal(), io.StringIO()
    report.progress(fake([2, 1, 0, 0]), stream=tty)
    report.progress(fake([2, 1, 0, 0]), stream=pipe)
    assert "\033[32m" in tty.getvalue() and "█" in tty.getvalue()
    assert "\033[" not in pipe.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    no_color = Terminal()
    report.progress(fake([2, 1, 0, 0]), stream=no_color)
    assert "\033[" not in no_color.getvalue()


def test_make_grade_shows_the_progress_and_keeps_the_counts_last(tmp_path):
    submission = tmp_path / "work"
    shutil.copytree(KIT / "solutions" / "01-client", submission / "01-client", ignore=shutil.ignore_patterns("client", "*.o"))
    run = subprocess.run(
        ["make", "-s", "-C", str(KIT), "grade", f"SUBMISSION={submission}", f"OUT={tmp_path / 'out'}", "VALGRIND=0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^Progress ", run.stdout, re.M)
    assert re.search(r"01-client +done +10 / 10", run.stdout)
    assert re.search(r"02-server +not started +0 / 10", run.stdout)
    assert "Next: 02-server" in run.stdout
    assert "\033[" not in run.stdout
    assert re.match(r"^\d+ passed, \d+ failed$", run.stdout.strip().splitlines()[-1])
