"""The reference solutions score full marks; every starter builds and scores 0."""

import pytest

from conftest import KIT, grade, registry

STEPS = [pytest.param(step, id=step.folder) for step in registry.STEPS]


@pytest.mark.parametrize("step", STEPS)
def test_solution_scores_full_marks(step):
    report = grade(KIT / "solutions", step)
    failures = [f"{o.name}:\n{o.output}" for o in report.outcomes if not o.passed]
    assert not failures, "\n\n".join(failures)
    assert report.score == step.points


@pytest.mark.parametrize("step", STEPS)
def test_starter_builds_and_scores_zero(step):
    report = grade(KIT / "steps", step)
    build = report.outcomes[0]
    assert build.passed, f"the starter of {step.folder} does not build:\n{build.output}"
    assert "warning" not in build.output, f"the starter of {step.folder} compiles with warnings:\n{build.output}"
    passing = [o.name for o in report.outcomes[1:] if o.passed]
    assert not passing, f"the starter of {step.folder} passes checks: {passing}"
    assert report.score == 0


@pytest.mark.parametrize("step", STEPS)
def test_step_has_its_teaching_material(step):
    for root in ("steps", "solutions"):
        folder = KIT / root / step.folder
        assert (folder / "Makefile").is_file(), f"{folder} has no Makefile"
    readme = (KIT / "steps" / step.folder / "README.md").read_text()
    assert len(step.hints()) >= 3, f"{step.folder} needs at least three hints"
    for spec in runner_checks(step):
        assert spec.name in readme, f"{step.folder}/README.md does not list the check {spec.name!r}"


def runner_checks(step):
    from grader import runner

    return runner.checks_of(step)
