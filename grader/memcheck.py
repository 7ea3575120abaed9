"""valgrind memcheck: how to run a program under it, and what its reports say.

Memory errors and leaks come from the XML report; descriptors still open at
exit come from the text log (valgrind 3.19 writes them only there). A verdict
quotes valgrind's own counts: its ERROR SUMMARY (errors from contexts) and its
LEAK SUMMARY (bytes in blocks).

Both are files of the grader's, in a folder only root (or the user grading)
can enter: valgrind, which is the student's program, never opens them. It
writes to two pipes the launcher copies into them while the program runs
(--xml-fd, --log-fd; see the launcher's pipe= option), numbered just under
the program's open-file limit, where valgrind keeps its own descriptors and
refuses the program's write() and close(). A report that holds more than
valgrind writes (a second document, a comment, a processing instruction)
is not believed: the check fails, and says why.
"""

import os
import re
import resource
import shutil
import stat
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .text import plural

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


def skipped_because(path=None):
    """Why the program at path runs without valgrind here (None: it runs under
    it): the reason a memory check is reported as not run, with how to run it."""
    if path is not None and not is_native(path):
        return "your program is not a native binary (a script?): valgrind checks compiled programs only"
    if os.environ.get("SOCKLAB_VALGRIND", "1") == "0":
        return "valgrind is off (VALGRIND=0); VALGRIND=1 runs it"
    if not available():
        return "valgrind is not installed here; apt-get install valgrind, then it runs"
    return None


