"""The kit where classes really run it, each platform in its own layout, in a
bare Debian root file system entered with unshare and chroot (tools/rootfs.py):
Gradescope (the zip unpacked into /autograder/source, setup.sh run there as
root, run_autograder copied to /autograder and run from there), PrairieLearn
(/grade/serverFilesCourse, /grade/student, /grade/results), the container
image's recipe (make image), and the README's `make grade` on a bare machine.

The root file systems are built once and kept in build/rootfs/ (a minbase
Debian by mmdebstrap, then each platform's set-up), shared by the tests and by
the parallel workers (a file lock). Needs root, mmdebstrap and Debian's mirror;
without them these tests are skipped, except in CI."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import KIT, registry

sys.path.insert(0, str(KIT / "tools"))
import rootfs  # noqa: E402

PACKAGE = [sys.executable, str(KIT / "tools" / "package")]
FULL = sum(step.points for step in registry.STEPS)


def unavailable(why):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the platform tests: {why}")
    pytest.skip(why)


def layers_or_skip(make):
    why = rootfs.missing_tools()
    if why:
        unavailable(why)
    try:
        return make()
    except rootfs.Unavailable as e:
        unavailable(str(e))


def package(what):
    done = subprocess.run(PACKAGE + [what], cwd=KIT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return KIT / done.stdout.strip()


@pytest.fixture(scope="session")
def gradescope_zip():
    return package("gradescope")


@pytest.fixture(scope="session")
def kit_archive():
    return package("prairielearn")


@pytest.fixture(scope="session")
def gradescope_layers(gradescope_zip):
    """A bare Debian set up as Gradescope sets up an autograder's image."""
    return layers_or_skip(lambda: rootfs.gradescope_layers(gradescope_zip))


@pytest.fixture
def run(tmp_path):
    """The folder a root file system's writes go to (a bare machine's
    installed packages: hundreds of MB), removed once the test is done."""
    yield tmp_path / "run"
    shutil.rmtree(tmp_path / "run", ignore_errors=True)


def submission(tmp_path, source, *folders):
    """A submission folder holding these step folders of source (solutions/ or steps/)."""
    target = tmp_path / "submission"
    target.mkdir()
    for folder in folders or [s.folder for s in registry.STEPS]:
        shutil.copytree(KIT / source / folder, target / folder)
    return target


def by_step(results):
    scores = {}
    for test in results["tests"]:
        folder = test["name"].split(":")[0]
        scores[folder] = scores.get(folder, 0) + test.get("score", test.get("points", 0))
    return {folder: round(score, 2) for folder, score in scores.items()}


def said(results, done):
    """What a failed platform test shows: the score, each test that did not
    pass with its whole output (a flake in CI must be diagnosable from its
    log), then the end of what the platform's script printed."""
    if not results:
        shown = "no results.json"
    else:
        failed = [t for t in results.get("tests", []) if t.get("status", "passed") != "passed" or t.get("points") != t.get("max_points")]
        shown = f"score {results.get('score')}; {results.get('output', results.get('message', ''))[:600]}"
        shown += "".join(f"\n--- {t.get('name')}:\n{t.get('output', '')[-2500:]}" for t in failed[:6])
    return f"{shown}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"


# === Gradescope ================================================================


def test_gradescope_gives_the_solutions_full_marks_in_its_layout(gradescope_layers, gradescope_zip, tmp_path, run):
    results, done = rootfs.gradescope(gradescope_layers, gradescope_zip, submission(tmp_path, "solutions"), run)
    assert results is not None and results["score"] == FULL, said(results, done)
    assert all(t["status"] == "passed" for t in results["tests"]), said(results, done)


HOSTILE_MAKEFILE = """\
client:
\t@sh ./attack.sh
\tfalse
"""
HOSTILE_SCRIPT = """\
exec 2>&1
printf '{{"score": 90, "tests": []}}' > /autograder/results/results.json 2>/dev/null && echo "FORGED results.json"
ln -sf /root/secret-{token} /autograder/results/junit.xml 2>/dev/null && echo "FORGED a link in results"
cat /root/secret-{token} 2>/dev/null && echo "READ the root-only secret"
env | grep -q GS_SECRET && echo "READ the platform's environment"
echo pwned > /autograder/source/grader/pwned-{token} 2>/dev/null && echo "OVERWROTE the kit"
python3 -c 'import socket; socket.create_connection(("127.0.0.1", {port}), timeout=2); print("REACHED a service on loopback")' 2>/dev/null
python3 -c 'print("SEES", [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]])'
setsid sleep 600 {token} </dev/null >/dev/null 2>&1 &
echo "ATTACKS DONE"
"""


