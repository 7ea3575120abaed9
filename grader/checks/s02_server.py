"""02-server: for each client, log `Got connection from IP:PORT`, greet, close.

The grader plays the clients of the student's server.
"""

import signal
import time

from ..engine import CORE, DETAIL, check
from . import common

GREETING = b"Welcome to the server!\n"


def greeted(t, server, host="127.0.0.1", bind=None, logged=True, conn=None):
    """One client: it must get the greeting, see the server close, and be logged."""
    conn = conn or t.connect(server.port, host, bind=bind)
    conn.who = common.address(conn)
    conn.expect(GREETING)
    conn.expect_closed()
    if logged:
        server.expect_stdout_line(f"Got connection from {conn.who}")
    conn.close()
    return conn


@check("greets a client and logs its address", hint="2", weight=CORE)
def greets_and_logs(t):
    server = t.start_server()
    conn = t.connect(server.port)
    conn.expect(GREETING)
    conn.expect_closed()
    with t.hint(
        "stdout holds only the `Got connection from IP:PORT` lines: banners and errors go to stderr",
        when=lambda e: bool(e.got) and not e.got.startswith(b"Got connection from "),
    ):
        server.expect_stdout_line(f"Got connection from {common.address(conn)}")


@check("listens on every local address", hint="1")
def every_address(t):
    server = t.start_server()
    common.expect_every_address(t, server)
    # 127.0.0.2 and .3 are loopback too: the log must show the real client address.
    with t.hint("print the address accept() gave you (inet_ntop), not a fixed one", when=another_address):
        greeted(t, server, host="127.0.0.2", bind="127.0.0.3")


def another_address(e):
    """The log line names another client address (the port aside)."""
    if not (e.expected and e.got and e.got.startswith(b"Got connection from ")):
        return False
    return e.expected.rpartition(b":")[0] != e.got.rpartition(b":")[0]


@check("logs an IPv6 client as [IP]:PORT, an IPv4 one as IP:PORT (a dual-stack server)", hint="2")
def ipv6_logged(t):
    server = t.start_server()
    common.expect_ipv6_logged(t, server, lambda conn: greeted(t, server, conn=conn))


def other_lines(e):
    """stdout holds a line that is no `Got connection from` line."""
    return bool(e.got) and any(not line.startswith(b"Got connection from ") for line in e.got.splitlines())


@check("prints nothing on stdout but the Got connection lines", hint="2")
def stdout_only_log(t):
    server = t.start_server()
    conns = [greeted(t, server, logged=False) for _ in range(3)]
    server.stop(signal.SIGTERM)
    expected = "".join(f"Got connection from {conn.who}\n" for conn in conns)
    with t.hint(
        "stdout holds the `Got connection from IP:PORT` lines and nothing else: anything more (a banner, a note per client, an error) goes to stderr",
        when=other_lines,
    ):
        server.expect_stdout(expected, within=1)


@check("accepts the ports 1 and 65535 (both ends of the range)")
def edge_ports(t):
    common.expect_server_edge_ports(t, lambda conn: greeted(t, None, logged=False, conn=conn))


@check("serves 20 clients in a row", hint="3", remote=True, weight=CORE)
def twenty_clients(t):
    server = t.start_server()
    for _ in range(20):
        greeted(t, server, logged=False)  # the log lines are the business of the first check


@check("restarts on the same port right after serving", hint="1")
def restart_same_port(t):
    server = t.start_server()
    for _ in range(3):
        greeted(t, server, logged=False)  # the server closes first: its side of each connection is in TIME_WAIT
    server.stop(signal.SIGTERM)
    t.log("note", f"the grader starts your server again on port {server.port}")
    again = t.start_server(port=server.port)
    greeted(t, again, logged=False)


def survives(t, vanish, how):
    server = t.start_server()
    # Frozen, the server cannot greet a client before it vanishes: each one
    # waits in the backlog, already closed or reset, when the server goes on.
    server.freeze()
    for _ in range(5):
        conn = t.connect(server.port)
        vanish(conn)
    time.sleep(0.05)
    server.thaw()
    t.log("note", f"5 clients {how} at once, while your server was paused (SIGSTOP); then it went on (SIGCONT)")
    with t.hint("a client that vanished must not stop your server: a failed send() is no reason to exit", when=lambda e: e.ended):
        conn = t.connect(server.port)
        conn.expect(GREETING)
        server.expect_running(f"after clients that {how}")


@check("survives clients that close at once", hint="3", weight=CORE)
def clients_close(t):
    survives(t, lambda conn: conn.close(), "closed")


@check("survives clients that reset", hint="3", weight=CORE)
def clients_reset(t):
    survives(t, lambda conn: conn.reset(), "reset their connection")


@check("stops on SIGINT and SIGTERM")
def stops_on_signals(t):
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = t.start_server()
        greeted(t, server, logged=False)
        server.stop(sig)


@check("port already in use: message and exit 1", hint="1", weight=DETAIL)
def port_in_use(t):
    common.expect_port_in_use(t)


@check("bad arguments: usage and exit 2", weight=DETAIL)
def bad_arguments(t):
    common.expect_usage(t, common.server_bad_args())


@check("memory check (valgrind)", valgrind=True, weight=CORE)
def memory(t):
    server = t.start_server()
    greeted(t, server, logged=False)
    server.freeze()  # so that the next two have vanished before they are served
    t.connect(server.port).reset()
    t.connect(server.port).close()
    time.sleep(0.05)
    server.thaw()
    for _ in range(2):
        greeted(t, server, logged=False)  # the log has lines for the vanished clients too
    server.stop(signal.SIGTERM)
    t.expect_clean_memory(server)
