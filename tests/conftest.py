"""Shared helpers of the kit's self-tests: grading a folder, installing a
test program as a one-step submission, finding processes left behind."""

import os
import re
import shutil
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from grader import registry, runner, sandbox  # noqa: E402,F401

PROGRAMS = KIT / "tests" / "programs"
HEADER = re.compile(r"^\s*(?:#\s*)?(step|bug|fails|also|cause):\s*(.*?)\s*$", re.M)
CAUSE_LINE = re.compile(r"^\[[^\]]+\] (?:verdict|hint): +(.*)$", re.M)  # the lines a student reads first
FIXTURE_MAKEFILE = """\
{binary}: {binary}.c
\t$(CC) -std=c17 -Wall -Wextra -O2 -g -o $@ {binary}.c
"""


def grade(submission, *steps):
    """Grade these steps (registry entries) of a submission folder; a Report."""
    return runner.grade(submission, steps or None)


def failed_checks(report):
    return {o.name for o in report.outcomes if o.failed}  # a skipped check did not fail


def read_header(path):
    """The `step: / bug: / fails: / also: / cause:` header of a test program
    (of a folder program: of its file named HEADER). cause: a phrase the
    verdict or a hint of the failing check must hold (the bug's cause)."""
    if path.is_dir():
        path = path / "HEADER"
    head = path.read_text(errors="replace")[:2000]
    fields = {key: value for key, value in HEADER.findall(head)}
    fields.setdefault("also", "")
    return fields


def install(program, folder):
    """Make a one-step submission in folder from a test program; its Step."""
    fields = read_header(program)
    step = registry.find(fields["step"])
    target = folder / step.folder
    target.mkdir(parents=True)
    if program.is_dir():  # a whole step folder: its sources and its Makefile
        shutil.copytree(program, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("HEADER"))
    elif program.suffix == ".c":
        shutil.copy(program, target / f"{step.binary}.c")
        (target / "Makefile").write_text(FIXTURE_MAKEFILE.format(binary=step.binary))
    else:
        shutil.copy(program, target / step.binary)
        os.chmod(target / step.binary, 0o755)
        (target / "Makefile").write_text("all:\n\t@true\n")
    return step


def programs(kind):
    """The test programs of a kind: single files (.c, .py), or folders that
    hold a HEADER and a step folder's files (sources and Makefile)."""
    return sorted(p for p in (PROGRAMS / kind).glob("*") if p.suffix in (".c", ".py") or (p / "HEADER").is_file())


def leftovers(report):
    """Processes still running from the scratch folder a grading used (their
    binary or their command line lies there, even after it was deleted)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if report.scratch in exe or report.scratch in cmdline:
            found.append(f"pid {entry}: {cmdline.replace(chr(0), ' ')}")
    return found
