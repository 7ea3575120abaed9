"""Print the closing lines of `make test` from pytest's JUnit report: the
kit's own diagnosis rate (of the known-bug fixtures, how many failures name
their cause: the fixture's `cause:` line, tests/test_programs.py; and which
fixtures have no cause line yet), then, last, `N passed, N failed` (and
`, N skipped` when some were)."""

import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
passed = total - failed - skipped
causes = {}  # fixture -> "named", "missed" or "no cause line"
for case in root.iter("testcase"):
    for prop in case.iter("property"):
        if prop.get("name") == "cause":
            causes[case.get("name", "").partition("[")[2].rstrip("]")] = prop.get("value")
if causes:
    named = sum(value == "named" for value in causes.values())
    print(f"causes named: {named} of {len(causes)} known-bug fixtures")
    without = sorted(name for name, value in causes.items() if value == "no cause line")
    if without:
        print(f"without a cause line ({len(without)}): " + ", ".join(without))
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))  # last, as SPEC §3 says
sys.exit(1 if failed or not total else 0)
