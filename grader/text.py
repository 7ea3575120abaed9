"""Showing bytes to a student: escaped, quoted, and short enough to read."""

ESCAPES = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x00: "\\0", 0x5C: "\\\\", 0x22: '\\"'}


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
    """Program output for a report: escaped lines, at most limit of them, each
    at most width characters. Binary output is shown as escaped blocks."""
    if not data:
        return ["(empty)"]
    texty = sum(32 <= b < 127 or b in (9, 10, 13) for b in data) >= 0.9 * len(data)
    if texty:
        rows = [escape(line) for line in data.split(b"\n")]
        if rows[-1] == "":
            rows.pop()
        else:
            rows[-1] += "  (no newline at the end)"
    else:
        rows = [escape(data[i : i + width // 3]) for i in range(0, len(data), width // 3)]
    rows = [row if len(row) <= width else row[:width] + f"... ({len(row)} characters)" for row in rows]
    if len(rows) > limit:
        rows = rows[: limit // 2] + [f"... ({len(rows) - limit} lines left out) ..."] + rows[-limit // 2 :]
    return rows


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
