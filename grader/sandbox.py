"""Running untrusted student programs: limits, captured output, sure cleanup.

Every program runs under grader/launcher.py, a tiny init that lives in a PID
namespace of its own when the machine allows it (then everything the program
starts dies with it), and is a child subreaper otherwise. The grader talks to
it through two pipes: one-letter commands one way, the exit status the other.
"""

import fcntl
import functools
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections import deque
from pathlib import Path

from . import contain

LAUNCHER = Path(__file__).with_name("launcher.py")
OUTPUT_CAP = 4 << 20  # bytes of stdout (and of stderr) kept: half head, half tail

DEFAULT_LIMITS = {
    "cpu": 60,  # seconds of CPU: a spinning program is stopped
    "as": 1 << 30,  # address space: a runaway allocation fails instead of swapping
    "fsize": 64 << 20,  # largest file it may write
    "nofile": 1024,
    "core": 0,
}


# === Isolation =================================================================

# Who runs student code, and how a whole grading is contained: contain.py.
student_uid, hand_over = contain.student_uid, contain.hand_over


@functools.lru_cache(maxsize=None)
def pid_namespace_prefix():
    """The command that puts a program in a PID namespace of its own, or ().
    With a /proc of its own where the machine allows it: a program that reads
    /proc/self (LeakSanitizer does) must see its own namespace's, not the
    grader's (there, pid 2 is another process, or none)."""
    if os.environ.get("SOCKLAB_NO_PIDNS") or not shutil.which("unshare"):
        return ()
    pidns = ("unshare", "--pid", "--fork", "--kill-child")
    user = ("unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child")
    for prefix in (pidns + ("--mount-proc",), user + ("--mount-proc",), pidns, user):
        try:
            probe = subprocess.run(prefix + ("true",), capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def isolation():
    """One line for the report: how student programs are contained here, and
    how the whole grading is (contain.seal)."""
    prefix = pid_namespace_prefix()
    said = "PID namespace per program" if prefix else "child subreaper per program (no PID namespace here)"
    if prefix and "--mount-proc" not in prefix:
        said += " (sharing the grader's /proc: sanitizers' leak checks may fail)"
    if student_uid() is not None:
        said += f", programs run as uid {student_uid()}, {contain.task_limit_said()}"
    return f"{said}; {contain.SEALED or 'no namespaces (the machine does not allow them, or the grader is not root)'}"


# === Captured output ===========================================================


class Capture:
    """Drains one pipe in a thread, keeping the head and the tail under a cap."""

    def __init__(self, fd, ended, cap=OUTPUT_CAP):
        self.head = bytearray()
        self.tail = deque()
        self.tail_len = 0
        self.total = 0
        self.cap = cap
        self.fd = fd
        self.closed = False
        self.ended = ended  # a function: true once the program has exited
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._drain, args=(fd,), daemon=True)
        self.thread.start()

    def _drain(self, fd):
        # Each read happens under the lock, once poll() says it will not block:
        # whoever holds the lock sees every byte read so far, and the pipe
        # holds the rest (see settled()).
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            poller.poll()
            with self.changed:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.closed = True
                    self.changed.notify_all()
                    break
                self._keep(chunk)
                self.changed.notify_all()
        os.close(fd)

    def settled(self):
        """(Lock held, pipe open.) True once the program has exited and the pipe
        holds nothing more: the data is all it will ever write. The pipe does
        not close by then: the launcher above the program holds it too."""
        if not self.ended():
            return False
        pending = fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", pending)[0] == 0

    def _keep(self, chunk):
        self.total += len(chunk)
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail.append(chunk)
            self.tail_len += len(chunk)
            while self.tail_len - len(self.tail[0]) >= self.cap // 2:
                self.tail_len -= len(self.tail.popleft())
            excess = self.tail_len - self.cap // 2
            if excess > 0:
                self.tail[0] = self.tail[0][excess:]
                self.tail_len -= excess

    @property
    def truncated(self):
        return self.total > len(self.head) + self.tail_len

    def data(self):
        """What was kept: everything, unless more than the cap was written."""
        with self.changed:
            return bytes(self.head) + b"".join(self.tail)

    def wait_for(self, predicate, deadline):
        """Wait until predicate(data) holds, the pipe closes or the program has
        exited with nothing more in the pipe; returns the data."""
        with self.changed:
            while True:
                data = bytes(self.head) + b"".join(self.tail)
                if predicate(data) or self.closed or self.settled():
                    return data
                left = deadline - time.monotonic()
                if left <= 0:
                    return data
                self.changed.wait(min(left, 0.02))  # an exit is seen by asking: it wakes no one


