"""Grading integrity (issue 14): a hostile student can neither raise their
grade, nor read what is not theirs, nor stop the class.

Every attack is a submission, graded the way an instructor grades: a class
(`make grade CLASS=`) and one submission as root (`make grade SUBMISSION=`,
which is what Gradescope's run_autograder runs). Each test ends with the same
questions: the student's true score; nothing read that is not theirs (the
secrets planted around them are in none of their reports); no file changed
outside their scratch copy; no process left; the rest of the class graded as
it would be without them.

The spy (spy_step) is one Makefile that tries every attack in turn and prints
one word per success (READ, LISTED, REACHED, SEES, FORGED...), then PROBES
DONE: a test that finds that line and none of those words knows that each
attack ran and failed.
"""

import csv
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import KIT, PROGRAMS, registry, taken_again

CLIENT, SERVER = registry.find("01"), registry.find("02")
PYTHON = "/usr/bin/python3"  # what a student's Makefile finds on every Debian
MAX_TASKS = 64  # the process limit these gradings run with (SOCKLAB_MAX_TASKS): the spy tries more
DISK_MIB = 48  # the private disk these gradings run with (SOCKLAB_DISK_MIB): the spy tries more
SUCCESS_WORDS = ("READ ", "LISTED ", "REACHED ", "SEES ", "FORGED ", "OVERWROTE ", "UNMOUNTED ")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the defences under test are those of a grader run as root")


# === What a hostile student must never see, change or leave ====================


class World:
    """The secrets and canaries planted around a grading, and the checks that
    they were neither read, nor changed, nor left behind."""

    def __init__(self, tmp_path):
        self.token = secrets.token_hex(6)
        vault = tmp_path / "vault"  # root's own: no student uid may read it, only root following a link
        vault.mkdir(mode=0o700)
        self.secret_file = vault / "shadow"
        self.secret_file.write_text(f"root-only secret {self.token}-shadow\n")
        os.chmod(self.secret_file, 0o600)
        self.instructor = f"{self.token}-instructor"  # INSTRUCTOR_TOKEN in the grader's environment
        self.sentinels = {}  # label -> file planted in a kit folder a student must not read
        self.made = [f for f in (KIT / "build", KIT / "dist") if not f.exists()]
        for label, folder in (("build", KIT / "build"), ("dist", KIT / "dist")):
            folder.mkdir(exist_ok=True)
            path = folder / f"security-sentinel-{self.token}"
            path.write_text(f"{label} sentinel {self.token}-{label}\n")
            self.sentinels[label] = path
        self.canary = KIT / "build" / f"security-canary-{self.token}"
        self.canary.write_text("still here\n")
        self.pwned = KIT / "build" / f"security-pwned-{self.token}"
        self.leftover_files = [Path(d) / f"socklab-leftover-{self.token}" for d in ("/tmp", "/var/tmp", "/dev/shm")]
        self.listener = socket.socket()  # a service on the host's loopback, which a student must not reach
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.kit_before = fingerprint(KIT / "steps", KIT / "solutions", KIT / "grader")

    @property
    def port(self):
        return self.listener.getsockname()[1]

    def secrets(self):
        """Strings that must be in no report of a hostile student."""
        found = [self.secret_file.read_text().strip(), self.instructor]
        found += [path.read_text().strip() for path in self.sentinels.values()]
        found.append(solution_line())
        return found

    def env(self, **extra):
        env = dict(os.environ, INSTRUCTOR_TOKEN=self.instructor, SOCKLAB_MAX_TASKS=str(MAX_TASKS), SOCKLAB_DISK_MIB=str(DISK_MIB))
        env.pop("SOCKLAB_STUDENT_UID", None)
        env.update(extra)
        return env

    def check_untouched(self):
        """Nothing changed outside the scratch copies, nothing left behind."""
        assert self.canary.read_text() == "still here\n", "a student deleted a file of the kit"
        assert not self.pwned.exists(), "a student wrote into the kit"
        assert fingerprint(KIT / "steps", KIT / "solutions", KIT / "grader") == self.kit_before, "the kit changed"
        left = [str(p) for p in self.leftover_files if p.exists()]
        assert not left, f"files left behind by a student: {left}"
        try:
            self.listener.accept()
            raise AssertionError("a student program connected to a service on the host's loopback")
        except BlockingIOError:
            pass
        assert processes_with(self.token) == [], "processes left running"

    def close(self):
        self.listener.close()
        for path in [self.canary, self.pwned, *self.sentinels.values(), *self.leftover_files]:
            try:
                path.unlink()
            except OSError:
                pass
        for folder in self.made:
            try:
                folder.rmdir()  # if no other test wrote there meanwhile
            except OSError:
                pass


@pytest.fixture(scope="session")
def sealed():
    """The spy's network and hidden-folder attacks fail only where a grading
    can have namespaces of its own: elsewhere the report says so, and these
    tests have nothing to check."""
    from grader import classroom

    probe = subprocess.run([sys.executable, "-c", classroom.PROBE], cwd=KIT, capture_output=True, text=True, timeout=60)
    if not probe.stdout.strip():
        pytest.skip("no namespaces on this machine: a grading here says so in its report")


