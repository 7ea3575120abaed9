"""OUT/index.html: the class at a glance, one self-contained file (no scripts,
no fonts, no links outside OUT), readable offline.

  - a heat map of students x steps: each cell the step's share of points;
  - "where the class gets stuck": every check with its pass rate, worst first;
  - each student's name links to their feedback (OUT/<student>/feedback.txt,
    the folder of classroom.report_folders).

Every name and test name is a student's text: escaped, never markup.
"""

import html
import json
import urllib.parse
from pathlib import Path

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; }
th, td { padding: 4px 8px; border: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; }
td.cell { min-width: 4em; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 10px; background: #c0392b; vertical-align: middle; }
.bar.ok { background: #27ae60; } .note { color: #666; }
"""


def colour(share):
    """Red (0) through yellow to green (1), as an HSL background."""
    return f"hsl({round(120 * share)}, 65%, {88 - round(18 * share)}%)"


def load(students):
    """Each student's results.json (students: the Student records of classroom;
    the files are classroom's own, written from a checked report)."""
    rows = []
    for st in students:
        path = st.out / "results.json"
        data = json.loads(path.read_text()) if path.is_file() else {"tests": []}
        rows.append((st, data))
    return rows


def heat_map(rows, steps):
    e = html.escape
    head = "".join(f"<th title='{e(s.title)}'>{e(s.folder)}</th>" for s in steps)
    lines = [f"<table><tr><th class=name>student</th><th>total</th>{head}</tr>"]
    for st, _ in rows:
        link = urllib.parse.quote(st.out.name) + "/feedback.txt"
        cells = []
        for step in steps:
            got, most = st.steps.get(step.folder, (0, step.points))
            share = got / most if most else 0
            cells.append(f"<td class=cell style='background:{colour(share)}'>{got:g}</td>")
        note = f" <span class=note title='{e(st.verdict)}'>(!)</span>" if st.verdict else ""
        lines.append(
            f"<tr><td class=name><a href='{e(link)}'>{e(st.name)}</a>{note}</td>"
            f"<td>{st.total:g} / {st.max:g}</td>{''.join(cells)}</tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def pass_rates(rows):
    """Every check with the share of students who pass it, worst first."""
    seen = {}
    for _, data in rows:
        for test in data.get("tests", []):
            passed, total = seen.get(test["name"], (0, 0))
            seen[test["name"]] = (passed + (test.get("status") == "passed"), total + 1)
    order = sorted(seen.items(), key=lambda item: (item[1][0] / item[1][1], item[0]))
    e = html.escape
    lines = ["<table><tr><th class=name>check</th><th>passed</th><th class=name>rate</th></tr>"]
    for name, (passed, total) in order:
        rate = passed / total
        ok = " ok" if rate >= 0.8 else ""
        lines.append(
            f"<tr><td class=name>{e(name)}</td><td>{passed} / {total}</td>"
            f"<td class=name><span class='bar{ok}' style='width:{round(120 * rate)}px'></span> {rate:.0%}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def write(students, steps, out, isolation, seconds):
    rows = load(students)
    mean = sum(st.total for st in students) / len(students)
    page = f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>socklab: class report</title>
<style>{STYLE}</style></head><body>
<h1>socklab: class report</h1>
<p>{len(students)} students, mean {mean:.1f} / {students[0].max:g} points, graded in {seconds:.0f} s.
<span class=note>Isolation: {html.escape(isolation)}.</span></p>
<h2>Students &times; steps</h2>
<p class=note>Points per step; a student's name opens their feedback; (!) marks a grading that stopped early.</p>
{heat_map(rows, steps)}
<h2>Where the class gets stuck</h2>
<p class=note>Every check, the least passed first.</p>
{pass_rates(rows)}
</body></html>
"""
    path = Path(out) / "index.html"
    path.write_text(page)
    return path
