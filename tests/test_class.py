"""Grading a whole class (make grade CLASS=DIR): a generated class of good,
starter, buggy and hostile submissions gives the expected gradebook, its files
are left untouched, and nothing is left running."""

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import KIT, PROGRAMS, install, registry, taken_again

STEPS = [registry.find("01"), registry.find("02")]


def fingerprint(folder):
    """Every file's path, mode and content: what 'untouched' means."""
    digest = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            st = os.lstat(path)
            digest.update(f"{path} {st.st_mode}".encode())
            if not os.path.islink(path):
                digest.update(open(path, "rb").read())
    return digest.hexdigest()


def make_class(root):
    """Five students; the score each must get on steps 01 and 02."""
    expected = {}
    good = root / "ada lovelace"  # a space in the name
    for step in STEPS:
        shutil.copytree(KIT / "solutions" / step.folder, good / step.folder)
    expected[good.name] = {"01-client": 10, "02-server": 10}
    starter = root / "bob"
    for step in STEPS:
        shutil.copytree(KIT / "steps" / step.folder, starter / step.folder)
    expected[starter.name] = {"01-client": 0, "02-server": 0}
    kit_copy = root / "chloé"  # a copy of the kit: its steps/ is graded
    shutil.copytree(KIT / "solutions" / "01-client", kit_copy / "steps" / "01-client")
    expected[kit_copy.name] = {"01-client": 10, "02-server": 0}
    buggy = root / "dan"
    install(PROGRAMS / "bugs" / "02-server-no-reuseaddr.c", buggy)
    expected[buggy.name] = {"01-client": 0, "02-server": "between"}
    hostile = root / "eve"
    install(PROGRAMS / "misbehaving" / "02-server-ignore-sigterm.c", hostile)
    (hostile / "01-client").mkdir()
    (hostile / "01-client" / "Makefile").write_text("client:\n\tsleep 1000\n")  # a build that never ends
    expected[hostile.name] = {"01-client": 0, "02-server": 0}
    return expected


def test_class_gradebook(tmp_path):
    klass, out = tmp_path / "class", tmp_path / "out"
    expected = make_class(klass)
    before = fingerprint(klass)
    command = [sys.executable, "-m", "grader", "class", str(klass), "--out", str(out), "--jobs", "2", "--budget", "45"]
    for step in STEPS:
        command += ["--step", step.folder]
    env = dict(os.environ, SOCKLAB_VALGRIND="0")
    done = subprocess.run(command, cwd=KIT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert fingerprint(klass) == before, "grading changed the class folder"

    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(expected)
    for student, scores in expected.items():
        row = rows[student]
        for folder, want in scores.items():
            got = float(row[folder])
            if want == "between":
                assert 0 < got < 10, f"{student} {folder}: {got}"
            else:
                assert got == want, f"{student} {folder}: {got}, expected {want}\n{(out / student / 'feedback.txt').read_text()[-3000:]}"
        assert float(row["total"]) == pytest.approx(sum(float(row[s.folder]) for s in STEPS))
        assert row["max"] == "20"
        results = json.loads((out / student / "results.json").read_text())
        assert {"score", "execution_time", "output", "tests"} <= set(results)
        assert "Isolation:" in results["output"]
        feedback = (out / student / "feedback.txt").read_text()
        if "stopped after its time budget" not in feedback:  # a grader stopped early printed no table
            assert feedback.startswith(f"socklab grader: {student}  "), feedback[:200]  # the student, not the staged copy
        for text in (feedback, (out / student / "results.json").read_text()):
            assert "socklab-class-" not in text and "socklab-grade-" not in text, "a deleted temporary path in the feedback"

    assert "time budget" in json.loads((out / "eve" / "results.json").read_text())["output"] or float(rows["eve"]["total"]) == 0
    assert "dan" in done.stderr and "[5/5]" in done.stderr, "no progress lines"
    page = (out / "index.html").read_text()
    for student in expected:
        assert student in page or student.replace(" ", "%20") in page
    assert "Where the class gets stuck" in page and "<script" not in page
    uids = {int(n) for student in expected for n in re.findall(r"programs run as uid (\d+)", (out / student / "results.json").read_text())}
    assert leftovers(uids, klass) == []


def leftovers(uids, klass, wait=5.0):
    """Processes still running as one of the students' uids, or a student's
    grader (its command line names the class folder, which it hides)."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if (uid in uids and not taken_again(uid)) or str(klass) in cmdline:
                found.append(f"pid {entry} uid {uid}: {cmdline.replace(chr(0), ' ')}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
