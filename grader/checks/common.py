"""Checks that every step's binary shares: SPEC §2, "Common rules"."""

import errno
import functools
import os
import shutil
import socket
import subprocess
import time

from .. import sandbox
from ..engine import CheckFailed
from ..net import ipv6_loopback_works  # noqa: F401 (the steps' checks use it)
from ..net import ANY_ADDRESSES
from ..text import show

# A PORT must be plain decimal from 1 to 65535: no sign, no spaces, no hex.
BAD_PORTS = ("0", "65536", "-1", "+80", "0x50", "", " 80", "80a", "99999999999999999999")
REFUSED = os.strerror(errno.ECONNREFUSED)
IN_USE = os.strerror(errno.EADDRINUSE)


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
            t.log("note", "skipped here: this machine cannot run a program without network (unshare)")
            return
        client = t.run_command([*prefix, str(t.folder / t.step.binary), host, "4242"])
    client.expect_exit(1)
    client.expect_stderr_mentions(host, "4242")
    client.expect_no_stdout()


def expect_port_in_use(t):
    """Another program listens on PORT: one line naming the port, exit 1."""
    port = t.free_port()
    holder = t.hold(socket.socket())
    holder.bind(("0.0.0.0", port))
    holder.listen(1)
    t.log("note", f"the grader listens on port {port} itself")
    server = t.run(port, valgrind=False)
    with t.hint("when bind() fails, say why on stderr (naming the port) and exit with status 1"):
        server.expect_exit(1)
    server.expect_stderr_mentions(str(port), IN_USE)


def expect_every_address(t, server):
    """The server (started with t.start_server) listens on every local address,
    not on one: INADDR_ANY (or in6addr_any), not 127.0.0.1."""
    if not server.addresses & ANY_ADDRESSES and "?" not in server.addresses:
        raise CheckFailed(
            "your server listens on one address only, not on every local address",
            hint="bind to INADDR_ANY (or in6addr_any), or getaddrinfo with AI_PASSIVE and a NULL host",
        )
