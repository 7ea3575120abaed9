"""A check that could not run here is shown as skipped, with why and how to
run it; it is never said to pass. With VALGRIND=0 the memory check is not run
(its session is: a failure there still fails it); it counts neither as passed
nor as failed, and its step's points are shared among the checks that ran, as
for REMOTE (grader/remote.py). A script has no valgrind check (skipped); a
build with ASan (SOCKLAB_SANITIZE=1) checks its own memory (a pass there is
honest); a build that left ASan out is skipped."""

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import KIT, PROGRAMS, grade, install, registry
from grader import report, runner
from grader.engine import Outcome

STEP = registry.find("01")
LEAKS = PROGRAMS / "bugs" / "01-client-leaks-buffers.c"
OFF = "valgrind is off (VALGRIND=0); VALGRIND=1 runs it"
NOT_RUN = f"memory check (valgrind) was not run: {OFF}"
COUNTS = re.compile(r"^(\d+) passed, (\d+) failed$")


def submission(tmp_path, leaks):
    """Step 01 as a student hands it in: the reference, or one that leaks every buffer."""
    folder = tmp_path / "work"
    shutil.copytree(KIT / "solutions" / "01-client", folder / "01-client", ignore=shutil.ignore_patterns("client", "*.o"))
    if leaks:
        shutil.copy(LEAKS, folder / "01-client" / "client.c")
    return folder


