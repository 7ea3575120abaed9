"""The reports of SPEC §4 (Gradescope's results.json, PrairieLearn's, JUnit XML) and the console table."""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from .engine import GRADER_FAILED


def test_name(o):
    return f"{o.step.folder}: {o.name}"


def test_number(o):
    return f"{o.step.number}.{o.index}"


# === Checks not run ============================================================
# A check that could not run here (REMOTE: grader/remote.py; a memory check
# without valgrind: Trial.not_run) carries its reason in Outcome.extra["skipped"].
# It counts neither as passed nor as failed: it is worth 0 and its step's points
# are shared among the checks that ran (runner.score). Every report says so.

COUNTS_AS = "a skipped check counts neither as passed nor as failed: its step's points are shared among the checks that ran"


def skipped(outcomes):
    return [o for o in outcomes if o.extra.get("skipped")]


def not_run(outcomes):
    """Which checks were not run, and why: one phrase a reason, e.g. "memory
    check (valgrind) was not run: valgrind is off (VALGRIND=0); VALGRIND=1 runs it"."""
    reasons = {}
    for o in skipped(outcomes):
        reasons.setdefault(o.extra["skipped"], []).append(o)
    phrases = []
    for reason, group in reasons.items():
        names = list(dict.fromkeys(o.name for o in group))
        what = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        steps = len({o.step.folder for o in group})
        where = f" (in {steps} steps)" if steps > 1 else ""
        phrases.append(f"{what}{where} {'was' if len(group) == 1 else 'were'} not run: {reason}")
    return phrases


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
        if not o.extra.get("skipped")  # not run here: worth 0, and said in "output"
    ]
    missing = "; ".join(not_run(report.outcomes))
    return {
        "score": report.score,
        "execution_time": round(report.seconds, 2),
        "output": f"socklab: {report.score:g} / {report.max_score:g} points. Isolation: {report.isolation}."
        + (f" Skipped: {missing} ({COUNTS_AS})." if missing else "")
        + "".join(f"\n{said}" for said in (report.found, report.absent) if said),
        "tests": tests,
    }


# === PrairieLearn ==============================================================
# The external grader's results.json, as PrairieLearn reads it
# (https://prairielearn.readthedocs.io/en/latest/externalGrading/, "Grading
# results"): score from 0 to 1; gradable false when the submission could not be
# graded at all (no points, no attempt used; format_errors says why); tests with
# name, points, max_points, message, output. The file must stay under 1 MB
# (PrairieLearn's grader host refuses a larger one and the student sees an error).

PRAIRIELEARN_LIMIT = 900_000  # bytes of results.json: 1 MiB is refused, with a margin


def verdict(o):
    """A check's outcome in one line: "passed", or its verdict (failure_message)."""
    return "passed" if o.passed else failure_message(o)


def clip(text, limit):
    """text cut to about limit characters, its head and tail kept, with a note saying so."""
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return f"{text[:half]}\n... ({len(text) - 2 * half} characters left out here: PrairieLearn takes at most 1 MB of results) ...\n{text[-half:]}"


def prairielearn(report, limit=PRAIRIELEARN_LIMIT):
    """PrairieLearn's results, every output cut short enough that the whole
    file stays under limit bytes (ASCII JSON: one character is one byte)."""
    graded = [o for o in report.outcomes if not o.extra.get("skipped")]
    builds = [o for o in graded if o.index == 0]
    gradable = any(o.passed for o in builds)
    summary = "\n".join(
        f"{step.folder:<20} {sum(o.score for o in report.of_step(step)):g} / {sum(o.max_score for o in report.of_step(step)):g}"
        for step in report.steps
    )
    cap = 64 * 1024  # characters of one output; shrunk until the whole file fits
    while True:
        result = {
            "gradable": gradable,
            "score": round(report.score / report.max_score, 4) if report.max_score else 0.0,
            "message": f"socklab: {report.score:g} / {report.max_score:g} points"
            + ("" if gradable else ": nothing could be graded, no step built (see the errors below)"),
            "output": clip(f"{summary}\nIsolation: {report.isolation}.", cap),
            "tests": [
                {
                    "name": test_name(o),
                    "points": o.score,
                    "max_points": o.max_score,
                    "message": clip(verdict(o), min(cap, 1000)),
                    "output": clip(o.output, cap),
                }
                for o in graded
            ],
        }
        if not gradable:
            result["format_errors"] = [clip(f"{o.step.folder}: {o.output}", cap) for o in builds]
        if len(json.dumps(result, indent=1)) <= limit or cap <= 16:
            return result
        cap //= 4


