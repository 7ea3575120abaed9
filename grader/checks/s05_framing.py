"""05-framing: a bounded line reader (frame.c) and a line echo server.

Two levels. The unit checks build the student's frame.c against the kit's
cmocka tests (units/test_frame.c), with recv() and send() mocked by the
linker's --wrap, and run one group of cases per check: each failing case is
shown by name, with what recv() gave, what was expected and what came back.
The wire checks run line-echo and speak to it as a client would.
"""

import re
import shutil
import signal
import threading
import time
from pathlib import Path

from .. import sandbox
from ..engine import CORE, DETAIL, CheckFailed, check, status_hint
from ..text import lines_of, readable, show
from . import common
from . import random_sessions as rs

UNIT_TESTS = Path(__file__).with_name("units") / "test_frame.c"
SETUP = "run the kit's setup (tools/setup, or `make check STEP=05` as root), or: sudo apt-get install libcmocka-dev"
TOOLONG = b"ERROR:TOOLONG\n"
MIB = 1 << 20


# === Unit level: frame.c against the kit's cmocka tests ========================

_built = {}  # step folder -> (binary path, or None and the reason)
_build_lock = threading.Lock()


def unit_tests(t):
    """The kit's test program built with the student's frame.c (once per
    grading: the checks of a step share it); fails the check if it cannot be."""
    with _build_lock:
        key = str(t.folder)
        if key not in _built:
            _built[key] = build_unit_tests(t)
        binary, failure = _built[key]
    t.log("note", f"the kit's unit tests (grader/checks/units/{UNIT_TESTS.name}) were built with your frame.c")
    if failure:
        raise CheckFailed(*failure)
    return binary


def build_unit_tests(t):
    """(binary, None), or (None, (message, evidence, hint)) saying why not."""
    for name in ("frame.c", "frame.h"):
        if not (t.folder / name).is_file():
            return None, (
                f"no {name} in {t.step.folder}: the unit checks test your read_line and send_all in frame.c",
                [],
                "keep frame.h and frame.c (the API in the README of 05-framing) in the step folder, whatever line-echo is written in",
            )
    out = t.scratch / f"{t.folder.name}-unit-tests"
    out.mkdir(exist_ok=True)
    tests = out / UNIT_TESTS.name  # a copy: the kit may be out of the student uid's reach
    shutil.copyfile(UNIT_TESTS, tests)
    sandbox.hand_over(out)
    binary = out / "test_frame"
    argv = ["cc", "-std=c17", "-g", "-O1", "-U_FORTIFY_SOURCE", f"-I{t.folder}", f"-I{t.folder.parent / 'common'}"]
    argv += ["-o", str(binary), str(tests), str(t.folder / "frame.c"), "-Wl,--wrap=recv,--wrap=send", "-lcmocka"]
    cc = sandbox.Program(argv, t.folder, limits={"as": None, "cpu": 60}, label="cc test_frame.c frame.c")
    status = cc.wait(60)
    cc.kill()
    log = (cc.stdout.data() + cc.stderr.data()).replace(str(t.folder).encode() + b"/", b"")
    if status is not None and status.code == 0:
        return binary, None
    compiler = "\n" + "\n".join("      " + line for line in lines_of(log, limit=60))  # escaped: frame.c is the student's
    if (b"cmocka.h" in log and b"No such file" in log) or b"cannot find -lcmocka" in log:
        return None, ("cmocka (the C unit test library) is not installed on this machine", [("compiler", compiler)], SETUP)
    shown = " ".join(a.replace(str(t.folder), ".").replace(str(tests), f"grader/checks/units/{UNIT_TESTS.name}") for a in argv)
    return None, (
        "your frame.c does not compile against the kit's unit tests" if status else "compiling the unit tests took too long",
        [("command", shown), ("compiler", compiler)],
        "frame.c must implement frame.h's API exactly (the README of 05-framing) and use recv() and send(); keep frame.h as given",
    )


RUN_LINE = re.compile(r"^\[ RUN      \] (.*)$")
OK_LINE = re.compile(r"^\[       OK \] (.*)$")
FAILED_LINE = re.compile(r"^\[  FAILED  \] (.*)$")
COUNT_LINE = re.compile(r"^\[==========\] Running (\d+) test")
SIGNALS = {
    signal.SIGALRM: "it did not return within 3 s: an endless loop? (a loop that never reads, or reads 0 bytes forever)",
    signal.SIGABRT: "the test program aborted during this case: glibc found memory corrupted (a write past a buffer?)",
}