def test_gradescope_a_hostile_student_gets_the_true_score_and_nothing_else(gradescope_layers, gradescope_zip, tmp_path, run):
    """Issue 14 in Gradescope's own layout: a Makefile that forges
    /autograder/results, reads a root-only file and the platform's
    environment, writes into the kit, reaches a service on loopback and
    leaves a process behind gets none of it; its honest step is graded."""
    token, port = "s3cr3t-%d" % os.getpid(), 7777
    value = token[::-1] + "-value"  # what the secret file and variable hold (the token names them)
    sub = submission(tmp_path, "solutions", "02-server")
    hostile = sub / "01-client"
    hostile.mkdir()
    (hostile / "Makefile").write_text(HOSTILE_MAKEFILE)
    (hostile / "attack.sh").write_text(HOSTILE_SCRIPT.format(token=token, port=port))
    before = (
        f"echo {value} > /root/secret-{token} && chmod 600 /root/secret-{token}"
        f" && (python3 -c 'import socket, time; s = socket.socket(); s.bind((\"127.0.0.1\", {port})); s.listen(8); time.sleep(900)' &)"
    )
    after = f"pgrep -f 'slee[p] 600 {token}' >/dev/null && echo LEFT-RUNNING; ls /autograder/source/grader | grep -q pwned && echo KIT-CHANGED; true"
    results, done = rootfs.gradescope(gradescope_layers, gradescope_zip, sub, run, env={"GS_SECRET": value}, before=before, after=after)
    assert results is not None, said(results, done)
    build = next(t for t in results["tests"] if t["name"] == "01-client: builds with make")
    assert "ATTACKS DONE" in build["output"], said(results, done)  # the attacks ran, as the student's uid
    text = json.dumps(results)
    for word in ("FORGED", "READ the", "OVERWROTE", "REACHED"):
        assert word not in text, f"an attack worked: {word}\n{build['output']}"
    assert value not in text, "the secret reached the student's report"
    assert "'lo']" in build["output"], f"the student's program saw more than loopback: {build['output']}"
    scores = by_step(results)
    assert (scores["01-client"], scores["02-server"], results["score"]) == (0, 10, 10), said(results, done)
    assert "LEFT-RUNNING" not in done.stdout and "KIT-CHANGED" not in done.stdout, done.stdout[-2000:]


def test_gradescope_gives_the_starters_0_with_every_build_passing(gradescope_layers, gradescope_zip, tmp_path, run):
    results, done = rootfs.gradescope(gradescope_layers, gradescope_zip, submission(tmp_path, "steps"), run,
                                      env={"SOCKLAB_VALGRIND": "0"})  # fmt: skip
    assert results is not None and results["score"] == 0, said(results, done)
    builds = [t for t in results["tests"] if t["number"].endswith(".0")]
    assert len(builds) == len(registry.STEPS) and all(t["status"] == "passed" for t in builds), said(results, done)


def test_gradescope_explains_a_grader_that_crashes(gradescope_layers, gradescope_zip, tmp_path, run):
    # The zip of a kit whose grader breaks as it starts.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(gradescope_zip) as z, zipfile.ZipFile(broken, "w") as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "grader/runner.py":
                data = b'raise RuntimeError("a grader broken on purpose")\n' + data
            out.writestr(info, data)
    results, done = rootfs.gradescope(gradescope_layers, broken, submission(tmp_path, "solutions", "01-client"), run)
    assert results is not None, said(results, done)
    assert results["score"] == 0 and "the grader itself failed" in results["output"], said(results, done)
    assert "a grader broken on purpose" in results["output"], said(results, done)


def test_gradescope_explains_an_image_that_setup_never_prepared(gradescope_zip, tmp_path, run):
    bare = layers_or_skip(rootfs.debian)  # Gradescope's base: none of our packages, setup.sh never ran
    results, done = rootfs.gradescope(bare, gradescope_zip, submission(tmp_path, "solutions", "01-client"), run)
    assert results is not None and results["score"] == 0, said(results, done)
    assert "lacks: make gcc" in results["output"] and "python3" in results["output"], said(results, done)
    assert "set-up did not run" in results["output"], said(results, done)


def test_gradescope_keeps_what_was_graded_when_its_time_limit_stops_the_grading(gradescope_layers, gradescope_zip, tmp_path, run):
    # 01 is graded at once; 02's build never ends: the outer timeout (90% of
    # SOCKLAB_TIMEOUT) stops the grading there, and 01's points still count.
    sub = submission(tmp_path, "solutions", "01-client", "02-server")
    (sub / "02-server" / "Makefile").write_text("server:\n\tsleep 600\n")
    env = {"SOCKLAB_TIMEOUT": "40", "SOCKLAB_VALGRIND": "0"}
    results, done = rootfs.gradescope(gradescope_layers, gradescope_zip, sub, run, env=env)
    assert results is not None, said(results, done)
    assert "stopped at its time limit (36 s of the platform's 40 s)" in results["output"], said(results, done)
    assert by_step(results)["01-client"] == registry.find("01").points and results["score"] == registry.find("01").points
    later = [t for t in results["tests"] if not t["name"].startswith("01-client")]
    assert later and all(t["status"] == "failed" and "not graded" in t["output"] for t in later), said(results, done)