# === JUnit =====================================================================
# As Jenkins reads it: the rules of junit-10.xsd, the schema of Jenkins' xUnit
# plugin (github.com/jenkinsci/xunit-plugin, file src/main/resources/org/
# jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd). A testsuite must carry
# name, tests, failures and errors, and may carry skipped and time; testsuites
# may carry only name, time, tests, failures, errors; a testcase must carry
# name and may carry classname and time; failure, error and skipped carry a
# message; every time is digits with an optional decimal part (SUREFIRE_TIME).
# tests/test_reports.py checks our file against those rules.

# Characters XML 1.0 does not allow, even as &#...; references (the C0 controls
# but tab, newline and carriage return; surrogates; U+FFFE, U+FFFF), and the C1
# controls: written as \xNN text before they reach the XML.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def xml_text(text):
    """Any text, safe in an XML 1.0 document (see NOT_XML)."""
    return NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def junit_kind(o):
    """skipped (not run here: REMOTE, a memory check without valgrind), passed, error (the check broke in the
    grader, not in the student's program) or failure."""
    if o.extra.get("skipped"):
        return "skipped"
    if o.passed:
        return "passed"
    return "error" if o.verdict.startswith(GRADER_FAILED) else "failure"


def failure_message(o):
    """A failure's one-line message: its verdict (or its output's first line)."""
    lines = (o.verdict or o.output).strip().splitlines()
    return lines[0][:200] if lines else "failed"


def junit(report):
    """junit.xml as bytes (UTF-8, with its declaration)."""
    root = ET.Element("testsuites", name="socklab", time=f"{report.seconds:.2f}")
    kinds = [junit_kind(o) for o in report.outcomes]
    root.attrib.update(tests=str(len(kinds)), failures=str(kinds.count("failure")), errors=str(kinds.count("error")))
    for step in report.steps:
        outcomes = report.of_step(step)
        kinds = [junit_kind(o) for o in outcomes]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=step.folder,
            tests=str(len(outcomes)),
            failures=str(kinds.count("failure")),
            errors=str(kinds.count("error")),
            skipped=str(kinds.count("skipped")),
            time=f"{sum(o.seconds for o in outcomes):.2f}",
        )
        for o, kind in zip(outcomes, kinds):
            case = ET.SubElement(suite, "testcase", classname=step.folder, name=xml_text(o.name), time=f"{o.seconds:.2f}")
            if kind == "skipped":
                ET.SubElement(case, "skipped", message=xml_text(o.extra["skipped"][:200]))
            elif kind == "passed":
                ET.SubElement(case, "system-out").text = xml_text(o.output)
            else:
                ET.SubElement(case, kind, message=xml_text(failure_message(o))).text = xml_text(o.output)
    indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def indent(element, level=0):
    """ElementTree.indent, which Python 3.8 lacks: children on lines of their own."""
    inside = "\n" + "  " * (level + 1)
    if len(element):
        if not (element.text or "").strip():
            element.text = inside
        for child in element:
            indent(child, level + 1)
            child.tail = inside
        child.tail = inside[:-2]


