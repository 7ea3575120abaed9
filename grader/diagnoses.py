"""Likely causes, read from the evidence of a failed check.

When a check fails, the engine gathers what was observed into an Evidence
(the bytes expected and those that came, the request a wrong reply answers,
how each program stood: its exit status, what it printed, what it left unread)
and asks the diagnoses below, in order. Each is a small function of the
evidence that returns the cause in one sentence, or None when the evidence does
not point to it. The sentence is the hint a student reads first:

  1. SPECIFIC diagnoses: the first one that names a cause wins;
  2. else the check's own hint (`with t.hint(text, when=...)`), if its
     condition holds on the evidence (a hint without one always does);
  3. else the GENERAL diagnoses, which name what was observed;
  4. else no hint at all: a wrong hint costs a student more than none.

To add one: write a function below (evidence in, sentence or None out), put
it in SPECIFIC or GENERAL at its place (the more specific first), and add a
known-bug fixture whose `cause:` line names it (tests/programs/bugs).
"""

import re
import signal
from dataclasses import dataclass, field

from . import wp1
from .text import first_difference

# === The evidence ===============================================================


@dataclass
class Seen:
    """One program of the check, as it stood when the check failed."""

    label: str
    status: object = None  # how it ended (sandbox.Status), or None: still running
    stdout: bytes = b""
    stdout_total: int = 0  # bytes it printed (stdout may be cut in the middle when huge)
    server: bool = False  # started as a server (it listens on a port)
    signals_sent: frozenset = frozenset()  # the signals the grader sent it
    asked_to_end: bool = False  # the grader signalled it or closed its stdin
    stdin_open: bool = False  # the grader holds its stdin open (a pipe)
    typed: bytes = b""  # everything the grader typed at its stdin
    unread_input: int = 0  # typed bytes it has not read yet
    unread_socket: int = None  # bytes the grader sent that wait unread in its sockets (None: unknown)
    reads_stdin_only: bool = None  # every thread of it sleeps in a read() of its stdin (None: unknown)

    @property
    def ended(self):
        """It ended on its own, not asked to (a signal, the end of its input)."""
        return self.status is not None and not self.asked_to_end


@dataclass
class Evidence:
    """What a failed check observed, for the diagnoses to read."""

    check: str  # the check's name
    message: str  # its verdict
    expected: bytes = None  # the bytes that were due...
    got: bytes = None  # ...and those that came instead
    channel: str = None  # where they were awaited: "socket" (from the program), "stdout", "unit"
    request: bytes = None  # the frame (a line, without "\n") a wrong reply answers
    sent: bytes = None  # what the grader last sent on the connection of the failure
    pieces: int = 0  # in how many pieces it was sent
    receiver: bytes = None  # the name of the grader's client that saw it (09: its nick)
    program: Seen = None  # the program whose output failed (stdout), or the only one
    programs: list = field(default_factory=list)  # every program of the check
    facts: dict = field(default_factory=dict)  # what a check adds for a diagnosis of its kind

    # What a check's hint may ask of the evidence (`with t.hint(text, when=...)`):

    @property
    def ended(self):
        """The programs that ended on their own."""
        return [p for p in self.programs if p.ended]

    @property
    def unread(self):
        """Bytes the grader sent that wait unread in the programs' sockets."""
        return sum(p.unread_socket or 0 for p in self.programs)

    @property
    def nothing_came(self):
        """Nothing of what was due came (a timeout, or the end)."""
        return not self.got

    def got_line(self, line):
        """The first line that came is line (given without its "\\n")."""
        return first_reply(self) == line


def lines_differing(e):
    """(expected line, line that came): the first pair that differs, without
    their "\\n"; None without both."""
    if e.expected is None or e.got is None:
        return None
    for want, got in zip(e.expected.split(b"\n"), e.got.split(b"\n")):
        if want != got:
            return want, got
    return None


def first_reply(e):
    """The first complete line that came (without "\\n"), or None."""
    if e.got is None or b"\n" not in e.got:
        return None
    return e.got.split(b"\n", 1)[0]


# === Causes shown by the way a program ended ====================================

