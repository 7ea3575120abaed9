"""07-calc-client: a calculator at the terminal, over WP/1 (SPEC §2, 07).

The grader plays the user and a WP/1 server. It types lines at the client's
stdin and answers the frames that come, one reply per frame, as they come: a
client may send every request as soon as it is typed (pipelining) or wait for
each reply before sending the next (lockstep); both are correct, so the grader
never waits for all the input, and never reads a request before it has answered
the one before (except where it looks for two outstanding requests on purpose).
"""

import os
import re
import time

from .. import net, sandbox
from ..engine import CORE, DETAIL, CheckFailed, check
from ..text import show
from . import common
from . import random_sessions as rs

FRAME_MAX = 512
NL = b"\n"
PING_DELAY = 0.3  # seconds the grader holds a PONG back: the client must measure them
LATE = 0.3  # seconds the grader holds replies back after the end of input
PONG = re.compile(rb"pong (-?\d+(?:\.\d+)?) ms")  # a negative time is a number too: the range check says what is wrong with it

PRINT_AT_ONCE = (
    "print each reply as soon as it arrives, and fflush(stdout): stdout is a pipe here, so printf "
    "output waits in a buffer; and watch the socket with poll() even while the user types"
)
READ_LINES = (
    "one recv() is not one reply: it may bring part of a reply, or two; read the replies with "
    "read_line() of step 05, and handle every line it already holds before poll() sleeps again"
)
QUEUE = (
    "keep a queue of the requests sent and not answered yet: the oldest one says what the next "
    "reply must be"
)
ENDINGS = "recv() returning 0 while replies are owed, or before the end of input, is an error: say so on stderr, exit 1"


# === The grader as a WP/1 server ===============================================


def session(t, host="127.0.0.1", valgrind=None):
    """The student's client, connected to the grader's server; its stdin is a
    pipe the grader types into."""
    server = t.serve(host)
    client = t.run(host, server.port, stdin="pipe", valgrind=valgrind)
    return client, server.accept(client)


def likely_cause(expected, got):
    """Why a client sent got where expected was due (both without '\\n')."""
    if got == b"CALC:":
        return "an empty line asks nothing: skip it, send nothing"
    if expected.startswith(b"CALC:") and got == expected[5:]:
        return "each line L goes out as the frame CALC:L"
    if expected.startswith(b"PING:") and got == b"CALC:ping":
        return "the line ping is a command of its own: send PING:<a token of yours>"
    if got.startswith(b"CALC:CALC:") or got.endswith(b"\r"):
        return "send the line once, without its '\\n', after CALC:, and then one '\\n'"
    return None


def next_frame(conn):
    """The next frame the client sends (without '\\n'); fails if none comes."""
    try:
        return conn.read_line()
    except CheckFailed as failure:
        if not (conn.eof or conn.error):
            failure.hint = "send each line as soon as it is typed: a user at a terminal waits for the answer before typing the next"
        raise


def expect_request(t, conn, frame):
    """The next frame from the client must be frame (without '\\n')."""
    got = next_frame(conn)
    if got != frame:
        raise CheckFailed(
            "your client sent another frame than expected",
            [("expected", show(frame + b"\n")), ("received", show(got + b"\n"))],
            hint=likely_cause(frame, got),
        )


def expect_ping(t, conn):
    """The next frame must be a PING; its token (the argument)."""
    got = next_frame(conn)
    if not got.startswith(b"PING:"):
        raise CheckFailed(
            "after the line ping your client sent another frame than a PING",
            [("expected", '"PING:<a token of yours>\\n"'), ("received", show(got + b"\n"))],
            hint=likely_cause(b"PING:", got),
        )
    return got[5:]


