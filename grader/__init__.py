"""socklab's grader: see README.md, "For instructors"."""

import sys

# The oldest Python the grader runs on (Ubuntu 20.04 has 3.8). Checked here,
# before any module of the grader is read, so an older one gets this sentence
# instead of a traceback.
MINIMUM_PYTHON = (3, 8)

if sys.version_info < MINIMUM_PYTHON:
    sys.exit(
        "socklab: the grader needs Python %d.%d or later; this is %s (%s). "
        "Install python3 (Debian/Ubuntu: apt-get install python3) or set PYTHON=/path/to/python3."
        % (MINIMUM_PYTHON + (sys.version.split()[0], sys.executable))
    )