def test_sanitized_programs_see_a_proc_of_their_own_in_a_bare_root_file_system(gradescope_layers, tmp_path, run):
    # LeakSanitizer reads /proc/self/task of the program's PID namespace: with
    # the /proc of the chroot (another namespace's), it fails every program.
    script = ("cd /kit && SOCKLAB_SANITIZE=1 SOCKLAB_VALGRIND=0 PYTHONDONTWRITEBYTECODE=1 "
              "python3 -m grader grade --step 01 --submission solutions --out /tmp/out --quiet >/tmp/console 2>&1; "
              "cat /tmp/console")  # fmt: skip
    done = rootfs.run(gradescope_layers, script, run, binds=[(KIT, "/kit", "ro")])
    results = rootfs.read_json(run / "upper" / "tmp" / "out" / "results.json")
    assert results and results["score"] == registry.find("01").points, done.stdout[-4000:] + done.stderr[-2000:]


def test_namespaces_half_set_up_come_back_to_the_root_file_system_they_left(gradescope_layers, tmp_path, run):
    # setns() back into the first mount namespace moves the root to that
    # namespace's: in a chroot, the grader then saw the host's / (no /kit).
    from test_security import ROLLBACK

    done = rootfs.run(gradescope_layers, f"cd /kit && python3 -c {shlex.quote(ROLLBACK)} /kit", run, binds=[(KIT, "/kit", "ro")])
    assert done.stdout.split() == ["''", "True", "False", "True"], done.stdout[-2000:] + done.stderr[-2000:]
    assert "namespaces could not be set up (" in done.stderr


# === PrairieLearn ==============================================================


@pytest.mark.parametrize("source, score", [("solutions", 1.0), ("steps", 0.0)], ids=["solution", "starter"])
def test_prairielearn_grades_a_question_of_one_step_in_its_layout(gradescope_layers, kit_archive, tmp_path, run, source, score):
    # A question of step 01: the student sent client.c alone; the rest of the
    # step folder (its Makefile) comes from the handout.
    student = tmp_path / "student"
    student.mkdir()
    shutil.copy(KIT / source / "01-client" / "client.c", student)
    results, done = rootfs.prairielearn(gradescope_layers, kit_archive, student, run, step="01",
                                        env={"SOCKLAB_TIMEOUT": "120"})  # fmt: skip
    assert results is not None and results["gradable"] is True and results["score"] == score, said(results, done)
    assert all(t["name"].startswith("01-client: ") for t in results["tests"]), said(results, done)
    assert {"name", "points", "max_points", "message", "output"} <= set(results["tests"][0])


def test_prairielearn_puts_a_file_of_an_earlier_step_where_the_step_reads_it(gradescope_layers, kit_archive, tmp_path, run):
    # 06 builds with ../05-framing/frame.c: the student's frame.c must go there,
    # not beside calc.c (the handout's starter frame.c fails 06's checks).
    student = tmp_path / "student"
    student.mkdir()
    for name in ("calc-server.c", "calc.c"):
        shutil.copy(KIT / "solutions" / "06-calc-server" / name, student)
    shutil.copy(KIT / "solutions" / "05-framing" / "frame.c", student)
    results, done = rootfs.prairielearn(gradescope_layers, kit_archive, student, run, step="6",
                                        env={"SOCKLAB_TIMEOUT": "300", "SOCKLAB_VALGRIND": "0"})  # fmt: skip
    assert results is not None and results["score"] == 1.0, said(results, done)


def test_prairielearn_grades_step_folders_as_they_are(gradescope_layers, kit_archive, tmp_path, run):
    student = submission(tmp_path, "solutions", "01-client", "02-server")
    results, done = rootfs.prairielearn(gradescope_layers, kit_archive, student, run, step="02",
                                        env={"SOCKLAB_TIMEOUT": "300", "SOCKLAB_VALGRIND": "0"})  # fmt: skip
    assert results is not None and results["score"] == 1.0, said(results, done)
    assert {t["name"].split(":")[0] for t in results["tests"]} == {"02-server"}, said(results, done)


def test_prairielearn_explains_an_entrypoint_that_names_no_step(gradescope_layers, kit_archive, tmp_path, run):
    results, done = rootfs.prairielearn(gradescope_layers, kit_archive, None, run, step="42")
    assert results is not None and results["gradable"] is False, said(results, done)
    assert "names step '42'" in results["message"], said(results, done)


# === The image (make image's recipe) ===========================================


