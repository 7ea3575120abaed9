"""A practice partner: `make peer STEP=NN [PORT=4242] [HOST=localhost]`.

The grader's scripted side of a step, played live so a student can try a
program by hand before (or after) the checks judge it:

    client steps (01, 03, 07): the peer is the server your client talks to
        01  greets each client and closes, like 02's server
        03  a chat server: relays what you type to the client, prints what it sends
        07  speaks WP/1: answers every frame as grader/wp1.py says (PING, CALC, QUIT...)
    server steps (02, 04, 05, 06, 08): the peer is a client of your server
        it connects to HOST:PORT, prints what the server sends, sends what you
        type; Ctrl-D half-closes. 05, 06, 08: the line `?` sends sample requests;
        06, 08: a reply that differs from what WP/1 says is pointed out.
    09 (a chat room): the peer is three clients of your room
        peer-bot and peer-echo join first (NICK, then peer-bot says hello and
        asks WHO:). peer-bot welcomes every JOIN and answers the MSGs addressed
        to it ("peer-bot: help", "peer-bot: who", anything else it repeats);
        peer-echo repeats every MSG of the others. The third client is you: what
        you type goes to the room as it is (NICK:ada, MSG:hi, WHO:, QUIT:...; the
        line `?` sends sample requests); after QUIT, a line typed reconnects.
        What each client receives is printed with its name; a reply to you that
        differs from the chat table, or a JOIN/MSG/LEAVE sent to a client
        without a nick or about itself, is pointed out. Ctrl-D half-closes your
        connection; once the room has closed it, the bots QUIT and the peer ends.

Every chunk is printed whole as it passes, escaped (like `make tap`): on one
line when it is short, else on rows of its own, one quoted row per line of
text (a long line is wrapped), so that nothing is cut. A reply that differs is
pointed out by its place in the chunk and the request it answers. As a server
(01, 03, 07) the peer listens on IPv6 and IPv4 at once (dual-stack), so
`client ::1 4242` can be tried too; IPv4 only, with a note, where IPv6 is not
available.
"""

import errno
import os
import re
import select
import selectors
import shutil
import socket
import sys
import time

from . import registry, wp1
from .chat import BROADCASTS, nick_reply
from .tap import stamp
from .text import escape, show

GREETING = b"Welcome to the server!\n"
NEWLINE = b"\n"
CLIENT_STEPS = {1: "greeter", 3: "chat", 7: "wp1"}
WP1_SERVERS = {6, 8}
SAMPLES = {
    5: [b"hello\n", b"a line with\ttabs and: colons\n", b"crlf ending\r\n", b"\n", b"x" * 600 + b"\n", b"after the long one\n"],
    6: [b"PING:hello\n", b"CALC:3+4\n", b"CALC:-7/2\n", b"CALC:1/0\n", b"CALC:9223372036854775807+1\n", b"HELLO:x\n", b"no colon\n", b"CALC:3 + 4\n"],
}
SAMPLES[8] = SAMPLES[6]
SAMPLES[9] = [
    b"WHO:\n", b"MSG:hello before NICK\n", b"NICK:not a nick!\n", b"NICK:peer-bot\n", b"NICK:sample\n", b"NICK:again\n",
    b"MSG:hello, room\n", b"MSG:peer-bot: who\n", b"PING:a:b\n", b"CALC:3+4\n", b"HELLO:x\n", b"no colon\n", b"WHO:\n",
]  # fmt: skip


def say(text):
    print(f"{stamp()} {text}", flush=True)


def say_chunk(arrow, data, after="", rows=False):
    """One chunk, whole: `arrow N bytes "..."` on one line when it fits the
    terminal (and rows is not asked for), else that header and then the chunk
    in quoted rows, one a line (whole())."""
    columns = shutil.get_terminal_size((100, 24)).columns
    head = f"{stamp()} {arrow} {len(data)} bytes"
    text = escape(data)
    if not rows and len(head) + len(text) + len(after) + 3 <= columns:
        print(f'{head} "{text}"{after}', flush=True)
        return
    shown = whole(data, width=max(40, columns - 4))
    print(f"{head}, in {len(shown)} rows (together, the whole chunk){after}:", flush=True)
    for row in shown:
        print(f"    {row}", flush=True)