VALGRIND = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.close()


@pytest.fixture
def open_folder():
    """A folder every user may enter, outside the temporary folders a sealed
    grading replaces: where an instructor keeps a class (a home folder)."""
    base = next((b for b in ("/home", "/srv", "/opt") if os.path.isdir(b)), None)
    if base is None:
        pytest.skip("no /home, /srv or /opt here")
    path = Path(tempfile.mkdtemp(prefix="socklab-security-", dir=base))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def solution_line():
    """A line of the reference client that a starter does not hold."""
    ours = (KIT / "solutions" / CLIENT.folder / "client.c").read_text().splitlines()
    theirs = set((KIT / "steps" / CLIENT.folder / "client.c").read_text().splitlines())
    return next(line.strip() for line in ours if len(line.strip()) > 30 and line not in theirs)


def fingerprint(*folders):
    digest = hashlib.sha256()
    for folder in folders:
        for root, dirs, files in sorted(os.walk(folder)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(root, name)
                st = os.lstat(path)
                digest.update(f"{path} {st.st_mode}".encode())
                if stat.S_ISREG(st.st_mode):
                    with open(path, "rb") as f:
                        digest.update(f.read())
    return digest.hexdigest()


def processes_with(token, wait=5.0):
    """Processes whose command line holds token, once those ending have ended."""
    return processes(lambda pid: token in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"), wait)


def processes_of(uids, wait=5.0):
    """Processes still running as one of these uids, while no other grading
    has taken the uid from the pool since."""
    return processes(lambda pid: (uid := os.stat(f"/proc/{pid}").st_uid) in uids and not taken_again(uid), wait)


def processes(matches, wait):
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and matches(entry):
                    found.append(entry)
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# === The spy: every attack of the issue in one Makefile =========================


FORGED_REPORT = json.dumps(
    {"score": 20, "execution_time": 1, "output": "forged", "tests": [
        {"name": f"{s.folder}: builds with make", "number": f"{s.number}.0", "score": s.points, "max_score": s.points,
         "status": "passed", "output": "", "tags": [s.folder]} for s in (CLIENT, SERVER)]}
)  # fmt: skip


def spy_step(parent, world, reads=(), lists=()):
    """A step folder 01-client whose Makefile tries every attack, then fails.
    reads / lists: (label, path) pairs of files to read, folders to list."""
    folder = parent / CLIENT.folder
    folder.mkdir(parents=True)
    probes = "\n".join(f"read_probe {label} '{path}'" for label, path in reads)
    probes += "\n" + "\n".join(f"list_probe {label} '{path}'" for label, path in lists)
    t = world.token
    script = f"""exec 2>&1
read_probe() {{ if [ -n "$(head -c 64 "$2" 2>/dev/null)" ]; then echo "READ $1"; fi; }}
list_probe() {{ if [ -n "$(ls -A "$2" 2>/dev/null)" ]; then echo "LISTED $1"; fi; }}
for d in '{KIT}/solutions' '{KIT}/tests' '{KIT}/.git' '{KIT}/build'; do umount "$d" 2>/dev/null && echo "UNMOUNTED $d"; done
{probes}
env | grep -q '{world.instructor}' && echo "READ instructor-environment"
cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -q '{world.instructor}' && echo "READ environment-of-others"
# forge: an output folder above us (a class grading's)
d=$PWD
while [ "$d" != / ]; do
  d=$(dirname "$d")
  for o in "$d/out" "$d"; do
    if [ -f "$o/results.json" ] || [ "$(basename "$o")" = out ]; then
      if printf '%s' '{FORGED_REPORT}' > "$o/results.json" 2>/dev/null; then
        ln -sf '{world.secret_file}' "$o/junit.xml"; chmod 555 "$o"; echo "FORGED $o"
      fi
    fi
  done
done
# notes the grader reads as root, for the next step
ln -sf '{world.secret_file}' ../.{SERVER.folder}.socklab-note 2>/dev/null
mkdir -p ../{SERVER.folder} 2>/dev/null && ln -sf '{world.secret_file}' ../{SERVER.folder}/.socklab-note 2>/dev/null
# the kit: delete, write
rm -f '{world.canary}' 2>/dev/null; touch '{world.pwned}' 2>/dev/null
for f in {" ".join(f"'{p}'" for p in world.leftover_files)}; do echo left > "$f"; done
{PYTHON} - <<'EOF'
import os, socket, sys, time
try:
    socket.create_connection(("127.0.0.1", {world.port}), timeout=2).close()
    print("REACHED host-loopback")
except OSError:
    pass
for line in open("/proc/net/dev").read().splitlines()[2:]:
    if line.split(":")[0].strip() != "lo":
        print("SEES interface", line.split(":")[0].strip())
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    try:
        if os.stat(f"/proc/{{pid}}").st_uid == os.getuid():
            continue  # its own processes are its own
        open(f"/proc/{{pid}}/mem", "rb").close()
        print("READ memory of process", pid)
    except OSError:
        pass
    if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        print("REACHED process", pid, "with ptrace")
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
wrote = 0
try:
    while wrote < 3 * {DISK_MIB}:
        with open(f"filler-{{wrote}}", "wb") as f:
            f.write(b"x" * (8 << 20))
        wrote += 8
except OSError as e:
    print("disk full:", e.strerror)
print("WROTE", wrote, "MiB")
forked = 0
try:
    for _ in range(3 * {MAX_TASKS}):
        if os.fork() == 0:
            os.execv("{PYTHON}", ["{PYTHON}", "-c", "import time; time.sleep(600)", "{t}"])
        forked += 1
except OSError as e:
    print("fork failed:", e.strerror)
print("FORKED", forked)
sys.stdout.flush()
EOF
setsid {PYTHON} -c 'import time; time.sleep(600)' '{t}' </dev/null >/dev/null 2>&1 &
echo "PROBES DONE"
kill -9 -1
"""
    (folder / "attack.sh").write_text(script)
    (folder / "Makefile").write_text("client:\n\t@sh ./attack.sh\n\tfalse\n")
    return folder


def spy_said(text):
    """The spy's own account: which attacks worked, and its figures."""
    assert "WROTE" in text and "FORKED" in text, "the spy's disk and process attacks did not run:\n" + text[-3000:]
    wrote = max([int(n) for n in re.findall(r"WROTE (\d+) MiB", text)] or [0])
    forked = max([int(n) for n in re.findall(r"FORKED (\d+)", text)] or [0])
    return attacks_that_worked(text), wrote, forked


def attacks_that_worked(text):
    """The lines where an attack says it worked (it ran to its end: PROBES DONE)."""
    assert "PROBES DONE" in text, "the attacks did not all run:\n" + text[-3000:]
    return [line.strip() for line in text.splitlines() if any(w in line for w in SUCCESS_WORDS) and "probe" not in line]


def no_secrets(texts, world):
    for name, text in texts.items():
        for secret in world.secrets():
            assert secret not in text, f"{name} holds what the student must not read: {secret!r}"


# === One submission, graded as root =============================================


def grade_alone(submission, out, world, steps=(CLIENT,), valgrind=False, timeout=300):
    command = [sys.executable, "-m", "grader", "grade", "--submission", str(submission), "--out", str(out), "--all-details"]
    for step in steps:
        command += ["--step", step.folder]
    env = world.env(SOCKLAB_VALGRIND="1" if valgrind else "0")
    return subprocess.run(command, cwd=KIT, env=env, capture_output=True, text=True, timeout=timeout)


def reports_of(out):
    return {p.name: p.read_text(errors="replace") for p in Path(out).iterdir() if p.is_file()}


def test_alone_as_root_the_spy_gets_nothing(tmp_path, world, sealed):
    """make grade SUBMISSION= as root (Gradescope's case): notes planted as
    links, the host's loopback, the instructor's environment, the kit's
    answers, disk, processes, files left in /tmp: none of it works."""
    submission = tmp_path / "sub"
    reads = [("solutions", KIT / "solutions" / CLIENT.folder / "client.c"), ("tests", KIT / "tests" / "conftest.py"),
             ("build", world.sentinels["build"]), ("dist", world.sentinels["dist"]), ("vault", world.secret_file)]  # fmt: skip
    spy_step(submission, world, reads=reads, lists=[("solutions", KIT / "solutions")])
    (submission / SERVER.folder).mkdir()
    (submission / SERVER.folder / "Makefile").write_text("server:\n\tfalse\n")
    out = tmp_path / "out"
    done = grade_alone(submission, out, world, steps=(CLIENT, SERVER))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 0
    worked, wrote, forked = spy_said(results["tests"][0]["output"])
    assert worked == [], f"attacks that worked: {worked}"
    assert wrote <= DISK_MIB, f"the spy wrote {wrote} MiB, more than the {DISK_MIB} MiB it may"
    assert forked < MAX_TASKS, f"the spy started {forked} processes, more than the {MAX_TASKS} it may"
    no_secrets({**reports_of(out), "console": done.stdout + done.stderr}, world)
    world.check_untouched()


# === A class with hostile students among honest ones ===========================


def grade_class(klass, out, world, steps=(CLIENT,), valgrind=False, jobs=2, budget=120):
    command = [sys.executable, "-m", "grader", "class", str(klass), "--out", str(out), "--jobs", str(jobs), "--budget", str(budget)]
    for step in steps:
        command += ["--step", step.folder]
    env = world.env(SOCKLAB_VALGRIND="1" if valgrind else "0")
    done = subprocess.run(command, cwd=KIT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(out / "gradebook.csv", newline="") as f:  # a name a spreadsheet would run as a formula has a ' before it
        book = {re.sub(r"^'(?=[=+\-@])", "", row["student"]): row for row in csv.DictReader(f)}
    return done, book


def student_out(out, name):
    """The folder of a student's reports in OUT, as the class report links it
    (a name that is one of OUT's own files is not the folder's name)."""
    page = (Path(out) / "index.html").read_text()
    for link, shown in re.findall(r"<a href='([^']*)/feedback.txt'>([^<]*)</a>", page):
        if html.unescape(shown) == name:
            return Path(out) / urllib.parse.unquote(html.unescape(link))
    raise AssertionError(f"the class report links no feedback for {name!r}")


def honest(parent, name):
    """A student who did step 01 well: the reference client, with a marker
    of their own in it (other students must not read it)."""
    folder = parent / name / CLIENT.folder
    shutil.copytree(KIT / "solutions" / CLIENT.folder, folder)
    with open(folder / "client.c", "a") as f:
        f.write(f"/* {name}'s own work */\n")
    return parent / name


def uids_of(results_text):
    return {int(n) for n in re.findall(r"programs run as uid (\d+)", results_text)}


def test_a_class_with_spies_grades_the_honest_student_as_alone(open_folder, world, sealed):
    """A class of four: an honest student, a spy named index.html (every
    attack: forged results.json, a junit.xml link to a root-only file, the
    kit's .git/build/dist, the class folder, OUT, the instructor's
    environment, disk, processes), a submission that is a link to the kit's
    solutions, one that is a link to the honest student's folder. The class
    and OUT are in a folder every user may enter, as in a home folder."""
    klass, out = open_folder / "class", open_folder / "out"
    alice = honest(klass, f"alice-{world.token}")
    git = KIT / ".git"
    reads = [("solutions", KIT / "solutions" / CLIENT.folder / "client.c"), ("tests", KIT / "tests" / "conftest.py"),
             ("build", world.sentinels["build"]), ("dist", world.sentinels["dist"]), ("vault", world.secret_file),
             ("git", git / "HEAD" if git.is_dir() else git), ("classmate", alice / CLIENT.folder / "client.c")]  # fmt: skip
    lists = [("class-folder", klass), ("out", out), ("solutions", KIT / "solutions")]
    spy_step(klass / "index.html", world, reads=reads, lists=lists)
    thief = klass / "=HYPERLINK(\"evil.example\")"
    thief.mkdir()
    (thief / "steps").symlink_to(KIT / "solutions")
    copycat = klass / "<img src=x onerror=alert(1)>\ncopycat"
    copycat.mkdir()
    (copycat / "steps").symlink_to(f"../{alice.name}")
    before = fingerprint(klass)
    done, book = grade_class(klass, out, world, jobs=2)

    assert set(book) == {alice.name, "index.html", thief.name, copycat.name}
    assert book[alice.name]["total"] == "10", (student_out(out, alice.name) / "feedback.txt").read_text()[-3000:]
    alice_results = json.loads((student_out(out, alice.name) / "results.json").read_text())
    assert all(t["status"] == "passed" for t in alice_results["tests"])
    for name in ("index.html", thief.name, copycat.name):
        assert book[name]["total"] == "0", f"{name!r} scored {book[name]['total']}"
    spy = reports_of(student_out(out, "index.html"))
    worked, wrote, forked = spy_said(spy["feedback.txt"])
    assert worked == [], f"attacks that worked: {worked}"
    assert wrote <= DISK_MIB and forked < MAX_TASKS, (wrote, forked)
    for name in (thief.name, copycat.name):
        feedback = (student_out(out, name) / "feedback.txt").read_text()
        assert "symbolic link" in feedback and "not followed" in feedback, feedback[-2000:]
    for name in ("index.html", thief.name, copycat.name):
        no_secrets(reports_of(student_out(out, name)), world)
    assert not any(alice.name in text for text in spy.values()), "the spy saw the other students' names"
    # the class report and the gradebook keep every name as text
    page = (out / "index.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x" in page
    rows = (out / "gradebook.csv").read_text()
    assert '"=HYPERLINK' not in rows and "'=HYPERLINK" in rows, rows
    assert fingerprint(klass) == before, "the class folder changed"
    world.check_untouched()
    uids = set().union(*(uids_of((student_out(out, n) / "results.json").read_text()) for n in book))
    assert uids and processes_of(uids) == [], "processes left running as a student's uid"


# === Forged evidence, a FIFO for a program =====================================


HOSTILE = PROGRAMS / "hostile"
MEMORY = "memory check (valgrind)"


def forger(parent):
    """A client that leaks (its one bug) and forges valgrind's report."""
    folder = parent / CLIENT.folder
    folder.mkdir(parents=True)
    shutil.copy(PROGRAMS / "bugs" / "01-client-leaks-buffers.c", folder / "client.c")
    shutil.copy(HOSTILE / "forge-valgrind.c", folder)
    (folder / "Makefile").write_text("client: client.c forge-valgrind.c\n\t$(CC) -std=c17 -O2 -g -o $@ client.c forge-valgrind.c\n")
    return parent


def fifo(parent):
    """make leaves a FIFO where the program should be."""
    folder = parent / CLIENT.folder
    folder.mkdir(parents=True)
    (folder / "Makefile").write_text("client:\n\tmkfifo client\n\tchmod +x client\n")
    return parent


def only_memory_fails(results):
    """The forger's true score: everything but the memory check, failed for
    its leak (or for the forged report valgrind's own output was found to hold)."""
    failed = [t["name"] for t in results["tests"] if t["status"] != "passed"]
    assert failed == [f"{CLIENT.folder}: {MEMORY}"], f"failed: {failed}"
    memory = next(t for t in results["tests"] if t["name"].endswith(MEMORY))
    assert results["score"] == pytest.approx(CLIENT.points - memory["max_score"])
    assert "definitely lost" in memory["output"] or "not believed" in memory["output"], memory["output"][-2000:]


@VALGRIND
def test_alone_as_root_valgrind_cannot_be_fooled(tmp_path, world):
    submission, out = forger(tmp_path / "sub"), tmp_path / "out"
    done = grade_alone(submission, out, world, valgrind=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    only_memory_fails(json.loads((out / "results.json").read_text()))
    world.check_untouched()


def test_alone_as_root_a_fifo_for_a_program_is_a_verdict(tmp_path, world):
    started = time.monotonic()
    grade_alone(fifo(tmp_path / "sub"), tmp_path / "out", world, valgrind=True, timeout=120)  # valgrind: the grader opens the program
    assert time.monotonic() - started < 60
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["score"] == 0
    assert "FIFO" in results["tests"][0]["output"], results["tests"][0]["output"]


@VALGRIND
def test_a_class_with_a_forger_and_a_fifo(tmp_path, world):
    """valgrind on: the honest student passes everything, the forger fails
    only the memory check (its leak), the FIFO is a build failure."""
    klass, out = tmp_path / "class", tmp_path / "out"
    alice = honest(klass, f"alice-{world.token}")
    forger(klass / "forger")
    fifo(klass / "fifo")
    done, book = grade_class(klass, out, world, valgrind=True)
    assert book[alice.name]["total"] == "10", (student_out(out, alice.name) / "feedback.txt").read_text()[-3000:]
    only_memory_fails(json.loads((student_out(out, "forger") / "results.json").read_text()))
    assert book["fifo"]["total"] == "0"
    assert "FIFO" in (student_out(out, "fifo") / "feedback.txt").read_text()
    world.check_untouched()


# === Two gradings at once ======================================================


def test_two_gradings_at_once_cannot_touch_each_other(tmp_path, world):
    """Two `make grade SUBMISSION=` as root at the same time: the attacker
    overwrites every client.c it can find for 6 s, while the victim's build
    waits 2 s before compiling."""
    victim = honest(tmp_path, "victim")
    makefile = victim / CLIENT.folder / "Makefile"
    makefile.write_text(makefile.read_text().replace("client: client.c\n\t", "client: client.c\n\tsleep 2\n\t"))
    attacker = tmp_path / "attacker" / CLIENT.folder
    attacker.mkdir(parents=True)
    (attacker / "attack.sh").write_text(
        "end=$(($(date +%s) + 6))\n"
        'while [ "$(date +%s)" -lt "$end" ]; do\n'
        "  for f in $(find /tmp /var/tmp /dev/shm -maxdepth 4 -name client.c -path '*01-client*' 2>/dev/null); do\n"
        '    case "$f" in "$PWD"/*) continue;; esac\n'
        "    echo 'int main(void) { return 3; }' > \"$f\" 2>/dev/null && echo \"OVERWROTE $f\"\n"
        "  done\n"
        "  sleep 0.2\n"
        "done\n"
        'echo "PROBES DONE"\n'
    )
    (attacker / "Makefile").write_text("client:\n\t@sh ./attack.sh\n\tfalse\n")
    command = lambda who: [sys.executable, "-m", "grader", "grade", "--submission", str(tmp_path / who), "--out",
                           str(tmp_path / f"out-{who}"), "--step", CLIENT.folder]  # fmt: skip
    env = world.env(SOCKLAB_VALGRIND="0")
    runs = [subprocess.Popen(command(who), cwd=KIT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for who in ("attacker", "victim")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    victim_results = json.loads((tmp_path / "out-victim" / "results.json").read_text())
    assert victim_results["score"] == CLIENT.points, outputs[1][-3000:]
    attack = json.loads((tmp_path / "out-attacker" / "results.json").read_text())["tests"][0]["output"]
    assert attacks_that_worked(attack) == []
    mine, theirs = (uids_of(json.dumps(json.loads((tmp_path / f"out-{w}" / "results.json").read_text()))) for w in ("attacker", "victim"))
    assert mine and theirs and not mine & theirs, f"both gradings ran as uid {mine}"
    world.check_untouched()


# === The port locks ============================================================


PORTS = range(24000, 24100)  # every port the grader may pick, in these tests (net.PORT_RANGE)
TAKE_A_PORT = f"""import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from grader import net
net.LOCK_DIR = Path(sys.argv[2])
net.PORT_RANGE = ({PORTS.start}, {PORTS.stop - 1})
port = net.free_port()
print(port, port.lock_path)
"""


def take_a_port(kit_dir, lock_dir, uid=None):
    """net.free_port() in a process of its own (as uid), with LOCK_DIR there;
    (port, its lock file), or a failure if it does not answer in time."""
    command = [PYTHON, "-c", TAKE_A_PORT, str(kit_dir), str(lock_dir)]
    if uid is not None:
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + command
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    port, path = done.stdout.split()
    return int(port), Path(path)


@pytest.fixture
def sticky(tmp_path):
    """A folder like /tmp (sticky, writable by all) with a kit every user may read."""
    folder = Path(tempfile.mkdtemp(prefix="socklab-sticky-"))
    os.chmod(folder, 0o1777)
    kit = folder / "kit"
    shutil.copytree(KIT / "grader", kit / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    yield folder, kit
    shutil.rmtree(folder, ignore_errors=True)


OTHER = 62998  # a local user who made the lock folder first (not a uid the grader hands out)


@pytest.mark.parametrize("uid", [None, 62997], ids=["root", "user"])
def test_a_lock_folder_that_is_a_link_is_not_followed(sticky, uid):
    """LOCK_DIR made first by someone else as a link to a folder of root's
    (/etc, say): the grader neither writes there nor changes its mode."""
    folder, kit = sticky
    target = folder / "etc"
    target.mkdir(mode=0o755)
    (folder / "socklab-ports").symlink_to(target)
    os.lchown(folder / "socklab-ports", OTHER, OTHER)
    port, path = take_a_port(kit, folder / "socklab-ports", uid)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755, "the grader changed the mode of a link's target"
    assert list(target.iterdir()) == [], "the grader wrote through a link"
    assert not _under(path, target) and not _under(path, folder / "socklab-ports")


@pytest.mark.parametrize("uid", [None, 62997], ids=["root", "user"])
def test_a_lock_folder_made_by_someone_else_is_not_used(sticky, uid):
    """LOCK_DIR made first by another user, full of links to files the
    grader would create (as root: anywhere), one for every port."""
    folder, kit = sticky
    ports = folder / "socklab-ports"
    ports.mkdir()
    os.chmod(ports, 0o1777)
    victims = folder / "victims"
    victims.mkdir(mode=0o777)
    for port in PORTS:
        (ports / f"{port}.lock").symlink_to(victims / str(port))
    for path in [ports, *ports.iterdir()]:
        os.lchown(path, OTHER, OTHER)
    port, path = take_a_port(kit, ports, uid)
    assert list(victims.iterdir()) == [], "the grader created a file through a planted link"
    assert not _under(path, ports)


def test_fifos_for_lock_files_never_block(sticky):
    """The shared folder is root's, but a user filled it with FIFOs, one for
    every port: opening one to lock it would wait for a writer forever."""
    folder, kit = sticky
    ports = folder / "socklab-ports"
    ports.mkdir()
    os.chmod(ports, 0o1777)
    for port in PORTS:
        os.mkfifo(ports / f"{port}.lock", 0o666)
        os.lchown(ports / f"{port}.lock", OTHER, OTHER)
    port, path = take_a_port(kit, ports)
    assert not _under(path, ports) and stat.S_ISREG(path.lstat().st_mode) or not path.exists()


def _under(path, folder):
    return str(path).startswith(str(folder) + "/") or str(path) == str(folder)


# === What a student's grader hands back =========================================


def a_report(*steps, passed=True):
    """results.json as a student's grader writes it (every check passed)."""
    from grader import report, runner
    from grader.engine import Outcome

    graded = runner.Report("sub", list(steps))
    for step in steps:
        checks = [Outcome(step, i, spec.name, spec.weight, passed) for i, spec in enumerate(runner.checks_of(step), start=1)]
        runner.score(step, checks)
        graded.outcomes += [Outcome(step, 0, "builds with make", 0, True)] + checks
    return report.gradescope(graded)


def read_back(tmp_path, data, steps=(CLIENT, SERVER)):
    from grader import classroom

    path = tmp_path / "results.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return classroom.read_report(path, list(steps))


def scores(data):
    return {s.folder: round(sum(t["score"] for t in data["tests"] if s.folder in t["tags"]), 2) for s in (CLIENT, SERVER)}


def test_a_true_report_is_read_back_as_it_is(tmp_path):
    data = a_report(CLIENT, SERVER)
    back = read_back(tmp_path, data)
    assert back["tests"] == data["tests"] and back["score"] == 20
    starter = a_report(CLIENT, SERVER, passed=False)
    assert read_back(tmp_path, starter)["score"] == 0
    from grader import runner

    partial = runner.partial(runner.Report("sub", [CLIENT, SERVER], started=time.monotonic()), set())
    assert read_back(tmp_path, a_report_of(partial))["tests"] == a_report_of(partial)["tests"]


def a_report_of(graded):
    from grader import report

    return report.gradescope(graded)


@pytest.mark.parametrize(
    "tamper, why",
    [
        pytest.param(lambda d: d["tests"][1].update(score=99, max_score=99), "scores 99", id="a-check-worth-99"),
        pytest.param(lambda d: d["tests"][1].update(score=0.5), "scores 0.5", id="half-a-check"),
        pytest.param(lambda d: d["tests"].append(dict(d["tests"][1], name="01-client: a bonus", number="1.99")), "not the step's checks", id="a-made-up-check"),
        pytest.param(lambda d: d["tests"].pop(3), "not the step's checks", id="a-check-left-out"),
        pytest.param(lambda d: d["tests"][2].update(number="2.1"), "number", id="a-wrong-number"),
        pytest.param(lambda d: d["tests"][2].update(status="failed"), "status", id="failed-with-points"),
        pytest.param(lambda d: d["tests"][2].update(score="1"), "number and scores", id="a-score-as-text"),
    ],
)
def test_a_report_that_does_not_add_up_scores_0_for_that_step(tmp_path, tamper, why):
    data = a_report(CLIENT, SERVER)
    tamper(data)
    back = read_back(tmp_path, data)
    assert scores(back) == {CLIENT.folder: 0, SERVER.folder: SERVER.points}, scores(back)
    said = next(t for t in back["tests"] if CLIENT.folder in t["tags"])["output"]
    assert "not believed" in said and why in said, said
    assert back["score"] == SERVER.points


@pytest.mark.parametrize("raw", ["[]", "{}", '{"tests": "all passed"}', "not json", "", '{"tests": [1, null, []]}'], ids=["list", "empty", "text", "garbage", "nothing", "junk-tests"])
def test_a_report_that_is_not_a_report_is_no_report(tmp_path, raw):
    back = read_back(tmp_path, raw)
    assert back is None or back["score"] == 0


def test_a_report_is_never_read_through_a_link(tmp_path, world):
    from grader import classroom

    (tmp_path / "results.json").symlink_to(world.secret_file)
    assert classroom.read_report(tmp_path / "results.json", [CLIENT]) is None


def test_student_folders_in_out_never_take_outs_own_names():
    from grader import classroom

    names = ["alice", "index.html", "gradebook.csv", "student-index.html", "a\nb", "<b>x"]
    folders = classroom.report_folders(names)
    assert folders["alice"] == "alice" and folders["a\nb"] == "a\nb"
    assert not {"index.html", "gradebook.csv"} & set(folders.values())
    assert len(set(folders.values())) == len(names)


# === valgrind's report: the grader's, through a pipe =============================


LEAKS = """#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *p = malloc(64); p[0] = 1; p = 0;
    if (argc > 1 && fork() == 0) { /* left behind: a clean report into every descriptor, once valgrind is done */
        static const char clean[] = "<valgrindoutput></valgrindoutput>\\n";
        usleep(500000);
        for (int fd = 3; fd < 1024; fd++) {
            int copy = fcntl(fd, F_DUPFD, 3);
            if (copy >= 0 && write(copy, clean, strlen(clean)) < 0) close(copy);
        }
        _exit(0);
    }
    return 0;
}
"""


def valgrind_report(folder, program, nofile=1024, linger=0.0):
    """The memcheck Files of program run under valgrind to its end; linger:
    seconds before what it left behind is killed."""
    from grader import contain, memcheck, sandbox

    where = memcheck.files(contain.grader_folder(str(folder)), nofile)
    run = sandbox.Program(memcheck.command(where) + program, folder, limits={"as": None}, pipes=where.pipes)
    where.started()
    assert run.wait(60) is not None
    time.sleep(linger)
    run.kill()
    return where


@pytest.fixture
def leaky(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="socklab-leaky-"))
    os.chmod(folder, 0o1777)  # the student uid builds nothing here, but valgrind writes its temporary files
    (folder / "leaks.c").write_text(LEAKS)
    subprocess.run(["cc", "-g", "-o", str(folder / "leaks"), str(folder / "leaks.c")], check=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@VALGRIND
@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda xml: xml.replace("<error>", "<!--<error>", 1).replace("</valgrindoutput>", "--></valgrindoutput>"), id="errors-in-a-comment"),
        pytest.param(lambda xml: xml.replace("<error>", "<?x <error>", 1).replace("</valgrindoutput>", "?></valgrindoutput>"), id="errors-in-an-instruction"),
        pytest.param(lambda xml: '<?xml version="1.0"?>\n<valgrindoutput></valgrindoutput>\n' + xml, id="a-clean-report-before"),
    ],
)
def test_a_forged_valgrind_report_is_not_believed(leaky, forge):
    """What a program that reaches valgrind's output could make of it."""
    from grader import memcheck

    where = valgrind_report(leaky, [str(leaky / "leaks")])
    assert any("definitely lost" in p for p in memcheck.problems(memcheck.read(where)))
    xml = Path(where.xml).read_text()
    Path(where.xml).write_text(forge(xml))
    problems = memcheck.problems(memcheck.read(where))
    assert problems and "not believed" in problems[-1], problems


@VALGRIND
def test_what_a_program_leaves_behind_writes_into_valgrinds_report_is_thrown_away(leaky):
    """A child that outlives the program, holding valgrind's descriptors,
    writes a clean report once valgrind has written its own: too late."""
    from grader import memcheck

    where = valgrind_report(leaky, [str(leaky / "leaks"), "leave-a-child"], linger=1.5)  # it has written by then
    found = memcheck.read(where)
    assert found.complete and any("definitely lost" in p for p in memcheck.problems(found))


@VALGRIND
def test_valgrind_sees_no_descriptor_of_the_graders(leaky):
    """Its reports reach it under its own descriptors: its log lists none of
    them as the program's ("Open file descriptor 4: .../memcheck-....xml
    <inherited from parent>" in every starter's feedback, issue 15)."""
    where = valgrind_report(leaky, [str(leaky / "leaks")])
    log = Path(where.log).read_text()
    assert "FILE DESCRIPTORS: 3 open (3 std)" in log and "inherited from parent" not in log, log


def test_where_namespaces_are_not_allowed_the_grading_says_so(tmp_path, world):
    """A container that refuses namespaces (SOCKLAB_NO_SEAL=1 plays it): the
    grading works, student code still runs as a uid of its own, and the report
    says which isolation there was."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "check", "01", "--submission", str(honest(tmp_path, "sub")), "--out", str(out)]
    done = subprocess.run(command, cwd=KIT, env=world.env(SOCKLAB_VALGRIND="0", SOCKLAB_NO_SEAL="1"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == CLIENT.points
    assert "no namespaces" in results["output"] and uids_of(results["output"])


ROLLBACK = """import os, sys
sys.path.insert(0, sys.argv[1])
from grader import contain
namespaces = lambda: [os.readlink(f"/proc/self/ns/{ns}") for ns in ("net", "mnt", "ipc")]
before = namespaces()
def no_loopback():
    raise OSError(1, "no loopback here")
contain._loopback_up = no_loopback
said = contain.seal(keep=[sys.argv[1]], hide=contain.kit_secrets())
print(repr(said), namespaces() == before, contain.PRIVATE_TMP, bool(os.listdir(sys.argv[1] + "/solutions")))
"""


def test_namespaces_half_set_up_are_left_whole():
    """A machine that allows the namespaces but not a step of their setup:
    the grader is back where it was (its network, its /tmp, the kit as it
    is), graded without namespaces, and says so."""
    done = subprocess.run([sys.executable, "-c", ROLLBACK, str(KIT)], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["''", "True", "False", "True"], done.stdout + done.stderr
    assert "namespaces could not be set up (" in done.stderr


# === What is copied of a submission ============================================


def test_special_files_and_hard_links_in_a_submission_are_not_copied(tmp_path, world):
    """An archive unpacked as root can hold a FIFO (copying it would wait
    forever), a device (copying /dev/zero would fill the disk) and a hard
    link to a file only root may read (root would copy its content)."""
    submission = honest(tmp_path, "sub")
    folder = submission / CLIENT.folder
    os.mkfifo(folder / "pipe")
    os.mknod(folder / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    os.link(world.secret_file, folder / "shadow")
    show = "client: client.c\n\t-cat shadow\n\t@echo 'warning: this line shows the output of make in the report'\n\t"
    (folder / "Makefile").write_text((folder / "Makefile").read_text().replace("client: client.c\n\t", show))
    started = time.monotonic()
    done = grade_alone(submission, tmp_path / "out", world, timeout=120)
    assert time.monotonic() - started < 60, "the copy took too long"
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    build = results["tests"][0]["output"]
    assert "pipe (a FIFO (named pipe))" in build and "zero (a device)" in build and "shadow (a hard link" in build, build
    assert results["score"] == CLIENT.points, done.stdout[-3000:]
    no_secrets({**reports_of(tmp_path / "out"), "console": done.stdout}, world)


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a process as a pool uid: root only")
def test_a_process_of_a_uid_no_grading_holds_is_a_leftover_and_not_once_another_takes_it():
    """The leftover checks above count a process of a student's uid, unless
    another grading (a test beside this one) has taken that uid from the pool
    since: its processes are then that grading's (CI once failed the class
    test on the Gradescope test's hostile 'sleep 600', run as the same uid
    after the class had given it back)."""
    from grader import contain

    uid = contain.UID_POOL[-1]  # given back, as at the end of a grading: the pool hands out its lowest free uid, never this one while tests run
    assert not taken_again(uid), "another grading holds the pool's last uid"
    sleeper = subprocess.Popen(["sleep", "30"], user=uid, group=uid, stdin=subprocess.DEVNULL)
    try:
        assert processes_of({uid}, wait=0) != [], "a process of a free uid is a leftover"
        folder = contain.uid_lock_folder()
        fd = os.open(os.path.join(folder, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another grading takes it (without killing it, as take_uid would)
            assert processes_of({uid}, wait=0) == [], "the uid's processes now belong to the grading holding it"
        finally:
            os.close(fd)
    finally:
        sleeper.kill()
        sleeper.wait()
