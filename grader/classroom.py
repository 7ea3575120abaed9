"""Grading a whole class: `make grade CLASS=DIR` (python3 -m grader class DIR).

Every sub-folder of DIR is one student: a folder of step folders, or a copy of
the kit. Each student is graded by a grader process of its own, so a crash, a
hang or a flood in one submission cannot touch another's result:

    DIR/alice ──copy──> stage/sub ──(grader in its own net namespace, as nobody)──> stage/out
                                                                         └──copy──> OUT/alice/

Isolation, the best this machine allows (the report says which was used):
  - a scratch copy of the submission: nothing in DIR is ever written;
  - a network namespace with only loopback (no network, no port collisions);
  - a user of its own when the grader runs as root (uid FIRST_UID + the
    student's rank, no login, no home): it cannot write to the kit, DIR, OUT
    or another student's copy, which is private to its own uid;
  - per program, as always: a PID namespace (or a subreaper) and rlimits;
  - a wall-clock budget per student: past it, everything it started is killed
    and the steps not graded count 0.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import class_report, registry, runner, sandbox

BUDGET = 900  # seconds of wall clock per student
FIRST_UID = 61000  # students are graded as uids 61000, 61001, ... (no passwd entry needed)


@dataclass
class Student:
    name: str
    source: Path
    out: Path
    total: float = 0.0
    max: float = 0.0
    steps: dict = field(default_factory=dict)  # folder -> (score, max)
    seconds: float = 0.0
    verdict: str = ""  # empty when graded to the end


# === Isolation =================================================================


# The interpreter each student's grader runs on: Debian's, which every user can
# run (the one that started us may live in root's home, out of a student uid's reach).
PYTHON = next((p for p in ("/usr/bin/python3",) if os.access(p, os.X_OK)), sys.executable)


# The kit's folders a student's code must not read while it is graded: the
# reference solutions, and the kit's tests (known-bug copies of the solutions).
HIDDEN = ("solutions", "tests")
# sh -c HIDE socklab-net N DIR1..DIRN COMMAND...: loopback up, an empty
# read-only tmpfs over each DIR (in this mount namespace only), then COMMAND.
HIDE = 'ip link set lo up && n=$1 && shift && while [ "$n" -gt 0 ]; do mount -t tmpfs -o ro,size=4k,mode=755 socklab-hidden "$1" || exit 1; shift; n=$((n - 1)); done && exec "$@"'


def _works(command):
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, cwd=registry.KIT)
        return done.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _drop(uid):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def isolation():
    """(command prefix, description, drops): the best isolation available;
    drops tells whether each student runs as a uid of its own."""
    prefix, said, drops = [], [], False
    if shutil.which("unshare") and shutil.which("ip"):
        net = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "socklab-net"]
        # and a mount namespace where the kit's answers are empty folders
        hidden = [str(registry.KIT / name) for name in HIDDEN if (registry.KIT / name).is_dir()]
        hide = ["unshare", "--net", "--mount", "sh", "-c", HIDE, "socklab-net", str(len(hidden)), *hidden]
        empty = ["sh", "-c", 'for d; do [ -z "$(ls -A "$d")" ] || exit 1; done', "probe", *hidden]
        if hidden and _works(hide + empty):
            prefix, said = hide, ["a network namespace per student (loopback only)", f"{' and '.join(HIDDEN)} hidden"]
        elif _works(net + ["true"]):
            prefix, said = net, ["a network namespace per student (loopback only)"]
    if not said:
        said = ["no network namespace here (ports shared, locked per grading)"]
    # The probe runs what a student's grading will run: can that uid import the grader?
    probe = [PYTHON, "-c", "import grader.runner"]
    if os.geteuid() == 0 and shutil.which("setpriv") and _works(prefix + _drop(FIRST_UID) + probe):
        drops = True
        said.append("an unprivileged uid per student")
    elif os.geteuid() == 0:
        said.append("students graded as root (no setpriv, or the kit is not readable by other users)")
    return prefix, ", ".join(said), drops


def _give(path, uid):
    """Hand a staged folder to the student's uid, private to it."""
    if uid is None:
        return
    sandbox.hand_over(path, uid)
    os.chmod(path, 0o700)


# === One student ===============================================================


