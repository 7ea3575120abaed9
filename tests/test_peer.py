"""`make peer STEP=NN`: the grader's side of each step, played live, tried
non-interactively (stdin from a pipe) against the reference solutions."""

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import KIT
from livekit import PYTHON, Live, built, free_port

GREETING = "Welcome to the server!\n"


@pytest.fixture
def live():
    started = []

    def start(argv, **kw):
        program = Live(argv, **kw)
        started.append(program)
        return program

    yield start
    for program in started:
        program.kill()


def peer(step, port):
    return [PYTHON, "-m", "grader", "peer", step, "--port", str(port)]


def test_peer_01_greets_the_reference_client(live, tmp_path_factory):
    client = built("01-client", tmp_path_factory.getbasetemp())
    port = free_port()
    partner = live(peer("01", port))
    partner.wait_for(f"listening on port {port}: run steps/01-client/client localhost {port} in another terminal")
    run = subprocess.run([client / "client", "localhost", str(port)], capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode == 0 and run.stdout == GREETING
    partner.wait_for('peer→client 23 bytes "Welcome to the server!\\n"')
    partner.interrupt()
    assert partner.wait(5) == 0
    assert "peer: stopped" in partner.text and "Traceback" not in partner.text


def test_peer_03_chats_with_the_reference_chat_client(live, tmp_path_factory):
    folder = built("03-chat-client", tmp_path_factory.getbasetemp())
    port = free_port()
    partner = live(peer("03", port))
    partner.wait_for(f"listening on port {port}")
    client = live([folder / "chat-client", "127.0.0.1", port])
    partner.wait_for("client connected from 127.0.0.1:")
    client.wait_for(GREETING)
    partner.type("hi from the peer\n")
    client.wait_for("hi from the peer\n")
    client.type("hello from the client\n")
    partner.wait_for('client→peer 22 bytes "hello from the client\\n"')
    partner.end_input()  # Ctrl-D: the peer closes the client and ends
    assert partner.wait(5) == 0
    assert client.wait(5) == 0


def test_peer_07_speaks_wp1_with_the_reference_calc(live, tmp_path_factory):
    folder = built("07-calc-client", tmp_path_factory.getbasetemp())
    port = free_port()
    partner = live(peer("07", port))
    partner.wait_for("speaking WP/1")
    run = subprocess.run([folder / "calc", "localhost", str(port)], input="3+4\nping\n1/0\n9223372036854775807+1\n", capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "7" and lines[1].startswith("pong ") and lines[2:] == ["error: DIVZERO", "error: OVERFLOW"]
    text = partner.wait_for("peer→client")
    assert '"CALC:3+4\\n' in text
    partner.interrupt()
    assert partner.wait(5) == 0


def test_peer_02_reads_the_reference_servers_greeting(live, tmp_path_factory):
    folder = built("02-server", tmp_path_factory.getbasetemp())
    port = free_port()
    live([folder / "server", port])
    server_up(port)
    run = subprocess.run(peer("02", port), input="", capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'server→peer 23 bytes "Welcome to the server!\\n"' in run.stdout
    assert "the server closed the connection" in run.stdout


def test_peer_04_talks_with_the_reference_chat_server(live, tmp_path_factory):
    folder = built("04-chat-server", tmp_path_factory.getbasetemp())
    port = free_port()
    server = live([folder / "chat-server", port])  # stdin stays open: it serves until we end it
    server_up(port)
    run = subprocess.run(peer("04", port), input="hello, server\n", capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Welcome to the server!" in run.stdout and "half-closed" in run.stdout
    server.wait_for("hello, server\n")
    server.wait_for(" left")


@pytest.mark.parametrize("step, folder, binary", [("05", "05-framing", "line-echo"), ("06", "06-calc-server", "calc-server")])
def test_peer_sends_samples_and_the_reference_server_answers_them_right(live, tmp_path_factory, step, folder, binary):
    path = built(folder, tmp_path_factory.getbasetemp())
    port = free_port()
    live([path / binary, port])
    server_up(port)
    run = subprocess.run(peer(step, port), input="PING:x\r\n?\n", capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("peer→server") > 5
    assert "ERROR:TOOLONG" in run.stdout or step == "06"
    assert "a correct server replies" not in run.stdout  # the reference agrees with the model


def built_chat_room(root):
    """09 builds with 06's calc.h and 05's frame.h: 06 is put beside it first."""
    calc = Path(root) / "solutions" / "06-calc-server"
    if not calc.exists():
        shutil.copytree(KIT / "solutions" / "06-calc-server", calc, ignore=shutil.ignore_patterns("*.o"))
    return built("09-chat-room", root)


def test_peer_09_joins_the_reference_chat_room_with_its_bots(live, tmp_path_factory):
    folder = built_chat_room(tmp_path_factory.getbasetemp())
    port = free_port()
    live([folder / "chat-room", port])
    server_up(port)
    partner = live(peer("09", port))
    partner.wait_for("the bots are in")
    assert "OK:peer-bot\\n" in partner.text and "OK:peer-echo\\n" in partner.text
    assert "JOIN:peer-echo\\n" in partner.text or "JOIN:peer-bot\\n" in partner.text  # the second to join
    partner.type("MSG:before my nick\nNICK:ada\n")
    partner.wait_for("ERROR:NONICK\\n")
    partner.wait_for("OK:ada\\n")
    partner.wait_for("MSG:peer-bot:welcome, ada!")  # peer-bot saw the JOIN and said so to the room
    partner.type("MSG:peer-bot: who\nMSG:hello, room\nNICK:again\nCALC:3+4\n")
    partner.wait_for("MSG:peer-bot:ada: in the room: ada,peer-bot,peer-echo")
    partner.wait_for("MSG:peer-echo:ada said: hello, room")
    partner.wait_for("ERROR:HAVENICK\\n")
    partner.wait_for("ERROR:UNKNOWN\\n")
    partner.type("?\n")  # the samples: the reference answers each as the chat table says
    partner.wait_for("PONG:a:b\\n")
    partner.end_input()  # you half-close; the room closes you; the bots QUIT
    assert partner.wait(10) == 0, partner.text
    text = partner.text
    assert "LEAVE:ada\\n" in text and "peer-bot→server 9 bytes \"QUIT:bye\\n\"" in text and "BYE:\\n" in text
    assert "every client of the peer has left" in text
    assert "note:" not in text and "Traceback" not in text, text  # the reference agrees with the model


def test_peer_09_points_out_what_a_correct_room_would_not_send(live, tmp_path):
    port = free_port()
    bad = tmp_path / "bad_room.py"
    bad.write_text(WRONG_ROOM)
    live([PYTHON, bad, port])
    server_up(port)
    partner = live(peer("09", port))
    partner.wait_for("the bots are in")
    partner.type("NICK:ada\nWHO:\n")
    partner.wait_for("a correct room sends it no JOIN, MSG or LEAVE")  # JOIN to a client without a nick
    partner.wait_for("a correct room does not send you its own JOIN")
    partner.wait_for("WHO: a correct room lists every nick once, sorted bytewise")
    partner.interrupt()
    assert partner.wait(5) == 0


def test_peer_points_out_a_wrong_wp1_reply(live, tmp_path):
    port = free_port()
    bad = tmp_path / "bad.py"
    bad.write_text(WRONG_SERVER)
    live([PYTHON, bad, port])
    server_up(port)
    run = subprocess.run(peer("06", port), input="CALC:3+4\n", capture_output=True, text=True, timeout=10, cwd=KIT)
    assert 'a correct server replies "CALC:7\\n" here' in run.stdout, run.stdout


def test_peer_says_when_nothing_listens():
    port = free_port()
    run = subprocess.run(peer("02", port), input="", capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode != 0 and f"cannot connect to localhost:{port}" in run.stderr
    assert "Traceback" not in run.stderr


WRONG_SERVER = """\
import socket, sys
server = socket.create_server(("0.0.0.0", int(sys.argv[1])))
while True:
    conn, _ = server.accept()
    for line in conn.makefile("rb"):
        conn.sendall(b"CALC:8\\n")  # always wrong
    conn.close()
"""


WRONG_ROOM = """\
import selectors, socket, sys
# A wrong chat room: JOIN goes to everyone (its sender and clients without a
# nick too), WHO lists the nicks in order of arrival.
server = socket.create_server(("0.0.0.0", int(sys.argv[1])))
selector = selectors.DefaultSelector()
selector.register(server, selectors.EVENT_READ)
clients, nicks = {}, {}
while True:
    for key, _ in selector.select():
        if key.fileobj is server:
            conn, _ = server.accept()
            clients[conn] = b""
            selector.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        data = conn.recv(65536)
        if not data:
            selector.unregister(conn)
            del clients[conn]
            nicks.pop(conn, None)
            conn.close()
            continue
        clients[conn] += data
        while b"\\n" in clients[conn]:
            line, _, clients[conn] = clients[conn].partition(b"\\n")
            if line.startswith(b"NICK:"):
                nicks[conn] = line[5:]
                conn.sendall(b"OK:" + line[5:] + b"\\n")
                for other in clients:
                    other.sendall(b"JOIN:" + line[5:] + b"\\n")
            elif line.startswith(b"WHO:"):
                conn.sendall(b"WHO:" + b",".join(nicks.values()) + b"\\n")
            else:
                conn.sendall(b"ERROR:UNKNOWN\\n")
"""


def server_up(port, within=5):
    import socket
    import time

    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port} after {within} s"
            time.sleep(0.02)
