"""A tiny init for one student program (run as a separate interpreter).

    python3 -S -E launcher.py CONTROL_FD STATUS_FD LIMITS [OPTION...] -- PROGRAM ARGS...

The grader starts this script, usually as PID 1 of a fresh PID namespace
(`unshare --pid --fork --kill-child`). It forks the student's program in a new
session with resource limits and default signal dispositions, then:

- reports how the program ended on STATUS_FD, one line: `exit N`, `signal N`
  or `exec ERRNO` (the program could not be started);
- reads one-letter commands on CONTROL_FD: `T` sends SIGTERM, `I` sends SIGINT,
  `S` freezes the program (SIGSTOP), `C` lets it go on (SIGCONT), `K` kills
  everything the program started;
- when CONTROL_FD closes (the check is over, or the grader died), kills every
  process the program started, even those that called setsid(), and exits.

Without a PID namespace it makes itself a child subreaper, so orphaned
descendants are re-parented to it and can still be found and killed.

OPTIONs (the launcher runs as root when the grader does; the program never):
- `cgroup=PATH`: join that pids cgroup first (the student's process limit);
- `pipe=N:FD`: the program gets the write end of a pipe as descriptor N; what
  comes through it until the program ends is copied to FD, a file of the
  grader's (valgrind's reports). Data written after the program's end, by a
  child it left behind, is thrown away: only the program itself, while it
  ran, wrote what the grader reads.
"""

import os
import resource
import select
import sys
import time

# The C module under `signal`: the same calls and constants, without the enums
# whose import would slow down the start of every program the grader runs.
import _signal as signal

PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
LIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
    "nproc": resource.RLIMIT_NPROC,
}
DEFAULT_SIGNALS = ("SIGINT", "SIGTERM", "SIGPIPE", "SIGHUP", "SIGQUIT", "SIGCHLD", "SIGXFSZ", "SIGUSR1", "SIGUSR2")


def become_subreaper():
    import ctypes  # here only: every import slows down each program's start

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: leftovers are then killed by process group only


def start_program(argv, limits, keep_fds, pipes=()):
    """Fork the student's program; returns (pid, errno of a failed exec or 0).
    pipes: (descriptor number in the program, write end) pairs."""
    err_r, err_w = os.pipe2(os.O_CLOEXEC)  # closed by a successful exec
    pid = os.fork()
    if pid:
        os.close(err_w)
        data = os.read(err_r, 16)
        os.close(err_r)
        return pid, int(data or 0)
    try:
        os.close(err_r)
        os.setsid()
        for name in DEFAULT_SIGNALS:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for fd in keep_fds:
            os.close(fd)
        if limits.get("netless"):  # a network namespace of its own, without even loopback
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        if limits.get("hosts"):  # a mount namespace of its own, where /etc/hosts is that file
            private_hosts(limits["hosts"])
        for name, value in limits.items():
            if name in ("uid", "netless", "hosts"):
                continue
            soft = resource.RLIM_INFINITY if value is None else value
            try:
                resource.setrlimit(LIMITS[name], (soft, soft))
            except (ValueError, OSError):
                hard = resource.getrlimit(LIMITS[name])[1]
                resource.setrlimit(LIMITS[name], (min(soft, hard), hard))
        for number, write_end in pipes:
            os.dup2(write_end, number)  # inheritable: the program (valgrind) writes there
            os.close(write_end)
        path = on_path(argv[0])  # found while we may still read our own interpreter's modules
        if limits.get("uid") is not None:  # the grader is root: the program is not
            os.setgroups([])
            os.setgid(limits["uid"])
            os.setuid(limits["uid"])
        os.execv(path, argv)
    except OSError as e:
        os.write(err_w, str(e.errno or 1).encode())
    os._exit(127)


