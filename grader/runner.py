"""Grading a submission: copy it, build each step, run its checks, score them."""

import importlib
import os
import queue
import shutil
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import contain, cpu, engine, registry, sandbox
from .engine import Outcome
from .text import lines_of, plural, readable

BUILD_TIMEOUT = 120  # seconds for `make` in one step folder
COPY_LIMIT = 64 << 20  # bytes of a submission copied for grading
SKIPPED_NAMES = {".git", "__pycache__", "build", "node_modules"}
# SOCKLAB_SANITIZE=1: steps are built with these (unless SOCKLAB_CFLAGS says
# otherwise), programs run without the address-space limit (ASan's shadow
# memory) and without valgrind, and an ASan/UBSan report fails its check.
SANITIZE_CFLAGS = "-std=c17 -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
COMMON = registry.KIT / "steps" / "common"  # the kit's socket library, given from step 03 on


@dataclass
class Report:
    submission: str
    steps: list
    outcomes: list = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""
    scratch: str = ""  # where it was built and run (deleted afterwards)
    started: float = 0.0  # time.monotonic() when the grading began
    found: str = ""  # where the step folders were found, when not in the submission itself (locate)
    absent: str = ""  # no step folder anywhere: what the submission holds (locate)

    @property
    def score(self):
        return round(sum(o.score for o in self.outcomes), 2)

    @property
    def max_score(self):
        return round(sum(o.max_score for o in self.outcomes), 2)

    def of_step(self, step):
        return [o for o in self.outcomes if o.step is step]


# === Where the step folders are ================================================

SEARCH_DEPTH = 3  # two wrapping folders and a copy of the kit's steps/: a/socklab-main/steps/01-client
SEARCH_LIMIT = 500  # folders looked at, at most: a huge submission costs no more
NOT_SEARCHED = {"__MACOSX"} | SKIPPED_NAMES  # and every hidden folder


def step_root(submission):
    """The folder holding the step folders (see locate)."""
    return locate(submission)[0]


def locate(submission):
    """(the folder holding the step folders, what the report should say about
    it). Looked for in the submission itself, in its steps/ (a copy of the
    kit), and under one or two wrapping folders (a zip of "my folder", a GitHub
    download socklab-main/steps/...). Symbolic links are never followed.
    Several candidates: the one with the most step folders wins (a folder
    named steps/, then the shallowest, on a tie), and the report says so. None:
    the submission itself, and the report lists what it holds."""
    submission = Path(submission)
    found = candidates(submission)
    if not found:
        first, last = registry.STEPS[0].folder, registry.STEPS[-1].folder
        return submission, f"no step folder ({first}/ ... {last}/) in the submission, nor in its steps/ or one or two folders down; it holds:\n" + listing(submission)
    found.sort(key=lambda c: (-c[1], c[0].name != "steps", len(c[0].relative_to(submission).parts)))
    (root, count), others = found[0], found[1:]
    said = "" if root == submission else f"step folders found in {shown_path(root, submission)}/ ({count} of {len(registry.STEPS)})"
    if others:
        said += ("; " if said else "") + "not graded: " + ", ".join(
            f"{shown_path(folder, submission)}/ ({plural(n, 'step folder')})" for folder, n in others
        ) + " (the folder with the most step folders is graded)"
    return root, said


def candidates(submission):
    """[(folder, number of step folders in it)] of the folders that hold step
    folders, up to SEARCH_DEPTH below the submission, links never followed."""
    names = {step.folder for step in registry.STEPS}
    skipped = names | NOT_SEARCHED
    found, queue, seen = [], [(submission, 0)], 0
    while queue and seen < SEARCH_LIMIT:
        folder, depth = queue.pop(0)
        seen += 1
        entries = entries_of(folder)
        count = sum(entry.name in names for entry in entries)  # a step folder that is a link counts: its build says why it is not graded
        if count:
            found.append((folder, count))
        if depth < SEARCH_DEPTH:
            queue += [
                (Path(entry.path), depth + 1)
                for entry in entries
                if entry.is_dir(follow_symlinks=False) and entry.name not in skipped and not entry.name.startswith(".")
            ]
    return found


def entries_of(folder):
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError:
        return []


