"""09-chat-room: WP/1 chat for many clients at once (SPEC, "09-chat-room").

The chat table (NICK, MSG, WHO, QUIT, LEAVE) is probed here, with several
clients of the grader's in one room. PING, SYNTAX, UNKNOWN and TOOLONG are
WP/1's: step 06's probes (wp1_checks) run them, on requests without CALC,
which the chat answers ERROR:UNKNOWN. The concurrency checks are step 08's,
imported as they are at the end of this file (`checks_of` lists every @check
among this module's names, in the order they are bound).
"""

import socket
import time

from ..engine import CORE, CheckFailed, check
from ..text import show
from .. import net, wp1
from . import wp1_checks as wp1c
from . import s08_multi_server as s08
from .s08_multi_server import MIB, start
from . import random_sessions as rs


# WP/1's table without CALC: the chat answers these as calc-server does.
WP1_ROWS = [r for r in wp1c.TABLE if (wp1.split(r) or (b"",))[0] != b"CALC"]

FLOOD_ROUNDS = 4  # requests asked while a client floods: each must be answered within 2 s
HINT_BROADCAST = "queue the line in the output buffer of every other client that has a nick; poll() sends it when each can take it"
HINT_LEAVE = "when a client with a nick leaves (QUIT, recv() returns 0 or fails), send LEAVE:<nick> to every other client with a nick"


# === A room of the grader's clients ==============================================


def member(t, server, name, room=()):
    """A new client that takes the nick name; the clients of room see JOIN."""
    conn = wp1c.connect(t, server)
    conn.name = name
    conn.send(b"NICK:%s\n" % name)
    conn.expect_line(b"OK:" + name)
    with t.hint("after OK:<nick>, send JOIN:<nick> to every other client with a nick"):
        for other in room:
            other.expect_line(b"JOIN:" + name)
    return conn


def room_of(t, server, *names):
    room = []
    for name in names:
        room.append(member(t, server, name, room))
    return room


def expect_silence(conn, within=0.2):
    """Nothing arrives on conn for a while (nothing was owed to it)."""
    got, _ = conn.read_until(lambda p: bool(p), within)
    if got:
        raise CheckFailed(
            f"{conn.name.decode(errors='replace')} received bytes meant for nobody there",
            [("expected", "(nothing)"), ("received", show(got))],
        )


# === WP/1, as in step 06 (without CALC) ===========================================


@check("answers PING, SYNTAX and UNKNOWN rows of WP/1 (CALC is UNKNOWN here)", hint="2")
def wp1_table(t):
    conn = wp1c.table_whole(t, start(t), WP1_ROWS)
    with t.hint("CALC is not part of the chat: answer it ERROR:UNKNOWN"):
        for request in (b"CALC:3+4", b"CALC:1/0", b"CALC:"):
            conn.send(request + b"\n")
            conn.expect_line(b"ERROR:UNKNOWN")


@check("reads requests that arrive byte by byte", hint="2")
def byte_by_byte(t):
    wp1c.table_byte_by_byte(t, start(t), WP1_ROWS)


@check("echoes PING arguments byte for byte, NUL bytes included", hint="2")
def ping_bytes(t):
    wp1c.ping_bytes(t, start(t))


@check("sends ERROR:TOOLONG as soon as 512 bytes are held, then drops the rest of the line", hint="2")
def too_long(t):
    conn = wp1c.connect(t, start(t))
    with t.hint("reply ERROR:TOOLONG as soon as 512 bytes are held without a '\\n', without waiting for the end of the line"):
        conn.send(b"MSG:" + b"A" * 508)
        conn.expect_line(b"ERROR:TOOLONG")
    with t.hint("after ERROR:TOOLONG, drop the bytes through the next '\\n' (once), then answer normally"):
        conn.send(b"B" * 3000 + b"\nPING:after\n")
        conn.expect_line(b"PONG:after")
        stream = b"PING:a\n" + b"D" * 1500 + b"\nPING:b\n"
        conn.send(stream)
        for line in (b"PONG:a", b"ERROR:TOOLONG", b"PONG:b"):
            conn.expect_line(line)
    wp1c.longest_frame_held(t, conn)
    with t.hint("a frame of exactly 512 bytes, its \\r\\n included, is not too long", when=lambda e: e.got_line(b"ERROR:TOOLONG")):
        wp1c.ask(t, conn, b"PING:" + b"E" * 505, ending=b"\r\n")


@check("survives clients that pipeline many requests and close at once (SIGPIPE)", hint="2")
def pipelined_then_gone(t):
    wp1c.pipelined_then_gone(t, start(t))


