#!/usr/bin/env python3
# step: 07-calc-client
# bug: none
# fails: none
"""A WP/1 calculator client in Python, with selectors instead of poll(): it
pipelines its requests, says QUIT: at the end of input and waits for BYE:.
It must get full marks."""

import collections
import os
import re
import selectors
import socket
import sys
import time

USAGE = "usage: calc HOST PORT"
FRAME_MAX = 512
FRAME = re.compile(rb"([A-Z]{1,10}):(.*)", re.S)


def fail(message):
    sys.stderr.write(f"calc: {message}\n")
    sys.exit(1)


def parse_args(argv):
    if len(argv) != 3 or not re.fullmatch(r"[0-9]{1,5}", argv[2]) or not 1 <= int(argv[2]) <= 65535:
        sys.stderr.write(USAGE + "\n")
        sys.exit(2)
    return argv[1], argv[2]


def connect(host, port):
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        fail(f"{host} port {port}: {e.strerror}")
    error = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.connect(address)
            return sock
        except OSError as e:
            error = e
            sock.close()
    fail(f"connect to {host} port {port}: {error.strerror}")


class Client:
    def __init__(self, host, port, sock):
        self.where = f"{host} port {port}"
        self.sock = sock
        self.owed = collections.deque()  # ("calc",) or ("ping", token, started) or ("quit",)
        self.pings = 0
        self.typed = b""
        self.received = b""
        self.input_open = True

    def send(self, frame):
        try:
            self.sock.sendall(frame)
        except OSError as e:
            fail(f"send to {self.where}: {e.strerror}")

    def request(self, line):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return
        if line == b"ping":
            self.pings += 1
            token = b"py-%d-%d" % (os.getpid(), self.pings)
            self.owed.append(("ping", token, time.monotonic()))
            self.send(b"PING:" + token + b"\n")
        else:
            self.owed.append(("calc",))
            self.send(b"CALC:" + line + b"\n")

    def on_input(self):
        data = os.read(0, 4096)
        if not data:
            self.input_open = False
            if self.typed:
                self.request(self.typed)
                self.typed = b""
            self.owed.append(("quit",))
            self.send(b"QUIT:\n")
            return
        self.typed += data
        *lines, self.typed = self.typed.split(b"\n")
        for line in lines:
            self.request(line)

    def on_reply(self, line):
        if not self.owed:
            fail(f"{self.where} sent a reply nobody asked for: {line[:60]!r}")
        match = FRAME.fullmatch(line)
        if not match:
            fail(f"{self.where} sent something that is not a WP/1 frame: {line[:60]!r}")
        keyword, argument = match.groups()
        owed = self.owed.popleft()
        if owed[0] == "ping" and keyword == b"PONG":
            if argument != owed[1]:
                fail(f"{self.where} answered PING:{owed[1].decode()} with another token")
            out = b"pong %.2f ms\n" % ((time.monotonic() - owed[2]) * 1000)
        elif owed[0] == "calc" and keyword == b"CALC":
            out = argument + b"\n"
        elif owed[0] == "calc" and keyword == b"ERROR":
            out = b"error: " + argument + b"\n"
        elif owed[0] == "quit" and keyword == b"BYE":
            sys.exit(0)
        else:
            fail(f"{self.where} answered a {owed[0].upper()} with {line[:60]!r}")
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()

    def on_socket(self):
        try:
            data = self.sock.recv(4096)
        except OSError as e:
            fail(f"recv from {self.where}: {e.strerror}")
        if not data:
            if self.owed and self.owed == collections.deque([("quit",)]):
                sys.exit(0)  # closed instead of BYE: every reply has come
            fail(f"{self.where} closed the connection with {len(self.owed)} replies owed")
        self.received += data
        while b"\n" in self.received:
            line, self.received = self.received.split(b"\n", 1)
            if len(line) + 1 > FRAME_MAX:
                fail(f"{self.where} sent a reply longer than {FRAME_MAX} bytes")
            self.on_reply(line[:-1] if line.endswith(b"\r") else line)
        if len(self.received) >= FRAME_MAX:
            fail(f"{self.where} sent a reply longer than {FRAME_MAX} bytes")

    def run(self):
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ, self.on_socket)
        selector.register(0, selectors.EVENT_READ, self.on_input)
        while self.input_open or self.owed:
            for key, _ in selector.select():
                key.data()
                if not self.input_open and key.fd == 0:
                    selector.unregister(0)
                    break  # the registration changed: select again
        sys.exit(0)


def main():
    host, port = parse_args(sys.argv)
    Client(host, port, connect(host, port)).run()


if __name__ == "__main__":
    main()
