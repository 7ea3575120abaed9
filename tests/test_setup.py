"""tools/setup: what `make grade` and `make test` do on a machine that lacks a package."""

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import KIT

SETUP = KIT / "tools" / "setup"


def test_nothing_is_missing_here():
    run = subprocess.run([str(SETUP), "test"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to act as another user")
def test_without_root_it_prints_the_apt_get_line_and_stops():
    # An interpreter that lacks pytest stands for a machine without python3-pytest;
    # it and a copy of the script live where the other user can reach them
    # (the kit may be in /root, which nobody else can enter).
    folder = tempfile.mkdtemp(prefix="socklab-setup-")
    os.chmod(folder, 0o755)
    fake = os.path.join(folder, "python3")
    with open(fake, "w") as f:
        f.write('#!/bin/sh\n[ "$2" = "import pytest" ] && exit 1\nexec /usr/bin/python3 "$@"\n')
    os.chmod(fake, 0o755)
    setup = shutil.copy(SETUP, folder)
    run = subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", f"PYTHON={fake}", "PATH=/usr/bin:/bin", setup, "test"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    shutil.rmtree(folder)
    assert run.returncode == 1
    assert "missing packages: python3-pytest" in run.stderr
    assert "sudo apt-get install -y --no-install-recommends python3-pytest" in run.stderr


def fake_python(folder, refuses):
    """A python3 that fails the probes that match refuses (a shell pattern)."""
    fake = folder / "python3"
    fake.write_text(f'#!/bin/sh\ncase "$2" in {refuses}) exit 1 ;; esac\nexec /usr/bin/python3 "$@"\n')
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("refuses, package", [("'import pytest'", "python3-pytest"), ("*version_info*", "python3")], ids=["no pytest", "python too old"])
def test_check_names_what_is_missing_and_installs_nothing(tmp_path, refuses, package):
    # As root too: --check is what a platform's grading runs, where nothing may be installed.
    run = subprocess.run([str(SETUP), "--check", "test"], env=dict(os.environ, PYTHON=str(fake_python(tmp_path, refuses))),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 1 and run.stdout.split() == [package], run.stdout + run.stderr
    assert "installing" not in run.stderr


def test_packages_lists_every_package_of_each_purpose():
    listed = {purpose: subprocess.run([str(SETUP), "--packages", purpose], capture_output=True, text=True, timeout=60).stdout.split()
              for purpose in ("grade", "test")}  # fmt: skip
    assert {"make", "gcc", "libc6-dev", "python3", "valgrind", "util-linux", "libcmocka-dev"} <= set(listed["grade"])
    assert set(listed["grade"]) < set(listed["test"]) and "python3-pytest" in listed["test"]
