"""Bad input to the grader itself: odd names, symlinks that point outside,
a binary that is not executable, a missing step folder, Makefiles that never
end, fork, flood their output or delete what is not theirs. Each gets a clear
verdict in bounded time, leaves nothing running, and harms nothing: the
original submission and the kit stay as they were."""

import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import KIT, grade, registry, runner

CLIENT = registry.find("01")


@pytest.fixture(autouse=True)
def no_valgrind(monkeypatch):
    monkeypatch.setenv("SOCKLAB_VALGRIND", "0")  # the build is what these probe


def fingerprint(folder):
    """Every path under folder (links as links) with its content's hash."""
    seen = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                seen[path] = "link:" + os.readlink(path)
            elif os.path.isfile(path):
                seen[path] = hashlib.sha256(open(path, "rb").read()).hexdigest()
            else:
                seen[path] = "dir"
    return seen


def client_folder(parent, makefile=None):
    """A step folder 01-client holding the reference client (or another Makefile)."""
    folder = parent / CLIENT.folder
    folder.mkdir(parents=True)
    shutil.copy(KIT / "solutions" / CLIENT.folder / "client.c", folder / "client.c")
    shutil.copy(KIT / "solutions" / CLIENT.folder / "Makefile", folder / "Makefile")
    if makefile is not None:
        (folder / "Makefile").write_text(makefile)
    return folder