def expect_printed(t, client, line, reply, hint=None, early=None):
    """The client must print line for the reply it was just sent; hint is the
    likely cause when nothing (or not all of it) comes; early, how the client
    had ended before that reply was sent (None: it was running)."""
    try:
        client.expect_stdout_line(line)
    except CheckFailed as failure:
        failure.evidence.insert(0, ("for", f"the reply {show(reply + NL)}"))
        status = client.settled_status()
        if status is not None and client.stdout.total <= client.stdout_seen:
            failure.message = f"your client {status} without printing a line for that reply"
        printed = dict(failure.evidence).get("printed", "")
        if "CALC:" in printed or "ERROR:" in printed:
            failure.hint = 'print the result alone ("7"), and an ERROR:E reply as "error: E"'
        elif early is not None or (status is not None and status.code == 0 and client.asked_to_end):
            # it ended before the reply was sent, or left with it unprinted once its input had ended
            failure.hint = (
                f"your client {early or status} without waiting for this reply: at the end of input, keep reading "
                "until every request sent has its reply; only then exit 0"
            )
        else:
            failure.hint = hint or failure.hint or PRINT_AT_ONCE
        raise


def exchange(t, client, conn, typed, frame, reply, printed, pieces=1, pause=0.05, hint=None):
    """Type one line, expect its frame, answer it, expect the printed line."""
    client.type(typed + b"\n")
    expect_request(t, conn, frame)
    conn.send(reply + b"\n", pieces=pieces, pause=pause)
    expect_printed(t, client, printed, reply, hint)


def serve(t, client, conn, script, delay=0.0, pause=0.0, hint=None):
    """Answer the frames of script [(frame, reply, printed)] in order, one per
    frame as it comes (the first after delay, the others pause apart), and
    expect each printed line; a ping's frame is given as b"PING"."""
    for i, (frame, reply, printed) in enumerate(script):
        if frame == b"PING":
            token = expect_ping(t, conn)
            reply = b"PONG:" + token
        else:
            expect_request(t, conn, frame)
        time.sleep(delay if i == 0 else pause)
        early = client.poll()  # it ended before its reply was sent: it did not wait for it
        conn.send(reply + b"\n")
        if printed is None:
            expect_pong(t, client, reply)
        else:
            expect_printed(t, client, printed, reply, hint, early=early)


def expect_pong(t, client, reply):
    line = client.read_stdout_line()
    if not PONG.fullmatch(line):
        raise CheckFailed(
            "for a PONG your client printed another line than pong <milliseconds> ms",
            [("for", f"the reply {show(reply + NL)}"), ("expected", '"pong <N> ms\\n"'), ("printed", show(line + b"\n"))],
            hint="print the round trip as pong %.3f ms (milliseconds, measured with CLOCK_MONOTONIC)",
        )
    t.log("printed", show(line + b"\n"))
    return float(PONG.fullmatch(line).group(1))


def finish(t, client, conn):
    """End the input: the client must exit 0, having sent nothing more than an
    optional QUIT: (answered with BYE:)."""
    client.end_input()
    deadline = time.monotonic() + t.timeout
    while client.poll() is None and time.monotonic() < deadline and not (conn.eof or conn.error):
        got, _ = conn.read_until(lambda p: b"\n" in p, within=0.05)
        if b"\n" in got:
            expect_quit(t, conn)
    with t.hint("at the end of input, once every reply has come, close the socket and return 0"):
        client.expect_exit(0)
    conn.read_until(lambda p: False, within=t.within(1))  # what it sent before it ended
    while b"\n" in conn.pending:
        expect_quit(t, conn)


def expect_quit(t, conn):
    line = conn.read_line()
    if not line.startswith(b"QUIT:"):
        raise CheckFailed(
            "after the end of input your client sent a frame nobody typed",
            [("expected", '"QUIT:\\n", or nothing'), ("received", show(line + b"\n"))],
            hint=likely_cause(b"", line) or "send one frame per line typed, and nothing else",
        )
    try:
        conn.sock.sendall(b"BYE:\n")
        t.log("sent", show(b"BYE:\n"))
    except OSError:
        pass
    conn.close()
    conn.eof = True


def expect_failure(t, client, why, hint):
    """The client must exit 1 with a message on stderr."""
    with t.hint(hint):
        client.expect_exit(1)
        client.expect_stderr_message(hint=f"say on stderr why you stop: {why}")