STATUS_CAUSES = {
    signal.SIGPIPE: "killed by SIGPIPE: it wrote to a socket whose peer had gone; send with MSG_NOSIGNAL (or ignore SIGPIPE) and handle the error",
    signal.SIGSEGV: "it crashed with an invalid memory access (segmentation fault): run it under valgrind or gdb to see where",
    signal.SIGABRT: "it aborted: a failed assert(), or glibc found the heap corrupted (a buffer overflow?)",
    signal.SIGBUS: "it crashed (bus error): an invalid memory access",
    signal.SIGFPE: "it crashed with an arithmetic error (a division by zero?)",
    signal.SIGXCPU: "it used up its CPU time: an endless loop?",
    signal.SIGXFSZ: "it wrote a file larger than allowed: an endless loop writing output?",
    signal.SIGKILL: "it was killed (SIGKILL): it used too much memory, or the grader stopped it",
}


def status_hint(status):
    """The likely cause behind a way of ending, or None."""
    if status is None or status.signal is None:
        return None
    return STATUS_CAUSES.get(status.signal)


INT64_MIN_BY_MINUS_ONE = re.compile(rb"^CALC:-0*9223372036854775808[/%]-0*1\r?$")


def killed_by_signal(e):
    """A program died of a signal the grader did not send it."""
    for p in e.programs:
        if p.status is not None and p.status.signal and p.status.signal not in p.signals_sent:
            if p.status.signal == signal.SIGFPE and e.request and INT64_MIN_BY_MINUS_ONE.match(e.request):
                return (
                    "INT64_MIN / -1 (and % -1) overflows, and x86 traps it: your server was killed by SIGFPE; "
                    "answer ERROR:OVERFLOW before dividing"
                )
            return status_hint(p.status)
    return None


# === Causes shown by the bytes ===================================================

PORT_AT_END = re.compile(rb":(\d{1,5})$")


def byte_swapped_port(e):
    """A printed port that is the true one with its two bytes swapped."""
    pair = lines_differing(e)
    want, got = (PORT_AT_END.search(line) for line in pair) if pair else (None, None)
    if not (want and got):
        return None
    true, printed = int(want.group(1)), int(got.group(1))
    if printed != true and printed == ((true & 0xFF) << 8 | true >> 8):
        return (
            f"the port printed, {printed}, is {true} with its two bytes swapped: sin_port is in network byte "
            "order (big-endian); print ntohs(sin_port)"
        )
    return None


def signed_port(e):
    """A printed port that went through a signed 16-bit type: negative past 32767."""
    pair = lines_differing(e)
    want = PORT_AT_END.search(pair[0]) if pair else None
    got = re.search(rb":(-\d{1,5})$", pair[1]) if pair else None
    if want and got and int(got.group(1)) == int(want.group(1)) - 65536:
        return (
            f"the port printed, {int(got.group(1))}, is {int(want.group(1))} seen as a signed 16-bit number: a port "
            "above 32767 kept in a short (or int16_t) turns negative; keep it in an unsigned short (in_port_t) or an int"
        )
    return None


def ipv4_mapped_address(e):
    """An IPv4 client's address printed as an IPv6 socket sees it: ::ffff:a.b.c.d."""
    pair = lines_differing(e)
    if pair and b"::ffff:" in pair[1].lower() and b"::ffff:" not in pair[0].lower():
        return (
            "an IPv4 client's address was printed in its IPv4-mapped form (::ffff:a.b.c.d), as a dual-stack "
            "IPv6 socket reports it: print the IPv4 address inside it (IN6_IS_ADDR_V4MAPPED, then inet_ntop "
            "with AF_INET on its last 4 bytes)"
        )
    return None


def cut_at_nul(e):
    """The bytes stop, or skip ahead, exactly where a NUL byte was due."""
    if e.expected is None or e.got is None:
        return None
    at = first_difference(e.expected, e.got)
    if at < len(e.expected) and e.expected[at] == 0:
        return (
            "the bytes stop at a NUL byte (\\0): printf(\"%s\"), strlen() and strcpy() end a string there; "
            "use the byte count recv() (or read_line) gave: write(), fwrite(), memcpy()"
        )
    return None


def cut_at_colon(e):
    """A line that came cut exactly where a ':' of its text was due."""
    pair = lines_differing(e)
    if not pair:
        return None
    want, got = pair
    if got and want.startswith(got) and want[len(got) : len(got) + 1] == b":" and want.count(b":") > got.count(b":"):
        return (
            "the text was cut at a ':': the argument is every byte after the keyword's ':', colons included; "
            "strtok() and sscanf(\"%[^:]\") stop at the next one: take the rest of the line as it is (its length, memcpy)"
        )
    return None