def whole(data, width=100):
    """Every byte of data, escaped and quoted, as rows of at most width
    characters: a row per line (each ending with its \\n), a line too long
    for one row cut between two escapes, never inside one."""
    rows = []
    for line in re.findall(rb"[^\n]*\n|[^\n]+", data):
        row = ""
        for piece in ESCAPED.findall(escape(line)):
            if row and len(row) + len(piece) + 2 > width:
                rows.append(f'"{row}"')
                row = ""
            row += piece
        rows.append(f'"{row}"')
    return rows


ESCAPED = re.compile(r"\\x[0-9a-fA-F]{2}|\\.|.", re.S)  # one escape (\\x41, \\n) or one character


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
    """The peer's listening socket: one IPv6 socket with IPV6_V6ONLY off where
    the system allows it (dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d),
    so both `client 127.0.0.1 PORT` and `client ::1 PORT` reach it; IPv4 only
    otherwise, and a note says so."""
    why = "this system has no dual-stack IPv6 socket"
    if socket.has_dualstack_ipv6():
        try:
            server = socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                cannot_listen(port, e)
            why = f"IPv6: {e.strerror or e}"
        else:
            missing = loopback6()
            if missing:
                note(f"listening on IPv6 and IPv4, but this machine has no IPv6 loopback ::1 ({missing}): `client ::1 {port}` cannot be tried here")
            return server
    try:
        server = socket.create_server(("0.0.0.0", port))
    except OSError as e:
        cannot_listen(port, e)
    note(f"listening on IPv4 only ({why}): your client cannot try IPv6 (::1) against this peer")
    return server


def loopback6():
    """None if the IPv6 loopback address ::1 can be used here, else why not."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        return e.strerror or str(e)
    return None


def cannot_listen(port, e):
    sys.exit(f"peer: cannot listen on port {port}: {e.strerror or e} (another program there? try PORT=4243)")


def address(sockaddr):
    """IP:PORT as SPEC prints it: IPv6 as [IP]:PORT, an IPv4-mapped address as its IPv4 form."""
    host, port = sockaddr[0], sockaddr[1]
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:") :]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def run_hint(step, server, port):
    """How to start the student's client against us, over IPv4 and, if we take it, IPv6."""
    hint = f"run {command_for(step, 'localhost', port)}"
    if server.family == socket.AF_INET6 and not loopback6():
        hint += f" (or {command_for(step, '::1', port)} over IPv6)"
    return hint


def greeter(step, port):
    """01: greet each client, then close (02's server, played by the grader)."""
    with listen(port) as server:
        note(f"listening on port {port}: {run_hint(step, server, port)} in another terminal (Ctrl-C stops)")
        while True:
            conn, peer = server.accept()
            say(f"client connected from {address(peer)}")
            try:
                conn.sendall(GREETING)
                say_chunk("peer→client", GREETING)
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
        note(f"listening on port {port}: {run_hint(step, server, port)} in another terminal")
        note("what you type here goes to the client; Ctrl-D closes the client and ends the peer; Ctrl-C stops")
        client = None
        while True:
            ready = select.select([stdin, client or server], [], [])[0]
            if server in ready and client is None:
                client, peer = server.accept()
                say(f"client connected from {address(peer)}")
                client.sendall(GREETING)
                say_chunk("peer→client", GREETING)
            if client is not None and client in ready:
                try:
                    data = client.recv(65536)
                except OSError as e:
                    say(f"the client reset the connection ({e.strerror})")
                    data = None
                if data:
                    say_chunk("client→peer", data)
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
                    say_chunk("peer→client", typed)
                except OSError as e:
                    say(f"could not send: {e.strerror}")


class Wp1Client:
    """One client of the WP/1 peer: the frames it has sent so far, and the
    TOOLONG rule of SPEC (512 bytes without a newline: one error, then drop)."""

    def __init__(self, sock, peer):
        self.sock, self.peer = sock, peer
        self.framer = wp1.Framer()

    def replies(self, data):
        out = []
        for line in self.framer.feed(data):
            out.append(b"ERROR:TOOLONG" if line is None else wp1.reply(line))
            if out[-1] == b"BYE:":
                return out, True
        return out, False


