"""A practice partner: `make peer STEP=NN [PORT=4242] [HOST=localhost]`.

The grader's scripted side of a step, played live so a student can try a
program by hand before (or after) the checks judge it:

    client steps (01, 03, 07): the peer is the server your client talks to
        01  greets each client and closes, like 02's server
        03  a chat server: relays what you type to the client, prints what it sends
        07  speaks WP/1: answers every frame as grader/wp1.py says (PING, CALC, QUIT...)
    server steps (02, 04, 05, 06): the peer is a client of your server
        it connects to HOST:PORT, prints what the server sends, sends what you
        type; Ctrl-D half-closes. 05 and 06: the line `?` sends sample requests;
        06: a reply that differs from what WP/1 says is pointed out.

Every chunk is printed as it passes, escaped, one line each (like `make tap`).
"""

import os
import select
import selectors
import socket
import sys

from . import registry, wp1
from .tap import stamp
from .text import show

GREETING = b"Welcome to the server!\n"
CLIENT_STEPS = {1: "greeter", 3: "chat", 7: "wp1"}
WP1_SERVERS = {6, 8}
SAMPLES = {
    5: [b"hello\n", b"a line with\ttabs and: colons\n", b"crlf ending\r\n", b"\n", b"x" * 600 + b"\n", b"after the long one\n"],
    6: [b"PING:hello\n", b"CALC:3+4\n", b"CALC:-7/2\n", b"CALC:1/0\n", b"CALC:9223372036854775807+1\n", b"HELLO:x\n", b"no colon\n", b"CALC:3 + 4\n"],
}
SAMPLES[8] = SAMPLES[6]


def say(text):
    print(f"{stamp()} {text}", flush=True)


def note(text):
    print(f"peer: {text}", flush=True)


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    sock.close()


def command_for(step, host, port):
    """How the student starts their program against us: steps/NN-x/client localhost 4242."""
    words = step.usage.replace("HOST", host).replace("PORT", str(port)).split()
    return " ".join([f"steps/{step.folder}/{words[0]}"] + words[1:])


# === The peer as a server (client steps) =======================================


def listen(port):
    try:
        return socket.create_server(("0.0.0.0", port))
    except OSError as e:
        sys.exit(f"peer: cannot listen on port {port}: {e.strerror or e} (another program there? try PORT=4243)")


def greeter(step, port):
    """01: greet each client, then close (02's server, played by the grader)."""
    with listen(port) as server:
        note(f"listening on port {port}: run {command_for(step, 'localhost', port)} in another terminal (Ctrl-C stops)")
        while True:
            conn, peer = server.accept()
            say(f"client connected from {peer[0]}:{peer[1]}")
            try:
                conn.sendall(GREETING)
                say(f"peer→client {len(GREETING)} bytes {show(GREETING)}")
                conn.close()
                say("peer closed the connection (your client should now print it all and exit 0)")
            except OSError as e:
                say(f"the client had gone: {e.strerror}")
                conn.close()


def chat(step, port):
    """03: a chat server, one client at a time: greets, relays stdin to the
    client and the client's bytes to stdout; end of stdin ends it."""
    stdin = sys.stdin.fileno()
    with listen(port) as server:
        note(f"listening on port {port}: run {command_for(step, 'localhost', port)} in another terminal")
        note("what you type here goes to the client; Ctrl-D closes the client and ends the peer; Ctrl-C stops")
        client = None
        while True:
            ready = select.select([stdin, client or server], [], [])[0]
            if server in ready and client is None:
                client, peer = server.accept()
                say(f"client connected from {peer[0]}:{peer[1]}")
                client.sendall(GREETING)
                say(f"peer→client {len(GREETING)} bytes {show(GREETING)}")
            if client is not None and client in ready:
                try:
                    data = client.recv(65536)
                except OSError as e:
                    say(f"the client reset the connection ({e.strerror})")
                    data = None
                if data:
                    say(f"client→peer {len(data)} bytes {show(data)}")
                else:
                    if data is not None:
                        say("the client closed its side (FIN): the peer closes too, and waits for the next client")
                    client.close()
                    client = None
            if stdin in ready:
                typed = os.read(stdin, 65536)
                if not typed:
                    note("end of your input: the peer closes" + (" the client and ends" if client else " and ends"))
                    if client:
                        client.close()
                    return 0
                if client is None:
                    note(f"no client connected: {show(typed)} dropped")
                    continue
                try:
                    client.sendall(typed)
                    say(f"peer→client {len(typed)} bytes {show(typed)}")
                except OSError as e:
                    say(f"could not send: {e.strerror}")


class Wp1Client:
    """One client of the WP/1 peer: the frames it has sent so far, and the
    TOOLONG rule of SPEC (512 bytes without a newline: one error, then drop)."""

    def __init__(self, sock, peer):
        self.sock, self.peer = sock, peer
        self.held, self.dropping = b"", False

    def replies(self, data):
        out = []
        for byte in (data[i : i + 1] for i in range(len(data))):
            if byte == b"\n":
                if not self.dropping:
                    out.append(wp1.reply(self.held))
                    if out[-1] == b"BYE:":
                        return out, True
                self.held, self.dropping = b"", False
            elif not self.dropping:
                self.held += byte
                if len(self.held) >= wp1.FRAME_MAX:
                    out.append(b"ERROR:TOOLONG")
                    self.held, self.dropping = b"", True
        return out, False


