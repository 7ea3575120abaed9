"""The grader's side of a random session (grader/sessions.py): the clients
of a server step (Runner), the server of a client step (ClientRunner).

Each plays one Plan against a fresh copy of the student's program and says
how it went (a Result: the transcript, and a Broken if it failed). Every
byte sent goes through the protocol's model too, which says what each
client is owed; every wait has a deadline (within), and nothing blocks:
the clients' sockets are non-blocking, read and written by one select() loop.
"""

import os
import random
import select
import socket
import struct
import time
from collections import deque

from . import net
from .engine import CheckFailed, status_hint
from .sessions import NL, Act, Broken, Result, segments_of
from .text import plural, show
from .wp1 import FRAME_MAX

GAP = 0.002  # seconds between two segments of one send: each reaches the server on its own
SLOW_OPTIONS = (  # a slow reader's socket: small buffers, so what it does not read piles up in the server
    (socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),
    (socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536),
)


# === The grader's clients of a server ==========================================


class Client:
    """One connection of a session: what it still has to send, what the model
    still owes it (one queue per sender in the chat), what came."""

    def __init__(self, number, conn, slow):
        self.number, self.name, self.conn, self.slow = number, f"c{number}", conn, slow
        self.sock = conn.sock
        self.outbox = bytearray()
        self.sent = bytearray()  # every byte handed to the server, in order...
        self.starts = []  # ...and (offset in it, leaves seen by then) where each segment began
        self.leaves = 0  # the session's leaves seen when it connected (Runner.leaves)
        self.frames_sent, self.partial = 0, 0  # frames sent whole, bytes of the next one sent
        self.split = set()  # the frames (1: its first) that left in several segments, cut before their end
        self.paused = False
        self.open = True  # the grader has not closed it
        self.ended = None  # "eof" or "reset" once the server has closed it
        self.owed = {}  # about -> deque of Owed
        self.owed_bytes = 0
        self.held = b""  # received, not a whole line yet
        self.unlogged = bytearray()  # received, not in the transcript yet
        self.may_drop = False  # SPEC lets the server disconnect it (replies past the limit)
        self.stopped = False  # it stopped reading at some time (a slow reader)

    def reading(self):
        return self.open and not self.ended and not self.paused

    def pending(self):
        return sum(len(q) for q in self.owed.values())

    def next_owed(self):
        """The next line owed about each sender (one queue only, but in the chat)."""
        return [q[0] for q in self.owed.values() if q]

    def count_frames(self, piece):
        """Note piece, a segment sent: the frames it ends, and the one it cuts."""
        if self.partial and not piece.startswith((b"\n", b"\r\n")):
            self.split.add(self.frames_sent + 1)
        ended = piece.count(NL)
        self.frames_sent += ended
        self.partial = len(piece) - piece.rfind(NL) - 1 if ended else self.partial + len(piece)

    def expect(self, owed):
        self.owed.setdefault(owed.about, deque()).append(owed)
        self.owed_bytes += len(owed.text) + 1


