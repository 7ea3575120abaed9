"""08-multi-server: WP/1 for many clients at once, in one process.

The protocol probes are step 06's (wp1_checks, reused as they are); what is new
here is concurrency: clients that stall or never read, 2000 clients at once,
descriptors given back, sleeping while idle, running out of descriptors, and a
clean exit on SIGINT and SIGTERM. The student's process is looked at through
/proc (its descriptors, its CPU time, its memory).
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import sandbox
from ..engine import CORE, DETAIL, CheckFailed, check
from ..text import first_difference, show
from . import common
from . import wp1_checks as wp1c
from . import random_sessions as rs

NOFILE = 4096  # the open-file limit SPEC promises the server
CROWD = 2000  # clients held at once
OUT_LIMIT = 64 << 10  # unsent replies past this: the server stops reading from that client, or disconnects it
MIB = 1 << 20
IDLE_SHARE = 0.05  # of one core: "sleeps while idle"
NEVER_ASLEEP = 0.5  # of the measure: runnable this long without one sleep is spinning, CPU given or not,
SPIN_EVIDENCE = 0.001  # if it ran this many seconds meanwhile: a sleeper's work per wake-up is far less

HINT_BLOCKING = (
    "a blocking recv() or accept() waits for one client while the others wait for it: "
    "make every socket non-blocking and call recv()/send()/accept() only when poll() says it is ready"
)
HINT_SELECT = (
    "select() cannot watch a descriptor >= FD_SETSIZE (1024): FD_SET past it writes out of bounds; "
    "use poll() (or epoll), which takes any number of descriptors"
)
HINT_CLEAN_EXIT = (
    "catch SIGINT and SIGTERM (sigaction): the handler sets a flag, poll() fails with EINTR, "
    "the loop sees the flag, closes every socket and returns 0 (ppoll() or a self-pipe closes the race)"
)
HINT_BACK_PRESSURE = (
    "queue the replies a client does not read, and stop watching it for POLLIN before more than 64 KiB "
    "wait (watch POLLOUT instead), or disconnect it; never block in send()"
)


def start(t, nofile=NOFILE, valgrind=None, port=None):
    """The student's server on a fresh port (or port), with an open-file limit of nofile."""
    port = port or t.free_port()
    server = t.run(port, valgrind=valgrind, limits={"nofile": nofile})
    server.port = port
    t.wait_listening(server, port)
    return server


# === The student's process, seen through /proc ===================================


def pid_of(t, server):
    pid = sandbox.student_pid(server)
    if pid is None:
        server.expect_running()
        raise CheckFailed("the grader could not find your server's process")
    return pid


