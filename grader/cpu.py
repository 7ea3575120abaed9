"""The CPU this grader may use, and its memory: cgroup limits, the CPUs it may run on.

os.cpu_count() counts the host's cores. A container gives less (Gradescope's
default: 0.5 CPU, 768 MB), and so do a taskset or a cpuset. The share is the
smallest of:

  - cgroup v2's cpu.max ("QUOTA PERIOD", or "max": none) of this process's
    cgroup and of each of its ancestors (a parent's limit holds for its children);
  - cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us (-1: none), likewise, in
    the hierarchy where the `cpu` controller is mounted;
  - the number of CPUs it may run on (sched_getaffinity).

SOCKLAB_CPUS=0.5 overrides it (tests, odd machines). From the share come the
checks run at once (runner, class grading) and the deadlines (engine): with half
a CPU, a correct program needs about twice the wall time. SOCKLAB_TIMEOUT_SCALE
overrides the deadlines' scale. The memory limit (v2 memory.max, v1
memory.limit_in_bytes) is only reported.

This module imports nothing of the grader's: it sits at the bottom.
"""

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

MAX_SCALE = 4  # deadlines follow 1/share down to a quarter of a CPU, no further: a hang still ends in bounded time
NO_LIMIT = 1 << 62  # cgroup v1 writes "no memory limit" as a number near 2**63
MIB = 1 << 20


# === Reading /proc =============================================================


