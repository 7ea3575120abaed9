"""`make watch STEP=NN`: a check on start, another on every save, Ctrl-C
leaves at once and leaves nothing behind. Both ways of noticing a save are
tried: inotifywait (inotify-tools, which `make test` installs) and polling."""

import os
import shutil
import time

import pytest

from conftest import KIT, registry, runner
from livekit import Live, processes_mentioning

RAN = len(runner.checks_of(registry.find("01")))  # passed on step 01's reference: the build and every check but memory

BROKEN = b"int main(void) { return 0 }  /* a typo: it no longer builds */\n"
LEAKS = KIT / "tests" / "programs" / "bugs" / "01-client-leaks-buffers.c"
NOT_RUN = "memory check (valgrind) was not run: valgrind is off (VALGRIND=0); VALGRIND=1 runs it"


@pytest.mark.parametrize("how", ["inotifywait", "polling"])
def test_watch_rechecks_on_save_and_stops_cleanly_on_ctrl_c(tmp_path, how):
    if how == "inotifywait":
        assert shutil.which("inotifywait"), "inotifywait is missing: apt-get install inotify-tools (tools/setup test does)"
    submission = tmp_path / "work"
    shutil.copytree(KIT / "solutions" / "01-client", submission / "01-client", ignore=shutil.ignore_patterns("client", "*.o"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch), "SOCKLAB_HINT_STATE": str(tmp_path / "hints.json"), "NO_COLOR": "1"}
    if how == "polling":
        env["SOCKLAB_WATCH_POLL"] = "1"
    watch = Live(["make", "-s", "-C", KIT, "watch", "STEP=01", f"SUBMISSION={submission}"], env=env, new_session=True)
    try:
        watch.wait_for(f"({how}); Ctrl-C stops", within=30)
        assert "check #1" in watch.text and f"{RAN} passed, 0 failed, 1 skipped" in watch.text
        assert "SKIP memory check (valgrind)" in watch.text and "PASS memory check" not in watch.text  # no valgrind by default
        assert f"01-client passes every check that ran; next: make watch STEP=02; {NOT_RUN}" in watch.text

        (submission / "01-client" / "client.c").write_bytes(BROKEN)  # a save that breaks it
        watch.wait_for(f"({how}); Ctrl-C stops", within=30, count=2)
        text = watch.text
        assert "check #2" in text and "(changed: client.c)" in text
        second = text[text.index("check #2") :]
        assert "FAIL builds with make" in second and "it does not build: fix the compiler's first error" in second
        assert "\033[" not in text  # piped: no screen clearing, no colours

        (submission / "01-client" / ".client.c.swp").write_bytes(b"editor noise")  # not a save
        (submission / "01-client" / "client").write_bytes(b"a build product")  # nor this
        time.sleep(1.2)
        assert "check #3" not in watch.text

        started = time.monotonic()
        watch.interrupt(group=True)  # Ctrl-C at a terminal: the whole foreground group
        watch.wait(10)
        assert time.monotonic() - started < 5
        assert "watch: stopped (SIGINT)" in watch.text and "Traceback" not in watch.text
        time.sleep(0.2)
        assert not processes_mentioning(str(submission)), processes_mentioning(str(submission))
        assert not processes_mentioning(str(scratch)), processes_mentioning(str(scratch))
        assert not list(scratch.iterdir()), f"scratch left behind: {list(scratch.iterdir())}"
    finally:
        watch.kill()


@pytest.mark.parametrize("valgrind", ["", "VALGRIND=1"], ids=["default", "VALGRIND=1"])
def test_watch_on_a_leaking_client_says_the_memory_check_was_not_run_or_runs_it(tmp_path, valgrind):
    """make watch runs without valgrind: a client that leaks every buffer is
    not said to pass the memory check (SKIP, and the last line says it was
    not run); with VALGRIND=1 the memory check runs and catches the leak."""
    submission = tmp_path / "work"
    shutil.copytree(KIT / "solutions" / "01-client", submission / "01-client", ignore=shutil.ignore_patterns("client", "*.o"))
    shutil.copy(LEAKS, submission / "01-client" / "client.c")
    env = {"TMPDIR": str(tmp_path), "SOCKLAB_HINT_STATE": str(tmp_path / "hints.json"), "NO_COLOR": "1", "SOCKLAB_WATCH_POLL": "1"}
    command = ["make", "-s", "-C", KIT, "watch", "STEP=01", f"SUBMISSION={submission}"] + ([valgrind] if valgrind else [])
    watch = Live(command, env=env, new_session=True)
    try:
        text = watch.wait_for("Ctrl-C stops", within=90)
        assert "PASS memory check" not in text and "passes every check;" not in text
        if valgrind:
            assert "FAIL memory check (valgrind)" in text and "memory leak: definitely lost" in text
            assert f"{RAN} passed, 1 failed" in text and "skipped" not in text
        else:
            assert "SKIP memory check (valgrind)" in text and f"{RAN} passed, 0 failed, 1 skipped" in text
            last = [line for line in text.splitlines() if not line.startswith("watch: waiting")][-1]
            assert last == f"01-client passes every check that ran; next: make watch STEP=02; {NOT_RUN}"
        watch.interrupt(group=True)
        watch.wait(10)
    finally:
        watch.kill()


