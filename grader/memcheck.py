"""valgrind memcheck: how to run a program under it, and what its reports say.

Memory errors and leaks come from the XML report; descriptors still open at
exit come from the text log (valgrind 3.19 writes them only there).
"""

import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from . import sandbox

# What fails the memory check. Leaks "still reachable" at exit do not: memory a
# server holds when it is killed is not lost.
SERIOUS_LEAKS = ("Leak_DefinitelyLost", "Leak_IndirectlyLost")
KIND_NAMES = {
    "InvalidRead": "invalid read (outside a buffer, or freed memory)",
    "InvalidWrite": "invalid write (outside a buffer, or freed memory): a buffer overflow?",
    "InvalidFree": "invalid free()",
    "MismatchedFree": "mismatched free() / delete",
    "UninitCondition": "a decision depends on an uninitialised value",
    "UninitValue": "use of an uninitialised value",
    "SyscallParam": "a system call was given uninitialised or invalid memory",
    "Overlap": "overlapping source and destination (memcpy, strcpy)",
    "Leak_DefinitelyLost": "memory leak: definitely lost",
    "Leak_IndirectlyLost": "memory leak: indirectly lost",
    "InvalidMemPool": "invalid memory pool use",
    "FishyValue": "a suspicious size argument (negative?)",
}


def available():
    return shutil.which("valgrind") is not None


def skipped_because():
    """Why programs run without valgrind here (None: they run under it)."""
    if os.environ.get("SOCKLAB_VALGRIND", "1") == "0":
        return "VALGRIND=0 was given"
    if not available():
        return "valgrind is not installed (apt-get install valgrind)"
    return None


def is_native(path):
    """True for an ELF binary (C, C++...): those run under valgrind."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


@dataclass
class Files:
    xml: str
    log: str


def files(folder):
    handle, xml = tempfile.mkstemp(prefix="memcheck-", suffix=".xml", dir=folder)
    handle2, log = tempfile.mkstemp(prefix="memcheck-", suffix=".log", dir=folder)
    for fd in (handle, handle2):
        if sandbox.student_uid() is not None:  # valgrind runs as the student uid
            os.fchown(fd, sandbox.student_uid(), sandbox.student_uid())
        os.close(fd)
    return Files(xml, log)


def command(where):
    return [
        "valgrind",
        "--tool=memcheck",
        "--xml=yes",
        f"--xml-file={where.xml}",
        f"--log-file={where.log}",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite,indirect",
        "--track-fds=yes",
        "--track-origins=yes",
        "--child-silent-after-fork=yes",
        "--num-callers=12",
        # No gdbserver: its FIFOs are named after the PID, which is the same
        # (2) in every PID namespace, so concurrent runs, or a file another
        # user left in /tmp, would collide ("cannot create shared_mem file").
        "--vgdb=no",
    ]


@dataclass
class Error:
    kind: str
    what: str
    stack: list  # "fn (file:line)" strings, innermost first


@dataclass
class Findings:
    errors: list = field(default_factory=list)
    open_fds: list = field(default_factory=list)  # (description, stack lines)
    complete: bool = True


def read(where):
    found = Findings()
    try:
        root = ET.parse(where.xml).getroot()
    except (ET.ParseError, OSError):
        found.complete = False
        root = None
    stacks = []  # with --xml, where each descriptor open at exit was made goes to the XML, bare, in order
    if root is not None:
        for node in root.iter("error"):
            found.errors.append(parse_error(node))
        stacks = [text_stack(node) for node in root.findall("stack")]
    try:
        with open(where.log, errors="replace") as f:
            found.open_fds = parse_fds(f.read(), stacks)
    except OSError:
        pass
    return found


def text_stack(node):
    """A <stack> of the XML as the text log writes it: "at 0x..: fn (file:line)", then "by ..."."""
    lines = []
    for frame in node.findall("frame"):
        place = f"{frame.findtext('file')}:{frame.findtext('line')}" if frame.findtext("file") else frame.findtext("obj", "?")
        lines.append(f"{'by' if lines else 'at'} {frame.findtext('ip', '?')}: {frame.findtext('fn', '???')} ({place})")
    return lines


def parse_error(node):
    kind = node.findtext("kind", "")
    what = node.findtext("what") or node.findtext("xwhat/text") or kind
    stack = []
    frames = node.find("stack")
    for frame in frames if frames is not None else []:
        fn = frame.findtext("fn", "???")
        place = frame.findtext("file")
        line = frame.findtext("line")
        stack.append(f"{fn} ({place}:{line})" if place else f"{fn} ({frame.findtext('obj', '?')})")
    return Error(kind, what, stack)


FD_LINE = re.compile(r"^==\d+== Open (.*)$")


def parse_fds(log, stacks=()):
    """The descriptors valgrind saw open at exit: (description, stack) pairs,
    leaving out those inherited from the grader. With --xml the log has no
    stacks: stacks (the XML's, in order) go to the descriptors that have none."""
    rows, current = [], None
    for line in log.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        match = FD_LINE.match(line)
        if match:
            current = [match.group(1), []]
            rows.append(current)
        elif current is not None and body.strip():
            current[1].append(body.strip())
        else:
            current = None
    stacks = iter(stacks)
    for row in rows:
        if not row[1]:
            row[1] = next(stacks, [])
    return [(d, s) for d, s in rows if not any("inherited from parent" in x for x in s)]


ACCEPTED = re.compile(r"^at 0x[0-9A-Fa-f]+: (?:__libc_)?accept4? ")


def leaked_sockets(open_fds, port=None):
    """The sockets open at exit that are connections, not a server's listener.

    A socket that accept() made is a client's connection, whatever it shows:
    a connection whose peer has left shows as `<-> unbound`, like a listening
    socket, and once the listener is closed it is the only socket on the port.
    Of the others, for a server (port known) exactly one may hold its port.
    """
    sockets = [(d, s) for d, s in open_fds if " socket " in f" {d} "]
    if port is None:
        return [(d, s) for d, s in sockets if "<->" in d and "unbound" not in d.split("<->")[1]]
    accepted = [x for x in sockets if x[1] and ACCEPTED.match(x[1][0])]
    on_port = [x for x in sockets if f":{port} <->" in x[0] and x not in accepted]
    wildcard = [x for x in on_port if re.search(rf"(^|: )(0\.0\.0\.0|::|\[::\]):{port} <->", x[0])]
    listener = (wildcard or on_port or [None])[0]
    return accepted + [x for x in on_port if x is not listener]


def problems(found, allow_sockets=False, port=None):
    """Human lines for every finding that fails the check (empty: clean).
    port: the server's listening port (one socket on it is expected)."""
    lines = []
    for error in found.errors:
        if error.kind.startswith("Leak_") and error.kind not in SERIOUS_LEAKS:
            continue
        lines.append(f"  {KIND_NAMES.get(error.kind, error.kind)}: {error.what}")
        lines += [f"      at {frame}" for frame in user_frames(error.stack)]
    leaked = [] if allow_sockets else leaked_sockets(found.open_fds, port)
    if leaked:
        lines.append(f"  {len(leaked)} client connection(s) still open at exit: close() each client's socket when done with it")
        for description, stack in leaked[:5]:
            lines.append(f"      {description}")
            lines += [f"        {row}" for row in stack[:4]]
    if not found.complete:
        lines.append("  valgrind's report is incomplete: your program was killed before valgrind could finish")
    return lines


def user_frames(stack, keep=6):
    """The frames worth showing: from the first one in the student's code on."""
    for i, frame in enumerate(stack):
        if ".c:" in frame or ".h:" in frame:
            return stack[i : i + keep]
    return stack[:keep]
