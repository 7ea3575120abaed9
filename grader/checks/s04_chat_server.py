"""04-chat-server: one client at a time; its words to stdout, stdin's to it.

The grader plays the clients and the operator who types at the server's stdin.
"""

import signal

from ..engine import CORE, DETAIL, CheckFailed, check
from ..text import show
from . import common

GREETING = b"Welcome to the server!\n"
LOCKSTEP = (
    "a read() of stdin blocks until the operator types, and a recv() until the client speaks: "
    "wait on both with poll() and serve whichever is ready"
)
END_OF_INPUT = "read() returns 0 at the end of stdin: close the client's socket and exit 0"
LEFT = (
    "recv() returns 0 when the client closes and fails (ECONNRESET) when it resets: "
    'print "Client IP:PORT left" in both cases, close its socket, accept the next'
)


def start(t, **options):
    """The student's server, listening; its stdin is a pipe the grader types
    into, open until end_input()."""
    return t.start_server(stdin="pipe", **options)


def greeted(t, server, conn):
    """A connected client must be greeted and logged; conn.who is its IP:PORT."""
    conn.expect(GREETING)
    conn.who = common.address(conn)
    server.expect_stdout_line(f"Got connection from {conn.who}")
    return conn


def join(t, server, host="127.0.0.1", bind=None):
    """A new client, greeted and logged."""
    return greeted(t, server, t.connect(server.port, host, bind=bind))


def leaves(t, server, conn, reset=False):
    """The client closes (or resets) its connection; the server must log it."""
    if reset:
        conn.reset()
        t.log("note", f"the client {conn.who} reset its connection (RST)")
    else:
        conn.close()
        t.log("note", f"the client {conn.who} closed its connection")
    with t.hint(LEFT):
        server.expect_stdout_line(f"Client {conn.who} left")


@check("greets a client and logs its address", hint="1", weight=CORE)
def greets_and_logs(t):
    server = start(t)
    join(t, server)


@check("listens on every local address", hint="1")
def every_address(t):
    server = start(t)
    common.expect_every_address(t, server)
    # 127.0.0.2 and .3 are loopback too: the log must show the real client address.
    with t.hint("print the address accept() gave you (inet_ntop), not a fixed one"):
        join(t, server, host="127.0.0.2", bind="127.0.0.3")


@check("logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server)", hint="1")
def ipv6_logged(t):
    server = start(t)
    common.expect_ipv6_logged(t, server, lambda conn: leaves(t, server, greeted(t, server, conn)))


@check("prints what the client sends as it arrives, before anything is typed", hint="2", weight=CORE)
def prints_as_it_arrives(t):
    server = start(t)
    conn = join(t, server)
    for words in (b"hello, server\n", b"half a line, no newline yet", b" and the rest of it\n"):
        conn.send(words)
        with t.hint(LOCKSTEP, when=lambda e: e.unread):
            server.expect_stdout_next(words)


@check("sends what is typed to the client, turn by turn", hint="2", weight=CORE)
def sends_typed_lines(t):
    server = start(t)
    conn = join(t, server)
    for typed, answer in ((b"hello, client\n", b"hi, server\n"), (b"how are you?\n", b"fine\n"), (b"bye\n", b"bye!\n")):
        server.type(typed)
        conn.expect(typed)
        conn.send(answer)
        server.expect_stdout_next(answer)


@check("logs Client IP:PORT left when the client closes, then greets the next one waiting", hint="3", weight=CORE)
def next_client_after_leave(t):
    server = start(t)
    first = join(t, server)
    second = t.connect(server.port)
    t.log("note", "a second client connects while the first is still there")
    early, _ = second.read_until(bool, within=t.within(0.3))
    if early:
        raise CheckFailed(
            "your server greeted a second client while the first was still connected",
            [("received", show(early))],
            hint="serve one client at a time: do not accept() while a client is connected",
        )
    leaves(t, server, first)
    with t.hint("once the client has left, accept() the next one: it waits in the listen backlog"):
        greeted(t, server, second)
    second.send(b"hello from the second client\n")
    server.expect_stdout_next(b"hello from the second client\n")
    server.type(b"hello, second client\n")
    second.expect(b"hello, second client\n")


@check("a client that half-closes has left: logs it, closes its connection", hint="3")
def client_half_closes(t):
    server = start(t)
    conn = join(t, server)
    conn.send(b"my last words\n")
    server.expect_stdout_next(b"my last words\n")
    conn.shutdown_write()
    with t.hint(LEFT):
        server.expect_stdout_line(f"Client {conn.who} left")
    with t.hint("close() the socket of a client that has left: a client that half-closed still waits for the end of the connection"):
        conn.expect_closed()
    join(t, server)


