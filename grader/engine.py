"""The session engine: what a check can say, and how its verdict is explained.

A check is a function of one argument, the Trial `t`, decorated with @check:

    @check("prints a greeting sent whole")
    def greeting_whole(t):
        server = t.serve()
        client = t.run("127.0.0.1", server.port)
        conn = server.accept(client)
        conn.send(GREETING)
        conn.close()
        client.expect_stdout(GREETING)
        client.expect_exit(0)

Every wait has a deadline (the step's timeout, scaled for slow machines and for
valgrind); every program, port and socket a check opens is closed by the engine
when the check ends, pass or fail.
"""

import contextlib
import fcntl
import os
import re
import select
import signal
import socket
import struct
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import contain, cpu, diagnoses, memcheck, net, sandbox
from .diagnoses import status_hint  # noqa: F401 (the checks use it)
from .net import CheckFailed
from .text import show, lines_of, first_difference, readable

TIMEOUT_SCALE = cpu.SHARE.scale  # 2 with half a CPU; SOCKLAB_TIMEOUT_SCALE overrides it (grader/cpu.py)
VALGRIND_SLOWDOWN = 2  # deadlines of a check that runs under valgrind are this much longer (its start-up: about 1 s)
ENDING_GRACE = 0.1  # seconds a failed check's programs may take to end on their own before they are judged
BUSY_STATES = ("R", "D")  # /proc states of a process not asleep in a call: running or waiting for a CPU, or for the disk


def sanitized():
    """Why programs run without valgrind under SOCKLAB_SANITIZE=1, else None."""
    if os.environ.get("SOCKLAB_SANITIZE") == "1":
        return "built with ASan/UBSan (SOCKLAB_SANITIZE=1): valgrind does not mix with them"
    return None


def without_valgrind(path):
    """Why the program at path runs without valgrind (None: it runs under it).
    Under SOCKLAB_SANITIZE=1 a native program checks its own memory, if it was
    built with ASan: a Makefile that sets CFLAGS itself may have left it out."""
    if sanitized() and memcheck.is_native(path):
        if sanitizer_built(path):
            return sanitized()
        return "SOCKLAB_SANITIZE=1, but your program was built without -fsanitize=address (does its Makefile set CFLAGS itself?)"
    return memcheck.skipped_because(path)


def sanitizer_built(path):
    """True if the binary at path carries AddressSanitizer (it calls __asan_init)."""
    try:
        return b"__asan_init" in Path(path).read_bytes()
    except OSError:
        return False


# === Declaring checks ==========================================================

# A step's points are shared among its checks by weight (runner.score): what
# breaking the promise a check probes costs. Each step README shows them.
CORE = 4  # the step's reason to exist: clients served, nobody blocked, no spin, memory intact
RULE = 2  # a rule SPEC states for the step (the default)
DETAIL = 1  # the wording and exit status of an error path, the usage line
WEIGHTS = {CORE: "core", RULE: "rule", DETAIL: "detail"}


def weight_label(weight):
    """How a step README shows a check's weight: "core, weight 4"."""
    return f"{WEIGHTS[weight]}, weight {weight:g}" if weight in WEIGHTS else f"weight {weight:g}"


@dataclass
class CheckSpec:
    name: str
    func: object
    weight: float = RULE
    valgrind: bool = False  # runs under valgrind: longer deadlines
    hint: str = None  # the hint file (e.g. "2") that helps when this check fails
    remote: bool = False  # also runs against a server running elsewhere (make check REMOTE=HOST:PORT)


def check(name, weight=RULE, valgrind=False, hint=None, remote=False):
    """Declare a check; its name says what behaviour it probes; its weight
    (CORE, RULE or DETAIL) what breaking it costs. remote=True:
    it only connects to the server (no start, stop, signal, stdout or valgrind),
    so it can probe a server already running elsewhere (grader/remote.py)."""

    def declare(func):
        func.check = CheckSpec(name, func, weight, valgrind, hint, remote)
        return func

    return declare


def checks_of(module):
    """The checks of a step module, in the order they are written."""
    return [f.check for f in vars(module).values() if callable(f) and hasattr(f, "check")]


# === Student programs ==========================================================


def unscratched(data, scratch):
    """Output as shown to a student: the scratch copy's paths (a linker's
    message, a sanitizer's stack, a program printing its folder) relative to
    it, "01-client/client.c:12", as it is deleted once the grading is done."""
    return data.replace(str(scratch).encode() + b"/", b"")