def listing(submission, depth=3, per_folder=8, most=40):
    """What a submission holds, as an indented tree: depth levels, per_folder
    entries a folder, most lines in all (at most 1 + 8 + 64 folders read).
    Names are escaped (they are the student's); links are shown, not followed."""
    rows = []

    def walk(folder, level):
        entries, indent = entries_of(folder), "  " * (level + 1)
        for entry in entries[:per_folder]:
            name = readable(entry.name)
            if entry.is_symlink():
                rows.append(f"{indent}{name} -> {readable(os.readlink(entry.path))} (a symbolic link: not followed)")
            elif entry.is_dir(follow_symlinks=False):
                rows.append(f"{indent}{name}/")
                if level + 1 < depth:
                    walk(entry.path, level + 1)
            else:
                rows.append(f"{indent}{name}")
        if len(entries) > per_folder:
            rows.append(f"{indent}... ({len(entries) - per_folder} more)")

    walk(submission, 0)
    if len(rows) > most:
        rows = rows[:most] + [f"  ... ({len(rows) - most} more lines)"]
    return "\n".join(rows) or "  (nothing: the submission is empty)"


def shown_path(path, submission):
    return readable(str(Path(path).relative_to(submission)))


# === Scratch copy ==============================================================


def link_stays_inside(link, root):
    """True if a symlink names, relatively, a place inside root (the folder of
    the step folders: 06's frame.c -> ../05-framing/frame.c). An absolute link,
    or one that climbs out, could read the kit's solutions or /etc: not kept."""
    target = os.readlink(link)
    if os.path.isabs(target):
        return False
    where = os.path.normpath(os.path.join(os.path.abspath(os.path.dirname(link)), target))
    return where == os.path.abspath(root) or where.startswith(os.path.abspath(root) + os.sep)


def copy_step(source, target, root=None):
    """Copy a step folder, symlinks kept as links (never followed) when they
    stay inside the submission (root: the folder of the step folders), skipping
    the bulky folders and what a build makes (built_kind); the links and files
    left out are listed in its NOTE file."""
    budget = [COPY_LIMIT]
    root = root or Path(source).parent
    dropped, built, odd = [], [], []

    def ignore(folder, names):
        skipped = {n for n in names if n in SKIPPED_NAMES}
        for name in names:
            path = Path(folder) / name
            st = path.lstat()
            if path.is_symlink() and not link_stays_inside(path, root):
                skipped.add(name)
                dropped.append(readable(f"{path.relative_to(source)} -> {os.readlink(path)}"))
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                skipped.add(name)  # a FIFO would block the copy, a device would copy a disk
                odd.append(f"{readable(str(path.relative_to(source)))} ({file_kind(st.st_mode)})")
            elif stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and not st.st_mode & stat.S_IROTH:
                skipped.add(name)  # root reads it: a hard link to /etc/shadow in an archive unpacked as root
                odd.append(f"{readable(str(path.relative_to(source)))} (a hard link to a file not every user may read)")
            elif stat.S_ISREG(st.st_mode):
                kind = built_kind(path)
                if kind:
                    skipped.add(name)
                    built.append(f"{readable(str(path.relative_to(source)))} ({kind})")
                    continue
                budget[0] -= st.st_size
                if budget[0] < 0:
                    skipped.add(name)
        return skipped

    shutil.copytree(source, target, symlinks=True, ignore=ignore)
    said = []
    if dropped:
        said.append("not copied: symbolic links that point outside the submission (the grader never follows them): " + ", ".join(dropped))
    if built:
        said.append(
            "removed before the build: " + ", ".join(built) + " (the grader builds your source and never runs "
            "a program or object you committed; the handout's .gitignore keeps them out of git)"
        )
    if odd:
        said.append("not copied: " + ", ".join(odd) + " (only files, folders and links are)")
    if said:  # inside the copy: a class grading copies it twice
        (Path(target) / NOTE).write_text("\n".join(said))


BUILT_SUFFIXES = {".o": "an object file", ".a": "a static library", ".so": "a shared library"}
TARGETS = {binary for step in registry.STEPS for binary in step.binaries}


