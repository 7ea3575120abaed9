"""Random sessions against the protocol model (SPEC §2, steps 05 to 09).

Each check below plays sessions drawn from seeds (grader/players.py plays
and compares them, grader/sessions.py shrinks a failing one): requests
valid and malformed, edge values of every range (int64 edges for every
operator in both directions, nicks of 0, 1, 16 and 17 bytes, frames of 511,
512 and 513 bytes), pipelined or one by one, cut into segments at generated
points, over one client or several with generated interleavings, slow
readers, and closes, resets and half-closes at generated moments. Every
reply is the model's: grader/wp1.py for WP/1 (and its framing for 05's
echo), grader/chat.py for the chat room. The step modules include them with
one line each:

    random_sessions = rs.wp1_sessions
"""

import re

from .. import chat, sessions, wp1
from ..engine import CORE, check
from ..players import ClientRunner, Runner
from ..sessions import Act, Owed, Plan, Simplify
from ..text import show

I64_MAX, I64_MIN = wp1.INT64_MAX, wp1.INT64_MIN
NL = b"\n"
OUT_LIMIT = 64 << 10  # SPEC: unsent output past this may (08) or must (09) end a client that does not read
SPECIAL = b"\r\0:\xff \t,-\x80"  # the bytes a line reader gets wrong
NICKS = [b"a", b"ab", b"abc", b"A", b"Ab", b"b", b"_", b"-", b"9", b"x" * 16, b"x" * 15, b"y" * 16, b"Zed", b"z_-9"]
BAD_NICKS = [b"", b"x" * 17, b"a b", b"a:b", b"a.b", b"caf\xc3\xa9", b"a\x00", b"ab\t", b"ab\r", b"*"]


# === Bytes and values ==========================================================


PRINTABLE = bytes(range(32, 127))


def some_bytes(rng, length, special=0.25):
    """length random bytes but "\\n"; special: the share taken from SPECIAL."""
    weights = [(1 - special) / len(PRINTABLE)] * len(PRINTABLE) + [special / len(SPECIAL)] * len(SPECIAL)
    return bytes(rng.choices(PRINTABLE + SPECIAL, weights, k=length))


def length(rng, longest, edges=()):
    """A length up to longest, often small, often one of the edges."""
    roll = rng.random()
    if roll < 0.3 and edges:
        return rng.choice(edges)
    if roll < 0.7:
        return rng.randrange(0, min(12, longest + 1))
    return rng.randrange(0, longest + 1)


def ending(rng):
    return b"\r\n" if rng.random() < 0.25 else b"\n"


def operand(value, rng):
    """An operand as a client writes it; sometimes with leading zeros (007 is 7)."""
    text = str(abs(value))
    if rng.random() < 0.08:
        text = "0" * rng.choice((1, 2, 5, 20)) + text
    return (b"-" if value < 0 else b"") + text.encode()


def edge_calc(rng, op=None, upward=None):
    """A CALC just inside or just past an int64 edge: every operator, both
    directions (upward: toward INT64_MAX, or toward INT64_MIN)."""
    op = op or rng.choice("+-*/%")
    upward = rng.random() < 0.5 if upward is None else upward
    if op in "+-":
        k = rng.choice((0, 1, 2, rng.randrange(3, 1 << 62)))
        past = rng.choice((-1, 0, 1, 1))  # 1: one past the edge
        a = I64_MAX - k if upward else I64_MIN + k
        target = I64_MAX + past if upward else I64_MIN - past
        b = target - a if op == "+" else a - target
        if op == "+" and rng.random() < 0.5:
            a, b = b, a
    elif op == "*":
        b = rng.choice((1, 2, 3, 7, 10, 1000, 3037000499, 3037000500, rng.randrange(2, 1 << 32)))
        negative = not upward  # a product toward INT64_MIN
        limit = (-I64_MIN if negative else I64_MAX) // b
        a = limit + rng.choice((0, 0, 1))
        signs = rng.choice(((1, -1), (-1, 1))) if negative else rng.choice(((1, 1), (-1, -1)))
        a, b = a * signs[0], b * signs[1]
        if rng.random() < 0.5:
            a, b = b, a
    elif upward:  # / and %: the one quotient past INT64_MAX, and its neighbours
        a, b = rng.choice(((I64_MIN, -1), (I64_MIN + 1, -1), (-I64_MAX, -1), (I64_MAX, 1), (I64_MIN, I64_MIN), (rng.randrange(I64_MIN, 0), -1)))
    else:
        a, b = rng.choice(((I64_MIN, 1), (I64_MIN, 2), (I64_MAX, -1), (I64_MAX, I64_MIN), (rng.randrange(I64_MIN, I64_MAX), rng.choice((-1, 2, -2, 7, -7))),
                           (rng.randrange(-100, 100), rng.choice((-9, -3, -1, 1, 3, 9)))))  # fmt: skip
    return b"CALC:" + operand(a, rng) + op.encode() + operand(b, rng)


