#!/usr/bin/env python3
"""line-echo PORT: echo lines (at most 512 bytes with the '\n'), one client at a time."""

import re
import signal
import socket
import sys

FRAME_MAX = 512
TOOLONG = b"ERROR:TOOLONG\n"


def lines_of(conn):
    """Yield each line (bytes, ending removed) or None for a too-long one."""
    held, dropping = b"", False
    while True:
        try:
            chunk = conn.recv(4096)
        except OSError:
            return
        if not chunk:
            return
        held += chunk
        while True:
            line, newline, rest = held.partition(b"\n")
            if not newline:
                break
            held = rest
            if dropping:
                dropping = False
            elif len(line) + 1 > FRAME_MAX:
                yield None
            else:
                yield line[:-1] if line.endswith(b"\r") else line
        if dropping:
            held = b""
        elif len(held) >= FRAME_MAX:
            held, dropping = b"", True
            yield None


def main(argv):
    if len(argv) != 2 or not re.fullmatch(r"[0-9]+", argv[1]) or not 1 <= int(argv[1]) <= 65535:
        print("usage: line-echo PORT", file=sys.stderr)
        return 2
    port = int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("0.0.0.0", port))
        listener.listen(16)
    except OSError as e:
        print(f"line-echo: port {port}: {e.strerror}", file=sys.stderr)
        return 1
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                for line in lines_of(conn):
                    conn.sendall(TOOLONG if line is None else line + b"\n")
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))