class Runner:
    """Plays one Plan against a fresh copy of the student's server.

    protocol: the model, seen through
        connect(c); send(c, data) -> [Owed]; gone(c, how) -> [Owed] (how: close,
        reset, shutdown); closes(c): the server closes c once c's lines are sent;
        about(line): whose news a received line is; name: "the WP/1 model";
        shared: clients act on each other (the chat): then a client of the
        grader's own, w, is in the session first and never stops reading, a
        witness of every broadcast (it sends protocol.witness, its NICK), and
        a send that changes who holds a nick (changes(c, data)) waits until
        every frame before it has had its effect, and the change its own: so
        the model never guesses the order of two clients' frames where it
        matters, and only there; one_at_a_time: the server
        serves one client after another; drop_after: unsent bytes past which
        SPEC lets the server disconnect a client that does not read;
        pause_limit: owed bytes past which a slow reader reads again (the
        grader stays under the limit where SPEC makes the server drop it).
    start: starts the server (t.start_server); within: every wait's deadline."""

    def __init__(self, t, protocol, start, within):
        self.t, self.protocol, self.start, self.within = t, protocol, start, within
        self.clients = {}
        self.rows = []
        self.server = None
        self.checked_at = 0.0
        self.leaves = 0  # clients gone so far, closed by the grader or the server
        self.pieces_answered = False  # a frame that left in several segments got its right reply

    def log(self, kind, text):
        self.rows.append((kind, text))

    # --- playing a plan ---

    def run(self, plan):
        started, mark, programs = time.monotonic(), len(self.t.lines), len(self.t.programs)
        result = Result()
        try:
            self.server = self.start()
            self.log("run", f"$ {self.server.shown}")
            if self.protocol.shared:
                self.send(self.connect(0, False), Act("send", 0, (self.protocol.witness,)))
                self.sync(self.clients[0])
            for act in plan.acts:
                self.do(act)
            self.finish()
        except Broken as broken:
            result.failure = broken
        except CheckFailed as failure:  # the server did not start, or refused a connection
            result.failure = Broken("start", failure.message, failure.evidence, failure.hint)
        finally:
            for client in self.clients.values():
                self.flush_log(client)
                client.sock.close()
            del self.t.lines[mark:]  # the engine's own lines (each start): the runner keeps its rows
            started_here = self.t.programs[programs:]
            result.program = self.server if self.server in started_here else started_here[-1] if started_here else None
            del self.t.programs[programs:]
            if self.server is not None and result.failure is None:
                self.server.kill()
        result.rows, result.seconds = self.rows, time.monotonic() - started
        return result

    def do(self, act):
        client = self.clients.get(act.client)
        if act.kind == "connect":
            if client is None:
                self.connect(act.client, act.slow)
            return
        if act.kind == "settle":
            return self.settle()
        if act.kind == "sync":
            return self.sync(client)
        if client is None and act.kind in ("send", "pause"):
            client = self.connect(act.client, False)  # a plan shrunk without its connect
        if client is None or not client.open or client.ended:
            return  # gone already: nothing left to do for it
        if act.kind == "send":
            self.send(client, act)
        elif act.kind in ("close", "reset", "shutdown"):
            self.close(client, act.kind)
        else:
            getattr(self, act.kind)(client)  # pause, resume

    def connect(self, number, slow):
        options = SLOW_OPTIONS if slow else ()
        try:
            conn = net.connect("127.0.0.1", self.server.port, lambda *_: None, self.within, options=options)
        except CheckFailed:
            self.check_alive(within=0.2)  # refused because it has ended: that says more
            raise
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each segment leaves at once
        conn.sock.setblocking(False)
        client = self.clients[number] = Client(number, conn, slow)
        client.leaves = self.leaves
        self.protocol.connect(number)
        if number == 0:
            client.name = "w"
            self.log("note", "w connects: the grader's witness, in the room to see every broadcast; it always reads")
        else:
            self.log("note", f"{client.name} connects" + (" (small socket buffers: it will stop reading for a while)" if slow else ""))
        return client

    def send(self, client, act):
        data = b"".join(act.items)
        pieces = segments_of(data, act.cuts)
        shared_change = self.protocol.shared and self.protocol.changes(client.number, data)
        if self.protocol.shared:
            self.resume(client)  # what it sends is seen to have had its effect before any change
        if shared_change:
            self.settle()
        lines = self.protocol.send(client.number, data)
        self.owe(lines)
        how = f"  (in {len(pieces)} segments: {'+'.join(str(len(p)) for p in pieces)} bytes)" if len(pieces) > 1 else ""
        self.log("sent", f"{client.name} {show(data)}{how}")
        for i, piece in enumerate(pieces):
            if i:
                self.pump(lambda: False, time.monotonic() + GAP)  # the segment before is on its own
            client.starts.append((len(client.sent), self.leaves))
            client.sent += piece
            client.count_frames(piece)
            client.outbox += piece
            self.pump(lambda: not client.outbox, time.monotonic() + GAP)  # what the kernel does not take now goes later
        if shared_change:
            self.settle()
        self.limit_slow_readers()

    def sync(self, client):
        if client is None or not client.open or client.ended:
            return
        if self.protocol.one_at_a_time:
            self.leave_before(client)
        client.paused = False
        self.wait_for([client])

    def settle(self):
        """Every client that reads has received all it is owed."""
        self.wait_for([c for c in self.clients.values() if c.reading()])

    def pause(self, client):
        client.paused = client.stopped = True
        self.log("note", f"{client.name} stops reading (what it is owed piles up in your server)")

    def resume(self, client):
        if client.paused:
            client.paused = False
            self.log("note", f"{client.name} reads again")

    def close(self, client, how="close"):
        """close (a FIN), reset (an RST) or shutdown (a half-close: it reads on)."""
        if self.protocol.shared or how == "shutdown":
            self.resume(client)  # what it sent must reach the server first
            if not self.pump(lambda: not client.outbox, time.monotonic() + self.within):
                raise Broken("missing", f"your server stopped reading {client.name}: {len(client.outbox)} bytes it sent could not be delivered within {self.within:g} s")
        if self.protocol.shared:
            self.settle()  # its frames have had their effect: the model knows the room it leaves
        self.flush_log(client)
        said = {"reset": "resets its connection (RST)", "shutdown": "half-closes its connection (shutdown SHUT_WR)", "close": "closes its connection"}[how]
        self.log("note", f"{client.name} {said}" + (f", {len(client.outbox)} bytes it sent still unsent" if client.outbox else ""))
        if how == "reset":
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if how == "shutdown":
            client.sock.shutdown(socket.SHUT_WR)
        else:
            client.sock.close()
            client.open = False
            self.leaves += 1
        lines = self.protocol.gone(client.number, how)
        self.owe(lines)
        if self.protocol.shared:
            self.settle()

    def leave_before(self, client):
        """A server of one client at a time answers this one once those connected before have left."""
        for other in self.clients.values():
            if other.number < client.number and other.open and not other.ended:
                self.sync(other)
                self.log("note", f"{other.name} leaves, so that {client.name} is served: your server may serve one client at a time")
                self.close(other, "close")

    def finish(self):
        for client in self.clients.values():
            self.resume(client)
        if self.protocol.one_at_a_time:
            for client in list(self.clients.values()):
                self.sync(client)
        else:
            self.settle()
        status = self.server.poll()
        if status is not None:
            raise Broken("died", f"your server {status} at the end of the session", hint=status_hint(status))

    # --- what each client is owed ---

    def owe(self, owed):
        for line in owed:
            receiver = self.clients.get(line.receiver)
            if receiver is not None and receiver.open and not receiver.ended:
                receiver.expect(line)
        if self.protocol.drop_after:
            for client in self.clients.values():
                if client.paused and client.owed_bytes > self.protocol.drop_after - 1024:
                    client.may_drop = True

    def limit_slow_readers(self):
        limit = self.protocol.pause_limit
        for client in self.clients.values():
            if limit and client.paused and client.owed_bytes > limit:
                self.log("note", f"{client.name} reads again: {client.owed_bytes} bytes wait for it (the grader keeps under the room's limit of 64 KiB)")
                client.paused = False

    # --- the wire ---

    def wait_for(self, clients):
        """Until each of clients has received all it is owed (and the close, when
        the server is to close it); fails with what is missing."""
        deadline = time.monotonic() + self.within

        def done():
            return all(c.ended or not c.open or (not c.pending() and not (self.protocol.closes(c.number) and not c.ended)) for c in clients)

        for client in clients:
            client.paused = False
        if not self.pump(done, deadline):
            late = [c for c in clients if c.open and not c.ended and (c.pending() or self.protocol.closes(c.number))]
            self.missing(late[0])
        for client in clients:
            self.flush_log(client)

    def pump(self, until, deadline):
        """Send what waits, read what comes, compare it, until until() or the deadline."""
        while True:
            if until():
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            readers = [c.sock for c in self.clients.values() if c.reading()]
            writers = [c.sock for c in self.clients.values() if c.outbox and c.open and not c.ended]
            ready, writable, _ = select.select(readers, writers, [], min(deadline - now, 0.05))
            by_sock = {c.sock: c for c in self.clients.values()}
            for sock in writable:
                self.write(by_sock[sock])
            for sock in ready:
                self.read(by_sock[sock])
            if now - self.checked_at > 0.02:
                self.checked_at = now
                self.check_alive()

    def check_alive(self, within=0.0):
        """Fails if the server has ended (waiting up to within s for its status)."""
        status = self.server.wait(within) if within else self.server.poll()
        if status is not None:
            raise Broken("died", f"your server {status} in the middle of the session", hint=status_hint(status))

    def write(self, client):
        try:
            sent = client.sock.send(client.outbox)
        except BlockingIOError:
            return
        except OSError:
            client.outbox.clear()  # it has closed that connection: what comes next says whether it may
            return
        del client.outbox[:sent]

    def read(self, client):
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = None
        if data:
            lines = (client.held + data).split(b"\n")
            client.held = lines.pop()
            for line in lines:
                self.take(client, line)
            return
        client.ended = "reset" if data is None else "eof"
        self.leaves += 1
        self.flush_log(client)
        self.log("received", f"{client.name} " + ("(the connection was reset)" if data is None else "(the connection closed)"))
        if client.pending() or client.held or not self.protocol.closes(client.number):
            cut = client.held and not any(o.text.startswith(client.held) for o in client.next_owed())
            if client.may_drop and not cut:  # what came before the close is its replies, in order (the last one may be cut short)
                self.log("note", f"your server disconnected {client.name}, whose unread replies had passed 64 KiB: that is allowed")
                client.owed.clear()
                client.owed_bytes = 0
                return
            self.closed(client)

    def take(self, client, line):
        """One line came to client: it must be the next one the model owes it."""
        about = self.protocol.about(line)
        queue = client.owed.get(about)
        if not queue:
            whose = f" about {about.decode('latin-1')}" if about is not None else ""
            self.flush_log(client)
            raise Broken(
                "extra",
                f"{client.name} received a line {self.protocol.name} does not send it" + (f" (nothing more{whose} is owed to it)" if client.pending() else ""),
                [("expected", f"{client.name} " + (self.owed_text(client) if client.pending() else "nothing more")), ("received", f"{client.name} {show(line + NL)}")],
                got=line, about=about, to=client.number, slow=client.stopped, receiver=self.protocol.nick(client.number),
            )  # fmt: skip
        owed = queue[0]
        if owed.text != line:
            self.flush_log(client)
            evidence = [("reply to", owed.cause)] if owed.cause else []
            evidence += [("expected", f"{client.name} {show(owed.text + NL)}"), ("received", f"{client.name} {show(line + NL)}")]
            if about is not None:
                evidence.append(("note", f"the lines about {about.decode('latin-1')} reach {client.name} in the order they were sent; the others' may come between"))
            lost = self.lost_head(client, owed, line)
            if lost:
                evidence.append(("note", f"that frame reached your server in pieces: {show(line + NL)} is the reply to its end alone, "
                                         f"{show(lost[1] + NL)}, as if its first {plural(lost[0], 'byte')} had never come"))  # fmt: skip
            later = any(o.text == line for o in list(queue)[1:])
            raise Broken("mismatch", f"{client.name} received another line than {self.protocol.name}'s", evidence,
                         want=owed.text, got=line, request=owed.request, about=about, slow=client.stopped, later=later,
                         receiver=self.protocol.nick(client.number), lost=lost)  # fmt: skip
        queue.popleft()
        if owed.frame in client.split:
            self.pieces_answered = True
        client.unlogged += line + NL  # the transcript shows what matched; a failure shows the rest
        client.owed_bytes -= len(line) + 1
        if not client.owed_bytes:
            client.may_drop = False

    def lost_head(self, client, owed, line):
        """(bytes lost, the end answered) when line, which came instead of the
        reply owed to one of client's frames, is the reply to that frame's end
        alone, from a point where a segment of it began, and not to the whole
        frame: the server lost the bytes of the frame it had received before.
        Any end of a frame makes ERROR:SYNTAX: that reply counts only if a
        client left between client's frame before and that point (what moves
        a client in a server's tables). When the frame's start alone gets that
        reply too (answered as if whole: another mistake), it counts only once
        a frame sent in pieces got its right reply in the session. None
        otherwise, or when the protocol cannot tell a frame's reply alone (the
        chat)."""
        answer = self.protocol.answer
        if owed.frame is None or answer(b"") is None:
            return None
        frame, cuts, before = frame_of(client.sent, client.starts, owed.frame)
        if frame is None or answer(frame) == line:
            return None
        for cut, leaves in cuts:
            head, tail = frame[:cut], frame[cut:]
            if len(tail) >= FRAME_MAX or answer(tail) != line:
                continue
            if line == b"ERROR:SYNTAX" and leaves <= max(before, client.leaves):
                continue
            if answer(head) == line and not self.pieces_answered:
                continue
            return cut, tail
        return None

    def owed_text(self, client, most=4):
        lines = [o.text for o in client.next_owed()] if len(client.owed) > 1 else [o.text for o in list(client.owed.get(None, ()))[:most]]
        text = show(b"".join(line + b"\n" for line in lines))
        more = client.pending() - len(lines)
        return text + (f" and {more} more line(s)" if more > 0 else "")

    def missing(self, client):
        self.flush_log(client)
        owed = client.next_owed()
        evidence = [("reply to", owed[0].cause)] if len(owed) == 1 and owed[0].cause else []
        if client.pending():
            evidence += [("expected", f"{client.name} {self.owed_text(client)}"), ("received", f"{client.name} " + (show(client.held) if client.held else "(nothing more)"))]
            message = f"{client.name} waited {self.within:g} s for {plural(client.pending(), 'line')} {self.protocol.name} owes it"
        else:
            evidence += [("expected", f"{client.name} (the connection closed)"), ("received", f"{client.name} " + (show(client.held) if client.held else "(nothing more)"))]
            message = f"{client.name} waited {self.within:g} s for your server to close its connection"
        first = owed[0] if owed else None
        raise Broken("missing", message, evidence, want=first and first.text, request=first and first.request, about=first and first.about, slow=client.stopped,
                     receiver=self.protocol.nick(client.number), quit=client.number in self.protocol.done)  # fmt: skip

    def closed(self, client):
        self.check_alive(within=0.2)  # a server that crashed closes every connection: its end says more
        what = "closed" if client.ended == "eof" else "reset"
        evidence = []
        if client.pending():
            evidence.append(("expected", f"{client.name} {self.owed_text(client)}"))
        evidence.append(("received", f"{client.name} " + (f"{show(client.held)} then " if client.held else "") + f"(the connection {'closed' if what == 'closed' else 'was reset'})"))
        owing = f" with {plural(client.pending(), 'line')} still owed to it" if client.pending() else " where the model keeps it open"
        first = (client.next_owed() or [None])[0]
        raise Broken("closed", f"your server {what} {client.name}'s connection{owing}", evidence, want=first and first.text, request=first and first.request, slow=client.stopped)

    def flush_log(self, client):
        if client.number == 0:  # the witness's lines: only when they are the failure
            client.unlogged.clear()
        if client.unlogged:
            self.log("received", f"{client.name} {show(bytes(client.unlogged))}")
            client.unlogged.clear()