def built_kind(path):
    """What a build made this file into (None: source, graded as it is): an
    object or a library by its name, a compiled program (ELF) by its first
    bytes, or a file named like a step's program that is not a script (a
    Python or shell script with a #! line is source, built by chmod +x)."""
    path = Path(path)
    if path.suffix in BUILT_SUFFIXES:
        return BUILT_SUFFIXES[path.suffix]
    try:  # never blocks (a FIFO), never follows a link: only a regular file's head is read
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        head = os.read(fd, 4) if stat.S_ISREG(os.fstat(fd).st_mode) else b"#!"
    finally:
        os.close(fd)
    if head == b"\x7fELF":
        return "an ELF binary"
    if path.name in TARGETS and not head.startswith(b"#!"):
        return "named like the program make builds, and not a script with a #! line"
    return None


def file_kind(mode):
    """What a file that is not a regular file is, in words."""
    for test, kind in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link")):  # fmt: skip
        if test(mode):
            return kind
    return "not a regular file"


def link_on_the_way(submission, root):
    """The first symbolic link from the submission down to the folder of its
    step folders (a steps/ that is a link to the kit's solutions, or to
    another student's folder), or None: such a root is never followed."""
    path = Path(submission)
    for part in Path(root).relative_to(submission).parts:
        path = path / part
        if path.is_symlink():
            return path
    return None


NOTE = ".socklab-note"  # what the copy of a step folder left out, for its build report


def note_of(folder):
    """Where the grader keeps what it has to say of a step folder's copy: in
    its own folder beside the scratch copy (contain.private_scratch), where
    no program of the student's can put anything, nor a link to /etc/shadow."""
    folder = Path(folder)
    return Path(contain.grader_folder(str(folder.parent))) / f"{folder.name}{NOTE}"


def notes(folder):
    said = contain.read_own(note_of(folder))
    return said.decode("utf-8", "replace") + "\n" if said else ""


# === Build =====================================================================


def copy_submission(root, scratch, submission=None):
    """Copy every step folder of the submission (a later step may build with an
    earlier one's files: 06 with 05's frame.c), and the kit's own common/
    library beside them: the grader trusts the kit's copy, not the student's.
    Nothing is copied through a link (see link_on_the_way). What the copies
    left out (copy_step's NOTE, also that of a class's staged copy) moves to
    the grader's own folder (note_of) before any code of the student's runs."""
    link = link_on_the_way(submission, root) if submission else None
    for step in registry.STEPS:
        if link is not None:
            note_of(scratch / step.folder).write_text(
                f"the step folders are in {readable(str(link.relative_to(submission)))}, a symbolic link (to "
                f"{readable(os.readlink(link))}): the grader does not follow links; put the step folders in a real folder"
            )
            continue
        if (root / step.folder).is_symlink():  # never followed: it could be the kit's solutions
            note_of(scratch / step.folder).write_text(
                f"{step.folder} is a symbolic link (to {os.readlink(root / step.folder)}), not a folder: "
                "the grader does not follow links; put the step's files in a real folder"
            )
        elif (root / step.folder).is_dir():
            copy_step(root / step.folder, scratch / step.folder, root)
            said = contain.read_own(scratch / step.folder / NOTE)
            if said:
                note_of(scratch / step.folder).write_bytes(said)
            if os.path.lexists(scratch / step.folder / NOTE):
                os.unlink(scratch / step.folder / NOTE)
    shutil.copytree(COMMON, scratch / "common")


def make_variables():
    """Extra `make` variables from the environment: SOCKLAB_CFLAGS and
    SOCKLAB_LDFLAGS, when set, are given as CFLAGS=... and LDFLAGS=... (the
    step Makefiles say `CFLAGS ?=`), with -B so that a binary the copy already
    holds is rebuilt with them; unset, make runs exactly as before."""
    flags = {name: os.environ.get(f"SOCKLAB_{name}") for name in ("CFLAGS", "LDFLAGS")}
    if os.environ.get("SOCKLAB_SANITIZE") == "1" and not flags["CFLAGS"]:
        flags["CFLAGS"] = SANITIZE_CFLAGS
    given = [f"{name}={value}" for name, value in flags.items() if value]
    return ["-B", *given] if given else []


