"""`make check STEP=NN REMOTE=HOST:PORT`: the checks that only talk to the
server run against one already running; the others are skipped, with why."""

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import KIT, registry
from livekit import PYTHON, Live, built, free_port
from test_peer import WRONG_SERVER, server_up

COUNTS = re.compile(r"^(\d+) passed, (\d+) failed$")
STEP = registry.find("06")


@pytest.fixture
def started():
    programs = []
    yield lambda argv: programs.append(Live(argv)) or programs[-1]
    for program in programs:
        program.kill()


def check_remote(port, out, step="06"):
    return subprocess.run(
        ["make", "-s", "-C", str(KIT), "check", f"STEP={step}", f"REMOTE=127.0.0.1:{port}", f"OUT={out}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def remote_checks(step):
    from grader import runner

    specs = runner.checks_of(step)
    return [s for s in specs if s.remote], [s for s in specs if not s.remote]


def test_remote_checks_pass_against_the_reference_server(started, tmp_path, tmp_path_factory):
    folder = built("06-calc-server", tmp_path_factory.getbasetemp())
    port = free_port()
    started([folder / "calc-server", port])
    server_up(port)
    run = check_remote(port, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    remote, local = remote_checks(STEP)
    assert remote and local
    passed, failed = map(int, COUNTS.match(run.stdout.strip().splitlines()[-1]).groups())
    assert (passed, failed) == (len(remote), 0)
    for spec in local:
        assert re.search(rf"SKIP {re.escape(spec.name)}", run.stdout)
    assert f"{len(local) + 1} skipped" in run.stdout  # the build too: nothing is built here
    assert "Score: 10 / 10 (of the checks that ran)" in run.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["tests"]) == len(remote) and results["score"] == STEP.points
    assert all(t["status"] in ("passed", "failed") for t in results["tests"])
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("skipped") == str(len(local) + 1) and suite.get("failures") == "0"


def test_remote_checks_fail_against_a_wrong_server(started, tmp_path):
    port = free_port()
    script = tmp_path / "wrong.py"
    script.write_text(WRONG_SERVER)
    started([PYTHON, script, port])
    server_up(port)
    run = check_remote(port, tmp_path / "out")
    assert run.returncode != 0
    passed, failed = map(int, COUNTS.match(run.stdout.strip().splitlines()[-1]).groups())
    assert failed >= 1
    assert '[06-calc-server] expected: "CALC:7\\n"' in run.stdout or "expected:" in run.stdout
    assert "SKIP memory check (valgrind)" in run.stdout


def test_remote_checks_fail_when_nothing_listens(tmp_path):
    port = free_port()
    run = check_remote(port, tmp_path, step="02")
    assert run.returncode != 0
    assert "could not connect to 127.0.0.1:" in run.stdout


def test_remote_needs_host_and_port(tmp_path):
    run = subprocess.run(["make", "-s", "-C", str(KIT), "check", "STEP=06", "REMOTE=nowhere", f"OUT={tmp_path}"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "REMOTE must be HOST:PORT" in run.stderr


def test_remote_checks_never_start_stop_or_read_the_program():
    """A check that says remote=True must not need its own process: its
    source never asks for more than the server's address."""
    import inspect

    for step in registry.STEPS:
        try:
            remote, _ = remote_checks(step)
        except ImportError:
            continue  # a step still being written
        for spec in remote:
            source = inspect.getsource(spec.func)
            for word in ("server.stop", "freeze", "expect_stdout", "expect_clean_memory", "t.run(", "start_server(port="):
                assert word not in source, f"{step.folder}: {spec.name!r} is remote=True but uses {word}"