def on_path(name):
    """The program name names, searched in PATH as execvp would. Done here,
    before the program's uid is taken: execvp's own search imports a module,
    which that uid may not be able to read (an interpreter in root's home)."""
    if "/" in name:
        return name
    for folder in (os.environ.get("PATH") or os.defpath).split(":"):
        path = os.path.join(folder or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return name


def private_hosts(path):
    """Give this process (and what it execs) a mount namespace of its own in
    which the file at path stands for /etc/hosts: a host name then resolves to
    the addresses the grader chose, for this program only (root only)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    steps = (
        lambda: libc.unshare(CLONE_NEWNS),
        lambda: libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None),  # nothing leaks back to the grader's namespace
        lambda: libc.mount(path.encode(), b"/etc/hosts", None, MS_BIND, None),
    )
    for step in steps:
        if step() != 0:
            raise OSError(ctypes.get_errno(), "private /etc/hosts")


def descendants():
    """Every process below this one (subreaper mode), found through /proc."""
    me = os.getpid()
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [me]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_everything():
    """Kill every process the program started; loops until none is left."""
    if os.getpid() == 1:
        # PID 1 of our own namespace: -1 reaches exactly the processes inside it.
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap_all()
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = descendants()
        if not pids:
            break
        # Stop first, so a process that forks cannot outrun the killing.
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        reap_all()
        time.sleep(0.002)


def reap_all(main_pid=None, on_main=None):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == main_pid and on_main:
            on_main(status)


def report(status_fd, status):
    if os.WIFSIGNALED(status):
        line = f"signal {os.WTERMSIG(status)}\n"
    else:
        line = f"exit {os.WEXITSTATUS(status)}\n"
    try:
        os.write(status_fd, line.encode())
    except OSError:
        pass


class Pipes:
    """The pipes of the pipe=N:FD options: each copied to its file while the
    program runs, at most CAP bytes a file."""

    CAP = 64 << 20

    def __init__(self, options):
        self.reads, self.writes = {}, []  # read end -> [file descriptor, bytes left]; (N, write end)
        for spec in options.get("pipe", []):
            number, _, target = spec.partition(":")
            read_end, write_end = os.pipe()
            os.set_blocking(read_end, False)
            self.reads[read_end] = [int(target), self.CAP]
            self.writes.append((int(number), write_end))

    def started(self):
        for _, write_end in self.writes:
            os.close(write_end)

    def copy(self, read_end):
        """Copy what waits in one pipe; False once it is closed."""
        target = self.reads[read_end]
        while True:
            try:
                data = os.read(read_end, 65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            kept = data[: max(0, target[1])]
            target[1] -= len(data)
            while kept:
                kept = kept[os.write(target[0], kept) :]

    def ready(self, readable):
        for read_end in [r for r in readable if r in self.reads]:
            if not self.copy(read_end):
                self.close(read_end)

    def close(self, read_end):
        os.close(read_end)
        os.close(self.reads.pop(read_end)[0])

    def finish(self):
        """The program has ended: keep what it wrote, nothing later."""
        for read_end in list(self.reads):
            self.copy(read_end)
            self.close(read_end)


def parse_options(words):
    """OPTIONs: name=value words; a name may repeat (pipe)."""
    options = {}
    for word in words:
        name, _, value = word.partition("=")
        options.setdefault(name, []).append(value)
    return options


def join_cgroup(options):
    for path in options.get("cgroup", []):
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass  # the rlimits still bound the program


def parse_limits(text):
    """LIMITS is "name=value,..." (value: a number, none for no limit, or a
    path); json would cost each program's start a few milliseconds of imports."""
    limits = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        limits[name] = None if value == "none" else int(value) if value.lstrip("-").isdigit() else value
    return limits


def main():
    control_fd, status_fd = int(sys.argv[1]), int(sys.argv[2])
    limits = parse_limits(sys.argv[3])
    end = sys.argv.index("--")
    options = parse_options(sys.argv[4:end])
    argv = sys.argv[end + 1 :]
    join_cgroup(options)
    pipes = Pipes(options)
    if os.getpid() != 1:
        become_subreaper()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # The grader stops us through CONTROL_FD; plain signals must not kill us
    # before we have killed the program's descendants.
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    files = [target for target, _ in pipes.reads.values()]
    pid, exec_errno = start_program(argv, limits, (control_fd, status_fd, wake_r, wake_w, *pipes.reads, *files), pipes.writes)
    pipes.started()
    if exec_errno:
        pipes.finish()
        os.write(status_fd, f"exec {exec_errno}\n".encode())
        pid = None
    # Let go of the program's stdin, stdout and stderr: the grader must see the
    # end of its output once the program (and what it started) has closed them.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    commands = {b"T": signal.SIGTERM, b"I": signal.SIGINT, b"S": signal.SIGSTOP, b"C": signal.SIGCONT}

    def ended(status):
        pipes.finish()  # before the status: once the grader has it, the files are complete
        report(status_fd, status)

    while True:
        readable, _, _ = select.select([control_fd, wake_r, *pipes.reads], [], [])
        pipes.ready(readable)
        if wake_r in readable:
            os.read(wake_r, 512)
            reap_all(pid, ended)
        if control_fd in readable:
            data = os.read(control_fd, 64)
            if not data:
                break
            for letter in (data[i : i + 1] for i in range(len(data))):
                if letter == b"K":
                    kill_everything()
                elif letter in commands:
                    try:
                        os.kill(pid, commands[letter])
                    except ProcessLookupError:
                        pass
    kill_everything()
    reap_all(pid, ended)
    pipes.finish()


if __name__ == "__main__":
    main()
