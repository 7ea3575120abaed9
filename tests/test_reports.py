"""The reports of SPEC §4: results.json in Gradescope's format, junit.xml;
and that whatever bytes a student's build or program prints, every report
stays well-formed and no line of it can be faked."""

import io
import shutil
import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import KIT, grade, registry, runner
from grader import report
from grader.engine import GRADER_FAILED, Outcome

STEP = registry.STEPS[0]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A grading with failures in it: the starters of the first step."""
    result = grade(KIT / "steps", STEP)
    out = report.write(result, tmp_path_factory.mktemp("out"))
    return result, out


def test_results_json_follows_gradescope_format(graded):
    result, out = graded
    data = json.loads((out / "results.json").read_text())
    assert {"score", "execution_time", "output", "tests"} <= data.keys()
    assert data["score"] == result.score
    assert len(data["tests"]) == len(result.outcomes)
    for number, test in enumerate(data["tests"]):
        assert {"name", "number", "score", "max_score", "status", "output", "tags"} <= test.keys()
        assert test["name"].startswith(f"{STEP.folder}: ")
        assert test["number"] == f"{STEP.number}.{number}"
        assert test["status"] in ("passed", "failed")
        assert test["tags"] == [STEP.folder]
        assert test["score"] <= test["max_score"]
    assert data["tests"][0]["name"] == f"{STEP.folder}: builds with make"
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(STEP.points)


def test_failed_test_output_explains_the_failure(graded):
    _, out = graded
    data = json.loads((out / "results.json").read_text())
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed
    for test in failed:
        assert "verdict:" in test["output"], test["output"]


def test_junit_xml_has_one_suite_per_step_and_the_failures(graded):
    result, out = graded
    root = ET.parse(out / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite.get("name") == STEP.folder
    cases = suite.findall("testcase")
    assert len(cases) == len(result.outcomes)
    assert int(suite.get("failures")) == sum(not o.passed for o in result.outcomes)
    assert suite.get("errors") == "0"
    assert all(c.find("failure") is not None for c, o in zip(cases, result.outcomes) if not o.passed)


# The rules of Jenkins' JUnit schema, junit-10.xsd, as read in the xUnit plugin:
# github.com/jenkinsci/xunit-plugin, src/main/resources/org/jenkinsci/plugins/
# xunit/types/model/xsd/junit-10.xsd. Per element: (attributes allowed,
# attributes required, children allowed). Times of testsuites and testsuite
# follow its SUREFIRE_TIME pattern.
JUNIT_10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
    "testsuite": (
        {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
        {"name", "tests", "failures", "errors"},
        {"testsuite", "properties", "testcase", "system-out", "system-err"},
    ),
    "testcase": (
        {"name", "time", "classname", "group"},
        {"name"},
        {"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError", "system-out", "system-err"},
    ),
    "failure": ({"type", "message"}, set(), set()),
    "error": ({"type", "message"}, set(), set()),
    "skipped": ({"type", "message"}, set(), set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def junit_10_violations(element, where="/"):
    """Every way element breaks the rules of JUNIT_10, as readable lines."""
    where = f"{where}{element.tag}"
    if element.tag not in JUNIT_10:
        return [f"{where}: no such element in junit-10.xsd"]
    allowed, required, children = JUNIT_10[element.tag]
    found = [f"{where}: attribute {a} not allowed" for a in set(element.attrib) - allowed]
    found += [f"{where}: attribute {a} required" for a in required - set(element.attrib)]
    if element.tag in ("testsuites", "testsuite") and "time" in element.attrib and not SUREFIRE_TIME.fullmatch(element.get("time")):
        found.append(f"{where}: time {element.get('time')!r} is not a SUREFIRE_TIME")
    for child in element:
        if child.tag not in children:
            found.append(f"{where}: child {child.tag} not allowed")
        found += junit_10_violations(child, where + "/")
    return found


def test_junit_xml_follows_jenkins_junit_10_schema(graded):
    _, out = graded
    assert junit_10_violations(ET.parse(out / "junit.xml").getroot()) == []


def test_the_rules_checker_catches_what_jenkins_refuses():
    """The checker itself, on what junit.xml held before errors= was added."""
    old = ET.fromstring('<testsuites name="s" time="1.00"><testsuite name="01" tests="1" failures="0" skipped="0" time="0.5">'
                        '<testcase name="c" classname="01" time="0.1" /></testsuite></testsuites>')  # fmt: skip
    assert junit_10_violations(old) == ["/testsuites/testsuite: attribute errors required"]
    assert junit_10_violations(ET.fromstring('<testsuite name="a" tests="1" failures="0" errors="0" time="-1" />'))


def test_a_junit_failure_message_is_the_verdict(graded):
    """Not the last line of the output (often the program's own stderr)."""
    result, out = graded
    cases = ET.parse(out / "junit.xml").getroot().find("testsuite").findall("testcase")
    checked = 0
    for case, outcome in zip(cases, result.outcomes):
        failure = case.find("failure")
        if failure is None or "] verdict:" not in outcome.output:
            continue
        said = [line.split("] verdict:", 1)[1].strip() for line in outcome.output.splitlines() if "] verdict:" in line]
        assert failure.get("message") == said[-1][:200], outcome.output
        checked += 1
    assert checked >= 3


def test_a_check_that_broke_in_the_grader_is_a_junit_error():
    step = registry.STEPS[0]
    result = runner.Report("sub", [step])
    result.outcomes = [
        Outcome(step, 0, "builds with make", 0, True, "built in 0.1 s"),
        Outcome(step, 1, "a check", 1, False, "[01-client] verdict:  your client ...", verdict="your client exited with status 1"),
        Outcome(step, 2, "another", 1, False, "Traceback ...", verdict=f"{GRADER_FAILED}: KeyError('x')"),
    ]
    root = ET.fromstring(report.junit(result))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert cases[1].find("failure").get("message") == "your client exited with status 1"
    assert cases[2].find("error").get("message").startswith(GRADER_FAILED)
    assert junit_10_violations(root) == []


# === Whatever the student printed ==============================================

# A build that prints ANSI escapes (colours, clear screen), lines that pass for
# the report's own, invalid UTF-8, NUL, a C1 control (CSI), a bidi override, a
# warning (so its log goes into the reports) and gcc's UTF-8 quotes; then it
# builds a client that prints the same at run time and fails every check.
HOSTILE = (
    r"\033[2J\033[31mred\033[0m\n"
    r"PASS builds with make      10/10\nScore: 90 / 90   (1.0 s)\n"
    r"bad \377\376 utf8, nul \000 here, csi \302\233 here, bidi \342\200\256 here\n"
    r"client.c:1: warning: \342\200\230main\342\200\231 is fine\n"
)
HOSTILE_MAKEFILE = f"""\
client:
\t@printf '{HOSTILE}'
\t@printf '#!/bin/sh\\nprintf "%s"\\nprintf "%s" >&2\\nexit 1\\n' '{HOSTILE}' '{HOSTILE}' > client
\t@chmod +x client
"""
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")  # nothing of this may reach a report as is


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    sub = tmp_path_factory.mktemp("hostile")
    (sub / STEP.folder).mkdir()
    (sub / STEP.folder / "Makefile").write_text(HOSTILE_MAKEFILE)
    result = grade(sub, STEP)
    out = report.write(result, tmp_path_factory.mktemp("out"))
    console = io.StringIO()
    report.console(result, stream=console)
    return result, out, console.getvalue()


def test_hostile_output_keeps_every_report_well_formed(hostile):
    result, out, _ = hostile
    assert result.outcomes[0].passed, result.outcomes[0].output
    root = ET.parse(out / "junit.xml").getroot()  # well-formed XML 1.0, or this raises
    assert junit_10_violations(root) == []
    data = json.loads((out / "results.json").read_bytes().decode("utf-8"))
    texts = [data["output"]] + [t["output"] for t in data["tests"]]
    texts += [e.text or "" for e in root.iter()] + [v for e in root.iter() for v in e.attrib.values()]
    assert [t for t in texts if RAW.search(t)] == []


def test_hostile_output_cannot_fake_a_line_of_the_report(hostile):
    """The build log of a passing build is there, but escaped and indented like
    a program's output; so is what the program printed."""
    result, out, console = hostile
    build = result.outcomes[0].output
    assert "      \\x1b[2J\\x1b[31mred\\x1b[0m" in build.splitlines(), build
    assert "      PASS builds with make      10/10" in build.splitlines()
    assert "      bad \\xff\\xfe utf8, nul \\0 here, csi \\xc2\\x9b here, bidi \\xe2\\x80\\xae here" in build.splitlines(), build
    assert "      client.c:1: warning: ‘main’ is fine" in build.splitlines()
    for text in [o.output for o in result.outcomes] + [console]:
        assert "\x1b" not in text and "\x00" not in text
        for line in text.splitlines():
            fake = line.startswith(("PASS builds with make      10", "Score: 90", "bad ", "client.c:", "  PASS builds with make      10"))
            assert not fake, f"a line of the student's passes for the report's: {line!r}"
    failed = [o for o in result.outcomes if not o.passed]
    assert failed and all("csi \\xc2\\x9b here" in o.output for o in failed if "stdout (" in o.output)
    assert [line for line in console.splitlines() if line.startswith("Score:")] == [f"Score: 0 / {STEP.points}   ({result.seconds:.1f} s)"]


def test_a_failed_build_shows_its_log_escaped_and_indented(tmp_path):
    (tmp_path / STEP.folder).mkdir()
    (tmp_path / STEP.folder / "Makefile").write_text(f"client:\n\t@printf '{HOSTILE}'\n\t@exit 3\n")
    result = grade(tmp_path, STEP)
    build = result.outcomes[0]
    assert build.verdict == "make exited with status 2" and not build.passed
    lines = build.output.splitlines()
    assert "      PASS builds with make      10/10" in lines and "      \\x1b[2J\\x1b[31mred\\x1b[0m" in lines, build.output
    assert not [line for line in lines[1:] if not line.startswith("      ")], build.output
    assert not RAW.search(build.output)


def test_a_build_failure_is_a_failed_test_with_the_compiler_output(tmp_path):
    """gcc in a UTF-8 locale quotes with ‘ and ’: shown as text, not as bytes."""
    folder = tmp_path / STEP.folder
    folder.mkdir()
    (folder / f"{STEP.binary}.c").write_text("int main(void) { return missing_function(; }\n")
    (folder / "Makefile").write_text(f"{STEP.binary}: {STEP.binary}.c\n\tLANG=C.UTF-8 LC_ALL=C.UTF-8 gcc -o $@ $<\n")
    result = grade(tmp_path, STEP)
    build = result.outcomes[0]
    assert not build.passed and "error" in build.output and f"{STEP.binary}.c" in build.output
    assert "‘missing_function’" in build.output and "\\xe2" not in build.output, build.output
    assert build.verdict == "make exited with status 2"
    assert all(not o.passed and "did not build" in o.output for o in result.outcomes[1:])
    assert result.score == 0


def test_a_missing_step_folder_is_a_failed_build(tmp_path):
    result = grade(tmp_path, STEP)
    assert not result.outcomes[0].passed
    assert f"no folder {STEP.folder}" in result.outcomes[0].output


def test_reports_name_no_path_of_the_graders_scratch_copy(tmp_path):
    """The scratch copy is deleted after the grading: a build log or a
    transcript that names it points the student at nothing (make's
    'Entering directory', the unit-test binary of step 05)."""
    broken = tmp_path / "01-client"
    shutil.copytree(KIT / "steps" / "01-client", broken)
    (broken / "client.c").write_text("int main(void) { return missing_function(); }\n")
    shutil.copytree(KIT / "steps" / "05-framing", tmp_path / "05-framing")  # the starter: its unit cases fail
    report = runner.grade(tmp_path, [registry.find("01"), registry.find("05")])
    assert not report.outcomes[0].passed and "missing_function" in report.outcomes[0].output
    named = [o.name for o in report.outcomes if report.scratch in o.output or "socklab-grade-" in o.output]
    assert not named, f"these name the scratch copy {report.scratch}: {named}"
    assert any("../05-framing-unit-tests/" in o.output for o in report.outcomes), "the unit tests' program, shown relative to the step"
