"""The documentation is derived from the registry, and stays in step with it."""

import ast
import importlib.machinery
import importlib.util
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


BOLD = re.compile(r"\*\*(.+?)\*\*")
UNTESTED = re.compile(r"^untested: (\S+ ){3,}")  # a reason, of a few words at least


def rule_rows(step):
    """(rule, checked-by cell) of each row of the step's RULES.md table."""
    text = (KIT / "steps" / step.folder / "RULES.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]  # the header row left out
    cells = [[c.strip() for c in row.strip().strip("|").split(" | ")] for row in rows if not row.startswith("|---")]
    assert cells and all(len(c) == 2 for c in cells), f"{step.folder}/RULES.md: a row is not | rule | checked by |"
    return cells


@pytest.mark.parametrize("step", [pytest.param(step, id=step.folder) for step in registry.STEPS])
def test_every_rule_has_a_check_or_says_why_not(step):
    """RULES.md maps each rule of the step to the checks that test it: every
    check it names exists, every rule has one or says why it is untested, and
    every check stands for some rule; the README links it."""
    checks = {spec.name for spec in runner.checks_of(step)}
    named = set()
    for rule, checked_by in rule_rows(step):
        names = BOLD.findall(checked_by)
        assert names or UNTESTED.match(checked_by), f"{step.folder}/RULES.md: no check for {rule!r}, and no 'untested: <why>'"
        unknown = [n for n in names if n not in checks]
        assert not unknown, f"{step.folder}/RULES.md names checks that do not exist: {unknown}"
        named.update(names)
    assert not checks - named, f"{step.folder}/RULES.md: these checks stand for no rule: {sorted(checks - named)}"
    readme = (KIT / "steps" / step.folder / "README.md").read_text()
    assert "](RULES.md)" in readme, f"{step.folder}/README.md does not link RULES.md"


def handout_files():
    """{path in the kit: path on disk} of what `make handout` ships (tools/package decides)."""
    loader = importlib.machinery.SourceFileLoader("package", str(KIT / "tools" / "package"))
    package = importlib.util.module_from_spec(importlib.util.spec_from_loader("package", loader))
    loader.exec_module(package)
    return dict(package.files(package.HANDOUT))


PATH_REF = re.compile(r"(?<![\w/.:<-])((?:\.\.?/)*(?:[\w.-]+/)+[\w.-]+\.(?:c|h|md|py|json|xml|txt|yml|sh))\b")
MADE_LATER = ("build/", "dist/", "node_modules/", ".github/workflows/classroom.yml")  # written by make, or by the packager into the archive
PLACEHOLDER = re.compile(r"NN|STEP/")
KIT_ONLY_IN_README = ("tests/", "tools/")  # the kit's README describes the instructor's copy: its tests and tools, which `make test` says a handout lacks


def student_text(path):
    """What a student reads in a shipped file: all of it, but for Python code
    only its strings (the messages), not its comments and docstrings."""
    text = path.read_text(errors="replace")
    if path.suffix != ".py":
        return text
    tree = ast.parse(text)
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}  # fmt: skip
    return "\n".join(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs)


def test_the_handout_cites_only_what_it_holds():
    """A student's copy (make handout) holds every file its texts point to,
    and cites no SPEC (the kit's contract stays with its developers: a step's
    README is the student's contract)."""
    shipped = handout_files()
    wrong = []
    for name, path in sorted(shipped.items()):
        if path.suffix not in (".md", ".c", ".h", ".py") and path.name != "Makefile":
            continue
        text = student_text(path)
        wrong += [f"{name}: cites SPEC" for _ in re.finditer(r"\bSPEC\b", text)][:1]
        for ref in PATH_REF.findall(text):
            if ref.startswith(MADE_LATER) or PLACEHOLDER.search(ref) or (name == "README.md" and ref.startswith(KIT_ONLY_IN_README)):
                continue
            # relative to the file's folder or one above it, to a step folder (a path as a step's Makefile sees it),
            # or to steps/ (the submission: a report shows a file as "01-client/client.c:20")
            bases = [f for f in (KIT / name).parents if f == KIT or KIT in f.parents] + [KIT / "steps" / step.folder for step in registry.STEPS] + [KIT / "steps"]
            found = [(base / ref).resolve() for base in bases]
            if not any(str(p.relative_to(KIT)) in shipped for p in found if KIT in p.parents):
                wrong.append(f"{name}: {ref} is not in the handout")
    assert not wrong, "the student's copy points outside itself:\n" + "\n".join(wrong)
