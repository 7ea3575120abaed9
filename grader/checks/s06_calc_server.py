"""06-calc-server: the WP/1 protocol (CALC, PING, QUIT), one client after another.

The grader plays the clients. The probes live in wp1_checks (08-multi-server
runs them too); the replies they expect come from grader/wp1.py.
"""

import signal

from ..engine import CORE, DETAIL, check
from . import common
from . import wp1_checks as wp1c
from . import random_sessions as rs


@check("answers every row of the WP/1 table, each request sent whole", hint="2", remote=True, weight=CORE)
def table_whole(t):
    wp1c.table_whole(t, t.start_server())


@check("reads requests that arrive byte by byte", hint="1", remote=True, weight=CORE)
def byte_by_byte(t):
    wp1c.table_byte_by_byte(t, t.start_server())


@check("answers pipelined requests in order, whole and cut across frames", hint="1", remote=True, weight=CORE)
def pipelined(t):
    wp1c.table_pipelined(t, t.start_server())


@check("accepts \\r\\n line endings", hint="2", remote=True)
def crlf(t):
    wp1c.crlf(t, t.start_server())


@check("echoes PING arguments byte for byte, NUL bytes included", hint="2", remote=True)
def ping_bytes(t):
    wp1c.ping_bytes(t, t.start_server())


@check("detects int64 overflow at the edges (INT64_MAX+1, INT64_MIN/-1, 20 digits)", hint="3", remote=True)
def overflow_edges(t):
    wp1c.overflow_edges(t, t.start_server())


@check("checks CALC errors in order: SYNTAX, OVERFLOW, DIVZERO", hint="3", remote=True)
def error_order(t):
    wp1c.error_order(t, t.start_server())


@check("sends ERROR:TOOLONG as soon as 512 bytes are held, then drops the rest of the line", hint="1", remote=True)
def too_long(t):
    wp1c.too_long(t, t.start_server())


@check("QUIT: replies BYE: and closes, ignoring the frames after it", hint="1", remote=True)
def quit_closes(t):
    wp1c.quit_closes(t, t.start_server())


@check("replies to every frame of a client that half-closes, then closes", hint="1", remote=True)
def half_close(t):
    wp1c.half_close(t, t.start_server())


@check("survives clients that pipeline many requests and close at once (SIGPIPE)", hint="3", remote=True)
def pipelined_then_gone(t):
    wp1c.pipelined_then_gone(t, t.start_server())


@check("survives a client that resets mid-frame", hint="3", remote=True)
def reset_mid_frame(t):
    wp1c.reset_mid_frame(t, t.start_server())


@check("serves the next client once one leaves", hint="1", remote=True)
def next_client(t):
    wp1c.next_client(t, t.start_server())


@check("listens on every local address", hint="1")
def every_address(t):
    server = t.start_server()
    common.expect_every_address(t, server)


@check("restarts on the same port right after serving", hint="1")
def restarts_same_port(t):
    server = t.start_server()
    for _ in range(3):
        conn = wp1c.connect(t, server)
        wp1c.ask(t, conn, b"QUIT:")  # the server closes first: its side is in TIME_WAIT
        conn.expect_closed()
        conn.close()
    server.stop(signal.SIGTERM)
    t.log("note", f"the grader starts your server again on port {server.port}")
    with t.hint("set SO_REUSEADDR on the listening socket before bind() (listen_on() does)"):
        again = t.start_server(port=server.port)
    wp1c.served(t, again)


@check("stops on SIGINT and SIGTERM")
def stops_on_signals(t):
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = t.start_server()
        conn = wp1c.connect(t, server)
        wp1c.ask(t, conn, b"PING:about to stop")
        server.stop(sig)


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
    server = t.start_server()
    conn = wp1c.connect(t, server)
    stream = wp1c.frames(wp1c.TABLE + wp1c.OVERFLOW_EDGES[:6]) + b"X" * 700 + b"\nQUIT:\n"
    conn.send(stream)
    wp1c.expect_replies(conn, stream)
    conn.expect_closed()
    conn.close()
    gone = wp1c.connect(t, server)
    gone.send(b"CALC:1+")
    gone.reset()
    half = wp1c.connect(t, server)
    half.send(b"PING:x\nCALC:2+2\nPING:tail")
    half.shutdown_write()
    wp1c.expect_replies(half, b"PING:x\nCALC:2+2\n")
    half.expect_closed()
    server.stop(signal.SIGTERM)
    t.expect_clean_memory(server)


# Random sessions against the protocol model (grader/checks/random_sessions.py).
random_sessions = rs.wp1_sessions
