"""What a submission looks like when it arrives, and what of it is graded.

Committed builds: the grader builds the source and never runs a program or an
object the student committed (git gives every file the same mtime, so make
would believe a committed binary up to date)."""

import os
import shutil
import subprocess

import pytest

from conftest import KIT, PROGRAMS, grade, registry

CLIENT, SERVER = registry.find("01"), registry.find("02")
CLONE_TIME = 1_700_000_000  # every file of a fresh clone has the same mtime


@pytest.fixture(autouse=True)
def no_valgrind(monkeypatch):
    monkeypatch.setenv("SOCKLAB_VALGRIND", "0")


def cloned(folder):
    """Every file under folder with one mtime, as `git clone` leaves them."""
    for base, _, names in os.walk(folder):
        for name in names:
            os.utime(os.path.join(base, name), (CLONE_TIME, CLONE_TIME))


@pytest.fixture(scope="module")
def reference_binaries(tmp_path_factory):
    """The reference client and server, built outside the kit's tree."""
    built = {}
    for step in (CLIENT, SERVER):
        where = tmp_path_factory.mktemp(step.slug) / step.folder
        shutil.copytree(KIT / "solutions" / step.folder, where)
        subprocess.run(["make", "-s", "-B", "-C", str(where)], check=True, capture_output=True, timeout=120)
        built[step] = where / step.binary
    return built


def starter_with_binary(parent, step, binary):
    """A step folder: the starter's source, the reference's binary, one mtime."""
    folder = parent / step.folder
    shutil.copytree(KIT / "steps" / step.folder, folder)
    shutil.copy(binary, folder / step.binary)
    cloned(folder)
    return folder


# === What is graded is the source ==============================================


def test_starter_source_with_a_committed_reference_binary_scores_what_the_starter_scores(tmp_path, reference_binaries):
    sub = tmp_path / "sub"
    starter_with_binary(sub, CLIENT, reference_binaries[CLIENT])
    report = grade(sub, CLIENT)
    build = report.outcomes[0]
    assert build.passed, build.output
    assert f"removed before the build: {CLIENT.binary} (an ELF binary)" in build.output
    assert report.score == 0, "the committed binary was graded, not the source"
    assert (sub / CLIENT.folder / CLIENT.binary).is_file(), "the submission itself was changed"


def test_committed_objects_and_a_non_script_named_like_the_program_are_removed(tmp_path, reference_binaries):
    """client.o built from the reference beside the starter's client.c, a
    Makefile that links the object: the object is rebuilt from the source."""
    sub = tmp_path / "sub"
    folder = sub / CLIENT.folder
    shutil.copytree(KIT / "steps" / CLIENT.folder, folder)
    subprocess.run(["cc", "-c", "-o", str(folder / "client.o"), str(KIT / "solutions" / CLIENT.folder / "client.c")], check=True)
    (folder / "libold.a").write_bytes(b"!<arch>\n")
    (folder / "Makefile").write_text("client: client.o\n\tcc -o client client.o\nclient.o: client.c\n\tcc -c -o client.o client.c\n")
    cloned(folder)
    report = grade(sub, CLIENT)
    out = report.outcomes[0].output
    assert "client.o (an object file)" in out and "libold.a (a static library)" in out, out
    assert report.score == 0


def test_a_committed_script_with_a_shebang_is_source(tmp_path):
    """A Python client named client, made executable by its Makefile alone:
    the script is the program, it is kept and graded."""
    sub = tmp_path / "sub"
    folder = sub / CLIENT.folder
    folder.mkdir(parents=True)
    shutil.copy(PROGRAMS / "correct" / "01-client-python.py", folder / CLIENT.binary)
    os.chmod(folder / CLIENT.binary, 0o644)
    (folder / "Makefile").write_text("client: FORCE\n\tchmod +x client\nFORCE:\n")
    cloned(folder)
    report = grade(sub, CLIENT)
    assert "removed" not in report.outcomes[0].output
    assert report.score == CLIENT.points, [o.output for o in report.outcomes if not o.passed]


def test_a_text_file_named_like_the_program_is_rebuilt(tmp_path):
    sub = tmp_path / "sub"
    folder = sub / CLIENT.folder
    shutil.copytree(KIT / "solutions" / CLIENT.folder, folder)
    (folder / CLIENT.binary).write_text("this is not a program\n")
    cloned(folder)
    report = grade(sub, CLIENT)
    assert "client (named like the program make builds, and not a script with a #! line)" in report.outcomes[0].output
    assert report.score == CLIENT.points