def expect_nothing_more(client):
    """Nothing printed on stdout after the lines already expected."""
    out = client.stdout.data()
    if len(out) > client.stdout_seen:
        raise CheckFailed(
            "your client printed more than expected",
            [("expected", "nothing more"), ("printed", show(out[client.stdout_seen :]))],
            hint="a reply that is not the one owed is an error: print nothing for it, say why on stderr, exit 1",
        )


def type_quietly(client, data):
    """Type data, whether or not the client still reads (it may have ended)."""
    if client.stdin is not None and client.poll() is None:
        client.trial.log("typed", show(data))
        os.set_blocking(client.stdin, False)
        try:
            os.write(client.stdin, data)
        except OSError:
            pass


# === Peak memory, read from /proc ==============================================


def unread(ports):
    """Bytes the grader sent that the client has not read yet (the receive
    queue of its socket), or None if not found; ports are (the grader's, the
    client's) of the connection."""
    mine, theirs = ports
    return net.unread_bytes(theirs, mine)


def wait_read(client, ports, deadline):
    """Wait until the client has read everything sent to it, or has ended;
    False if it stopped reading (or it cannot be told)."""
    while time.monotonic() < deadline:
        left = unread(ports)
        if left == 0 or client.poll() is not None:
            return True
        if left is None:
            return False
        time.sleep(0.005)
    return False


def peak_memory_kib(program):
    """The largest peak resident size (VmHWM) of the program's processes, or None."""
    peaks = [kib for kib in map(sandbox.peak_memory_kib, sandbox.student_pids(program)) if kib is not None]
    return max(peaks, default=None)


# === Checks ====================================================================


@check("prints each result, replies sent whole", hint="1", weight=CORE)
def results_whole(t):
    client, conn = session(t)
    client.type(b"3+4\n-3--4\n100/7\n")
    serve(t, client, conn, [(b"CALC:3+4", b"CALC:7", b"7"), (b"CALC:-3--4", b"CALC:1", b"1"), (b"CALC:100/7", b"CALC:14", b"14")])
    finish(t, client, conn)


@check("prints a reply sent in pieces, with pauses and byte by byte", hint="2", weight=CORE)
def reply_in_pieces(t):
    client, conn = session(t)
    exchange(t, client, conn, b"-1234*1000", b"CALC:-1234*1000", b"CALC:-1234000", b"-1234000", pieces=4, pause=0.15, hint=READ_LINES)
    reply = b"CALC:9223372036854775807"
    exchange(t, client, conn, b"9223372036854775806+1", b"CALC:9223372036854775806+1", reply, reply[5:], pieces=len(reply) + 1, pause=0.01, hint=READ_LINES)
    finish(t, client, conn)


@check("prints both replies when they come in one segment", hint="2", weight=CORE)
def two_replies_in_one_segment(t):
    client, conn = session(t)
    client.type(b"20+22\n6*7\n")
    expect_request(t, conn, b"CALC:20+22")
    second, _ = conn.read_until(lambda p: b"\n" in p, within=t.within(1))
    if b"\n" not in second:
        t.log("note", "your client waits for each reply before it sends the next request: its replies can never come two at once")
        conn.send(b"CALC:42\n")
        expect_printed(t, client, b"42", b"CALC:42")
        serve(t, client, conn, [(b"CALC:6*7", b"CALC:42", b"42")])
    else:
        expect_request(t, conn, b"CALC:6*7")
        conn.send(b"CALC:42\nCALC:42\n")
        t.log("note", "the two replies left in one segment (one send)")
        expect_printed(t, client, b"42", b"CALC:42", READ_LINES)
        expect_printed(t, client, b"42", b"CALC:42", READ_LINES)
    finish(t, client, conn)


@check("prints each reply before the next line is typed", hint="1", weight=CORE)
def interactive(t):
    client, conn = session(t)
    for typed, reply, printed in (
        (b"1+2", b"CALC:3", b"3"),
        (b"6*7", b"CALC:42", b"42"),
        (b"1/0", b"ERROR:DIVZERO", b"error: DIVZERO"),
        (b"-5%3", b"CALC:-2", b"-2"),
    ):
        exchange(t, client, conn, typed, b"CALC:" + typed, reply, printed, hint=PRINT_AT_ONCE)
    finish(t, client, conn)