def build(step, scratch, absent=""):
    """Build one step in the scratch copy; (outcome of the build test, built folder or None).
    absent: what to add when its folder is missing (the submission holds no step folder at all)."""
    started = time.monotonic()
    folder = scratch / step.folder
    outcome = Outcome(step, 0, "builds with make", 0, False)
    note = notes(folder)
    if not folder.is_dir():
        outcome.output = note or f"no folder {step.folder} in the submission: nothing to grade for this step" + (f"\n{absent}" if absent else "")
        outcome.verdict = outcome.output.splitlines()[0]
        return outcome, None
    # Run in the step folder, without make's "Entering directory '/tmp/...'"
    # lines: the log names the student's files, not the grader's scratch copy.
    make = sandbox.Program(
        ["make", "--no-print-directory", *make_variables()],
        folder,
        limits={"as": None, "cpu": BUILD_TIMEOUT, "nofile": 1024},
        label=f"make -C {step.folder}",
    )
    status = make.wait(BUILD_TIMEOUT)
    make.kill()
    log = engine.unscratched(make.stdout.data() + make.stderr.data(), scratch)
    outcome.seconds = time.monotonic() - started
    if status is None:
        outcome.verdict = f"make did not finish within {BUILD_TIMEOUT} s"
        outcome.output = note + f"{outcome.verdict}; its output:\n" + make_output(log)
        return outcome, None
    if status.code != 0:
        outcome.verdict = f"make {status}"
        outcome.output = note + f"{outcome.verdict}; its output:\n" + make_output(log)
        return outcome, None
    odd = {b: file_kind(mode) for b, mode in ((b, mode_of(folder / b)) for b in step.binaries) if mode and not stat.S_ISREG(mode)}
    if odd:  # a FIFO would block whoever opens it: never run, never read
        outcome.verdict = "make succeeded but left " + ", ".join(f"{b} as {kind}" for b, kind in odd.items()) + ", not a program"
        outcome.output = note + outcome.verdict + " (the Makefile must build an executable file: a compiled program, or a script with a #! line)"
        return outcome, None
    missing = [b for b in step.binaries if not os.access(folder / b, os.X_OK)]
    if missing:
        there = [b for b in missing if (folder / b).is_file()]
        outcome.verdict = f"make succeeded but left no executable named {', '.join(missing)} in {step.folder}"
        outcome.output = note + outcome.verdict + "\n" + (
            f"({', '.join(there)}: the file is there, but not executable: chmod +x it in the Makefile)" if there else
            "(the Makefile must build it; a script needs a shebang line and chmod +x)"
        )
        return outcome, None
    warnings = log.count(b"warning:")
    outcome.passed = True
    outcome.output = note + f"built in {outcome.seconds:.1f} s" + (f", with {plural(warnings, 'warning')}; make's output:\n{make_output(log)}" if warnings else "")
    return outcome, folder


def make_output(log):
    """make's output in a report: indented and escaped like a program's output
    (see text.lines_of), so that no line of it can pass for a line of the report."""
    return "\n".join("      " + line for line in lines_of(log, limit=60))


def mode_of(path):
    """The mode of what path names (links followed), or None if nothing."""
    try:
        return os.stat(path).st_mode
    except OSError:
        return None


# === Grade =====================================================================


def checks_of(step):
    return engine.checks_of(importlib.import_module(step.module))


def score(step, outcomes):
    """Share the step's points among its checks by weight (the build test is
    worth 0). A skipped check (not run here: REMOTE, or valgrind off for a
    memory check) counts neither as passed nor as failed: it is worth 0 and
    the step's points are shared among the checks that ran."""
    outcomes = [o for o in outcomes if not o.extra.get("skipped")]
    total = sum(o.weight for o in outcomes) or 1
    done = 0.0  # cumulative rounding: the shares add up to the step's points exactly
    for o in outcomes:
        before = round(step.points * done / total, 2)
        done += o.weight
        o.max_score = round(round(step.points * done / total, 2) - before, 2)
        o.score = o.max_score if o.passed else 0.0


def not_graded(step, index, name, why, weight=1, hint=None):
    """A check (or a build, index 0) that was not run: it fails with the reason."""
    return Outcome(step, index, name, weight, False, f"not graded: {why}", hint=hint, verdict=f"not graded: {why}")


