"""Many client connections, held by a process of their own.

    python3 crowd.py PORT COUNT SECONDS

The grader's own process must not hold thousands of sockets: its other checks
(run in threads beside this one) would get descriptors above 1024, which
select() cannot take. So a check that needs a crowd starts this script: it
raises its own open-file limit, opens COUNT connections to 127.0.0.1:PORT
within SECONDS, and answers commands, one line each way (JSON answers):

    (at start)       {"connected": COUNT}  or  {"connected": i, "error": "..."}
    ask N SECONDS    "PING:i\\n" on the first N connections, then every reply:
                     {"answered": N}  or  {"client": i, "got": "...", "why": "..."} (the first wrong)
    chat K SECONDS   a chat room (step 09): connection i takes the nick c<i>
                     (NICK on every connection at once, then every OK), then
                     each sends K messages "MSG:c<i> <k>" in one send; every
                     client must get each other's K messages, in each sender's
                     order, and none of its own (JOIN lines may come anywhere):
                     {"chatted": COUNT, "lines": L}  or
                     {"client": i, "got": "...", "expected": "...", "why": "..."}
    flood NICK FILE  on the first connection: NICK:<NICK>, its reply, then
                     {"flooding": "<the reply>"} and the bytes of FILE again and
                     again, for ever (sendfile() on a blocking socket: the
                     kernel keeps the connection full, whatever the grader's
                     threads do); the check ends it by killing this process
    close            closes every connection: {"closed": COUNT}

End of stdin (the check is over): it closes everything and exits.
"""

import json
import os
import resource
import select
import socket
import sys
import time