@check("ping prints pong N ms, measured, the PONG echoing the client's own token", hint="3")
def ping(t):
    client, conn = session(t)
    tokens = []
    for _ in range(2):
        started = time.monotonic()
        client.type(b"ping\n")
        tokens.append(expect_ping(t, conn))
        t.log("note", f"the grader holds the PONG back {PING_DELAY * 1000:.0f} ms")
        time.sleep(PING_DELAY)
        reply = b"PONG:" + tokens[-1]
        conn.send(reply + b"\n")
        ms = expect_pong(t, client, reply)
        took = (time.monotonic() - started) * 1000
        if not PING_DELAY * 1000 - 5 <= ms <= took + 20:
            raise CheckFailed(
                f"your client printed a round trip of {ms:g} ms; it took between {PING_DELAY * 1000:.0f} and {took:.0f} ms",
                [("for", f"the reply {show(reply + NL)}")],
                hint="take the time with clock_gettime(CLOCK_MONOTONIC) just before sending the PING and when its PONG "
                "arrives; print the difference in milliseconds (seconds * 1000 + nanoseconds / 1e6)",
            )
    if tokens[0] == tokens[1]:
        raise CheckFailed(
            "your client sent the same token in both PINGs",
            [("received", f"{show(b'PING:' + tokens[0])} twice")],
            hint="each PING needs a fresh token (a counter will do): a PONG then says which PING it answers",
        )
    finish(t, client, conn)


@check("prints error: E for an ERROR reply", hint="1")
def error_replies(t):
    client, conn = session(t)
    for typed, reply in ((b"1/0", b"ERROR:DIVZERO"), (b"2**3", b"ERROR:SYNTAX"), (b"99999999999999999999+1", b"ERROR:OVERFLOW")):
        exchange(t, client, conn, typed, b"CALC:" + typed, reply, b"error: " + reply[6:], hint=rs.HINT_ERROR_GOES_ON)
    finish(t, client, conn)


@check("skips empty lines: nothing is sent for them", hint="1")
def skips_empty_lines(t):
    client, conn = session(t)
    client.type(b"\n1+2\n\n\n3*4\n\n")
    serve(t, client, conn, [(b"CALC:1+2", b"CALC:3", b"3"), (b"CALC:3*4", b"CALC:12", b"12")])
    finish(t, client, conn)


@check("matches replies to requests in order, a ping among calculations", hint="3")
def replies_in_order(t):
    client, conn = session(t)
    client.type(b"3+4\nping\n1/0\n2*21\nping\n-7/2\n")
    serve(
        t,
        client,
        conn,
        [
            (b"CALC:3+4", b"CALC:7", b"7"),
            (b"PING", None, None),
            (b"CALC:1/0", b"ERROR:DIVZERO", b"error: DIVZERO"),
            (b"CALC:2*21", b"CALC:42", b"42"),
            (b"PING", None, None),
            (b"CALC:-7/2", b"CALC:-3", b"-3"),
        ],
        hint=QUEUE,
    )
    finish(t, client, conn)


@check("at the end of input, waits for every reply, then exits 0", hint="3")
def waits_for_replies(t):
    client, conn = session(t)
    client.type(b"1+1\n2*3\n7-10\n")
    client.end_input()
    t.log("note", f"the grader holds every reply back: {LATE * 1000:.0f} ms for the first, {LATE * 500:.0f} ms between the others")
    script = [(b"CALC:1+1", b"CALC:2", b"2"), (b"CALC:2*3", b"CALC:6", b"6"), (b"CALC:7-10", b"CALC:-3", b"-3")]
    serve(t, client, conn, script, delay=LATE, pause=LATE / 2, hint="at the end of input, keep reading until every request sent has its reply; only then exit 0")
    finish(t, client, conn)


