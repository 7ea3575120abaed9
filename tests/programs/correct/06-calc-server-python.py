#!/usr/bin/env python3
# step: 06-calc-server
# bug: none
# fails: none
"""A WP/1 calc-server in Python: it must get full marks.

Python's integers never overflow, so the int64 rules are checked by hand, and
its // and % round toward minus infinity, so C99's truncation is rebuilt.
"""

import re
import socket
import sys

FRAME_MAX = 512
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FRAME = re.compile(rb"([A-Z]{1,10}):(.*)", re.S)
CALC = re.compile(rb"(-?[0-9]+)([-+*/%])(-?[0-9]+)")


def c_divide(a, b):
    """(quotient, remainder) as C99: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - b * q


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
        r = c_divide(a, b)[0 if op == b"/" else 1]
    return b"CALC:%d" % r if INT64_MIN <= r <= INT64_MAX else b"ERROR:OVERFLOW"


def answer(line):
    m = FRAME.fullmatch(line)
    if not m:
        return b"ERROR:SYNTAX"
    keyword, arg = m[1], m[2]
    if keyword == b"PING":
        return b"PONG:" + arg
    if keyword == b"CALC":
        return calc(arg)
    if keyword == b"QUIT":
        return b"BYE:"
    return b"ERROR:UNKNOWN"


def serve(conn):
    held, dropping = b"", False
    while True:
        try:
            data = conn.recv(4096)
        except OSError:
            return
        if not data:
            return
        held += data
        replies = []
        while True:
            nl = held.find(b"\n")
            if nl < 0:
                if dropping:
                    held = b""
                elif len(held) >= FRAME_MAX:
                    replies.append(b"ERROR:TOOLONG")
                    held, dropping = b"", True
                break
            line, held = held[:nl], held[nl + 1 :]
            if dropping:
                dropping = False
                continue
            if len(line) >= FRAME_MAX:  # 512 bytes were held before this '\n'
                replies.append(b"ERROR:TOOLONG")
                continue
            reply = answer(line[:-1] if line.endswith(b"\r") else line)
            replies.append(reply)
            if reply == b"BYE:":
                break
        try:
            conn.sendall(b"".join(r + b"\n" for r in replies))
        except OSError:  # the client left: BrokenPipeError, ConnectionResetError
            return
        if replies and replies[-1] == b"BYE:":
            return


def main():
    arg = sys.argv[1] if len(sys.argv) == 2 else ""
    if not (arg.isascii() and arg.isdigit() and 1 <= int(arg) <= 65535):
        print("usage: calc-server PORT", file=sys.stderr)
        return 2
    port = int(arg)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("0.0.0.0", port))
        listener.listen(16)
    except OSError as e:
        print(f"calc-server: bind port {port}: {e.strerror}", file=sys.stderr)
        return 1
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        with conn:
            serve(conn)


if __name__ == "__main__":
    sys.exit(main())