def replace_file(path, data):
    """Write a whole file or nothing: a reader (or a grading killed meanwhile)
    never sees half of it. The rename replaces a link there, never follows it."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(data)
    os.replace(partial, path)


RESULTS = {"gradescope": gradescope, "autolab": gradescope, "prairielearn": prairielearn}  # --format: results.json's shape


def write(report, out, fmt="gradescope"):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "results.json", (json.dumps(RESULTS[fmt](report), indent=1 if fmt == "prairielearn" else 2) + "\n").encode())
    replace_file(out / "junit.xml", junit(report) + b"\n")
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
    if report.found:  # where the step folders are, when it is not the submission itself (runner.locate)
        say(report.found)
    for step in report.steps:
        outcomes = report.of_step(step)
        got = sum(o.score for o in outcomes)
        top = sum(o.max_score for o in outcomes)
        say()
        say(style.bold(f"{step.folder:<40}") + f"{got:6g} / {top:g}")
        explained = 0
        for o in outcomes:
            if o.extra.get("skipped"):
                say(f"  {style('33', 'SKIP')} {o.name:<52}")
                continue
            mark = style.good("PASS") if o.passed else style.bad("FAIL")
            points = f"{o.score:g}/{o.max_score:g}" if o.max_score else ""
            say(f"  {mark} {o.name:<52} {points:>9}")
            if details and not o.passed and (most is None or explained < most):
                explained += 1
                for line in o.output.splitlines():
                    say(style.dim("       ") + line)
                if o.hint:
                    say(f"       more help: make hint STEP={step.number:02d}  (hint {o.hint} helps here)")
        for phrase in not_run(outcomes) if len(report.steps) > 1 else ():  # one step: the closing line says it
            say(style.dim(f"  ({phrase})"))
        hidden = sum(o.failed for o in outcomes) - explained
        if details and hidden > 0:
            say(style.dim(f"  ({hidden} more failure(s) not explained here: make check STEP={step.number:02d} explains each)"))
    passed = sum(o.passed for o in report.outcomes)
    failed = sum(o.failed for o in report.outcomes)
    left_out = skipped(report.outcomes)
    say()
    if left_out:
        say(style("33", f"{len(left_out)} skipped") + ": " + "; ".join(not_run(left_out)))
        say(style.dim(f"({COUNTS_AS})"))
    which = " (of the checks that ran)" if left_out else ""
    say(style.bold(f"Score: {report.score:g} / {report.max_score:g}{which}") + f"   ({report.seconds:.1f} s)")
    return passed, failed


# === Progress (make grade) =====================================================


def bar(fraction, width, stream, style):
    """A progress bar of width cells: block characters where the stream takes
    UTF-8, '#' and '.' elsewhere."""
    utf8 = "utf" in (getattr(stream, "encoding", "") or "").lower()
    full, empty = ("█", "░") if utf8 else ("#", ".")
    cells = round(max(0.0, min(1.0, fraction)) * width)
    return style.good(full * cells) + style.dim(empty * (width - cells))


def step_states(report):
    """[(step, state, points, max)] with state "done", "current", "started" or
    "not started". done: every check that ran passes. not started: it scores 0 (the
    starter does), or there is no folder. current: the first step that is not
    done and has work in it (points); "started": the later ones with points."""
    rows, current = [], None
    for step in report.steps:
        outcomes = report.of_step(step)
        got = round(sum(o.score for o in outcomes), 2)
        top = round(sum(o.max_score for o in outcomes), 2) or step.points
        if outcomes and not any(o.failed for o in outcomes) and any(o.passed for o in outcomes):
            state = "done"
        elif got > 0 and current is None:
            state = current = "current"
        else:
            state = "started" if got > 0 else "not started"
        rows.append((step, state, got, top))
    return rows


def next_step(rows):
    """The step to work on: the current one, else the first that is not done."""
    for wanted in ("current", "started", "not started"):
        for step, state, _, _ in rows:
            if state == wanted:
                return step
    return None


def progress(report, stream=sys.stdout):
    """The student's progress: one row a step, a bar, and the next step to do.
    Returns that step (None when every step is done)."""
    style = Style(stream)
    say = lambda text="": print(text, file=stream)
    rows = step_states(report)
    paint = {"done": style.good, "current": lambda t: style("1;33", t), "started": lambda t: style("33", t), "not started": style.dim}
    say()
    say(style.bold("Progress") + f"  {bar(report.score / (report.max_score or 1), 30, stream, style)}  {report.score:g} / {report.max_score:g} points")
    for step, state, got, top in rows:
        left_out = len(skipped(report.of_step(step)))
        unchecked = style("33", f"  ({left_out} not run)") if left_out else ""
        say(f"  {step.folder:<18} {paint[state](f'{state:<12}')} {got:5g} / {top:<3g} {bar(got / (top or 1), 10, stream, style)}{unchecked}")
    step = next_step(rows)
    if step is None:
        say(style.good("Every step is done. Well played!"))
    else:
        n = f"{step.number:02d}"
        say(style.bold(f"Next: {step.folder}") + f"   make check STEP={n} explains each failure; make watch STEP={n} re-checks on every save; make hint STEP={n}")
    return step