def frame_of(sent, starts, number):
    """The number-th line of the bytes sent (1: the first) without its "\n",
    the (offset in it, leaves) where a segment of it began after its first
    byte, and the leaves when the line before it had come whole (0 for the
    first); (None, [], 0) if it is not whole."""
    start = 0
    for _ in range(number - 1):
        start = sent.find(NL, start) + 1
        if not start:
            return None, [], 0
    end = sent.find(NL, start)
    if end < 0:
        return None, [], 0
    before = max([leaves for at, leaves in starts if at < start] or [0])
    return bytes(sent[start:end]), [(at - start, leaves) for at, leaves in starts if start < at <= end], before


# === The grader as a server, for a client program (07) =========================


class ClientRunner:
    """Plays one Plan against the student's client: types its lines (acts
    "type"; "end" closes stdin; "hangup" closes the connection), and answers
    every frame the client sends as the model says, holding up to
    options["hold"] frames before answering them in one go (cut into
    segments where options["cuts"] says), so a client that pipelines gets
    replies coalesced and cut anywhere, and one that waits for each reply
    is answered once it is quiet.

    model: frame(line) -> the frame a typed line must send (None: nothing;
    a frame ending in ":" : that keyword and any token); reply(frame) -> the
    reply; printed(reply) -> a compiled pattern the printed line must match;
    name: "the WP/1 model"."""

    QUIET = 0.015  # seconds without a new frame: the client waits for its replies

    def __init__(self, t, model, within):
        self.t, self.model, self.within = t, model, within
        self.rows = []

    def log(self, kind, text):
        self.rows.append((kind, text))

    def run(self, plan):
        started, mark, programs = time.monotonic(), len(self.t.lines), len(self.t.programs)
        result = Result()
        self.client = self.conn = None
        self.conn_open = False
        try:
            self.play(plan)
        except Broken as broken:
            result.failure = broken
        except CheckFailed as failure:
            result.failure = Broken("start", failure.message, failure.evidence, failure.hint)
        finally:
            if self.conn_open:
                self.conn.sock.close()
            del self.t.lines[mark:]
            result.program = self.client if self.client in self.t.programs[programs:] else None
            del self.t.programs[programs:]
            if self.client is not None and result.failure is None:
                self.client.kill()
        result.rows, result.seconds = self.rows, time.monotonic() - started
        return result

    def play(self, plan):
        self.options = plan.options
        self.rng = random.Random(plan.seed)  # where replies are cut: the same in every replay
        server = self.t.serve()
        self.client = self.t.run("127.0.0.1", server.port, stdin="pipe")
        self.log("run", f"$ {self.client.shown}")
        self.conn = server.accept(self.client)
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn.sock.setblocking(False)
        os.set_blocking(self.client.stdin, False)
        self.frames = deque()  # (frame the client must send next, the line typed)
        self.owed = []  # frames received, not answered yet: (frame, typed line)
        self.prints = deque()  # (pattern, reply) the client must print next
        self.held = b""
        self.last_frame = time.monotonic()
        self.replies_sent = 0
        self.ended_input = self.hung_up = self.quit = False
        self.conn_open = True
        self.printed_seen = 0
        for act in plan.acts:
            getattr(self, act.kind)(act)
        self.finish()

    # --- the acts ---

    def type(self, act):
        if act.wait:
            self.pump(lambda: not self.frames and not self.owed and not self.prints, "the replies so far printed")
        typed = b"".join(line + b"\n" for line in act.items)
        for line in act.items:
            frame = self.model.frame(line)
            if frame is not None:
                self.frames.append((frame, line))
        self.log("typed", show(typed))
        view = memoryview(typed)
        deadline = time.monotonic() + self.within
        while view:
            if time.monotonic() > deadline:
                raise Broken("missing", f"your client did not read its stdin: typed lines still waited after {self.within:g} s")
            try:
                view = view[os.write(self.client.stdin, view) :]
            except BlockingIOError:
                self.step(0.005)
            except OSError:
                raise Broken("closed", "your client closed its stdin (or ended) before reading what was typed", hint=self.ending_hint())

    def end(self, act):
        self.log("note", "the grader closes your client's stdin (end of input)")
        self.client.close_stdin()
        self.ended_input = True

    def hangup(self, act):
        """The grader's server closes the connection once its replies so far are printed."""
        self.pump(lambda: not self.owed and not self.prints, "the replies so far printed")
        self.log("note", f"the grader's server closes the connection, with {plural(len(self.frames), 'request')} typed and not answered")
        self.conn.sock.close()
        self.conn_open = False
        self.hung_up = True
        if self.client.stdin is not None and self.client.poll() is None:
            try:  # a client that reads a line, then waits for its reply, notices the close when it sends the next
                os.write(self.client.stdin, b"1+1\n")
                self.log("typed", show(b"1+1\n") + "  (a client blocked reading the next line notices the close now)")
            except OSError:
                pass
        deadline = time.monotonic() + self.within
        while self.client.poll() is None and time.monotonic() < deadline:
            self.check_stdout()
            time.sleep(0.005)
        self.check_stdout()
        status = self.client.poll()
        if status is None or status.code != 1:
            raise Broken("exit", f"the server closed the connection before the end of input: your client should exit with status 1; it {status or 'was still running after %g s' % self.within}",
                         hint="recv() returning 0 before the end of input, or with replies owed, is an error: say so on stderr, exit 1")  # fmt: skip
        if not self.client.stderr.data().strip():
            raise Broken("exit", "your client exited with status 1 but said nothing on stderr", hint="say on stderr why you stop: the server closed the connection")
        self.log("note", "your client exited with status 1, with a message on stderr")

    def finish(self):
        if self.hung_up:
            return
        if not self.ended_input:
            self.end(None)
        self.pump(lambda: not self.frames and not self.owed and not self.prints, "every reply printed")
        deadline = time.monotonic() + self.within
        while self.client.poll() is None and time.monotonic() < deadline:
            self.step(0.005)
        self.check_stdout()
        status = self.client.poll()
        if status is None or status.code != 0:
            raise Broken("exit", f"at the end of input, with every reply printed, your client should exit with status 0; it {status or 'was still running after %g s' % self.within}",
                         hint="at the end of input, once every reply has come, close the socket and return 0")  # fmt: skip
        self.log("note", "your client exited with status 0")

    # --- the loop ---

    def pump(self, until, what):
        """Answer, read and compare until until(); fails when nothing moves for a deadline."""
        deadline = time.monotonic() + self.within
        seen = None
        while not until():
            progress = (len(self.frames), len(self.owed), len(self.prints), self.printed_seen)
            if progress != seen:
                seen, deadline = progress, time.monotonic() + self.within
            if time.monotonic() > deadline:
                self.stuck(what)
            self.step(0.005)

    def step(self, wait):
        ready = select.select([self.conn.sock], [], [], wait)[0] if self.conn_open else time.sleep(wait)
        if ready:
            self.read_frames()
        self.answer()
        self.check_stdout()
        if self.client.poll() is not None and not self.hung_up and self.pending():
            self.ended_early()

    def pending(self):
        return self.frames or self.owed or self.prints or not self.ended_input

    def ended_early(self):
        """The client has ended: what it printed before counts; then, if
        something is still due, that it ended is the failure."""
        status = self.client.wait(1.0)  # what it wrote before it ended is all in the pipe's capture
        self.check_stdout()
        if self.pending():
            what = f"{len(self.prints)} replies unprinted" if self.prints else f"{len(self.frames)} typed lines unsent" if self.frames else "before the end of input"
            raise Broken("died", f"your client {status} in the middle of the session ({what})", hint=status_hint(status),
                         owed=len(self.prints) + len(self.owed) + len(self.frames), stderr=self.client.stderr.data(),
                         unprinted=self.prints[0][1] if self.prints else None)  # fmt: skip

    def read_frames(self):
        try:
            data = self.conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if self.client.wait(0.5 if self.pending() else 0) is not None:  # it closed by ending: that says more
                self.ended_early()
            if self.pending():
                raise Broken("closed", "your client closed the connection while requests were owed or typed", owed=len(self.prints), stderr=b"")
            return
        lines = (self.held + data).split(b"\n")
        self.held = lines.pop()
        if len(self.held) > 4096:
            raise Broken("mismatch", "your client sent more than 4 KiB without a '\\n'", [("received", show(self.held))])
        for line in lines:
            self.take_frame(line)

    def take_frame(self, line):
        if not self.frames:
            if self.ended_input and line.startswith(b"QUIT:") and not self.quit:
                self.quit = True  # answered in its turn: BYE: after the replies owed before it, then the close
                self.owed.append((line, None))
                self.log("received", show(line + NL))
                return
            raise Broken("extra", "your client sent a frame nobody typed", [("expected", "nothing" + (" (or QUIT:)" if self.ended_input else "")), ("received", show(line + b"\n"))],
                         hint="send one frame per line typed (none for an empty line), and nothing else")  # fmt: skip
        frame, typed = self.frames[0]
        wanted = line.startswith(frame) if frame.endswith(b":") else line == frame
        if not wanted:
            expected = show(frame) + "<a token of yours>\\n" if frame.endswith(b":") else show(frame + b"\n")
            raise Broken("mismatch", f"your client sent another frame than {self.model.name}'s", [("for line", show(typed + NL)), ("expected", expected), ("received", show(line + NL))],
                         typed=typed, want=frame, got=line)  # fmt: skip
        self.frames.popleft()
        self.owed.append((line, typed))
        self.last_frame = time.monotonic()
        self.log("received", show(line + b"\n"))

    def answer(self):
        """Answer the frames held once there are options["hold"] of them, or
        once the client is quiet (it waits for a reply before sending more)."""
        if not self.owed:
            return
        quiet = time.monotonic() - self.last_frame > self.QUIET
        if len(self.owed) < self.options.get("hold", 1) and not quiet and self.frames:
            return
        replies = [self.model.reply(frame) for frame, _ in self.owed]
        for (frame, typed), reply in zip(self.owed, replies):
            if typed is not None:  # QUIT's BYE: prints nothing
                self.prints.append((self.model.printed(reply), reply, typed))
        self.owed = []
        data = b"".join(r + b"\n" for r in replies)
        cuts = sorted(self.rng.sample(range(1, len(data)), min(self.options.get("cuts", 0), len(data) - 1))) if len(data) > 1 else []
        self.send(data, cuts)
        self.replies_sent += len(replies)
        if replies[-1] == b"BYE:":
            self.conn.sock.close()  # as a WP/1 server does after QUIT
            self.conn_open = False

    def send(self, data, cuts=()):
        pieces = segments_of(data, cuts)
        how = f"  (in {len(pieces)} segments: {'+'.join(str(len(p)) for p in pieces)} bytes)" if len(pieces) > 1 else ""
        self.log("sent", show(data) + how)
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(GAP)
            try:
                self.conn.sock.setblocking(True)
                self.conn.sock.settimeout(self.within)
                self.conn.sock.sendall(piece)
            except OSError:
                pass  # it has gone: what it printed and how it ended tell
            finally:
                self.conn.sock.setblocking(False)

    def check_stdout(self):
        out = self.client.stdout.data()
        lines = out.split(b"\n")[:-1]
        while self.printed_seen < len(lines):
            line = lines[self.printed_seen]
            if not self.prints:
                raise Broken("extra", f"your client printed a line {self.model.name} does not print", [("expected", "nothing more"), ("printed", show(line + b"\n"))])
            pattern, reply, typed = self.prints[0]
            if not pattern.fullmatch(line):
                raise Broken("mismatch", f"your client printed another line than {self.model.name}'s",
                             [("for line", show(typed + NL)), ("for", f"the reply {show(reply + NL)}"), ("expected", self.model.shown(pattern)), ("printed", show(line + NL))],
                             typed=typed, reply=reply, got=line, want=self.model.literal(pattern), channel="stdout")  # fmt: skip
            self.prints.popleft()
            self.printed_seen += 1
            self.log("printed", show(line + b"\n"))

    def stuck(self, what):
        if self.frames and not self.owed and not self.prints:
            frame, typed = self.frames[0]
            raise Broken("missing", f"your client sent nothing for a typed line within {self.within:g} s",
                         [("for line", show(typed + b"\n")), ("expected", show(frame + (b"<token>" if frame.endswith(b":") else b"") + b"\n")), ("received", show(self.held) if self.held else "(nothing)")],
                         hint="send each line as soon as it is typed: a user at a terminal waits for the answer before typing the next")  # fmt: skip
        if self.prints:
            pattern, reply, typed = self.prints[0]
            out = self.client.stdout.data()
            raise Broken("missing", f"your client printed nothing for a reply within {self.within:g} s",
                         [("for line", show(typed + b"\n")), ("for", f"the reply {show(reply + NL)}"), ("expected", self.model.shown(pattern)), ("printed so far", show(out.split(b"\n")[-1]) if out and not out.endswith(b"\n") else "(nothing more)")],
                         hint="print each reply as soon as it arrives, and fflush(stdout); one recv() may bring part of a reply, or two",
                         want=self.model.literal(pattern), got=b"", channel="stdout")  # fmt: skip
        raise Broken("missing", f"the session did not move for {self.within:g} s (waiting for {what})")

    def ending_hint(self):
        return status_hint(self.client.poll()) if self.client else None
