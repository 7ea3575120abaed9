"""Programs with one known bug fail the check meant for that bug (and only the
checks their header names); correct programs written differently from the
reference get full marks; misbehaving programs get a clear verdict on every
check, in bounded time, and leave no process behind."""

import time

import pytest

from conftest import CAUSE_LINE, sandbox, failed_checks, grade, install, leftovers, programs, read_header

MISBEHAVING_BUDGET = 10  # seconds per check to grade one step of a hostile program (each waits at most a deadline or two)


def params(kind):
    return [pytest.param(p, id=p.name) for p in programs(kind)]


@pytest.mark.parametrize("program", params("bugs"))
def test_bug_fails_its_check(program, tmp_path, record_property):
    fields = read_header(program)
    step = install(program, tmp_path)
    report = grade(tmp_path, step)
    assert report.outcomes[0].passed, f"{program.name} does not build:\n{report.outcomes[0].output}"
    failed = failed_checks(report)
    target = fields["fails"]
    allowed = {target} | {name.strip() for name in fields["also"].split("|") if name.strip()}
    shown = "".join(f"\n\n{o.name}:\n{o.output}" for o in report.outcomes if o.name == target)
    assert target in failed, f"{program.name} ({fields['bug']}) should fail {target!r}; failed: {sorted(failed)}{shown}"
    # The diagnosis rate (tests/summary.py): does the verdict or a hint name the cause?
    said = CAUSE_LINE.findall(shown)
    cause = fields.get("cause")
    named = cause is not None and any(cause in line for line in said)
    record_property("cause", "named" if named else "missed" if cause else "no cause line")
    assert cause is None or named, f"{program.name}: the verdict and hints of {target!r} should name the cause {cause!r}; they say:\n" + "\n".join(said) + shown
    unexplained = [f"{o.name}:\n{o.output}" for o in report.outcomes if o.failed and o.name not in allowed]
    assert not unexplained, f"{program.name} also fails checks its bug does not explain:\n\n" + "\n\n".join(unexplained)


@pytest.mark.parametrize("program", params("correct"))
def test_correct_program_gets_full_marks(program, tmp_path):
    step = install(program, tmp_path)
    report = grade(tmp_path, step)
    failures = [f"{o.name}:\n{o.output}" for o in report.outcomes if o.failed]
    assert not failures, "\n\n".join(failures)
    skipped = {o.name: o.extra["skipped"] for o in report.outcomes if o.extra.get("skipped")}
    assert all("not a native binary" in why for why in skipped.values()), skipped  # a script has no valgrind check


def misbehaving():
    """Every hostile program with a PID namespace; those that start processes
    of their own also without one (the subreaper must find their children)."""
    for p in programs("misbehaving"):
        yield pytest.param(p, True, id=f"{p.name}-pidns")
        if "fork" in p.name or "setsid" in p.name:
            yield pytest.param(p, False, id=f"{p.name}-subreaper")


@pytest.mark.parametrize("program, pid_namespace", misbehaving())
def test_misbehaving_program_gets_clear_verdicts(program, pid_namespace, tmp_path, monkeypatch):
    if not pid_namespace:
        monkeypatch.setattr(sandbox, "pid_namespace_prefix", lambda: ())
    elif not sandbox.pid_namespace_prefix():
        pytest.skip("no PID namespace on this machine")
    step = install(program, tmp_path)
    started = time.monotonic()
    report = grade(tmp_path, step)
    took = time.monotonic() - started
    checks = report.outcomes[1:]
    passing = [o.name for o in checks if o.passed]
    assert not passing, f"{program.name} passes {passing}"
    for o in checks:
        assert "verdict:" in o.output, f"{o.name}: no verdict in\n{o.output}"
        assert "the grader itself failed" not in o.output, f"{o.name}: the check broke, it gave no verdict on the program:\n{o.output}"
    budget = MISBEHAVING_BUDGET * len(checks)
    assert took < budget, f"grading {program.name} took {took:.0f} s, more than {budget} s for {len(checks)} checks"
    deadline = time.monotonic() + 5
    while leftovers(report) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers(report), f"processes left behind by {program.name}: {leftovers(report)}"