def edge_sweep(rng):
    """One edge CALC for every operator and direction, in a random order."""
    sweep = [edge_calc(rng, op, upward) for op in "+-*/%" for upward in (True, False)]
    rng.shuffle(sweep)
    return sweep


def range_edge_calc(rng):
    """An operand at the edge of int64, or past it (out of range comes before DIVZERO)."""
    edge = rng.choice((I64_MAX, I64_MAX + 1, I64_MIN, I64_MIN - 1, 2**64, 10**19, -(10**19), 10**25))
    other = rng.choice((0, 1, -1, 2, rng.randrange(-1000, 1000)))
    a, b = (edge, other) if rng.random() < 0.6 else (other, edge)
    return b"CALC:" + operand(a, rng) + rng.choice("+-*/%").encode() + operand(b, rng)


def plain_calc(rng):
    magnitude = rng.choice((10, 1000, 10**9, 10**18))
    a, b = rng.randrange(-magnitude, magnitude), rng.randrange(-magnitude, magnitude)
    return b"CALC:" + operand(a, rng) + rng.choice("+-*/%").encode() + operand(b, rng)


MALFORMED_CALC = [b"", b"3", b"3+", b"+3+4", b"3 + 4", b"3+4+5", b"3^4", b"--3+4", b"3+4\x00", b"3++4", b"3+-", b"a+b", b"3+4 ",
                  b" 3+4", b"1/0x", b"3*-", b"-", b"0x10+1", b"1e3+1", b"3:4", b"99999999999999999999/x", b"1,5+1"]  # fmt: skip


def wp1_request(rng):
    """One WP/1 frame's line (without its ending): valid, malformed or at an edge."""
    roll = rng.random()
    if roll < 0.22:
        return edge_calc(rng)
    if roll < 0.32:
        return range_edge_calc(rng)
    if roll < 0.45:
        return plain_calc(rng)
    if roll < 0.52:
        return b"CALC:" + rng.choice(MALFORMED_CALC)
    if roll < 0.62:
        return b"PING:" + some_bytes(rng, length(rng, 200, (0, 1)))
    if roll < 0.66:
        return sized_ping(rng)
    if roll < 0.75:
        return junk(rng)
    if roll < 0.80:
        return b"CALC:" + operand(rng.randrange(-50, 50), rng) + rng.choice("/%").encode() + rng.choice((b"0", b"-0", b"00"))
    if roll < 0.84:
        return too_long(rng)
    return b"PING:" + some_bytes(rng, length(rng, 40), special=0.5)


def sized_ping(rng):
    """A PING whose frame is 510 to 513 bytes long with a "\\n" ending (512: the longest)."""
    return b"PING:" + some_bytes(rng, rng.choice((504, 505, 506, 507)), special=0.05)


def too_long(rng):
    """A line of 512 bytes or more (ERROR:TOOLONG once, the rest dropped)."""
    return rng.choice((b"PING:", b"CALC:", b"MSG:", b"")) + some_bytes(rng, rng.choice((507, 508, 511, 600, 1500, 3000)), special=0.05)


def junk(rng):
    """A line that is not a well-formed frame, or a frame of no known keyword."""
    keyword = bytes(rng.randrange(65, 91) for _ in range(rng.choice((1, 2, 5, 10, 11, 12))))
    return rng.choice((
        keyword + b":" + some_bytes(rng, length(rng, 30)),  # UNKNOWN (1 to 10 letters) or SYNTAX (11, 12)
        b"", b":x", b"ping:x", b"PING", b"CALC", b" PING:x", b"PI NG:x", b"CA1C:1+1", b"QUITS:", b"pInG:",
        some_bytes(rng, length(rng, 40), special=0.6),
    ))  # fmt: skip


def cuts(rng, data):
    """Where data is cut into segments: nowhere, anywhere, or next to a "\\n"
    or a "\\r" (a segment that ends a frame exactly, or cuts its ending)."""
    roll = rng.random()
    if roll < 0.35 or len(data) < 2:
        return ()
    if roll < 0.45 and len(data) <= 24:
        return tuple(range(1, len(data)))  # byte by byte
    near = [i + d for i, byte in enumerate(data) if byte in (10, 13) for d in (0, 1)]
    places = [p for p in near if 0 < p < len(data)] if roll < 0.7 and near else list(range(1, len(data)))
    return tuple(sorted(set(rng.sample(places, min(len(places), rng.randint(1, 5))))))


