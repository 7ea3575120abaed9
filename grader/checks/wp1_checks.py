"""WP/1 conformance probes (SPEC §2, "the WP/1 protocol"), shared by the steps
that serve it: 06-calc-server, and 08-multi-server later.

Every function takes the Trial `t` and the server (a started program, or a bare
port) and fails the check with the request, the expected reply and what came.
The expected replies are never written here by hand: grader/wp1.py computes
them, so the probes and the protocol model cannot disagree.

    from . import wp1_checks as wp1c

    @check("answers pipelined requests in order")
    def pipelined(t):
        wp1c.table_pipelined(t, t.start_server())
"""

import time

from .. import net, wp1
from ..engine import CheckFailed
from ..text import show

I64_MAX, I64_MIN = str(wp1.INT64_MAX), str(wp1.INT64_MIN)

# The rows of the WP/1 table, one request (a frame's line, without "\n") each.
ANSWERS = [
    b"PING:hello",
    b"PING:",
    b"PING:a:b:c",
    b"PING:CALC:1+1",
    b"CALC:3+4",
    b"CALC:-3--4",
    b"CALC:007*6",
    b"CALC:12-30",
    b"CALC:7/2",
    b"CALC:-7/2",
    b"CALC:7%-3",
    b"CALC:-7%3",
    b"CALC:0*-5",
]
ERRORS = [
    b"HELLO:x",
    b"PINGS:x",
    b"ABCDEFGHIJ:x",
    b"no colon here",
    b"",
    b":x",
    b"ping:x",
    b"ABCDEFGHIJK:x",
    b"CA1C:3+4",
    b" CALC:3+4",
    b"CALC:",
    b"CALC:3",
    b"CALC:3+",
    b"CALC:+3+4",
    b"CALC:3 + 4",
    b"CALC:3+4+5",
    b"CALC:3^4",
    b"CALC:--3+4",
    b"CALC:3+4\x00",
    b"CALC:1/0",
    b"CALC:1%0",
    b"CALC:-5/-0",
]
TABLE = ANSWERS + ERRORS
OVERFLOW_EDGES = [
    b"CALC:" + I64_MAX.encode() + b"+0",
    b"CALC:" + I64_MAX.encode() + b"+1",
    b"CALC:" + I64_MIN.encode() + b"-1",
    b"CALC:" + I64_MIN.encode() + b"+0",
    b"CALC:" + I64_MIN.encode() + b"/-1",
    b"CALC:" + I64_MIN.encode() + b"%-1",
    b"CALC:" + I64_MIN.encode() + b"*-1",
    b"CALC:" + I64_MIN.encode() + b"/1",
    b"CALC:-" + I64_MAX.encode() + b"-1",
    b"CALC:9223372036854775808-1",  # an operand of 2**63: out of range, though the result is not
    b"CALC:-9223372036854775809+1",
    b"CALC:3037000500*3037000500",
    b"CALC:-3037000499*3037000499",
    b"CALC:4611686018427387904*2",
    b"CALC:-4611686018427387904*2",
    b"CALC:99999999999999999999*0",  # 20 digits
    b"CALC:18446744073709551616+0",  # 2**64: wraps to 0 in an unsigned accumulator
    b"CALC:18446744073709551621-5",
    b"CALC:00000000000000000000000042+0",  # 26 digits, leading zeros: 42
    b"CALC:-00000000000000000000009223372036854775808+0",
    # each operator at both ends of the range, both ways (SPEC: the result outside signed 64-bit)
    b"CALC:1+" + I64_MAX.encode(),
    b"CALC:" + I64_MIN.encode() + b"+-1",
    b"CALC:-1+" + I64_MIN.encode(),
    b"CALC:" + I64_MIN.encode() + b"+" + I64_MAX.encode(),
    b"CALC:" + I64_MAX.encode() + b"--1",
    b"CALC:0-" + I64_MIN.encode(),
    b"CALC:-1-" + I64_MIN.encode(),
    b"CALC:" + I64_MAX.encode() + b"-" + I64_MAX.encode(),
    b"CALC:-3037000500*-3037000500",
    b"CALC:-3037000500*3037000500",
    b"CALC:4611686018427387905*-2",
    b"CALC:" + I64_MAX.encode() + b"*-1",
    b"CALC:" + I64_MAX.encode() + b"/-1",
    b"CALC:" + I64_MIN.encode() + b"/2",
    b"CALC:" + I64_MAX.encode() + b"%" + I64_MIN.encode(),
    b"CALC:" + I64_MIN.encode() + b"%" + I64_MAX.encode(),
]
ERROR_ORDER = [
    b"CALC:99999999999999999999/0",  # OVERFLOW (an operand) before DIVZERO
    b"CALC:1/99999999999999999999",  # OVERFLOW, not 0
    b"CALC:99999999999999999999/x",  # SYNTAX before OVERFLOW
    b"CALC:99999999999999999999+1 ",
    b"CALC:1/0x",  # SYNTAX before DIVZERO
    b"CALC:" + I64_MIN.encode() + b"/0",  # DIVZERO (operands in range), not OVERFLOW
    b"CALC:" + I64_MIN.encode() + b"%0",
    b"CALC:-99999999999999999999%0",
]

