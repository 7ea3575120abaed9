"""01-client: connect, copy every byte the server sends to stdout, exit 0 at EOF.

The grader plays the server; the student's client connects to it.
"""

import random

from ..engine import CORE, DETAIL, check
from . import common

GREETING = b"Welcome to the server!\n"


def session(t, data, pieces=1, pause=0.05, host="127.0.0.1"):
    """The grader's server sends data (in pieces) and closes; the client must
    print exactly data and exit 0."""
    server = t.serve(host)
    client = t.run(host, server.port)
    conn = server.accept(client)
    with t.hint("one recv() returns what has arrived so far, not the whole message: call recv() until it returns 0", when=lambda e: e.ended):
        conn.send(data, pieces=pieces, pause=pause)
    conn.close()
    t.log("note", "the grader's server closed the connection")
    client.expect_stdout(data)
    client.expect_exit(0)
    return client


@check("prints a greeting sent whole", hint="1", weight=CORE)
def greeting_whole(t):
    session(t, GREETING)


@check("prints a greeting sent in pieces with pauses", hint="2", weight=CORE)
def greeting_in_pieces(t):
    # One recv() is not one message: TCP may deliver a send in any number of pieces.
    session(t, GREETING, pieces=6, pause=0.15)


@check("prints data as it arrives, before the server closes", hint="3")
def prints_as_it_arrives(t):
    server = t.serve()
    client = t.run("127.0.0.1", server.port)
    conn = server.accept(client)
    conn.send(b"first part, then a pause\n")
    client.expect_stdout(b"first part, then a pause\n")
    conn.send(b"second part\n")
    client.expect_stdout(b"first part, then a pause\nsecond part\n")
    conn.close()
    client.expect_exit(0)


@check("prints a partial line (no \\n) as it arrives", hint="3")
def prints_partial_line(t):
    server = t.serve()
    client = t.run("127.0.0.1", server.port)
    conn = server.accept(client)
    conn.send(b"a whole line first\n")  # printed: the client's output is not held in a buffer
    client.expect_stdout_next(b"a whole line first\n")
    conn.send(b"prompt> ")
    t.log("note", "the connection stays open: the rest of the line has not come")
    with t.hint(
        "write each piece recv() gives as it is: a reader that waits for a whole line (fgets, getline, fdopen) holds back a prompt",
        when=lambda e: not e.ended,
    ):
        client.expect_stdout_next(b"prompt> ")
    conn.send(b"the rest\n")
    conn.close()
    client.expect_stdout(b"a whole line first\nprompt> the rest\n")
    client.expect_exit(0)


@check("copies more than 64 KiB exactly", hint="2", weight=CORE)
def copies_large(t):
    rng = random.Random(1)
    lines = b"".join(b"line %06d: %s\n" % (i, bytes(rng.choice(b"abcdefghij") for _ in range(40))) for i in range(5000))
    session(t, lines, pieces=9, pause=0.02)


@check("copies NUL bytes and every byte value", hint="3")
def copies_every_byte(t):
    data = b"NUL>\0<NUL " + bytes(range(256)) * 8 + b"\0\0end"
    session(t, data, pieces=3, pause=0.05)


@check("connects to localhost by name", hint="2")
def connects_localhost(t):
    with t.hint("resolve HOST with getaddrinfo(): localhost is a name, not a numeric address (inet_pton() reads only those)", when=lambda e: e.ended):
        session(t, GREETING, host="localhost")


@check("connects over IPv6 (::1)", hint="2")
def connects_ipv6(t):
    if not common.ipv6_loopback_works():
        common.skip(t, "this machine has no IPv6 loopback (::1)")
        return
    with t.hint(
        "ask getaddrinfo() for every family (AF_UNSPEC, not AF_INET) and make each socket with the family of the address it tries (ai_family): ::1 is IPv6",
        when=lambda e: e.ended,
    ):
        session(t, GREETING, host="::1")


@check("server closes without sending a byte: prints nothing, exits 0", hint="2")
def closed_at_once(t):
    server = t.serve()
    client = t.run("127.0.0.1", server.port)
    server.accept(client).close()
    t.log("note", "the grader's server closed the connection at once, without sending anything")
    with t.hint("recv() returning 0 is the end, even as its first answer: an empty reply is no error"):
        client.expect_exit(0)
    client.expect_no_stdout()


@check("server resets the connection: why on stderr and exit 1", hint="2")
def server_resets(t):
    for greeting in (GREETING, b""):
        server = t.serve()
        client = t.run("127.0.0.1", server.port)
        conn = server.accept(client)
        if greeting:
            conn.send(greeting)
            client.expect_stdout(greeting)
        conn.reset()
        t.log("note", f"the grader's server reset the connection (RST){' after the greeting' if greeting else ' at once'}")
        with t.hint("recv() returns -1 (ECONNRESET) after a reset, not 0: that is no end of stream; say why on stderr (strerror(errno)) and exit 1"):
            client.expect_exit(1)
            client.expect_stderr_mentions(common.RESET)


@check("tries each address of a name in turn (the first one refuses)", hint="2")
def tries_each_address(t):
    client, conn = common.expect_tries_each_address(t)
    if conn is None:
        return
    conn.send(GREETING)
    conn.close()
    client.expect_stdout(GREETING)
    client.expect_exit(0)


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    def greeted(client, conn):
        conn.send(GREETING)
        client.expect_stdout(GREETING)

    common.expect_client_edge_ports(t, greeted)


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
    # Text only: NUL bytes have a check of their own, and a memory check should not fail for them.
    client = session(t, GREETING + b"All work and no play makes a dull client.\n" * 2000, pieces=4)
    t.expect_clean_memory(client, allow_sockets=True)
