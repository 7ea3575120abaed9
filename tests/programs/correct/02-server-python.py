#!/usr/bin/env python3
# step: 02-server
# bug: none
# fails: none
"""server PORT: greet every client, one after another, on every IPv4 address."""

import re
import signal
import socket
import sys

WELCOME = b"Welcome to the server!\n"


def main(argv):
    if len(argv) != 2 or not re.fullmatch(r"[0-9]+", argv[1]) or not 1 <= int(argv[1]) <= 65535:
        print("usage: server PORT", file=sys.stderr)
        return 2
    port = int(argv[1])
    # Die of SIGINT like of SIGTERM: no KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("0.0.0.0", port))
        listener.listen(16)
    except OSError as e:
        print(f"server: cannot listen on port {port}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"server: listening on port {port}", file=sys.stderr, flush=True)
    while True:
        try:
            conn, (ip, peer_port) = listener.accept()
        except (ConnectionError, InterruptedError):
            continue
        with conn:
            print(f"Got connection from {ip}:{peer_port}", flush=True)
            try:
                conn.sendall(WELCOME)
            except (ConnectionError, BrokenPipeError) as e:
                print(f"server: send to {ip}:{peer_port}: {e.strerror}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