def _read(path):
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _unescape(field):
    """A mountinfo path: spaces, tabs, newlines and backslashes are octal escapes."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def own_cgroups(proc="/proc"):
    """[(controllers, path)] of this process, from PROC/self/cgroup: an empty
    set of controllers is cgroup v2's line ("0::/path")."""
    rows = []
    for line in (_read(Path(proc) / "self/cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            rows.append((set(parts[1].split(",")) - {""}, parts[2]))
    return rows


def cgroup_mounts(proc="/proc"):
    """[(version, options, root, mount point)] of the cgroup file systems, from
    PROC/self/mountinfo; a v1 mount's options name its controllers ("cpu")."""
    found = []
    for line in (_read(Path(proc) / "self/mountinfo") or "").splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        version = 2 if tail[0] == "cgroup2" else 1
        found.append((version, set(tail[2].split(",")), _unescape(fields[3]), _unescape(fields[4])))
    return found


def chain(version, controller=None, proc="/proc"):
    """The folders of this process's cgroup, from its own up to the top of the
    mount (every one whose limits hold for it), in cgroup v2 or in the v1
    hierarchy of controller; [] when that hierarchy is not mounted."""
    for controllers, path in own_cgroups(proc):
        if (version == 2 and controllers) or (version == 1 and controller not in controllers):
            continue
        for mounted, options, root, point in cgroup_mounts(proc):
            if mounted != version or (version == 1 and controller not in options):
                continue
            if root != "/" and (path == root or path.startswith(root + "/")):
                path = path[len(root) :]
            elif root != "/":  # mounted from inside a namespace: its top is our cgroup
                path = "/"
            top = Path(point)
            folder = Path(os.path.normpath(point + "/" + path.lstrip("/")))
            if folder != top and top not in folder.parents:  # "/..": outside what is mounted
                folder = top
            return [folder] + [p for p in folder.parents if p == top or top in p.parents]
    return []


def _number(text):
    try:
        return int(text.split()[0])
    except (AttributeError, IndexError, ValueError):
        return None


def v1_quota(folder):
    """CPUs allowed by a cgroup v1 folder (cpu.cfs_quota_us / cfs_period_us), or None."""
    quota, period = _number(_read(folder / "cpu.cfs_quota_us")), _number(_read(folder / "cpu.cfs_period_us"))
    return quota / period if quota is not None and quota > 0 and period else None


def v2_quota(folder):
    """CPUs allowed by a cgroup v2 folder (cpu.max: "QUOTA PERIOD" or "max PERIOD"), or None."""
    fields = (_read(folder / "cpu.max") or "").split()
    if not fields or fields[0] == "max":
        return None
    quota, period = _number(fields[0]), _number(fields[1]) if len(fields) > 1 else 100000
    return quota / period if quota and period else None


def v1_memory(folder):
    value = _number(_read(folder / "memory.limit_in_bytes"))
    return value if value and value < NO_LIMIT else None


def v2_memory(folder):
    text = (_read(folder / "memory.max") or "").strip()
    return int(text) if text.isdigit() else None


def smallest(proc, readers):
    """(smallest value, where it was read) over readers [(version, controller,
    read(folder), name)] and every folder of each chain; (None, "") if none."""
    best, said = None, ""
    for version, controller, read, name in readers:
        for folder in chain(version, controller, proc):
            value = read(folder)
            if value is not None and (best is None or value < best):
                best, said = value, f"cgroup v{version} {name}"
    return best, said


def affinity():
    """How many CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# === The share, and what is sized from it ======================================


def timeout_scale(cpus):
    """How much longer the deadlines are with this many CPUs: 1 with one CPU
    or more, 1/cpus below (2 with half a CPU), at most MAX_SCALE."""
    return min(MAX_SCALE, max(1.0, 1 / cpus))


def checks_at_once(cpus):
    """Checks run at once in one grading: two per CPU (they mostly wait), at least two."""
    return max(2, int(2 * cpus))


def students_at_once(cpus):
    """Students graded at once in a class (JOBS): one per whole CPU, at least one."""
    return max(1, int(cpus))


def checks_per_student(cpus):
    """Checks at once inside each student's grading in a class: three per CPU
    (a class of 40 on 2 cores: 263 s, against 296 s with two per core), at least two."""
    return max(2, int(3 * cpus))


def _positive(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value > 0 and value == value and value != float("inf") else None


@dataclass(frozen=True)
class Share:
    cpus: float  # CPUs this grader may use (0.5: half of one)
    cpus_from: str  # where that comes from
    memory: int = None  # bytes, None: no limit found
    memory_from: str = ""
    scale: float = 1.0  # every deadline is multiplied by this
    scale_from: str = ""

    def describe(self, jobs):
        """One line for the report: what the grader assumed."""
        cpus = f"{self.cpus:.3g} CPU{'s' if self.cpus > 1 else ''} ({self.cpus_from})"
        memory = f"{self.memory / MIB:.0f} MiB of memory ({self.memory_from})" if self.memory else "no memory limit found"
        return f"{cpus}, {memory}: {jobs} checks at once, deadlines x{self.scale:.3g} ({self.scale_from})"


def detect(proc="/proc", env=None, cpus_to_run_on=None):
    """The Share of this process (see the module's doc)."""
    env = os.environ if env is None else env
    count = affinity() if cpus_to_run_on is None else cpus_to_run_on
    cpus, cpus_from = float(count), "the cores it may run on; no CPU quota"
    quota, said = smallest(proc, [(2, None, v2_quota, "cpu.max"), (1, "cpu", v1_quota, "cpu.cfs_quota_us")])
    if quota is not None and quota < cpus:
        cpus, cpus_from = quota, said
    wanted = env.get("SOCKLAB_CPUS")
    if wanted:
        given = _positive(wanted)
        cpus, cpus_from = (given, "SOCKLAB_CPUS") if given else (cpus, f"{cpus_from}; SOCKLAB_CPUS={wanted!r} is not a number of CPUs: ignored")
    memory, memory_from = smallest(proc, [(2, None, v2_memory, "memory.max"), (1, "memory", v1_memory, "memory.limit_in_bytes")])
    scale, scale_from = timeout_scale(cpus), "from the CPU share" + (f", at most {MAX_SCALE}" if cpus < 1 / MAX_SCALE else "")
    forced = _positive(env.get("SOCKLAB_TIMEOUT_SCALE"))
    if forced:
        scale, scale_from = forced, "SOCKLAB_TIMEOUT_SCALE"
    return Share(cpus, cpus_from, memory, memory_from, scale, scale_from)


SHARE = detect()


# === A cgroup of our own: run something at a given share (tools/bench-share, tests)

PERIOD = 100000  # microseconds: the CFS period of the quotas written here


class Cgroup:
    """A cgroup made to run programs at a CPU quota and a memory limit: a child
    of this process's cgroup in the v1 `cpu` and `memory` hierarchies, or else
    in cgroup v2 (a child of the top: a cgroup holding processes cannot hand
    controllers to its children). Needs root; make() raises OSError saying why
    neither could be made. A process joins it with enter() (a preexec_fn)."""

    def __init__(self, version, folders):
        self.version, self.folders = version, folders

    @classmethod
    def make(cls, name, cpus, memory=None, proc="/proc"):
        reasons = []
        for build in (cls._v1, cls._v2):
            try:
                return build(name, cpus, memory, proc)
            except OSError as e:
                reasons.append(str(e))
        raise OSError("; ".join(reasons))

    @classmethod
    def _v1(cls, name, cpus, memory, proc):
        wanted = {"cpu": [("cpu.cfs_period_us", PERIOD), ("cpu.cfs_quota_us", round(cpus * PERIOD))]}
        if memory:
            wanted["memory"] = [("memory.limit_in_bytes", memory)]
        made = cls(1, [])
        try:
            for controller, settings in wanted.items():
                own = chain(1, controller, proc)
                if not own:
                    raise OSError(f"no {controller} hierarchy mounted")
                made.folders.append(own[0] / name)
                made.folders[-1].mkdir()
                for file, value in settings:
                    (made.folders[-1] / file).write_text(str(value))
        except OSError as e:
            made.remove()
            raise OSError(f"cgroup v1: {e.strerror or e} ({getattr(e, 'filename', '') or ''})") from None
        return made

    @classmethod
    def _v2(cls, name, cpus, memory, proc):
        own = chain(2, None, proc)
        if not own:
            raise OSError("cgroup v2: not mounted")
        top, needed = own[-1], ["cpu"] + (["memory"] if memory else [])
        missing = [c for c in needed if c not in (_read(top / "cgroup.controllers") or "").split()]
        if missing:
            raise OSError(f"cgroup v2: no {' or '.join(missing)} controller at {top} (bound to cgroup v1?)")
        made = cls(2, [])
        try:
            (top / "cgroup.subtree_control").write_text(" ".join("+" + c for c in needed))
            made.folders.append(top / name)
            made.folders[0].mkdir()
            (made.folders[0] / "cpu.max").write_text(f"{round(cpus * PERIOD)} {PERIOD}")
            if memory:
                (made.folders[0] / "memory.max").write_text(str(memory))
        except OSError as e:
            made.remove()
            raise OSError(f"cgroup v2: {e.strerror or e} ({getattr(e, 'filename', '') or ''})") from None
        return made

    def enter(self):
        """Move the calling process into the cgroup (its children follow)."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def peak_memory(self):
        """The most memory the cgroup has used, in bytes, or None."""
        for folder in self.folders:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                value = _number(_read(folder / name))
                if value is not None:
                    return value
        return None

    def remove(self, within=10.0):
        """Remove the cgroup; a process still in it (one it ran) is killed first."""
        deadline = time.monotonic() + within
        for folder in reversed(self.folders):
            while folder.is_dir():
                try:
                    folder.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    for pid in (_read(folder / "cgroup.procs") or "").split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except OSError:
                            pass
                    time.sleep(0.05)
        self.folders = []