def students_of(folder):
    """The students of a class folder: its sub-folders, hidden ones skipped."""
    found = [p for p in sorted(Path(folder).iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return found


def stage(student, uid):
    """A private copy of the student's folder (symlinks kept as links, never
    followed), owned by the uid that grades it; (stage folder, copy, out)."""
    staged = Path(tempfile.mkdtemp(prefix="socklab-class-"))
    copy = staged / "sub"
    copy.mkdir()
    root = runner.step_root(student.source)
    for step in registry.STEPS:
        if (root / step.folder).is_dir() and not (root / step.folder).is_symlink():
            runner.copy_step(root / step.folder, copy / step.folder)
    for name in ("out", "tmp"):
        (staged / name).mkdir()
    _give(staged, uid)
    return staged, copy, staged / "out"


def grade_student(student, steps, prefix, uid, budget, jobs_inside, isolation_said):
    """Grade one student in a grader process of its own (as uid, unless None);
    fills student."""
    started = time.monotonic()
    staged, copy, out = stage(student, uid)
    if uid is not None:
        prefix = prefix + _drop(uid)
    env = dict(
        os.environ, TMPDIR=str(staged / "tmp"), HOME=str(staged / "tmp"), SOCKLAB_ISOLATION=isolation_said,
        PYTHONUNBUFFERED="1",  # the feedback so far survives a grading stopped by the budget
    )  # fmt: skip
    env.pop("SOCKLAB_HINT_STATE", None)
    command = prefix + [
        PYTHON, "-m", "grader", "grade",
        "--submission", str(copy), "--out", str(out), "--jobs", str(jobs_inside), "--all-details",
    ]  # fmt: skip
    for step in steps:
        command += ["--step", step.folder]
    command += ["--found", runner.locate(student.source)[1]]  # the staged copy holds the step folders only
    student.out.mkdir(parents=True, exist_ok=True)
    console = student.out / "feedback.txt"
    try:
        with open(console, "wb") as sink:
            child = subprocess.Popen(
                command, cwd=registry.KIT, env=env, stdin=subprocess.DEVNULL,
                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            try:
                child.wait(budget)
            except subprocess.TimeoutExpired:
                student.verdict = f"stopped after its time budget of {budget} s: the steps not graded by then count 0"
                _kill(child)
        _cap(console)
        if student.verdict:
            with open(console, "a") as sink:
                sink.write(f"\nsocklab: {student.verdict}\n")
        results = out / "results.json"
        if results.is_file():
            shutil.copy(results, student.out / "results.json")
            if (out / "junit.xml").is_file():
                shutil.copy(out / "junit.xml", student.out / "junit.xml")
        elif not student.verdict:
            student.verdict = f"the grader wrote no report (exit status {child.returncode}); see feedback.txt"
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    student.seconds = time.monotonic() - started
    if student.verdict:
        _write_placeholder(student, steps, isolation_said)
    _tally(student, steps)


def _kill(child):
    """The student's grader and everything it started (its launchers kill
    their programs as soon as the grader is gone)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _cap(path, limit=4 << 20):
    """A feedback file stays readable: its head, if the grader wrote too much."""
    if path.stat().st_size > limit:
        with open(path, "r+b") as f:
            f.truncate(limit)
            f.write(b"\n[... feedback cut at 4 MiB]\n")


def _write_placeholder(student, steps, isolation_said):
    """A results.json that says why the student has no (complete) report."""
    results = student.out / "results.json"
    data = json.loads(results.read_text()) if results.is_file() else None
    if data is None:
        tests = [
            {"name": f"{s.folder}: graded", "number": f"{s.number}.0", "score": 0, "max_score": s.points,
             "status": "failed", "output": student.verdict, "tags": [s.folder]}
            for s in steps
        ]  # fmt: skip
        data = {"score": 0, "execution_time": round(student.seconds, 2), "tests": tests}
    kept = data.get("output", "")
    data["output"] = f"socklab: {student.verdict}. " + (kept if "Isolation:" in kept else f"Isolation: {isolation_said}.")
    results.write_text(json.dumps(data, indent=2) + "\n")


def _tally(student, steps):
    """Totals per step from the student's results.json."""
    data = json.loads((student.out / "results.json").read_text())
    for step in steps:
        tests = [t for t in data["tests"] if step.folder in t.get("tags", ())]
        student.steps[step.folder] = (round(sum(t["score"] for t in tests), 2), step.points)
    student.total = round(sum(s for s, _ in student.steps.values()), 2)
    student.max = sum(step.points for step in steps)


# === The class =================================================================


def write_gradebook(students, steps, out):
    path = Path(out) / "gradebook.csv"
    with open(path, "w", newline="") as f:
        book = csv.writer(f)
        book.writerow(["student", "total", "max"] + [s.folder for s in steps])
        for st in students:
            book.writerow([st.name, f"{st.total:g}", f"{st.max:g}"] + [f"{st.steps[s.folder][0]:g}" for s in steps])
    return path


class Progress:
    """One line per finished student; on a terminal, a line rewritten in place too."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def finished(self, st):
        with self.lock:
            self.done += 1
            note = f"  ({st.verdict})" if st.verdict else ""
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"[{self.done:>{len(str(self.total))}}/{self.total}] {st.name:<24} {st.total:>6g} / {st.max:g}"
                f"   {st.seconds:5.0f} s   (class: {elapsed:.0f} s){note}\n"
            )
            self.stream.flush()


def grade_class(folder, out, jobs=None, budget=BUDGET, steps=None):
    """Grade every student of folder; (students, seconds)."""
    folder, out = Path(folder), Path(out)
    steps = list(steps or registry.STEPS)
    if not folder.is_dir():
        raise LookupError(f"no folder {folder}")
    students = [Student(p.name, p, out / p.name) for p in students_of(folder)]
    if not students:
        raise LookupError(f"{folder} holds no student folders")
    jobs = max(1, jobs or os.cpu_count() or 1)
    # Checks mostly wait (for replies, exits, deadlines), above all those of a program
    # that hangs: each student gets three checks at once per core, whatever JOBS is
    # (a class of 40 on 2 cores: 263 s, against 296 s with two per core).
    inside = max(2, 3 * (os.cpu_count() or 1))
    prefix, said, drops = isolation()
    out.mkdir(parents=True, exist_ok=True)
    print(f"socklab: grading {len(students)} students of {folder}, {jobs} at a time; isolation: {said}", flush=True)
    progress = Progress(len(students))
    started = time.monotonic()

    def one(rank, st):
        try:
            grade_student(st, steps, prefix, FIRST_UID + rank if drops else None, budget, inside, said)
        except Exception as e:  # one student's trouble never stops the batch
            st.verdict = f"could not be graded: {type(e).__name__}: {e}"
            st.out.mkdir(parents=True, exist_ok=True)
            _write_placeholder(st, steps, said)
            _tally(st, steps)
        progress.finished(st)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, range(len(students)), students))
    book = write_gradebook(students, steps, out)
    took = time.monotonic() - started
    page = class_report.write(students, steps, out, said, took)
    print(f"Gradebook: {book}\nClass report: {page}\n{len(students)} students graded in {took:.0f} s")
    return students, took