def test_watch_stops_cleanly_in_the_middle_of_a_check(tmp_path):
    """Ctrl-C while the checks run: no traceback, no program left."""
    submission = tmp_path / "work"
    shutil.copytree(KIT / "solutions" / "01-client", submission / "01-client", ignore=shutil.ignore_patterns("client", "*.o"))
    (submission / "01-client" / "client.c").write_bytes(b"#include <unistd.h>\nint main(void) { pause(); }\n")  # hangs: every check waits
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # The programs are found by the TMPDIR they run under, a folder private to
    # root here: as root, they would otherwise run as the student uid elsewhere.
    env = {"TMPDIR": str(scratch), "SOCKLAB_STUDENT_UID": "0"}
    watch = Live(["make", "-s", "-C", KIT, "watch", "STEP=01", f"SUBMISSION={submission}"], env=env, new_session=True)
    try:
        watch.wait_for("check #1", within=30)
        deadline = time.monotonic() + 20
        while not processes_mentioning(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the checks run the program
        time.sleep(0.3)
        watch.interrupt(group=True)
        watch.wait(10)
        assert "passed," not in watch.text, "the check was over before Ctrl-C: this test probes nothing"
        assert "watch: stopped (SIGINT)" in watch.text and "Traceback" not in watch.text
        deadline = time.monotonic() + 5
        while processes_mentioning(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the launchers kill their programs once we are gone
        assert not processes_mentioning(str(scratch)), processes_mentioning(str(scratch))
    finally:
        watch.kill()


def test_watch_needs_a_step():
    import subprocess

    run = subprocess.run(["make", "-s", "-C", str(KIT), "watch"], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0 and "usage: make watch STEP=NN" in run.stderr


def test_the_hint_offer_names_the_next_hint_and_the_ones_that_help(tmp_path):
    from conftest import registry
    from grader import report, runner, watch
    from grader.engine import Outcome

    step = registry.find("01")
    result = runner.Report("x", [step], [Outcome(step, 0, "builds with make", 0, True), Outcome(step, 1, "a", 1, False, hint="2"), Outcome(step, 2, "b", 1, True, hint="3")])
    state = tmp_path / "hints.json"
    style = report.Style(open(os.devnull, "w"))
    assert watch.hint_offer(step, result, state, style) == "stuck? make hint STEP=01 shows hint 1 of 3 (the failed checks point to hint 2)"
    state.write_text('{"01-client": 1}')
    assert "shows hint 2 of 3" in watch.hint_offer(step, result, state, style)
    state.write_text('{"01-client": 3}')
    assert "every hint is out: make hint STEP=01 LEVEL=all" in watch.hint_offer(step, result, state, style)
    result.outcomes[1].passed = True
    assert watch.hint_offer(step, result, state, style) == "01-client passes every check; next: make watch STEP=02"
    skipped = Outcome(step, 3, "memory check (valgrind)", 1, False, extra={"skipped": "valgrind is off (VALGRIND=0); VALGRIND=1 runs it"})
    result.outcomes.append(skipped)  # not run: it is not said to pass, and the line says so
    assert watch.hint_offer(step, result, state, style) == f"01-client passes every check that ran; next: make watch STEP=02; {NOT_RUN}"


def test_a_step_that_builds_with_an_earlier_one_watches_both(tmp_path):
    from grader import watch

    for name in ("05-framing", "06-calc-server"):
        shutil.copytree(KIT / "solutions" / name, tmp_path / name)
    assert watch.folders_of(tmp_path / "06-calc-server") == [tmp_path / "06-calc-server", tmp_path / "05-framing"]
    assert watch.folders_of(tmp_path / "05-framing") == [tmp_path / "05-framing"]
