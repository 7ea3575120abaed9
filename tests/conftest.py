"""Shared helpers of the kit's self-tests: grading a folder, installing a
test program as a one-step submission, finding processes left behind."""

import fcntl
import os
import re
import shutil
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))

from grader import contain, registry, runner, sandbox  # noqa: E402,F401

PROGRAMS = KIT / "tests" / "programs"
SOLUTION_DIFF = "solution.diff"  # a folder program holding this is the reference solution with the diff applied
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
    if program.is_dir() and (program / SOLUTION_DIFF).is_file():
        install_variant(program / SOLUTION_DIFF, folder, target)
        return step
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


def install_variant(diff, folder, target):
    """The reference solutions (every step: a step builds with its neighbours'
    files), with the diff applied to the step's folder: a program that is the
    reference but for one alternative (or one bug), stated in a few lines."""
    built = [b for step in registry.STEPS for b in step.binaries] + ["*.o"]
    for step_folder in (KIT / "solutions").iterdir():
        if step_folder.is_dir():
            shutil.copytree(step_folder, folder / step_folder.name, ignore=shutil.ignore_patterns(*built))
    for name, hunks in parse_diff(diff.read_text()):
        path = target / name
        lines = path.read_text().splitlines(keepends=True)
        for start, old, new in reversed(hunks):  # from the bottom up: the line numbers above stay true
            if lines[start : start + len(old)] != old:
                # the reference changed above the hunk: its lines, found once elsewhere, are the place (patch's offset)
                places = [at for at in range(len(lines) - len(old) + 1) if lines[at : at + len(old)] == old]
                assert len(places) == 1, f"{diff} no longer applies to solutions/{target.name}/{name} at line {start + 1} ({len(places)} places hold its lines)"
                start = places[0]
            lines[start : start + len(old)] = new
        path.write_text("".join(lines))


HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def parse_diff(text):
    """[(file name, [(0-based first line, old lines, new lines)])] of a unified diff (diff -u)."""
    files, left = [], (0, 0)  # lines of the current hunk still to read: old, new
    for line in text.splitlines(keepends=True):
        if left != (0, 0):
            _, old, new = files[-1][1][-1]
            if line[:1] in (" ", "-"):
                old.append(line[1:])
            if line[:1] in (" ", "+"):
                new.append(line[1:])
            left = (left[0] - (line[:1] in " -"), left[1] - (line[:1] in " +"))
        elif line.startswith("+++ "):
            files.append((line[4:].split()[0].split("/", 1)[-1], []))
        elif HUNK.match(line):
            start, old_count, new_count = HUNK.match(line).groups()
            left = (int(old_count or 1), int(new_count or 1))
            files[-1][1].append((max(int(start) - 1, 0) if left[0] else int(start), [], []))
    return files


def programs(kind):
    """The test programs of a kind: single files (.c, .py), or folders that
    hold a HEADER and a step folder's files (sources and Makefile), or a
    HEADER and a solution.diff (the reference solution, changed)."""
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


def taken_again(uid):
    """True while a grading holds the lock of a pool uid: once a grading ends,
    the pool hands its uid to the next one (another test running beside this
    one), and the processes of that uid are then that grading's, not leftovers."""
    folder = contain.uid_lock_folder()
    try:
        fd = os.open(os.path.join(folder, f"{uid}.lock"), os.O_RDWR | os.O_NOFOLLOW) if folder else None
    except OSError:
        return False
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # our own lock, if we took it, goes with it
