"""Self-tests of the engine's side of a program's stdin (steps 03 and 04 type
at their programs) and of the expectations those steps added: every wait ends
by its deadline, and a report shows the program as it was when its check ended."""

import time

import pytest

from grader import engine, registry
from grader.engine import CheckFailed, CheckSpec, Trial

STEP = registry.Step(99, "self-test", "engine self-test", ("prog",), "prog", points=1, timeout=1.0)


@pytest.fixture
def trial(tmp_path):
    t = Trial(STEP, tmp_path, tmp_path, CheckSpec("self-test", None))
    yield t
    t.cleanup()


def typed_back(trial):
    return trial.run_command(["cat"], stdin="pipe")


def test_typed_bytes_reach_the_program_in_pieces(trial):
    cat = typed_back(trial)
    cat.type(b"hello\n")
    cat.expect_stdout_next(b"hello\n")
    cat.type(b"a" * 200_000, pieces=5, pause=0.01)
    cat.expect_stdout_next(b"a" * 200_000)
    assert ("typed", '"hello\\n"') in trial.lines


def test_the_next_bytes_follow_the_lines_already_expected(trial):
    cat = typed_back(trial)
    cat.type(b"a line\nhalf a line")
    cat.expect_stdout_line(b"a line")
    cat.expect_stdout_next(b"half")
    cat.expect_stdout_next(b" a line")


def test_other_bytes_than_expected_fail_with_both_shown(trial):
    cat = typed_back(trial)
    cat.type(b"hello\n")
    with pytest.raises(CheckFailed) as failed:
        cat.expect_stdout_next(b"help!\n")
    assert "differs" in failed.value.message
    assert ("printed", '"hello\\n"') in failed.value.evidence


def test_missing_bytes_fail_by_the_deadline(trial):
    cat = typed_back(trial)
    started = time.monotonic()
    with pytest.raises(CheckFailed) as failed:
        cat.expect_stdout_next(b"never typed", within=0.3)
    assert time.monotonic() - started < 2
    assert "printed 0 of the 11 bytes" in failed.value.message


def test_typing_at_a_program_that_never_reads_fails_by_the_deadline(trial):
    sleeper = trial.run_command(["sleep", "100"], stdin="pipe")
    started = time.monotonic()
    with pytest.raises(CheckFailed) as failed:
        sleeper.type(b"x" * (1 << 20))  # more than a pipe holds
    assert time.monotonic() - started < 3
    assert "did not read its stdin" in failed.value.message


def test_input_read_is_seen(trial):
    cat = trial.run_command(["sh", "-c", "cat >/dev/null"], stdin="pipe")
    cat.type(b"x" * 100_000)
    cat.expect_input_read()
    assert cat.unread_input() == 0


def test_input_left_unread_fails(trial):
    sleeper = trial.run_command(["sleep", "100"], stdin="pipe")
    sleeper.type(b"some words\n")
    assert sleeper.unread_input() == len(b"some words\n")
    with pytest.raises(CheckFailed) as failed:
        sleeper.expect_input_read(within=0.2, hint="read it")
    assert "11 typed bytes" in failed.value.message and failed.value.hint == "read it"


def test_typing_until_full_stops_when_the_program_stops_reading(trial):
    sleeper = trial.run_command(["sleep", "100"], stdin="pipe")
    typed = sleeper.type_until_full(settle=0.1)
    assert 0 < typed <= 1 << 20  # one pipe's worth
    reader = trial.run_command(["sh", "-c", "cat >/dev/null"], stdin="pipe")
    assert reader.type_until_full(settle=0.1, limit=300_000) >= 300_000


def test_end_of_input_is_end_of_file(trial):
    cat = typed_back(trial)
    cat.type(b"last\n")
    cat.end_input()
    cat.expect_stdout_next(b"last\n")
    cat.expect_exit(0)


def test_a_message_on_stderr_is_awaited(trial):
    talker = trial.run_command(["sh", "-c", "sleep 0.2; echo 'it broke' >&2; exit 1"])
    talker.expect_exit(1)
    talker.expect_stderr_message()
    silent = trial.run_command(["sh", "-c", "exit 1"])
    silent.expect_exit(1)
    with pytest.raises(CheckFailed):
        silent.expect_stderr_message(within=0.2)


def test_a_hint_explains_any_failure_in_its_block(trial):
    with pytest.raises(CheckFailed) as failed:
        with trial.hint("the likely cause"):
            trial.fail("it went wrong")
    assert failed.value.hint == "the likely cause"


def test_the_report_shows_output_as_it_was_when_the_check_ended(tmp_path):
    # The grader closes stdin when it stops a program; what it prints then is no evidence.
    def check(t):
        program = t.run_command(["sh", "-c", "read line; echo late-$((6 * 7))"], stdin="pipe")
        program.expect_stdout_next(b"anything", within=0.2)

    outcome = engine.run_check(STEP, CheckSpec("self-test", check), 1, tmp_path, tmp_path)
    assert not outcome.passed
    assert "late-42" not in outcome.output
    assert "stdout: (empty)" in outcome.output


def test_a_report_states_only_what_was_seen_of_a_program_that_ends_as_the_check_fails(tmp_path):
    """A program that exits (status 1) the moment the check fails is never
    reported as still running and stopped by the grader."""

    def check(t):
        program = t.run_command(["sh", "-c", "echo a wrong line; exit 1"])
        program.expect_stdout_line(b"the right line")

    for _ in range(5):
        outcome = engine.run_check(STEP, CheckSpec("ends as it fails", check), 1, tmp_path, tmp_path)
        assert not outcome.passed
        assert "stopped by the grader" not in outcome.output, outcome.output
        assert "exited with status 1" in outcome.output, outcome.output
