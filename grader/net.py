"""The grader's side of a socket session: ports, connections, scripted servers.

A check never touches a raw socket: it says `send`, `expect`, `expect_line`,
`expect_closed`, `reset`, and this module keeps the deadlines, the buffering
and the transcript lines that explain a failure.
"""

import errno
import fcntl
import os
import random
import select
import socket
import stat
import struct
import tempfile
import time
from pathlib import Path

from .text import show, first_difference


class CheckFailed(Exception):
    """A check's verdict: what went wrong, the evidence, and the likely cause.

    Besides the lines shown (evidence), a failure keeps the raw bytes it saw,
    for the diagnoses (grader/diagnoses.py) to read: what was expected, what
    came instead (got), on which connection (conn, a Conn) or from which
    program's stdout (program, channel "stdout"), and the request a wrong reply
    answers. hints are the check's own likely causes, innermost first, each
    with the condition on the evidence under which it holds (None: always)."""

    def __init__(self, message, evidence=(), hint=None, expected=None, got=None, conn=None, channel=None, request=None, program=None):
        super().__init__(message)
        self.message = message
        self.evidence = list(evidence)  # (label, text) pairs: expected, received...
        self.hints = []  # (text, when): when(evidence) says if it fits; None: it always does
        self.hint = hint
        self.expected, self.got, self.conn, self.channel, self.request = expected, got, conn, channel, request
        self.program = program  # the program whose output it is about (channel "stdout")
        self.facts = {}  # anything else a check saw, for a diagnosis of its own kind
        self.cause = None  # the likely cause chosen from the evidence (engine.run_check)

    @property
    def hint(self):
        """The outermost hint (the one a check gave last)."""
        return self.hints[-1][0] if self.hints else None

    @hint.setter
    def hint(self, text):
        self.add_hint(text)

    def add_hint(self, text, when=None):
        """A likely cause, outside those already given: it is tried first."""
        if text:
            self.hints.append((text, when))


# === Ports =====================================================================

PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range: no client takes them
LOCK_DIR = Path(tempfile.gettempdir()) / "socklab-ports"
_handed_out = set()  # ports this process gave already: never twice (TIME_WAIT)


class Port(int):
    """A port number reserved for this process until release() (a file lock)."""

    def release(self):
        lock = getattr(self, "lock", None)
        if lock is not None:
            try:  # the file goes with the lock: /tmp keeps no trail of ports
                os.unlink(self.lock_path)
            except OSError:
                pass  # another user's file in the sticky folder: left as is
            lock.close()
            self.lock = None


def tcp_sockets(port=None, states=None):
    """(local_ip_hex, port, state) of the TCP sockets in this network namespace
    (only those on port, or in states, when given; states as in /proc/net/tcp)."""
    return [(ip, sport, state) for ip, sport, _, state, _, _ in _sockets(port, states)]


def unread_bytes(port, peer_port):
    """Bytes waiting in the receive queue of the TCP socket on local port
    `port` connected to `peer_port` (data its program has not read yet), or
    None if there is no such socket."""
    for _, _, dport, state, queue, _ in _sockets(port, {"01"}):  # ESTABLISHED
        if dport == peer_port:
            return queue
    return None


def listener_inodes(port):
    """The inodes of the sockets listening on port (a process holding one has
    "socket:[INODE]" among its descriptors), or None when they cannot be told."""
    inodes = {inode for *_, inode in _sockets(port, {LISTEN})}
    return None if not inodes or 0 in inodes else inodes


def _sockets(port, states):
    """(local_ip_hex, port, peer_port, state, receive_queue, inode) of the TCP
    sockets, through sock_diag, or the text tables of /proc where it is missing."""
    rows = diag_sockets(port, states)  # filtered by the kernel
    if rows is not None:
        return rows
    rows = []  # no sock_diag (not Linux, or filtered): the text tables, filtered here
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()  # sl local remote st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...
                    ip, number = fields[1].split(":")
                    queue = int(fields[4].split(":")[1], 16)
                    rows.append((ip, int(number, 16), int(fields[2].split(":")[1], 16), fields[3], queue, int(fields[9])))
        except OSError:
            pass
    return [r for r in rows if (port is None or r[1] == port) and (states is None or r[3] in states)]


# sock_diag (netlink): the kernel filters the sockets by state and port itself.
# Reading /proc/net/tcp makes it format every socket as text, thousands of them
# when a check holds a crowd of clients, on every poll of every other check.
NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 4, 20
NLM_F_REQUEST, NLM_F_DUMP, NLMSG_DONE, NLMSG_ERROR = 1, 0x300, 3, 2
INET_DIAG_REQ_BYTECODE, INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE = 1, 2, 3