def send(rng, client, items):
    data = b"".join(items)
    return Act("send", client, tuple(items), cuts(rng, data))


# === 05 and 06: one client after another =======================================


def echo_line(rng):
    if rng.random() < 0.06:
        return some_bytes(rng, rng.choice((510, 511, 512, 513, 600, 1500)), special=0.05)
    return some_bytes(rng, length(rng, 120, (0, 1, 2)), special=0.3)


def sequential(rng, request, quits, extra=()):
    """One to three clients, one after another: each sends its requests in
    batches (one by one or pipelined, cut anywhere, a frame sometimes split
    across two sends), then leaves: it closes, resets (sometimes mid-frame),
    half-closes, or (WP/1) says QUIT; the next one sometimes connects and
    sends before the one before has left (it waits in the backlog)."""
    acts = []
    count = rng.randint(1, 3)
    sweeper = rng.randint(1, count)
    for client in range(1, count + 1):
        script = [Act("connect", client)]
        frames = with_extra(rng, [request(rng) + ending(rng) for _ in range(rng.randint(3, 30))], extra if client == sweeper else ())
        lockstep = rng.random() < 0.3
        while frames:
            size = 1 if lockstep else rng.randint(1, 12)
            batch, frames = frames[:size], frames[size:]
            if frames and rng.random() < 0.15:  # a frame split across two sends
                head, tail = split(rng, frames[0])
                batch, frames[0] = batch + [head], tail
            script.append(send(rng, client, batch))
            if lockstep or rng.random() < 0.5:
                script.append(Act("sync", client))
        script += leave(rng, client, request, quits)
        if acts and rng.random() < 0.25:  # connects while the one before is still served
            last = max(i for i, a in enumerate(acts) if a.kind == "send" or a.kind == "connect")
            acts[last + 1 : last + 1] = script[:2]
            script = script[2:]
        acts += script
    return acts


def with_extra(rng, frames, extra):
    """frames with each of extra (lines) put in at a random place."""
    for line in extra:
        frames.insert(rng.randint(0, len(frames)), line + ending(rng))
    return frames


def split(rng, frame):
    at = rng.randrange(1, len(frame)) if len(frame) > 1 else 1
    return frame[:at], frame[at:]


def leave(rng, client, request, quits):
    roll = rng.random()
    if quits and roll < 0.2:
        after = [request(rng) + ending(rng) for _ in range(rng.randint(0, 2))]  # ignored: QUIT ends it
        return [send(rng, client, [b"QUIT:" + some_bytes(rng, length(rng, 10)) + b"\n"] + after), Act("sync", client)]
    if roll < 0.4:
        return [Act("sync", client), Act("close", client)]
    if roll < 0.5:
        return [Act("close", client)]  # without reading its last replies
    if roll < 0.65:
        tail = [send(rng, client, [request(rng)[: rng.randint(1, 8)]])] if rng.random() < 0.6 else []
        return [Act("sync", client)] + tail + [Act("reset", client)]
    if roll < 0.8:
        tail = [send(rng, client, [request(rng) + ending(rng), request(rng)[:6]])] if rng.random() < 0.5 else []
        return tail + [Act("shutdown", client), Act("sync", client)]
    return []  # stays until the end of the session


def echo_session(rng):
    return Plan(0, sequential(rng, echo_line, quits=False))


def wp1_session(rng):
    return Plan(0, sequential(rng, wp1_request, quits=True, extra=edge_sweep(rng)))


# === 08: several clients at once ===============================================


SHORT_FRAMES = (b"\n", b"\r\n", b"x\n", b"A:\n", b"PING:\n", b"CALC:1+1\n", b"CALC:-9223372036854775808*1\n")


def flood(rng, client):
    """A slow reader's episode: it stops reading and asks for replies of more
    than the kernel's buffers hold (300 to 600 KB), in blocks of long PINGs
    and runs of short frames whose replies are longer than they are (13
    bytes of ERROR:SYNTAX for a "\\n"), so your server's queue for it grows
    past 64 KiB (it stops reading that client, SPEC says, or disconnects it),
    wraps or moves, with any read; then it reads again, everything, in order."""
    acts, owed, total = [Act("pause", client)], 0, rng.choice((300, 450, 600)) << 10
    while owed < total:
        block = [b"PING:" + some_bytes(rng, rng.randrange(200, 507), special=0.02) + b"\n" for _ in range(rng.randint(5, 20))]
        kind = rng.choice(SHORT_FRAMES[:4]) if rng.random() < 0.7 else None  # a run of empty lines, say
        burst = [kind or rng.choice(SHORT_FRAMES) for _ in range(rng.randint(300, 1500))]
        acts += [Act("send", client, tuple(block)), send(rng, client, burst)]
        owed += sum(len(wp1.reply(frame.rstrip(b"\r\n"))) + 1 for frame in block + burst)
    return acts + [Act("resume", client), Act("sync", client)]