def parse_cases(output):
    """[(case name, passed, message lines)] from cmocka's output, and the
    number of cases announced; a case left running has passed None."""
    cases, current, message, announced = [], None, [], 0
    for line in output.decode("utf-8", "surrogateescape").splitlines():  # undecodable bytes: escaped when shown
        if COUNT_LINE.match(line):
            announced = int(COUNT_LINE.match(line).group(1))
        elif RUN_LINE.match(line):
            current, message = RUN_LINE.match(line).group(1), []
        elif current is not None and OK_LINE.match(line):
            cases.append((current, True, []))
            current = None
        elif current is not None and FAILED_LINE.match(line):
            cases.append((current, False, message))
            current = None
        elif current is not None and "[   LINE   ]" not in line:
            line = line.replace("[  ERROR   ] --- ", "")
            line = line[len("ERROR: "):] if line.startswith("ERROR: ") else line
            if line.startswith("Test failed with exception:"):
                line = "it crashed: " + line.split(":", 1)[1].strip() + " (an invalid memory access: a write past a buffer, a NULL pointer?)"
            message.append(line)
    if current is not None:
        cases.append((current, None, message))
    return cases, announced


# The likely cause behind a failed case of the kit's (units/test_frame.c):
# first what its message shows (SHAPES: a pattern of the message, in a group
# or any), else what the case is about (CASE_CAUSES, by group and name).
AT_ONCE = "512 bytes held with no '\\n' are LINE_TOO_LONG at once: return it without waiting for the '\\n'"
DROP_REST = "after LINE_TOO_LONG, drop the bytes up to and including the next '\\n' (a flag in the reader), then read lines again: one LINE_TOO_LONG per line"
LOST_LINES = "read_line returned LINE_EOF while lines were still due: keep the bytes after each '\\n' in buf and hand them out before calling recv() again"
AGAIN = "remember the end (or the error) in the reader: every later call returns the same, without calling recv() again"
ASKED_TOO_MUCH = (
    "recv() was asked for more bytes than buf has room for: ask for FRAME_MAX - r->used bytes at r->buf + r->used, "
    "never sizeof buf (a peer that sends more overflows it)"
)
NUL_IN_LINE = "a line may hold any byte, NUL included: look for the '\\n' with memchr() in buf[0..used), never strchr() or strlen()"
SHAPES = [
    (None, re.compile(r"recv\(\) was asked to write \d+ bytes at buf \+ \d+: that goes past the end"), ASKED_TOO_MUCH),
    ("lines", re.compile(r'expected:  a line "(?:[^"\\]|\\[^0])*\\0'), NUL_IN_LINE),  # the line due holds a NUL byte: the first case to fail is about it
    (None, re.compile(r"expected:  a line .*\n\s*returned:  -1 \(LINE_EOF\)"), LOST_LINES),
    (None, re.compile(r"LINE_TOO_LONG was due"), AT_ONCE),
    ("toolong", re.compile(r"read_line call ([2-9]|\d\d+)\n"), DROP_REST),  # the call after a LINE_TOO_LONG
]
CASE_CAUSES = {
    ("lines", "a sample stream cut in two at every position"): "a line may come in pieces: keep what recv() gave in buf, and call recv() again until a '\\n' is held",
    ("lines", "the sample stream one byte per recv()"): "a line may come in pieces: keep what recv() gave in buf, and call recv() again until a '\\n' is held",
    ("lines", "ten lines in one recv()"): "one recv() may bring many lines: hand them out one by one (memmove what follows each '\\n' to the front) before calling recv() again",
    ("lines", "\\r\\n endings: the \\r goes, a \\r elsewhere stays"): "a '\\r' just before the '\\n' belongs to the line ending: drop it; a '\\r' anywhere else stays",
    ("lines", "NUL, \\xff and tabs are kept as they are"): NUL_IN_LINE,
    ("toolong", "a line of 511 bytes and its \\n fits, however it is cut"): "FRAME_MAX (512) counts the '\\n': 511 bytes and their '\\n' are a line, not LINE_TOO_LONG",
    ("toolong", "511 bytes and a \\r: too long"): "511 bytes and a '\\r' are 512 bytes held with no '\\n': LINE_TOO_LONG at once",
    ("end", "end of stream at once"): "recv() returning 0 is the end of the stream: LINE_EOF; " + AGAIN,
    ("end", "end of stream after two lines"): "recv() returning 0 is the end of the stream: LINE_EOF once the lines held are handed out; " + AGAIN,
    ("end", "end of stream drops an unterminated tail"): "at the end of the stream, an unfinished line (no '\\n') is dropped: LINE_EOF, not the tail",
    ("end", "EINTR is retried"): "recv() failing with errno EINTR was interrupted by a signal, which is no error: call it again",
    ("end", "a failed recv() is LINE_ERROR, and stays so"): "recv() returning -1 (but for EINTR) is LINE_ERROR; " + AGAIN,
    ("end", "EBADF and ETIMEDOUT are LINE_ERROR too"): "any errno but EINTR is LINE_ERROR",
    ("send", "short writes of every size"): "send() may take fewer bytes than asked: loop until all len bytes are sent, moving the pointer on",
    ("send", "EINTR is retried"): "send() failing with errno EINTR was interrupted by a signal, which is no error: call it again",
    ("send", "a failed send(): -1 and errno"): "any other -1 from send(): return -1 at once, and leave errno as send() set it",
    ("send", "nothing to send"): "send_all of 0 bytes sends nothing and returns 0",
}
QUOTED = r'"((?:[^"\\]|\\.)*)"'  # a string as the unit tests print it, escapes included
SHOWN = re.compile(r"expected:  a line " + QUOTED + r"\n\s*returned:  \d+, line " + QUOTED)