def test_the_image_grades_through_each_entry_point(kit_archive, tmp_path, run):
    layers = layers_or_skip(lambda: rootfs.image_layers(kit_archive))
    sub = submission(tmp_path, "solutions", "02-server")
    student = tmp_path / "student"
    shutil.copytree(KIT / "steps" / "01-client", student)
    script = " && ".join(
        [
            "socklab-grade --step 02 >/dev/null",  # docker run / a Kubernetes Job: /submission -> /results
            "cp -r /submission/. /autograder/submission/ && cd /autograder && ./run_autograder >/dev/null",  # Gradescope
            "mkdir -p /grade/student && cp -r /student/. /grade/student/ && socklab-prairielearn 01 >/dev/null",  # PrairieLearn
        ]
    )
    binds = [(sub, "/submission"), (student, "/student")]
    done = rootfs.image(layers, kit_archive, run, script, binds=binds, net=True, env={"SOCKLAB_VALGRIND": "0"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    upper = run / "upper"
    job = rootfs.read_json(upper / "results" / "results.json")
    assert job and job["score"] == registry.find("02").points, said(job, done)
    assert (upper / "results" / "junit.xml").is_file()
    gradescope = rootfs.read_json(upper / "autograder" / "results" / "results.json")
    assert gradescope and by_step(gradescope)["02-server"] == registry.find("02").points, said(gradescope, done)
    prairielearn = rootfs.read_json(upper / "grade" / "results" / "results.json")
    assert prairielearn and prairielearn["gradable"] and prairielearn["score"] == 0, said(prairielearn, done)


# === The README's commands on a bare machine ===================================


def test_make_grade_sets_up_a_bare_debian_and_grades_the_starters(tmp_path, run):
    """`make grade`, once, as root, in /root/socklab of a minbase Debian with
    only make: it installs what it needs and grades the starters 0 (the
    whole `make test` there: `make bare-machine`, by hand)."""
    layers = layers_or_skip(rootfs.bare_machine_layers)
    done = rootfs.bare_machine(layers, run, ["make grade >/root/grade.log 2>&1"])
    log = run / "upper" / "root" / "grade.log"
    printed = log.read_text(errors="replace") if log.exists() else done.stderr
    said_by_make = printed[:1500] + "\n...\n" + printed[-3000:]
    assert done.returncode == 0, said_by_make
    results = rootfs.read_json(run / "upper" / "root" / "socklab" / "build" / "grade" / "results.json")
    assert results and results["score"] == 0, said_by_make
    builds = [t for t in results["tests"] if t["number"].endswith(".0")]
    assert builds and all(t["status"] == "passed" for t in builds), said_by_make
    assert "(isolation: PID namespace per program, programs run as uid" in printed, said_by_make


# === PrairieLearn's results.json (no root file system) =========================


def test_prairielearn_results_stay_under_1_mb_and_valid(tmp_path):
    from grader import report
    from grader.engine import Outcome
    from grader.runner import Report

    step = registry.find("01")
    huge = "\U0001f600 \\ \" \x00" + "x" * 3_000_000  # a flood of output, with what JSON must escape
    outcomes = [Outcome(step, 0, "builds with make", 0, True, "built", max_score=0.0)]
    outcomes += [Outcome(step, i, f"check {i}", 1, False, huge + f"\n[01-client] verdict:  wrong {i}\n", max_score=1.0, verdict=f"wrong {i}") for i in range(1, 11)]
    result = report.prairielearn(Report("x", [step], outcomes))
    text = json.dumps(result, indent=1)
    assert len(text.encode()) < 1_000_000
    assert json.loads(text)["tests"][3]["message"] == "wrong 3"
    assert "left out here: PrairieLearn takes at most 1 MB" in result["tests"][1]["output"]
    report.write(Report("x", [step], outcomes), tmp_path, "prairielearn")
    assert len((tmp_path / "results.json").read_bytes()) < 1_000_000


@pytest.mark.parametrize("shape", ["gradescope", "prairielearn"])
def test_the_shell_written_explanation_is_valid_json_whatever_the_output_held(tmp_path, shape):
    # What the grader printed before it broke goes in: quotes, backslashes,
    # tabs, control bytes, UTF-8 and invalid UTF-8.
    (tmp_path / "console.txt").write_bytes(b'a "quoted" \\ back\tslash \x01\x1b[31m caf\xc3\xa9 \xff\r\nTraceback: boom\n')
    script = f'. "{KIT}/tools/platform.sh"; platform_explain {shape} "{tmp_path}" "it broke: \\"x\\" \\\\ y"'
    subprocess.run(["bash", "-c", script], check=True, timeout=30)
    results = json.loads((tmp_path / "results.json").read_text())
    said = results["output" if shape == "gradescope" else "message"]
    assert said.startswith('socklab: it broke: "x" \\ y') and "Traceback: boom" in said
    assert results["score"] == 0 and results.get("gradable", False) is False
