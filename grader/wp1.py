"""WP/1, the workshop's line protocol (SPEC §2), as a model the checks trust.

    frame    = keyword ":" argument "\\n"   ; at most 512 bytes, "\\n" included; "\\r\\n" accepted
    keyword  = 1 to 10 of A-Z
    argument = any bytes but "\\n"

reply(line) answers one frame (its line without "\\n") as calc-server must;
the checks compare the student's replies with it.
"""

import re

FRAME_MAX = 512
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
KEYWORD = re.compile(rb"[A-Z]{1,10}")
OPERAND = rb"-?[0-9]+"
CALC = re.compile(rb"(" + OPERAND + rb")([-+*/%])(" + OPERAND + rb")")


def split(line):
    """(keyword, argument) of a frame's line, or None when it is not well-formed."""
    if line.endswith(b"\r"):
        line = line[:-1]  # the \r of a \r\n ending belongs to the ending
    keyword, colon, argument = line.partition(b":")
    if not colon or not KEYWORD.fullmatch(keyword):
        return None
    return keyword, argument


def calc(argument):
    """The reply to CALC:<argument>, in the order SPEC checks the errors."""
    match = CALC.fullmatch(argument)
    if not match:
        return b"ERROR:SYNTAX"
    a, op, b = int(match.group(1)), match.group(2), int(match.group(3))
    if not (INT64_MIN <= a <= INT64_MAX and INT64_MIN <= b <= INT64_MAX):
        return b"ERROR:OVERFLOW"
    if op in b"/%" and b == 0:
        return b"ERROR:DIVZERO"
    result = compute(a, op, b)
    if not INT64_MIN <= result <= INT64_MAX:
        return b"ERROR:OVERFLOW"
    return b"CALC:%d" % result


def compute(a, op, b):
    """a op b, exactly (no range): / and % as C99 has them (b != 0)."""
    if op == b"+":
        return a + b
    if op == b"-":
        return a - b
    if op == b"*":
        return a * b
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C99: toward zero
    return quotient if op == b"/" else a - b * quotient  # %: the sign of the dividend


def reply(line):
    """The reply (without its "\\n") to one frame's line (without its "\\n")."""
    parts = split(line)
    if parts is None:
        return b"ERROR:SYNTAX"
    keyword, argument = parts
    if keyword == b"PING":
        return b"PONG:" + argument
    if keyword == b"CALC":
        return calc(argument)
    if keyword == b"QUIT":
        return b"BYE:"
    return b"ERROR:UNKNOWN"


class Framer:
    """Cuts a byte stream into frames as a correct server does, chunk by chunk:
    feed() gives each complete frame's line, and None for a line too long (512
    bytes held and no "\n": one ERROR:TOOLONG, the rest of that line dropped)."""

    def __init__(self):
        self.held, self.dropping = b"", False

    def feed(self, data):
        frames = []
        start = 0
        while start < len(data):  # one line's bytes (or the start of one) at a time
            newline = data.find(b"\n", start)
            end = len(data) if newline < 0 else newline
            if not self.dropping:
                if len(self.held) + end - start >= FRAME_MAX:
                    frames.append(None)  # 512 bytes held and no "\n": the rest is dropped
                    self.held, self.dropping = b"", True
                else:
                    self.held += data[start:end]
            if newline < 0:
                break
            if not self.dropping:
                frames.append(self.held)
            self.held, self.dropping = b"", False
            start = newline + 1
        return frames


def replies(stream):
    """Every reply a correct server sends for a whole byte stream from one
    client that then closes: TOOLONG rules, QUIT and the dropped tail included."""
    out = []
    for line in Framer().feed(stream):
        out.append(b"ERROR:TOOLONG" if line is None else reply(line))
        if out[-1] == b"BYE:":
            break
    return out