def case_cause(group, failed):
    """The likely cause of the first failed case that shows one."""
    for name, _, message in failed:
        text = "\n".join(message) + "\n"
        for where, shape, cause in SHAPES:
            if where in (None, group) and shape.search(text):
                return cause
        if (group, name) in CASE_CAUSES:
            return CASE_CAUSES[group, name]
    return None


def unescaped(text):
    """The bytes of a string the unit tests printed escaped (C-like)."""
    return text.encode("latin-1", "replace").decode("unicode_escape").encode("latin-1", "replace")


def run_unit_group(t, group, cause):
    """Run one group of the kit's cases on the student's frame.c; every case must pass."""
    binary = unit_tests(t)
    program = t.run_command([str(binary), group], valgrind=False)
    t.programs.remove(program)  # its raw output is summarised below, case by case
    within = t.within(30)
    status = program.wait(within)
    if status is None:
        program.kill()
    output = program.stdout.wait_for(lambda d: False, time.monotonic() + 2)
    cases, announced = parse_cases(output)
    failed = [(name, passed, message) for name, passed, message in cases if not passed]
    if not cases:
        raise CheckFailed(
            f"the unit tests ({group}) ran no case; the test program {status or 'did not finish'}",
            [("output", show(output))],
            hint=status_hint(status),
        )
    if status is None and failed and failed[-1][1] is None:
        failed[-1][2].append(f"it was still running after {within:g} s: an endless loop?")
    elif status is not None and status.signal and failed and failed[-1][1] is None:
        failed[-1][2].append(SIGNALS.get(status.signal) or f"the test program {status} during this case; " + (status_hint(status) or ""))
    not_run = announced - len(cases)
    if not failed and not not_run and status is not None and status.code == 0:
        t.log("note", f"{len(cases)} cases passed: " + "; ".join(name for name, _, _ in cases))
        return
    evidence = []
    for name, passed, message in failed[:3]:
        evidence.append(("case", f"{name}: FAILED\n" + "\n".join("           " + readable(m.strip(), escaped=True) for m in message if m.strip())))
    if len(failed) > 3:
        evidence.append(("also", "; ".join(name for name, _, _ in failed[3:])))
    if not_run > 0:
        evidence.append(("not run", f"{not_run} more case(s): the test program died in the case above"))
    passed = [name for name, ok, _ in cases if ok]
    if passed:
        evidence.append(("passed", "; ".join(passed)))
    count = len(failed) + max(not_run, 0)
    failure = CheckFailed(f"{count} of {announced or len(cases)} unit cases failed (group {group})", evidence, hint=cause, channel="unit")
    failure.add_hint(case_cause(group, failed))
    failure.facts["unit"] = "\n".join(line for _, _, message in failed for line in message)
    shown = SHOWN.search("\n".join(failed[0][2])) if failed else None
    if shown:  # the first case's line, as expected and as returned
        failure.expected, failure.got = unescaped(shown.group(1)), unescaped(shown.group(2))
    raise failure