def wp1_server(step, port):
    """07: answer WP/1 frames as grader/wp1.py says; many clients at once."""
    selector = selectors.DefaultSelector()
    server = listen(port)
    selector.register(server, selectors.EVENT_READ, None)
    note(f"listening on port {port}, speaking WP/1: run {command_for(step, 'localhost', port)} in another terminal, then type 3+4 or ping (Ctrl-C stops)")
    while True:
        for key, _ in selector.select():
            if key.data is None:
                sock, peer = server.accept()
                say(f"client connected from {peer[0]}:{peer[1]}")
                selector.register(sock, selectors.EVENT_READ, Wp1Client(sock, peer))
                continue
            client = key.data
            try:
                data = client.sock.recv(65536)
            except OSError as e:
                data, why = b"", f"reset the connection ({e.strerror})"
            else:
                why = "closed the connection"
            if data:
                say(f"client→peer {len(data)} bytes {show(data)}")
                answers, bye = client.replies(data)
                if answers:
                    out = b"".join(a + b"\n" for a in answers)
                    try:
                        client.sock.sendall(out)
                        say(f"peer→client {len(out)} bytes {show(out)}")
                    except OSError as e:
                        say(f"could not send: {e.strerror}")
                if not bye:
                    continue
                why = "said QUIT: the peer closed the connection"
            say(f"the client {why}")
            selector.unregister(client.sock)
            client.sock.close()


# === The peer as a client (server steps) =======================================


class Oracle:
    """What a correct server replies (05: the echo; 06/08: WP/1), to point out
    a reply that differs. None: no opinion (02, 04)."""

    def __init__(self, number):
        self.number = number
        self.sent = b""
        self.lines_seen = 0
        self.got = b""

    def expected(self):
        if self.number in WP1_SERVERS:
            return [r + b"\n" for r in wp1.replies(self.sent)]
        if self.number == 5:
            return echoes(self.sent)
        return None

    def check(self, data):
        """Notes on the complete lines just received that differ from the model."""
        self.got += data
        expected = self.expected()
        notes = []
        while b"\n" in self.got and expected is not None:
            line, _, self.got = self.got.partition(b"\n")
            want = expected[self.lines_seen] if self.lines_seen < len(expected) else None
            self.lines_seen += 1
            if want is not None and want != line + b"\n":
                notes.append(f"   note: a correct server replies {show(want)} here")
            elif want is None:
                notes.append("   note: a correct server sends nothing more here")
        return notes


def echoes(stream):
    """05's line-echo on a whole stream: each line back with a plain \\n; a
    line of 512 bytes or more without \\n: ERROR:TOOLONG once, rest dropped."""
    out, held, dropping = [], b"", False
    for byte in (stream[i : i + 1] for i in range(len(stream))):
        if byte == b"\n":
            if not dropping:
                out.append(held.removesuffix(b"\r") + b"\n")
            held, dropping = b"", False
        elif not dropping:
            held += byte
            if len(held) >= 512:
                out.append(b"ERROR:TOOLONG\n")
                held, dropping = b"", True
    return out


def client(step, host, port):
    """02, 04, 05, 06: connect to the student's server and talk."""
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        sys.exit(f"peer: cannot connect to {host}:{port}: {e.strerror or e}; start your server first: {command_for(step, '', port).strip()}")
    sock.settimeout(None)
    me = sock.getsockname()
    note(f"connected to {host}:{port} from {me[0]}:{me[1]}")
    samples = SAMPLES.get(step.number)
    note("type lines to send them; Ctrl-D half-closes (your server should then close); Ctrl-C quits" + ("; the line ? sends sample requests" if samples else ""))
    oracle = Oracle(step.number)
    stdin = sys.stdin.fileno()
    watched = [sock, stdin]
    typed = b""
    while True:
        ready = select.select(watched, [], [])[0]
        if sock in ready:
            try:
                data = sock.recv(65536)
            except OSError as e:
                note(f"the server reset the connection ({e.strerror})")
                return 1
            if not data:
                note("the server closed the connection")
                return 0
            say(f"server→peer {len(data)} bytes {show(data)}")
            for line in oracle.check(data):
                print(line, flush=True)
        if stdin in ready:
            chunk = os.read(stdin, 65536)
            *lines, typed = (typed + chunk).split(b"\n")
            try:
                for line in lines:
                    line += b"\n"
                    send(sock, oracle, samples if samples and line.strip() == b"?" else [line])
                if not chunk:
                    send(sock, oracle, [typed])
                    sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                note(f"could not send: the server has gone ({e.strerror or e})")
                return 1
            if not chunk:
                note("end of your input: the peer half-closed (shutdown SHUT_WR); waiting for the server to close")
                watched = [sock]


def send(sock, oracle, pieces):
    for piece in pieces:
        if not piece:
            continue
        sock.sendall(piece)
        oracle.sent += piece
        say(f"peer→server {len(piece)} bytes {show(piece)}")


def main(number, port=4242, host="localhost"):
    step = registry.find(number)
    try:
        if step.number in CLIENT_STEPS:
            mode = CLIENT_STEPS[step.number]
            return {"greeter": greeter, "chat": chat, "wp1": wp1_server}[mode](step, port) or 0
        return client(step, host, port)
    except KeyboardInterrupt:
        print("\npeer: stopped", flush=True)
        return 0
    except BrokenPipeError:
        return 0