@check("survives a client that resets mid-frame", hint="2")
def reset_mid_frame(t):
    wp1c.reset_mid_frame(t, start(t))


# === The chat table ===============================================================


@check("NICK: OK:<name> to the sender, JOIN:<name> to the others", hint="1", weight=CORE)
def nick_joins(t):
    server = start(t)
    nameless = wp1c.connect(t, server)
    nameless.name = b"a client without a nick"
    with t.hint("a nick is 1 to 16 characters of A-Z a-z 0-9 _ -, 1 and 16 included: this one is valid", when=lambda e: e.got_line(b"ERROR:BADNICK")):
        room = room_of(t, server, b"ann", b"Bob_2", b"c-3", b"x" * 16, b"z")  # 16 and 1: both ends of a nick's length
    t.log("note", "a nick is case-sensitive: Ann is not ann")
    with t.hint("nicks are case-sensitive: Ann is not ann (compare them with strcmp(), not strcasecmp())", when=lambda e: e.got_line(b"ERROR:NICKTAKEN")):
        room.append(member(t, server, b"Ann", room))
    with t.hint("JOIN goes to the clients that have a nick, no one else"):
        expect_silence(nameless)


@check("NICK errors, in order: HAVENICK, BADNICK, NICKTAKEN", hint="1")
def nick_errors(t):
    server = start(t)
    (ann,) = room_of(t, server, b"ann")
    other = wp1c.connect(t, server)
    with t.hint("a nick is 1 to 16 of A-Z a-z 0-9 _ -: anything else is ERROR:BADNICK"):
        for bad in (b"", b"x" * 17, b"a b", b"a:b", b"a.b", b"caf\xc3\xa9", b"a\x00", b"ann\t"):
            other.send(b"NICK:" + bad + b"\n")
            other.expect_line(b"ERROR:BADNICK")
    with t.hint("a nick someone holds is ERROR:NICKTAKEN (case-sensitive: ann, not Ann)"):
        other.send(b"NICK:ann\n")
        other.expect_line(b"ERROR:NICKTAKEN")
    with t.hint("check HAVENICK first (the sender has a nick), then BADNICK, then NICKTAKEN"):
        for request in (b"NICK:ann", b"NICK:bad nick", b"NICK:zed", b"NICK:"):
            ann.send(request + b"\n")
            ann.expect_line(b"ERROR:HAVENICK")
    expect_silence(ann)


@check("MSG: MSG:<name>:<text> to every other client with a nick, nothing to the sender", hint="1", weight=CORE)
def msg_broadcast(t):
    server = start(t)
    nameless = wp1c.connect(t, server)
    nameless.name = b"a client without a nick"
    with t.hint("MSG before NICK is ERROR:NONICK"):
        nameless.send(b"MSG:hello\n")
        nameless.expect_line(b"ERROR:NONICK")
    room = room_of(t, server, b"ann", b"bob", b"cy")
    with t.hint(HINT_BROADCAST, when=lambda e: e.nothing_came):
        for text in (b"hello", b"", b"a:b:c", b"NICK:x", b"nul\x00byte \xff", b"m" * 507):
            room[0].send(b"MSG:" + text + b"\n")
            for other in room[1:]:
                other.expect_line(b"MSG:ann:" + text)
        room[2].send(b"MSG:back\r\n")
        for other in room[:2]:
            other.expect_line(b"MSG:cy:back")
    with t.hint("a MSG goes to the others, never back to its sender, nor to clients without a nick"):
        expect_silence(room[0])
        expect_silence(nameless)


@check("WHO: every nick, sorted bytewise; asked before NICK too, its argument ignored", hint="1")
def who_sorted(t):
    server = start(t)
    asker = wp1c.connect(t, server)
    with t.hint("WHO needs no nick: a client without one gets the list too", when=lambda e: e.got_line(b"ERROR:NONICK")):
        with t.hint("WHO: with nobody named is WHO: and nothing after the colon", when=lambda e: (e.got or b"").startswith(b"WHO:")):
            asker.send(b"WHO:\n")
            asker.expect_line(b"WHO:")
    names = [b"bob", b"_x", b"Zed", b"-dash", b"ann", b"9lives", b"Ann", b"b"]
    room = room_of(t, server, *names)
    expected = b"WHO:" + b",".join(sorted(names))
    for request in (b"WHO:", b"WHO:ignored argument", b"WHO:\x00"):
        asker.send(request + b"\n")
        line = asker.read_line()
        if line != expected:
            nameless = line.split(b":")[0] in (b"JOIN", b"MSG", b"LEAVE")
            raise CheckFailed(
                "a client without a nick got another line than the WHO reply expected",
                [("sent", show(request + b"\n")), ("expected", show(expected + b"\n")), ("received", show(line + b"\n"))],
                hint="JOIN, MSG and LEAVE go only to clients with a nick; this one has none" if nameless else None,
                expected=expected + b"\n",
                got=line + b"\n",
                conn=asker,
                channel="socket",
            )
        room[3].send(b"WHO:\n")
        room[3].expect_line(b"WHO:" + b",".join(sorted(names)))


