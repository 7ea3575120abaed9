"""Helpers of the live-session tests (watch, peer, tap, REMOTE): the reference
solutions built once per test process, and programs whose output is read as
it comes, every wait with a deadline."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import KIT

from grader import net

PYTHON = sys.executable
_built = {}


def built(folder, root):
    """The built reference solution of a step folder ("06-calc-server"), in root
    (one build per test process): the path of its folder."""
    if folder not in _built:
        target = Path(root) / "solutions"
        if not (target / "common").exists():
            shutil.copytree(KIT / "steps" / "common", target / "common")
        for name in ("05-framing", folder):  # 06 builds with 05's frame.c
            if not (target / name).exists():
                shutil.copytree(KIT / "solutions" / name, target / name, ignore=shutil.ignore_patterns("*.o"))
        run = subprocess.run(["make", "-s", "-B", "-C", str(target / folder)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        _built[folder] = target / folder
    return _built[folder]


_held = []


def free_port():
    port = net.free_port()
    _held.append(port)  # its lock stays with this process: no other test takes the port
    return int(port)


class Live:
    """A program started for a test: its output read by a thread, so a test
    can wait (with a deadline) for a piece of text to appear."""

    def __init__(self, argv, stdin=subprocess.PIPE, env=None, cwd=KIT, new_session=False):
        self.process = subprocess.Popen(
            [str(a) for a in argv], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=new_session,
        )  # fmt: skip
        self.output = b""
        self.ended = False  # the output reached its end (every writer closed it)
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for chunk in iter(lambda: os.read(self.process.stdout.fileno(), 65536), b""):
            with self.changed:
                self.output += chunk
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    @property
    def text(self):
        return self.output.decode(errors="replace")

    def wait_for(self, what, within=10, count=1):
        """Wait until `what` appears `count` times in the output; the output."""
        deadline = time.monotonic() + within
        with self.changed:
            while self.text.count(what) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{what!r} did not appear {count} time(s) within {within} s; the output:\n{self.text}"
                self.changed.wait(min(left, 0.1))
        return self.text

    def type(self, data):
        self.process.stdin.write(data if isinstance(data, bytes) else data.encode())
        self.process.stdin.flush()

    def end_input(self):
        self.process.stdin.close()

    def wait(self, within=10):
        """The exit status, once the program has ended and its last words have
        been read (the reader thread may lag behind the exit), within the deadline."""
        deadline = time.monotonic() + within
        status = self.process.wait(within)
        with self.changed:
            while not self.ended and time.monotonic() < deadline:
                self.changed.wait(min(deadline - time.monotonic(), 0.1))
        return status

    def interrupt(self, group=False):
        if group:
            os.killpg(self.process.pid, signal.SIGINT)  # as Ctrl-C at a terminal: the whole foreground group
        else:
            self.process.send_signal(signal.SIGINT)

    def kill(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL) if os.getpgid(self.process.pid) == self.process.pid else self.process.kill()
            except ProcessLookupError:
                pass
            self.process.wait(10)


def processes_mentioning(text):
    """Processes whose command line or executable mentions text."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
            exe = os.readlink(f"/proc/{entry}/exe")
        except OSError:
            continue
        if text in cmdline or text in exe:
            found.append(f"pid {entry}: {cmdline}")
    return found
