#!/usr/bin/env python3
# step: 03-chat-client
# bug: none
# fails: none
"""A chat client in Python, with select() instead of poll(): it must get full marks."""

import os
import select
import socket
import sys

USAGE = "usage: chat-client HOST PORT"


def main():
    if len(sys.argv) != 3 or not (sys.argv[2].isascii() and sys.argv[2].isdigit()) or not 1 <= int(sys.argv[2]) <= 65535:
        print(USAGE, file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        print(f"chat-client: cannot resolve {host} port {port}: {e.strerror}", file=sys.stderr)
        return 1
    sock, error = None, None
    for family, kind, proto, _, address in addresses:
        candidate = socket.socket(family, kind, proto)
        try:
            candidate.connect(address)
            sock = candidate
            break
        except OSError as e:
            candidate.close()
            error = e
    if sock is None:
        print(f"chat-client: connect to {host} port {port}: {error.strerror}", file=sys.stderr)
        return 1
    watched = [sock, sys.stdin.fileno()]
    with sock:
        while True:
            ready, _, _ = select.select(watched, [], [])
            if sock in ready:
                try:
                    data = sock.recv(65536)
                except OSError as e:
                    print(f"chat-client: recv from {host} port {port}: {e.strerror}", file=sys.stderr)
                    return 1
                if not data:
                    return 0
                view = memoryview(data)
                while view:
                    view = view[os.write(1, view) :]
            if sys.stdin.fileno() in ready:
                typed = os.read(sys.stdin.fileno(), 65536)
                if typed:
                    try:
                        sock.sendall(typed)
                    except OSError as e:
                        print(f"chat-client: send to {host} port {port}: {e.strerror}", file=sys.stderr)
                        return 1
                else:
                    sock.shutdown(socket.SHUT_WR)
                    watched.remove(sys.stdin.fileno())


if __name__ == "__main__":
    sys.exit(main())