@check("QUIT: BYE: and the close to the sender, LEAVE:<name> to the others", hint="1")
def quit_leaves(t):
    server = start(t)
    ann, bob, cy = room_of(t, server, b"ann", b"bob", b"cy")
    bob.send(b"QUIT:see you\nMSG:ignored\nPING:ignored\n")
    with t.hint("after QUIT, send BYE: and close; the frames after it are ignored"):
        bob.expect_line(b"BYE:")
        bob.expect_closed()
    with t.hint(HINT_LEAVE):
        for other in (ann, cy):
            other.expect_line(b"LEAVE:bob")
    with t.hint("once a client has left, its nick is free again and it is out of WHO"):
        ann.send(b"WHO:\n")
        ann.expect_line(b"WHO:ann,cy")
        member(t, server, b"bob", [ann, cy])


@check("a client that closes or resets: LEAVE:<name> to the others, its nick free again", hint="1")
def close_and_reset_leave(t):
    server = start(t)
    ann, bob, cy = room_of(t, server, b"ann", b"bob", b"cy")
    bob.close()
    t.log("note", "bob closed its connection (FIN)")
    with t.hint(HINT_LEAVE):
        ann.expect_line(b"LEAVE:bob")
        cy.expect_line(b"LEAVE:bob")
    cy.send(b"MSG:half a frame")
    time.sleep(0.05)
    cy.reset()
    t.log("note", "cy reset its connection (RST) in the middle of a frame")
    with t.hint(HINT_LEAVE + "; recv() fails with ECONNRESET after a reset"):
        ann.expect_line(b"LEAVE:cy")
    nameless = wp1c.connect(t, server)
    nameless.close()
    t.log("note", "a client without a nick came and went: nobody hears of it")
    with t.hint("once a client has left, its nick is free again"):
        bob2 = member(t, server, b"bob", [ann])
        member(t, server, b"cy", [ann, bob2])
        expect_silence(ann, 0.1)


@check("keeps each sender's messages in order, with several senders at once", hint="2", weight=CORE)
def order_per_sender(t):
    server = start(t)
    count = 300
    room = room_of(t, server, b"a", b"b", b"c", b"listener")
    senders, listener = room[:3], room[3]
    for conn in senders:
        conn.log = lambda *_: None  # three hundred lines each: the summary is logged
        conn.send(b"".join(b"MSG:%s %d\n" % (conn.name, i) for i in range(count)), quiet=True)
    t.log("sent", f'"MSG:<name> <i>\\n" for i = 0..{count - 1}, from a, b and c at once, each in one send')
    listener.log = lambda *_: None
    seen = {conn.name: 0 for conn in senders}
    with t.hint("append each message to each receiver's queue in the order it was read; never reorder a queue"):
        for _ in range(3 * count):
            line = listener.read_line()
            name, _, rest = line.partition(b":")[2].partition(b":")
            expected = b"%s %d" % (name, seen.get(name, 0))
            if not line.startswith(b"MSG:") or name not in seen or rest != expected:
                raise CheckFailed(
                    "listener received a message out of its sender's order",
                    [("expected", show(b"MSG:%s:%s\n" % (name, expected)) + " (or the next line of another sender)"), ("received", show(line + b"\n"))],
                )
            seen[name] += 1
    t.log("received", f"each sender's {count} messages, each sender's in order")