# Many requests in one send: more bytes than any one buffer of 512 holds.
BURST = [b"CALC:%d*%d" % (i, i - 150) if i % 3 else b"PING:%d" % i for i in range(300)]

HINT_KEEP = "keep the bytes after the '\\n': they are the start of the next request"


def port_of(server):
    return getattr(server, "port", server)


def connect(t, server):
    """A connection that sends each piece at once (no Nagle): byte by byte means it."""
    return t.connect(port_of(server), nodelay=True)


def frames(requests, ending=b"\n"):
    return b"".join(r + ending for r in requests)


def expect_replies(conn, stream, skip=0):
    """The replies wp1.py gives for stream (but the first skip ones, already
    received), one by one; a wrong one names its request when it can."""
    requests = stream.split(b"\n")
    aligned = all(len(r) < wp1.FRAME_MAX for r in requests)  # no TOOLONG: reply i answers line i
    for i, expected in enumerate(wp1.replies(stream)):
        if i < skip:
            continue
        try:
            conn.expect_line(expected)
        except CheckFailed as failure:
            if aligned:
                failure.request = requests[i]
            if aligned and len(requests) > 2:
                failure.evidence.insert(0, ("reply to", show(requests[i] + b"\n") + f"  (request {i + 1})"))
            raise


def ask(t, conn, request, pieces=1, pause=0.05, ending=b"\n"):
    """Send one request (a line without its ending), then expect its reply."""
    conn.send(request + ending, pieces=pieces, pause=pause)
    expect_replies(conn, request + ending)


def served(t, server, why=""):
    """The server is still there and serves a new client."""
    if hasattr(server, "expect_running"):
        server.expect_running(why)
    conn = connect(t, server)
    ask(t, conn, b"PING:still there?")
    conn.close()


# === The table, three ways =====================================================


def table_whole(t, server, requests=TABLE):
    """Each request sent whole, its reply awaited before the next."""
    conn = connect(t, server)
    for request in requests:
        ask(t, conn, request)
    return conn


def table_byte_by_byte(t, server, requests=TABLE, pause=0.002):
    """Each request trickles in one byte at a time."""
    conn = connect(t, server)
    for request in requests:  # a wrong reply is diagnosed from the evidence (diagnoses.answered_a_piece...)
        ask(t, conn, request, pieces=len(request) + 1, pause=pause)
    return conn