def descriptors(pid):
    """How many descriptors the process holds."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def cpu_seconds(pid):
    """User + system CPU time the process has used so far; None once it is gone."""
    fields = sandbox.stat_fields(pid)  # utime and stime: proc(5) fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else None


def activity(pid):
    """{thread id: (ns it ran on a CPU, ns it waited for one, times it went to
    sleep, its state letter)} of the process's threads, from
    /proc/PID/task/*/{schedstat,status,stat}; None once the process is gone,
    or without schedstat."""
    found = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            ran, waited = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[:2]
            status = Path(f"/proc/{pid}/task/{task}/status").read_text()
        except FileNotFoundError:
            continue  # a thread that has just ended
        except (OSError, ValueError):
            return None
        slept = [line.split()[1] for line in status.splitlines() if line.startswith("voluntary_ctxt_switches:")]
        state = (sandbox.stat_fields(f"{pid}/task/{task}") or [b"?"])[0].decode()
        found[task] = (int(ran), int(waited), int(slept[0]) if slept else 0, state)
    return found or None


@dataclass
class Idleness:
    used: float  # seconds of CPU used
    waited: float  # seconds waited for a CPU: a busy machine's doing, not the program's
    sleeps: int  # times a thread went to sleep (in poll(), recv()...)
    spun: float  # longest a thread was running or waiting for a CPU without once going to sleep


def idleness(before, after, took):
    """What the process did between two activity() samples took seconds apart.
    Waiting for a CPU only counts for a thread that never slept: that one is
    spinning, whether or not the machine gives it the CPU it wants (if it
    ran at all: one never given a CPU says nothing). Runnable at both ends
    without a sleep between, it was runnable all along (the kernel counts a
    wait only once it ends)."""
    seen = Idleness(0.0, 0.0, 0, 0.0)
    for task, (ran, waited, slept, state) in after.items():
        ran0, waited0, slept0, state0 = before.get(task, (0, 0, 0, "new"))  # a thread born meanwhile: all of it
        seen.used += max(0, ran - ran0) / 1e9
        seen.waited += max(0, waited - waited0) / 1e9
        seen.sleeps += max(0, slept - slept0)
        if slept == slept0 and ran - ran0 >= SPIN_EVIDENCE * 1e9:
            runnable = took if state == state0 == "R" else (ran - ran0 + waited - waited0) / 1e9
            seen.spun = max(seen.spun, min(took, runnable))
    return seen


def resident(pid):
    """The process's resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def expect_idle(t, server, pid, seconds, what, hint):
    """The process must use under IDLE_SHARE of a core for seconds (its CPU
    time), and sleep: a thread that never goes to sleep is spinning, even on
    a machine too busy to give it the CPU it wants."""
    # From the moment it sleeps: work it still had to finish is not idling
    # badly. A program that spins never sleeps: the measure starts anyway.
    server.wait_blocked()
    before, cpu_before, started = activity(pid), cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    after, cpu_after, took = activity(pid), cpu_seconds(pid), time.monotonic() - started
    if None in (cpu_before, cpu_after):  # gone from /proc: its exit status is on its way
        server.wait(t.within(1))
        server.expect_running(what)
        raise CheckFailed(f"{what}, your server's process could no longer be seen in /proc", hint=hint)
    server.expect_running(what)
    if before and after:
        seen = idleness(before, after, took)
        said = f", went to sleep {seen.sleeps} times, and waited {seen.waited * 1000:.0f} ms for a CPU"
    else:  # no schedstat: CPU time alone
        seen, said = Idleness(cpu_after - cpu_before, 0.0, 0, 0.0), ""
    used, spun = seen.used, seen.spun
    t.log("note", f"{what}: your server used {used * 1000:.0f} ms of CPU in {took:.1f} s ({100 * used / took:.1f}% of a core){said}")
    expected = [("expected", "your server asleep in poll() until something happens")]
    if used > IDLE_SHARE * took:
        raise CheckFailed(
            f"{what}, your server used {used * 1000:.0f} ms of CPU in {took:.1f} s: {100 * used / took:.0f}% of a core; expected under {100 * IDLE_SHARE:.0f}%",
            expected,
            hint=hint,
        )
    if spun > NEVER_ASLEEP * took:
        raise CheckFailed(
            f"{what}, your server never went to sleep: it was running or waiting for a CPU {100 * spun / took:.0f}% of {took:.1f} s "
            f"(it got {used * 1000:.0f} ms of CPU on this busy machine)",
            expected,
            hint=hint,
        )


# === Many clients ================================================================

CROWD_SCRIPT = Path(__file__).with_name("crowd.py")


class Crowd:
    """count connections to the server, all open at once, held by a helper
    process (crowd.py): the grader's own descriptors stay few."""

    def __init__(self, t, server, count, within=None):
        self.t, self.server, self.count = t, server, count
        within = t.within(within)
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-E", str(CROWD_SCRIPT), str(server.port), str(count), str(within)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        t.closers.append(self.kill)
        said = self.answer(within + 10)
        if "error" in said:
            server.expect_running(f"after {said['connected']} clients connected")
            raise CheckFailed(f"client {said['connected'] + 1} of {count} could not connect: {said['error']}", hint=HINT_BLOCKING)
        t.log("note", f"{count} clients connected, all at once")

    def answer(self, within):
        """The helper's next answer; its deadlines are its own, this is a last resort."""
        poller = select.poll()
        poller.register(self.proc.stdout, select.POLLIN)
        if not poller.poll(within * 1000):
            raise CheckFailed(f"the grader's crowd of clients did not answer within {within:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise CheckFailed("the grader's crowd of clients ended unexpectedly")
        return json.loads(line)

    def command(self, text, within):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        return self.answer(within + 10)

    def ask(self, within, first=None):
        """PING:<n> on each connection (or the first ones): every PONG:<n> must come."""
        count = first or self.count
        said = self.command(f"ask {count} {within}", within)
        self.t.log("sent", f'"PING:<n>\\n" on each of {count} connections (n = 0, 1, ...)')
        if "client" in said:
            i = said["client"]
            self.server.expect_running(f"with {self.count} clients connected")
            got = said["got"].encode("latin-1")
            raise CheckFailed(
                f"client {i + 1} of {count}: {said['why']}",
                [("sent", show(b"PING:%d\n" % i)), ("expected", show(b"PONG:%d\n" % i)), ("received", show(got) if got else "(nothing)")],
                hint=HINT_SELECT if i >= 1000 else HINT_BLOCKING,
            )
        self.t.log("received", f'"PONG:<n>\\n" on each of the {count} connections')

    def close(self):
        self.command("close", 5)
        self.t.log("note", f"the {self.count} clients closed their connections")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def numbered(first, count, size, keyword=b"PING"):
    """count frames of size bytes each, numbered from first: keyword:NNNNNNNN
    then padding. A reply lost, repeated or out of place shows in its number."""
    pad = size - len(keyword) - 10  # ':', eight digits, '\n'
    return b"".join(b"%s:%08d%s\n" % (keyword, n, b"x" * pad) for n in range(first, first + count))


def flood(t, conn, size, limit, settle=0.5):
    """Send numbered PING frames of size bytes on conn, never reading, until
    the server stops taking them for settle seconds, or limit bytes; the
    count of bytes sent (its frames: sent // size, whole, then a piece)."""
    sock, sent, block, at = conn.sock, 0, b"", 0
    per_block = max(1, 65536 // size)
    sock.setblocking(False)
    deadline = time.monotonic() + t.timeout * 2
    while sent < limit and time.monotonic() < deadline:
        if at == len(block):
            block, at = numbered(sent // size, per_block, size), 0
        if not select.select([], [sock], [], settle)[1]:
            break
        try:
            n = sock.send(memoryview(block)[at:])
        except BlockingIOError:
            continue
        except OSError:
            break
        sent, at = sent + n, at + n
    sock.setblocking(True)
    t.log("sent", f"{show(numbered(0, 1, size))} numbered 0, 1, 2... ({size} bytes each), never reading a reply: {sent} bytes until your server stopped taking them")
    return sent


# === WP/1, as in step 06 =========================================================


@check("answers every row of the WP/1 table, each request sent whole", hint="2")
def table_whole(t):
    wp1c.table_whole(t, start(t))


@check("reads requests that arrive byte by byte", hint="2")
def byte_by_byte(t):
    wp1c.table_byte_by_byte(t, start(t))


@check("answers pipelined requests in order, whole and cut across frames", hint="2")
def pipelined(t):
    wp1c.table_pipelined(t, start(t))


@check("accepts \\r\\n line endings", hint="2")
def crlf(t):
    wp1c.crlf(t, start(t))


@check("echoes PING arguments byte for byte, NUL bytes included", hint="2")
def ping_bytes(t):
    wp1c.ping_bytes(t, start(t))


@check("detects int64 overflow at the edges (INT64_MAX+1, INT64_MIN/-1, 20 digits)", hint="2")
def overflow_edges(t):
    wp1c.overflow_edges(t, start(t))


@check("checks CALC errors in order: SYNTAX, OVERFLOW, DIVZERO", hint="2")
def error_order(t):
    wp1c.error_order(t, start(t))


@check("sends ERROR:TOOLONG as soon as 512 bytes are held, then drops the rest of the line", hint="2")
def too_long(t):
    wp1c.too_long(t, start(t))


@check("QUIT: replies BYE: and closes, ignoring the frames after it", hint="2")
def quit_closes(t):
    wp1c.quit_closes(t, start(t))


@check("replies to every frame of a client that half-closes, then closes", hint="2")
def half_close(t):
    wp1c.half_close(t, start(t))


@check("survives clients that pipeline many requests and close at once (SIGPIPE)", hint="2")
def pipelined_then_gone(t):
    wp1c.pipelined_then_gone(t, start(t))


@check("survives a client that resets mid-frame", hint="2")
def reset_mid_frame(t):
    wp1c.reset_mid_frame(t, start(t))


# === Many clients at once =========================================================


@check("serves clients at the same time: each answered while the others stay connected", hint="1", weight=CORE)
def at_the_same_time(t):
    server = start(t)
    conns = [wp1c.connect(t, server) for _ in range(10)]
    t.log("note", "10 clients connected; each asks in turn, all staying connected")
    with t.hint(HINT_BLOCKING):
        for turn in range(3):
            for i, conn in enumerate(conns):
                wp1c.ask(t, conn, b"CALC:%d*%d" % (i, turn))


@check("a client that stalls mid-frame delays nobody else", hint="1", weight=CORE)
def stalled_client(t):
    server = start(t)
    silent = wp1c.connect(t, server)
    t.log("note", "a first client connected and sends nothing")
    stalled = wp1c.connect(t, server)
    stalled.send(b"CALC:12+")
    t.log("note", "a second client sent half a frame, and stalls")
    other = wp1c.connect(t, server)
    other.timeout = t.within(2)
    with t.hint(HINT_BLOCKING):
        wp1c.ask(t, other, b"PING:not waiting for the others")
    t.log("note", "the stalled client finishes its frame")
    stalled.send(b"30\n")
    wp1c.expect_replies(stalled, b"CALC:12+30\n")
    wp1c.ask(t, silent, b"PING:at last")


@check("a client that never reads its replies delays nobody else, and its replies stay bounded", hint="2", weight=CORE)
def never_reads(t):
    server = start(t)
    pid = pid_of(t, server)
    hog = wp1c.connect(t, server)
    other = wp1c.connect(t, server)
    other.timeout = t.within(2)
    wp1c.ask(t, other, b"PING:before")
    before = resident(pid)
    size = 406
    sent = flood(t, hog, size, limit=48 * MIB)
    with t.hint(HINT_BACK_PRESSURE):
        wp1c.ask(t, other, b"PING:meanwhile")
        grown = resident(pid) - before
        t.log("note", f"your server's memory grew by {grown / MIB:.1f} MiB meanwhile")
        if grown > 16 * MIB:
            raise CheckFailed(
                f"your server's memory grew by {grown / MIB:.0f} MiB for one client that does not read its replies",
                [("sent", f"{sent} bytes of requests, never reading"), ("expected", "the server stops reading that client before 64 KiB of replies wait, or disconnects it")],
            )
    # Every reply owed, megabytes of them: the server's queue for this client
    # fills and drains again and again meanwhile, so a queue that wraps or
    # compacts wrongly shows in the numbers.
    t.log("note", f"the client that did not read now reads its replies: all {sent // size} of them, or what came before your server disconnected it")
    replies_drained(t, hog, numbered(0, sent // size, size, keyword=b"PONG"))


def drain(conn, expected, within):
    """Read conn while what comes is expected's start, until all of it came:
    (the bytes received, at most len(expected); why it stopped: 'ok', 'eof',
    'reset', or 'timeout' once within seconds pass with no byte)."""
    got, sock = bytearray(), conn.sock
    chunk, conn.pending = conn.pending, b""
    sock.settimeout(within)
    try:
        while True:
            if not expected.startswith(chunk[: len(expected) - len(got)], len(got)):
                return bytes(got + chunk)[: len(expected)], "ok"  # a difference: the caller shows where
            got += chunk
            if len(got) >= len(expected):
                return bytes(got[: len(expected)]), "ok"
            try:
                chunk = sock.recv(1 << 18)
            except socket.timeout:
                return bytes(got), "timeout"
            except OSError:
                return bytes(got), "reset"
            if not chunk:
                return bytes(got), "eof"
    finally:
        sock.settimeout(conn.timeout)


NUMBERED = re.compile(rb"PONG:(\d{8})x*\n")


def queue_damage(expected, got, at):
    """What the numbered replies show of a queue that went wrong at byte at,
    once the server had sent part of it: a reply again, replies lost, bytes
    mixed; None when the replies do not tell."""
    start = expected.rfind(b"\n", 0, at) + 1  # the reply where they part
    due = NUMBERED.match(expected, start)
    came = NUMBERED.match(got, start)
    if due is None:
        return None
    due_n = int(due.group(1))
    if came is not None and len(came.group(0)) == len(due.group(0)) and int(came.group(1)) < due_n:
        return (
            f"reply {int(came.group(1))} came again where reply {due_n} was due: your output queue sent bytes it had sent "
            "already; when you move what is still unsent to the front of the buffer, its length shrinks by what was "
            "sent (a ring buffer: the head moves on by what send() took)"
        )
    if came is not None and len(came.group(0)) == len(due.group(0)):
        return (
            f"reply {int(came.group(1))} came where reply {due_n} was due: your output queue let newer replies overtake "
            "older ones, or lost them (overwritten before they were sent, dropped when the buffer was moved or wrapped); "
            "a queue is first in, first out"
        )
    return (
        f"reply {due_n} came damaged (bytes of other replies mixed in): your output queue mixed old and new bytes when "
        "it moved what was unsent to the front, or wrapped around its end"
    )


def replies_drained(t, hog, expected):
    """The replies owed to a client that did not read come in order once it
    reads: all of expected, or (SPEC lets the server disconnect it once 64 KiB
    wait) the first of them, then the close."""
    within = t.within()
    got, why = drain(hog, expected, within)
    evidence = [("expected", show(expected)), ("received", show(got))]
    hint = "queued replies go out, in order, once the client reads (POLLOUT)"
    seen = dict(expected=expected, got=got, conn=hog, channel="socket")  # for the diagnoses (grader/diagnoses.py)
    if not expected.startswith(got):
        at = first_difference(expected, got)
        failure = CheckFailed(f"the replies differ from byte {at} on", evidence, hint=hint, **seen)
        failure.facts["queue damage"] = queue_damage(expected, got, at)  # diagnoses.numbered_replies_damaged
        raise failure
    if len(got) < len(expected) and why == "timeout":
        raise CheckFailed(f"received only {len(got)} of the {len(expected)} bytes of replies owed; then nothing more for {within:g} s", evidence, hint=hint, **seen)
    if len(got) < len(expected):
        ended = "the connection was closed" if why == "eof" else "the connection was reset"
        t.log("received", f"{len(got)} bytes of replies, in order, then {ended}: your server disconnected the client that did not read")
    else:
        t.log("received", f"{len(expected)} bytes of replies, in order")


@check(f"holds {CROWD} clients at once, each answered", hint="1", weight=CORE)
def many_clients(t):
    server = start(t)
    started = time.monotonic()
    crowd = Crowd(t, server, CROWD)
    crowd.ask(t.within(5))
    t.log("note", f"{CROWD} clients connected and answered in {time.monotonic() - started:.1f} s")
    wp1c.served(t, server)


@check("closes every connection it is done with: descriptors back to the baseline", hint="3")
def gives_back_descriptors(t):
    server = start(t)
    pid = pid_of(t, server)
    baseline = descriptors(pid)
    t.log("note", f"your server holds {baseline} descriptors before any client")
    for how in ("QUIT", "close", "reset", "half-close", "close mid-frame"):
        conns = [wp1c.connect(t, server) for _ in range(10)]
        for conn in conns:
            leave(t, conn, how)
        deadline = time.monotonic() + t.within(2)
        while descriptors(pid) > baseline and time.monotonic() < deadline:
            time.sleep(0.02)
        now = descriptors(pid)
        if now is None or now > baseline:
            server.expect_running()
            raise CheckFailed(
                f"after 10 clients that left by {how}, your server held {now} descriptors, {now - baseline} more than before them",
                [("expected", f"{baseline} descriptors once they have left")],
                hint="close() a client's socket once it has left (recv() returns 0 or fails), after QUIT, and once its replies are sent",
            )
        t.log("note", f"10 clients left by {how}: your server holds {now} descriptors again")


def leave(t, conn, how):
    """One client's way of leaving, after a request (quietly: ten at a time)."""
    conn.log = lambda *_: None
    conn.send(b"PING:hello\n" + (b"CALC:1+" if how == "close mid-frame" else b""))
    conn.expect_line(b"PONG:hello")
    if how == "QUIT":
        conn.send(b"QUIT:\n")
        conn.expect_line(b"BYE:")
        conn.expect_closed()
    elif how == "reset":
        conn.reset()
    elif how == "half-close":
        conn.send(b"CALC:1+1\n")
        conn.shutdown_write()
        conn.expect_line(b"CALC:2")
        conn.expect_closed()
    conn.close()


@check("sleeps while idle, with or without silent clients (under 5% of a core)", hint="3", weight=CORE)
def sleeps_when_idle(t):
    server = start(t)
    pid = pid_of(t, server)
    hint = "poll() with a timeout of -1 sleeps until something happens; a timeout of 0, or a loop around non-blocking recv(), spins"
    expect_idle(t, server, pid, 0.5, "with no client", hint)
    conn = wp1c.connect(t, server)
    wp1c.ask(t, conn, b"PING:then silence")
    Crowd(t, server, 100)
    time.sleep(0.2)
    expect_idle(t, server, pid, 1.0, "with 101 silent clients connected", hint)
    wp1c.ask(t, conn, b"PING:awake?")


@check("out of descriptors (EMFILE): neither crashes nor spins, and serves again once clients leave", hint="3")
def out_of_descriptors(t):
    server = start(t, nofile=64)
    pid = pid_of(t, server)
    t.log("note", "your server runs with an open-file limit of 64")
    crowd = Crowd(t, server, 100)
    time.sleep(0.3)
    expect_idle(
        t,
        server,
        pid,
        1.0,
        "with more clients waiting than it has descriptors",
        "out of descriptors, accept() fails with EMFILE and the listening socket stays readable: poll() returns at once, again and again; "
        "stop watching the listener for a while (or close a spare descriptor kept for this, accept and close)",
    )
    crowd.ask(t.within(2), first=10)
    crowd.close()
    with t.hint("once descriptors are free again, accept the next clients"):
        wp1c.served(t, server, "after running out of descriptors")


@check("exits 0 within a second of SIGINT and of SIGTERM, clients connected", hint="3")
def exits_on_signals(t):
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = start(t)
        conn = wp1c.connect(t, server)
        wp1c.ask(t, conn, b"PING:about to stop")
        stalled = wp1c.connect(t, server)
        stalled.send(b"CALC:1+")
        Crowd(t, server, 10)
        status = server.stop(sig, within=1)
        if status.code != 0:
            raise CheckFailed(
                f"after {sig.name} your server {status}; expected it to exit with status 0",
                hint=HINT_CLEAN_EXIT,
            )
        t.log("note", f"your server exited with status 0 after {sig.name}")
        with t.hint("close every client's socket before exiting"):
            conn.expect_closed(within=1)


@check("listens on every local address", hint="1")
def every_address(t):
    common.expect_every_address(t, start(t))


@check("restarts on the same port right after serving", hint="3")
def restarts_same_port(t):
    common.expect_restart(t, start(t), lambda conn: wp1c.ask(t, conn, b"PING:before and after a restart"), start=lambda port: start(t, port=port))


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    common.expect_server_edge_ports(t, lambda conn: wp1c.ask(t, conn, b"PING:at the edge"))


@check("port already in use: message and exit 1", weight=DETAIL)
def port_in_use(t):
    common.expect_port_in_use(t)


@check("bad arguments: usage and exit 2", weight=DETAIL)
def bad_arguments(t):
    common.expect_usage(t, common.server_bad_args())


@check("memory check (valgrind)", valgrind=True, weight=CORE)
def memory(t):
    server = start(t)
    conns = [wp1c.connect(t, server) for _ in range(8)]
    stream = wp1c.frames(wp1c.TABLE + wp1c.OVERFLOW_EDGES[:6]) + b"X" * 700 + b"\nPING:end\n"
    for conn in conns:
        conn.send(stream, quiet=True)
    t.log("sent", f"the WP/1 table and a too-long line, on each of {len(conns)} connections at once")
    for conn in conns:
        wp1c.expect_replies(conn, stream)
    conns[0].send(b"QUIT:\n")
    conns[0].expect_line(b"BYE:")
    conns[1].send(b"CALC:1+")
    conns[1].reset()
    conns[2].send(b"PING:x\nPING:tail")
    conns[2].shutdown_write()
    wp1c.expect_replies(conns[2], b"PING:x\n")
    hog = wp1c.connect(t, server)
    flood(t, hog, 206, limit=2 * MIB)
    wp1c.ask(t, conns[3], b"PING:still there")
    expect_clean_memory_at_exit(t, server)


def expect_clean_memory_at_exit(t, server):
    """SIGTERM, then valgrind's report: a server that died of the signal
    (no handler) left its clients' sockets open for that reason."""
    status = server.stop(signal.SIGTERM)
    with t.hint("your server was killed by SIGTERM, so its sockets were never closed: " + HINT_CLEAN_EXIT, when=lambda e: status.signal is not None):
        t.expect_clean_memory(server)


# Random sessions against the protocol model (grader/checks/random_sessions.py).
random_sessions = rs.wp1_concurrent_sessions
