"""03-chat-client: stdin to the socket and the socket to stdout, both at once.

The grader plays the server and the user: it types at the client's stdin and
talks over the connection, in both orders, and ends each side in turn.
"""

import random

from ..engine import CORE, DETAIL, check
from . import common

GREETING = b"Welcome to the server!\n"
LOCKSTEP = (
    "a read() of stdin blocks until the user types, and a recv() until the server speaks: "
    "wait on both with poll() and serve whichever is ready"
)
HALF_CLOSE = "at the end of stdin (read returns 0), call shutdown(fd, SHUT_WR): the server sees the end of file"


def chat(t, host="127.0.0.1"):
    """The student's client, connected to a server of the grader's; its stdin
    is a pipe the grader types into, open until end_input()."""
    server = t.serve(host)
    client = t.run(host, server.port, stdin="pipe")
    return client, server.accept(client)


def closes(t, conn):
    conn.close()
    t.log("note", "the grader's server closed the connection")


CLOSE_IS_NO_ERROR = (
    "the server closing the connection (recv() returns 0) is the normal end of a chat: exit 0; "
    "exit 1 is for a failure (recv() returning -1, a reset)"
)


def exits_0_after_close(t, client):
    """After closes(): the client must exit 0; one that exits 1 took the close for an error."""
    with t.hint(CLOSE_IS_NO_ERROR, when=lambda e: any(p.status is not None and p.status.code == 1 for p in e.programs)):
        client.expect_exit(0)


def big_line(seed, size=100_000):
    """One line longer than any sane buffer, then a few short ones."""
    rng = random.Random(seed)
    body = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(size))
    return body + b"\n" + b"".join(b"short line %d\n" % i for i in range(50))


@check("prints what the server says first, before anything is typed", hint="1", weight=CORE)
def server_speaks_first(t):
    client, conn = chat(t)
    for words in (GREETING, b"and a second line, still before you typed anything\n"):
        conn.send(words)
        with t.hint(LOCKSTEP, when=lambda e: e.unread):
            client.expect_stdout_next(words)


@check("sends typed lines and prints the replies, turn by turn", hint="2", weight=CORE)
def conversation(t):
    client, conn = chat(t)
    conn.send(GREETING)
    client.expect_stdout_next(GREETING)
    for mine, theirs in ((b"hello\n", b"hi there\n"), (b"how are you?\n", b"fine, thanks\n"), (b"bye\n", b"see you\n")):
        client.type(mine)
        conn.expect(mine)
        conn.send(theirs)
        client.expect_stdout_next(theirs)


@check("prints what the server says unprompted, in the middle of a session", hint="1", weight=CORE)
def server_speaks_unprompted(t):
    client, conn = chat(t)
    client.type(b"anyone there?\n")
    conn.expect(b"anyone there?\n")
    for news in (b"news: one\n", b"news: two, with no line typed in between\n", b"news: three, in parts"):
        conn.send(news, pieces=2 if b"parts" in news else 1)
        with t.hint(LOCKSTEP, when=lambda e: e.unread):
            client.expect_stdout_next(news)
    client.type(b"thanks\n")
    conn.expect(b"thanks\n")


@check("copies a line of more than 64 KiB each way, in pieces", hint="2")
def copies_large(t):
    client, conn = chat(t)
    down, up = big_line(3), big_line(4)
    conn.send(down, pieces=7, pause=0.03)
    client.expect_stdout_next(down)
    client.type(up, pieces=7, pause=0.03)
    # Everything the client sends, before judging: where bytes went missing,
    # what came after the gap (it tells the cause) is part of the evidence,
    # however the segments fell.
    conn.read_until(lambda pending: len(pending) >= len(up), t.within())
    with t.hint("send every byte read() gave, and loop: send() may take fewer bytes than offered", when=lambda e: e.got is not None and up.startswith(e.got)):
        conn.expect(up)


@check("at the end of input, half-closes: the server sees the end of file", hint="3")
def half_closes(t):
    client, conn = chat(t)
    client.type(b"last words\n")
    client.end_input()
    conn.expect(b"last words\n")
    with t.hint(HALF_CLOSE, when=lambda e: e.nothing_came):
        conn.expect_closed()


@check("after the end of input, prints what the server sends until it closes, then exits 0", hint="3")
def prints_after_end_of_input(t):
    client, conn = chat(t)
    client.type(b"that is all from me\n")
    client.end_input()
    conn.expect(b"that is all from me\n")
    conn.read_until(lambda pending: False, within=t.within(1))  # its end of file, if it comes
    with t.hint(HALF_CLOSE + ", not close(): the server may still have something to say", when=lambda e: e.ended or e.facts.get("peer closed")):
        for reply in (b"one more thing\n", b"and a last one\n"):
            conn.send(reply, pieces=2)
            client.expect_stdout_next(reply)
    closes(t, conn)
    exits_0_after_close(t, client)


@check("exits 0 at once when the server closes, even with stdin still open", hint="3")
def exits_when_server_closes(t):
    client, conn = chat(t)
    client.type(b"hi\n")
    conn.expect(b"hi\n")
    conn.send(b"goodbye\n")
    closes(t, conn)
    client.expect_stdout_next(b"goodbye\n")
    with t.hint("recv() returning 0 means the server has closed: stop there, whatever stdin does", when=lambda e: not e.ended):
        exits_0_after_close(t, client)


@check("server resets the connection: message on stderr and exit 1", hint="3")
def server_resets(t):
    for after_input in (False, True):
        client, conn = chat(t)
        conn.send(GREETING)
        client.expect_stdout_next(GREETING)
        if after_input:
            client.end_input()
            with t.hint(HALF_CLOSE, when=lambda e: e.nothing_came):
                conn.expect_closed()  # its half-close
            conn.send(b"one more line\n")
            with t.hint(HALF_CLOSE + ", not close(): the server may still have something to say", when=lambda e: e.ended):
                client.expect_stdout_next(b"one more line\n")  # it still reads the server: a reset reaches it
        conn.reset()
        t.log("note", "the grader's server reset the connection (RST)" + (" after your client's end of input" if after_input else ""))
        with t.hint("recv() fails with ECONNRESET: say so on stderr and exit 1"):
            client.expect_exit(1)
        client.expect_stderr_message()


@check("connects to localhost by name and to ::1 (IPv6)", hint="2")
def connects_by_name_and_ipv6(t):
    for host in common.ipv6_hosts(t):
        client, conn = chat(t, host)
        conn.send(GREETING)
        client.expect_stdout_next(GREETING)
        client.end_input()
        closes(t, conn)
        exits_0_after_close(t, client)


@check("tries each address of a name in turn (the first one refuses)", hint="2")
def tries_each_address(t):
    client, conn = common.expect_tries_each_address(t, stdin="pipe")
    if conn is not None:
        conn.send(GREETING)
        client.expect_stdout_next(GREETING)


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    def greeted(client, conn):
        conn.send(GREETING)
        client.expect_stdout_next(GREETING)

    common.expect_client_edge_ports(t, greeted, stdin="pipe")


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
    client, conn = chat(t)
    conn.send(GREETING)
    client.expect_stdout_next(GREETING)
    typed = b"".join(b"%03d %s\n" % (i, b"x" * 500) for i in range(80))  # more than one read's worth
    client.type(typed)
    conn.expect(typed)
    conn.send(b"bye\n")
    client.expect_stdout_next(b"bye\n")
    client.end_input()
    closes(t, conn)
    exits_0_after_close(t, client)
    t.expect_clean_memory(client, allow_sockets=True)