def wp1_server(step, port):
    """07: answer WP/1 frames as grader/wp1.py says; many clients at once."""
    selector = selectors.DefaultSelector()
    server = listen(port)
    selector.register(server, selectors.EVENT_READ, None)
    note(f"listening on port {port}, speaking WP/1: {run_hint(step, server, port)} in another terminal, then type 3+4 or ping (Ctrl-C stops)")
    while True:
        for key, _ in selector.select():
            if key.data is None:
                sock, peer = server.accept()
                say(f"client connected from {address(peer)}")
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
                say_chunk("client→peer", data)
                answers, bye = client.replies(data)
                if answers:
                    out = b"".join(a + b"\n" for a in answers)
                    try:
                        client.sock.sendall(out)
                        say_chunk("peer→client", out)
                    except OSError as e:
                        say(f"could not send: {e.strerror}")
                if not bye:
                    continue
                why = "said QUIT: the peer closed the connection"
            say(f"the client {why}")
            selector.unregister(client.sock)
            client.sock.close()


# === The peer as a client (server steps) =======================================


class Frames:
    """Cuts what the peer sends into frames as a correct server does
    (wp1.Framer), each with the bytes that made it: the frame's line and its
    \\n, or the first 512 bytes of a line too long (line None)."""

    def __init__(self):
        self.framer, self.current = wp1.Framer(), b""

    def feed(self, data):
        out = []
        for i in range(len(data)):
            byte = data[i : i + 1]
            self.current += byte
            for line in self.framer.feed(byte):
                out.append((line, self.current))
                self.current = b""
            if byte == NEWLINE:  # the end of a too-long line's dropped tail
                self.current = b""
        return out


def place(index, count, what="reply"):
    """Where a line is in the chunk that brought it (its row, when the chunk is shown in rows)."""
    return f"this {what}" if count == 1 else f"{what} {index} of the {count} in this chunk"


def numbered(first, count):
    """The request numbers a piece completes: "  (request #3)", "  (requests #3-#5)", or ""."""
    if count == 0:
        return ""
    return f"  (request #{first})" if count == 1 else f"  (requests #{first}-#{first + count - 1})"


class Oracle:
    """What a correct server replies, request by request (05: the echo;
    06/08: WP/1), to point out a reply that differs: by its place in the chunk
    that brought it and the request it answers. No opinion on 02 and 04."""

    def __init__(self, number):
        self.number = number
        self.judges = number == 5 or number in WP1_SERVERS
        self.frames = Frames()
        self.exchanges = []  # (request, the reply a correct server sends), in order
        self.said_bye = False  # after BYE: a correct server closes, no more replies
        self.lines_seen = 0
        self.got = b""

    def sent(self, piece):
        """Take note of a piece sent; the number of requests it completed."""
        if not self.judges:
            return 0
        before = len(self.exchanges)
        for line, request in self.frames.feed(piece):
            if self.said_bye:
                continue
            if line is None:
                reply = b"ERROR:TOOLONG"
            elif self.number == 5:  # the line back, without the \r of a \r\n ending
                reply = line[:-1] if line.endswith(b"\r") else line
            else:
                reply = wp1.reply(line)
                self.said_bye = reply == b"BYE:"
            self.exchanges.append((request, reply + NEWLINE))
        return len(self.exchanges) - before

    def check(self, data):
        """Notes on the complete lines just received that differ from the model."""
        if not self.judges:
            return []
        *lines, self.got = (self.got + data).split(NEWLINE)
        notes = []
        for index, line in enumerate(lines, start=1):
            self.lines_seen += 1
            where = place(index, len(lines))
            got = line + NEWLINE
            if self.lines_seen > len(self.exchanges):
                after = " after BYE: (it closes the connection)" if self.said_bye else f": all {len(self.exchanges)} requests sent have their reply"
                notes.append(f"   note: {where}, {show(got)}: a correct server sends nothing more{after}")
                continue
            request, want = self.exchanges[self.lines_seen - 1]
            if want != got:
                notes.append(f"   note: {where} answers request #{self.lines_seen} {show(request)}: a correct server replies {show(want)}, not {show(got)}")
        return notes


