"""The reports of SPEC §4: results.json in Gradescope's format, junit.xml."""

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import KIT, grade, registry
from grader import report

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
    assert all(c.find("failure") is not None for c, o in zip(cases, result.outcomes) if not o.passed)


def test_a_build_failure_is_a_failed_test_with_the_compiler_output(tmp_path):
    folder = tmp_path / STEP.folder
    folder.mkdir()
    (folder / f"{STEP.binary}.c").write_text("int main(void) { return missing_function(; }\n")
    (folder / "Makefile").write_text(f"{STEP.binary}: {STEP.binary}.c\n\tcc -o $@ $<\n")
    result = grade(tmp_path, STEP)
    build = result.outcomes[0]
    assert not build.passed and "error" in build.output and f"{STEP.binary}.c" in build.output
    assert all(not o.passed and "did not build" in o.output for o in result.outcomes[1:])
    assert result.score == 0


def test_a_missing_step_folder_is_a_failed_build(tmp_path):
    result = grade(tmp_path, STEP)
    assert not result.outcomes[0].passed
    assert f"no folder {STEP.folder}" in result.outcomes[0].output
