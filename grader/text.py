"""Showing bytes to a student: escaped, quoted, and short enough to read.

Two views. Bytes on the wire (requests, replies: show) are escaped byte by
byte, printable ASCII kept: what was sent is exactly what is shown. Output a
person reads (compiler messages, a program's stdout and stderr: lines_of,
readable) keeps valid UTF-8 as text, so gcc's quotes and a student's accents
read as they were written; invalid bytes and every control character but the
newline stay escaped, so that no student output can paint a terminal (ANSI
escapes), move text (bidi overrides) or start a line of the report."""

import re
import unicodedata

ESCAPES = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x00: "\\0", 0x5C: "\\\\", 0x22: '\\"'}
# Unicode categories shown escaped in readable text: controls (C0, C1: ANSI
# escapes), format characters (bidi overrides, zero widths), surrogates,
# private and unassigned code points, line and paragraph separators.
HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
NOT_PLAIN = re.compile(r"[^\x20-\x5b\x5d-\x7e]")  # all but printable ASCII without the backslash
NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")  # all but printable ASCII, the backslash included


def escape(data):
    """Bytes as a C-like string literal body: printable ASCII kept, the rest escaped."""
    out = []
    for byte in data:
        if byte in ESCAPES:
            out.append(ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def readable(data, escaped=False):
    """Bytes (or a str) as one line of text: valid UTF-8 kept, except the
    characters of HIDDEN; those, invalid bytes, '\\' and the ASCII controls
    escaped as in a C string ('\\n', '\\x1b', '\\xc2\\x9b' for U+009B).
    escaped: the text is escaped already (step 05's unit cases print their
    strings C-escaped): its backslashes are kept as they are, not doubled."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate not from surrogateescape: shown as its bytes
            data = data.encode("utf-8", "surrogatepass")
    pattern = NOT_PRINTABLE if escaped else NOT_PLAIN
    return pattern.sub(_escape_char, data.decode("utf-8", "surrogateescape"))


def _escape_char(match):
    char = match.group()
    code = ord(char)
    if code < 0x80:
        return ESCAPES.get(code) or f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if unicodedata.category(char) in HIDDEN:
        return "".join(f"\\x{b:02x}" for b in char.encode())
    return char


def show(data, limit=160):
    """Quoted and escaped; long data keeps its head and tail and says its length."""
    if data is None:
        return "(nothing)"
    if isinstance(data, str):
        data = data.encode()
    if len(data) <= limit:
        return f'"{escape(data)}"'
    half = limit // 2
    return f'"{escape(data[:half])}" ... "{escape(data[-half:])}"  ({len(data)} bytes)'


def first_difference(expected, received):
    """Index of the first byte where the two differ (or the shorter length)."""
    for i, (a, b) in enumerate(zip(expected, received)):
        if a != b:
            return i
    return min(len(expected), len(received))


def lines_of(data, limit=40, width=160):
    """Program output for a report: readable lines (see readable), at most
    limit of them, each at most width characters. Binary output is shown as
    escaped blocks."""
    if not data:
        return ["(empty)"]
    odd = len(ODD.findall(data.decode("utf-8", "surrogateescape")))
    unended = False
    if odd <= 0.1 * len(data):  # text: one row a line
        lines = data.split(b"\n")
        unended = lines[-1] != b""
        if not unended:
            lines.pop()
    else:
        lines = [data[i : i + width // 3] for i in range(0, len(data), width // 3)]
    if len(lines) > limit:
        lines = lines[: limit // 2] + [len(lines) - limit] + lines[-limit // 2 :]
    rows = [clip(line, width) if isinstance(line, bytes) else f"... ({line} lines left out) ..." for line in lines]
    if unended:
        rows[-1] += "  (no newline at the end)"
    return rows


ODD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")  # controls and bytes that are not UTF-8


def clip(line, width):
    """One line, readable, at most width characters (only its head is escaped:
    a line of megabytes costs no more than a short one)."""
    row = readable(line[: 4 * width])
    if len(row) <= width and len(line) <= 4 * width:
        return row
    return row[:width] + f"... ({len(line)} bytes)"


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