def client(step, host, port):
    """02, 04, 05, 06: connect to the student's server and talk."""
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        sys.exit(f"peer: cannot connect to {host}:{port}: {e.strerror or e}; start your server first: {command_for(step, '', port).strip()}")
    sock.settimeout(None)
    note(f"connected to {host}:{port} from {address(sock.getsockname())}")
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
            notes = oracle.check(data)
            say_chunk("server→peer", data, rows=bool(notes) and data.count(NEWLINE) > 1)  # a row for each reply a note counts
            for line in notes:
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
        first = len(oracle.exchanges) + 1
        say_chunk("peer→server", piece, numbered(first, oracle.sent(piece)))


# === The peer as chat clients (server step 09) ==================================


def ours(nick):
    """A nick of the peer's bots (this peer's or another one's): bots never answer bots."""
    return nick.startswith(b"peer-")


class ChatClient:
    """One connection of the chat peer: its name, its socket, the room's
    messages to it cut into lines, and the notes on what a correct room
    would not have sent it."""

    reacts = False  # True: on_line may send (a bot answers)

    def __init__(self, label, sock, room):
        self.label, self.sock, self.room = label, sock, room
        self.nick = None  # the nick the room gave it (its OK:)
        self.held = b""
        self.open = True

    def send(self, data, after=""):
        try:
            self.sock.sendall(data)
        except OSError as e:
            note(f"{self.label} could not send: {e.strerror or e}")
            return
        say_chunk(f"{self.label}→server", data, after)

    def receive(self):
        try:
            data = self.sock.recv(65536)
        except OSError as e:
            say(f"the server reset the connection of {self.label} ({e.strerror})")
            data = None
        if not data:
            if data is not None:
                say(f"the server closed the connection of {self.label}")
            self.close()
            return
        if self.reacts:  # what it sends in answer comes after what it received
            say_chunk(f"server→{self.label}", data)
        *lines, self.held = (self.held + data).split(NEWLINE)
        notes = []
        for index, line in enumerate(lines, start=1):
            where = place(index, len(lines), "line")
            notes += self.broadcast_notes(line, where) + self.on_line(line, where)
        if not self.reacts:  # a row for each line a note counts
            say_chunk(f"server→{self.label}", data, rows=bool(notes) and len(lines) > 1)
        for text in notes:
            print(f"   note: {text}", flush=True)

    def broadcast_notes(self, line, where):
        keyword, _, rest = line.partition(b":")
        if keyword not in BROADCASTS:
            return []
        about = rest.partition(b":")[0] if keyword == b"MSG" else rest
        if self.nick is None:
            return [f"{where}, {show(line + NEWLINE)}: {self.label} has no nick: a correct room sends it no JOIN, MSG or LEAVE"]
        if about == self.nick:
            return [f"{where}, {show(line + NEWLINE)}: a correct room does not send {self.label} its own {keyword.decode()}"]
        return []

    def close(self):
        if self.open:
            self.sock.close()
            self.open = False