@check("read_line: lines cut anywhere, many in one recv, \\r\\n endings", hint="1", weight=CORE)
def unit_lines(t):
    run_unit_group(
        t,
        "lines",
        "keep every byte recv() gives in buf: look for '\\n' with memchr in buf[0..used), hand out one line, "
        "and memmove what follows it to the front; only when no '\\n' is held, recv() more",
    )


@check("read_line: a 511-byte line fits; 512 bytes without \\n are LINE_TOO_LONG at once, then the next line", hint="2", weight=CORE)
def unit_too_long(t):
    run_unit_group(
        t,
        "toolong",
        "used == FRAME_MAX with no '\\n' held means LINE_TOO_LONG, returned at once; then drop bytes up to and "
        "including the next '\\n' (a flag in the reader) before reading lines again",
    )


@check("read_line: end of stream, EINTR and errors (LINE_EOF, LINE_ERROR, sticky)", hint="3")
def unit_end(t):
    run_unit_group(
        t,
        "end",
        "recv() returns 0 at the end of stream (LINE_EOF, an unfinished tail is dropped) and -1 on an error "
        "(LINE_ERROR), except errno EINTR: call it again; remember the end so later calls return the same",
    )


@check("read_line: never writes past buf or line, never asks recv for more than FRAME_MAX - used", hint="1", weight=CORE)
def unit_bounds(t):
    run_unit_group(
        t,
        "bounds",
        "recv(fd, r->buf + r->used, FRAME_MAX - r->used, 0): the room left, never sizeof a bigger buffer; "
        "a line handed out is shorter than FRAME_MAX, so it fits in line[] with its '\\0'",
    )


@check("send_all: short writes of every size, EINTR, -1 and errno on failure", hint="3", weight=CORE)
def unit_send_all(t):
    run_unit_group(
        t,
        "send",
        "send() may take fewer bytes than asked: loop until len bytes are sent, moving the pointer on; retry "
        "-1 with EINTR; any other -1: return -1 and leave errno as send() set it",
    )


# === Wire level: line-echo =====================================================


def connect(t, server):
    """A client of the student's server; every send leaves at once (TCP_NODELAY)."""
    return t.connect(server.port, nodelay=True)


def echoed(t, conn, line, pieces=1, pause=0.05, expect=None):
    """Send line (its ending included); the echo must be expect (default: the
    line with a plain "\\n")."""
    conn.send(line, pieces=pieces, pause=pause)
    body = line.rstrip(b"\n")
    body = body[:-1] if body.endswith(b"\r") else body  # str.removesuffix: Python 3.9
    conn.expect(expect if expect is not None else body + b"\n")


def expect_silence(t, conn, seconds, why):
    """Nothing may come back for a while (the line is not finished yet)."""
    early, _ = conn.read_until(bool, within=t.within(seconds))
    if early:
        raise CheckFailed(f"your server answered {why}", [("received", show(early))], hint="echo a line only once its '\\n' has come: read_line() waits for it")


def served(t, server, why):
    """The server is still running, and a new client gets its lines echoed."""
    server.expect_running(why)
    conn = connect(t, server)
    echoed(t, conn, b"is anybody there?\n")
    return conn


@check("echoes lines sent whole, and byte by byte with pauses", hint="1", remote=True, weight=CORE)
def whole_and_bytes(t):
    server = t.start_server()
    conn = connect(t, server)
    for line in (b"hello\n", b"\n", b"a longer line, with: colons, spaces and\ttabs\n"):
        echoed(t, conn, line)
    echoed(t, conn, b"byte by byte\n", pieces=13, pause=0.03)
    conn.send(b"half a")
    expect_silence(t, conn, 0.3, "before the line was finished (no '\\n' sent yet)")
    echoed(t, conn, b" line, then the rest\n", expect=b"half a line, then the rest\n")