def concurrent(rng, request, extra=()):
    """Two to five clients at once: each its own script (batches, syncs, a
    frame left half sent while the others act, a slow reader's episode,
    a way to leave), interleaved at random."""
    scripts = {}
    count = rng.randint(2, 5)
    slow = rng.randint(1, count) if rng.random() < 0.5 else None
    sweeper = rng.randint(1, count)
    for client in range(1, count + 1):
        script = [Act("connect", client, slow=client == slow)]
        frames = with_extra(rng, [request(rng) + ending(rng) for _ in range(rng.randint(2, 20))], extra if client == sweeper else ())
        lockstep = rng.random() < 0.3
        while frames:
            size = 1 if lockstep else rng.randint(1, 8)
            batch, frames = frames[:size], frames[size:]
            if frames and rng.random() < 0.3:  # half a frame now, the rest in its next send
                head, frames[0] = split(rng, frames[0])
                batch.append(head)
            script.append(send(rng, client, batch))
            if lockstep or rng.random() < 0.4:
                script.append(Act("sync", client))
        if client == slow:
            at = rng.randint(1, len(script))
            script[at:at] = flood(rng, client)
        scripts[client] = script + leave(rng, client, request, quits=True)
    return interleave(rng, scripts)


def interleave(rng, scripts):
    """One list of acts from each client's own, in a random interleaving
    that keeps each client's order."""
    queues = {c: list(s) for c, s in scripts.items()}
    acts = []
    while queues:
        client = rng.choice(sorted(queues))
        take = rng.randint(1, 3)
        acts += queues[client][:take]
        del queues[client][:take]
        if not queues[client]:
            del queues[client]
    return acts


def wp1_concurrent_session(rng):
    return Plan(0, concurrent(rng, wp1_request, extra=edge_sweep(rng)))


# === 09: the chat room =========================================================