def shown_path(arg, cwd, scratch):
    """An argument as the student reads it: a path in the grader's scratch copy
    (deleted after the grading) relative to the program's folder."""
    if arg.startswith(str(scratch) + os.sep):
        relative = os.path.relpath(arg, cwd)
        return relative if relative.startswith("..") else "./" + relative
    return arg


def listens_itself(server, port):
    """True unless the listeners on port are known, and none is a socket of
    the server's own processes (where /proc does not tell, True)."""
    theirs = net.listener_inodes(port)
    if theirs is None:
        return True
    mine = sandbox.socket_inodes(server)
    return mine is None or bool(theirs & mine)


class Run(sandbox.Program):
    """A student program seen from a check: the Program plus expectations."""

    def __init__(self, trial, argv, cwd, stdin=None, valgrind=False, limits=None):
        self.trial = trial
        self.shown = " ".join(shown_path(a, cwd, trial.scratch) for a in map(str, argv))
        self.valgrind_files = None
        self.no_valgrind = valgrind and without_valgrind(argv[0])
        if valgrind and not self.no_valgrind:
            self.valgrind_files = memcheck.files(trial.own_files, sandbox.limits_of(limits)["nofile"])
            argv = memcheck.command(self.valgrind_files) + list(argv)
            limits = {**(limits or {}), "as": None, "cpu": 300}
        pipes = self.valgrind_files.pipes if self.valgrind_files else None
        try:
            super().__init__(argv, cwd, limits=limits, stdin=stdin, env=trial.env, label=self.shown, pipes=pipes)
        finally:
            if self.valgrind_files:
                self.valgrind_files.started()
        self.final = None  # how it ended, seen just before the grader's cleanup
        self.typed = bytearray()  # everything typed at its stdin
        self.signals_sent = set()  # the signals the grader sent it
        self.asked_to_end = False  # the grader signalled it or closed its stdin
        if self.no_valgrind:
            trial.log("note", f"{self.shown} runs without valgrind: {self.no_valgrind}")
        self.stdout_seen = 0  # bytes of stdout already consumed by expect_line
        trial.log("run", f"$ {self.shown}")

    def remember(self):
        """Make this program part of the failure report of its check."""
        self.trial.programs.append(self)
        return self

    # --- exit ---

    def expect_exit(self, code, within=None):
        """The program must end by itself with this exit status."""
        within = self.trial.within(within)
        status = self.wait(within)
        if status is None:
            raise CheckFailed(
                f"expected your program to exit with status {code}; it was still running after {within:g} s",
                hint=self.trial.hint_running(self),
            )
        if status.code != code:
            raise CheckFailed(f"expected your program to exit with status {code}; it {status}")
        self.trial.log("note", f"{self.shown} exited with status {code}")

    def settled_status(self, within=1.0):
        """Its Status if it has ended, else None. A program that has died
        closes its sockets and pipes before its launcher reports how it
        ended: when its process is gone (or a zombie), that report is
        waited for, at most within seconds, so a verdict never calls it
        running when it has just ended."""
        status = self.poll()
        if status is None and os.path.isdir("/proc/self"):
            if sandbox.process_state(sandbox.student_pid(self)) in (None, "Z"):
                status = self.wait(within * TIMEOUT_SCALE)
        return status

    def expect_running(self, why=""):
        status = self.settled_status()
        if status is not None:
            raise CheckFailed(f"your program {status}{' ' + why if why else ''}; it should still be running")

    def freeze(self):
        """Stop the program (SIGSTOP) until thaw(): connections made meanwhile
        wait in its listen backlog, so the grader decides what they look like
        (closed, reset) by the time it accepts them, whatever its speed."""
        self.signal(signal.SIGSTOP)
        self.trial.closers.append(self.thaw)  # never leave it frozen

    def thaw(self):
        self.signal(signal.SIGCONT)

    def wait_blocked(self, within=1.0):
        """Wait (at most `within` s, scaled) until the program sleeps in a system call,
        such as accept() or poll(), having done the work it had. A signal then
        finds it blocked: sent while it was still between two calls (just after
        answering the grader), it would let a server that only checks a flag at
        the top of its loop pass, although SA_RESTART restarts a blocked
        accept() forever. An idle measure that starts then counts no pending
        work. (/proc only: elsewhere it returns at once.)"""
        deadline, pid = time.monotonic() + self.trial.within(within), sandbox.student_pid(self)
        while time.monotonic() < deadline and sandbox.process_state(pid) in BUSY_STATES:
            time.sleep(0.001)

    def stop(self, sig=signal.SIGTERM, within=None):
        """Send sig; the program must end (by the signal or by exiting) in time."""
        within = self.trial.within(within)
        self.wait_blocked()
        self.trial.log("note", f"the grader sent {sandbox.signal_name(sig)} to {self.shown}")
        self.signal(sig)
        status = self.wait(within)
        if status is None:
            raise CheckFailed(
                f"your program was still running {within:g} s after {sandbox.signal_name(sig)}",
                hint="do not ignore SIGINT/SIGTERM; a blocking accept() or poll() is interrupted by them "
                "(fails with EINTR), unless your handler was installed with SA_RESTART: then accept() just "
                "starts again and a flag set by the handler is never looked at",
            )
        return status

    def signal(self, sig):  # defined after stop(): its default argument is the module's signal.SIGTERM
        self.signals_sent.add(sig)
        self.asked_to_end = self.asked_to_end or sig not in (signal.SIGSTOP, signal.SIGCONT)
        super().signal(sig)

    def kill(self):
        """Stop it for good (the launcher SIGKILLs all it started). Done in the
        middle of a check, once its part is over: a death by SIGKILL is then
        the grader's doing, never a cause to show the student."""
        if self.control is not None and self.poll() is None:
            self.signals_sent.add(signal.SIGKILL)
            self.asked_to_end = True
        super().kill()

    # --- output ---

    def expect_stdout(self, data, within=None):
        """Everything the program prints on stdout must be exactly data (waits for it)."""
        if isinstance(data, str):
            data = data.encode()
        within = self.trial.within(within)
        deadline = time.monotonic() + within
        got = self.stdout.wait_for(lambda d: len(d) >= len(data) or not data.startswith(d), deadline)
        if got == data and len(got) == self.stdout.total:
            self.trial.log("printed", show(got))
            return
        if data.startswith(got):
            message = f"your program printed {len(got)} of the {len(data)} bytes expected"
            status = self.settled_status()
            if status is not None:
                message += f", then it {status}"
            elif self.stdout.closed:
                message += ", then it closed its stdout"
            else:
                message += f", then nothing more for {within:g} s"
        elif got.startswith(data):
            message = f"your program printed {self.stdout.total - len(data)} bytes more than expected"
        else:
            message = f"your program's output differs from byte {first_difference(data, got)} on"
        raise CheckFailed(message, [("expected", show(data)), ("printed", show(got))], expected=data, got=got, program=self, channel="stdout")

    def read_stdout_line(self, within=None):
        """The next line printed on stdout (without '\\n'); waits for it."""
        within = self.trial.within(within)
        deadline = time.monotonic() + within
        got = self.stdout.wait_for(lambda d: b"\n" in d[self.stdout_seen :], deadline)
        rest = got[self.stdout_seen :]
        if b"\n" not in rest:
            status = self.settled_status()
            if status is not None:
                then = f"it {status} first"
            else:
                then = "it closed its stdout first" if self.stdout.closed else f"none came within {within:g} s"
            raise CheckFailed(
                f"expected a line on your program's stdout; {then}",
                [("printed so far", show(rest) if rest else "(nothing)")],
                got=rest,
                program=self,
                channel="stdout",
            )
        line = rest[: rest.index(b"\n")]
        self.stdout_seen += len(line) + 1
        return line

    def expect_stdout_line(self, line, within=None):
        """The next line printed on stdout must be line."""
        if isinstance(line, str):
            line = line.encode()
        got = self.read_stdout_line(within)
        if got != line:
            raise CheckFailed(
                "your program printed another line than expected",
                [("expected", show(line + b"\n")), ("printed", show(got + b"\n"))],
                expected=line + b"\n",
                got=got + b"\n",
                program=self,
                channel="stdout",
            )
        self.trial.log("printed", show(line + b"\n"))

    def expect_stderr_mentions(self, *words, within=None):
        """stderr must hold every word (the program has usually ended by then)."""
        deadline = time.monotonic() + self.trial.within(within)
        err = self.stderr.wait_for(lambda d: all(w.encode() in d for w in words), deadline)
        missing = [w for w in words if w.encode() not in err]
        if missing and not err.strip():
            raise CheckFailed(
                "your program said nothing on stderr; expected one line naming " + ", ".join(repr(w) for w in words),
                hint="say why on stderr before exiting, naming what failed (the host, the port) and the reason",
            )
        if missing:
            raise CheckFailed(
                "your program's message on stderr does not say " + ", ".join(repr(w) for w in missing),
                [("expected", "one line naming " + ", ".join(repr(w) for w in words)), ("stderr", show(err))],
            )

    def expect_stderr_message(self, within=None, hint="say why on stderr, e.g. with strerror(errno)"):
        """stderr must hold some message (any words): the program says why it stopped."""
        deadline = time.monotonic() + self.trial.within(within)
        err = self.stderr.wait_for(lambda d: bool(d.strip()), deadline)
        if not err.strip():
            raise CheckFailed("your program said nothing on stderr; a message saying why was expected", hint=hint)

    def expect_no_stdout(self):
        out = self.stdout.data()
        if out:
            raise CheckFailed("your program printed on stdout where it should not", [("printed", show(out))])

    def expect_stdout_next(self, data, within=None):
        """The next bytes on stdout, after those already expected (by this or by
        expect_stdout_line), must be data: for output that is not whole lines."""
        if isinstance(data, str):
            data = data.encode()
        within = self.trial.within(within)
        start = self.stdout_seen
        deadline = time.monotonic() + within
        got = self.stdout.wait_for(lambda d: len(d) - start >= len(data) or not data.startswith(d[start:]), deadline)
        rest = got[start:]
        if rest[: len(data)] == data:
            self.stdout_seen += len(data)
            self.trial.log("printed", show(data))
            return
        if data.startswith(rest):
            status = self.settled_status()
            if status is not None:
                then = f"then it {status}"
            else:
                then = "then it closed its stdout" if self.stdout.closed else f"then nothing more for {within:g} s"
            message = f"your program printed {len(rest)} of the {len(data)} bytes expected next, {then}"
        else:
            message = f"your program's output differs from the expected bytes at byte {first_difference(data, rest)}"
        raise CheckFailed(message, [("expected", show(data)), ("printed", show(rest))], expected=data, got=rest, program=self, channel="stdout")

    # --- stdin: the grader types (the program must be started with stdin="pipe") ---

    def type(self, data, pieces=1, pause=0.05, quiet=False):
        """Type data at the program's stdin, cut into pieces with a pause between
        them; fails if the program stops reading its stdin for a whole deadline."""
        if isinstance(data, str):
            data = data.encode()
        if self.stdin is None:
            raise RuntimeError("type(): start the program with stdin='pipe' (or its stdin was closed)")
        size = max(1, -(-len(data) // pieces))
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        self.typed += data
        if not quiet:
            how = f"  (in {len(chunks)} pieces, {pause * 1000:.0f} ms apart)" if len(chunks) > 1 else ""
            self.trial.log("typed", show(data) + how)
        os.set_blocking(self.stdin, False)  # our end only: every write below has a deadline
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(pause)
            self._type_chunk(chunk)

    def _type_chunk(self, chunk):
        within = self.trial.within()
        deadline = time.monotonic() + within
        view = memoryview(chunk)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self.stdin], [], left)[1]:
                raise CheckFailed(
                    f"your program did not read its stdin: what was typed still waited after {within:g} s",
                    hint="watch stdin with poll() together with the socket, and read it whenever poll() says it is readable",
                )
            try:
                view = view[os.write(self.stdin, view) :]
            except BlockingIOError:
                continue
            except OSError:
                raise CheckFailed("your program closed its stdin (or ended) before reading what was typed")

    def type_until_full(self, line=b"filler line, typed until your program stops reading\n", settle=0.3, limit=64 << 20):
        """Type copies of line until the program stops reading its stdin (the pipe
        stays full for settle seconds: it is blocked elsewhere, say sending to a
        peer that does not read), limit bytes are typed, or the deadline passes;
        returns the count. Never fails: the caller's next expectation judges."""
        if self.stdin is None:
            raise RuntimeError("type_until_full(): start the program with stdin='pipe'")
        os.set_blocking(self.stdin, False)
        block = line * max(1, 65536 // len(line))
        typed, view, why = 0, memoryview(b""), "and your program was still reading"
        deadline = time.monotonic() + self.trial.within()
        while typed < limit and time.monotonic() < deadline:
            if not select.select([], [self.stdin], [], settle * TIMEOUT_SCALE)[1]:
                if runnable(self.process.pid):
                    continue  # waiting for a CPU on a busy machine, not blocked elsewhere: not stopped
                why = "until your program stopped reading"
                break
            view = view or memoryview(block)
            try:
                n = os.write(self.stdin, view)
            except BlockingIOError:
                continue
            except OSError:
                break  # it ended or closed stdin: the caller's next expectation says so
            typed, view = typed + n, view[n:]
        self.trial.log("typed", f"{show(line)} again and again: {typed} bytes, {why}")
        return typed

    def end_input(self):
        """Close the program's stdin: it reads end of file, as after Ctrl-D at a terminal."""
        self.trial.log("note", "the grader closed your program's stdin (end of input, like Ctrl-D)")
        self.asked_to_end = True
        self.close_stdin()

    def unread_input(self):
        """How many typed bytes the program has not read yet."""
        if self.stdin is None:
            return 0
        return struct.unpack("i", fcntl.ioctl(self.stdin, termios.FIONREAD, b"\0" * 4))[0]

    def expect_input_read(self, within=None, hint=None):
        """The program must read everything typed so far (it need not act on it)."""
        within = self.trial.within(within)
        deadline = time.monotonic() + within
        while self.unread_input() and time.monotonic() < deadline:
            time.sleep(0.01)
        unread = self.unread_input()
        if unread:
            raise CheckFailed(
                f"your program did not read its stdin: {unread} typed bytes still waited after {within:g} s",
                hint=hint or "watch stdin with poll() at all times, and read it whenever poll() says it is readable",
            )


# === The trial: one check's world ==============================================


class Trial:
    """What a check sees: its step, its binary, and tools that clean up after it."""

    def __init__(self, step, folder, scratch, spec, remote=None, seeds=None):
        self.step = step
        self.remote = remote  # (host, port) of a server running elsewhere, or None
        self.seeds = seeds  # what --seed/--sessions ask (a sessions.Seeds), or None: each check's fixed seeds
        self.folder = Path(folder)  # the built step folder (in the scratch copy)
        self.scratch = Path(scratch)
        self.spec = spec
        self.timeout = step.timeout * TIMEOUT_SCALE * (VALGRIND_SLOWDOWN if spec.valgrind else 1)
        self.lines = []  # the transcript
        self.programs = []  # shown in the failure report
        self.conns = []  # the grader's connections to the student's programs (evidence)
        self.closers = []  # everything to close or kill when the check ends
        self.env = contain.student_env(self.folder)
        self.lock = threading.Lock()
        self.skipped = None  # why what this check judges could not be judged here (see not_run)

    @property
    def own_files(self):
        """The grader's folder for valgrind's reports: out of the student's reach."""
        return contain.grader_folder(str(self.scratch))

    def within(self, seconds=None):
        return seconds * TIMEOUT_SCALE if seconds else self.timeout

    def log(self, kind, text):
        with self.lock:
            self.lines.append((kind, text))

    def fail(self, message, hint=None, evidence=()):
        raise CheckFailed(message, evidence, hint)

    def not_run(self, reason):
        """What this check judges cannot be judged here (valgrind is off, say):
        unless it fails, it is reported as skipped with the reason, not as
        passed (Outcome.extra["skipped"], as for REMOTE: grader/remote.py)."""
        self.skipped = reason

    @contextlib.contextmanager
    def hint(self, text, when=None):
        """A failure inside the block gets this hint (the likely cause):
            with t.hint("call shutdown(fd, SHUT_WR) at the end of stdin"):
                conn.expect_closed()
        when, a function of the Evidence (grader/diagnoses.py), says when it
        fits; where it does not, no hint beats a wrong one:
            with t.hint("nicks are case-sensitive", when=lambda e: e.got == b"ERROR:NICKTAKEN\n"):
        A diagnosis that recognises the cause in the evidence comes first."""
        try:
            yield
        except CheckFailed as failure:
            failure.add_hint(text, when)
            raise

    # --- programs ---

    def run(self, *args, binary=None, stdin=None, valgrind=None, limits=None):
        """Start the step's binary (or another one of the step) with args."""
        path = self.folder / (binary or self.step.binary)
        return self.run_command([str(path), *args], stdin=stdin, valgrind=valgrind, limits=limits)

    def run_command(self, argv, stdin=None, valgrind=None, limits=None):
        """Start any command line in the step folder, as a student program."""
        valgrind = self.spec.valgrind if valgrind is None else valgrind
        program = Run(self, argv, self.folder, stdin=stdin, valgrind=valgrind, limits=limits)
        self.closers.append(program.kill)
        return program.remember()

    def start_server(self, port=None, binary=None, valgrind=None, args=None, stdin=None):
        """Start the student's server on a fresh port and wait until it listens.
        stdin="pipe" lets the check type into it (write_stdin, close_stdin).
        With a remote server (make check REMOTE=...), its stand-in instead."""
        if self.remote:
            from .remote import RemoteServer

            return RemoteServer(self, *self.remote)
        port = port or self.free_port()
        server = self.run(*(args or [port]), binary=binary, valgrind=valgrind, stdin=stdin)
        server.port = port
        self.wait_listening(server, port)
        return server

    def wait_listening(self, server, port, within=None):
        within = self.within(within)  # under valgrind, the check's deadlines are VALGRIND_SLOWDOWN longer already
        deadline = time.monotonic() + within
        foreign = False
        while time.monotonic() < deadline:
            status = server.poll()
            if status is not None:
                raise CheckFailed(
                    f"your server {status} before listening on port {port}",
                    hint=self.hint_early_exit(server),
                )
            found = net.listeners(port)
            if found is None:  # no /proc/net/tcp: a real connection is the only probe
                found = {"?"} if self._connectable(port) else set()
            if found and not listens_itself(server, port):
                # Another program's listener (on a port the grader reserved, one
                # still going away): the student's server is not there yet.
                if not foreign:
                    self.log("note", f"another program listens on port {port}, not your server: waiting for yours")
                foreign, found = True, set()
            if found:
                server.addresses = found
                self.log("note", f"your server listens on port {port}")
                return
            time.sleep(0.01)
        raise CheckFailed(
            f"your server was not listening on port {port} after {within:g} s"
            + (" (another program listened there, not yours)" if foreign else ""),
            hint="call socket(), bind() to the port given as argument, then listen()",
        )

    def _connectable(self, port):
        import socket

        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    # --- network ---

    def free_port(self):
        port = net.free_port()
        self.closers.append(port.release)
        return port

    def connect(self, port, host="127.0.0.1", bind=None, nodelay=False):
        """A client connection; nodelay: each send leaves at once (no Nagle),
        so pieces sent apart reach the server apart."""
        if self.remote and host in ("127.0.0.1", "localhost"):
            host = self.remote[0]  # the remote server's host, not loopback
        try:
            conn = net.connect(host, port, self.log, self.timeout, bind=bind)
        except CheckFailed as failure:
            gone = [p for p in self.programs if getattr(p, "port", None) == port and p.settled_status() is not None]
            if gone:
                failure.message += f": your server had ended (it {gone[-1].settled_status()})"
            raise
        self.conns.append(conn)
        self.closers.append(conn.close)
        if nodelay:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def serve(self, host="127.0.0.1", port=0):
        """A scripted server of the grader's, for the student's client to reach
        (on port, or on a port the system picks)."""
        server = net.ScriptedServer(self.log, self.timeout, host, port, conns=self.conns)
        self.closers.append(server.close)
        return server

    def hold(self, thing):
        """Close this (a socket, a file...) when the check ends; returns it."""
        self.closers.append(thing.close)
        return thing

    # --- memory ---

    def expect_clean_memory(self, program, allow_sockets=False):
        """The program (ended, run with valgrind) must have no memory error,
        no leak, and (unless allow_sockets) no connected socket left open."""
        if not program.valgrind_files:
            why = program.no_valgrind or "it was started without valgrind"
            if why == sanitized():  # a build with ASan: its reports fail the check (run_check)
                self.log("note", "memory checked by ASan/UBSan, not valgrind (SOCKLAB_SANITIZE=1): an error they report fails this check (leaks: only if the program exits by itself; descriptors left open: valgrind only)")
                return
            self.log("note", f"memory not checked: {why}")
            self.not_run(why)
            return
        found = memcheck.read(program.valgrind_files)
        port = getattr(program, "port", None)
        judged = memcheck.verdict(found, allow_sockets=allow_sockets, port=port)
        if judged:
            problems = memcheck.problems(found, allow_sockets=allow_sockets, port=port)
            raise CheckFailed(judged[0], [("valgrind", "\n" + "\n".join(problems))], hint=judged[1])
        self.log("note", "valgrind: no memory error, no leak, no descriptor left open")

    # --- evidence, for the diagnoses ---

    def evidence(self, failure):
        """What the check saw when it failed (taken before the cleanup closes
        and kills everything): the Evidence the diagnoses read. A program
        about to end (a client that exits on the reply that failed the
        check) is given a moment to: a report never calls it running then."""
        deadline = time.monotonic() + ENDING_GRACE * TIMEOUT_SCALE
        for program in self.programs:
            if program.settled_status() is None:
                program.wait(max(0.0, deadline - time.monotonic()))
        seen = {id(program): self.seen(program) for program in self.programs}
        conn = failure.conn
        name = getattr(conn, "name", None)
        return diagnoses.Evidence(
            check=self.spec.name,
            message=failure.message,
            expected=failure.expected,
            got=failure.got,
            channel=failure.channel,
            request=failure.request,
            sent=conn.sent if conn is not None else None,
            pieces=conn.pieces if conn is not None else 0,
            receiver=name if isinstance(name, bytes) else None,
            program=seen.get(id(failure.program)) or (next(iter(seen.values())) if len(seen) == 1 else None),
            programs=list(seen.values()),
            facts=failure.facts,
        )

    def seen(self, program):
        """How one program stood (diagnoses.Seen)."""
        return diagnoses.Seen(
            label=program.shown,
            status=program.settled_status(),
            stdout=program.stdout.data(),
            stdout_total=program.stdout.total,
            server=hasattr(program, "port"),
            signals_sent=frozenset(program.signals_sent),
            asked_to_end=program.asked_to_end,
            stdin_open=program.stdin is not None,
            typed=bytes(program.typed),
            unread_input=program.unread_input(),
            unread_socket=self.unread_socket(program),
            reads_stdin_only=sandbox.sleeps_reading_stdin(program) if program.stdin is not None and program.poll() is None else None,
        )

    def unread_socket(self, program):
        """Bytes the grader sent to program that wait unread in its sockets
        (a server's: on its port; a client's: any), None if none is seen."""
        port, total = getattr(program, "port", None), None
        for conn in self.conns:
            try:
                ours, theirs = conn.sock.getsockname()[1], conn.sock.getpeername()[1]
            except OSError:
                continue  # closed
            unread = net.unread_bytes(theirs, ours) if port in (None, theirs) else None
            if unread is not None:
                total = (total or 0) + unread
        return total

    # --- likely causes, at the place a failure is raised ---

    def hint_early_exit(self, server):
        err = server.stderr.data()
        if b"in use" in err:
            return "the port was still in use: set SO_REUSEADDR on the listening socket before bind()"
        return status_hint(server.poll()) or "its stderr (below) says why: the first error it reports is usually the cause"

    def hint_running(self, program):
        if program.stdout.total == 0 and program.stderr.total == 0:
            return "it printed nothing: is it blocked in a read, or waiting for something that never comes?"
        return "is it waiting for more data, or stuck in a loop?"

    def cleanup(self):
        for program in self.programs:  # how each ended on its own, before the grader kills it
            program.final = program.settled_status(within=0.2)
            # and what it had printed: closing its stdin or its sockets below may make it print more
            program.final_output = {c: (c.data(), c.total, c.truncated) for c in (program.stdout, program.stderr)}
        for close in reversed(self.closers):
            try:
                close()
            except Exception:
                pass
        self.closers = []


def runnable(root):
    """True if a process of the tree under pid root is runnable (state R): it
    is computing or waiting for a CPU (or D: for the disk, as when it starts),
    so a full pipe says nothing yet."""
    table = sandbox.process_table()
    children, todo = sandbox.children_of(table), [root]
    while todo:
        pid = todo.pop()
        if table.get(pid, ("?",))[0] in BUSY_STATES:
            return True
        todo += children.get(pid, [])
    return False


# === Running one check =========================================================


@dataclass
class Outcome:
    step: object
    index: int  # 1-based position of the check in its step
    name: str
    weight: float
    passed: bool
    output: str = ""
    seconds: float = 0.0
    max_score: float = 0.0
    score: float = 0.0
    hint: str = None
    extra: dict = field(default_factory=dict)  # "skipped": why it was not run (it counts neither as passed nor as failed)
    verdict: str = ""  # a failure's verdict in one sentence (JUnit's failure message)

    @property
    def failed(self):
        """It ran and did not pass (a skipped check did not fail)."""
        return not self.passed and not self.extra.get("skipped")


GRADER_FAILED = "the grader itself failed"  # a check's own bug: JUnit calls it an error, not a failure


def run_check(step, spec, index, folder, scratch, remote=None, seeds=None):
    """Run one check to its verdict; never raises."""
    trial = Trial(step, folder, scratch, spec, remote=remote, seeds=seeds)
    started = time.monotonic()
    passed, verdict = False, None
    try:
        spec.func(trial)
        passed = True
    except CheckFailed as failure:
        verdict = failure
        verdict.cause = likely_cause(trial, failure)
    except Exception as error:  # a bug in the check itself: say so plainly
        import traceback

        verdict = CheckFailed(f"{GRADER_FAILED}: {error!r}", [("traceback", traceback.format_exc())])
    finally:
        trial.cleanup()
    report = sanitizer_report(trial)
    if report:  # the program ran, but ASan or UBSan saw it break a rule: that fails the check
        passed, before = False, verdict
        verdict = CheckFailed(
            f"{report[0]} found an error in your program",
            [("sanitizer", "\n" + "\n".join(report[1]))] + ([("then", before.message)] if before else []),
        )
        verdict.cause = "fix the first error the report names (the first 'at' line in your code is where it happened)"
    output = describe(trial, verdict) if verdict else transcript(trial)
    seconds = time.monotonic() - started
    skipped = passed and trial.skipped  # it ran, but what it judges could not be judged here
    outcome = Outcome(step, index, spec.name, spec.weight, passed and not skipped, output, seconds, hint=spec.hint, verdict=verdict.message if verdict else "")
    if skipped:
        outcome.extra["skipped"] = skipped
    return outcome


def likely_cause(trial, failure):
    """The cause to show, chosen from the evidence (grader/diagnoses.py),
    before the cleanup closes and kills what the evidence is read from."""
    try:
        return diagnoses.likely_cause(trial.evidence(failure), failure.hints)
    except Exception as error:  # a bug in a diagnosis must not cost the verdict
        failure.evidence.append(("grader", f"could not diagnose this failure: {error!r}"))
        return None


SANITIZER_ERROR = re.compile(rb"^(?:==\d+==ERROR: (\w+Sanitizer)|\S+:\d+:\d+: runtime (error): )", re.M)


def sanitizer_report(trial, limit=40):
    """(which sanitizer, the first lines of its report) if a program of the
    check printed an ASan, LSan or UBSan error on stderr (a build with
    -fsanitize, e.g. SOCKLAB_CFLAGS; see SOCKLAB_SANITIZE); else None."""
    for program in trial.programs:
        err = program.stderr.data()
        found = SANITIZER_ERROR.search(err)
        if found:
            name = found.group(1).decode() if found.group(1) else "UndefinedBehaviorSanitizer"
            lines = unscratched(err[found.start() :], trial.scratch).split(b"Shadow bytes around")[0].rstrip().split(b"\n")
            return name, [f"  {readable(line)}" for line in lines[:limit]] + ([f"  ... ({len(lines) - limit} more lines)"] if len(lines) > limit else [])
    return None


def label_of(kind):
    return f"{kind}:".ljust(10) if len(kind) < 9 else f"{kind}: "


def transcript(trial):
    tag = f"[{trial.step.folder}]"
    rows = []
    for kind, text in trial.lines:
        rows.append(f"{tag} {label_of(kind)}{text}" if kind != "run" else f"{tag} {text}")
    return "\n".join(rows)


def describe(trial, failure):
    """The failure as a student reads it: transcript, verdict, evidence, cause, programs."""
    tag = f"[{trial.step.folder}]"
    rows = [transcript(trial)] if trial.lines else []
    for label, text in failure.evidence:
        rows.append(f"{tag} {label_of(label)}{text}")
    rows.append(f"{tag} {label_of('verdict')}{failure.message}")
    if failure.cause:
        rows.append(f"{tag} {label_of('hint')}{failure.cause}")
    for program in trial.programs:
        rows.append(describe_program(program))
    return "\n".join(rows)


def describe_program(program):
    rows = [f"--- {program.shown}: {how_it_ended(program)}"]
    for name, capture in (("stdout", program.stdout), ("stderr", program.stderr)):
        seen = getattr(program, "final_output", {}).get(capture)
        data, total, truncated = seen or (capture.data(), capture.total, capture.truncated)
        size = f"{total} bytes" + (", middle left out" if truncated else "")
        rows.append(f"    {name} ({size}):" if data else f"    {name}: (empty)")
        if data:
            rows += ["      " + line for line in lines_of(unscratched(data, program.trial.scratch), limit=20)]
    said = memcheck.last_words(getattr(program, "valgrind_files", None))
    if said:
        rows += ["    valgrind's log (it ended without its summary):"] + ["      " + readable(line) for line in said]
    return "\n".join(rows)


def how_it_ended(program):
    """What the report says of a program's end: only what was seen. final is
    its status as the check ended (settled, see Run.settled_status); the
    status after the cleanup tells whether the grader had to stop it."""
    if program.final is not None:
        if program.final.signal == signal.SIGKILL and signal.SIGKILL in program.signals_sent:
            return "it was stopped by the grader (SIGKILL) once its part of the check was over"
        return f"it {program.final}"
    after = program.poll()
    if after is not None and after.code is not None:
        return f"it was still running when the check ended, then {after} as the grader cleaned up"
    return "it was still running when the check ended (stopped by the grader)"
