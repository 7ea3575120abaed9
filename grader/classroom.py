"""Grading a whole class: `make grade CLASS=DIR` (python3 -m grader class DIR).

Every sub-folder of DIR is one student: a folder of step folders, or a copy of
the kit. Each student is graded by a grader process of its own, so a crash, a
hang or a flood in one submission cannot touch another's result:

    DIR/alice ──copy──> stage/sub ──(its own grader: root, in namespaces of its own)──> stage/out
                                     (make and programs: the student's own uid)            │
                                                              OUT/alice/ <──read back, checked──┘

Isolation, the best this machine allows (the report says which was used):
  - a scratch copy of the submission: nothing in DIR is ever written;
  - the student's grader (root) in network, mount and IPC namespaces of its
    own (contain.seal): loopback only, a private size-limited /tmp, and the
    class folder, OUT and the kit's answers, tests, history and builds out
    of sight;
  - the student's code (its make, its programs) as a uid of its own, taken
    from a pool for the student's grading: it can write only its scratch
    copy, never its report (which only root writes, in a folder no student
    uid can enter), nor anything of another student's; a process limit;
  - per program, as always: a PID namespace (or a subreaper) and rlimits;
  - a wall-clock budget per student: past it, everything it started is killed
    and the steps not graded count 0;
  - what comes back is read without following links and checked against the
    registry (known checks, each score within its share): a step whose report
    does not add up scores 0, saying why.
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

from . import class_report, contain, cpu, registry, report, runner
from .engine import Outcome

BUDGET = 900  # seconds of wall clock per student
REPORT_LIMIT = 16 << 20  # bytes of a student's results.json or junit.xml read back
OWN_FILES = ("index.html", "gradebook.csv")  # OUT's own: no student's folder may take their names


@dataclass
class Student:
    name: str
    source: Path
    out: Path  # OUT/<folder>: the name, unless it is one of OUT's own files (report_folders)
    total: float = 0.0
    max: float = 0.0
    steps: dict = field(default_factory=dict)  # folder -> (score, max)
    seconds: float = 0.0
    verdict: str = ""  # empty when graded to the end


# === Isolation =================================================================


PROBE = "from grader import contain; print(contain.seal())"  # a throwaway process: may it seal itself here?


def isolation(folder, out):
    """(description for the report, paths each student's grader hides)."""
    hide = [str(Path(folder).resolve()), str(Path(out).resolve())]
    try:
        probe = subprocess.run([sys.executable, "-c", PROBE], cwd=registry.KIT, capture_output=True, text=True, timeout=30)
        sealed = probe.stdout.strip() if probe.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        sealed = ""
    if sealed:
        said = [f"each student's grading in {sealed}; hidden: the kit's solutions, tests, history and builds, the class folder, OUT"]
    else:
        said = ["no namespaces here (ports shared, locked per grading; nothing hidden)"]
    if os.geteuid() == 0:
        said.append(f"student code as a uid of its own per student (never root), {contain.task_limit_said()}")
    else:
        said.append("student code runs as you (not root: no uid of its own)")
    return ", ".join(said), hide


# === One student ===============================================================


def students_of(folder):
    """The students of a class folder: its sub-folders, hidden ones skipped."""
    found = [p for p in sorted(Path(folder).iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return found


def report_folders(names):
    """{student name: their folder in OUT}: the name itself, unless it is one
    of OUT's own files (a student folder named index.html) or already taken;
    then "student-" before it (and "_" after, until it is free)."""
    folders, taken = {}, set(OWN_FILES)
    for name in names:
        folder = name if name not in taken else f"student-{name}"
        while folder in taken:
            folder += "_"
        folders[name] = folder
        taken.add(folder)
    return folders


def stage(student):
    """A copy of the student's step folders that only root can read (links
    kept as links, never followed); (stage folder, copy, out)."""
    staged = Path(tempfile.mkdtemp(prefix="socklab-class-"))  # 0700
    copy, out = staged / "sub", staged / "out"
    copy.mkdir()
    out.mkdir()
    root = runner.step_root(student.source)
    if runner.link_on_the_way(student.source, root) is None:
        for step in registry.STEPS:
            source = root / step.folder
            if source.is_symlink():  # kept as a link: the grader says why it is not graded
                os.symlink(os.readlink(source), copy / step.folder)
            elif source.is_dir():
                runner.copy_step(source, copy / step.folder, root)
    return staged, copy, out


def grade_student(student, steps, budget, jobs_inside, isolation_said, hide):
    """Grade one student in a grader process of its own (root, sealed; the
    student's code as a uid of its own); fills student."""
    started = time.monotonic()
    uid, lock, staged = None, None, None
    try:
        uid, lock = contain.take_uid() if os.geteuid() == 0 else (None, None)
        staged, copy, out = stage(student)
        run_grader(student, steps, budget, jobs_inside, hide, uid, copy, out)
    finally:
        contain.end_of_grading(uid)
        if lock is not None:
            os.close(lock)
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    student.seconds = time.monotonic() - started
    if student.verdict:
        _write_placeholder(student, steps, isolation_said)


def inner_budget(budget, steps):
    """The student's grader stops starting checks early enough that those
    running can end within the class budget (a check's own limit is its
    step's budget): it finishes by itself, and the hard stop at the class
    budget is only the backstop (what was graded by then counts anyway)."""
    return max(budget / 2, budget - 2 * max(step.budget for step in steps))


def run_grader(student, steps, budget, jobs_inside, hide, uid, copy, out):
    """The student's grader, on their staged copy: its console goes to their
    feedback.txt, its report (checked) to their results.json."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # the feedback so far survives a grading stopped by the budget
    env.pop("SOCKLAB_HINT_STATE", None)
    env.pop("SOCKLAB_STUDENT_UID", None)
    if uid is not None:
        env["SOCKLAB_STUDENT_UID"] = str(uid)
    command = [
        sys.executable, "-m", "grader", "grade",
        "--submission", str(copy), "--out", str(out), "--jobs", str(jobs_inside), "--all-details",
    ]  # fmt: skip
    for step in steps:
        command += ["--step", step.folder]
    command += ["--budget", f"{inner_budget(budget, steps):g}"]
    command.append(f"--found={runner.locate(student.source)[1]}")  # the staged copy holds the step folders only
    command.append(f"--student={student.name}")  # the feedback names the student, not the staged copy
    for path in hide:
        command += ["--hide", path]
    student.out.mkdir(parents=True, exist_ok=True)
    console = student.out / "feedback.txt"
    with open(console, "wb") as sink:
        child = subprocess.Popen(
            command, cwd=registry.KIT, env=env, stdin=subprocess.DEVNULL,
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            child.wait(budget)
        except subprocess.TimeoutExpired:
            student.verdict = f"stopped after its time budget of {budget:g} s: the steps graded by then count, the others 0"
            _kill(child)
    _cap(console)
    if student.verdict:
        with open(console, "a") as sink:
            sink.write(f"\nsocklab: {student.verdict}\n")
    results = read_report(out / "results.json", steps)
    if results is not None:
        write_json(student.out / "results.json", results)
        junit = contain.read_own(out / "junit.xml", REPORT_LIMIT)
        if junit is not None:
            (student.out / "junit.xml").write_bytes(junit)
    elif not student.verdict:
        student.verdict = f"the grader wrote no report (exit status {child.returncode}); see feedback.txt"


# === What comes back ===========================================================


def read_report(path, steps):
    """The results.json a student's grader wrote, read without following a
    link and checked against the registry: each step's tests must be exactly
    its checks (or the one test of a step not graded), under their numbers,
    each score 0 or its share of the step's points. A step whose tests are
    not scores 0, with one failed test saying why; None: no report at all."""
    raw = contain.read_own(path, REPORT_LIMIT)
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return None
    tests = [t for t in data["tests"] if isinstance(t, dict) and isinstance(t.get("tags"), list)]
    kept = []
    for step in steps:
        mine = [t for t in tests if step.folder in t["tags"]]
        why = step_problem(step, mine)
        kept += [not_believed(step, why)] if why else mine
    seconds = data.get("execution_time")
    return {
        "score": round(sum(t["score"] for t in kept), 2),
        "execution_time": seconds if isinstance(seconds, (int, float)) else 0,
        "output": str(data.get("output", "")),
        "tests": kept,
    }


def expected_tests(step, names):
    """{test name: (number, max_score)} of a step's report, as runner scores
    it, given the test names it holds: a memory check may be missing (not run:
    valgrind off, or a script), no other check."""
    named = lambda spec: f"{step.folder}: {spec.name}"  # report.test_name
    checks = [Outcome(step, index, spec.name, spec.weight, False)
              for index, spec in enumerate(runner.checks_of(step), start=1) if not spec.valgrind or named(spec) in names]  # fmt: skip
    runner.score(step, checks)
    built = Outcome(step, 0, "builds with make", 0, False)
    return {report.test_name(o): (report.test_number(o), o.max_score) for o in [built] + checks}


def step_problem(step, tests):
    """Why a step's tests cannot be believed, or "" if they can."""
    names = [str(t.get("name")) for t in tests]
    whole = {f"{step.folder}: graded": (f"{step.number}.0", step.points)}  # runner.partial: not graded in time
    expected = whole if names == list(whole) else expected_tests(step, names)
    if sorted(names) != sorted(expected):
        return f"its tests are not the step's checks ({len(tests)} test(s) for {len(expected)} check(s))"
    for t in tests:
        number, most = expected[t["name"]]
        score, top = t.get("score"), t.get("max_score")
        if t.get("number") != number or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (score, top)):
            return f"test {t['name']!r} does not have its number and scores"
        if abs(top - most) > 0.005 or not (score == 0 or abs(score - top) < 0.005):
            return f"test {t['name']!r} scores {score} of {top}, where its check is worth {most:g}"
        if t.get("status") not in ("passed", "failed") or (t["status"] == "failed" and score):
            return f"test {t['name']!r} has status {t.get('status')!r} with {score} points"
    return ""


def not_believed(step, why):
    return {
        "name": f"{step.folder}: graded", "number": f"{step.number}.0", "score": 0, "max_score": step.points,
        "status": "failed", "output": f"socklab: the report of this step was not believed ({why}): it scores 0",
        "tags": [step.folder],
    }  # fmt: skip


def write_json(path, data):
    path.write_text(json.dumps(data, indent=2) + "\n")


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
    data = json.loads(results.read_text()) if results.is_file() else None  # ours: read_report wrote it
    if data is None:
        tests = [
            {"name": f"{s.folder}: graded", "number": f"{s.number}.0", "score": 0, "max_score": s.points,
             "status": "failed", "output": student.verdict, "tags": [s.folder]}
            for s in steps
        ]  # fmt: skip
        data = {"score": 0, "execution_time": round(student.seconds, 2), "tests": tests}
    kept = data.get("output", "")
    data["output"] = f"socklab: {student.verdict}. " + (kept if "Isolation:" in kept else f"Isolation: {isolation_said}.")
    write_json(results, data)


def _tally(student, steps):
    """Totals per step from the student's results.json: the steps it holds
    tests of (a grading of some steps keeps the others: keep_earlier)."""
    data = json.loads((student.out / "results.json").read_text())
    student.steps = {}
    for step in steps:
        tests = [t for t in data["tests"] if step.folder in t.get("tags", ())]
        if tests:
            student.steps[step.folder] = (round(sum(t["score"] for t in tests), 2), step.points)
    student.total = round(sum(s for s, _ in student.steps.values()), 2)
    student.max = sum(most for _, most in student.steps.values())


# === Grading some steps again ==================================================
# make grade CLASS=DIR STEP=NN grades one step and keeps the rest: each
# student's results.json keeps the tests of the other steps from the earlier
# grading, and the gradebook keeps its other columns and its other students.


def earlier_results(student):
    """The tests of a student's earlier results.json (ours: written from a
    checked report), or []."""
    raw = contain.read_own(student.out / "results.json", REPORT_LIMIT)
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return []
    tests = data.get("tests") if isinstance(data, dict) else None
    return [t for t in tests if isinstance(t, dict) and isinstance(t.get("tags"), list)] if isinstance(tests, list) else []


def test_order(test):
    """Tests in step order, then check order ("6.10" after "6.9")."""
    return tuple(int(n) if n.isdigit() else 0 for n in str(test.get("number", "")).split("."))


def keep_earlier(student, steps, earlier):
    """Put back into the student's new results.json the earlier tests of the
    steps not graded this time."""
    graded = {s.folder for s in steps}
    kept = [t for t in earlier if not graded & set(t["tags"])]
    if not kept:
        return
    path = student.out / "results.json"
    data = json.loads(path.read_text())
    data["tests"] = sorted(kept + data["tests"], key=test_order)
    data["score"] = round(sum(t.get("score", 0) for t in data["tests"]), 2)
    data["output"] = f"{data.get('output', '')} (graded now: {', '.join(sorted(graded))}; the other steps as graded before.)"
    write_json(path, data)


def earlier_gradebook(out):
    """The rows of an earlier gradebook.csv ({student: row}), and its step columns."""
    path = Path(out) / "gradebook.csv"
    if not path.is_file() or path.is_symlink():
        return {}, []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    known = {s.folder for s in registry.STEPS}
    columns = [c for c in (rows[0].keys() if rows else []) if c in known]
    return {row["student"]: row for row in rows if row.get("student")}, columns


# === The class =================================================================


def write_gradebook(students, steps, out, others=()):
    """gradebook.csv, sorted by student: the students graded now, and the rows
    of others (an earlier gradebook's students not in this grading), as they
    were. A step a student has no grade for is an empty cell."""
    path = Path(out) / "gradebook.csv"
    rows = [[as_text(st.name), f"{st.total:g}", f"{st.max:g}"] + [f"{st.steps[s.folder][0]:g}" if s.folder in st.steps else "" for s in steps]
            for st in students]  # fmt: skip
    rows += [[row["student"], row.get("total", ""), row.get("max", "")] + [row.get(s.folder, "") for s in steps] for row in others]
    with open(path, "w", newline="") as f:
        book = csv.writer(f)
        book.writerow(["student", "total", "max"] + [s.folder for s in steps])
        book.writerows(sorted(rows, key=lambda row: row[0].lstrip("'")))
    return path


def as_text(cell):
    """A spreadsheet cell that stays text: a leading ' before what a
    spreadsheet would run as a formula (=cmd|..., +, -, @)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


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
    found = students_of(folder)
    folders = report_folders(p.name for p in found)
    students = [Student(p.name, p, out / folders[p.name]) for p in found]
    if not students:
        raise LookupError(f"{folder} holds no student folders")
    jobs = max(1, jobs or cpu.students_at_once(cpu.SHARE.cpus))
    # Checks mostly wait (for replies, exits, deadlines), above all those of a program
    # that hangs: each student gets three checks at once per CPU it may use, whatever JOBS is.
    inside = cpu.checks_per_student(cpu.SHARE.cpus)
    said, hide = isolation(folder, out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"socklab: grading {len(students)} students of {folder}, {jobs} at a time; isolation: {said}; {cpu.SHARE.describe(inside)} per student", flush=True)
    progress = Progress(len(students))
    started = time.monotonic()

    some = len(steps) < len(registry.STEPS)  # some steps only: the others are kept from an earlier grading
    book_rows, book_columns = earlier_gradebook(out) if some else ({}, [])
    columns = [s for s in registry.STEPS if s in steps or s.folder in book_columns]

    def one(st):
        earlier = earlier_results(st) if some else []
        try:
            grade_student(st, steps, budget, inside, said, hide)
        except Exception as e:  # one student's trouble never stops the batch
            st.verdict = f"could not be graded: {type(e).__name__}: {e}"
            st.out.mkdir(parents=True, exist_ok=True)
            _write_placeholder(st, steps, said)
        keep_earlier(st, steps, earlier)
        _tally(st, columns)
        progress.finished(st)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, students))
    graded = {as_text(st.name) for st in students}
    book = write_gradebook(students, columns, out, [row for name, row in book_rows.items() if name not in graded])
    took = time.monotonic() - started
    page = class_report.write(students, columns, out, said, took)
    print(f"Gradebook: {book}\nClass report: {page}\n{len(students)} students graded in {took:.0f} s")
    return students, took
