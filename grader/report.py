"""The reports of SPEC §4 (Gradescope's results.json, JUnit XML) and the console table."""

import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def test_name(o):
    return f"{o.step.folder}: {o.name}"


def test_number(o):
    return f"{o.step.number}.{o.index}"


# === Gradescope ================================================================


def gradescope(report):
    tests = [
        {
            "name": test_name(o),
            "number": test_number(o),
            "score": o.score,
            "max_score": o.max_score,
            "status": "passed" if o.passed else "failed",
            "output": o.output,
            "tags": [o.step.folder],
        }
        for o in report.outcomes
    ]
    return {
        "score": report.score,
        "execution_time": round(report.seconds, 2),
        "output": f"socklab: {report.score:g} / {report.max_score:g} points. Isolation: {report.isolation}.",
        "tests": tests,
    }


# === JUnit =====================================================================


def junit(report):
    root = ET.Element("testsuites", name="socklab", time=f"{report.seconds:.2f}")
    for step in report.steps:
        outcomes = report.of_step(step)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=step.folder,
            tests=str(len(outcomes)),
            failures=str(sum(not o.passed for o in outcomes)),
            time=f"{sum(o.seconds for o in outcomes):.2f}",
        )
        for o in outcomes:
            case = ET.SubElement(suite, "testcase", classname=step.folder, name=o.name, time=f"{o.seconds:.2f}")
            if o.passed:
                ET.SubElement(case, "system-out").text = o.output
            else:
                first = o.output.strip().splitlines()[-1] if o.output.strip() else "failed"
                ET.SubElement(case, "failure", message=first[:200]).text = o.output
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def write(report, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(gradescope(report), indent=2) + "\n")
    (out / "junit.xml").write_text(junit(report) + "\n")
    return out


# === Console ===================================================================


class Style:
    """ANSI colours on a terminal; none when piped or with NO_COLOR."""

    def __init__(self, stream=sys.stdout):
        self.on = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def __call__(self, code, text):
        return f"\033[{code}m{text}\033[0m" if self.on else text

    def good(self, text):
        return self("32", text)

    def bad(self, text):
        return self("31", text)

    def dim(self, text):
        return self("2", text)

    def bold(self, text):
        return self("1", text)


def console(report, details=True, stream=sys.stdout, most=None):
    """The table of steps and checks, the failures explained, the score.
    most: explain at most this many failures a step (None: all of them)."""
    style = Style(stream)
    say = lambda text="": print(text, file=stream)
    say(style.bold(f"socklab grader: {report.submission}") + style.dim(f"  (isolation: {report.isolation})"))
    for step in report.steps:
        outcomes = report.of_step(step)
        got = sum(o.score for o in outcomes)
        top = sum(o.max_score for o in outcomes)
        say()
        say(style.bold(f"{step.folder:<40}") + f"{got:6g} / {top:g}")
        explained = 0
        for o in outcomes:
            mark = style.good("PASS") if o.passed else style.bad("FAIL")
            points = f"{o.score:g}/{o.max_score:g}" if o.max_score else ""
            say(f"  {mark} {o.name:<52} {points:>9}")
            if details and not o.passed and (most is None or explained < most):
                explained += 1
                for line in o.output.splitlines():
                    say(style.dim("       ") + line)
                if o.hint:
                    say(f"       more help: make hint STEP={step.number:02d}  (hint {o.hint} helps here)")
        hidden = sum(not o.passed for o in outcomes) - explained
        if details and hidden > 0:
            say(style.dim(f"  ({hidden} more failure(s) not explained here: make check STEP={step.number:02d} explains each)"))
    passed = sum(o.passed for o in report.outcomes)
    failed = len(report.outcomes) - passed
    say()
    say(style.bold(f"Score: {report.score:g} / {report.max_score:g}") + f"   ({report.seconds:.1f} s)")
    return passed, failed
