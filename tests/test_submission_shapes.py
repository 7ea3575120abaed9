"""What a submission looks like when it arrives, and what of it is graded.

Shapes: step folders directly, in a copy of the kit (steps/), under one or two
wrapping folders (a zip of "my folder", GitHub's socklab-main/steps/); the
report says where they were found, and lists what the submission holds when
they are nowhere. Links are never followed in that search.

Committed builds: the grader builds the source and never runs a program or an
object the student committed (git gives every file the same mtime, so make
would believe a committed binary up to date)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import KIT, PROGRAMS, grade, registry, runner
from grader import report as report_formats

CLIENT, SERVER = registry.find("01"), registry.find("02")
CLONE_TIME = 1_700_000_000  # every file of a fresh clone has the same mtime


@pytest.fixture(autouse=True)
def no_valgrind(monkeypatch):
    monkeypatch.setenv("SOCKLAB_VALGRIND", "0")


def folders(root, *paths):
    """Empty folders at these paths under root (enough for the search)."""
    for path in paths:
        (root / path).mkdir(parents=True, exist_ok=True)
    return root


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


# === Where the step folders are ================================================


@pytest.mark.parametrize(
    "paths, root",
    [
        pytest.param(["01-client", "02-server"], ".", id="directly"),
        pytest.param(["steps/01-client", "steps/02-server", "grader/checks"], "steps", id="a-copy-of-the-kit"),
        pytest.param(["my folder/01-client"], "my folder", id="a-zip-of-my-folder"),
        pytest.param(["socklab-main/steps/01-client", "socklab-main/grader"], "socklab-main/steps", id="a-github-download"),
        pytest.param(["a/b/01-client"], "a/b", id="two-wrapping-folders"),
        pytest.param(["hw/socklab-main/steps/01-client"], "hw/socklab-main/steps", id="a-zipped-github-download"),
        pytest.param(["__MACOSX/work/01-client", "work/01-client", ".trash/02-server", ".git/03-chat-client"], "work",
                     id="hidden-folders-and-__MACOSX-ignored"),  # fmt: skip
    ],
)
def test_step_folders_are_found_where_submissions_put_them(tmp_path, paths, root):
    sub = folders(tmp_path / "sub", *paths)
    found, said = runner.locate(sub)
    assert found == sub / root
    if root == ".":
        assert said == ""
    else:
        assert f"step folders found in {root}/" in said, said
        assert "not graded" not in said, said


def test_the_folder_with_the_most_step_folders_wins_and_the_report_says_which(tmp_path):
    sub = folders(tmp_path / "sub", "old try/01-client", "final/01-client", "final/02-server")
    found, said = runner.locate(sub)
    assert found == sub / "final"
    assert said.startswith("step folders found in final/ (2 of 9)") and "not graded: old try/ (1 step folder)" in said, said


def test_a_copy_of_the_kit_grades_steps_not_solutions(tmp_path):
    every = [f"{kind}/{s.folder}" for kind in ("solutions", "steps") for s in registry.STEPS]
    sub = folders(tmp_path / "kit", *every)
    found, said = runner.locate(sub)
    assert found == sub / "steps"
    assert "not graded: solutions/ (9 step folders)" in said, said


def test_too_deep_is_not_searched(tmp_path):
    sub = folders(tmp_path / "sub", "a/b/c/d/01-client")
    found, said = runner.locate(sub)
    assert found == sub and said.startswith("no step folder")


def test_links_are_never_followed_in_the_search(tmp_path):
    """steps -> the kit's solutions, a wrapping folder that is a link: neither
    is searched; the listing shows them as links."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "steps").symlink_to(KIT / "solutions")
    (sub / "wrap").symlink_to(KIT)
    found, said = runner.locate(sub)
    assert found == sub
    assert f"steps -> {KIT / 'solutions'} (a symbolic link: not followed)" in said, said
    assert "wrap -> " in said
    report = grade(sub, CLIENT)
    assert report.score == 0
    assert "no step folder" in report.outcomes[0].output


def test_nothing_found_lists_what_the_submission_holds(tmp_path):
    """Bounded (a thousand files cost a few lines), a few levels deep, and the
    names escaped: a file name cannot paint the terminal or fake a line."""
    sub = folders(tmp_path / "sub", "homework/client", "homework/many")
    (sub / "homework" / "client" / "client.c").write_text("int main(void) { return 0; }\n")
    for i in range(1000):
        (sub / "homework" / "many" / f"f{i:04d}").write_text("")
    (sub / "notes \x1b[2J\nPASS fake.txt").write_text("")
    report = grade(sub, CLIENT, SERVER)
    build = report.outcomes[0].output
    assert build.startswith(f"no folder {CLIENT.folder} in the submission")
    for line in ("  homework/", "    client/", "      client.c", "    many/", "      f0000", "      ... (992 more)",
                 "  notes \\x1b[2J\\nPASS fake.txt"):  # fmt: skip
        assert line in build.splitlines(), build
    assert len(build.splitlines()) < 50
    second = report.of_step(SERVER)[0].output
    assert "no folder 02-server in the submission" in second and f"see {CLIENT.folder}'s build" in second
    assert "homework/" in report_formats.gradescope(report)["output"]


def test_a_github_download_is_graded_and_says_where(tmp_path):
    sub = tmp_path / "socklab-main.zip-contents"
    shutil.copytree(KIT / "solutions" / CLIENT.folder, sub / "socklab-main" / "steps" / CLIENT.folder)
    report = grade(sub, CLIENT)
    assert report.score == CLIENT.points, report.outcomes[0].output
    assert report.found.startswith("step folders found in socklab-main/steps/")


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


def test_in_a_class_the_shape_and_the_committed_binary_are_handled_alike(tmp_path, reference_binaries):
    """Class grading stages a copy of each student: a GitHub download with a
    reference binary committed beside the starter's source, and a student
    with no step folder anywhere; the feedback says where and what."""
    klass, out = tmp_path / "class", tmp_path / "out"
    fay = klass / "fay" / "socklab-main" / "steps"
    shutil.copytree(KIT / "solutions" / CLIENT.folder, fay / CLIENT.folder)
    starter_with_binary(fay, SERVER, reference_binaries[SERVER])
    (klass / "gus" / "my work").mkdir(parents=True)
    (klass / "gus" / "my work" / "server.c").write_text("int main(void) { return 0; }\n")
    command = [sys.executable, "-m", "grader", "class", str(klass), "--out", str(out), "--jobs", "2", "--budget", "120",
               "--step", CLIENT.folder, "--step", SERVER.folder]  # fmt: skip
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    book = (out / "gradebook.csv").read_text()
    assert "fay,10,20" in book and "gus,0,20" in book, book
    feedback = (out / "fay" / "feedback.txt").read_text()
    assert "step folders found in socklab-main/steps/ (2 of 9)" in feedback
    assert json.loads((out / "fay" / "results.json").read_text())["output"].count("socklab-main/steps/") == 1
    results = json.loads((out / "gus" / "results.json").read_text())
    assert "  my work/\n    server.c" in results["tests"][0]["output"], results["tests"][0]["output"]
    fay_server = json.loads((out / "fay" / "results.json").read_text())["tests"]
    build = [t for t in fay_server if t["number"] == f"{SERVER.number}.0"][0]
    assert f"removed before the build: {SERVER.binary} (an ELF binary)" in build["output"], build["output"]