def nul_for_newline(e):
    """A '\\0' came where a line's '\\n' was due: snprintf's terminator sent."""
    if e.expected is None or e.got is None:
        return None
    at = first_difference(e.expected, e.got)
    if e.expected[at : at + 1] == b"\n" and e.got[at : at + 1] == b"\0":
        return (
            "a '\\0' came where the line's '\\n' was due: snprintf(buf, size, ...) writes at most size - 1 characters, "
            "then a '\\0', so the longest reply lost its '\\n' (and its length, snprintf's return value, is what would "
            "have been written): give it room for the '\\0', or build the reply with memcpy"
        )
    return None


def carriage_return_kept(e):
    """A line handed on with the '\\r' of its '\\r\\n' ending."""
    if e.expected is None or e.got is None or not (e.channel == "unit" or b"\r\n" in (e.sent or b"")):
        return None
    at = first_difference(e.expected, e.got)
    if e.got[at : at + 1] == b"\r" and e.expected[at : at + 1] in (b"\n", b""):
        return "a '\\r' just before the '\\n' belongs to the line ending (\\r\\n): drop it with the '\\n'"
    return None


def dropped_bytes(e, window=32):
    """Bytes came, then a stretch of what was due never came, then later bytes did."""
    if e.expected is None or e.got is None:
        return None
    at = first_difference(e.expected, e.got)
    tail = e.got[at : at + window]
    later = e.expected.find(tail, at + 1) if len(tail) >= 16 else -1
    if later > at and e.expected.find(tail, later + 1) == -1:  # bytes that recur (padding) tell no place
        return (
            f"after byte {at}, {later - at} bytes never came, then those from byte {later} on did: your program "
            "dropped what did not fit its buffer; pass on every byte it reads, however long the line"
        )
    return None


def stopped_at_buffer_size(e):
    """A program that stopped after exactly a power of two of bytes."""
    for p in e.programs:
        n = p.stdout_total
        if p.ended and n >= 4096 and n & (n - 1) == 0 and (e.expected is None or n < len(e.expected)):
            return (
                f"your program stopped after exactly {n} bytes ({n >> 10} KiB): a buffer that fills up and is "
                "never emptied? recv() asked for 0 bytes (no room left) returns 0, which looks like the end of the stream"
            )
    return None


# === WP/1: a wrong reply that a known mistake explains ============================
#
# Each mistake is a variant of the protocol model (grader/wp1.py) with one bug
# put in. When a variant gives, for the request, exactly the wrong reply that
# came, that bug is the likely cause.

LENIENT_CALC = re.compile(rb"\s*([+-]?[0-9]+)([-+*/%])\s*([+-]?[0-9]+)")
OPERAND_SIGNS = "an operand is an optional '-' then digits, nothing else"


def with_lenient_operands(line):
    """strtol()/strtoll()/atoi()/sscanf("%ld") read operands: a '+' and spaces pass."""
    parts = wp1.split(line)
    match = LENIENT_CALC.fullmatch(parts[1]) if parts and parts[0] == b"CALC" else None
    if not match:
        return None
    a, op, b = int(match.group(1)), match.group(2), int(match.group(3))
    return wp1.calc(b"%d%s%d" % (a, op, b))


def with_any_letters_in_keywords(line):
    """A keyword of letters in either case: ping is a keyword, unknown."""
    keyword, colon, _ = line.partition(b":")
    if colon and re.fullmatch(rb"[A-Za-z]{1,10}", keyword) and not wp1.KEYWORD.fullmatch(keyword):
        return b"ERROR:UNKNOWN"
    return None


def with_long_keywords(line):
    """A keyword of more than 10 capital letters taken as well-formed."""
    keyword, colon, _ = line.partition(b":")
    if colon and re.fullmatch(rb"[A-Z]{11,}", keyword):
        return b"ERROR:UNKNOWN"
    return None


