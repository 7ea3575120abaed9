"""Static checks of the kit's C code: one format (.clang-format) over every C
file but the test fixtures (tests/programs/ keep their header layout), and
cppcheck and clang-tidy (.clang-tidy) clean on the reference solutions and
tools/*.c. A missing tool skips its test, except in CI (CI=... set), which
installs them all."""

import os
import shutil
import subprocess

import pytest

from conftest import KIT

FORMATTED = sorted(
    p
    for pattern in ("solutions/*/*.[ch]", "steps/*/*.[ch]", "tests/unit/*.[ch]", "tests/fuzz/*.[ch]", "tools/*.[ch]")
    for p in KIT.glob(pattern)
)
ANALYSED = sorted(p for pattern in ("solutions/*/*.c", "tools/*.c") for p in KIT.glob(pattern))
# Every solution folder is on the include path: a step may use an earlier one's header.
INCLUDES = [f"-I{d}" for d in sorted(KIT.glob("solutions/*/")) if d.is_dir()]


def need(tool):
    if shutil.which(tool):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{tool} is not installed, and CI must run it")
    pytest.skip(f"{tool} is not installed (apt-get install {tool})")


def shown(path):
    return str(path.relative_to(KIT))


def test_c_code_follows_the_style_file():
    need("clang-format")
    assert len(FORMATTED) > 10
    unformatted = []
    for path in FORMATTED:
        run = subprocess.run(["clang-format", "--dry-run", "-Werror", str(path)], capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            unformatted.append(f"{shown(path)}:\n" + "\n".join(run.stderr.splitlines()[:12]))
    assert not unformatted, "not formatted (run: clang-format -i FILE):\n" + "\n".join(unformatted)


def test_cppcheck_finds_nothing():
    need("cppcheck")
    command = [
        "cppcheck", "--enable=warning,style,performance,portability", "--std=c11", "--quiet",
        "--inline-suppr", "--error-exitcode=1", "--suppress=missingIncludeSystem", *INCLUDES, *map(str, ANALYSED),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=KIT)
    assert run.returncode == 0, f"cppcheck:\n{run.stdout}{run.stderr}"


@pytest.mark.parametrize("path", [pytest.param(p, id=shown(p)) for p in ANALYSED])
def test_clang_tidy_finds_nothing(path):
    need("clang-tidy")
    command = ["clang-tidy", "--quiet", str(path), "--", "-std=c17", f"-I{path.parent}", *INCLUDES]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=KIT)
    findings = [line for line in run.stdout.splitlines() if ": error: " in line or ": warning: " in line]
    assert run.returncode == 0 and not findings, f"clang-tidy {shown(path)} (see .clang-tidy):\n{run.stdout}{run.stderr}"


def test_cppcheck_and_clang_tidy_would_see_a_real_bug(tmp_path):
    """The configuration is not so lax that it sees nothing."""
    need("cppcheck")
    need("clang-tidy")
    bad = tmp_path / "bad.c"
    bad.write_text("#include <string.h>\nint f(void)\n{\n    char b[4];\n    strcpy(b, \"too long\");\n    return b[0];\n}\n")
    cppcheck = subprocess.run(["cppcheck", "--quiet", "--error-exitcode=1", str(bad)], capture_output=True, text=True, timeout=60)
    assert cppcheck.returncode == 1, cppcheck.stderr
    tidy = subprocess.run(["clang-tidy", "--quiet", f"--config-file={KIT / '.clang-tidy'}", str(bad), "--", "-std=c17"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert tidy.returncode != 0, tidy.stdout