@check("server closes before the end of input: message on stderr and exit 1", hint="3")
def server_closes_early(t):
    for reset in (False, True):
        client, conn = session(t)
        exchange(t, client, conn, b"1+1", b"CALC:1+1", b"CALC:2", b"2")
        if reset:
            conn.reset()
        else:
            conn.close()
        t.log("note", f"the grader's server {'reset' if reset else 'closed'} the connection; your client's stdin stays open")
        time.sleep(0.1)
        type_quietly(client, b"2+2\n")  # a client that waits for each line notices now
        expect_failure(t, client, "the server " + ("reset" if reset else "closed") + " the connection", ENDINGS)
        expect_nothing_more(client)


@check("server closes with replies owed: message on stderr and exit 1", hint="3")
def server_closes_with_replies_owed(t):
    client, conn = session(t)
    client.type(b"1+1\n2+2\n")
    client.end_input()
    serve(t, client, conn, [(b"CALC:1+1", b"CALC:2", b"2")])
    expect_request(t, conn, b"CALC:2+2")
    conn.close()
    t.log("note", "the grader's server closed the connection without answering CALC:2+2")
    expect_failure(t, client, "the server closed the connection with a reply owed", ENDINGS)
    expect_nothing_more(client)


@check("a reply longer than 512 bytes: message and exit 1", hint="2")
def reply_too_long(t):
    client, conn = session(t)
    client.type(b"1+1\n")
    expect_request(t, conn, b"CALC:1+1")
    reply = b"CALC:" + b"1" * 600
    conn.send(reply + b"\n")
    t.log("note", f"a reply of {len(reply) + 1} bytes: a WP/1 frame is at most {FRAME_MAX}, its '\\n' included")
    expect_failure(t, client, "the reply is not a WP/1 frame", "a reply is at most FRAME_MAX (512) bytes: read_line() returns LINE_TOO_LONG; say so, exit 1")
    client.expect_no_stdout()


@check("a reply of 1 MiB without a newline: exit 1, memory bounded", hint="2", weight=CORE)
def reply_of_a_mebibyte(t):
    client, conn = session(t)
    exchange(t, client, conn, b"1+1", b"CALC:1+1", b"CALC:2", b"2")
    client.type(b"5*5\n")
    expect_request(t, conn, b"CALC:5*5")
    before = peak_memory_kib(client)
    peak, sent, piece = before, 0, b"CALC:" + b"9" * 65531
    ports = (conn.local_port, conn.sock.getpeername()[1])
    conn.sock.settimeout(t.timeout)
    for _ in range(16):  # 1 MiB, 64 KiB at a time: its memory is looked at once it has read each piece
        try:
            conn.sock.sendall(piece)
        except OSError:
            break  # it has closed the connection: fine, that is the point
        sent += len(piece)
        piece = b"9" * 65536
        drained = wait_read(client, ports, time.monotonic() + t.within(1))
        now = peak_memory_kib(client)
        if now is None or not drained:
            break  # it has ended, or it no longer reads: its exit status says which
        peak = max(peak or 0, now)
    t.log("sent", f"{show(b'CALC:999')}... {sent} bytes without '\\n'  (in pieces of 64 KiB, each once your client had read the one before); the connection stays open")
    bounded = "a reply is at most FRAME_MAX (512) bytes: read it with read_line(), which never holds more, and stop at LINE_TOO_LONG"
    grew = peak - before if before is not None and peak is not None else None
    if grew is not None:
        t.log("note", f"your client's peak memory (VmHWM) grew by {grew} KiB while the grader sent the reply")
    expect_failure(t, client, "the reply is not a WP/1 frame", bounded)
    if grew is not None:
        if grew > 256:
            raise CheckFailed(f"your client's memory grew by {grew} KiB while it received a reply with no '\\n': it keeps the reply whole", hint=bounded)
    expect_nothing_more(client)