def with_floored_division(line):
    """/ and % that floor (Python's // and %), not C99's truncation."""
    parts = wp1.split(line)
    match = wp1.CALC.fullmatch(parts[1]) if parts and parts[0] == b"CALC" else None
    if not match or match.group(2) not in (b"/", b"%") or wp1.calc(parts[1]).startswith(b"ERROR"):
        return None
    a, op, b = int(match.group(1)), match.group(2), int(match.group(3))
    return b"CALC:%d" % (a // b if op == b"/" else a % b)


def with_int64_min_refused(line):
    """An operand's range checked against INT64_MAX for a negative one too:
    -9223372036854775808 (INT64_MIN itself) refused."""
    parts = wp1.split(line)
    match = wp1.CALC.fullmatch(parts[1]) if parts and parts[0] == b"CALC" else None
    if match and wp1.INT64_MIN in (int(match.group(1)), int(match.group(3))) and wp1.calc(parts[1]) != b"ERROR:OVERFLOW":
        return b"ERROR:OVERFLOW"
    return None


def wrapped(n):
    return (n + 2**63) % 2**64 - 2**63


def with_wrapping_arithmetic(line):
    """int64 (or uint64) arithmetic with no range check: values wrap around."""
    parts = wp1.split(line)
    match = wp1.CALC.fullmatch(parts[1]) if parts and parts[0] == b"CALC" else None
    if not match:
        return None
    a, op, b = wrapped(int(match.group(1))), match.group(2), wrapped(int(match.group(3)))
    if op in b"/%" and b == 0:
        return None  # DIVZERO: no wrapped value to tell this mistake by
    return b"CALC:%d" % wrapped(wp1.compute(a, op, b))


def with_divisor_checked_first(line):
    """A zero divisor checked before the operands' range."""
    parts = wp1.split(line)
    match = wp1.CALC.fullmatch(parts[1]) if parts and parts[0] == b"CALC" else None
    if match and match.group(2) in b"/%" and int(match.group(3)) == 0:
        return b"ERROR:DIVZERO"
    return None


def with_range_checked_first(line):
    """Each operand's range checked as it is read, before the whole shape."""
    parts = wp1.split(line)
    if not parts or parts[0] != b"CALC":
        return None
    first = re.match(rb"-?[0-9]+", parts[1])
    if first and not wp1.INT64_MIN <= int(first.group(0)) <= wp1.INT64_MAX:
        return b"ERROR:OVERFLOW"
    return None


def with_carriage_return_kept(line):
    """The '\\r' of a '\\r\\n' ending kept in the line."""
    keyword, colon, argument = line.partition(b":")
    if not line.endswith(b"\r") or not colon or not wp1.KEYWORD.fullmatch(keyword):
        return None
    if keyword == b"PING":
        return b"PONG:" + argument
    return wp1.calc(argument) if keyword == b"CALC" else None


ORDER = "check a CALC's errors in this order: its shape (SYNTAX), each operand's range (OVERFLOW), a zero divisor (DIVZERO), then the result (OVERFLOW)"
WP1_MISTAKES = [
    (
        with_lenient_operands,
        OPERAND_SIGNS + ": strtol(), strtoll(), atoi() and sscanf() also take a '+' sign and leading spaces, "
        "which make the frame ERROR:SYNTAX; check each character yourself",
    ),
    (
        with_any_letters_in_keywords,
        "a keyword is 1 to 10 capital letters (A-Z): with any other letter the frame is not well-formed, "
        "ERROR:SYNTAX; UNKNOWN is for a well-formed keyword nobody knows",
    ),
    (
        with_wrapping_arithmetic,
        "a value past int64 (an operand or the result) is ERROR:OVERFLOW, but your server computed a wrapped "
        "value: signed overflow is undefined in C; check before you compute (__builtin_add_overflow...) and "
        "read each operand digit by digit",
    ),
    (
        with_long_keywords,
        "a keyword is 1 to 10 capital letters: one of 11 or more makes the frame not well-formed, ERROR:SYNTAX "
        "(KEYWORD_MAX is 10, both ends included)",
    ),
    (
        with_floored_division,
        "C99's / truncates toward zero and % takes the sign of the dividend: CALC:-7/2 is -3 and CALC:-7%3 is -1; "
        "your server floors instead (Python's // and %): use C's own / and % on int64_t",
    ),
    (
        with_int64_min_refused,
        "-9223372036854775808 is INT64_MIN itself, in range: a negative operand's magnitude may reach "
        "INT64_MAX + 1 (2^63); only a positive one must be at most INT64_MAX",
    ),
    (with_divisor_checked_first, ORDER + ": an operand out of range is OVERFLOW, even with a zero divisor"),
    (with_range_checked_first, ORDER + ": a frame that is not well-formed is SYNTAX, even with a huge operand"),
    (with_carriage_return_kept, "a '\\r' just before the '\\n' belongs to the line ending (\\r\\n): drop it before parsing"),
]


def wp1_frame(e):
    """The frame's line the failure is about: the request a reply answers,
    else the one frame the grader last sent; None when it cannot be told."""
    if e.request is not None:
        return e.request
    if e.sent and e.sent.endswith(b"\n") and e.sent.count(b"\n") == 1:
        return e.sent[:-1]
    return None


def wp1_mistake(e):
    """A wrong WP/1 reply that a known mistake reproduces."""
    line, got = wp1_frame(e), first_reply(e)
    if line is None or got is None or e.channel != "socket" or got == wp1.reply(line):
        return None
    for variant, cause in WP1_MISTAKES:
        if variant(line) == got:
            return cause
    return None


def answered_a_piece(e):
    """A request sent in pieces, answered as if its first piece were whole."""
    line, got = wp1_frame(e), first_reply(e)
    if e.pieces < 2 or line is None or got is None or e.channel != "socket" or got == wp1.reply(line):
        return None
    pieces = [line[:i] for i in range(1, len(line))]
    if any(wp1.reply(piece) == got for piece in pieces):
        return (
            "your server answered a piece of the request as if it were whole: one recv() is not one request; "
            "keep what you received and read on until the '\\n' (step 05's read_line)"
        )
    return None


def lost_frame_head(e):
    """A reply that answers the end of a frame alone, as if the bytes of it
    received before had never come: a check found it (facts["lost_head"],
    the random sessions of grader/players.py: where the frame was cut, and a
    client left meanwhile when the reply is only ERROR:SYNTAX)."""
    if e.facts.get("lost_head"):
        return (
            "your server answered the end of this frame as if it were whole: the bytes of it received before were "
            "lost; a client's partial frame stays with that client, whatever moves in your tables (a client that "
            "leaves, another one moved into its slot)"
        )
    return None


# === The chat (09) ================================================================


def who_unsorted(e):
    """WHO's nicks all there, in another order."""
    pair = lines_differing(e)
    if not pair or not all(line.startswith(b"WHO:") for line in pair):
        return None
    want, got = (sorted(line[4:].split(b",")) for line in pair)
    if want == got:
        return "WHO lists the nicks sorted bytewise, as strcmp() orders them: '-' < '0'-'9' < 'A'-'Z' < '_' < 'a'-'z' (qsort with strcmp)"
    return None


def who_separators(e):
    """WHO's nicks right, its commas not: one after each nick, or none."""
    pair = lines_differing(e)
    if not pair or not all(line.startswith(b"WHO:") for line in pair):
        return None
    want, got = pair
    if want != got and [n for n in got[4:].split(b",") if n] == [n for n in want[4:].split(b",") if n]:
        return "WHO:<n1>,<n2>,...: one ',' between two nicks, none after the last (nor before the first)"
    return None


def leave_without_nick(e):
    """A LEAVE with no name: a client without a nick announced."""
    pair = lines_differing(e)
    if pair and pair[1] == b"LEAVE:":
        return (
            "LEAVE: came with no name: a client without a nick (one that never took one, or one already gone: QUIT, "
            "then its close) is not in the room, and its leaving is announced to nobody: chat_leave() does nothing "
            "without a nick, and a nick is cleared once its LEAVE is sent"
        )
    return None


def own_message_back(e):
    """A client received the MSG it sent itself, or its own JOIN."""
    got = first_reply(e)
    if e.receiver and got is not None and got.startswith(b"MSG:" + e.receiver + b":"):
        return f"{e.receiver.decode(errors='replace')} received its own MSG back: a MSG goes to every other client with a nick, never back to its sender"
    if e.receiver and got == b"JOIN:" + e.receiver:
        return f"{e.receiver.decode(errors='replace')} received its own JOIN: the sender of NICK gets OK:<name>, the JOIN goes to every other client with a nick"
    return None


def numbered_replies_damaged(e):
    """Numbered replies owed to a slow reader came again, went missing or
    mixed: what the check read in their numbers (its fact "queue damage")."""
    return e.facts.get("queue damage")


# === The unit checks of 05 ==========================================================


def stand_in_never_called(e):
    """frame.c never called the recv()/send() the unit tests put in its way."""
    found = re.search(r"\b(recv|send)\(\) was never called", e.facts.get("unit", ""))
    if found:
        return (
            "frame.c must call recv() and send(): the unit checks replace them with stand-ins (the linker's "
            "--wrap), and read() or write() slip past them"
        )
    return None


# === What a program did with its input and output ===================================


def not_reading_socket(e):
    """Bytes wait unread in its socket while it waits for its stdin."""
    for p in e.programs:
        if p.status is None and p.unread_socket and p.stdin_open and not p.unread_input:
            return (
                f"{p.unread_socket} bytes the grader sent wait unread in your program's socket, while it waits "
                "for its stdin (everything typed was read): a read() of stdin blocks until the user types; wait "
                "on both with poll() and serve whichever is ready"
            )
    return None


def deaf_while_reading_stdin(e):
    """What was due from it did not come, and all it does is wait in a read()
    of its stdin, everything typed read: it cannot see its socket (a close, a
    reset, bytes) until a line is typed."""
    if e.channel not in ("stdout", "socket") or (e.got and e.expected and not e.expected.startswith(e.got)):
        return None  # no output was due (an exit, say), or something else came: not a wait
    for p in e.programs:
        if p.status is None and p.stdin_open and not p.unread_input and p.reads_stdin_only:
            return (
                "your program sleeps in a read() of its stdin (everything typed was read), so it does not see "
                "what happens on its socket (bytes, a close, a reset) until the user types a line: wait on both "
                "with poll() and serve whichever is ready"
            )
    return None


def stdio_hides_lines(e):
    """Everything typed was read, not all of it was sent, and the program waits."""
    p = e.program
    if e.channel != "socket" or p is None or p.status is not None or not p.typed or p.unread_input or e.got is None:
        return None
    if e.expected is None or not e.expected.startswith(e.got) or len(e.got) >= len(e.expected):
        return None
    missing = e.expected[len(e.got) :]
    if missing[:64] in p.typed:
        return (
            "your program read everything typed (its stdin is empty), yet did not send all of it, and waits: "
            "fgets(), getline() and scanf() read ahead into stdio's buffer, where poll() and select() cannot see "
            "the lines that wait; read stdin with read() into your own buffer"
        )
    return None


def partial_line_held(e):
    """The start of a line was read from the socket, but not printed."""
    p = e.program
    if e.channel != "stdout" or p is None or p.status is not None or e.got or not e.expected:
        return None
    if b"\n" not in e.expected and p.unread_socket == 0 and p.stdout.endswith(b"\n"):
        return (
            "your program read the start of a line but printed nothing of it: print what recv() gives as it "
            "arrives (and fflush), not only whole lines"
        )
    return None


def not_flushed(e):
    """It runs, it read what it was sent, and it has printed nothing at all."""
    p = e.program
    if e.channel == "stdout" and p is not None and p.status is None and p.stdout_total == 0 and not p.unread_socket:
        return (
            "nothing was printed while your program ran: stdout is a pipe here, not a terminal, so printf "
            "output waits in a buffer; call fflush(stdout) (or write(1, ...))"
        )
    return None


# === General: what was observed ======================================================


def server_ended(e):
    """A server that ended by itself while the check went on."""
    for p in e.programs:
        if p.server and p.ended:
            return f"your server {p.status} by itself in the middle of the check: a server serves until it is stopped; its stderr (below) may say why it stopped"
    return None


def server_left_it_unread(e):
    """A running server that has not read what the grader sent, and answered nothing."""
    for p in e.programs:
        if p.server and p.status is None and p.unread_socket and e.channel == "socket" and e.nothing_came:
            return (
                f"your server has not read the {p.unread_socket} bytes sent to it (they wait in its socket) and answered "
                "nothing: it is not watching this connection for input (POLLIN), or it is stuck elsewhere"
            )
    return None


SPECIFIC = (
    killed_by_signal,
    stand_in_never_called,
    byte_swapped_port,
    signed_port,
    ipv4_mapped_address,
    cut_at_nul,
    lost_frame_head,
    cut_at_colon,
    nul_for_newline,
    wp1_mistake,
    answered_a_piece,
    carriage_return_kept,
    who_unsorted,
    who_separators,
    leave_without_nick,
    own_message_back,
    numbered_replies_damaged,
    dropped_bytes,
    stopped_at_buffer_size,
    not_reading_socket,
    deaf_while_reading_stdin,
    stdio_hides_lines,
    partial_line_held,
    not_flushed,
)
GENERAL = (server_ended, server_left_it_unread)


def likely_cause(evidence, hints=()):
    """The cause to show for a failure: see the module's doc. hints are the
    check's own (text, when) pairs, the outermost last."""
    for diagnosis in SPECIFIC:
        cause = diagnosis(evidence)
        if cause:
            return cause
    for text, when in reversed(hints):
        if when is None or when(evidence):
            return text
    for diagnosis in GENERAL:
        cause = diagnosis(evidence)
        if cause:
            return cause
    return None

