"""The class report (OUT/index.html): self-contained, and rendered by a real
headless browser (Debian's chromium) to a PNG one can look at."""

import json
import os
import shutil
import struct
import subprocess

import pytest

from conftest import KIT, registry
from grader import class_report, classroom

STEPS = list(registry.STEPS[:3])


def fake_class(out):
    """Three students with reports as the grader writes them."""
    students = []
    for name, passed in (("ada", 1.0), ("bob & <co>", 0.5), ("zoë", 0.0)):
        st = classroom.Student(name, out / name, out / name)
        st.out.mkdir(parents=True)
        tests = []
        for step in STEPS:
            for i in range(4):
                ok = i < 4 * passed
                tests.append({"name": f"{step.folder}: check {i}", "number": f"{step.number}.{i}", "score": 2.5 if ok else 0,
                              "max_score": 2.5, "status": "passed" if ok else "failed", "output": "", "tags": [step.folder]})  # fmt: skip
        (st.out / "results.json").write_text(json.dumps({"score": 0, "execution_time": 1, "output": "", "tests": tests}))
        (st.out / "feedback.txt").write_text(f"feedback of {name}\n")
        classroom._tally(st, STEPS)
        students.append(st)
    students[2].verdict = "stopped after its time budget"
    return students


def test_page_is_self_contained_and_escaped(tmp_path):
    students = fake_class(tmp_path)
    page = class_report.write(students, STEPS, tmp_path, "test isolation", 12).read_text()
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    assert "bob &amp; &lt;co&gt;" in page and "<co>" not in page
    assert "zo%C3%AB/feedback.txt" in page
    assert page.index("check 3") < page.index("check 0"), "the least passed check comes first"


def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and os.environ.get("CI"):
        pytest.fail("chromium is not installed, and CI must render the class report")
    if not found:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def test_page_renders_in_headless_chromium(tmp_path):
    browser = chromium()
    students = fake_class(tmp_path)
    page = class_report.write(students, STEPS, tmp_path, "test isolation", 12)
    shot = KIT / "build" / "class-report.png"  # kept, to look at
    shot.parent.mkdir(exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<tr>") >= 1 + len(students) + 1, "the browser does not see the tables"
    done = subprocess.run([browser, *flags, "--window-size=1000,700", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 700)
    assert len(png) > 20000, "the screenshot looks blank"