def diag_sockets(port=None, states=None):
    """_sockets() through sock_diag, or None where it is not available."""
    mask = 0xFFF if states is None else sum(1 << int(state, 16) for state in states)
    rows = []
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(5)
            for family in (socket.AF_INET, socket.AF_INET6):
                # inet_diag_req_v2: family, protocol, extensions, states, an unused socket id
                request = struct.pack("=BBBxI", family, socket.IPPROTO_TCP, 0, mask) + bytes(48)
                if port is not None:  # bytecode: sport >= port, then sport <= port
                    code = struct.pack("=BBHHH", INET_DIAG_BC_S_GE, 8, 20, 0, port)
                    code += struct.pack("=BBHHH", INET_DIAG_BC_S_LE, 8, 12, 0, port)
                    request += struct.pack("=HH", 4 + len(code), INET_DIAG_REQ_BYTECODE) + code
                header = struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
                nl.send(header + request)
                if not _diag_answers(nl, family, rows):
                    return None
    except OSError:
        return None
    return rows


def _diag_answers(nl, family, rows):
    """Reads one dump's messages into rows; False on a netlink error."""
    width = 4 if family == socket.AF_INET else 16
    while True:
        data = nl.recv(1 << 16)
        at = 0
        while at + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, at)
            if kind == NLMSG_DONE:
                return True
            if kind == NLMSG_ERROR or length < 16:
                return False
            # inet_diag_msg (after the 16-byte netlink header): family, state,
            # timer, retrans; the id: sport, dport (big-endian), src[16], dst[16],
            # interface, cookie[2]; then expires, rqueue, wqueue, uid, inode
            state = data[at + 17]
            sport, dport = struct.unpack_from("!HH", data, at + 20)
            src = data[at + 24 : at + 24 + width]
            queue, inode = struct.unpack_from("=I", data, at + 72)[0], struct.unpack_from("=I", data, at + 84)[0]
            rows.append((_proc_hex(src), sport, dport, f"{state:02X}", queue, inode))
            at += (length + 3) & ~3


def _proc_hex(address):
    """An address as /proc/net/tcp writes it: each 32-bit word in host order, hex."""
    words = struct.unpack(f"={len(address) // 4}I", address)
    return "".join(f"{word:08X}" for word in words)


