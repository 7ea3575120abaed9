#!/usr/bin/env python3
# step: 08-multi-server
# bug: none
# fails: none
"""A WP/1 multi-server in Python with selectors (epoll underneath): it must
get full marks. Written differently from the reference: reads 64 KiB at a
time and keeps the bytes in a bytearray, pauses the listener with a deadline
on EMFILE, and turns SIGINT/SIGTERM into an exception that unwinds the loop.
"""

import errno
import re
import selectors
import signal
import socket
import sys
import time

FRAME_MAX = 512
OUT_LIMIT = 64 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FRAME = re.compile(rb"([A-Z]{1,10}):(.*)", re.S)
CALC = re.compile(rb"(-?[0-9]+)([-+*/%])(-?[0-9]+)")


class Stop(Exception):
    pass


def calc(arg):
    m = CALC.fullmatch(arg)
    if not m:
        return b"ERROR:SYNTAX"
    a, op, b = int(m[1]), m[2], int(m[3])
    if not (INT64_MIN <= a <= INT64_MAX and INT64_MIN <= b <= INT64_MAX):
        return b"ERROR:OVERFLOW"
    if op in b"/%" and b == 0:
        return b"ERROR:DIVZERO"
    if op == b"+":
        r = a + b
    elif op == b"-":
        r = a - b
    elif op == b"*":
        r = a * b
    else:
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C99: toward zero
        r = q if op == b"/" else a - q * b
    if not INT64_MIN <= r <= INT64_MAX:
        return b"ERROR:OVERFLOW"
    return b"CALC:%d" % r


def answer(line):
    """(reply, bye) for one line, its ending cut off."""
    m = FRAME.fullmatch(line)
    if not m:
        return b"ERROR:SYNTAX\n", False
    keyword, arg = m[1], m[2]
    if keyword == b"PING":
        return b"PONG:" + arg + b"\n", False
    if keyword == b"QUIT":
        return b"BYE:\n", True
    if keyword == b"CALC":
        return calc(arg) + b"\n", False
    return b"ERROR:UNKNOWN\n", False


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.inbuf = bytearray()
        self.out = bytearray()
        self.skipping = False
        self.closing = False

    def take(self, data):
        self.inbuf += data
        while not self.closing:
            nl = self.inbuf.find(b"\n")
            if nl < 0:
                break
            line = bytes(self.inbuf[:nl])
            del self.inbuf[: nl + 1]
            if self.skipping:
                self.skipping = False
                continue
            if len(line) + 1 > FRAME_MAX:  # more than 512 bytes: it was too long
                self.out += b"ERROR:TOOLONG\n"
                continue
            reply, self.closing = answer(line[:-1] if line.endswith(b"\r") else line)
            self.out += reply
        if self.closing:
            self.inbuf.clear()
        elif len(self.inbuf) >= FRAME_MAX and not self.skipping:
            self.out += b"ERROR:TOOLONG\n"
            self.skipping = True
        if self.skipping:
            self.inbuf.clear()


class Server:
    def __init__(self, port):
        self.sel = selectors.DefaultSelector()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.listener.bind(("0.0.0.0", port))
        except OSError as e:
            print(f"multi-server: bind port {port}: {e.strerror}", file=sys.stderr)
            sys.exit(1)
        self.listener.listen(4096)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.paused_until = None

    def accept(self):
        for _ in range(256):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.sel.unregister(self.listener)
                    self.paused_until = time.monotonic() + 0.5
                    return
                continue
            sock.setblocking(False)
            self.sel.register(sock, selectors.EVENT_READ, Client(sock))

    def drop(self, client):
        self.sel.unregister(client.sock)
        client.sock.close()

    def serve(self, client, mask):
        if mask & selectors.EVENT_READ and not client.closing:
            try:
                data = client.sock.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                return self.drop(client)
            if data == b"":
                client.closing = True
                client.inbuf.clear()
            elif data:
                client.take(data)
        if client.out:
            try:
                n = client.sock.send(client.out)
                del client.out[:n]
            except BlockingIOError:
                pass
            except OSError:
                return self.drop(client)
        if client.closing and not client.out:
            return self.drop(client)
        events = selectors.EVENT_WRITE if client.out else 0
        if not client.closing and len(client.out) <= OUT_LIMIT:
            events |= selectors.EVENT_READ
        self.sel.modify(client.sock, events, client)

    def run(self):
        while True:
            timeout = None
            if self.paused_until is not None:
                timeout = max(0, self.paused_until - time.monotonic())
            for key, mask in self.sel.select(timeout):
                if key.data is None:
                    self.accept()
                else:
                    self.serve(key.data, mask)
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
        print("usage: multi-server PORT", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server = Server(int(sys.argv[1]))
    try:
        server.run()
    except Stop:
        pass
    server.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
