"""`make peer STEP=NN`: the grader's side of each step, played live, tried
non-interactively (stdin from a pipe) against the reference solutions."""

import errno
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import KIT
from grader import peer as peer_module
from grader.text import escape
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


def test_peer_01_greets_the_reference_client_over_ipv4_and_ipv6(live, tmp_path_factory):
    client = built("01-client", tmp_path_factory.getbasetemp())
    port = free_port()
    partner = live(peer("01", port))
    partner.wait_for(f"listening on port {port}: run steps/01-client/client localhost {port}")
    # 127.0.0.1, not localhost: where /etc/hosts also maps localhost to ::1 (Docker's, a bare Debian's), a client goes there first
    run = subprocess.run([client / "client", "127.0.0.1", str(port)], capture_output=True, text=True, timeout=10, cwd=KIT)
    assert run.returncode == 0 and run.stdout == GREETING
    partner.wait_for('peer→client 23 bytes "Welcome to the server!\\n"')
    assert "client connected from 127.0.0.1:" in partner.text and "::ffff:" not in partner.text  # IPv4 as IPv4
    if peer_module.loopback6() is None:  # the IPv6 part of step 01, tried by hand: client ::1 PORT
        assert f"(or steps/01-client/client ::1 {port} over IPv6)" in partner.text
        run = subprocess.run([client / "client", "::1", str(port)], capture_output=True, text=True, timeout=10, cwd=KIT)
        assert run.returncode == 0 and run.stdout == GREETING, run.stderr
        partner.wait_for("client connected from [::1]:")
        partner.wait_for('peer→client 23 bytes "Welcome to the server!\\n"', count=2)
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
    assert 'peer→server 9 bytes "CALC:3+4\\n"  (request #1)' in run.stdout, run.stdout
    assert 'note: this reply answers request #1 "CALC:3+4\\n": a correct server replies "CALC:7\\n", not "CALC:8\\n"' in run.stdout, run.stdout


def test_peer_points_at_the_one_reply_that_differs_among_the_samples(live, tmp_path):
    """The samples go out at once; the replies come back in chunks of any size:
    the note names the reply by its row in its chunk and the request it answers."""
    port = free_port()
    bad = tmp_path / "floor.py"
    bad.write_text(FLOOR_DIVISION_SERVER)
    live([PYTHON, bad, port])
    server_up(port)
    run = subprocess.run(peer("06", port), input="?\n", capture_output=True, text=True, timeout=10, cwd=KIT)
    notes = [line for line in run.stdout.splitlines() if "note:" in line]
    assert len(notes) == 1, run.stdout  # only CALC:-7/2 differs
    found = re.search(r"note: (this reply|reply (\d+) of the (\d+) in this chunk) answers request #3 \"CALC:-7/2\\n\": "
                      r"a correct server replies \"CALC:-3\\n\", not \"CALC:-4\\n\"", notes[0])  # fmt: skip
    assert found, notes[0]
    if found.group(2):  # in a chunk of several replies: shown a row a reply, the one named is that row
        lines = run.stdout.splitlines()
        at = lines.index(notes[0])
        rows = lines[at - int(found.group(3)) : at]
        assert all(row.startswith('    "') for row in rows), run.stdout
        assert rows[int(found.group(2)) - 1] == '    "CALC:-4\\n"', run.stdout


def test_the_oracle_names_the_reply_by_its_place_and_its_request():
    oracle = peer_module.Oracle(6)
    assert oracle.sent(b"PING:a\n") == 1 and oracle.sent(b"CALC:3+4\r\n") == 1 and oracle.sent(b"CALC:1/0\n") == 1
    assert oracle.check(b"PONG:a\nCAL") == []  # a reply cut between two chunks is judged when it is whole
    assert oracle.check(b"C:7\nERROR:SYNTAX\n") == [
        '   note: reply 2 of the 2 in this chunk answers request #3 "CALC:1/0\\n": a correct server replies "ERROR:DIVZERO\\n", not "ERROR:SYNTAX\\n"'
    ]
    assert oracle.check(b"PONG:extra\n") == ['   note: this reply, "PONG:extra\\n": a correct server sends nothing more: all 3 requests sent have their reply']
    long_line = b"y" * 600 + b"\nQUIT:\nPING:after\n"
    assert oracle.sent(long_line) == 2  # the too-long line and QUIT; after BYE: nothing
    assert oracle.exchanges[3] == (b"y" * 512, b"ERROR:TOOLONG\n")  # its request: the 512 bytes held
    assert oracle.check(b"ERROR:TOOLONG\nBYE:\nPONG:after\n")[-1].endswith("a correct server sends nothing more after BYE: (it closes the connection)")
    echo = peer_module.Oracle(5)
    echo.sent(b"crlf\r\n")
    assert "replies \"crlf\\n\", not \"crlf\\r\\n\"" in echo.check(b"crlf\r\n")[0]
    assert peer_module.Oracle(2).sent(b"anything\n") == 0 and peer_module.Oracle(2).check(b"x\n") == []  # no opinion


