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
    close            closes every connection: {"closed": COUNT}

End of stdin (the check is over): it closes everything and exits.
"""

import json
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


def main():
    port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    socks = connect_all(port, count, seconds)
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "ask":
            ask(socks[: int(words[1])], float(words[2]))
        elif words and words[0] == "close":
            for sock in socks:
                sock.close()
            say(closed=len(socks))
            socks = []
    for sock in socks:
        sock.close()


if __name__ == "__main__":
    main()