@check("echoes pipelined lines in order, whole and cut across frames", hint="1", remote=True, weight=CORE)
def pipelined(t):
    server = t.start_server()
    conn = connect(t, server)
    stream = b"".join(b"line %d of a pipelined batch\n" % i for i in range(300))
    with t.hint("one recv() may bring many lines: hand them out one by one before calling recv() again"):
        conn.send(stream)
        conn.expect(stream)
        conn.send(stream, pieces=97, pause=0.005)
        conn.expect(stream)


@check("turns \\r\\n into \\n, and keeps a \\r inside a line", hint="2", remote=True)
def crlf(t):
    server = t.start_server()
    conn = connect(t, server)
    with t.hint("a '\\r' just before the '\\n' belongs to the line ending: drop it; any other '\\r' is part of the line"):
        echoed(t, conn, b"ab\r\n", expect=b"ab\n")
        echoed(t, conn, b"\r\n", expect=b"\n")
        echoed(t, conn, b"a\rb\r\n", expect=b"a\rb\n")
        conn.send(b"cut between\r")
        time.sleep(0.1)
        echoed(t, conn, b"\n", expect=b"cut between\n")


@check("echoes a line of 511 bytes (512 with its \\n)", hint="2", remote=True)
def longest_line(t):
    server = t.start_server()
    conn = connect(t, server)
    line = bytes(b"0123456789abcdef"[i % 16] for i in range(511))
    with t.hint("FRAME_MAX (512) counts the '\\n': 511 bytes and '\\n' fit exactly; LINE_TOO_LONG is for 512 bytes held with no '\\n'"):
        echoed(t, conn, line + b"\n")
        echoed(t, conn, line + b"\n", pieces=5, pause=0.02)
        echoed(t, conn, line[:510] + b"\r\n", expect=line[:510] + b"\n")


@check("answers 1 MiB without \\n with one ERROR:TOOLONG at once, then echoes the next line", hint="2", remote=True)
def too_long(t):
    server = t.start_server()
    conn = connect(t, server)
    echoed(t, conn, b"first\n")
    conn.send(b"x" * 600)
    with t.hint("send ERROR:TOOLONG as soon as 512 bytes are held with no '\\n': do not wait for the end of the line"):
        conn.expect(TOOLONG)
    rest = b"x" * (MIB - 600) + b"\n"
    conn.timeout = t.within(30)  # generous: a correct reader may recv() one byte at a time
    conn.send(rest + b"next line\n", quiet=True)
    t.log("sent", f'{show(rest)}, then "next line\\n"')
    with t.hint("after LINE_TOO_LONG, drop the rest of that line through its '\\n' (one ERROR:TOOLONG per line), then read lines again"):
        conn.expect(b"next line\n")
    expect_silence(t, conn, 0.2, "more than expected after the echo of the next line")


def peak_memory(program):
    """The program's peak resident memory (VmHWM) in bytes, or None."""
    pid = sandbox.student_pid(program)
    kib = sandbox.peak_memory_kib(pid) if pid else None
    return kib * 1024 if kib is not None else None


@check("keeps its memory bounded while an 8 MiB line streams in", hint="2", weight=CORE)
def bounded_memory(t, size=8):
    server = t.start_server(valgrind=False)
    conn = connect(t, server)
    echoed(t, conn, b"warming up\n")
    before = peak_memory(server)
    if before is None:
        common.skip(t, "this machine does not show a program's memory (VmHWM in /proc/PID/status)")
        return
    conn.timeout = t.within(60)  # generous: a correct reader may recv() one byte at a time
    block = b"y" * MIB
    t.log("sent", f"{show(block * size)} without a '\\n' (in 1 MiB sends)")
    for _ in range(size):
        conn.send(block, quiet=True)
    conn.send(b"\nafter\n")
    conn.expect(TOOLONG)
    conn.expect(b"after\n")
    after = peak_memory(server)
    if after is None:
        server.expect_running("while a long line streamed in")
        return
    grown = (after - before) / MIB
    t.log("note", f"your server's peak memory (VmHWM): {before / MIB:.1f} MiB before, {after / MIB:.1f} MiB after")
    if grown > size / 2:
        raise CheckFailed(
            f"your server's memory grew by {grown:.0f} MiB while one line of {size} MiB came in: it keeps what it should drop",
            hint="a line longer than FRAME_MAX is dropped as it comes, not stored: the reader's buf[FRAME_MAX] is all the memory a client may take",
        )