@check("drops a client that does not read once 64 KiB wait for it; the room goes on", hint="2", weight=CORE)
def slow_reader_dropped(t):
    server = start(t)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow = net.Conn(slow, t.log, t.timeout, "slow")
    t.hold(slow.sock)
    slow.sock.settimeout(t.timeout)
    slow.sock.connect(("127.0.0.1", server.port))
    talker, reader = room_of(t, server, b"talker", b"reader")
    slow.send(b"NICK:slow\n")
    slow.expect_line(b"OK:slow")
    for conn in (talker, reader):
        conn.expect_line(b"JOIN:slow")
    t.log("note", "slow has a nick and never reads again")
    talker.log = reader.log = lambda *_: None
    text, batch, sent, left = b"t" * 400, 50, 0, False
    started = time.monotonic()
    with t.hint("a client whose unsent output passes 64 KiB must be disconnected (close it, LEAVE to the others), never waited for"):
        while not left and sent < 16 * MIB:
            talker.send(b"".join(b"MSG:%d %s\n" % (i, text) for i in range(batch)), quiet=True)
            sent += batch * (len(text) + 10)
            for i in range(batch):
                line = reader.read_line(within=t.within(2))
                if line == b"LEAVE:slow":
                    left = True
                    line = reader.read_line(within=t.within(2))
                if line != b"MSG:talker:%d %s" % (i, text):
                    raise CheckFailed("reader missed a message of talker's", [("expected", show(b"MSG:talker:%d ...\n" % i)), ("received", show(line[:60]))])
            if not left and time.monotonic() - started > t.within(3) * 4:
                break
    t.log("sent", f"about {sent >> 10} KiB of MSG from talker; reader read every one")
    if not left:
        raise CheckFailed(
            f"after {sent >> 10} KiB of messages that slow never read, reader had not received LEAVE:slow",
            [("expected", "slow disconnected once 64 KiB wait for it, and LEAVE:slow to the others")],
            hint="count what waits in each client's output queue; past 64 KiB, close that client",
        )
    t.log("received", "LEAVE:slow on reader, among the messages")
    talker.log = reader.log = t.log
    with t.hint(HINT_LEAVE):
        talker.expect_line(b"LEAVE:slow")
    with t.hint("after dropping a slow client the room goes on"):
        talker.send(b"MSG:still here\n")
        reader.expect_line(b"MSG:talker:still here")
        member(t, server, b"slow", [talker, reader])
    with t.hint("close the slow client's connection once it is dropped"):
        slow.sock.settimeout(t.timeout)
        deadline = time.monotonic() + t.timeout
        while time.monotonic() < deadline:
            try:
                if not slow.sock.recv(65536):
                    break
            except OSError:
                break
        else:
            raise CheckFailed("the slow client's connection was still open after it was dropped")


# === Many clients at once ==========================================================


