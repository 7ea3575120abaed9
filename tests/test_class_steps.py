"""make grade CLASS=DIR STEP=NN: one step graded again, merged into the
gradebook and the students' reports of an earlier grading without dropping
their other steps (or the students not in the class folder any more)."""

import csv
import json
import os
import shutil
import subprocess
import sys

from conftest import KIT, registry

STEP01, STEP02 = registry.find("01"), registry.find("02")


def grade_class(klass, out, *steps):
    command = [sys.executable, "-m", "grader", "class", str(klass), "--out", str(out)]
    for step in steps:
        command += ["--step", step.folder]
    done = subprocess.run(command, cwd=KIT, env=dict(os.environ, SOCKLAB_VALGRIND="0"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_grading_one_step_again_keeps_the_other_columns_and_students(tmp_path):
    klass, out = tmp_path / "class", tmp_path / "out"
    for name, where in (("zoe", "solutions"), ("bob", "steps")):
        for step in (STEP01, STEP02):
            shutil.copytree(KIT / where / step.folder, klass / name / step.folder)
    shutil.copytree(KIT / "solutions" / STEP01.folder, klass / "ann" / STEP01.folder)
    first = grade_class(klass, out, STEP01, STEP02)
    assert [row["student"] for row in first] == ["ann", "bob", "zoe"]  # sorted by student
    shutil.rmtree(klass / "ann")  # left the course: her row stays
    shutil.rmtree(klass / "bob" / STEP02.folder)
    shutil.copytree(KIT / "solutions" / STEP02.folder, klass / "bob" / STEP02.folder)  # bob fixed step 02
    again = {row["student"]: row for row in grade_class(klass, out, STEP02)}
    assert list(again["bob"])[:5] == ["student", "total", "max", STEP01.folder, STEP02.folder]
    assert (again["bob"][STEP01.folder], again["bob"][STEP02.folder], again["bob"]["total"], again["bob"]["max"]) == ("0", "10", "10", "20")
    assert (again["zoe"][STEP01.folder], again["zoe"][STEP02.folder], again["zoe"]["total"]) == ("10", "10", "20")
    assert again["ann"] == {**again["ann"], "total": "10", STEP01.folder: "10", STEP02.folder: "0"}
    results = json.loads((out / "bob" / "results.json").read_text())
    tags = [t["tags"][0] for t in results["tests"]]
    assert tags == sorted(tags) and set(tags) == {STEP01.folder, STEP02.folder}, "step 01's tests kept, in order"
    assert results["score"] == 10 and "graded now: 02-server" in results["output"]