@check("prints nothing on stdout but the Got connection and left lines and the client's bytes", hint="3")
def stdout_only(t):
    server = start(t)
    first = join(t, server)
    first.send(b"hello\n")
    server.expect_stdout_next(b"hello\n")
    leaves(t, server, first)
    second = join(t, server)
    second.send(b"bye\n")
    server.expect_stdout_next(b"bye\n")
    server.end_input()
    with t.hint(END_OF_INPUT, when=lambda e: not e.ended):
        second.expect_closed()
        server.expect_exit(0)
    expected = f"Got connection from {first.who}\nhello\nClient {first.who} left\nGot connection from {second.who}\nbye\n".encode()
    printed = server.stdout.data()
    if printed in (expected, expected + f"Client {second.who} left\n".encode()):  # the last left line is optional
        t.log("printed", show(printed))
        return
    with t.hint(
        "stdout holds the Got connection and left lines and the client's bytes, nothing else: a banner or a goodbye goes to stderr",
        when=lambda e: e.got is not None and not e.expected.startswith(e.got),  # something more, not something missing
    ):
        server.expect_stdout(expected, within=0.1)


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    common.expect_server_edge_ports(t, lambda conn: conn.expect(GREETING), stdin="pipe")


@check("survives a client that resets while text is typed to it", hint="3")
def client_resets(t):
    server = start(t)
    first = join(t, server)
    first.send(b"I will stop reading, then vanish\n")
    server.expect_stdout_next(b"I will stop reading, then vanish\n")
    # The client reads nothing more: the server ends up blocked in send(), with
    # more typed text waiting on its stdin. Then the client resets.
    server.type_until_full()
    with t.hint(
        "send() to a client that has gone fails (ECONNRESET, then EPIPE and SIGPIPE): "
        "send with MSG_NOSIGNAL and drop the client when send() fails",
        when=lambda e: e.ended,
    ):
        leaves(t, server, first, reset=True)
    server.expect_running("after a client reset")
    second = join(t, server)
    server.type(b"hello, next client\n")
    # What was typed before it came is the business of the next check: skip it.
    got, _ = second.read_until(lambda pending: b"hello, next client\n" in pending)
    if b"hello, next client\n" not in got:
        second.expect(b"hello, next client\n")  # fails, and says what came instead
    t.log("received", show(b"hello, next client\n"))
    # A reset while nothing is typed: the server learns it from recv() (-1,
    # ECONNRESET), not from a failed send().
    second.pending = b""
    leaves(t, server, second, reset=True)
    join(t, server)


@check("drops what is typed while no client is connected", hint="3")
def drops_typed_without_client(t):
    server = start(t)
    server.type(b"nobody hears this\n")
    server.expect_input_read(
        hint="while nobody is connected, poll() stdin and the listening socket together, and drop what stdin gives"
    )
    conn = join(t, server)
    server.type(b"hello, client\n")
    with t.hint("what is typed while nobody is connected is dropped, not kept for the next client"):
        conn.expect(b"hello, client\n")


@check("exits 0 at the end of input, closing the client's connection", hint="3")
def exits_at_end_of_input(t):
    server = start(t)
    conn = join(t, server)
    conn.send(b"see you\n")
    server.expect_stdout_next(b"see you\n")
    server.end_input()
    with t.hint(END_OF_INPUT):
        conn.expect_closed()
        server.expect_exit(0)
    t.log("note", "again, with no client connected")
    alone = start(t)
    alone.end_input()
    alone.expect_exit(0)


@check("restarts on the same port right after the end of input", hint="1")
def restarts_same_port(t):
    server = start(t)
    conn = join(t, server)
    server.end_input()
    with t.hint(END_OF_INPUT, when=lambda e: not e.ended):
        conn.expect_closed()  # the server closed first: its side of the connection is in TIME_WAIT
    conn.close()
    server.expect_exit(0)
    t.log("note", f"the grader starts your server again on port {server.port}")
    again = start(t, port=server.port)
    join(t, again)


@check("stops on SIGINT and SIGTERM")
def stops_on_signals(t):
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = start(t)
        join(t, server)
        server.stop(sig)


@check("port already in use: message and exit 1", hint="1", weight=DETAIL)
def port_in_use(t):
    common.expect_port_in_use(t)


@check("bad arguments: usage and exit 2", weight=DETAIL)
def bad_arguments(t):
    common.expect_usage(t, common.server_bad_args())


@check("memory check (valgrind)", valgrind=True, weight=CORE)
def memory(t):
    server = start(t)
    first = join(t, server)
    first.send(b"hello\n")
    server.expect_stdout_next(b"hello\n")
    server.type(b"hi, first\n")
    first.expect(b"hi, first\n")
    leaves(t, server, first)
    leaves(t, server, join(t, server), reset=True)
    third = join(t, server)
    server.type(b"bye, third\n")
    third.expect(b"bye, third\n")
    server.end_input()
    with t.hint(END_OF_INPUT, when=lambda e: not e.ended):
        third.expect_closed()
        server.expect_exit(0)
    t.expect_clean_memory(server)