def is_native(path):
    """True for an ELF binary (C, C++...): those run under valgrind. Only a
    regular file is opened (never a FIFO, which would block, nor a device)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, 4) == b"\x7fELF"
    finally:
        os.close(fd)


@dataclass
class Files:
    xml: str
    log: str
    pipes: dict = field(default_factory=dict)  # descriptor number in the program -> our file's descriptor, until started

    def started(self):
        """The program holds the files now (its launcher does): ours are closed."""
        for fd in self.pipes.values():
            os.close(fd)
        self.pipes = {}


def files(folder, nofile):
    """Two new files in folder (the grader's own, see contain.grader_folder)
    for a program whose open-file limit is nofile."""
    xml_fd, xml = tempfile.mkstemp(prefix="memcheck-", suffix=".xml", dir=folder)
    log_fd, log = tempfile.mkstemp(prefix="memcheck-", suffix=".log", dir=folder)
    top = min(nofile or 1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    return Files(xml, log, {top - 2: xml_fd, top - 1: log_fd})


def command(where):
    xml_fd, log_fd = sorted(where.pipes)
    return [
        "valgrind",
        "--tool=memcheck",
        "--xml=yes",
        f"--xml-fd={xml_fd}",
        f"--log-fd={log_fd}",
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
    unique: str = ""  # valgrind's id of this error context
    count: int = 1  # how many times it happened (a leak record counts once)
    leaked: tuple = (0, 0)  # a leak's (bytes, blocks)


@dataclass
class Findings:
    errors: list = field(default_factory=list)
    open_fds: list = field(default_factory=list)  # (description, stack lines)
    complete: bool = True  # valgrind finished its report (it was not killed first)
    forged: bool = False  # the report holds more than valgrind writes


class NotValgrinds(ET.ParseError):
    """valgrind's report holds what valgrind never writes."""


def read(where):
    found = Findings()
    try:
        root = parse(where.xml)
    except NotValgrinds:
        found.complete, found.forged, root = False, True, None
    except (ET.ParseError, OSError):
        found.complete = False
        root = None
    stacks = []  # with --xml, where each descriptor open at exit was made goes to the XML, bare, in order
    if root is not None:
        counts = {pair.findtext("unique"): int(pair.findtext("count", "1")) for pair in root.iter("pair")}
        for node in root.iter("error"):
            found.errors.append(parse_error(node, counts))
        found.complete = any(node.findtext("state", "").strip() == "FINISHED" for node in root.iter("status"))
        stacks = [text_stack(node) for node in root.findall("stack")]
    try:
        with open(where.log, errors="replace") as f:
            found.open_fds = parse_fds(f.read(), stacks)
    except OSError:
        pass
    return found


def parse(path):
    """The root of valgrind's XML report: ParseError if it is cut short (the
    program was killed), NotValgrinds if it holds anything valgrind does not
    write (a second report, a comment, a processing instruction), which only
    a program forging it would add."""
    with open(path, "rb") as f:
        data = f.read()
    if data.count(b"<valgrindoutput>") > 1:
        raise NotValgrinds("more than one report")
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as error:
        if "junk after document element" in str(error):
            raise NotValgrinds(str(error)) from None
        raise
    if root.tag != "valgrindoutput" or any(not isinstance(node.tag, str) for node in root.iter()):
        raise NotValgrinds("not valgrind's own report")
    return root


def text_stack(node):
    """A <stack> of the XML as the text log writes it: "at 0x..: fn (file:line)", then "by ..."."""
    lines = []
    for frame in node.findall("frame"):
        place = f"{frame.findtext('file')}:{frame.findtext('line')}" if frame.findtext("file") else frame.findtext("obj", "?")
        lines.append(f"{'by' if lines else 'at'} {frame.findtext('ip', '?')}: {frame.findtext('fn', '???')} ({place})")
    return lines


def parse_error(node, counts=None):
    kind = node.findtext("kind", "")
    what = node.findtext("what") or node.findtext("xwhat/text") or kind
    unique = node.findtext("unique", "")
    leaked = (int(node.findtext("xwhat/leakedbytes", "0")), int(node.findtext("xwhat/leakedblocks", "0")))
    stack = []
    frames = node.find("stack")
    for frame in frames if frames is not None else []:
        fn = frame.findtext("fn", "???")
        place = frame.findtext("file")
        line = frame.findtext("line")
        stack.append(f"{fn} ({place}:{line})" if place else f"{fn} ({frame.findtext('obj', '?')})")
    return Error(kind, what, stack, unique, (counts or {}).get(unique, 1), leaked)


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


def serious(found):
    """The errors that fail the check: memory errors, and leaks definitely or
    indirectly lost (memory still reachable at exit is not lost)."""
    return [e for e in found.errors if not e.kind.startswith("Leak_") or e.kind in SERIOUS_LEAKS]


def summary(found):
    """valgrind's own counts, as its text summary gives them: the ERROR
    SUMMARY ("3 errors from 2 contexts") and the LEAK SUMMARY lines
    ("definitely lost: 300 bytes in 3 blocks") with something lost."""
    errors = serious(found)
    said = [f"ERROR SUMMARY: {plural(sum(e.count for e in errors), 'error')} from {plural(len(errors), 'context')}"]
    for kind in SERIOUS_LEAKS:
        leaks = [e.leaked for e in errors if e.kind == kind]
        if leaks:
            lost, blocks = sum(b for b, _ in leaks), sum(n for _, n in leaks)
            said.append(f"{KIND_NAMES[kind].split(': ')[1]}: {lost:,} bytes in {plural(blocks, 'block')}")
    return said


def problems(found, allow_sockets=False, port=None):
    """Human lines for every finding that fails the check (empty: clean).
    port: the server's listening port (one socket on it is expected)."""
    lines = []
    for error in serious(found):
        times = f" ({error.count} times)" if error.count > 1 else ""
        lines.append(f"  {KIND_NAMES.get(error.kind, error.kind)}: {error.what}{times}")
        lines += [f"      at {frame}" for frame in user_frames(error.stack)]
    leaked = [] if allow_sockets else leaked_sockets(found.open_fds, port)
    if leaked:
        lines.append(f"  {len(leaked)} client connection(s) still open at exit: close() each client's socket when done with it")
        for description, stack in leaked[:5]:
            lines.append(f"      {description}")
            lines += [f"        {row}" for row in stack[:4]]
    if found.forged:
        lines.append(f"  {FORGED}")
    elif not found.complete:
        lines.append("  valgrind's report is incomplete: your program was killed before valgrind could finish")
    return lines


FORGED = "valgrind's report holds more than valgrind wrote (your program wrote into valgrind's own output): it is not believed"


def verdict(found, allow_sockets=False, port=None):
    """(message, likely cause) of the memory check, or None when it passes.
    The message quotes valgrind's counts, then the connections left open."""
    errors, leaked = serious(found), [] if allow_sockets else leaked_sockets(found.open_fds, port)
    said = summary(found) if errors else []
    if leaked:
        said.append(f"{plural(len(leaked), 'client connection')} still open at exit")
    if found.forged:
        said.append(FORGED)
    elif not found.complete:
        said.append("its report is incomplete (your program was killed before valgrind could finish)")
    if not said:
        return None
    kinds = {e.kind for e in errors} | ({"socket"} if leaked else set())
    return "valgrind: " + "; ".join(said), (CAUSES.get(kinds.pop()) if len(kinds) == 1 else None) or "fix the first one first: the others often follow from it"


CAUSES = {
    "Leak_DefinitelyLost": "free() every block your program malloc()ed once it is done with it: the 'at' lines say where each lost block was allocated",
    "Leak_IndirectlyLost": "free() every block your program malloc()ed once it is done with it: the 'at' lines say where each lost block was allocated",
    "InvalidWrite": "a write outside a buffer (a buffer overflow, or freed memory): the first 'at' line in your code is where it happened",
    "InvalidRead": "a read outside a buffer (past its end, or freed memory): the first 'at' line in your code is where it happened",
    "socket": "close() each client's socket once it is done with it: shutdown() ends the connection but does not free the descriptor",
}


def last_words(where):
    """valgrind's own messages when it ended without its summary (it could not
    start, or it was killed): the program's output alone would not say why.
    Its listing of the descriptors open at exit is left out: the verdict
    names those that matter, and the ones it inherited are the grader's."""
    if where is None or read(where).complete:
        return []
    try:
        with open(where.log, errors="replace") as f:
            log = f.read()
    except OSError:
        return []
    banner = ("Memcheck, a memory", "Copyright (C)", "Using Valgrind", "Command:", "Parent PID:", "FILE DESCRIPTORS:")
    said, listing = [], False
    for line in log.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if FD_LINE.match(line):
            listing = True  # an open descriptor, then its lines, up to a blank one
        elif not body.strip():
            listing = False
        elif not listing and not body.startswith(banner):
            said.append(line)
    return said[-8:]


def user_frames(stack, keep=6):
    """The frames worth showing: from the first one in the student's code on."""
    for i, frame in enumerate(stack):
        if ".c:" in frame or ".h:" in frame:
            return stack[i : i + keep]
    return stack[:keep]
