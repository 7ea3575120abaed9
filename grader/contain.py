"""Containing a whole grading: whose code runs as whom, what it can see, how
much it can take (the per-program part, launcher and rlimits, is sandbox.py).

When the grader runs as root (a class, `make grade SUBMISSION=` as root,
Gradescope's run_autograder), student code never runs as root nor as a uid
another grading uses:

  - a uid of its own per grading (per student in a class), from UID_POOL,
    locked in a root-only folder; its leftovers are killed before and after;
  - a private scratch folder (a 0710 parent only root and that uid can enter);
  - a process limit: a pids cgroup per uid where the machine has one, else
    RLIMIT_NPROC (the uid is the grading's alone, so that is the same);
  - seal(): network, mount and IPC namespaces of its own: loopback only, a
    size-limited private /tmp, /var/tmp, /dev/shm and /run/lock (gone with
    it), and the folders a student must not read (the kit's answers and
    history, a class's other students) masked by empty ones;
  - a reduced environment (student_env): nothing of the instructor's.

Without root (a student's laptop, a TA's shell), none of this applies: the
student's code runs as the person grading, who owns nothing else to protect.
"""

import atexit
import ctypes
import fcntl
import functools
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .registry import KIT

UID_POOL = range(62000, 63000)  # no passwd entry needed; far from the uids people and packages get
LOCK_FOLDERS = ("/run/socklab", os.path.join(tempfile.gettempdir(), "socklab-root"))
MAX_TASKS = 8192  # tasks (processes and threads) at once per grading (SOCKLAB_MAX_TASKS): a server with two threads per client holds 09's 2000 clients while other checks run
DISK_MIB = 512  # the private /tmp of a sealed grading (SOCKLAB_DISK_MIB): scratch copy, builds, temporary files
TEMP_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # writable by everyone: private once sealed
# What student code sees of the grader's environment (the rest is the instructor's own).
PASSED_ENV = ("PATH", "LANG", "LANGUAGE", "TERM", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


# === A uid of its own ==========================================================


def private_folder(path):
    """path as a folder only root can write (made 0700 if missing), or None if
    it is anything else: a link, someone else's, writable by others."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        return None
    return path


def uid_lock_folder():
    """The folder of the student uids' locks (the first of LOCK_FOLDERS that is
    root's alone), or None."""
    return next((f for f in map(private_folder, LOCK_FOLDERS) if f), None)


def take_uid():
    """(uid, lock): a uid of UID_POOL that no other grading of this machine
    holds, until the lock (a descriptor) is closed or this process ends.
    Whatever still runs as that uid is killed first."""
    folder = uid_lock_folder()
    if folder is None:
        raise RuntimeError(f"no private folder for the locks of the student uids ({', '.join(LOCK_FOLDERS)})")
    for uid in UID_POOL:
        fd = os.open(os.path.join(folder, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        kill_uid(uid)
        return uid, fd
    raise RuntimeError(f"every student uid ({UID_POOL.start}-{UID_POOL.stop - 1}) is taken by a grading")


_held = []  # the lock of this process's own uid (student_uid), held until it ends


@functools.lru_cache(maxsize=None)
def student_uid():
    """The uid student code (builds and programs) runs as, or None to run it as
    ourselves: when the grader runs as root, code it did not write never does.
    A class hands each student's grader its uid in SOCKLAB_STUDENT_UID (0 keeps
    root, at your risk); otherwise one is taken from the pool."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get("SOCKLAB_STUDENT_UID", "").strip()
    if wanted.isdigit():
        return int(wanted) or None
    uid, lock = take_uid()
    _held.append(lock)
    return uid


KILLER = """import os, signal, sys
uid = int(sys.argv[1])
os.setgroups([]); os.setgid(uid); os.setuid(uid)
for sig in (signal.SIGSTOP, signal.SIGKILL):  # stopped first: nothing forks while it dies
    try:
        os.kill(-1, sig)
    except ProcessLookupError:
        pass
"""


def processes_of(uid):
    """The pids of the processes running as uid, or None without /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    found = []
    for entry in entries:
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                found.append(int(entry))
        except OSError:
            pass
    return found


def kill_uid(uid):
    """Kill every process running as uid: a process that escaped its
    launcher (none should) cannot outlive its grading. kill(-1) sent as that
    uid reaches exactly its processes."""
    if uid is None:
        return
    for _ in range(20):
        left = processes_of(uid)
        if left == []:
            return
        subprocess.run([sys.executable, "-S", "-E", "-c", KILLER, str(uid)], timeout=10, stdin=subprocess.DEVNULL)
        if left is None:  # no /proc to look: killed once, blind
            return


def end_of_grading(uid):
    """Nothing of uid is left: its processes killed, its cgroup removed."""
    if uid is None:
        return
    kill_uid(uid)
    path = task_cgroup_path(uid)
    if path:
        try:
            os.rmdir(path)
        except OSError:
            pass


# === A process limit ===========================================================


def max_tasks():
    wanted = os.environ.get("SOCKLAB_MAX_TASKS", "").strip()
    return int(wanted) if wanted.isdigit() else MAX_TASKS


@functools.lru_cache(maxsize=None)
def cgroup_base():
    """Where pids cgroups can be made here (cgroup v1's pids hierarchy, or v2
    with the pids controller), or None: then RLIMIT_NPROC alone bounds a uid."""
    if os.geteuid() != 0:
        return None
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        probe = os.path.join(base, f"socklab-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
        except OSError:
            continue
        works = os.path.isfile(os.path.join(probe, "pids.max"))
        os.rmdir(probe)
        if works:
            return base
    return None


def task_cgroup_path(uid):
    base = cgroup_base()
    return os.path.join(base, f"socklab-{uid}") if base else None


def task_cgroup(uid):
    """The pids cgroup every program of uid joins (made on first use, at most
    max_tasks() tasks), or None where there is none."""
    path = task_cgroup_path(uid)
    if path is None:
        return None
    try:
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write(str(max_tasks()))
    except OSError:
        return None
    return path


def task_limit_said():
    how = "a pids cgroup" if cgroup_base() else "RLIMIT_NPROC"
    return f"at most {max_tasks()} processes and threads ({how})"


# === A private scratch folder ==================================================


def scratch_base():
    """Where scratch folders go: the usual temporary folder, unless the student
    uid could not reach it (a TMPDIR inside a private folder); then the first
    of /tmp, /var/tmp, /dev/shm that it can."""
    if PRIVATE_TMP:
        return "/tmp"  # the private tmpfs: its size is the grading's disk limit
    default = tempfile.gettempdir()
    if student_uid() is None:
        return default
    for candidate in (default, "/tmp", "/var/tmp", "/dev/shm"):
        path = os.path.realpath(candidate)
        if os.access(path, os.W_OK) and all(os.stat(p).st_mode & stat.S_IXOTH for p in ancestry(path)):
            return path
    return default


def ancestry(path):
    """path and every folder above it, up to /."""
    found = [path]
    while found[-1] != os.path.dirname(found[-1]):
        found.append(os.path.dirname(found[-1]))
    return found


def private_scratch(prefix="socklab-grade-"):
    """A new scratch folder: (the folder to remove afterwards, the student's
    work folder in it, a folder only root reads and writes for the grader's own
    files). The parent is 0710 with the student's group: no other uid enters."""
    parent = tempfile.mkdtemp(prefix=prefix, dir=scratch_base())
    work, own = os.path.join(parent, "work"), os.path.join(parent, "grader")
    os.mkdir(work, 0o755)  # the student's once the submission is copied in (hand_over)
    os.mkdir(own, 0o700)
    uid = student_uid()
    if uid is not None:
        os.chown(parent, 0, uid)
        os.chmod(parent, 0o710)
    return parent, work, own


@functools.lru_cache(maxsize=None)
def grader_folder(scratch):
    """The grader's own folder for a scratch work folder: the one beside it
    (private_scratch), or, for a scratch folder made otherwise (a test), a
    new private one, removed when the grader ends. No student uid can enter it."""
    own = os.path.join(os.path.dirname(os.path.abspath(scratch)), "grader")
    try:
        st = os.lstat(own)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077:
            return own
    except OSError:
        pass
    made = tempfile.mkdtemp(prefix="socklab-grader-")
    atexit.register(shutil.rmtree, made, True)
    return made


def hand_over(path, uid=None):
    """Give a folder the grader made (and everything in it) to uid, by default
    the student uid, so the programs run as that uid can build and write there
    (nothing to do when there is none)."""
    uid = student_uid() if uid is None else uid
    if uid is None:
        return
    for root, dirs, files in os.walk(path):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, uid, uid)


def read_own(path, limit=1 << 20):
    """The bytes of a file the grader wrote itself, or None: never through a
    link, never a FIFO or a device, never a file of someone else's (a student
    who replaced it) nor one with another name elsewhere (a hard link), at
    most limit bytes. For what root reads back from a student's reach."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
            return None
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# === The environment ===========================================================


def student_env(home):
    """The environment of student code: PATH, the locale, the terminal type,
    the time zone and the sanitizers' options from the grader's; HOME and
    TMPDIR of its own. Nothing else of the instructor's (a token, MAKEFLAGS,
    CC...) reaches a Makefile or a program."""
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV or k.startswith("LC_")}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = str(home)
    env["TMPDIR"] = "/tmp" if PRIVATE_TMP else str(home)
    return env


# === Namespaces: seal() ========================================================

SEALED = ""  # what seal() did (empty: nothing), for the report's isolation line
PRIVATE_TMP = False  # seal() put a private tmpfs on /tmp

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def disk_mib():
    wanted = os.environ.get("SOCKLAB_DISK_MIB", "").strip()
    return int(wanted) if wanted.isdigit() else DISK_MIB


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _is_real_dir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _mask(path, kept):
    """Hide path (an empty read-only folder over a folder, /dev/null over a
    file), except the kept paths inside it, which stay as they are."""
    try:
        st = os.lstat(path)
    except OSError:
        return []
    if path in kept or stat.S_ISLNK(st.st_mode):
        return []  # a mount over a link would land on its target
    if any(_under(k, path) for k in kept):
        if not stat.S_ISDIR(st.st_mode):
            return []
        return [m for name in sorted(os.listdir(path)) for m in _mask(os.path.join(path, name), kept)]
    if stat.S_ISDIR(st.st_mode):
        _mount("socklab-hidden", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=755")
    elif stat.S_ISREG(st.st_mode):
        _mount("/dev/null", path, None, MS_BIND)
    else:
        return []
    return [path]


def seal(keep=(), hide=()):
    """Put this process (root, and not yet threaded: a namespace is per thread)
    in network, mount and IPC namespaces of its own, with everything it
    starts: loopback only (no network, no service of the host, no port
    shared with another grading); one private tmpfs of disk_mib() MiB for
    every folder of TEMP_FOLDERS (nothing written there outlives the
    grading); each path of hide masked, except the kept paths inside it.
    Every path of keep (the kit, the submission, the reports) stays visible
    where it was. Returns what was done, for the report, or "" where the
    machine does not allow it (nothing changed then)."""
    global SEALED, PRIVATE_TMP
    if os.geteuid() != 0 or os.environ.get("SOCKLAB_NO_SEAL") == "1":
        return ""
    if threading.active_count() > 1:
        raise RuntimeError("seal() must run before any thread starts")
    kept = sorted({os.path.realpath(p) for p in keep if os.path.exists(p)})
    temps = [t for t in TEMP_FOLDERS if _is_real_dir(t) and not any(_under(t, k) for k in kept)]
    if "/tmp" not in temps:  # the reports go to /tmp itself: no private one
        temps = []
    # The way back if a step fails: the namespaces, then the root and the
    # working folder (setns() into a mount namespace moves both to that
    # namespace's own: in a chroot, a bare root file system, they differ).
    before = []
    try:
        for path in ("/proc/self/ns/net", "/proc/self/ns/mnt", "/proc/self/ns/ipc", "/", "."):
            before.append(os.open(path, os.O_RDONLY))
    except OSError:
        for fd in before:
            os.close(fd)
        return ""  # no /proc: no way back if a step failed, so no namespaces
    try:
        _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    except OSError:
        for fd in before:
            os.close(fd)
        return ""
    moved = {}
    try:
        # Opened in the new namespace (a bind mount's source must be in it), before /tmp is replaced.
        moved = {k: os.open(k, os.O_PATH) for k in kept if any(_under(k, t) for t in temps)}
        _loopback_up()
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        if temps:
            _mount("socklab-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk_mib()}m,mode=1777")
            for folder in temps[1:]:
                inside = os.path.join("/tmp", ".socklab" + folder.replace("/", "-"))
                os.mkdir(inside)
                os.chmod(inside, 0o1777)
                _mount(inside, folder, None, MS_BIND)
        for path, fd in moved.items():
            for folder in reversed(ancestry(path)):  # on the new tmpfs: root's alone, as the kept path is reached
                if not os.path.isdir(folder):
                    os.mkdir(folder, 0o700)  # a kept path is a folder (the kit, a submission, the reports)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        masked = [m for path in hide for m in _mask(os.path.realpath(path) if not os.path.islink(path) else path, kept)]
    except OSError as error:
        for fd, ns in zip(before, (CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC)):
            _libc().setns(fd, ns)
        os.fchdir(before[3])  # the root it had (a chroot's), then the folder it was in
        os.chroot(".")
        os.fchdir(before[4])
        print(f"socklab: namespaces could not be set up ({error}): graded without them", file=sys.stderr)
        return ""
    finally:
        for fd in before + list(moved.values()):
            os.close(fd)
    said = ["network, mount and IPC namespaces of its own (loopback only)"]
    PRIVATE_TMP = bool(temps)
    if temps:
        said.append(f"a private {', '.join(temps)} of {disk_mib()} MiB")
    if masked:
        said.append("hidden: " + ", ".join(shown(m) for m in masked))
    SEALED = "; ".join(said)
    return SEALED


def kit_secrets():
    """What student code must not read of the kit: the reference solutions,
    the kit's tests (known-bug copies of them), its history (git holds every
    solution, even where the folder is gone: the .git folder, or for a
    worktree the folders it names), what it built (reports, packages)."""
    found = [KIT / name for name in ("solutions", "tests", ".git", "build", "dist")]
    git = KIT / ".git"
    if git.is_file():  # a worktree: "gitdir: PATH", and PATH/commondir names the shared one
        try:
            own = git.read_text().partition("gitdir:")[2].strip()
            found.append(own)
            common = (Path(own) / "commondir").read_text().strip()
            found.append(os.path.normpath(os.path.join(own, common)))
        except OSError:
            pass
    return [str(p) for p in found]


def shown(path):
    """A masked path in the report: relative to the kit when inside it."""
    return os.path.relpath(path, KIT) if _under(path, str(KIT)) else path