def say(**answer):
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def connect_all(port, count, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, deadline = [], time.monotonic() + seconds
    for i in range(count):
        sock = socket.socket()
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            sock.connect(("127.0.0.1", port))
        except OSError as e:
            sock.close()
            say(connected=i, error=str(e.strerror or e))
            return socks
        socks.append(sock)
    say(connected=count)
    return socks


def ask(socks, seconds):
    """Each socket sends PING:i; wait for every PONG:i, or the deadline."""
    for i, sock in enumerate(socks):
        sock.sendall(b"PING:%d\n" % i)
    waiting = {sock.fileno(): [i, sock, b""] for i, sock in enumerate(socks)}
    poller = select.poll()
    for fd in waiting:
        poller.register(fd, select.POLLIN)
    deadline, first = time.monotonic() + seconds, None
    while waiting and time.monotonic() < deadline and first is None:
        for fd, _ in poller.poll(max(0, deadline - time.monotonic()) * 1000):
            i, sock, got = entry = waiting[fd]
            try:
                chunk = sock.recv(4096)
                why = "" if chunk else "the connection was closed before a reply came whole"
            except OSError as e:
                chunk, why = b"", f"the connection was reset ({e.strerror})"
            entry[2] = got = got + chunk
            if why or got.endswith(b"\n"):
                poller.unregister(fd)
                del waiting[fd]
                if got != b"PONG:%d\n" % i:
                    first = first or (i, got, why or "a wrong reply")
    if first is None and waiting:
        i, _, got = min(waiting.values(), key=lambda e: e[0])
        first = (i, got, f"no reply within {seconds:g} s ({len(waiting)} of the {len(socks)} clients had none)")
    if first is None:
        say(answered=len(socks))
    else:
        say(client=first[0], got=first[1].decode("latin-1"), why=first[2])


class Lines:
    """Each socket's complete lines, read with poll() until one deadline."""

    def __init__(self, socks, seconds):
        self.socks, self.rest = socks, [b""] * len(socks)
        self.index = {sock.fileno(): i for i, sock in enumerate(socks)}
        self.poller = select.poll()
        for sock in socks:
            self.poller.register(sock, select.POLLIN)
        self.deadline = time.monotonic() + seconds

    def read(self, wanted):
        """Yields (i, line, "") while wanted(i) holds for some i; a connection
        that ends, or the deadline, yields (i, None, why) and stops."""
        waiting = {i for i in range(len(self.socks)) if wanted(i)}
        while waiting:
            left = self.deadline - time.monotonic()
            events = self.poller.poll(left * 1000) if left > 0 else []
            if not events:
                why = f"nothing more came within the deadline ({len(waiting)} of the {len(self.socks)} clients were still waiting)"
                yield min(waiting), None, why
                return
            for fd, _ in events:
                i = self.index[fd]
                try:
                    chunk = self.socks[i].recv(65536)
                    why = "" if chunk else "the server closed the connection"
                except OSError as e:
                    chunk, why = b"", f"the connection was reset ({e.strerror})"
                *lines, self.rest[i] = (self.rest[i] + chunk).split(b"\n")
                for line in lines:
                    yield i, line, ""
                if why:
                    yield i, None, why
                    return
                if not wanted(i):
                    waiting.discard(i)


def chat(socks, count, seconds):
    """The room: NICK c<i> on each connection, then count MSG each; see above."""
    n, lines = len(socks), Lines(socks, seconds)

    def wrong(i, got, expected, why):
        say(client=i, got=(got or b"").decode("latin-1"), expected=expected, why=why)

    for i, sock in enumerate(socks):
        sock.sendall(b"NICK:c%d\n" % i)
    joined = [False] * n
    for i, line, why in lines.read(lambda i: not joined[i]):
        if line is None:
            return wrong(i, b"", "OK:c%d" % i, why)
        if line == b"OK:c%d" % i and not joined[i]:
            joined[i] = True
        elif not line.startswith(b"JOIN:c"):
            return wrong(i, line, "OK:c%d or JOIN:<nick>" % i, "an unexpected line after NICK")
    for i, sock in enumerate(socks):
        sock.sendall(b"".join(b"MSG:c%d %d\n" % (i, k) for k in range(count)))
    seen = [[0] * n for _ in range(n)]
    owed, total = [(n - 1) * count] * n, 0
    for i, line, why in lines.read(lambda i: owed[i] > 0):
        if line is None:
            return wrong(i, b"", f"{owed[i]} more MSG lines", why)
        total += 1
        if line.startswith(b"JOIN:c"):
            continue
        sender, _, text = line[4:].partition(b":")
        j = int(sender[1:]) if line.startswith(b"MSG:c") and sender[1:].isdigit() else -1
        if not 0 <= j < n or j == i:
            return wrong(i, line, "MSG:c<j>:c<j> <k> from another client", "a line that is no other client's message")
        if text != b"c%d %d" % (j, seen[i][j]):
            return wrong(i, line, "MSG:c%d:c%d %d" % (j, j, seen[i][j]), "a message out of its sender's order, or changed")
        seen[i][j] += 1
        owed[i] -= 1
    say(chatted=n, lines=total)


def flood(sock, nick, path):
    """See the module doc: a client that floods, its nick taken first."""
    sock.settimeout(None)
    for option in (32, socket.SO_SNDBUF):  # SO_SNDBUFFORCE (root may pass the system's limit), or as much as it allows
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, 64 << 20)  # a deep reserve: the flood goes on while this process waits for a CPU
            break
        except OSError:
            continue
    sock.sendall(b"NICK:%s\n" % nick.encode())
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        reply += chunk
    say(flooding=reply.decode("latin-1"))
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            while True:
                sent = 0
                while sent < size:
                    sent += os.sendfile(sock.fileno(), f.fileno(), sent, size - sent)
        except OSError:
            pass  # the server closed it: the check says what that means


def main():
    port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    socks = connect_all(port, count, seconds)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "ask":
            ask(socks[: int(words[1])], float(words[2]))
        elif words and words[0] == "chat":
            chat(socks, int(words[1]), float(words[2]))
        elif words and words[0] == "flood":
            flood(socks[0], words[1], words[2])
        elif words and words[0] == "close":
            for sock in socks:
                sock.close()
            say(closed=len(socks))
            socks = []
    for sock in socks:
        sock.close()


if __name__ == "__main__":
    main()