def chat_session(rng):
    """A room of two to six clients: they come and take nicks (free, taken,
    bad), talk (MSG, WHO, PING, malformed lines), sometimes several at once,
    sometimes while one stops reading for a while (under 64 KiB), and leave
    in every way (QUIT, close, reset mid-frame, half-close), the others
    asking WHO: then; newcomers take the free nicks again."""
    room, acts, clients, named, freed = chat.Room(), [], [], {}, []
    most, number, paused = rng.randint(2, 6), 0, None
    state = {"owed_paused": 0}

    def frame_for(client, stable=False, nick=False):
        roll = 0.0 if nick else rng.random()
        if client not in named and not stable and roll < 0.55:
            free = [n for n in NICKS if n not in named.values()]
            again = [n for n in freed if n not in named.values()]  # the nick of one who has left
            name = rng.choice(again) if again and rng.random() < 0.5 else rng.choice(free or NICKS)
            return b"NICK:" + (name if rng.random() < 0.8 else rng.choice(BAD_NICKS))
        if roll < 0.15:
            return b"NICK:" + rng.choice(BAD_NICKS + list(named.values()) + NICKS[:3])  # errors (or a nick, when allowed)
        if roll < 0.6:
            text = some_bytes(rng, length(rng, 507, (0, 1, 505, 506, 507)), special=0.2)
            return b"MSG:" + text
        if roll < 0.72:
            return b"WHO:" + some_bytes(rng, length(rng, 10))
        if roll < 0.8:
            return b"PING:" + some_bytes(rng, length(rng, 60))
        if roll < 0.9:
            return junk(rng) if rng.random() < 0.7 else b"CALC:1+1"
        return too_long(rng) if rng.random() < 0.3 else b"MSG:" + some_bytes(rng, length(rng, 40))

    def batch(client, stable=False, nick=False):
        frames = []
        for i in range(rng.randint(1, 6)):
            line = frame_for(client, stable, nick and i == 0)
            if stable and line.startswith(b"NICK:") and client not in named and chat.NICK.fullmatch(line[5:]) and line[5:] not in named.values():
                line = b"WHO:"
            frames.append(line + ending(rng))
        for frame in frames:  # the generator follows the room, to choose what comes next
            for line in wp1.Framer().feed(frame):
                if line is None:
                    continue
                out = room.frame(client, line)
                if client in room.nicks:
                    named[client] = room.nicks[client]
                if paused is not None:
                    state["owed_paused"] += sum(len(t) + 1 for r, t in out if r == paused)
                if line.startswith(b"QUIT:"):  # what follows it is ignored (sometimes sent all the same)
                    return frames[: frames.index(frame) + 1 + rng.choice((0, 0, 1, 2))], True
        return frames, False

    def gone(client):
        clients.remove(client)
        if client in named:
            freed.append(named.pop(client))

    for _ in range(rng.randint(2, most)):  # the room fills
        number += 1
        clients.append(number)
        frames, quit = batch(number, nick=True)
        acts += [Act("connect", number), send(rng, number, frames), Act("settle")]
        if quit:
            gone(number)
    for turn in range(rng.randint(6, 16)):
        roll = rng.random()
        live = [c for c in clients if c != paused]
        if (roll < 0.15 or not clients) and number < most:
            number += 1
            clients.append(number)
            acts.append(Act("connect", number))
        elif roll < 0.5 and live:
            client = rng.choice(live)
            frames, quit = batch(client)
            if rng.random() < 0.3 and len(frames) > 1:  # one by one
                for frame in frames:
                    acts += [send(rng, client, [frame]), Act("sync", client)]
            else:
                acts.append(send(rng, client, frames))
            if quit:
                gone(client)
        elif roll < 0.65 and len(live) >= 2:
            talkers = rng.sample(live, rng.randint(2, min(3, len(live))))
            pieces = {}
            for client in talkers:
                frames, _ = batch(client, stable=True)
                data = b"".join(frames)
                cut = sorted(set(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 3))))) if len(data) > 1 else []
                pieces[client] = [data[a:b] for a, b in zip([0] + cut, cut + [len(data)])]
            while pieces:  # their segments interleaved
                client = rng.choice(sorted(pieces))
                acts.append(Act("send", client, (pieces[client].pop(0),)))
                if not pieces[client]:
                    del pieces[client]
        elif roll < 0.85 and live:
            client = rng.choice(live)
            how = rng.choice(("close", "reset", "reset", "shutdown", "quit"))
            if how == "quit":
                acts += [send(rng, client, [b"QUIT:" + some_bytes(rng, length(rng, 8)) + ending(rng)]), Act("sync", client)]
            else:
                if how == "reset" and rng.random() < 0.5:
                    acts.append(Act("send", client, (b"MSG:half a fra",)))
                acts.append(Act(how, client))
            room.leave(client)
            gone(client)
            asker = rng.choice(clients) if clients and rng.random() < 0.6 else None
            if asker is not None and asker != paused:  # who is left?
                acts += [Act("settle"), Act("send", asker, (b"WHO:\n",)), Act("sync", asker)]
        elif paused is None and len([c for c in live if c in named]) >= 2:
            paused = rng.choice([c for c in live if c in named])
            state["owed_paused"] = 0
            acts.append(Act("pause", paused))
            talkers = [c for c in live if c != paused and c in named]
            while state["owed_paused"] < rng.choice((4, 16, 40)) << 10:
                client = rng.choice(talkers)
                frames = [b"MSG:" + some_bytes(rng, rng.randrange(100, 500), special=0.05) + b"\n" for _ in range(rng.randint(5, 30))]
                for frame in frames:
                    room.frame(client, frame[:-1])
                    state["owed_paused"] += len(frame) + len(named[client]) + 1
                acts.append(Act("send", client, tuple(frames)))
        elif paused is not None:
            acts.append(Act("resume", paused))
            paused = None
        if rng.random() < 0.5:
            acts.append(Act("settle"))
    return Plan(0, acts)


# === The models, seen as streams of bytes ======================================


def cause(client, line, number):
    if line is None:
        return f"c{client} a line of 512 bytes or more without '\\n'  (request {number} of c{client})"
    return f"c{client} {show(line + NL)}  (request {number} of c{client})"


class Stream:
    """What the protocols below share: a Framer per client, the requests
    counted, QUIT and half-close remembered."""

    name = "the model"
    shared = False
    one_at_a_time = False
    drop_after = None
    pause_limit = None

    def __init__(self):
        self.framers, self.counts, self.done, self.closing = {}, {}, set(), set()

    def connect(self, client):
        self.framers[client] = wp1.Framer()
        self.counts[client] = 0

    def frames(self, client, data):
        """(line or None, its cause) of each frame data completes; none after QUIT."""
        for line in self.framers[client].feed(data):
            if client in self.done:
                return
            self.counts[client] += 1
            yield line, cause(client, line, self.counts[client])

    def gone(self, client, how):
        if how == "shutdown":
            self.closing.add(client)
        return []

    def closes(self, client):
        return client in self.closing

    def about(self, line):
        return None

    def nick(self, client):
        """The nick client holds in the model (09), or None."""
        return None

    def answer(self, line):
        """The line owed for a frame's line alone, whatever came before (None:
        it depends on the session, as in the chat)."""
        return None


