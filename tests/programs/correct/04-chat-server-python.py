#!/usr/bin/env python3
# step: 04-chat-server
# bug: none
# fails: none
"""A chat server in Python, with the selectors module: it must get full marks."""

import os
import selectors
import socket
import sys

WELCOME = b"Welcome to the server!\n"


def address_of(peer):
    ip, port = peer[0], peer[1]
    if ip.startswith("::ffff:") and "." in ip:
        ip = ip[len("::ffff:") :]
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    if len(sys.argv) != 2 or not (sys.argv[1].isascii() and sys.argv[1].isdigit()) or not 1 <= int(sys.argv[1]) <= 65535:
        print("usage: chat-server PORT", file=sys.stderr)
        return 2
    port = int(sys.argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("0.0.0.0", port))
        listener.listen(16)
    except OSError as e:
        print(f"chat-server: bind port {port}: {e.strerror}", file=sys.stderr)
        return 1
    stdin = sys.stdin.fileno()
    watch = selectors.DefaultSelector()
    watch.register(stdin, selectors.EVENT_READ)
    watch.register(listener, selectors.EVENT_READ)
    client, who = None, None

    def drop():
        nonlocal client
        say(f"Client {who} left")
        watch.unregister(client)
        client.close()
        client = None
        watch.register(listener, selectors.EVENT_READ)

    while True:
        for key, _ in watch.select():
            if key.fileobj is listener:
                client, peer = listener.accept()
                who = address_of(peer)
                say(f"Got connection from {who}")
                watch.unregister(listener)
                watch.register(client, selectors.EVENT_READ)
                try:
                    client.sendall(WELCOME)
                except OSError:
                    drop()
            elif client is not None and key.fileobj is client:
                try:
                    data = client.recv(65536)
                except OSError:
                    data = b""
                if data:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(1, view) :]
                else:
                    drop()
            elif key.fileobj == stdin:
                typed = os.read(stdin, 65536)
                if not typed:
                    if client is not None:
                        client.close()
                    listener.close()
                    return 0
                if client is not None:
                    try:
                        client.sendall(typed)
                    except OSError:
                        drop()


if __name__ == "__main__":
    sys.exit(main())