def limit_text(value):
    """A limit as the launcher reads it: a number, none, or a path (no comma)."""
    if value is None:
        return "none"
    if isinstance(value, str):
        if "," in value or "=" in value:
            raise ValueError(f"a launcher option cannot hold ',' or '=': {value!r}")
        return value
    return str(int(value))


# === Exit status ===============================================================


class Status:
    """How a program ended: an exit code, a signal, or a failed exec."""

    def __init__(self, kind, value):
        self.kind, self.value = kind, value

    @classmethod
    def parse(cls, line):
        kind, _, value = line.strip().partition(" ")
        return cls(kind, int(value))

    @property
    def code(self):
        return self.value if self.kind == "exit" else None

    @property
    def signal(self):
        return self.value if self.kind == "signal" else None

    def __str__(self):
        if self.kind == "exit":
            return f"exited with status {self.value}"
        if self.kind == "signal":
            return f"was killed by {signal_name(self.value)}"
        return f"could not be started: {os.strerror(self.value)}"


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# === Programs ==================================================================


def limits_of(limits=None):
    """The rlimits a program runs with: DEFAULT_LIMITS, with these changes."""
    merged = {**DEFAULT_LIMITS, **(limits or {})}
    if os.environ.get("SOCKLAB_SANITIZE") == "1":  # ASan reserves terabytes of shadow memory
        merged["as"] = None
    return merged



class Program:
    """One student program, started under the launcher; see the module doc."""

    def __init__(self, argv, cwd, limits=None, stdin=None, env=None, label=None, pipes=None):
        """pipes: {descriptor number in the program: a file of the grader's}
        (see the launcher's pipe= option); env: by default contain.student_env."""
        self.argv = [str(a) for a in argv]
        self.label = label or " ".join(self.argv)
        self.status = None
        self.started = time.monotonic()
        limits = limits_of(limits)
        options = [f"pipe={number}:{fd}" for number, fd in (pipes or {}).items()]
        uid = student_uid()
        if uid is not None:
            limits["uid"], limits["nproc"] = uid, contain.max_tasks()
            cgroup = contain.task_cgroup(uid)
            options += [f"cgroup={cgroup}"] if cgroup else []
        control_r, self.control = os.pipe()
        self.status_r, status_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, self.stdin = os.pipe() if stdin == "pipe" else (None, None)
        command = (
            pid_namespace_prefix()
            + (sys.executable, "-S", "-E", str(LAUNCHER), str(control_r), str(status_w))
            + (",".join(f"{k}={limit_text(v)}" for k, v in limits.items()), *options, "--", *self.argv)
        )
        try:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env=contain.student_env(cwd) if env is None else env,
                stdin=in_r if in_r is not None else subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(control_r, status_w, *(pipes or {}).values()),
                start_new_session=True,
            )
        finally:
            for fd in (control_r, status_w, out_w, err_w, in_r):
                if fd is not None:
                    os.close(fd)
        self._status_lock = threading.Lock()
        self._output_settled = False

        def ended():
            return self._status(0) is not None

        self.stdout = Capture(out_r, ended)
        self.stderr = Capture(err_r, ended)

    # --- state ---

    def poll(self):
        """The exit status if the program has ended, else None (never blocks)."""
        return self.wait(0)

    def wait(self, timeout):
        """Wait up to timeout seconds for the program to end; its Status or None.
        Once it has ended, what it wrote is in stdout and stderr (read from
        the pipes), so a check that looks at them next sees all of it."""
        status = self._status(timeout)
        if status is not None and not self._output_settled:
            deadline = time.monotonic() + 2
            for capture in (self.stdout, self.stderr):
                capture.wait_for(lambda data: False, deadline)  # ends once the pipe is empty
            self._output_settled = True
        return status

    def _status(self, timeout):
        """The exit status, waiting up to timeout for it (not for the output).
        The wait holds no lock: a thread that only polls (the output's
        settled()) never waits behind another's long wait."""
        fd = self.status_r
        if self.status is None and fd is not None and timeout > 0:
            try:
                select.select([fd], [], [], timeout)
            except (OSError, ValueError):
                pass  # closed meanwhile by kill()
        with self._status_lock:
            if self.status is None and self.status_r is not None:
                ready, _, _ = select.select([self.status_r], [], [], 0)
                if ready:
                    line = os.read(self.status_r, 64).decode()
                    self.status = Status.parse(line) if line else Status("signal", signal.SIGKILL)
            return self.status

    @property
    def alive(self):
        return self.poll() is None

    # --- control ---

    def _command(self, letter):
        try:
            os.write(self.control, letter)
        except OSError:
            pass

    def signal(self, sig):
        """Send SIGTERM, SIGINT, SIGSTOP or SIGCONT to the program itself."""
        self._command({signal.SIGTERM: b"T", signal.SIGINT: b"I", signal.SIGSTOP: b"S", signal.SIGCONT: b"C"}[sig])

    def close_stdin(self):
        if self.stdin is not None:
            os.close(self.stdin)
            self.stdin = None

    def write_stdin(self, data):
        """Feed bytes to the program's stdin; False if it no longer reads it."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.stdin, view) :]
            return True
        except (BrokenPipeError, OSError):
            return False

    def kill(self):
        """Kill the program and everything it started; wait for the launcher."""
        if self.control is None:
            return
        self.close_stdin()
        os.close(self.control)  # the launcher kills every descendant, then exits
        self.control = None
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.wait(0.5)
        self.stdout.thread.join(2)
        self.stderr.thread.join(2)
        with self._status_lock:
            os.close(self.status_r)
            self.status_r = None

    @property
    def elapsed(self):
        return time.monotonic() - self.started


# === The student's processes, seen through /proc ================================


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state first, then
    the parent pid...; see proc(5), numbered from its field 3), or None if the
    process is gone or there is no /proc. The name, in parentheses, may hold
    spaces and parentheses itself: the fields start after its last ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return None


def process_table():
    """{pid: (state letter, parent pid)} of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(entry)
            if fields and len(fields) > 1:
                table[int(entry)] = (fields[0].decode(), int(fields[1]))
    return table