class Bot(ChatClient):
    """peer-bot (welcomes, answers what is addressed to it) or peer-echo
    (repeats every MSG of the others)."""

    reacts = True

    def __init__(self, label, sock, room):
        super().__init__(label, sock, room)
        self.tries = 0
        self.wanted = None
        self.gave_up = False
        self.who_for = []  # who asked peer-bot "who", in order ("" for its own first WHO:)

    def join(self):
        self.tries += 1
        self.wanted = self.label.encode() + (b"%d" % self.tries if self.tries > 1 else b"")
        self.send(b"NICK:" + self.wanted + b"\n")

    def say_msg(self, text):
        self.send((b"MSG:" + text)[:511] + b"\n")  # a frame is at most 512 bytes

    def on_line(self, line, where):
        keyword, _, rest = line.partition(b":")
        if self.nick is None:
            if line == b"OK:" + self.wanted:
                self.nick = self.wanted
                self.room.add(self.nick)
                if self.label == "peer-bot":
                    self.say_msg(b"hello! I am peer-bot, a bot of make peer: say \"peer-bot: help\"")
                    self.who_for.append(b"")
                    self.send(b"WHO:\n")
            elif line == b"ERROR:NICKTAKEN" and self.tries < 5:
                self.join()
            elif keyword == b"ERROR" or keyword == b"OK":
                self.gave_up = True
                return [f"{self.label} asked for NICK:{self.wanted.decode()} and got {show(line)}"]
            return []
        if keyword == b"JOIN":
            self.room.add(rest)
            if self.label == "peer-bot" and not ours(rest):
                self.say_msg(b"welcome, " + rest + b"! say \"peer-bot: help\"")
        elif keyword == b"LEAVE":
            self.room.discard(rest)
        elif keyword == b"WHO" and self.who_for:
            asker = self.who_for.pop(0)
            if asker:
                self.say_msg(asker + b": in the room: " + rest)
            else:
                self.room.update(n for n in rest.split(b",") if n)  # who was there before the peer
        elif keyword == b"MSG":
            sender, _, text = rest.partition(b":")
            if not ours(sender):
                self.answer(sender, text)
        return []

    def answer(self, sender, text):
        if self.label == "peer-echo":
            self.say_msg(sender + b" said: " + text)
            return
        addressed = re.match(rb"\s*@?" + re.escape(self.nick) + rb"\b[\s:,]*(.*)", text, re.S)
        if not addressed:
            return
        ask = addressed.group(1).strip()
        if ask.lower() in (b"", b"help"):
            self.say_msg(sender + b": I know help and who; anything else I repeat. peer-echo repeats every MSG")
        elif ask.lower() == b"who":
            self.who_for.append(sender)
            self.send(b"WHO:\n")
        else:
            self.say_msg(sender + b': you said "' + ask + b'"')


class You(ChatClient):
    """The client you type for. Each frame sent gets its reply from the chat
    table (SPEC), to point out a reply that differs; JOIN, MSG and LEAVE are
    the others' and come at any time."""

    def __init__(self, sock, room):
        super().__init__("you", sock, room)
        self.model_nick = None  # the nick a correct room has given you by now
        self.replies = []  # (request number, request, what a correct room replies), in order
        self.frames = Frames()
        self.requests = 0  # the frames you sent on this connection

    def sent(self, data):
        """Send data as you typed it, noting what a correct room replies to it."""
        self.send(data, self.expect_replies(data))

    def expect_replies(self, data):
        """Take note of what a correct room replies to each frame data
        completes; their numbers, for the line that shows data."""
        first = self.requests + 1
        for line, request in self.frames.feed(data):
            self.requests += 1
            reply = b"ERROR:TOOLONG" if line is None else self.expect(line)
            if reply is not None:
                self.replies.append((self.requests, request, reply))
        return numbered(first, self.requests - first + 1)

    def expect(self, line):
        """The reply a correct room sends to this frame (None: no reply)."""
        keyword, argument = wp1.split(line) or (None, b"")
        if keyword == b"NICK":
            reply = nick_reply(self.model_nick is not None, argument, argument in self.room)
            if reply.startswith(b"OK:"):
                self.model_nick = argument
                self.room.add(argument)
        elif keyword == b"MSG":
            reply = None if self.model_nick is not None else b"ERROR:NONICK"
        elif keyword == b"WHO":
            reply = b"WHO:"  # the list: checked as it comes (others may join meanwhile)
        elif keyword == b"CALC":
            reply = b"ERROR:UNKNOWN"  # not part of the chat
        else:  # SYNTAX, PING, QUIT, UNKNOWN: as WP/1 says
            reply = wp1.reply(line)
            if reply == b"BYE:":
                self.room.discard(self.model_nick)
                self.model_nick = None
        return reply

    def on_line(self, line, where):
        keyword, _, rest = line.partition(b":")
        if keyword in BROADCASTS:
            return []
        if line.startswith(b"OK:"):
            self.nick = rest
        elif line == b"BYE:":
            self.nick = None
        if not self.replies:
            return [f"{where}, {show(line + NEWLINE)}: a correct room sends you nothing here (no request of yours is waiting for a reply)"]
        number, request, want = self.replies.pop(0)
        answers = f"{where} answers your request #{number} {show(request)}"
        if want == b"WHO:" and keyword == b"WHO":
            names = rest.split(b",") if rest else []
            if names != sorted(set(names)):
                return [f"{answers}: WHO: a correct room lists every nick once, sorted bytewise"]
            missing = sorted({self.model_nick, *self.room.bots} - {None} - set(names))
            if missing:
                return [f"{answers}: WHO: {', '.join(show(n) for n in missing)} should be in the list"]
            return []
        if want != line:
            return [f"{answers}: a correct room replies {show(want + NEWLINE)}, not {show(line + NEWLINE)}"]
        return []


