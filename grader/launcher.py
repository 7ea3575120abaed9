"""A tiny init for one student program (run as a separate interpreter).

    python3 -S -E launcher.py CONTROL_FD STATUS_FD LIMITS -- PROGRAM ARGS...

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


def start_program(argv, limits, keep_fds):
    """Fork the student's program; returns (pid, errno of a failed exec or 0)."""
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
        if limits.get("uid") is not None:  # the grader is root: the program is not
            os.setgroups([])
            os.setgid(limits["uid"])
            os.setuid(limits["uid"])
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(err_w, str(e.errno or 1).encode())
    os._exit(127)


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
    argv = sys.argv[sys.argv.index("--") + 1 :]
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
    pid, exec_errno = start_program(argv, limits, (control_fd, status_fd, wake_r, wake_w))
    if exec_errno:
        os.write(status_fd, f"exec {exec_errno}\n".encode())
        pid = None
    # Let go of the program's stdin, stdout and stderr: the grader must see the
    # end of its output once the program (and what it started) has closed them.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    commands = {b"T": signal.SIGTERM, b"I": signal.SIGINT, b"S": signal.SIGSTOP, b"C": signal.SIGCONT}
    while True:
        readable, _, _ = select.select([control_fd, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 512)
            reap_all(pid, lambda status: report(status_fd, status))
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
    reap_all(pid, lambda status: report(status_fd, status))


if __name__ == "__main__":
    main()
