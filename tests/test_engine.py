"""Self-tests of the grader's machinery: the sandbox, ports, escaping, scoring,
valgrind's reports. Each runs both with and without a PID namespace where the
difference matters."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from conftest import KIT
from grader import contain, engine, memcheck, net, registry, runner, sandbox, text
from grader.engine import Outcome

@pytest.fixture
def tmp_path():
    """A folder the programs under test can reach: as root, the sandbox runs
    them as the student uid, and pytest's own tmp_path is private to root."""
    path = Path(tempfile.mkdtemp(prefix="socklab-test-"))
    os.chmod(path, 0o755)
    sandbox.hand_over(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


SANDBOX_MODES = [pytest.param(True, id="pid-namespace"), pytest.param(False, id="subreaper")]


@pytest.fixture(params=SANDBOX_MODES)
def mode(request, monkeypatch):
    if request.param:
        if not sandbox.pid_namespace_prefix():
            pytest.skip("no PID namespace on this machine")
    else:
        monkeypatch.setattr(sandbox, "pid_namespace_prefix", lambda: ())
    return request.param


def compile_c(tmp_path, source, name="prog"):
    (tmp_path / f"{name}.c").write_text(textwrap.dedent(source))
    subprocess.run(["cc", "-std=gnu17", "-O0", "-g", "-o", name, f"{name}.c"], cwd=tmp_path, check=True)
    return str(tmp_path / name)


def alive(pids):
    return [p for p in pids if sandbox.process_state(p) not in (None, "Z")]


# === Sandbox ===================================================================


def test_exit_status_is_reported(tmp_path, mode):
    program = sandbox.Program(["sh", "-c", "echo out; echo err >&2; exit 3"], tmp_path)
    status = program.wait(10)
    program.kill()
    assert (status.kind, status.code) == ("exit", 3)
    assert program.stdout.data() == b"out\n" and program.stderr.data() == b"err\n"


def test_death_by_signal_is_reported(tmp_path, mode):
    program = sandbox.Program(["sh", "-c", "kill -SEGV $$"], tmp_path)
    status = program.wait(10)
    program.kill()
    assert status.signal == signal.SIGSEGV
    assert str(status) == "was killed by SIGSEGV"


@pytest.mark.parametrize("make", [pytest.param("missing", id="missing"), pytest.param("not-executable", id="not-executable")])
def test_a_program_that_cannot_start_is_reported(tmp_path, make):
    path = tmp_path / "client"
    if make == "not-executable":
        path.write_text("#!/bin/sh\necho hi\n")
    program = sandbox.Program([str(path)], tmp_path)
    status = program.wait(10)
    program.kill()
    assert status.kind == "exec"
    assert "could not be started" in str(status)


def test_signals_reach_a_program_even_if_the_grader_ignored_them(tmp_path, mode):
    # A non-interactive shell may start us with SIGINT ignored; the program must not inherit that.
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        program = sandbox.Program(["sleep", "100"], tmp_path)
    finally:
        signal.signal(signal.SIGINT, old)
    time.sleep(0.2)
    program.signal(signal.SIGINT)
    status = program.wait(10)
    program.kill()
    assert status.signal == signal.SIGINT


def test_kill_reaches_children_that_called_setsid(tmp_path, mode):
    binary = compile_c(
        tmp_path,
        r"""
        #include <stdio.h>
        #include <unistd.h>
        int main(void) {
            for (int i = 0; i < 3; i++) {
                if (fork() == 0) {
                    setsid();
                    if (fork() == 0) { printf("%d\n", getpid()); fflush(stdout); for (;;) pause(); }
                    for (;;) pause();
                }
            }
            for (;;) pause();
        }
        """,
    )
    program = sandbox.Program([binary], tmp_path)
    deadline = time.monotonic() + 10
    out = program.stdout.wait_for(lambda d: d.count(b"\n") >= 3, deadline)
    # Inside a PID namespace the printed pids are the namespace's; find them from outside.
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and runs(p, binary)]
    assert out.count(b"\n") == 3 and len(pids) >= 7
    program.kill()
    time.sleep(0.1)
    assert alive(pids) == []


