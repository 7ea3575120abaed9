"""Checks that every step's binary shares: SPEC §2, "Common rules"."""

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .. import net, sandbox
from ..engine import CheckFailed
from ..net import ipv6_loopback_works  # noqa: F401 (the steps' checks use it)
from ..net import ANY_ADDRESSES
from ..text import show

# A PORT must be plain decimal from 1 to 65535: no sign, no spaces, no hex.
BAD_PORTS = ("0", "65536", "-1", "+80", "0x50", "", " 80", "80a", "99999999999999999999")
EDGE_PORTS = (1, 65535)  # both ends of the range: accepted
REFUSED = os.strerror(errno.ECONNREFUSED)
IN_USE = os.strerror(errno.EADDRINUSE)
DENIED = os.strerror(errno.EACCES)
RESET = os.strerror(errno.ECONNRESET)
BIND_FAILED = "when bind() fails, say why on stderr (naming the port) and exit with status 1"
RANGE_HINT = "PORT is any plain decimal number from 1 to 65535, both ends included: refuse only value < 1 or value > 65535"


@functools.lru_cache(maxsize=None)
def reasons():
    """Every text gai_strerror() and strerror() can give: one of them is the
    reason a message about a failed lookup or connection must carry."""
    texts = {os.strerror(n) for n in range(1, 134)}
    try:
        libc = ctypes.CDLL(None)
        libc.gai_strerror.restype = ctypes.c_char_p
        texts |= {libc.gai_strerror(code).decode() for code in [*range(-1, -13, -1), *range(-100, -106, -1)]}
    except (OSError, AttributeError):
        texts |= {"Name or service not known", "Temporary failure in name resolution", "No address associated with hostname"}
    return sorted(t for t in texts if t and not t.startswith("Unknown error"))


def skip(t, reason):
    """What the check judges cannot be judged (all of it) on this machine: it
    is reported as not run, with reason, unless what did run fails it."""
    t.log("note", f"not run here: {reason}")
    t.not_run(reason)


def ipv6_hosts(t, hosts=("localhost",)):
    """hosts, then ::1 where this machine has an IPv6 loopback (else the
    check is reported as not run, unless the hosts tried fail it)."""
    if ipv6_loopback_works():
        return [*hosts, "::1"]
    skip(t, f"this machine has no IPv6 loopback (::1): only {', '.join(hosts)} was tried")
    return list(hosts)


def client_bad_args(host="127.0.0.1"):
    return [[], [host], [host, "4242", "extra"]] + [[host, port] for port in BAD_PORTS]


def server_bad_args():
    return [[], ["4242", "extra"]] + [[port] for port in BAD_PORTS]


def expect_usage(t, arg_lists):
    """Each argument list gets a usage line on stderr and exit status 2."""
    programs = [(args, t.run(*args, valgrind=False)) for args in arg_lists]
    t.programs.clear()  # dozens of programs: a failure report shows the failing one only
    deadline = time.monotonic() + t.timeout
    for args, program in programs:
        t.programs[:] = [program]
        shown = " ".join(show(a) if (not a or " " in a) else a for a in args) or "(no arguments)"
        status = program.wait(max(deadline - time.monotonic(), 0.1))
        # the exit status can come before the capture thread has drained stderr
        err = program.stderr.wait_for(lambda d: b"usage" in d.lower(), deadline)
        if status is None or status.code != 2:
            what = "was still running" if status is None else str(status)
            raise CheckFailed(
                f"with the arguments {shown} your program {what}; expected a usage line on stderr and exit status 2",
                [("stderr", show(err))],
                hint="check argc, and parse PORT with strtol and an end pointer: all digits, 1 to 65535",
            )
        if b"usage" not in err.lower():
            raise CheckFailed(
                f"with the arguments {shown} your program exited with status 2 but printed no usage line on stderr",
                [("expected", f'"usage: {t.step.usage}\\n"'), ("stderr", show(err))],
            )
    t.log("note", f"{len(arg_lists)} bad argument lists: each got a usage line and exit status 2")


