"""The documentation is derived from the registry, and stays in step with it."""

import re

from conftest import KIT, registry

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