def runs(pid, binary):
    """True if process pid runs that file. By inode, not by the link's text:
    seen from a chroot, the program's own mount namespace (--mount-proc) names
    its file from the machine's root, not the chroot's."""
    try:
        found, wanted = os.stat(f"/proc/{pid}/exe"), os.stat(binary)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == (wanted.st_dev, wanted.st_ino)


def test_output_is_capped_keeping_head_and_tail(tmp_path, mode):
    program = sandbox.Program(["sh", "-c", "echo FIRST; head -c 20000000 /dev/zero; echo LAST"], tmp_path)
    program.wait(20)
    program.kill()
    out = program.stdout
    assert out.total == 20000000 + 11
    assert out.truncated and len(out.data()) <= sandbox.OUTPUT_CAP
    assert out.data().startswith(b"FIRST\n") and out.data().endswith(b"LAST\n")


def test_waiting_for_output_ends_when_the_program_has_exited(tmp_path, mode):
    """The pipe stays open while the launcher lives, yet a wait for output the
    program never wrote ends once it has exited, with every byte it wrote."""
    program = sandbox.Program(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; echo end >&2; exit 1"], tmp_path)
    started = time.monotonic()
    err = program.stderr.wait_for(lambda d: b"usage" in d, started + 20)
    assert time.monotonic() - started < 5
    assert program.wait(5).code == 1  # (the pipe may close before the status comes)
    assert err == b"x" * 300000 + b"end\n"


def test_once_wait_returns_the_output_is_all_there(tmp_path, mode, monkeypatch):
    """A check that reads stdout right after the exit status sees every byte
    written before the exit, even when the thread that drains the pipe is
    slow (a loaded machine; here it naps before each read)."""

    class SlowPoll:
        def __init__(self):
            self.poller = real_poll()

        def register(self, *args):
            self.poller.register(*args)

        def poll(self, *args):
            events = self.poller.poll(*args)
            time.sleep(0.3)
            return events

    real_poll = sandbox.select.poll
    monkeypatch.setattr(sandbox.select, "poll", SlowPoll)
    program = sandbox.Program(["sh", "-c", "head -c 60000 /dev/zero | tr '\\0' x; echo end"], tmp_path)
    try:
        assert program.wait(10).code == 0
        assert program.stdout.data() == b"x" * 60000 + b"end\n"
    finally:
        program.kill()


def test_a_long_wait_for_the_exit_does_not_hold_up_the_output(tmp_path):
    """One thread waits for the program to end while another waits for a
    line of its output: the line is seen as soon as it comes."""
    import threading

    program = sandbox.Program(["sh", "-c", "sleep 0.2; echo hi; sleep 3"], tmp_path)
    try:
        threading.Thread(target=program.wait, args=(10,), daemon=True).start()
        started = time.monotonic()
        assert program.stdout.wait_for(lambda d: b"hi\n" in d, started + 10) == b"hi\n"
        assert time.monotonic() - started < 2
    finally:
        program.kill()


def test_cpu_limit_stops_a_spinning_program(tmp_path):
    program = sandbox.Program(["sh", "-c", "while :; do :; done"], tmp_path, limits={"cpu": 1})
    status = program.wait(20)
    program.kill()
    assert status is not None and status.signal in (signal.SIGXCPU, signal.SIGKILL)


def test_memory_limit_makes_a_huge_allocation_fail(tmp_path):
    binary = compile_c(
        tmp_path,
        """
        #include <stdlib.h>
        int main(void) { return malloc((size_t)4 << 30) == NULL ? 7 : 0; }
        """,
    )
    program = sandbox.Program([binary], tmp_path)
    status = program.wait(10)
    program.kill()
    assert status.code == 7


@pytest.mark.skipif(os.uname().machine not in sandbox.READ_CALLS, reason="no table of read() calls for this architecture")
def test_a_program_that_only_waits_for_its_stdin_is_seen_so(tmp_path, mode):
    """sleeps_reading_stdin: True for a program whose every thread sleeps in a
    read() of fd 0 (the lockstep chat programs' way of not seeing their
    socket), False for one sleeping elsewhere or with a thread that does."""
    threads = compile_c(tmp_path, """
        #include <pthread.h>
        #include <unistd.h>
        static void *nap(void *arg) { (void)arg; sleep(100); return NULL; }
        int main(void) { pthread_t t; char c; pthread_create(&t, NULL, nap, NULL); return (int)read(0, &c, 1); }
    """, "threads")  # glibc 2.34 and later: pthread is in libc
    expected = {("cat",): True, ("sleep", "100"): False, (threads,): False}
    for argv, waits in expected.items():
        program = sandbox.Program(list(argv), tmp_path, stdin="pipe")
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sandbox.sleeps_reading_stdin(program) != waits:
                time.sleep(0.05)
            assert sandbox.sleeps_reading_stdin(program) == waits, argv
        finally:
            program.kill()


# === Ports =====================================================================


def test_free_ports_are_distinct_and_idle():
    ports = [net.free_port() for _ in range(20)]
    try:
        assert len(set(ports)) == 20
        assert all(net.PORT_RANGE[0] <= p <= net.PORT_RANGE[1] for p in ports)
        for p in ports:
            s = socket.socket()
            s.bind(("0.0.0.0", p))  # nobody uses it
            s.close()
    finally:
        for p in ports:
            p.release()
    assert not [p for p in ports if p.lock_path.exists()], "a released port left its lock file"


def test_a_lock_file_unlinked_by_its_holder_is_not_taken(tmp_path, monkeypatch):
    """release() unlinks the lock file. A grader that opened the old file just
    before, and locks it just after, must see that the path now names another
    file, and give up that port."""
    path = tmp_path / "4242.lock"
    real_flock = net.fcntl.flock

    def released_meanwhile(fd, how):
        os.unlink(path)  # the holder releases the port...
        path.write_text("")  # ...and a third grader creates the file again
        real_flock(fd, how)

    monkeypatch.setattr(net.fcntl, "flock", released_meanwhile)
    assert net.take_lock(path) is None
    monkeypatch.setattr(net.fcntl, "flock", real_flock)
    lock = net.take_lock(path)
    assert lock is not None
    lock.close()


def test_listeners_sees_a_listening_socket_without_connecting():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    assert net.listeners(port) == set()
    s.listen(1)
    assert net.listeners(port) == {"0100007F"}
    s.close()


def proc_net_tcp():
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            next(f)
            for line in f:
                fields = line.split()
                ip, port = fields[1].split(":")
                rows.append((ip, int(port, 16), fields[3]))
    return rows


def test_sock_diag_sees_what_proc_net_tcp_shows(monkeypatch):
    """net.tcp_sockets asks the kernel through sock_diag (netlink), filtered by
    port and state; /proc/net/tcp (text) must show the same sockets, and so
    must net's own fallback that reads it where sock_diag is missing."""
    if net.diag_sockets() is None:
        pytest.skip("no sock_diag here: /proc/net/tcp is read instead")
    listener = socket.socket(socket.AF_INET6)
    listener.bind(("::", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    try:
        for states in (None, {net.LISTEN}, {"01"}):
            diag = sorted(net.tcp_sockets(port, states))
            text = sorted(r for r in proc_net_tcp() if r[1] == port and (states is None or r[2] in states))
            assert diag == text and diag, states
            with monkeypatch.context() as m:
                m.setattr(net, "diag_sockets", lambda *_: None)
                assert sorted(net.tcp_sockets(port, states)) == text, states
        assert net.listeners(port) == {"0" * 32}
        assert client.getsockname()[1] not in {p for _, p, _ in net.tcp_sockets(port)}
    finally:
        for s in (client, accepted, listener):
            s.close()


@pytest.mark.parametrize("how", ["sock_diag", "proc"])
def test_unread_bytes_is_the_receive_queue_of_a_connection(how, monkeypatch):
    """What a peer sent and the program has not read yet (07's 'reads what
    arrives' checks wait on it), through sock_diag and through /proc."""
    if how == "proc":
        monkeypatch.setattr(net, "diag_sockets", lambda *_: None)
    elif net.diag_sockets() is None:
        pytest.skip("no sock_diag here")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    mine, theirs = accepted.getsockname()[1], client.getsockname()[1]
    try:
        assert net.unread_bytes(theirs, mine) == 0
        accepted.sendall(b"x" * 1234)
        deadline = time.monotonic() + 5
        while net.unread_bytes(theirs, mine) != 1234 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert net.unread_bytes(theirs, mine) == 1234
        client.recv(1000)
        assert net.unread_bytes(theirs, mine) == 234
        assert net.unread_bytes(theirs, mine + 1) is None  # no such connection
    finally:
        for s in (client, accepted, listener):
            s.close()


LISTEN_LATE = """import socket, sys, time
time.sleep(0.3)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(4)
except OSError as e:
    print(f"port {sys.argv[2]}: {e.strerror}", file=sys.stderr)
    sys.exit(1)
time.sleep(30)
"""


@pytest.mark.parametrize("address", ["0.0.0.0", "127.0.0.2"])
def test_another_programs_listener_is_not_taken_for_the_servers(tmp_path, address):
    """A listener already on the port (another program's, on a port the
    grader reserved) is not the student's server: wait_listening waits for
    the server's own, and a server that cannot bind there (exit 1) is seen to
    exit, not called listening (CI once failed a correct program so)."""
    port = net.free_port()
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    foreign.bind(("127.0.0.1", port))
    foreign.listen(4)
    (tmp_path / "late.py").write_text(LISTEN_LATE)
    t = engine.Trial(registry.find("02"), tmp_path, tmp_path, engine.CheckSpec("self-test", None))
    try:
        server = t.run_command(["/usr/bin/python3", str(tmp_path / "late.py"), address, str(port)], valgrind=False)
        if address == "0.0.0.0":  # the port is taken on 127.0.0.1: the server exits
            with pytest.raises(engine.CheckFailed) as failed:
                t.wait_listening(server, port, within=10)
            assert "exited with status 1 before listening" in failed.value.message
        else:  # another address of the same port: the server's own listener is found
            t.wait_listening(server, port, within=10)
            assert server.poll() is None
        assert ("note", f"another program listens on port {port}, not your server: waiting for yours") in t.lines
    finally:
        t.cleanup()
        foreign.close()
        port.release()


# === Text ======================================================================


@pytest.mark.parametrize(
    "data, shown",
    [
        pytest.param(b"CALC:7\n", '"CALC:7\\n"', id="newline"),
        pytest.param(b"a\0b\r\t\\\"", '"a\\0b\\r\\t\\\\\\""', id="controls"),
        pytest.param(b"\xff\x7f", '"\\xff\\x7f"', id="high-bytes"),
    ],
)
def test_show_escapes_bytes(data, shown):
    assert text.show(data) == shown


def test_show_shortens_long_data_and_says_its_length():
    shown = text.show(b"x" * 10000)
    assert "10000 bytes" in shown and len(shown) < 300


def test_lines_of_shows_binary_output_as_escaped_blocks():
    rows = text.lines_of(bytes(range(256)) * 10, limit=10)
    assert len(rows) <= 11 and "\\x80" in "".join(rows) and all(len(r) < 250 for r in rows)


@pytest.mark.parametrize(
    "data, shown",
    [
        pytest.param("error: ‘main’ héllo → 你好 🙂".encode(), "error: ‘main’ héllo → 你好 🙂", id="utf8-text-kept"),
        pytest.param(b'say "hi" \\x1b', 'say "hi" \\\\x1b', id="quotes-kept-backslash-escaped"),
        pytest.param(b"\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred", id="ansi-escaped"),
        pytest.param(b"a\rb\tc\0d\x7f", "a\\rb\\tc\\0d\\x7f", id="c0-controls"),
        pytest.param("csi\u009b nel\u0085".encode(), "csi\\xc2\\x9b nel\\xc2\\x85", id="c1-controls-as-their-bytes"),
        pytest.param("x\u202ey\u2028z\u200b".encode(), "x\\xe2\\x80\\xaey\\xe2\\x80\\xa8z\\xe2\\x80\\x8b", id="bidi-separator-zero-width"),
        pytest.param(b"bad \xff\xfe, cut \xe2\x80, overlong \xc0\xaf, surrogate \xed\xa0\x80",
                     "bad \\xff\\xfe, cut \\xe2\\x80, overlong \\xc0\\xaf, surrogate \\xed\\xa0\\x80", id="invalid-utf8"),  # fmt: skip
    ],
)
def test_readable_keeps_utf8_text_and_escapes_the_rest(data, shown):
    assert text.readable(data) == shown


def test_readable_keeps_the_escapes_of_text_escaped_already():
    """Step 05's unit cases print their strings C-escaped: shown once, not
    twice ("ello\\nworld", not "ello\\\\nworld"); raw controls still escaped."""
    assert text.readable(b'got "ello\\nworld" \x1b[2J', escaped=True) == 'got "ello\\nworld" \\x1b[2J'


def test_show_still_escapes_every_byte_on_the_wire():
    assert text.show("‘é’".encode()) == '"\\xe2\\x80\\x98\\xc3\\xa9\\xe2\\x80\\x99"'


def test_lines_of_reads_text_in_any_script_as_text():
    rows = text.lines_of("первая строка\n第二行\n".encode() * 3)
    assert rows[:2] == ["первая строка", "第二行"] and len(rows) == 6


def test_lines_of_cuts_a_huge_line_without_reading_all_of_it():
    rows = text.lines_of(b"\x1b[1m" + b"a" * 3_000_000 + b"\n", width=40)
    assert rows == ["\\x1b[1m" + "a" * 33 + "... (3000004 bytes)"]  # 40 characters, then the length


# === Scoring ===================================================================


@pytest.mark.parametrize("count", [1, 3, 7, 11, 13])
def test_check_shares_add_up_to_the_step_points(count):
    step = registry.STEPS[0]
    outcomes = [Outcome(step, i + 1, f"c{i}", 1, True) for i in range(count)]
    runner.score(step, outcomes)
    assert round(sum(o.max_score for o in outcomes), 6) == step.points


# === valgrind ==================================================================


@pytest.mark.skipif(not memcheck.available(), reason="valgrind is not installed")
def test_memcheck_reports_leak_invalid_write_and_open_socket(tmp_path):
    binary = compile_c(
        tmp_path,
        r"""
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <sys/socket.h>
        #include <netinet/in.h>
        #include <arpa/inet.h>
        int main(int argc, char **argv) {
            char *lost = malloc(64); lost[0] = 1; lost = NULL;
            char *small = malloc(4); small[4] = 'x'; free(small);
            int listener = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            bind(listener, (void *)&a, sizeof a); listen(listener, 1);
            socklen_t len = sizeof a; getsockname(listener, (void *)&a, &len);
            int c = socket(AF_INET, SOCK_STREAM, 0); connect(c, (void *)&a, sizeof a);
            int s = accept(listener, NULL, NULL); (void)s; (void)argc; (void)argv;
            return 0;
        }
        """,
    )
    where = memcheck.files(contain.grader_folder(str(tmp_path)), sandbox.DEFAULT_LIMITS["nofile"])
    program = sandbox.Program(memcheck.command(where) + [binary], tmp_path, limits={"as": None}, pipes=where.pipes)
    where.started()
    assert program.wait(60) is not None
    program.kill()
    problems = "\n".join(memcheck.problems(memcheck.read(where)))
    assert "invalid write" in problems and "prog.c:" in problems
    assert "definitely lost" in problems
    assert "client connection(s) still open at exit" in problems
    assert memcheck.problems(memcheck.read(where), allow_sockets=True) != []
    # The verdict quotes valgrind's own counts (its text summary would say the same)
    message, _ = memcheck.verdict(memcheck.read(where))
    assert message.startswith("valgrind: ERROR SUMMARY: 2 errors from 2 contexts; definitely lost: 64 bytes in 1 block;"), message
    assert "2 client connections still open at exit" in message
    text_mode = subprocess.run(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect", binary], capture_output=True, text=True, timeout=120)
    assert "ERROR SUMMARY: 2 errors from 2 contexts" in text_mode.stderr
    # It finished its report: nothing of its log is shown, not even the grader's descriptors it inherited
    assert memcheck.read(where).complete and memcheck.last_words(where) == []


def test_valgrinds_last_words_leave_out_the_descriptors_it_inherited(tmp_path):
    where = memcheck.Files(str(tmp_path / "m.xml"), str(tmp_path / "m.log"))
    Path(where.xml).write_text("<valgrindoutput><status><state>RUNNING</state></status>")  # killed before its summary
    Path(where.log).write_text(
        "==2== Memcheck, a memory error detector\n==2== Command: ./server 4242\n==2== \n"
        "==2== FILE DESCRIPTORS: 5 open (3 std) at exit.\n"
        "==2== Open file descriptor 4: /tmp/socklab-grade-x/memcheck-1.xml\n==2==    <inherited from parent>\n==2== \n"
        "==2== Open AF_INET socket 5: 0.0.0.0:4242 <-> unbound\n==2==    at 0x4: socket (syscall-template.S:120)\n==2== \n"
        "valgrind: the 'impossible' happened: out of memory\n"
    )
    said = memcheck.last_words(where)
    assert said == ["valgrind: the 'impossible' happened: out of memory"], said
    Path(where.xml).write_text("<valgrindoutput><status><state>FINISHED</state></status></valgrindoutput>")
    assert memcheck.last_words(where) == []


ACCEPTED = ["at 0x49676F0: accept (accept.c:26)", "by 0x109287: main (server.c:12)"]  # valgrind's stack of a socket accept() made
ACCEPTED4 = ["at 0x4967A1B: accept4 (accept4.c:32)", "by 0x10931C: serve (multi-server.c:40)"]


@pytest.mark.parametrize(
    "fds, port, leaked",
    [
        pytest.param(["AF_INET socket 4: 0.0.0.0:4242 <-> unbound"], 4242, 0, id="listener-only"),
        pytest.param(["AF_INET6 socket 4: :::4242 <-> unbound", "AF_INET6 socket 5: ::ffff:127.0.0.1:4242 <-> unbound"], 4242, 1, id="peer-gone"),
        pytest.param(["AF_INET socket 3: 127.0.0.1:4242 <-> unbound", "AF_INET socket 6: 127.0.0.1:4242 <-> 127.0.0.1:5555"], 4242, 1, id="loopback-listener"),
        pytest.param(["AF_INET socket 3: 127.0.0.1:5555 <-> 127.0.0.1:4242"], None, 1, id="client-connected"),
        pytest.param(["AF_INET socket 3: 127.0.0.1:5555 <-> unbound"], None, 0, id="client-unbound"),
        pytest.param([("AF_INET6 socket 6: [::ffff:127.0.0.1]:4242 <-> unbound", ACCEPTED)], 4242, 1, id="listener-closed-first-peer-gone"),
        pytest.param([("AF_INET socket 5: 127.0.0.1:4242 <-> 127.0.0.1:5555", ACCEPTED)], 4242, 1, id="listener-closed-first"),
        pytest.param(["AF_INET6 socket 4: :::4242 <-> unbound", ("AF_INET6 socket 5: [::1]:4242 <-> [::1]:5555", ACCEPTED4)], 4242, 1, id="accept4"),
    ],
)
def test_leaked_sockets_tells_connections_from_the_listener(fds, port, leaked):
    found = [fd if isinstance(fd, tuple) else (fd, []) for fd in fds]
    assert len(memcheck.leaked_sockets(found, port)) == leaked