class Room(set):
    """The nicks the peer knows are in the room (its bots' view)."""

    def __init__(self):
        super().__init__()
        self.bots = []


def connect_or_exit(step, host, port):
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        sys.exit(f"peer: cannot connect to {host}:{port}: {e.strerror or e}; start your server first: {command_for(step, '', port).strip()}")
    sock.settimeout(None)
    return sock


def chat_room(step, host, port):
    """09: two bots and you, three clients of the student's chat room."""
    room = Room()
    bots = [Bot(name, connect_or_exit(step, host, port), room) for name in ("peer-bot", "peer-echo")]
    you = You(connect_or_exit(step, host, port), room)
    note(f"connected to {host}:{port} as three clients: peer-bot and peer-echo (bots), and you")
    for bot in bots:
        bot.join()
    stdin = sys.stdin.fileno()
    reading, typed, ending = False, b"", None
    deadline = time.monotonic() + 3
    while True:
        clients = [c for c in (you, *bots) if c.open]
        if not reading and (all(b.nick or b.gave_up or not b.open for b in bots) or time.monotonic() > deadline):
            reading = True
            room.bots = [b.nick for b in bots if b.nick]
            note("the bots are in: type frames as one more client (NICK:ada, MSG:hello, WHO:, QUIT:); ? sends sample requests;"
                 " MSG:peer-bot: help talks to the bot; Ctrl-D leaves; Ctrl-C quits")  # fmt: skip
        if ending is None and reading and not you.open and typed is None:
            ending = time.monotonic() + 3  # you have left after Ctrl-D: the bots quit
            for bot in bots:
                if bot.open:
                    bot.send(b"QUIT:bye\n")
        if not clients or (ending is not None and time.monotonic() > ending):
            for c in clients:
                c.close()
            note("every client of the peer has left")
            return 0
        watched = [c.sock for c in clients] + ([stdin] if reading and typed is not None else [])
        timeout = None if reading and ending is None else 0.1
        ready = select.select(watched, [], [], timeout)[0]
        for c in clients:
            if c.sock in ready:
                c.receive()
        if stdin in ready:
            chunk = os.read(stdin, 65536)
            *lines, rest = (typed + chunk).split(b"\n")
            pieces = [piece for line in lines for piece in (SAMPLES[9] if line.strip() == b"?" else [line + b"\n"])]
            if not chunk and rest:
                pieces.append(rest)
            for piece in pieces:
                if not you.open:
                    note("you had left: you connect again")
                    you = You(connect_or_exit(step, host, port), room)
                you.sent(piece)
            typed = rest
            if not chunk:
                typed = None
                if you.open:
                    you.sock.shutdown(socket.SHUT_WR)
                    note("end of your input: you half-closed (shutdown SHUT_WR); the room should now close you")


def main(number, port=4242, host="localhost"):
    step = registry.find(number)
    try:
        if step.number in CLIENT_STEPS:
            mode = CLIENT_STEPS[step.number]
            return {"greeter": greeter, "chat": chat, "wp1": wp1_server}[mode](step, port) or 0
        if step.number == 9:
            return chat_room(step, host, port)
        return client(step, host, port)
    except KeyboardInterrupt:
        print("\npeer: stopped", flush=True)
        return 0
    except BrokenPipeError:
        return 0
