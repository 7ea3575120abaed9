"""The documentation is derived from the registry, and stays in step with it."""

import re

import pytest

from conftest import KIT, registry
from grader import engine, runner

README = (KIT / "README.md").read_text()


def test_readme_steps_table_is_the_registry():
    table = re.search(r"<!-- steps table.*?-->\n(.*?)<!-- end of steps table -->", README, re.S)
    assert table, "README.md lost its generated steps table"
    assert table.group(1).strip() == registry.markdown_table(), "run: python3 -m grader list --markdown"


def test_readme_shows_the_two_commands_first():
    first_block = README.split("```")[1]
    assert "make grade" in first_block and "make test" in first_block


def test_every_step_folder_is_in_the_registry():
    known = {step.folder for step in registry.STEPS}
    for root in ("steps", "solutions"):
        folders = {p.name for p in (KIT / root).iterdir() if p.is_dir() and p.name[:2].isdigit()}
        assert folders == known, f"{root}/ holds {sorted(folders ^ known)} that the registry does not list (or lacks)"


@pytest.mark.parametrize("step", [pytest.param(step, id=step.folder) for step in registry.STEPS])
def test_step_readme_shows_each_checks_weight(step):
    """Each step README lists every check with its weight, as declared: a core
    promise broken costs more than a message's wording, and the student sees it."""
    readme = (KIT / "steps" / step.folder / "README.md").read_text()
    section = readme.split("## What the grader checks", 1)[-1]
    for spec in runner.checks_of(step):
        line = f"- **{spec.name}** ({engine.weight_label(spec.weight)})"
        assert line in section, f"steps/{step.folder}/README.md should list {line!r}"
    assert f"share of the step's {step.points} points" in section


def test_weights_make_core_promises_cost_more():
    """A core check weighs more than any rule, a rule more than a detail."""
    assert engine.CORE > engine.RULE > engine.DETAIL
    for step in registry.STEPS:
        weights = {spec.weight for spec in runner.checks_of(step)}
        assert engine.CORE in weights and weights <= set(engine.WEIGHTS), f"{step.folder}: {sorted(weights)}"