def children_of(table):
    """{parent pid: [its children's pids]} from a process_table()."""
    children = {}
    for pid, (_, ppid) in table.items():
        children.setdefault(ppid, []).append(pid)
    return children


def _is_harness(pid):
    """The grader's own processes around a program: its launcher, unshare."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # gone: nothing to measure
    return b"launcher.py" in cmdline or cmdline.startswith(b"unshare")


def student_pids(program):
    """The processes of a started program, the launcher and unshare left out,
    nearest first (the student's own process, then what it started)."""
    children, found, todo = children_of(process_table()), [], deque([program.process.pid])
    while todo:
        pid = todo.popleft()
        if pid != program.process.pid and not _is_harness(pid):
            found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def socket_inodes(program):
    """The inodes of the sockets the processes of a started program hold (as
    net.listener_inodes() gives them; none while it is still starting), or
    None when /proc does not tell."""
    pids = student_pids(program)
    inodes, seen = set(), not pids
    for pid in pids:
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # gone, or not ours to read
        seen = True
        for name in names:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    return inodes if seen else None


# read(), pread64(), readv(): the calls a program sleeps in when it waits for
# its stdin (fgets, getline and scanf end in read()), by architecture (the
# kernel's syscall tables: arch/x86/entry/syscalls/syscall_64.tbl,
# include/uapi/asm-generic/unistd.h for arm64 and riscv).
READ_CALLS = {"x86_64": {0, 17, 19}, "aarch64": {63, 65, 67}, "riscv64": {63, 65, 67}}


def sleeps_reading_stdin(program):
    """True if every thread of the program's processes sleeps in a read of
    file descriptor 0 (its stdin): it can see nothing else until a line is
    typed. False if one does anything else; None where /proc does not tell
    (another architecture, no access)."""
    calls = READ_CALLS.get(os.uname().machine)
    pids = student_pids(program)
    if calls is None or not pids:
        return None
    for pid in pids:
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return None
        for tid in threads:
            try:
                with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                    fields = f.read().split()  # "NR ARG1 ...", "-1 ..." (asleep outside a call) or "running"
            except OSError:
                return None
            if len(fields) < 2 or not fields[0].isdigit() or int(fields[0]) not in calls or int(fields[1], 16) != 0:
                return False
    return True


def student_pid(program):
    """The student's own process (the first the launcher started), or None."""
    found = student_pids(program)
    return found[0] if found else None


def process_state(pid):
    """The state letter of a process (R running, S sleeping in a call, T
    stopped, Z ended...), from /proc/PID/stat; None if it is gone or unknown."""
    fields = stat_fields(pid) if pid is not None else None
    return fields[0].decode() if fields else None


def peak_memory_kib(pid):
    """The peak resident size (VmHWM) of a process in KiB, or None."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else None
