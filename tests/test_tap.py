"""`make tap LISTEN=PORT TARGET=HOST:PORT`: a relay that prints both
directions, tried between the reference calc-server and scripted clients."""

import re
import socket
import struct
import time

import pytest

from conftest import KIT
from livekit import PYTHON, Live, built, free_port
from test_peer import server_up

LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d\d\d #\d+ ", re.M)


@pytest.fixture
def tapped(tmp_path_factory):
    """(tap, port to connect to): a tap in front of the reference calc-server."""
    folder = built("06-calc-server", tmp_path_factory.getbasetemp())
    server_port, tap_port = free_port(), free_port()
    server = Live([folder / "calc-server", server_port])
    tap = Live(["make", "-s", "-C", KIT, "tap", f"LISTEN={tap_port}", f"TARGET=127.0.0.1:{server_port}"], new_session=True)
    try:
        server_up(server_port)
        tap.wait_for(f"listening on port {tap_port}, relaying to 127.0.0.1:{server_port}")
        yield tap, tap_port
    finally:
        tap.kill()
        server.kill()


def client(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until(sock, ending, within=5):
    got, deadline = b"", time.monotonic() + within
    while not got.endswith(ending):
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = sock.recv(65536)
        assert chunk, f"closed after {got!r}"
        got += chunk
    return got


def test_tap_relays_and_prints_both_directions(tapped):
    tap, port = tapped
    sock = client(port)
    sock.sendall(b"CALC:3+4\n")
    assert read_until(sock, b"\n") == b"CALC:7\n"
    sock.sendall(b"PING:\x00\xff\n")
    assert read_until(sock, b"\n") == b"PONG:\x00\xff\n"
    text = tap.wait_for('server→client 8 bytes "PONG:\\0\\xff\\n"')
    assert re.search(LINE.pattern + r'client→server 9 bytes "CALC:3\+4\\n"$', text, re.M), text
    assert re.search(LINE.pattern + r'server→client 7 bytes "CALC:7\\n"$', text, re.M), text
    sock.close()
    tap.wait_for("closed (")


def test_tap_passes_a_half_close_on_both_ways(tapped):
    tap, port = tapped
    sock = client(port)
    sock.sendall(b"CALC:2*21\nPING:tail")
    sock.shutdown(socket.SHUT_WR)  # the server still owes the reply, then closes
    got = b""
    sock.settimeout(5)
    while chunk := sock.recv(65536):
        got += chunk
    assert got == b"CALC:42\n"
    text = tap.wait_for("closed (19 bytes up, 8 bytes down)")
    assert "client→server end (FIN): passed on as a half-close" in text
    assert "server→client end (FIN): passed on as a half-close" in text


def test_tap_passes_a_reset_on(tapped):
    tap, port = tapped
    sock = client(port)
    sock.sendall(b"CALC:1+")
    tap.wait_for('client→server 7 bytes "CALC:1+"')
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    tap.wait_for("client reset the connection")
    tap.wait_for("closed (7 bytes up, 0 bytes down)")
    again = client(port)  # the server survived, the tap goes on
    again.sendall(b"CALC:5-8\n")
    assert read_until(again, b"\n") == b"CALC:-3\n"
    again.close()


def test_tap_relays_many_connections_at_once(tapped):
    tap, port = tapped
    # calc-server serves one client at a time: the second waits in its backlog
    # while the tap already holds both connections, and is served once the first leaves.
    first, second = client(port), client(port)
    second.sendall(b"PING:second\n")
    first.sendall(b"PING:first\n")
    assert read_until(first, b"\n") == b"PONG:first\n"
    first.close()
    assert read_until(second, b"\n") == b"PONG:second\n"
    second.close()
    text = tap.wait_for("closed (", count=2)
    assert "#1 " in text and "#2 " in text


def test_tap_explains_bad_arguments():
    import subprocess

    run = subprocess.run([PYTHON, "-m", "grader", "tap", "--listen", "80x", "--target", "x"], capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode != 0 and "LISTEN must be a port number" in run.stderr
    run = subprocess.run([PYTHON, "-m", "grader", "tap", "--listen", "4242", "--target", "nohostport"], capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode != 0 and "TARGET must be HOST:PORT" in run.stderr


def test_tap_resets_the_client_when_the_target_refuses(tmp_path):
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    tap_port = free_port()
    tap = Live([PYTHON, "-m", "grader", "tap", "--listen", tap_port, "--target", f"127.0.0.1:{refused.getsockname()[1]}"], cwd=KIT)
    try:
        tap.wait_for(f"listening on port {tap_port}")
        sock = client(tap_port)
        sock.settimeout(5)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
        tap.wait_for("cannot connect to 127.0.0.1:")
        assert "Connection refused" in tap.text
    finally:
        tap.kill()
        refused.close()
