"""Every reference solution built a second time with ASan and UBSan, and graded
(SOCKLAB_SANITIZE=1: no valgrind, no address-space limit, a sanitizer report
fails its check); and proof that a report does fail a check, with the report
shown."""

import functools
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import KIT, grade, registry

STEPS = [pytest.param(step, id=step.folder) for step in registry.STEPS]

CLIENT = """\
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (argc != 3 || getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) return 2;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) return 1;
    freeaddrinfo(ai);
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    close(fd);
    BUG
    return 0;
}
"""

BUGS = {
    "use-after-free": ("char *p = malloc(8); free(p); volatile char c = p[argc]; (void)c;", "AddressSanitizer", "heap-use-after-free"),
    "signed-overflow": ("int big = 2147483647 - 2; big += argc; printf(\"%d\", big);", "UndefinedBehaviorSanitizer", "signed integer overflow"),
    "leak": ("char *volatile p = malloc(100); p[0] = 1; p = NULL;", "LeakSanitizer", "detected memory leaks"),
}


@functools.lru_cache(maxsize=None)
def leak_sanitizer_works():
    """LeakSanitizer needs ptrace-like powers that some containers deny: then
    it dies at every exit ("LeakSanitizer has encountered a fatal error")."""
    with tempfile.TemporaryDirectory() as folder:
        binary = Path(folder) / "probe"
        source = "#include <stdlib.h>\nint main(void) { return malloc(1) == NULL; }\n"
        built = subprocess.run(["cc", "-fsanitize=address", "-x", "c", "-", "-o", str(binary)], input=source, text=True, capture_output=True)
        if built.returncode != 0:
            return False
        run = subprocess.run([str(binary)], env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"), capture_output=True, text=True)
        return "LeakSanitizer has encountered a fatal error" not in run.stderr


@pytest.fixture
def sanitized(monkeypatch):
    monkeypatch.setenv("SOCKLAB_SANITIZE", "1")
    monkeypatch.setenv("SOCKLAB_VALGRIND", "0")
    monkeypatch.setenv("ASAN_OPTIONS", f"detect_leaks={int(leak_sanitizer_works())}")
    monkeypatch.setenv("UBSAN_OPTIONS", "print_stacktrace=1")


@pytest.mark.parametrize("step", STEPS)
def test_solution_scores_full_marks_under_asan_and_ubsan(sanitized, step):
    report = grade(KIT / "solutions", step)
    failures = [f"{o.name}:\n{o.output}" for o in report.outcomes if not o.passed]
    assert not failures, "\n\n".join(failures)
    assert report.score == step.points


@pytest.mark.parametrize("bug", BUGS, ids=list(BUGS))
def test_a_sanitizer_report_fails_the_check_and_is_shown(sanitized, tmp_path, bug):
    code, sanitizer, words = BUGS[bug]
    if sanitizer == "LeakSanitizer" and not leak_sanitizer_works():
        pytest.skip("LeakSanitizer cannot run on this machine (no ptrace in this container?)")
    folder = tmp_path / "01-client"
    folder.mkdir()
    (folder / "client.c").write_text(CLIENT.replace("BUG", code))
    (folder / "Makefile").write_text((KIT / "solutions" / "01-client" / "Makefile").read_text())
    report = grade(tmp_path, registry.find("01"))
    assert report.outcomes[0].passed, report.outcomes[0].output
    whole = next(o for o in report.outcomes if o.name == "prints a greeting sent whole")
    assert not whole.passed
    assert f"{sanitizer} found an error in your program" in whole.output
    assert words in whole.output


def test_without_the_switch_nothing_changes(tmp_path):
    """The normal build of the same program passes the session checks: the
    switch alone adds the sanitizers (the build is not touched otherwise)."""
    folder = tmp_path / "01-client"
    folder.mkdir()
    (folder / "client.c").write_text(CLIENT.replace("BUG", BUGS["leak"][0]))
    (folder / "Makefile").write_text((KIT / "solutions" / "01-client" / "Makefile").read_text())
    from grader import runner

    assert runner.make_variables() == []
    report = grade(tmp_path, registry.find("01"))
    whole = next(o for o in report.outcomes if o.name == "prints a greeting sent whole")
    assert whole.passed, whole.output