def table_pipelined(t, server, requests=TABLE, piece=7):
    """Every request in one send, then again cut in pieces that each end one
    frame and start the next: replies must come in request order."""
    stream = frames(requests)
    conn = connect(t, server)
    t.log("note", f"{len(requests)} requests in one send")
    with t.hint(HINT_KEEP + "; answer them one by one, in order", when=lambda e: e.nothing_came):
        conn.send(stream)
        expect_replies(conn, stream)
        t.log("note", f"again, cut in pieces of {piece} bytes: each piece ends one request and starts the next")
        conn.send(stream, pieces=-(-len(stream) // piece), pause=0.002)
        expect_replies(conn, stream)
        burst = frames(BURST)
        t.log("note", f"{len(BURST)} requests ({len(burst)} bytes, more than one read_line buffer) in one send")
        conn.send(burst, quiet=True)
        expect_replies(conn, burst)
    return conn


def crlf(t, server):
    """\\r\\n endings: the \\r belongs to the ending, anywhere else to the argument."""
    conn = connect(t, server)
    with t.hint('a "\\r" just before the "\\n" is part of the line ending: drop it before parsing', when=lambda e: b"\r" in (e.got or b"") or e.got_line(b"ERROR:SYNTAX")):
        for request in (b"PING:x", b"CALC:3+4", b"CALC:-7%3", b"QUITS:", b""):
            ask(t, conn, request, ending=b"\r\n")
        ask(t, conn, b"PING:a\rb", ending=b"\r\n")
        t.log("note", 'the "\\r" and the "\\n" in separate pieces')
        conn.send(b"CALC:6*7\r")
        time.sleep(0.05)
        conn.send(b"\nPING:y\r\n")
        expect_replies(conn, b"CALC:6*7\r\nPING:y\r\n")
    return conn


def ping_bytes(t, server):
    """PING echoes its argument byte for byte: NUL bytes, ':', bytes above 127,
    and the longest argument a frame can hold."""
    conn = connect(t, server)
    longest = b"PING:" + bytes(range(33, 127)) * 5 + b"x" * (511 - 5 - 94 * 5)
    with t.hint("the argument may hold NUL bytes: use the length read_line returned (memcpy), not strlen/printf %s", when=lambda e: b"\0" in (e.sent or b"")):
        for request in (b"PING:a\x00b", b"PING:\x00", b"PING:\x00\x00:\x00end", b"PING:\xff\xfe\x80 \t", longest):
            ask(t, conn, request)
    return conn


def overflow_edges(t, server):
    conn = connect(t, server)
    with t.hint(
        "signed overflow is undefined in C: check before you compute (__builtin_add_overflow...), "
        "read each operand digit by digit, refusing it as soon as it passes INT64_MAX (INT64_MAX + 1 for a negative one); "
        "and INT64_MIN / -1 (or % -1) traps on x86 (SIGFPE): answer it before dividing"
    ):
        for request in OVERFLOW_EDGES:
            ask(t, conn, request)
    return conn


def error_order(t, server):
    conn = connect(t, server)
    with t.hint("check a CALC in this order: its shape (SYNTAX), each operand (OVERFLOW), a zero divisor (DIVZERO), the result (OVERFLOW)"):
        for request in ERROR_ORDER:
            ask(t, conn, request)
    return conn


# === Too long, QUIT, half-close ================================================


def too_long(t, server):
    """ERROR:TOOLONG as soon as 512 bytes are held with no '\\n', once; the rest
    of that line is dropped and the next line is answered."""
    conn = connect(t, server)
    with t.hint("reply ERROR:TOOLONG as soon as 512 bytes are held without a '\\n', without waiting for the end of the line"):
        t.log("note", "512 bytes without a newline, and nothing more")
        conn.send(b"PING:" + b"A" * 507)
        conn.expect_line(b"ERROR:TOOLONG")
    with t.hint("after ERROR:TOOLONG, drop the bytes through the next '\\n' (once), then answer normally"):
        conn.send(b"B" * 3000 + b"\nPING:after\n")
        expect_replies(conn, b"PING:" + b"A" * 507 + b"B" * 3000 + b"\nPING:after\n", skip=1)
        t.log("note", "511 bytes then \\r\\n: the frame is 513 bytes, too long")
        conn.send(b"PING:" + b"C" * 506 + b"\r\nCALC:1+1\n")
        expect_replies(conn, b"PING:" + b"C" * 506 + b"\r\nCALC:1+1\n")
    with t.hint("a frame of exactly 512 bytes, its \\r\\n included, is not too long: TOOLONG is for 512 bytes held without a '\\n'", when=lambda e: e.got_line(b"ERROR:TOOLONG")):
        t.log("note", "510 bytes then \\r\\n: the frame is 512 bytes, the longest allowed")
        ask(t, conn, b"PING:" + b"E" * 505, ending=b"\r\n")
        ask(t, conn, b"PING:" + b"F" * 506)
    longest_frame_held(t, conn)
    with t.hint("after ERROR:TOOLONG, drop the bytes through the next '\\n' (once), then answer normally"):
        t.log("note", "a long line between two requests, all in one send")
        stream = b"PING:a\n" + b"D" * 1500 + b"\nPING:b\n"
        conn.send(stream)
        expect_replies(conn, stream)
    return conn


def longest_frame_held(t, conn):
    """511 bytes held, then their '\\n' in a segment of its own: a frame of 512
    bytes, the longest, is not too long even when the server holds all but
    its '\\n' (a limit of 511 held bytes passes when the '\\n' comes along)."""
    line = b"PING:" + b"G" * 506
    with t.hint(
        "511 bytes held without their '\\n' are not too long yet: the '\\n' makes the frame 512 bytes, the longest "
        "allowed; TOOLONG is for 512 bytes held with no '\\n' (used == FRAME_MAX, not FRAME_MAX - 1)",
        when=lambda e: e.got_line(b"ERROR:TOOLONG"),
    ):
        t.log("note", "511 bytes, then, once your server has read them, their '\\n': a frame of 512 bytes")
        conn.send(line)
        conn.wait_taken()
        conn.send(b"\n", quiet=True)
        conn.expect_line(b"PONG:" + line[5:])


def quit_closes(t, server):
    """QUIT gets BYE: then the close; frames after it are ignored."""
    conn = connect(t, server)
    ask(t, conn, b"PING:before")
    stream = b"CALC:1+1\nQUIT:see you\nPING:ignored\nCALC:2+2\n"
    conn.send(stream)
    with t.hint("after QUIT, send BYE: and close the connection: what follows QUIT is not answered"):
        expect_replies(conn, stream)
        conn.expect_closed()
    conn.close()
    again = connect(t, server)
    ask(t, again, b"QUIT:", pieces=2, pause=0.05)
    with t.hint("after QUIT, send BYE: and close the connection"):
        again.expect_closed()


def half_close(t, server):
    """A client that half-closes gets every reply it is owed, then the close."""
    frozen = hasattr(server, "freeze")  # a server of ours (not REMOTE=): it can be stopped
    if frozen:
        server.freeze()  # it reads the frames once the half-close is there too, whatever its speed
    conn = connect(t, server)
    stream = frames([b"CALC:1+1", b"PING:x", b"CALC:6*7", b"CALC:1/0"]) + b"PING:an unterminated tail"
    conn.send(stream)
    conn.shutdown_write()
    if frozen:
        wait_half_closed(t, port_of(server))
        server.thaw()
    with t.hint("recv() returns 0 after a half-close: answer every complete frame already received, then close"):
        expect_replies(conn, stream)
        conn.expect_closed()


def wait_half_closed(t, port, within=None):
    """Until the server's end of a connection on port has received our FIN
    (CLOSE_WAIT in /proc/net/tcp), or the deadline passes."""
    deadline = time.monotonic() + t.within(within)
    while time.monotonic() < deadline and not net.tcp_sockets(port, {"08"}):
        time.sleep(0.005)


# === Clients that vanish =======================================================


def pipelined_then_gone(t, server, count=3000):
    """Clients that pipeline many requests and close at once, without reading:
    the server's replies meet a closed socket (RST, then EPIPE). It must not
    die of SIGPIPE, and the next client is served."""
    stream = frames([b"CALC:%d*%d" % (i, i) for i in range(count)])
    frozen = hasattr(server, "freeze")
    for _ in range(2):
        if frozen:
            server.freeze()  # it reads the requests once the client is already gone
        conn = connect(t, server)
        conn.send(stream, quiet=True)
        conn.close()
        t.log("sent", f"{count} requests ({len(stream)} bytes) in one go, then closed without reading a reply")
        if frozen:
            time.sleep(0.05)
            server.thaw()
    time.sleep(0.3)
    with t.hint("send() to a client that has gone raises SIGPIPE, which kills the server: send with MSG_NOSIGNAL and drop the client when send() fails", when=lambda e: e.ended):
        served(t, server, "after clients that pipelined requests and closed at once")


def reset_mid_frame(t, server):
    """A client that resets halfway through a frame: the server drops it and
    serves the next client."""
    conn = connect(t, server)
    ask(t, conn, b"PING:first")
    conn.send(b"CALC:12+")
    time.sleep(0.05)
    conn.reset()
    t.log("note", "the client reset its connection (RST) in the middle of a frame")
    with t.hint("recv() fails with ECONNRESET when a client resets: close it and serve the next one, do not exit", when=lambda e: e.ended):
        served(t, server, "after a client reset mid-frame")


def next_client(t, server, count=10):
    """A client waiting while another is served gets its replies once the first
    leaves; then many clients in a row."""
    first = connect(t, server)
    ask(t, first, b"PING:first")
    second = connect(t, server)
    second.send(b"PING:second\nCALC:2*21\n")
    t.log("note", "a second client sent its requests while the first one was still connected")
    first.close()
    t.log("note", "the first client closed its connection")
    with t.hint("once a client has left (recv() returns 0), close its socket and accept() the next one"):
        expect_replies(second, b"PING:second\nCALC:2*21\n")
    second.close()
    for i in range(count):
        conn = connect(t, server)
        ask(t, conn, b"CALC:%d+1" % i)
        conn.close()
    t.log("note", f"{count} more clients, one after another: each was answered")