def expect_refused(t):
    """Connecting to a port where nothing listens: one line on stderr, exit 1."""
    holder = t.hold(_refused_socket())
    port = holder.getsockname()[1]
    client = t.run("127.0.0.1", port)
    with t.hint("when no address of HOST accepts the connection, say why on stderr and exit with status 1"):
        client.expect_exit(1)
    client.expect_stderr_mentions("127.0.0.1", str(port), REFUSED)
    client.expect_no_stdout()


def _refused_socket():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    return holder


@functools.lru_cache(maxsize=None)
def no_network_prefix():
    """A command that runs a program with no network at all, or None."""
    if not shutil.which("unshare"):
        return None
    for prefix in (("unshare", "--net"), ("unshare", "--user", "--map-root-user", "--net")):
        try:
            if subprocess.run(prefix + ("true",), capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def expect_unknown_host(t):
    """A host that cannot be resolved: one line naming it, exit 1. Run with no
    network at all, so the lookup never leaves the machine."""
    host = "no-such-host.invalid"
    if sandbox.student_uid() is not None:  # root: the launcher unshares, then drops to the student uid
        t.log("note", "your program runs with no network at all (a network namespace of its own)")
        client = t.run_command([str(t.folder / t.step.binary), host, "4242"], limits={"netless": True})
    else:
        prefix = no_network_prefix()
        if prefix is None:
            skip(t, "this machine cannot run a program without network (unshare --net), where an unknown host is looked up without leaving it")
            return
        client = t.run_command([*prefix, str(t.folder / t.step.binary), host, "4242"])
    client.expect_exit(1)
    client.expect_stderr_mentions(host, "4242")
    expect_reason(t, client, "gai_strerror(code) for getaddrinfo's code (strerror(errno) for EAI_SYSTEM)")
    client.expect_no_stdout()


def expect_reason(t, program, how):
    """The program's message must carry the reason in the system's words."""
    err = program.stderr.data().decode("utf-8", "replace")
    if not any(reason in err for reason in reasons()):
        raise CheckFailed(
            "your program's message on stderr does not say why (no gai_strerror or strerror text in it)",
            [("stderr", show(program.stderr.data()))],
            hint=f"end the message with the reason in the system's words: {how}",
        )


def expect_port_in_use(t):
    """Another program listens on PORT: one line naming the port, exit 1."""
    port = t.free_port()
    holder = t.hold(socket.socket())
    holder.bind(("0.0.0.0", port))
    holder.listen(1)
    t.log("note", f"the grader listens on port {port} itself")
    server = t.run(port, valgrind=False)
    with t.hint(BIND_FAILED):
        server.expect_exit(1)
    server.expect_stderr_mentions(str(port), IN_USE)


def address(conn):
    """The grader's end of a connection as a server must print it: IP:PORT,
    an IPv6 address in brackets, an IPv4-mapped one in its IPv4 form."""
    ip = conn.local_ip
    if ip.startswith("::ffff:") and "." in ip:
        ip = ip[len("::ffff:") :]
    return f"[{ip}]:{conn.local_port}" if ":" in ip else f"{ip}:{conn.local_port}"


def listens_on_ipv6(server):
    """True if the started server has an IPv6 listening socket (dual-stack, or v6 beside v4)."""
    return any(len(a) == 32 for a in getattr(server, "addresses", ())) and ipv6_loopback_works()


def expect_ipv6_logged(t, server, logged):
    """A server that listens on IPv6 too (welcome, not required) logs an IPv6
    client as [IP]:PORT and an IPv4 one (mapped, ::ffff:a.b.c.d, on a
    dual-stack socket) as IP:PORT; logged(conn) expects the line for conn."""
    hosts = ["::1", "127.0.0.1"]
    if not ipv6_loopback_works():
        skip(t, "this machine has no IPv6 loopback (::1): an IPv4 client was tried, not an IPv6 one")
        hosts.remove("::1")
    elif not listens_on_ipv6(server):
        t.log("note", "your server listens on IPv4 only (IPv6 is welcome, not required): an IPv4 client only")
        hosts.remove("::1")
    for host in hosts:
        with t.hint(
            "print an IPv6 address in brackets, [::1]:PORT, and an IPv4-mapped one (::ffff:127.0.0.1) in its IPv4 form, 127.0.0.1:PORT (IN6_IS_ADDR_V4MAPPED)",
            when=lambda e: bool(e.got) and b"::" in e.got,  # the address is there, in another form
        ):
            logged(t.connect(server.port, host))


def expect_restart(t, server, session, start=None):
    """Stopped (SIGTERM) while a client is connected, the server leaves its
    side of that connection in TIME_WAIT; started again on the same port at
    once, it must bind (SO_REUSEADDR) and serve: session(conn) goes through."""
    start = start or (lambda port: t.start_server(port=port))
    conn = t.connect(server.port)
    session(conn)
    server.stop(signal.SIGTERM)
    conn.read_until(lambda pending: False, within=t.within(1))  # its end of the connection (the system closes it)
    conn.close()
    t.log("note", f"a client was connected when your server stopped: its side of that connection waits in TIME_WAIT; the grader starts your server again on port {server.port}")
    with t.hint(
        "set SO_REUSEADDR on the listening socket before bind(): without it, bind() fails while a connection of the last run waits in TIME_WAIT (listen_on() sets it)",
        when=lambda e: bool(e.ended),  # it could not listen, and gave up
    ):
        again = start(server.port)
    session(t.connect(again.port))


def expect_stops_on_signals(t, session):
    """SIGINT, then SIGTERM (each on a fresh server, after a session): it must
    end (dying of the signal is fine)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = t.start_server()
        session(t.connect(server.port))
        server.stop(sig)


def expect_every_address(t, server):
    """The server (started with t.start_server) listens on every local address,
    not on one: INADDR_ANY (or in6addr_any), not 127.0.0.1."""
    if not server.addresses & ANY_ADDRESSES and "?" not in server.addresses:
        raise CheckFailed(
            "your server listens on one address only, not on every local address",
            hint="bind to INADDR_ANY (or in6addr_any), or getaddrinfo with AI_PASSIVE and a NULL host",
        )


# === Both ends of the port range ================================================


def take_port_lock(port):
    """A lock on a port number outside the range free_port() hands out, or
    None if another grading holds it: a name in Linux's abstract socket
    namespace (released with its socket, leaving no file behind), or a lock
    file where there is none."""
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        holder.bind(f"\0socklab-port-{port}")
        return holder
    except OSError as e:
        holder.close()
        if e.errno == errno.EADDRINUSE:
            return None
    return net.take_lock(net.lock_dir() / f"{port}.lock")


@contextlib.contextmanager
def edge_port(t, port):
    """The grader's lock on a port outside the range free_port() hands out
    (1, 65535), held for the block: two checks never use it at once."""
    deadline = time.monotonic() + t.within() * 4
    lock = take_port_lock(port)
    while lock is None:
        if time.monotonic() > deadline:
            raise CheckFailed(f"the grader could not reserve port {port}: another grading held it for {t.within() * 4:g} s")
        time.sleep(0.05)
        lock = take_port_lock(port)
    gone = time.monotonic() + t.within()
    while net.listeners(port) and time.monotonic() < gone:
        time.sleep(0.05)  # the last holder's listener may still be on its way out
    if net.listeners(port):
        t.log("note", f"another program still listens on port {port} after {t.within():g} s")
    try:
        yield port
    finally:
        lock.close()


def usage_exit(e):
    """A program of the check ended with the usage error's status (2)."""
    return any(p.status is not None and p.status.code == 2 for p in e.programs)


def expect_client_edge_ports(t, session, stdin=None):
    """The client accepts PORT 1 and 65535: session(client, conn) goes through
    there (where the grader can listen on that port), or the client is refused
    by the system; never a usage error."""
    for port in EDGE_PORTS:
        with edge_port(t, port):
            try:
                server = t.serve(port=port)
            except OSError as e:
                if net.listeners(port):
                    skip(t, f"port {port} is taken by another program here ({e.strerror}): your client was not tried there")
                    continue
                t.log("note", f"the grader cannot listen on port {port} here ({e.strerror}): your client must be refused there")
                client = t.run("127.0.0.1", str(port), stdin=stdin, valgrind=False)
                with t.hint(RANGE_HINT, when=usage_exit):
                    client.expect_exit(1)
                client.expect_stderr_mentions(str(port), REFUSED)
                continue
            try:
                client = t.run("127.0.0.1", str(port), stdin=stdin, valgrind=False)
                with t.hint(RANGE_HINT, when=usage_exit):
                    conn = server.accept(client)
                session(client, conn)
                conn.reset()  # no TIME_WAIT left on the port: the next check binds it at once
            finally:
                server.close()
            client.kill()


def expect_server_edge_ports(t, session, stdin=None):
    """The server accepts PORT 1 and 65535: it listens there and session(conn)
    goes through, or the system refuses the port (a message naming it and the
    reason, exit 1: port 1 is privileged, or in use); never a usage error."""
    for port in EDGE_PORTS:
        with edge_port(t, port):
            server = t.run(port, stdin=stdin, valgrind=False)
            try:
                t.wait_listening(server, port)
            except CheckFailed:
                status = server.poll()
                err = server.stderr.data().decode("utf-8", "replace")
                if not (status and status.code == 1 and str(port) in err and (DENIED in err or IN_USE in err)):
                    refused = status is not None and status.code != 2  # not a usage error: bind() failed, or something else
                    raise CheckFailed(
                        f"with the port {port} your server {status or 'did not listen'}; expected it to listen on that port"
                        + (f", or, if the system refuses the port, a message naming it and the reason ({DENIED}), then exit 1" if refused else ""),
                        [("stderr", show(server.stderr.data()))],
                        hint=RANGE_HINT if status is not None and status.code == 2 else BIND_FAILED if refused else None,
                    )
                t.log("note", f"the system refused port {port} to your server, and it said so: fine")
                server.kill()
                continue
            try:
                session(t.connect(port))
            finally:
                server.kill()


# === Host names with several addresses ==========================================

MULTI_HOST = "multi.socklab.test"


@functools.lru_cache(maxsize=None)
def private_hosts_prefix():
    """A command that runs a program with a file bind-mounted over /etc/hosts
    (a mount namespace of its own): `PREFIX HOSTS_FILE PROGRAM ARGS...`; None
    where this machine cannot (no unshare, namespaces not allowed)."""
    if not shutil.which("unshare"):
        return None
    mount = ("sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"')
    with tempfile.NamedTemporaryFile("w", suffix=".hosts") as probe:
        probe.write("127.0.0.1 localhost\n")
        probe.flush()
        for unshare in (("unshare", "--mount"), ("unshare", "--user", "--map-root-user", "--mount")):
            try:
                done = subprocess.run(unshare + mount + (probe.name, "true"), capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0:
                return unshare + mount
    return None


def run_with_hosts(t, hosts, *args, stdin=None):
    """The step's binary with args, where /etc/hosts holds the lines hosts (for
    that program only); None where this machine cannot arrange it."""
    handle, path = tempfile.mkstemp(prefix="hosts-", dir=t.scratch)
    with os.fdopen(handle, "w") as f:
        f.write(hosts)
    os.chmod(path, 0o644)
    argv = [str(t.folder / t.step.binary), *args]
    if sandbox.student_uid() is not None:  # root: the launcher mounts it, then drops to the student uid
        return t.run_command(argv, stdin=stdin, limits={"hosts": path})
    prefix = private_hosts_prefix()
    return t.run_command([*prefix, path, *argv], stdin=stdin) if prefix else None


def expect_tries_each_address(t, stdin=None):
    """HOST names two addresses, the first refuses: the client must go on to
    the second (where the grader listens), as getaddrinfo's list is meant."""
    server = t.serve("127.0.0.2")
    holder = t.hold(socket.socket())
    try:
        holder.bind(("127.0.0.1", server.port))  # bound, never listening: refused
    except OSError:
        pass  # someone holds that port on 127.0.0.1 already, and does not listen there either
    hosts = f"127.0.0.1 localhost\n127.0.0.1 {MULTI_HOST}\n127.0.0.2 {MULTI_HOST}\n"
    client = run_with_hosts(t, hosts, MULTI_HOST, str(server.port), stdin=stdin)
    if client is None:
        skip(t, "this machine cannot give a program a private /etc/hosts (unshare --mount), where a name has two addresses")
        return None, None
    t.log("note", f"{MULTI_HOST} resolves to 127.0.0.1 (nothing listens on port {server.port} there: refused), then 127.0.0.2 (the grader's server)")
    with t.hint("connect() to the first address failed: go on with the next one getaddrinfo gave (ai_next) until one connects"):
        conn = server.accept(client)
    return client, conn