class Echo(Stream):
    """05's line-echo: each line back as read_line gave it, then "\\n"."""

    name = "the line echo model"
    one_at_a_time = True

    def send(self, client, data):
        return [Owed(client, b"ERROR:TOOLONG" if line is None else self.answer(line), None, why, line, self.counts[client]) for line, why in self.frames(client, data)]

    def answer(self, line):
        return line[:-1] if line.endswith(b"\r") else line


class Wp1(Stream):
    """06's WP/1: grader/wp1.py answers each frame; BYE: then the close."""

    name = "the WP/1 model"
    one_at_a_time = True

    def send(self, client, data):
        owed = []
        for line, why in self.frames(client, data):
            reply = b"ERROR:TOOLONG" if line is None else self.answer(line)
            owed.append(Owed(client, reply, None, why, line, self.counts[client]))
            if reply == b"BYE:":
                self.done.add(client)
                self.closing.add(client)
        return owed


    def answer(self, line):
        return wp1.reply(line)


class Wp1Concurrent(Wp1):
    """08: the same replies, many clients at once; one that does not read may be disconnected past 64 KiB."""

    one_at_a_time = False
    drop_after = OUT_LIMIT


class Chat(Stream):
    """09's room: grader/chat.py; what each frame sends, to whom."""

    name = "the chat room model"
    shared = True
    witness = b"NICK:grader\n"  # the grader's own client, in every room (the generator never takes that nick)
    pause_limit = OUT_LIMIT * 3 // 4  # a client that does not read must be dropped past 64 KiB: the grader stays below

    def __init__(self):
        super().__init__()
        self.room = chat.Room()

    def send(self, client, data):
        owed = []
        for line, why in self.frames(client, data):
            out = self.room.toolong(client) if line is None else self.room.frame(client, line)
            owed += [Owed(receiver, text, None, why, line, self.counts[client]) if receiver == client else Owed(receiver, text, chat.about(text), why, line)
                     for receiver, text in out]  # fmt: skip
            if out and out[0] == (client, b"BYE:"):
                self.done.add(client)
                self.closing.add(client)
        return owed

    def gone(self, client, how):
        super().gone(client, how)
        if client in self.done:
            return []
        return [Owed(receiver, text, chat.about(text), f"c{client} left ({how})") for receiver, text in self.room.leave(client)]

    def about(self, line):
        return chat.about(line)

    def nick(self, client):
        return self.room.nicks.get(client)

    def changes(self, client, data):
        """Would data change who holds a nick? (Tried on a copy of the room.)"""
        room, framer = self.room.copy(), wp1.Framer()
        framer.held, framer.dropping = self.framers[client].held, self.framers[client].dropping
        before = room.names()
        for line in framer.feed(data):
            if line is not None and client not in self.done:
                room.frame(client, line)
        return room.names() != before



# === 07: the grader as the server ==============================================

PONG = re.compile(rb"pong \d+(?:\.\d+)? ms")
NEAR_PING = [b"ping ", b" ping", b"pings", b"PING", b"Ping", b"ping1", b"pin", b"pingping", b"ping:"]


class CalcClient:
    """07's calc: the frame each typed line sends, the reply to it, and the line printed."""

    name = "the WP/1 model"

    def frame(self, line):
        if not line:
            return None
        return b"PING:" if line == b"ping" else b"CALC:" + line

    def reply(self, frame):
        return b"PONG:" + frame[5:] if frame.startswith(b"PING:") else wp1.reply(frame)

    def printed(self, reply):
        if reply.startswith(b"PONG:"):
            return PONG
        if reply.startswith(b"ERROR:"):
            return re.compile(re.escape(b"error: " + reply[6:]))
        return re.compile(re.escape(reply[5:]))

    def literal(self, pattern):
        """The line pattern matches, without its "\\n" (None for a pong: its time varies)."""
        return None if pattern is PONG else re.sub(rb"\\(.)", rb"\1", pattern.pattern)

    def shown(self, pattern):
        return '"pong <milliseconds> ms\\n"' if pattern is PONG else show(self.literal(pattern) + NL)


def typed_line(rng):
    """A line as a user types it: a calculation (at an edge, plain or
    malformed), ping or something close to it, an empty line, spaces."""
    roll = rng.random()
    if roll < 0.45:
        return rng.choice((edge_calc, range_edge_calc, plain_calc))(rng)[5:]
    if roll < 0.55:
        return rng.choice(MALFORMED_CALC).replace(b"\x00", b"")
    if roll < 0.68:
        return b"ping"
    if roll < 0.76:
        return rng.choice(NEAR_PING)
    if roll < 0.86:
        return b""
    if roll < 0.9:
        return b" " * rng.randint(1, 3)
    if roll < 0.93:
        return b"1+" + b"0" * rng.choice((502, 503, 504))  # a frame of 510 to 512 bytes: CALC:1+000...\n
    return bytes(rng.randrange(32, 127) for _ in range(rng.randint(1, 30)))


