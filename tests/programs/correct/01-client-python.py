#!/usr/bin/env python3
# step: 01-client
# bug: none
# fails: none
"""client HOST PORT: copy every byte the server sends to stdout, as it arrives."""

import os
import re
import socket
import sys


def main(argv):
    if len(argv) != 3 or not re.fullmatch(r"[0-9]+", argv[2]) or not 1 <= int(argv[2]) <= 65535:
        print("usage: client HOST PORT", file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    try:
        addresses = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except socket.gaierror as e:
        print(f"client: cannot resolve {host} port {port}: {e.strerror}", file=sys.stderr)
        return 1
    sock, reason = None, "no address"
    for family, kind, proto, _, address in addresses:
        try:
            sock = socket.socket(family, kind, proto)
            sock.connect(address)
            break
        except OSError as e:
            reason = e.strerror or str(e)
            if sock is not None:
                sock.close()
            sock = None
    if sock is None:
        print(f"client: cannot connect to {host} port {port}: {reason}", file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    with sock:
        while True:
            try:
                data = sock.recv(65536)
            except OSError as e:
                print(f"client: recv from {host} port {port}: {e.strerror or e}", file=sys.stderr)
                return 1
            if not data:
                return 0
            out.write(data)
            out.flush()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:
        os._exit(1)  # stdout's reader left; flushing again at exit would fail too