def processes_with(token):
    """Processes whose command line holds token (a number no one else uses)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and token in open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace"):
                found.append(entry)
        except OSError:
            pass
    return found


def build_output(report):
    return report.outcomes[0].output


# === Names =====================================================================


def test_odd_names_are_graded_like_any_other(tmp_path):
    submission = tmp_path / "- odd ü name"
    folder = client_folder(submission)
    for odd in ("-rf", "--help", "a b ü.txt", "*", "$(rm -rf x)"):
        (folder / odd).write_text("not a source\n")
    before = fingerprint(submission)
    report = grade(submission, CLIENT)
    assert report.score == CLIENT.points, [o.output for o in report.outcomes if not o.passed]
    assert fingerprint(submission) == before


def test_the_command_line_takes_a_folder_with_a_leading_dash(tmp_path):
    submission = tmp_path / "-odd"
    client_folder(submission)
    command = [sys.executable, "-m", "grader", "check", "01", "--submission=-odd", "--out", str(tmp_path / "out")]
    env = dict(os.environ, PYTHONPATH=str(KIT))
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].endswith(" 0 failed")


# === Symbolic links ============================================================


@pytest.mark.parametrize("target", [KIT / "solutions" / CLIENT.folder, "/etc"], ids=["kit-solutions", "etc"])
def test_a_step_folder_that_is_a_link_is_not_followed(tmp_path, target):
    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / CLIENT.folder).symlink_to(target)
    kit = fingerprint(KIT / "solutions" / CLIENT.folder)
    report = grade(submission, CLIENT)
    assert report.score == 0
    assert "is a symbolic link" in build_output(report) and "does not follow links" in build_output(report)
    assert fingerprint(KIT / "solutions" / CLIENT.folder) == kit


def test_links_that_point_outside_are_not_copied(tmp_path):
    """The kit's solution through a link, /etc, the folder above: all left out,
    and said so; a link to another step folder of the submission is kept."""
    submission = tmp_path / "sub"
    folder = client_folder(submission)
    (folder / "client.c").unlink()
    (folder / "client.c").symlink_to(KIT / "solutions" / CLIENT.folder / "client.c")
    (folder / "etc").symlink_to("/etc")
    (folder / "up").symlink_to("../..")
    (folder / "Makefile").write_text("client: client.c\n\tcat etc/hostname up/* 2>/dev/null; $(CC) -o $@ client.c\n")
    report = grade(submission, CLIENT)
    out = build_output(report)
    assert not report.outcomes[0].passed
    assert "not copied: symbolic links that point outside the submission" in out
    for name in ("client.c ->", "etc -> /etc", "up -> ../.."):
        assert name in out, out


def test_a_link_inside_the_submission_is_kept(tmp_path):
    submission = tmp_path / "sub"
    folder = client_folder(submission)
    other = submission / registry.find("02").folder
    other.mkdir()
    (folder / "client.c").rename(other / "shared-client.c")
    (folder / "client.c").symlink_to(f"../{other.name}/shared-client.c")
    report = grade(submission, CLIENT)
    assert report.score == CLIENT.points, build_output(report)


# === Builds that go wrong ======================================================


def test_a_binary_that_is_not_executable(tmp_path):
    client_folder(tmp_path, makefile="client:\n\tprintf '#!/bin/sh\\necho hi\\n' > client\n")
    report = grade(tmp_path, CLIENT)
    assert report.score == 0
    assert "the file is there, but not executable" in build_output(report)
    assert all("did not build" in o.output for o in report.outcomes[1:])


def test_a_missing_step_folder(tmp_path):
    report = grade(tmp_path, CLIENT)
    assert report.score == 0
    assert f"no folder {CLIENT.folder} in the submission" in build_output(report)


def test_a_build_that_never_ends_is_stopped_with_all_it_started(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "BUILD_TIMEOUT", 3)
    client_folder(tmp_path, makefile="client:\n\tsetsid sleep 987651 & sleep 987652\n")
    started = time.monotonic()
    report = grade(tmp_path, CLIENT)
    assert time.monotonic() - started < 30
    assert "make did not finish within 3 s" in build_output(report)
    time.sleep(0.5)
    assert not processes_with("98765" + "1") and not processes_with("98765" + "2")


def test_a_build_that_forks_lightly_leaves_nothing_running(tmp_path):
    makefile = "client:\n\tfor i in $$(seq 200); do (sleep 987653 &) ; done; echo forked\n"
    client_folder(tmp_path, makefile=makefile)
    report = grade(tmp_path, CLIENT)
    assert "left no executable named client" in build_output(report)
    time.sleep(0.5)
    assert not processes_with("98765" + "3")


def test_a_build_that_floods_its_output(tmp_path):
    client_folder(tmp_path, makefile="client:\n\tyes 'flood flood flood' | head -c 300000000; exit 1\n")
    started = time.monotonic()
    report = grade(tmp_path, CLIENT)
    assert time.monotonic() - started < 60
    out = build_output(report)
    assert "make exited with status" in out or "make " in out.splitlines()[0], out[:500]
    assert len(out) < 20000, f"the build report holds {len(out)} characters"


def test_a_makefile_that_deletes_around_it_touches_only_the_scratch_copy(tmp_path):
    """rm -rf of the other step folders and of the kit's common/ beside it:
    those are the scratch copies; the submission and the kit stay whole."""
    submission = tmp_path / "sub"
    makefile = "client:\n\trm -rf ../02-server ../common ../.[!.]* ./*\n\tfalse\n"
    client_folder(submission, makefile=makefile)
    client_folder(submission / "x").rename(submission / "02-server")
    before, kit = fingerprint(submission), fingerprint(KIT / "steps" / "common")
    report = grade(submission, CLIENT, registry.find("02"))
    assert report.score == 0
    assert fingerprint(submission) == before
    assert fingerprint(KIT / "steps" / "common") == kit


def test_as_root_a_submission_runs_as_an_unprivileged_uid(tmp_path):
    """make grade/check as root (a Gradescope container, a TA's shell): the
    student's Makefile and programs run as the student uid, so they cannot
    write outside their scratch copy, nor the grader's reports."""
    from grader import sandbox

    if sandbox.student_uid() is None:
        pytest.skip("not root: programs run as the user who grades, who owns nothing else")
    canary = KIT / "build" / f"root-canary-{os.getpid()}"
    canary.parent.mkdir(exist_ok=True)
    canary.write_text("still here\n")
    pwned = KIT / "build" / f"root-pwned-{os.getpid()}"
    makefile = (
        f"client: client.c\n\tid -u > uid.txt\n\t-rm -f '{canary}'\n\t-touch '{pwned}'\n"
        "\tcc -o client client.c\n"
    )
    folder = client_folder(tmp_path / "sub", makefile=makefile)
    try:
        report = grade(folder.parent, CLIENT)
        assert canary.read_text() == "still here\n"
        assert not pwned.exists(), "a Makefile run as root wrote into the kit"
        assert report.score == CLIENT.points, build_output(report)
        assert f"programs run as uid {sandbox.student_uid()}" in report.isolation
    finally:
        canary.unlink(missing_ok=True)
        pwned.unlink(missing_ok=True)
    program = sandbox.Program(["id", "-u"], tmp_path)
    assert program.wait(10).code == 0
    assert program.stdout.data().strip() == str(sandbox.student_uid()).encode()


# === A whole class of hostile students =========================================


def test_in_a_class_a_hostile_makefile_cannot_touch_the_kit_or_the_class(tmp_path):
    """Graded with CLASS=, each student runs as an unprivileged uid of its own:
    absolute paths, ../../*, the kit: nothing outside its copy can be written."""
    from grader import classroom

    if os.geteuid() != 0:
        pytest.skip("no unprivileged uid per student here (needs root): not safe to try")
    canary = KIT / "build" / f"bad-submission-canary-{os.getpid()}"
    canary.parent.mkdir(exist_ok=True)
    canary.write_text("still here\n")
    pwned = KIT / "build" / f"pwned-{os.getpid()}"
    klass = tmp_path / "class"
    makefile = (
        f"client:\n\t-rm -rf ../../* ../../../* '{klass}' '{canary}'\n\t-touch '{pwned}'\n"
        f"\t-cp -r '{KIT}/solutions/01-client/client.c' . \n\tfalse\n"
    )
    client_folder(klass / "mallory", makefile=makefile)
    # eve builds the kit's own answer, which she reads by its absolute path
    thief = f"client:\n\tcc -o client '{KIT}/solutions/01-client/client.c' || cc -o client '{KIT}/tests/programs/correct/01-client-stdio.c'\n"
    client_folder(klass / "eve", makefile=thief)
    client_folder(klass / "alice")
    before = fingerprint(klass)
    command = [sys.executable, "-m", "grader", "class", str(klass), "--out", str(tmp_path / "out"), "--jobs", "1",
               "--budget", "120", "--step", CLIENT.folder]  # fmt: skip
    try:
        run = subprocess.run(command, cwd=KIT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert fingerprint(klass) == before, "the class folder changed"
        assert canary.read_text() == "still here\n"
        assert not pwned.exists(), "a student's Makefile wrote into the kit"
        book = (tmp_path / "out" / "gradebook.csv").read_text()
        assert "alice,10" in book and "mallory,0" in book, book
        if "hidden" in classroom.isolation(klass, tmp_path / "out")[0]:
            assert "eve,0" in book, "the kit's solutions could be read during a class grading\n" + book
            said = (tmp_path / "out" / "eve" / "feedback.txt").read_text()
            # hidden (No such file), or out of her reach before that (a kit under /root, mode 700: Permission denied)
            assert f"{KIT}/solutions/01-client/client.c: No such file" in said or f"{KIT}/solutions/01-client/client.c: Permission denied" in said, said
    finally:
        canary.unlink(missing_ok=True)
        pwned.unlink(missing_ok=True)