def calc_client_session(rng):
    """Lines typed in groups, some at once, some after the replies before are
    printed; replies held back and sent in batches, cut anywhere; the end of
    input (or, sometimes, the server closing first)."""
    lines = [typed_line(rng) for _ in range(rng.randint(4, 40))]
    acts = []
    while lines:
        size = rng.randint(1, 12)
        acts.append(Act("type", items=tuple(lines[:size]), wait=rng.random() < 0.5))
        lines = lines[size:]
    acts.append(Act("hangup") if rng.random() < 0.1 else Act("end"))
    options = {"hold": rng.choice((1, 1, 2, 3, 5, 8, 20, 40)), "cuts": rng.choice((0, 0, 1, 2, 4, 8))}
    return Plan(0, acts, options)


# === Shrinking: smaller requests ===============================================


class Smaller(Simplify):
    """Smaller versions of a request: a plain "\\n" ending, a shorter argument."""

    def item(self, item):
        out = []
        if item.endswith(b"\r\n"):
            out.append(item[:-2] + b"\n")
        head, colon, arg = item.partition(b":")
        body = arg.rstrip(b"\r\n")
        if colon and len(body) > 8 and not head.startswith(b"CALC"):
            out.append(head + b":" + body[: len(body) // 2] + item[len(head) + 1 + len(body) :])
        return out

    def options(self, options):
        return [dict(options, **{k: v}) for k, v in (("hold", 1), ("cuts", 0)) if options.get(k) not in (None, v)]


# === Likely causes =============================================================
#
# A failed session's evidence (the line due, the line that came, the request
# it answers: Broken.raw()) goes to the engine's diagnoses first
# (grader/diagnoses.py): a WP/1 reply a known mistake reproduces (strtol's
# '+', wrapped values, errors in the wrong order, a kept '\r'), bytes cut at
# a NUL, WHO unsorted, a MSG back to its sender, a death by a signal get the
# cause a fixed check's failure gets; a reply to the end of a frame alone,
# its start lost (players.Runner.lost_head), is a diagnosis's too
# (lost_frame_head, from Broken.facts()). What only a session shows (a queue
# that breaks behind a slow reader, a line queued and never sent, two
# clients' bytes mixed, every '\r' stripped) is named below, as the check's
# own hint, where no diagnosis names a cause; where nothing points to one
# cause, the hint says what the session saw, or nothing.

HINT_OVERFLOW = ("check each operation for overflow in both directions, before computing: a + b past INT64_MAX or "
                 "below INT64_MIN, a - b both ways, a * b both ways, INT64_MIN / -1 (__builtin_add_overflow and its kin do it)")  # fmt: skip
HINT_TOOLONG = "ERROR:TOOLONG as soon as 512 bytes are held without a '\\n' (a '\\r' counts), once; then drop the rest of that line"
HINT_CR = "only the one '\\r' just before the '\\n' belongs to the line ending: any other '\\r' is part of the line"
HINT_CUT = "a line came cut short: a buffer too small for the longest line? (MSG:<a 16-byte nick>:<507 bytes> is 529 bytes)"
HINT_QUEUE = ("what a client has not read yet waits in your server: keep all of it, in order, whatever one read adds "
              "(a read of 512 empty lines brings 6.5 KB of replies); check the queue's room, and how it wraps or moves")  # fmt: skip
HINT_PER_SENDER = "queue each line for each receiver in the order it was produced, and send each queue in order"
HINT_PENDING = ("a line queued for a client must go out even if that client does nothing more: after queuing output, "
                "watch that client for POLLOUT (or send at once)")  # fmt: skip
HINT_CLOSE_AT_EOF = "the client half-closed (recv() returns 0, read_line LINE_EOF): send what it is still owed, then close the client's socket"
HINT_CLOSE_AFTER_QUIT = "after QUIT, send BYE: and close the connection"
HINT_ERROR_GOES_ON = 'an ERROR:E reply prints "error: E" on stdout, and the program goes on'
HINT_STREAM = "one recv() may hold several requests, or part of one, and clients interleave: keep each client's bytes apart until its '\\n'"


def likely_cause(broken):
    """The likely cause of a failed session, from what was owed and what came
    (the check's own hint: the diagnoses of grader/diagnoses.py come first)."""
    d = broken.details
    if "typed" in d or "owed" in d:
        return calc_client_cause(broken)
    want, got, request = d.get("want"), d.get("got"), d.get("request")
    if want is not None and got is not None:
        calc = request is not None and request.startswith(b"CALC:")
        if calc and wp1.CALC.fullmatch(request.rstrip(b"\r")[5:]) and b"ERROR:OVERFLOW" in (want, got) and b"CALC:" in (want[:5], got[:5]):
            return HINT_OVERFLOW  # a value where OVERFLOW is due, or the other way round
        if b"TOOLONG" in want + got:
            return HINT_TOOLONG
        if want.replace(b"\r", b"") == got.replace(b"\r", b""):
            return HINT_CR
        if want.startswith(got) and len(got) > 200:
            return HINT_CUT
        if d.get("slow"):
            return HINT_QUEUE
        if d.get("about") is not None and d.get("later"):
            return HINT_PER_SENDER
    if broken.kind == "missing" and want is None:
        return HINT_CLOSE_AFTER_QUIT if d.get("quit") else HINT_CLOSE_AT_EOF
    if broken.kind == "missing" and d.get("about") is not None:
        return HINT_PENDING
    if broken.kind in ("mismatch", "extra") and d.get("slow"):
        return HINT_QUEUE
    if broken.kind == "extra" and d.get("about") is not None:
        return "JOIN, MSG and LEAVE go to the clients with a nick, never to the one they are about"
    if broken.kind in ("mismatch", "extra", "missing"):
        return HINT_STREAM
    if broken.kind == "closed" and d.get("slow"):
        return ("a client that stops reading may be disconnected only once more than 64 KiB of replies wait for it in "
                "your server; until then keep them all, and send them in order once it reads")  # fmt: skip
    if broken.kind == "closed":
        return "an ERROR reply never ends a connection; after a half-close (recv() returns 0), send what is owed, then close"
    return None


def calc_client_cause(broken):
    """07: the likely cause, from the line typed and what the client sent or printed."""
    d = broken.details
    typed, got = d.get("typed"), d.get("got") or b""
    said = d.get("stderr") or b""
    if broken.kind == "died" and (d.get("unprinted") or b"").startswith(b"ERROR:"):
        return HINT_ERROR_GOES_ON  # it ended on an ERROR reply it should have printed
    if broken.kind in ("died", "closed") and (b"answered" in said or b"frame" in said or b"reply" in said) and d.get("owed", 0) > 1:
        return ("your client stopped with replies owed (its stderr, below, says why): one recv() may bring part of a "
                "reply, or several; and the queue of requests in flight must keep every one, in order, however many "
                "the user types before the replies come")  # fmt: skip
    if "reply" in d:
        return 'print the result alone ("7") for CALC:7, "error: E" for ERROR:E, "pong <ms> ms" for the PONG of a ping'
    if typed is None:
        return None
    if got.startswith(b"PING:") and typed != b"ping":
        return "only the line ping, exactly, is the command; any other line L (pings, ping 2, PING) is sent as CALC:L"
    if got == typed or (got.strip() == (b"CALC:" + typed).strip() and got != b"CALC:" + typed):
        return "send each line L as the frame CALC:L, exactly as it was typed, spaces included"
    return None


# === The checks ================================================================


def server(t, protocol):
    """play(plan, within) for a server step: a fresh server per session."""
    return lambda plan, within: Runner(t, protocol(), t.start_server, within).run(plan)


@check("echoes random sessions as the model does: lines cut anywhere, \\r\\n, long lines, clients that leave", weight=CORE)
def echo_sessions(t):
    sessions.run(t, echo_session, server(t, Echo), 12, Smaller(), likely_cause)


@check("answers random WP/1 sessions as the model does: edge values, pipelined, cut anywhere, clients that leave", weight=CORE)
def wp1_sessions(t):
    sessions.run(t, wp1_session, server(t, Wp1), 12, Smaller(), likely_cause)


@check("answers random sessions of several clients at once as the WP/1 model does: interleaved, slow readers, resets", weight=CORE)
def wp1_concurrent_sessions(t):
    sessions.run(t, wp1_concurrent_session, server(t, Wp1Concurrent), 10, Smaller(), likely_cause)


@check("random chat sessions match the model of the room: several clients, interleaved, slow readers, leaves", weight=CORE)
def chat_sessions(t):
    sessions.run(t, chat_session, server(t, Chat), 10, Smaller(), likely_cause)


@check("prints and sends what the WP/1 model says in random sessions: typed lines, replies batched and cut anywhere", weight=CORE)
def calc_client_sessions(t):
    play = lambda plan, within: ClientRunner(t, CalcClient(), within).run(plan)  # noqa: E731
    sessions.run(t, calc_client_session, play, 10, Smaller(), likely_cause, what="sessions")