@check("serves the next client after one resets or closes mid-line", hint="3", remote=True)
def next_client(t):
    server = t.start_server()
    first = connect(t, server)
    echoed(t, first, b"first\n")
    first.send(b"half a li")
    time.sleep(0.05)
    first.reset()
    t.log("note", "the client reset its connection (RST) in the middle of a line")
    with t.hint("recv() fails (ECONNRESET) when a client resets: read_line gives LINE_ERROR; close it and accept the next one, do not exit", when=lambda e: e.ended):
        second = served(t, server, "after a client reset mid-line")
    second.send(b"unfinished")
    second.close()
    t.log("note", "the client closed its connection in the middle of a line")
    with t.hint("recv() returns 0 when a client closes: read_line gives LINE_EOF; close it and accept the next one", when=lambda e: e.ended):
        served(t, server, "after a client closed mid-line")


@check("survives clients that send many lines and close at once (SIGPIPE)", hint="3")
def pipelined_then_gone(t, count=3000):
    server = t.start_server()
    stream = b"".join(b"line %d\n" % i for i in range(count))
    for _ in range(2):
        server.freeze()  # it reads the lines once the client is already gone
        conn = connect(t, server)
        conn.send(stream, quiet=True)
        conn.close()
        t.log("sent", f"{count} lines ({len(stream)} bytes) in one go, then closed without reading an echo")
        time.sleep(0.05)
        server.thaw()
    time.sleep(0.3)
    with t.hint("send() to a client that has gone raises SIGPIPE, which kills the server: send with MSG_NOSIGNAL and drop the client when send_all fails", when=lambda e: e.ended):
        served(t, server, "after clients that sent many lines and closed at once")


@check("echoes every line of a client that half-closes, then closes the connection", hint="3", remote=True)
def half_close(t):
    server = t.start_server()
    conn = connect(t, server)
    echoed(t, conn, b"first\n")
    conn.send(b"second\nthird\r\nan unterminated tail")
    conn.shutdown_write()
    with t.hint(
        "read_line gives the lines already held, then LINE_EOF (the tail is dropped): then close the client's socket",
        when=lambda e: not e.ended,
    ):
        conn.expect(b"second\nthird\n")
        conn.expect_closed()
    served(t, server, "after a client that half-closed")


@check("listens on every local address", hint="1")
def every_address(t):
    server = t.start_server()
    common.expect_every_address(t, server)
    echoed(t, t.connect(server.port, "127.0.0.2", bind="127.0.0.3"), b"from 127.0.0.3 to 127.0.0.2\n")


@check("restarts on the same port right after serving", hint="1")
def restarts_same_port(t):
    common.expect_restart(t, t.start_server(), lambda conn: echoed(t, conn, b"before and after a restart\n"))


@check("stops on SIGINT and SIGTERM")
def stops_on_signals(t):
    common.expect_stops_on_signals(t, lambda conn: echoed(t, conn, b"about to stop\n"))


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    common.expect_server_edge_ports(t, lambda conn: echoed(t, conn, b"at the edge\n"))


@check("port already in use: message and exit 1", hint="1", weight=DETAIL)
def port_in_use(t):
    common.expect_port_in_use(t)


@check("bad arguments: usage and exit 2", weight=DETAIL)
def bad_arguments(t):
    common.expect_usage(t, common.server_bad_args())


@check("memory check (valgrind)", valgrind=True, weight=CORE)
def memory(t):
    server = t.start_server()
    conn = connect(t, server)
    echoed(t, conn, b"hello\nworld\r\n", expect=b"hello\nworld\n")
    conn.send(b"z" * 1500 + b"\nafter\n")
    conn.expect(TOOLONG + b"after\n")
    conn.close()
    gone = connect(t, server)
    gone.send(b"half a li")
    time.sleep(0.05)
    gone.reset()
    last = connect(t, server)
    echoed(t, last, b"last\n")
    last.send(b"unterminated")
    last.shutdown_write()
    last.expect_closed()
    server.stop(signal.SIGTERM)
    t.expect_clean_memory(server)


# Random sessions against the protocol model (grader/checks/random_sessions.py).
random_sessions = rs.echo_sessions