@check("a client that floods pipelined frames starves nobody: one recv() per ready client per turn", hint="2", weight=CORE)
def flood_starves_nobody(t):
    server = start(t)
    other = wp1c.connect(t, server)
    wp1c.ask(t, other, b"PING:before the flood")
    frames = t.scratch / f"flood-{server.port}"
    frames.write_bytes(b"MSG:x\n" * ((4 << 20) // 6))
    said = s08.Crowd(t, server, 1).command(f"flood flooder {frames}", t.timeout)
    if said.get("flooding") != "OK:flooder\n":
        raise CheckFailed("a client that took the nick flooder got something else than OK:flooder", [("received", show(said.get("flooding", "").encode("latin-1")))])
    t.log("note", 'a client (a process of its own) took the nick flooder and sends "MSG:x\\n" again and again without a pause; nobody else has a nick: no one gets them')
    time.sleep(0.3)
    other.timeout = t.within(2)
    try:
        for turn in range(1, FLOOD_ROUNDS + 1):  # several: one round may fall in a moment the flooder waited for a CPU
            wp1c.ask(t, other, b"PING:my turn %d, while the other floods" % turn)
    except CheckFailed as failure:
        got = other.pending
        if not got and not (other.eof or other.error):  # nothing came: it was busy with the flooder
            failure.hint = "one recv() per ready client per turn of the loop, then the next client: a loop that reads one client until EAGAIN serves nobody else while it floods"
        elif got.split(b":")[0] in (b"JOIN", b"MSG", b"LEAVE"):
            failure.hint = "JOIN, MSG and LEAVE go only to clients with a nick; this one has none"
        raise


@check("a client that stalls mid-frame delays nobody else", hint="1", weight=CORE)
def stalled_client(t):
    server = start(t)
    ann, bob = room_of(t, server, b"ann", b"bob")
    ann.send(b"MSG:half a mess")
    t.log("note", "ann sent half a frame, and stalls")
    with t.hint(s08.HINT_BLOCKING):
        bob.timeout = t.within(2)
        bob.send(b"MSG:not waiting\n")
        ann.expect_line(b"MSG:bob:not waiting")
        wp1c.ask(t, bob, b"PING:not waiting")
    ann.send(b"age\n")
    bob.expect_line(b"MSG:ann:half a message")


@check("200 clients chatting at once: every message reaches every other client, in order", hint="2", weight=CORE)
def room_of_200(t):
    server = start(t)
    count, messages = 200, 5
    crowd = s08.Crowd(t, server, count)
    started = time.monotonic()
    said = crowd.command(f"chat {messages} {t.within(10)}", t.within(10))
    t.log("sent", f'"NICK:c<i>\\n" on each of {count} connections (i = 0, 1, ...), then "MSG:c<i> <k>\\n" for k = 0..{messages - 1} on each, in one send')
    if "client" in said:
        i = said["client"]
        server.expect_running(f"with {count} clients chatting")
        got = said["got"].encode("latin-1")
        own = got.startswith(b"MSG:c%d:" % i)  # its own message, back
        raise CheckFailed(
            f"client c{i}: {said['why']}",
            [("expected", said["expected"]), ("received", show(got + b"\n") if got else "(nothing)")],
            hint=f"c{i} received its own MSG back: a MSG goes to every other client with a nick, never back to its sender" if own else HINT_BROADCAST,
        )
    t.log("received", f"on each connection OK:c<i>, then the {messages} messages of each of the {count - 1} others, each sender's in order ({said['lines']} lines in all, {time.monotonic() - started:.1f} s)")
    wp1c.served(t, server)


@check("closes every connection it is done with: descriptors back to the baseline", hint="3")
def gives_back_descriptors(t):
    server = start(t)
    pid = s08.pid_of(t, server)
    baseline = s08.descriptors(pid)
    t.log("note", f"your server holds {baseline} descriptors before any client")
    watcher = member(t, server, b"watcher")
    baseline += 1
    for how in ("QUIT", "close", "reset", "half-close", "close mid-frame"):
        for i in range(10):
            conn = member(t, server, b"u%d" % i, [watcher])
            conn.log = lambda *_: None
            if how == "QUIT":
                conn.send(b"QUIT:\n")
                conn.expect_line(b"BYE:")
            elif how == "reset":
                conn.reset()
            elif how == "half-close":
                conn.send(b"PING:x\n")
                conn.shutdown_write()
                conn.expect_line(b"PONG:x")
            elif how == "close mid-frame":
                conn.send(b"MSG:half")
            if how != "reset":
                conn.close()
            watcher.expect_line(b"LEAVE:u%d" % i)
        deadline = time.monotonic() + t.within(2)
        while s08.descriptors(pid) > baseline and time.monotonic() < deadline:
            time.sleep(0.02)
        now = s08.descriptors(pid)
        if now is None or now > baseline:
            server.expect_running()
            raise CheckFailed(
                f"after 10 clients that left by {how}, your server held {now} descriptors, {now - baseline} more than before them",
                [("expected", f"{baseline} descriptors once they have left")],
                hint="close() a client's socket once it has left (recv() returns 0 or fails), after QUIT, and once its replies are sent",
            )
        t.log("note", f"10 clients left by {how}: LEAVE for each, and your server holds {now} descriptors again")


# Step 08's checks, as they are (bound here, they are this step's checks too).
never_reads = s08.never_reads
many_clients = s08.many_clients
sleeps_when_idle = s08.sleeps_when_idle
out_of_descriptors = s08.out_of_descriptors
exits_on_signals = s08.exits_on_signals
every_address = s08.every_address
restarts_same_port = s08.restarts_same_port
edge_ports = s08.edge_ports
port_in_use = s08.port_in_use
bad_arguments = s08.bad_arguments


@check("memory check (valgrind)", valgrind=True, weight=CORE)
def memory(t):
    server = start(t)
    room = room_of(t, server, b"ann", b"bob", b"cy", b"dee")
    room[0].send(b"MSG:hi\nWHO:\nNICK:x\nPING:p\n" + b"X" * 700 + b"\nCALC:1+1\n")
    for other in room[1:]:
        other.expect_line(b"MSG:ann:hi")
    for line in (b"WHO:ann,bob,cy,dee", b"ERROR:HAVENICK", b"PONG:p", b"ERROR:TOOLONG", b"ERROR:UNKNOWN"):
        room[0].expect_line(line)
    room[1].send(b"QUIT:\n")
    room[1].expect_line(b"BYE:")
    room[2].send(b"MSG:half")
    room[2].reset()
    leaves = sorted(room[0].read_line() for _ in range(2))  # in either order
    if leaves != [b"LEAVE:bob", b"LEAVE:cy"]:
        raise CheckFailed("ann did not get LEAVE:bob and LEAVE:cy", [("received", show(b"\n".join(leaves) + b"\n"))], hint=HINT_LEAVE)
    s08.expect_clean_memory_at_exit(t, server)


# Random sessions against the protocol model (grader/checks/random_sessions.py).
random_sessions = rs.chat_sessions