def partial(report, done):
    """The report so far: the steps in done as graded, every other step as one
    failed test saying it was not graded yet. Written after each step, so a
    grading killed by a platform's time limit leaves a report that counts
    what was graded and says why the rest is missing."""
    shown = Report(report.submission, report.steps, isolation=report.isolation, scratch=report.scratch,
                   found=report.found, absent=report.absent)  # fmt: skip
    for step in report.steps:
        if step in done:
            shown.outcomes += report.of_step(step)
        else:
            missing = not_graded(step, 0, "graded", "the grading stopped before this step was finished (its time budget ran out)")
            missing.max_score = step.points
            shown.outcomes.append(missing)
    shown.seconds = time.monotonic() - report.started
    return shown


def grade(submission, steps=None, jobs=None, found=None, budget=None, checkpoint=None, seeds=None):
    """Grade the submission's steps; returns a Report.

    found: what to say of where the step folders are, when the submission is
    already the folder of the step folders (a class grading's staged copy: see
    classroom). budget: seconds of wall clock; a build or check not started by
    then is not run and scores 0, with the reason (one that runs ends within
    its own deadlines). checkpoint(report): called with the report so far
    (see partial()) each time a step is fully graded, in step order. seeds:
    the random sessions to play, what --seed/--sessions ask (a sessions.Seeds),
    or None: each check's own fixed seeds."""
    started = time.monotonic()
    deadline = started + budget if budget else None
    steps = list(steps or registry.STEPS)
    root, said = locate(submission)
    said = said if found is None else found
    jobs = jobs or cpu.checks_at_once(cpu.SHARE.cpus)
    report = Report(str(submission), steps, isolation=f"{sandbox.isolation()}; {cpu.SHARE.describe(jobs)}")
    report.started = started
    if any(os.path.lexists(root / s.folder) for s in registry.STEPS):
        report.found = said
    else:
        report.absent = said
    late = f"the grading's time budget of {budget:g} s ran out before it started" if budget else ""

    def run_in_time(step, spec, index, folder, scratch):
        if deadline and time.monotonic() > deadline:
            return not_graded(step, index, spec.name, late, spec.weight, spec.hint)
        return engine.run_check(step, spec, index, folder, scratch, seeds=seeds)

    def collect(pending):
        """Score each step once its checks are in, in step order, while the
        next steps build: a checkpoint never waits for a later step's build."""
        done = set()
        for step, items in iter(pending.get, None):
            outcomes = [item if isinstance(item, Outcome) else item.result() for item in items]
            score(step, outcomes[1:])
            report.outcomes += outcomes
            done.add(step)
            if checkpoint:
                try:
                    checkpoint(partial(report, done))
                except OSError as e:  # the final report is written anyway
                    print(f"socklab: could not write the report so far: {e}", file=sys.stderr)

    parent, scratch, _ = contain.private_scratch()
    try:
        scratch = Path(scratch)
        report.scratch = str(scratch)
        copy_submission(root, scratch, Path(submission))
        sandbox.hand_over(scratch)
        pending = queue.Queue()  # (step, [build Outcome, then an Outcome or a Future per check]), then None
        collector = threading.Thread(target=collect, args=(pending,))
        collector.start()
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for number, step in enumerate(steps):  # no step folder anywhere: the first build lists what there is
                    specs = list(enumerate(checks_of(step), start=1))
                    absent = report.absent if number == 0 else report.absent and f"(what the submission holds: see {steps[0].folder}'s build)"
                    if deadline and time.monotonic() > deadline:
                        built, folder = not_graded(step, 0, "builds with make", late), None
                    else:
                        built, folder = build(step, scratch, absent)
                    if folder is None:
                        reason = built.output if built.output.startswith("not graded") else "not run: the step did not build (see its build test)"
                        pending.put((step, [built] + [Outcome(step, index, spec.name, spec.weight, False, reason, hint=spec.hint, verdict=reason) for index, spec in specs]))
                        continue
                    # The memory check, the longest, starts first; reports keep the order.
                    running = {index: pool.submit(run_in_time, step, spec, index, folder, scratch)
                               for index, spec in sorted(specs, key=lambda item: not item[1].valgrind)}  # fmt: skip
                    pending.put((step, [built] + [running[index] for index, _ in specs]))
        finally:
            pending.put(None)
            collector.join()
    finally:
        contain.end_of_grading(sandbox.student_uid())  # nothing of the student's outlives its grading
        shutil.rmtree(parent, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report
