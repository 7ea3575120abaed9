"""The CPU the grader is given (grader/cpu.py): quotas read from fake cgroup
trees and from real ones, what is sized from the share (checks at once,
deadlines), and idle measures that judge what a program did, not how long a
starved cgroup made it wait for a CPU."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import KIT, install
from grader import cpu, engine, registry, runner, sandbox
from grader.checks import s08_multi_server as s08

MIB = 1 << 20


# === Fake cgroup trees =========================================================


def fake(tmp_path, cgroup, mounts, files=()):
    """A fake machine under tmp_path: PROC/self/cgroup holds the lines of
    cgroup, PROC/self/mountinfo one line per (fstype, root, mount point,
    options) with mount points under tmp_path, and files {path under tmp_path:
    text}. Returns PROC."""
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text("".join(line + "\n" for line in cgroup))
    escaped = lambda path: str(path).replace(" ", "\\040")
    rows = [f"{20 + i} 1 0:{30 + i} {root} {escaped(tmp_path)}{escaped(point)} rw,relatime - {fstype} {fstype} {options}" for i, (fstype, root, point, options) in enumerate(mounts)]
    (proc / "self" / "mountinfo").write_text("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" + "".join(r + "\n" for r in rows))
    for path, text in dict(files).items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return proc


V2 = [("cgroup2", "/", "/sys/fs/cgroup", "rw")]
V1 = [("cgroup", "/", "/sys/fs/cgroup/cpu,cpuacct", "rw,cpu,cpuacct"), ("cgroup", "/", "/sys/fs/cgroup/memory", "rw,memory")]


def detect(proc, cores=8, **env):
    return cpu.detect(proc, env=env, cpus_to_run_on=cores)


@pytest.mark.parametrize(
    "cgroup, mounts, files, cpus, source",
    [
        pytest.param(["0::/user.slice/grader"], V2, {"/sys/fs/cgroup/user.slice/grader/cpu.max": "50000 100000\n"}, 0.5, "cgroup v2 cpu.max", id="v2-own"),
        pytest.param(["0::/a/b"], V2, {"/sys/fs/cgroup/a/b/cpu.max": "max 100000\n", "/sys/fs/cgroup/a/cpu.max": "30000 100000\n"}, 0.3, "cgroup v2 cpu.max", id="v2-parent-limits-max-child"),
        pytest.param(["0::/a/b"], V2, {"/sys/fs/cgroup/a/b/cpu.max": "50000 100000\n", "/sys/fs/cgroup/a/cpu.max": "200000 100000\n"}, 0.5, "cgroup v2 cpu.max", id="v2-child-smaller"),
        pytest.param(["0::/a"], V2, {"/sys/fs/cgroup/a/cpu.max": "max 100000\n"}, 8, "the cores it may run on; no CPU quota", id="v2-max-only"),
        pytest.param(["0::/a"], V2, {"/sys/fs/cgroup/a/cpu.max": "150000 50000\n"}, 3, "cgroup v2 cpu.max", id="v2-other-period"),
        pytest.param(["2:cpu,cpuacct:/docker/x", "1:memory:/docker/x"], V1, {"/sys/fs/cgroup/cpu,cpuacct/docker/x/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n", "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "25000\n", "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us": "100000\n"}, 0.25, "cgroup v1 cpu.cfs_quota_us", id="v1-parent-limits-unlimited-child"),
        pytest.param(["4:cpu:/docker/x"], [("cgroup", "/docker/x", "/sys/fs/cgroup/cpu", "rw,cpu")], {"/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 0.5, "cgroup v1 cpu.cfs_quota_us", id="v1-container-mounts-its-own"),
        pytest.param(["4:cpu:/"], [("cgroup", "/", "/sys/fs/cgroup/my cpu", "rw,cpu")], {"/sys/fs/cgroup/my cpu/cpu.cfs_quota_us": "50000\n", "/sys/fs/cgroup/my cpu/cpu.cfs_period_us": "100000\n"}, 0.5, "cgroup v1 cpu.cfs_quota_us", id="v1-escaped-mount-point"),
        pytest.param(["4:cpuacct:/x"], [("cgroup", "/", "/sys/fs/cgroup/cpuacct", "rw,cpuacct")], {"/sys/fs/cgroup/cpuacct/x/cpu.cfs_quota_us": "50000\n", "/sys/fs/cgroup/cpuacct/x/cpu.cfs_period_us": "100000\n"}, 8, "the cores it may run on; no CPU quota", id="v1-cpuacct-is-not-cpu"),
        pytest.param(["4:cpu:/", "0::/"], [("cgroup", "/", "/sys/fs/cgroup/cpu", "rw,cpu"), ("cgroup2", "/", "/sys/fs/cgroup/unified", "rw")], {"/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 8, "the cores it may run on; no CPU quota", id="hybrid-no-limit"),
        pytest.param(["4:cpu:/g", "0::/g"], [("cgroup", "/", "/sys/fs/cgroup/cpu", "rw,cpu"), ("cgroup2", "/", "/sys/fs/cgroup/unified", "rw")], {"/sys/fs/cgroup/cpu/g/cpu.cfs_quota_us": "70000\n", "/sys/fs/cgroup/cpu/g/cpu.cfs_period_us": "100000\n", "/sys/fs/cgroup/unified/g/cpu.max": "60000 100000\n"}, 0.6, "cgroup v2 cpu.max", id="v1-and-v2-smallest"),
        pytest.param([], [], {}, 8, "the cores it may run on; no CPU quota", id="no-cgroups"),
    ],
)
def test_quota_is_the_smallest_limit_on_the_way_up(tmp_path, cgroup, mounts, files, cpus, source):
    share = detect(fake(tmp_path, cgroup, mounts, files))
    assert (share.cpus, share.cpus_from) == (cpus, source)


def test_fewer_cores_to_run_on_than_the_quota(tmp_path):
    proc = fake(tmp_path, ["0::/a"], V2, {"/sys/fs/cgroup/a/cpu.max": "300000 100000\n"})
    assert (detect(proc, cores=2).cpus, detect(proc, cores=2).cpus_from) == (2, "the cores it may run on; no CPU quota")
    assert detect(proc, cores=4).cpus == 3


@pytest.mark.parametrize(
    "cgroup, mounts, files, memory, source",
    [
        pytest.param(["0::/a"], V2, {"/sys/fs/cgroup/a/memory.max": "805306368\n"}, 768 * MIB, "cgroup v2 memory.max", id="v2"),
        pytest.param(["0::/a/b"], V2, {"/sys/fs/cgroup/a/b/memory.max": "max\n", "/sys/fs/cgroup/a/memory.max": "536870912\n"}, 512 * MIB, "cgroup v2 memory.max", id="v2-parent"),
        pytest.param(["1:memory:/x"], V1, {"/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "805306368\n"}, 768 * MIB, "cgroup v1 memory.limit_in_bytes", id="v1"),
        pytest.param(["1:memory:/x"], V1, {"/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "9223372036854771712\n"}, None, "", id="v1-unlimited"),
    ],
)
def test_memory_limit_is_read(tmp_path, cgroup, mounts, files, memory, source):
    share = detect(fake(tmp_path, cgroup, mounts, files))
    assert (share.memory, share.memory_from) == (memory, source)


def test_socklab_cpus_overrides_and_a_bad_value_is_said(tmp_path):
    proc = fake(tmp_path, ["0::/a"], V2, {"/sys/fs/cgroup/a/cpu.max": "50000 100000\n"})
    assert (detect(proc, SOCKLAB_CPUS="1.5").cpus, detect(proc, SOCKLAB_CPUS="1.5").cpus_from) == (1.5, "SOCKLAB_CPUS")
    bad = detect(proc, SOCKLAB_CPUS="half")
    assert bad.cpus == 0.5 and "SOCKLAB_CPUS='half' is not a number of CPUs: ignored" in bad.cpus_from


def test_this_machines_share_is_read():
    """Whatever this machine is, the share is a positive number no larger
    than the cores the grader may run on, and the report says where it
    comes from."""
    share = cpu.detect()
    assert 0 < share.cpus <= len(os.sched_getaffinity(0))
    assert share.cpus_from


# === Real cgroups (as root, where v1 or v2 lets us make one) ===================


@pytest.fixture
def cgroup(request):
    """make(cpus, memory=None): a real cgroup of ours, removed at the end."""
    made = []

    def make(cpus, memory=None):
        name = f"socklab-test-{os.getpid()}-{len(made)}-{request.node.name[:40].replace('/', '_').replace('[', '_').replace(']', '')}"
        try:
            made.append(cpu.Cgroup.make(name, cpus, memory))
        except OSError as e:
            pytest.skip(f"no cgroup can be made here: {e}")
        return made[-1]

    yield make
    for group in made:
        group.remove()


SAY_SHARE = "import json; from grader import cpu; s = cpu.detect(); print(json.dumps([s.cpus, s.cpus_from, s.memory]))"


def share_inside(group, preexec=None):
    done = subprocess.run([sys.executable, "-c", SAY_SHARE], cwd=KIT, capture_output=True, text=True, preexec_fn=preexec or group.enter, timeout=60)
    return json.loads(done.stdout)


def test_a_real_cgroup_quota_is_read(cgroup):
    group = cgroup(0.5, 768 * MIB)
    cpus, source, memory = share_inside(group)
    assert (cpus, memory) == (0.5, 768 * MIB)
    assert source == f"cgroup v{group.version} " + ("cpu.max" if group.version == 2 else "cpu.cfs_quota_us")


def test_a_real_parents_quota_holds_for_its_child(cgroup):
    group = cgroup(0.5)
    outer = next(f for f in group.folders if (f / "cpu.max").exists() or (f / "cpu.cfs_quota_us").exists())
    inner = outer / "inner"
    inner.mkdir()
    try:
        if group.version == 2:
            (inner / "cpu.max").write_text("max 100000")
        else:
            (inner / "cpu.cfs_quota_us").write_text("-1")
        assert share_inside(group, lambda: (inner / "cgroup.procs").write_text(str(os.getpid())))[0] == 0.5
    finally:
        inner.rmdir()


# === What is sized from the share ==============================================


@pytest.mark.parametrize(
    "cpus, scale, checks, students, per_student",
    [
        pytest.param(0.1, cpu.MAX_SCALE, 2, 1, 2, id="a tenth: deadlines capped"),
        pytest.param(0.25, 4, 2, 1, 2, id="a quarter"),
        pytest.param(0.5, 2, 2, 1, 2, id="half (Gradescope)"),
        pytest.param(1, 1, 2, 1, 3, id="one"),
        pytest.param(2, 1, 4, 2, 6, id="two"),
        pytest.param(8, 1, 16, 8, 24, id="eight"),
    ],
)
def test_checks_at_once_and_deadlines_follow_the_share(cpus, scale, checks, students, per_student):
    assert cpu.timeout_scale(cpus) == scale
    assert (cpu.checks_at_once(cpus), cpu.students_at_once(cpus), cpu.checks_per_student(cpus)) == (checks, students, per_student)


def test_timeout_scale_setting_overrides_the_share(tmp_path):
    proc = fake(tmp_path, [], [])
    share = detect(proc, SOCKLAB_CPUS="0.5", SOCKLAB_TIMEOUT_SCALE="3")
    assert (share.scale, share.scale_from) == (3, "SOCKLAB_TIMEOUT_SCALE")
    assert detect(proc, SOCKLAB_CPUS="0.5", SOCKLAB_TIMEOUT_SCALE="").scale == 2


GRADE_AND_SAY = """
import json, sys
from grader import engine, registry, runner
report = runner.grade(sys.argv[1], [registry.find("02")])
trial = engine.Trial(registry.find("02"), ".", ".", engine.CheckSpec("a check", None))
print(json.dumps({"scale": engine.TIMEOUT_SCALE, "timeout": trial.timeout, "isolation": report.isolation, "score": report.score, "max": report.max_score}))
"""


def test_half_a_cpu_doubles_the_deadlines_and_the_report_says_so():
    env = dict(os.environ, SOCKLAB_CPUS="0.5", SOCKLAB_VALGRIND="0")
    env.pop("SOCKLAB_TIMEOUT_SCALE", None)
    done = subprocess.run([sys.executable, "-c", GRADE_AND_SAY, str(KIT / "solutions")], cwd=KIT, env=env, capture_output=True, text=True, timeout=300)
    said = json.loads(done.stdout.splitlines()[-1])
    assert said["scale"] == 2 and said["timeout"] == 2 * registry.find("02").timeout
    assert "0.5 CPU (SOCKLAB_CPUS)" in said["isolation"] and "2 checks at once, deadlines x2" in said["isolation"], said["isolation"]
    assert said["score"] == said["max"], done.stdout


def test_the_engine_scales_its_deadlines_by_the_share():
    assert engine.TIMEOUT_SCALE == cpu.SHARE.scale


@pytest.fixture
def scratch():
    """A folder the programs under test can reach (as root they run as the
    student uid, and pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="socklab-test-"))
    os.chmod(path, 0o755)
    sandbox.hand_over(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_hanging_program_ends_in_bounded_time_at_a_tiny_share(scratch, monkeypatch):
    """At a hundredth of a CPU the deadlines grow by MAX_SCALE, not by 100:
    a program that never exits is failed within that bound."""
    program = KIT / "tests" / "programs" / "misbehaving" / "01-client-hang.c"
    step = dataclasses.replace(install(program, scratch), timeout=0.5)
    sandbox.hand_over(scratch)
    built, folder = runner.build(step, scratch)
    assert built.passed, built.output
    share = cpu.detect(env={"SOCKLAB_CPUS": "0.01"})
    monkeypatch.setattr(engine, "TIMEOUT_SCALE", share.scale)
    spec = next(s for s in runner.checks_of(step) if s.name == "bad arguments: usage and exit 2")
    started = time.monotonic()
    outcome = engine.run_check(step, spec, 1, folder, scratch)
    took = time.monotonic() - started
    assert not outcome.passed and "your program was still running" in outcome.output, outcome.output
    assert 0.5 * cpu.MAX_SCALE <= took < 0.5 * cpu.MAX_SCALE + 10


# === Idle measures: what the program did, not how long it waited for a CPU ======

MS = 1_000_000  # nanoseconds


@pytest.mark.parametrize(
    "before, after, idle",
    [
        # The case: 0 ms of CPU, 54 ms waiting for a CPU (a 0.5-CPU cgroup
        # beside two busy processes), one wake-up: 5.4% "busy" by the measure before.
        pytest.param({"1": (0, 0, 5, "S")}, {"1": (100_000, 54 * MS, 6, "S")}, True, id="waited-for-a-cpu-then-slept"),
        pytest.param({"1": (0, 0, 5, "S")}, {"1": (60 * MS, 0, 9, "S")}, False, id="used-6%-of-a-core"),
        pytest.param({"1": (0, 0, 3, "R")}, {"1": (20 * MS, 300 * MS, 3, "R")}, False, id="starved-spinner-runnable-at-both-ends"),
        pytest.param({"1": (0, 0, 3, "R")}, {"1": (20 * MS, 700 * MS, 3, "S")}, False, id="starved-spinner-counted-waits"),
        pytest.param({"1": (0, 0, 3, "R")}, {"1": (0, 0, 3, "R")}, True, id="never-given-a-cpu-says-nothing"),
        pytest.param({"1": (0, 0, 3, "S")}, {"1": (0, 0, 3, "S"), "2": (30 * MS, 900 * MS, 0, "R")}, False, id="thread-born-meanwhile-spins"),
        pytest.param({"1": (0, 0, 3, "S"), "2": (0, 0, 1, "S")}, {"1": (MS, 400 * MS, 80, "S"), "2": (0, 0, 1, "S")}, True, id="threads-asleep-one-wakes-often"),
    ],
)
def test_idleness_judges_cpu_used_and_sleeps(before, after, idle):
    assert judged_idle(s08.idleness(before, after, 1.0), 1.0) == idle


def judged_idle(seen, took):
    """08's verdict (expect_idle): under 5% of a core, and no thread that never sleeps."""
    return seen.used <= s08.IDLE_SHARE * took and seen.spun <= s08.NEVER_ASLEEP * took


SLEEPER = "import time\nwhile True: time.sleep(0.01)"  # a 10 ms timer: asleep 99.9% of the time
SPINNER = "while True: pass"


def watched(pid):
    """What the process did over one second, once it has settled."""
    time.sleep(0.5)
    before, begun = s08.activity(pid), time.monotonic()
    time.sleep(1.0)
    after, took = s08.activity(pid), time.monotonic() - begun
    if before is None or after is None:
        pytest.skip("no schedstat in /proc on this kernel")
    return s08.idleness(before, after, took), took


def test_a_real_sleeper_and_spinner_at_full_cpu():
    started = [subprocess.Popen([sys.executable, "-c", code]) for code in (SLEEPER, SPINNER)]
    try:
        sleeper, took = watched(started[0].pid)
        assert judged_idle(sleeper, took), sleeper
        spinner, took = watched(started[1].pid)
        assert not judged_idle(spinner, took), spinner  # by its CPU time, or, on a machine too busy to give it 5%, by never sleeping
    finally:
        for process in started:
            process.kill()
            process.wait()


def test_a_spinner_starved_of_cpu_is_caught_and_a_sleeper_beside_it_is_not(cgroup):
    """In a cgroup of 2% of a CPU, a spinner uses 20 ms of CPU a second (under
    the 5% that catches it when it gets a CPU) but never sleeps; a sleeper
    beside it waits for the CPU at each wake-up, and sleeps."""
    group = cgroup(0.02)
    started = [subprocess.Popen([sys.executable, "-c", code], preexec_fn=group.enter) for code in (SPINNER, SLEEPER)]
    try:
        spinner, took = watched(started[0].pid)
        assert spinner.used < s08.IDLE_SHARE * took, f"more CPU than the cgroup gives: {spinner}"
        assert spinner.sleeps == 0 and spinner.spun > s08.NEVER_ASLEEP * took, spinner
        sleeper, took = watched(started[1].pid)
        assert judged_idle(sleeper, took), sleeper
    finally:
        for process in started:
            process.kill()
            process.wait()


# === A real grading at half a CPU ==========================================


def grade_inside(group, submission, steps, out):
    command = [sys.executable, "-m", "grader", "grade", "--submission", str(submission), "--out", str(out), "--quiet"]
    for step in steps:
        command += ["--step", step]
    subprocess.run(command, cwd=KIT, capture_output=True, timeout=600, preexec_fn=group.enter)
    return json.loads((out / "results.json").read_text())


def test_real_grading_at_half_a_cpu(cgroup, scratch):
    """Steps 02 and 08 of the reference at 0.5 CPU and 768 MiB (Gradescope's
    default): full marks, and the report says what the grader assumed; 08's
    spinner out of descriptors is still caught there."""
    group = cgroup(0.5, 768 * MIB)
    results = grade_inside(group, KIT / "solutions", ["02", "08"], scratch / "reference")
    assert "0.5 CPU (cgroup v" in results["output"] and "deadlines x2" in results["output"], results["output"]
    failed = [t["name"] + "\n" + t["output"] for t in results["tests"] if t["status"] != "passed"]
    assert not failed, "\n\n".join(failed)
    install(KIT / "tests" / "programs" / "bugs" / "08-multi-server-emfile-spin.c", scratch / "spin")
    sandbox.hand_over(scratch)
    results = grade_inside(group, scratch / "spin", ["08"], scratch / "spin-out")
    failed = {t["name"] for t in results["tests"] if t["status"] != "passed"}
    assert failed == {"08-multi-server: out of descriptors (EMFILE): neither crashes nor spins, and serves again once clients leave"}, failed


def test_make_bench_share_grades_the_reference_in_a_cgroup(cgroup, tmp_path):
    """tools/bench-share runs (one grading, the hostile submissions left out):
    it prints the figures the README quotes and writes them. It had been
    broken by a helper of the grader it used that went away, unseen, as no
    test ran it."""
    cgroup(1)  # skips where no cgroup can be made
    out = tmp_path / "share.json"
    done = subprocess.run([sys.executable, str(KIT / "tools" / "bench-share"), "--runs", "1", "--cpus", "1", "--hostile", "0", "--valgrind", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "full marks in 1 of 1 gradings" in done.stdout, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert len(figures["gradings"]) == 1 and figures["hostile"] == []
