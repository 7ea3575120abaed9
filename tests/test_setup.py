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
    # it lives where the other user can reach it.
    folder = tempfile.mkdtemp(prefix="socklab-setup-")
    os.chmod(folder, 0o755)
    fake = os.path.join(folder, "python3")
    with open(fake, "w") as f:
        f.write('#!/bin/sh\n[ "$2" = "import pytest" ] && exit 1\nexec /usr/bin/python3 "$@"\n')
    os.chmod(fake, 0o755)
    run = subprocess.run(
        ["runuser", "-u", "nobody", "--", "env", f"PYTHON={fake}", "PATH=/usr/bin:/bin", str(SETUP), "test"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    shutil.rmtree(folder)
    assert run.returncode == 1
    assert "missing packages: python3-pytest" in run.stderr
    assert "sudo apt-get install -y --no-install-recommends python3-pytest" in run.stderr
