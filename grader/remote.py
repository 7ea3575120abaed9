"""Checking a server that runs elsewhere: `make check STEP=06 REMOTE=HOST:PORT`.

In pairs, one student runs a server on a laptop and the other probes it from
theirs. Only the checks declared with @check(..., remote=True) can do that:
they connect to the server and judge what comes back. The checks that must
start the program, stop it, signal it, read its stdout or run it under valgrind
are reported as skipped, with the reason; they count neither as passed nor as
failed, and their points are left out of the score (it reads "of the remote
checks").
"""

import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import engine, runner, sandbox
from .engine import CheckFailed, Outcome

SKIPPED_BUILD = "the server runs elsewhere: nothing is built here"
SKIPPED_CHECK = "they start, stop, signal or watch the program itself: run them where the code is (make check STEP={n:02d})"


def parse(text):
    """(host, port) of "HOST:PORT" (IPv6 as "[::1]:4242"); ValueError if malformed."""
    host, colon, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"REMOTE must be HOST:PORT (for example 192.168.1.23:4242), not {text!r}")
    return host, int(port)


class RemoteServer:
    """What t.start_server() returns when the server runs elsewhere: its
    address, and the one thing a remote check may ask of it, that it still
    answers. Anything else (stop, freeze, stdout...) does not exist here."""

    def __init__(self, trial, host, port):
        self.trial, self.host, self.port = trial, host, port
        self.addresses = {"?"}
        self.valgrind_files = None
        trial.log("note", f"the server runs elsewhere: {host}:{port} (REMOTE)")

    def poll(self):
        return None  # as far as we can tell, it runs

    def expect_running(self, why=""):
        try:
            socket.create_connection((self.host, self.port), timeout=self.trial.timeout).close()
        except OSError as e:
            raise CheckFailed(f"the server at {self.host}:{self.port} no longer accepts connections{' ' + why if why else ''} ({e.strerror or e})")


def skipped(step, index, name, reason, hint=None):
    outcome = Outcome(step, index, name, 0, False, reason, hint=hint)
    outcome.extra["skipped"] = reason
    return outcome


def grade(steps, remote, jobs=None):
    """Run the remote checks of steps against remote (host, port); a runner.Report."""
    started = time.monotonic()
    report = runner.Report(f"{remote[0]}:{remote[1]} (REMOTE)", list(steps), isolation=sandbox.isolation() + "; remote server: only its replies are checked")
    with tempfile.TemporaryDirectory(prefix="socklab-remote-") as scratch, ThreadPoolExecutor(max_workers=jobs or 4) as pool:
        futures = []
        for step in steps:
            report.outcomes.append(skipped(step, 0, "builds with make", SKIPPED_BUILD))
            for index, spec in enumerate(runner.checks_of(step), start=1):
                if spec.remote:
                    folder = Path(scratch) / step.folder
                    futures.append(pool.submit(engine.run_check, step, spec, index, folder, scratch, remote=remote))
                else:
                    futures.append(skipped(step, index, spec.name, SKIPPED_CHECK.format(n=step.number), spec.hint))
        report.outcomes += [f if isinstance(f, Outcome) else f.result() for f in futures]
    for step in steps:
        runner.score(step, [o for o in report.of_step(step) if o.index])  # shared among the checks that ran
    report.outcomes.sort(key=lambda o: (report.steps.index(o.step), o.index))
    report.seconds = time.monotonic() - started
    return report
