"""The student handout and the Gradescope autograder: what goes in, what stays
out, and that the handout works where it lands (the Gradescope zip, in
Gradescope's own layout: tests/test_platforms.py)."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from conftest import KIT, registry

PACKAGE = [sys.executable, str(KIT / "tools" / "package")]


def build(what):
    done = subprocess.run(PACKAGE + [what], cwd=KIT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return KIT / done.stdout.strip()


def test_handout_has_the_steps_and_no_solutions(tmp_path):
    archive = build("handout")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path)  # our own archive: trusted
    assert all(name.startswith("socklab/") for name in names)
    for step in registry.STEPS:
        assert f"socklab/steps/{step.folder}/README.md" in names
        assert f"socklab/steps/{step.folder}/Makefile" in names
    assert "socklab/grader/__main__.py" in names and "socklab/Makefile" in names
    assert "socklab/.github/workflows/classroom.yml" in names
    leaked = [n for n in names if n.split("/")[1] in ("solutions", "tests", ".ci", "dist", "build")]
    assert not leaked, f"the handout holds kit-only files: {leaked[:5]}"
    binaries = {b for step in registry.STEPS for b in step.binaries}
    assert not [n for n in names if n.rsplit("/", 1)[-1] in binaries], "built programs in the handout"
    ignored = (tmp_path / "socklab/.gitignore").read_text().splitlines()
    for step in registry.STEPS:
        assert f"/steps/{step.folder}/{step.binary}" in ignored
    assert {"*.o", "*.a", "*.so"} <= set(ignored)
    workflow = (tmp_path / "socklab/.github/workflows/classroom.yml").read_text()
    for step in registry.STEPS:
        assert f"make check STEP={step.number:02d}" in workflow


def test_handout_gitignore_keeps_builds_out_of_a_students_repository(tmp_path):
    """A student's repository made from the handout: after building a step (and
    an object), `git add -A` takes the sources and none of what make built."""
    if not shutil.which("git"):
        if os.environ.get("CI"):
            pytest.fail("git is not installed, and CI must check the handout's .gitignore")
        pytest.skip("git is not installed")
    with tarfile.open(build("handout")) as tar:
        tar.extractall(tmp_path)  # our own archive: trusted
    repo = tmp_path / "socklab"
    step = registry.STEPS[0]
    folder = repo / "steps" / step.folder
    subprocess.run(["make", "-s", "-C", str(folder)], check=True, capture_output=True, timeout=120)
    subprocess.run(["cc", "-c", "-o", str(folder / "extra.o"), str(folder / f"{step.binary}.c")], check=True, timeout=120)
    git = lambda *args: subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, timeout=60).stdout
    git("init", "-q")
    git("add", "-A")
    added = git("diff", "--cached", "--name-only").splitlines()
    assert f"steps/{step.folder}/{step.binary}.c" in added and f"steps/{step.folder}/Makefile" in added
    assert ".gitignore" in added
    built = [name for name in added if name.endswith((".o", f"/{step.binary}"))]
    assert built == [], f"built files would be committed: {built}"


def test_handout_grades_its_starters(tmp_path):
    build("handout")
    with tarfile.open(KIT / "dist" / "socklab-student.tar.gz") as tar:
        tar.extractall(tmp_path)  # our own archive: trusted
    kit = tmp_path / "socklab"
    env = dict(os.environ, VALGRIND="0")
    env.pop("MAKEFLAGS", None)
    done = subprocess.run(["make", "-s", "grade"], cwd=kit, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    results = json.loads((kit / "build" / "grade" / "results.json").read_text())
    assert results["score"] == 0
    builds = [t for t in results["tests"] if t["number"].endswith(".0")]
    assert builds and all(t["status"] == "passed" for t in builds), [t["output"] for t in builds if t["status"] != "passed"]
    for target in ("test", "handout", "gradescope", "prairielearn", "image", "bare-machine", "bench", "bench-share", "fuzz", "flaky"):
        refused = subprocess.run(["make", "-s", target], cwd=kit, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "student handout" in refused.stderr, f"make {target}: {refused.stderr}"


def test_gradescope_zip_layout():
    archive = build("gradescope")
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "grader/__main__.py" in names and "steps/common/socklab.c" in names
    assert "tools/setup" in names and "tools/platform.sh" in names  # run_autograder's helpers
    assert not [n for n in names if n.startswith(("solutions/", "tests/"))]