def port_is_idle(port):
    """True if no socket uses the port in any state (TIME_WAIT included) and it binds."""
    if tcp_sockets(port):
        return False
    probe = socket.socket()
    try:
        probe.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def lock_dir(shared=True):
    """The folder of port locks: LOCK_DIR, shared by every grader of the
    machine (sticky and writable by all, like /tmp) if it is a real folder,
    never a link, that root or we own; else a private one of ours. Someone
    who made LOCK_DIR first, or a link to /etc in its place, gets nothing."""
    if shared:
        try:
            os.mkdir(LOCK_DIR)
            fd = os.open(LOCK_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            os.fchmod(fd, 0o1777)  # mkdir's mode is cut by the umask
            os.close(fd)
        except OSError:
            pass
        st = _lstat(LOCK_DIR)
        if st and stat.S_ISDIR(st.st_mode) and st.st_uid in (0, os.geteuid()) and st.st_mode & 0o1777 == 0o1777:
            return LOCK_DIR
    mine = LOCK_DIR.with_name(f"{LOCK_DIR.name}-{os.geteuid()}")
    try:
        os.mkdir(mine, 0o700)
    except OSError:
        pass
    st = _lstat(mine)
    if st and stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077:
        return mine
    return Path(tempfile.mkdtemp(prefix="socklab-ports-"))  # both names taken by someone else


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def take_lock(path):
    """A file lock on path, or None if someone holds it (read access is
    enough). Never through a link, never a FIFO (whose opening would block)
    nor a device: only a regular file is locked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Its holder may have unlinked it just before we locked it (release):
        # then the lock is only ours if the path still names this very file.
        if os.lstat(path).st_ino != os.fstat(fd).st_ino:
            raise OSError("lock file replaced")
    except OSError:
        os.close(fd)
        return None
    return os.fdopen(fd)


def free_port():
    """A port nobody uses, locked against other graders on this machine (in
    a private folder if the shared one gives none: filled by someone else)."""
    for shared in (True, False):
        folder = lock_dir(shared)
        for _ in range(500):
            port = random.randint(*PORT_RANGE)
            if port in _handed_out:
                continue
            lock = take_lock(folder / f"{port}.lock")
            if lock is None:
                continue
            if port_is_idle(port):
                _handed_out.add(port)
                reserved = Port(port)
                reserved.lock, reserved.lock_path = lock, folder / f"{port}.lock"
                return reserved
            lock.close()
    raise RuntimeError("no free TCP port found in 1000 tries")


LISTEN = "0A"
ANY_ADDRESSES = {"00000000", "00000000000000000000000000000000"}


def listeners(port):
    """The local addresses (hex, as in /proc/net/tcp) listening on port, or None
    when /proc/net/tcp cannot tell (not Linux)."""
    rows = tcp_sockets(port, {LISTEN})
    if not rows and not os.path.exists("/proc/net/tcp"):
        return None
    return {ip for ip, _, _ in rows}


def refused_port():
    """A bound socket that does not listen: connecting to its port is refused."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder


def ipv6_loopback_works():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# === Connections ===============================================================


class Conn:
    """One TCP connection held by the grader, with deadlines on every wait."""

    def __init__(self, sock, log, timeout, name="connection"):
        self.sock = sock
        self.log = log
        self.timeout = timeout
        self.name = name
        self.pending = b""  # received, not yet consumed by an expect
        self.eof = False
        self.error = None  # an OSError seen while reading (reset)
        self.sent, self.pieces = b"", 0  # the last send(): its bytes, in how many pieces

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    @property
    def local_ip(self):
        return self.sock.getsockname()[0]

    # --- sending ---

    def wait_taken(self, within=None, fallback=0.2):
        """Wait until the peer's program has read every byte sent (its socket
        holds none unread), at most within seconds: True if it did. Where that
        socket cannot be seen (a remote peer), a pause of fallback seconds."""
        try:
            theirs, ours = self.sock.getpeername()[1], self.sock.getsockname()[1]
        except OSError:
            return False
        deadline = time.monotonic() + (within or self.timeout)
        unread = unread_bytes(theirs, ours)
        if unread is None:
            time.sleep(fallback)
            return False
        while unread and time.monotonic() < deadline:
            time.sleep(0.005)
            unread = unread_bytes(theirs, ours)
        return unread == 0

    def send(self, data, pieces=1, pause=0.05, quiet=False):
        """Send data, optionally cut into pieces with a pause between them."""
        if isinstance(data, str):
            data = data.encode()
        size = max(1, -(-len(data) // pieces))
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        self.sent, self.pieces = data, len(chunks)
        if not quiet:
            how = f"  (in {len(chunks)} pieces, {pause * 1000:.0f} ms apart)" if len(chunks) > 1 else ""
            self.log("sent", show(data) + how)
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(pause)
            try:
                self.sock.settimeout(self.timeout)
                self.sock.sendall(chunk)
            except socket.timeout:
                raise CheckFailed(
                    f"could not send within {self.timeout:g} s: your program is not reading",
                    hint="a program that stops reading its socket blocks its peer",
                    conn=self,
                )
            except OSError as e:
                sent = sum(map(len, chunks[:i]))
                failure = CheckFailed(
                    f"the grader could not send everything: your program had closed the connection "
                    f"after {sent} of {len(data)} bytes ({e.strerror})",
                    hint="your program closed its socket too early",
                    conn=self,
                )
                failure.facts["peer closed"] = True
                raise failure

    def shutdown_write(self):
        self.log("note", "the grader half-closed its side (shutdown SHUT_WR)")
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()

    def reset(self):
        """Close with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    # --- receiving ---

    def _fill(self, deadline):
        """Read once more into pending; False on EOF, reset or deadline."""
        if self.eof or self.error:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError as e:
            self.error = e
            return False
        if not chunk:
            self.eof = True
            return False
        self.pending += chunk
        return True

    def read_until(self, done, within=None):
        """Read until done(pending) holds; returns (pending, why) with why one of
        'ok', 'eof', 'reset', 'timeout'. Nothing is consumed."""
        deadline = time.monotonic() + (within or self.timeout)
        while not done(self.pending):
            if not self._fill(deadline):
                return self.pending, self._why_stopped()
        return self.pending, "ok"

    def _why_stopped(self):
        if self.error is not None:
            return "reset"
        return "eof" if self.eof else "timeout"

    def _explain(self, why, within):
        return {
            "eof": "then the connection was closed",
            "reset": f"then the connection was reset ({getattr(self.error, 'strerror', '')})",
            "timeout": f"then nothing more for {within or self.timeout:g} s",
        }[why]

    def expect(self, data, within=None):
        """The next bytes must be exactly data."""
        if isinstance(data, str):
            data = data.encode()
        within = within or self.timeout
        got, why = self.read_until(lambda p: len(p) >= len(data) or not data.startswith(p), within)
        received = got[: len(data)]
        if received == data:
            self.pending = got[len(data) :]
            self.log("received", show(data))
            return data
        at = first_difference(data, received)
        if data.startswith(received):
            message = f"received only {len(received)} of the {len(data)} bytes expected; {self._explain(why, within)}"
        else:
            message = f"the bytes differ from byte {at} on"
        raise CheckFailed(message, [("expected", show(data)), ("received", show(got))], expected=data, got=got, conn=self, channel="socket")

    def expect_line(self, line, within=None):
        """The next line must be line (without its '\\n')."""
        if isinstance(line, str):
            line = line.encode()
        return self.expect(line + b"\n", within)

    def read_line(self, within=None):
        """The next line, without its '\\n'; fails if none comes."""
        within = within or self.timeout
        got, why = self.read_until(lambda p: b"\n" in p, within)
        if why != "ok":
            raise CheckFailed(f"expected a line ending in \\n; {self._explain(why, within)}", [("received", show(got))], got=got, conn=self, channel="socket")
        line, _, self.pending = got.partition(b"\n")
        self.log("received", show(line + b"\n"))
        return line

    def read_all(self, within=None):
        """Everything until the peer closes (fails on a timeout)."""
        within = within or self.timeout
        got, why = self.read_until(lambda p: False, within)
        if why == "timeout":
            raise CheckFailed(
                f"the connection was still open after {within:g} s",
                [("received", show(got))],
                hint="close the socket when you are done with it",
                got=got,
                conn=self,
                channel="socket",
            )
        self.pending = b""
        return got

    def expect_closed(self, within=None):
        """Nothing more may arrive, and the peer must close (FIN or reset)."""
        within = within or self.timeout
        got, why = self.read_until(lambda p: bool(p), within)
        if got:
            raise CheckFailed(
                "expected the connection to be closed, but more bytes came",
                [("expected", "(the connection closed)"), ("received", show(got))],
                expected=b"",
                got=got,
                conn=self,
                channel="socket",
            )
        if why == "timeout":
            raise CheckFailed(
                f"expected the connection to be closed; it was still open after {within:g} s",
                hint="close() the client's socket once you are done with it",
                conn=self,
                channel="socket",
            )
        self.log("received", "(the connection closed)" if why == "eof" else "(the connection was reset)")


def connect(host, port, log, timeout, bind=None, family=None, options=()):
    """A Conn to host:port; fails the check with the reason if it cannot.
    options: (level, name, value) socket options set before connecting (a
    small receive buffer, a small segment size: they are agreed then)."""
    family = family or (socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        for level, name, value in options:
            sock.setsockopt(level, name, value)
        if bind:
            sock.bind((bind, 0))
        sock.settimeout(timeout)
        sock.connect((host, port))
    except OSError as e:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        failure = CheckFailed(f"could not connect to {where}: {e.strerror or e}")
        failure.facts["refused"] = e.errno == errno.ECONNREFUSED
        if e.errno == errno.ECONNREFUSED:  # the server is still running, yet refuses: it listens on one address only
            failure.add_hint("nothing listens there: did your server bind and listen on every address (INADDR_ANY)?", when=lambda seen: not seen.ended)
        raise failure
    log("note", f"connected to {host}:{port} from {sock.getsockname()[0]}:{sock.getsockname()[1]}")
    return Conn(sock, log, timeout)


class ScriptedServer:
    """A listening socket played by the grader, for checking a student's client.

    host "localhost" listens on 127.0.0.1 and, where it can, on ::1 with the
    same port: a client may try either address first.
    """

    def __init__(self, log, timeout, host="127.0.0.1", port=0, conns=None):
        self.log = log
        self.accepted = conns if conns is not None else []  # the Conns of the clients it accepted
        self.timeout = timeout
        self.host = host
        first = "127.0.0.1" if host == "localhost" else host
        self.socks = [self._listen(first, port)]
        self.port = self.socks[0].getsockname()[1]
        if host == "localhost":
            try:
                self.socks.append(self._listen("::1", self.port))
            except OSError:
                pass  # no IPv6 here, or the port is taken there: IPv4 alone

    @staticmethod
    def _listen(host, port):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port:  # a port chosen by the grader may still be in TIME_WAIT from its last use
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    def accept(self, program=None, within=None):
        """The next client's Conn; fails early if program ends before connecting."""
        within = within or self.timeout
        deadline = time.monotonic() + within
        while True:
            ready, _, _ = select.select(self.socks, [], [], min(0.05, max(deadline - time.monotonic(), 0)))
            if ready:
                try:
                    sock, peer = ready[0].accept()
                    break
                except (BlockingIOError, ConnectionAbortedError):
                    continue
            status = program.poll() if program is not None else None
            if status is not None:
                raise CheckFailed(f"your client {status} without connecting to the grader's server")
            if time.monotonic() >= deadline:
                raise CheckFailed(f"your client did not connect within {within:g} s")
        sock.setblocking(True)
        self.log("note", f"your client connected from {peer[0]}:{peer[1]}")
        self.accepted.append(Conn(sock, self.log, self.timeout, name="client"))
        return self.accepted[-1]

    def close(self):
        for sock in self.socks:
            sock.close()