def make(*args):
    return subprocess.run(["make", "-s", "-C", str(KIT), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("leaks", [False, True], ids=["solution", "leaks-buffers"])
def test_check_with_valgrind_off_shows_the_memory_check_skipped_and_scores_what_ran(tmp_path, leaks):
    out = tmp_path / "out"
    run = make("check", "STEP=01", f"SUBMISSION={submission(tmp_path, leaks)}", f"OUT={out}", "VALGRIND=0")
    assert run.returncode == 0, run.stdout + run.stderr  # nothing failed
    text = run.stdout
    assert "SKIP memory check (valgrind)" in text and "PASS memory check" not in text
    assert f"1 skipped: {NOT_RUN}" in text
    assert "Score: 10 / 10 (of the checks that ran)" in text
    ran = str(len(runner.checks_of(STEP)))  # the build and every check but the memory one
    assert COUNTS.match(text.strip().splitlines()[-1]).groups() == (ran, "0")  # the memory check is not among those passed
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == STEP.points and NOT_RUN in results["output"]
    assert not [t for t in results["tests"] if "memory" in t["name"]]  # worth 0, not run: not a test of the score
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(STEP.points)
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    memory = next(c for c in suite.findall("testcase") if c.get("name") == "memory check (valgrind)")
    assert memory.find("skipped").get("message") == OFF and suite.get("skipped") == "1" and suite.get("failures") == "0"


def test_check_with_valgrind_on_catches_the_leak_the_skip_hid(tmp_path):
    run = make("check", "STEP=01", f"SUBMISSION={submission(tmp_path, True)}", f"OUT={tmp_path / 'out'}", "VALGRIND=1")
    assert run.returncode != 0
    assert "FAIL memory check (valgrind)" in run.stdout and "memory leak: definitely lost" in run.stdout
    assert "skipped" not in run.stdout


@pytest.mark.parametrize("leaks", [False, True], ids=["solution", "leaks-buffers"])
def test_grade_with_valgrind_off_says_which_checks_were_not_run(tmp_path, leaks):
    run = make("grade", f"SUBMISSION={submission(tmp_path, leaks)}", f"OUT={tmp_path / 'out'}", "VALGRIND=0")
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    assert "SKIP memory check (valgrind)" in text and "PASS memory check" not in text
    assert f"1 skipped: {NOT_RUN}" in text  # the closing lines name it, with how to run it
    assert re.search(r"01-client +done +10 / 10 .*\(1 not run\)", text)
    assert re.search(r"02-server +not started +0 / 10 +\S+$", text, re.M)  # nothing skipped there: no mark
    last = text.strip().splitlines()[-1]
    passed, failed = map(int, COUNTS.match(last).groups())
    assert passed == len(runner.checks_of(STEP)) and failed > 0  # the build and the checks but memory; the other steps are missing; the skipped check is neither


def test_a_failed_session_fails_the_memory_check_even_without_valgrind(tmp_path, monkeypatch):
    """Not run means valgrind's part only: the session itself is judged."""
    monkeypatch.setenv("SOCKLAB_VALGRIND", "0")
    install(PROGRAMS / "bugs" / "01-client-reads-once.c", tmp_path)  # the memory check's session sends 84 KB in pieces
    memory = memory_check(grade(tmp_path, STEP))
    assert memory.failed and not memory.extra.get("skipped"), memory.output
    assert "runs without valgrind: valgrind is off (VALGRIND=0)" in memory.output


def memory_check(result):
    return next(o for o in result.outcomes if o.name == "memory check (valgrind)")


def test_a_script_has_no_valgrind_check_it_is_skipped_with_why(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCKLAB_VALGRIND", "1")
    install(PROGRAMS / "correct" / "01-client-python.py", tmp_path)
    result = grade(tmp_path, STEP)
    memory = memory_check(result)
    assert not memory.passed and not memory.failed
    assert memory.extra["skipped"] == "your program is not a native binary (a script?): valgrind checks compiled programs only"
    assert result.score == STEP.points and memory.max_score == 0


def test_an_asan_build_checks_its_own_memory_and_a_build_without_asan_is_skipped(tmp_path, monkeypatch):
    from test_sanitizers import leak_sanitizer_works

    monkeypatch.setenv("SOCKLAB_SANITIZE", "1")
    monkeypatch.setenv("SOCKLAB_VALGRIND", "0")
    monkeypatch.setenv("ASAN_OPTIONS", f"detect_leaks={int(leak_sanitizer_works())}")
    clean = memory_check(grade(submission(tmp_path / "a", False), STEP))  # the step's Makefile takes the grader's CFLAGS
    assert clean.passed and "memory checked by ASan/UBSan, not valgrind" in clean.output, clean.output
    if leak_sanitizer_works():
        caught = memory_check(grade(submission(tmp_path / "b", True), STEP))
        assert caught.failed and "LeakSanitizer found an error" in caught.output, caught.output
    install(LEAKS, tmp_path / "c")  # a Makefile with flags of its own: no ASan in the build
    missed = memory_check(grade(tmp_path / "c", STEP))
    assert not missed.passed and missed.extra["skipped"].startswith("SOCKLAB_SANITIZE=1, but your program was built without -fsanitize=address"), missed.output


def test_the_skip_is_one_mechanism_with_remote_scored_and_reported_once():
    """runner.score leaves skipped checks out, whoever skipped them; every
    report says which were not run and why."""
    outcomes = [Outcome(STEP, i, f"check {i}", 1, True) for i in range(1, 4)]
    outcomes.append(Outcome(STEP, 4, "memory check (valgrind)", 1, False, extra={"skipped": OFF}))
    runner.score(STEP, outcomes)
    assert [o.max_score for o in outcomes] == [3.33, 3.34, 3.33, 0] and sum(o.score for o in outcomes) == STEP.points
    assert report.not_run(outcomes) == [NOT_RUN]
    two = outcomes + [Outcome(registry.find("02"), 6, "memory check (valgrind)", 1, False, extra={"skipped": OFF})]
    assert report.not_run(two) == [f"memory check (valgrind) (in 2 steps) were not run: {OFF}"]
    result = runner.Report("x", [STEP], outcomes)
    data = report.gradescope(result)
    assert len(data["tests"]) == 3 and NOT_RUN in data["output"] and data["score"] == STEP.points


def test_a_check_this_machine_cannot_run_is_skipped_with_why(tmp_path, monkeypatch):
    """No IPv6 loopback, no private /etc/hosts: the checks that need them are
    SKIP with the reason, never PASS; the step is scored on the others."""
    from grader.checks import common

    monkeypatch.setattr(common, "ipv6_loopback_works", lambda: False)
    monkeypatch.setattr(common, "run_with_hosts", lambda *args, **options: None)
    result = grade(submission(tmp_path, False), STEP)
    skipped = {o.name: o.extra.get("skipped") for o in result.outcomes if not o.passed}
    assert skipped == {
        "connects over IPv6 (::1)": "this machine has no IPv6 loopback (::1)",
        "tries each address of a name in turn (the first one refuses)": "this machine cannot give a program a private /etc/hosts (unshare --mount), where a name has two addresses",
    }, [o.output for o in result.outcomes if not o.passed]
    assert result.score == STEP.points


def test_a_check_skipped_in_part_still_fails_on_what_it_ran(tmp_path, monkeypatch):
    """Where ::1 cannot be tried, 'localhost and ::1' tries localhost: it is
    skipped on a correct client, and fails one that cannot talk there."""
    from grader.checks import common

    monkeypatch.setattr(common, "ipv6_loopback_works", lambda: False)
    name = "connects to localhost by name and to ::1 (IPv6)"
    step = registry.find("03")
    for program, failed in (("correct/03-chat-client-threads.c", False), ("bugs/03-chat-client-lockstep.c", True)):
        folder = tmp_path / program.split("/")[0]
        install(PROGRAMS / program, folder)
        outcome = next(o for o in grade(folder, step).outcomes if o.name == name)
        assert outcome.failed == failed and bool(outcome.extra.get("skipped")) != failed, outcome.output
        assert "not run here: this machine has no IPv6 loopback (::1): only localhost was tried" in outcome.output