@pytest.mark.parametrize("data", [b"PING:" + b"x" * 700 + b"\n", bytes(range(256)) * 3, b"CALC:7\n" * 40 + b"tail", b"\xff" * 200], ids=["long-line", "every-byte", "many-lines", "escapes-only"])
def test_a_long_chunk_is_shown_whole_in_rows_never_cut_inside_an_escape(data):
    rows = peer_module.whole(data, width=60)
    assert all(row.startswith('"') and row.endswith('"') and len(row) <= 60 for row in rows)
    assert "".join(row[1:-1] for row in rows) == escape(data)  # every byte, nothing cut
    tokens = peer_module.ESCAPED.findall
    assert [t for row in rows for t in tokens(row[1:-1])] == tokens(escape(data))  # no escape (\\xff, \\n) split over two rows
    newlines = data.count(b"\n")
    assert sum(row.endswith('\\n"') for row in rows) == newlines  # a row ends at each line's end


def test_the_peer_prints_a_long_chunk_whole(live, tmp_path_factory):
    path = built("05-framing", tmp_path_factory.getbasetemp())
    port = free_port()
    live([path / "line-echo", port])
    server_up(port)
    line = "".join(chr(ord("a") + i % 26) for i in range(450))  # under 512: echoed whole
    run = subprocess.run(peer("05", port), input=line + "\n", capture_output=True, text=True, timeout=10, cwd=KIT, env=dict(os.environ, COLUMNS="80"))
    assert run.returncode == 0, run.stdout + run.stderr
    for arrow in ("peer→server", "server→peer"):
        at = run.stdout.index(f"{arrow} 451 bytes, in ")
        rows = [r.strip() for r in run.stdout[at:].splitlines()[1:] if r.startswith('    "')]
        shown = "".join(r[1:-1] for r in rows[: rows.index(next(r for r in rows if r.endswith('\\n"'))) + 1])
        assert shown == line + "\\n", run.stdout
        assert all(len(r) <= 80 for r in run.stdout.splitlines() if r.startswith('    "'))
    assert "..." not in run.stdout and "note:" not in run.stdout


def test_the_peer_listens_on_ipv4_alone_with_a_note_where_ipv6_fails(monkeypatch, capsys):
    real = socket.create_server

    def no_ipv6(address, *, family=socket.AF_INET, **kw):
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        return real(address, family=family, **kw)

    monkeypatch.setattr(socket, "create_server", no_ipv6)
    with peer_module.listen(0) as server:
        assert server.family == socket.AF_INET
        assert "(or " not in peer_module.run_hint(peer_module.registry.find("01"), server, 4242)
    out = capsys.readouterr().out
    assert "peer: listening on IPv4 only (IPv6: Address family not supported by protocol)" in out
    monkeypatch.setattr(socket, "has_dualstack_ipv6", lambda: False)
    with peer_module.listen(0) as server:
        assert server.family == socket.AF_INET
    assert "listening on IPv4 only (this system has no dual-stack IPv6 socket)" in capsys.readouterr().out


def test_the_peer_says_when_the_machine_has_no_ipv6_loopback():
    """In a network namespace whose IPv6 is off, ::1 cannot be used: the peer
    says so instead of suggesting `client ::1 PORT`."""
    script = (
        "ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1 && "
        f"exec {PYTHON} -m grader peer 01 --port 4242"
    )
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("no unshare or ip here")
    partner = Live(["unshare", "-n", "sh", "-c", script], new_session=True)
    try:
        deadline = time.monotonic() + 10
        while "in another terminal" not in partner.text and partner.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if "in another terminal" not in partner.text and partner.process.poll() is not None:
            pytest.skip(f"no private network namespace with IPv6 off here: {partner.text}")
        text = partner.wait_for("in another terminal", within=1)
        assert "this machine has no IPv6 loopback ::1" in text and "(or steps/01-client/client ::1" not in text
    finally:
        partner.kill()


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


FLOOR_DIVISION_SERVER = """\
import socket, sys
sys.path.insert(0, %r)
from grader import wp1
server = socket.create_server(("0.0.0.0", int(sys.argv[1])))
while True:
    conn, _ = server.accept()
    for line in conn.makefile("rb"):
        reply = wp1.reply(line.rstrip(b"\\n"))
        if line == b"CALC:-7/2\\n":
            reply = b"CALC:-4"  # floor division: -7/2 is -3 in C
        conn.sendall(reply + b"\\n")
    conn.close()
""" % str(KIT)


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
