#!/usr/bin/env python3
# step: 09-chat-room
# bug: none
# fails: none
"""A WP/1 chat room in Python with selectors (epoll underneath): it must get
full marks. Written differently from the reference: the room is a dict of
nicks (WHO sorts it each time), output waits in a bytearray per client, every
client touched in a round is flushed and re-armed once at the end of the
round, and clients to drop are gathered in a set and dropped there (a drop
sends LEAVE, which may push another slow reader past the limit: again then).
SIGINT/SIGTERM become an exception that unwinds the loop.
"""

import errno
import re
import selectors
import signal
import socket
import sys
import time

FRAME_MAX = 512
OUT_LIMIT = 64 * 1024  # unsent output past this: the client is dropped
READ_LIMIT = OUT_LIMIT // 2  # unsent output past this: its requests wait
KEYWORD = re.compile(rb"[A-Z]{1,10}")
NICK = re.compile(rb"[A-Za-z0-9_-]{1,16}")


class Stop(Exception):
    pass


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.inbuf = bytearray()
        self.out = bytearray()
        self.nick = None
        self.skipping = False
        self.closing = False  # QUIT or end of input: read no more, close once sent
        self.held = False  # whole frames wait in inbuf for its output to drain
        self.events = selectors.EVENT_READ


class Room:
    def __init__(self, port):
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.listener.bind(("0.0.0.0", port))
        except OSError as e:
            print(f"chat-room: bind port {port}: {e.strerror}", file=sys.stderr)
            sys.exit(1)
        self.listener.listen(4096)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.paused_until = None
        self.nicks = {}  # nick -> Client
        self.touched = set()  # clients with new output or a new state this round
        self.doomed = set()  # clients to drop at the end of the round

    # --- output ---

    def send(self, client, data):
        if client in self.doomed:
            return
        if len(client.out) + len(data) > OUT_LIMIT:
            self.flush(client)
            if len(client.out) + len(data) > OUT_LIMIT:
                self.doomed.add(client)
                return
        client.out += data
        self.touched.add(client)

    def flush(self, client):
        if not client.out or client in self.doomed:
            return
        try:
            n = client.sock.send(client.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.doomed.add(client)
            return
        del client.out[:n]

    def broadcast(self, data, but):
        for other in self.nicks.values():
            if other is not but:
                self.send(other, data)

    # --- the chat table ---

    def leave(self, client):
        if client.nick is not None:
            del self.nicks[client.nick]
            self.broadcast(b"LEAVE:" + client.nick + b"\n", client)
            client.nick = None

    def frame(self, client, line):
        keyword, colon, arg = line.partition(b":")
        if not colon or not KEYWORD.fullmatch(keyword):
            return self.send(client, b"ERROR:SYNTAX\n")
        if keyword == b"PING":
            self.send(client, b"PONG:" + arg + b"\n")
        elif keyword == b"NICK":
            if client.nick is not None:
                self.send(client, b"ERROR:HAVENICK\n")
            elif not NICK.fullmatch(arg):
                self.send(client, b"ERROR:BADNICK\n")
            elif arg in self.nicks:
                self.send(client, b"ERROR:NICKTAKEN\n")
            else:
                self.send(client, b"OK:" + arg + b"\n")
                self.broadcast(b"JOIN:" + arg + b"\n", client)
                client.nick = arg
                self.nicks[arg] = client
        elif keyword == b"MSG":
            if client.nick is None:
                self.send(client, b"ERROR:NONICK\n")
            else:
                self.broadcast(b"MSG:" + client.nick + b":" + arg + b"\n", client)
        elif keyword == b"WHO":
            self.send(client, b"WHO:" + b",".join(sorted(self.nicks)) + b"\n")
        elif keyword == b"QUIT":
            self.send(client, b"BYE:\n")
            self.leave(client)
            client.closing = True
        else:
            self.send(client, b"ERROR:UNKNOWN\n")

    # --- input ---

    def take(self, client, data):
        """Answers the whole frames of data, as long as the client's own output
        leaves room; the rest waits in inbuf for the next round."""
        client.inbuf += data
        client.held = False
        while not client.closing and client not in self.doomed:
            if len(client.out) > READ_LIMIT:
                client.held = True  # back-pressure: answered once its output drains
                return
            nl = client.inbuf.find(b"\n")
            if nl < 0:
                break
            line = bytes(client.inbuf[:nl])
            del client.inbuf[: nl + 1]
            if client.skipping:
                client.skipping = False
            elif nl + 1 > FRAME_MAX:  # 512 bytes were held without '\n'
                self.send(client, b"ERROR:TOOLONG\n")
            else:
                self.frame(client, line[:-1] if line.endswith(b"\r") else line)
        if client.closing:
            client.inbuf.clear()
        elif not client.skipping and len(client.inbuf) >= FRAME_MAX:
            self.send(client, b"ERROR:TOOLONG\n")
            client.skipping = True
        if client.skipping:
            client.inbuf.clear()

    def receive(self, client):
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.doomed.add(client)
            return
        if not data:
            client.closing = True
            client.inbuf.clear()
            self.leave(client)
        else:
            self.take(client, data)
        self.touched.add(client)

    # --- clients ---

    def accept(self):
        for _ in range(256):
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.sel.unregister(self.listener)
                    self.paused_until = time.monotonic() + 0.5
                    return
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sel.register(sock, selectors.EVENT_READ, Client(sock))

    def drop(self, client):
        self.doomed.discard(client)
        self.touched.discard(client)
        self.leave(client)
        self.sel.unregister(client.sock)
        client.sock.close()

    def end_of_round(self):
        """Flush what is new, take the frames that waited for output to drain,
        drop who must go, close who is done, and tell epoll what to watch."""
        while self.touched or self.doomed:
            while self.doomed:
                self.drop(self.doomed.pop())
            touched, self.touched = self.touched, set()
            for client in touched:
                if client in self.doomed:
                    continue
                self.flush(client)
                if client.held and not client.closing and len(client.out) <= READ_LIMIT:
                    self.take(client, b"")
                    self.touched.add(client)
                    continue
                if client.closing and not client.out:
                    self.doomed.add(client)
                    continue
                events = selectors.EVENT_WRITE if client.out else 0
                if not client.closing and not client.held and len(client.out) <= READ_LIMIT:
                    events |= selectors.EVENT_READ
                if events != client.events:
                    client.events = events
                    self.sel.modify(client.sock, events, client)

    def run(self):
        while True:
            timeout = None
            if self.paused_until is not None:
                timeout = max(0, self.paused_until - time.monotonic())
            for key, mask in self.sel.select(timeout):
                client = key.data
                if client is None:
                    self.accept()
                    continue
                if client in self.doomed:
                    continue
                if mask & selectors.EVENT_READ:
                    self.receive(client)
                if mask & selectors.EVENT_WRITE:
                    self.flush(client)
                    self.touched.add(client)
            self.end_of_round()
            if self.paused_until is not None and time.monotonic() >= self.paused_until:
                self.paused_until = None
                self.sel.register(self.listener, selectors.EVENT_READ, None)

    def close(self):
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


def stop(sig, frame):
    raise Stop()


def main():
    if len(sys.argv) != 2 or not re.fullmatch(r"[0-9]+", sys.argv[1]) or not 1 <= int(sys.argv[1]) <= 65535:
        print("usage: chat-room PORT", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    room = Room(int(sys.argv[1]))
    try:
        room.run()
    except Stop:
        pass
    room.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