@check("a reply when nothing is owed: message and exit 1", hint="3")
def reply_not_owed(t):
    client, conn = session(t)
    exchange(t, client, conn, b"1+1", b"CALC:1+1", b"CALC:2", b"2")
    conn.send(b"PONG:unasked\n")
    t.log("note", "nothing was owed: that reply answers no request")
    # A client that waits on stdin (lockstep, correct too) sees the PONG only
    # as the reply to the next line: a PONG to a CALC, the wrong kind, is an
    # error as well. The grader answers nothing more.
    type_quietly(client, b"2+2\n")
    expect_failure(
        t,
        client,
        "a reply came when none was owed",
        "a reply when nothing is owed answers no request: it is an error, not a line to skip; "
        "watch the socket with poll() even when nothing is owed, say so on stderr, exit 1",
    )
    expect_nothing_more(client)


@check("a PONG with the wrong token: message and exit 1", hint="3")
def pong_wrong_token(t):
    client, conn = session(t)
    client.type(b"ping\n")
    token = expect_ping(t, conn)
    reply = b"PONG:" + token + b"-not-yours"
    conn.send(reply + b"\n")
    t.log("note", "the PONG does not echo the PING's token")
    expect_failure(t, client, "the PONG does not answer the PING", "compare the PONG's argument with the token of the oldest PING owed; another one is an error: say so, exit 1")
    client.expect_no_stdout()


@check("a reply of the wrong kind (PONG to a CALC, not a frame): message and exit 1", hint="3")
def reply_of_wrong_kind(t):
    for typed, frame, reply in (
        (b"2+2", b"CALC:2+2", b"PONG:4"),
        (b"2+2", b"CALC:2+2", b"4"),
        (b"2+2", b"CALC:2+2", b"calc:4"),
        (b"ping", b"PING", b"CALC:1"),
    ):
        client, conn = session(t)
        client.type(typed + b"\n")
        if frame == b"PING":
            expect_ping(t, conn)
        else:
            expect_request(t, conn, frame)
        conn.send(reply + b"\n")
        what = "not a WP/1 frame" if b":" not in reply or not reply.split(b":")[0].isupper() else f"not a reply to {frame.decode()}"
        t.log("note", f"that reply is {what}")
        expect_failure(
            t,
            client,
            "the reply is " + what,
            "a CALC is answered by CALC:R or ERROR:E, a PING by PONG:<its token>; anything else (or a line that is not "
            "KEYWORD:ARGUMENT) is an error: say so, exit 1",
        )
        client.expect_no_stdout()


@check("connects to localhost by name and to ::1 (IPv6)")
def connects_by_name_and_ipv6(t):
    for host in common.ipv6_hosts(t):
        client, conn = session(t, host)
        exchange(t, client, conn, b"6*7", b"CALC:6*7", b"CALC:42", b"42")
        finish(t, client, conn)


@check("tries each address of a name in turn (the first one refuses)")
def tries_each_address(t):
    client, conn = common.expect_tries_each_address(t, stdin="pipe")
    if conn is not None:
        exchange(t, client, conn, b"6*7", b"CALC:6*7", b"CALC:42", b"42")


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    common.expect_client_edge_ports(t, lambda client, conn: exchange(t, client, conn, b"1+1", b"CALC:1+1", b"CALC:2", b"2"), stdin="pipe")


@check("connection refused: message and exit 1", weight=DETAIL)
def refused(t):
    common.expect_refused(t)


@check("unknown host: message and exit 1", weight=DETAIL)
def unknown_host(t):
    common.expect_unknown_host(t)


@check("bad arguments: usage and exit 2", weight=DETAIL)
def bad_arguments(t):
    common.expect_usage(t, common.client_bad_args())


@check("memory check (valgrind)", valgrind=True, weight=CORE)
def memory(t):
    client, conn = session(t)
    client.type(b"3+4\n\nping\n1/0\n")
    serve(t, client, conn, [(b"CALC:3+4", b"CALC:7", b"7"), (b"PING", None, None), (b"CALC:1/0", b"ERROR:DIVZERO", b"error: DIVZERO")])
    exchange(t, client, conn, b"2*21", b"CALC:2*21", b"CALC:42", b"42")
    finish(t, client, conn)
    t.expect_clean_memory(client, allow_sockets=True)


# Random sessions against the protocol model (grader/checks/random_sessions.py).
random_sessions = rs.calc_client_sessions
