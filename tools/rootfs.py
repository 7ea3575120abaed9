#!/usr/bin/env python3
"""Bare Debian root file systems, to try the kit where it really runs.

    tools/rootfs.py gradescope [SUBMISSION]      the Gradescope zip (make gradescope), set up and
                                                 run in Gradescope's layout; prints results.json's score
    tools/rootfs.py prairielearn [SUBMISSION] [--step NN]
                                                 the PrairieLearn entry point in its /grade layout
    tools/rootfs.py bare-machine [--grade-only]  the README's two commands, `make grade` then
                                                 `make test`, as root on a minbase Debian with only make,
                                                 the kit copied to /root/socklab

A root file system is a stack of folders under build/rootfs/, each built once
and kept, named by a hash of what it holds: a minbase Debian bookworm made by
mmdebstrap (with the packages asked for: none for Gradescope's base, which has
none of ours), then layers made by running a set-up in it (Gradescope's
setup.sh, for one). A run mounts them, read-only, under an overlay whose
writes go to a folder of its own, and enters it with chroot in namespaces of
its own (mount, PID, and network when asked): /proc, /dev and /sys mounted as
a container platform would. Needs root, mmdebstrap, unshare and overlayfs;
building reaches Debian's mirror (the host's apt sources and resolv.conf are
copied in). A file lock lets parallel test workers share one build.
"""

import argparse
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(KIT))
from grader import contain  # noqa: E402
CACHE = KIT / "build" / "rootfs"
SUITE = "bookworm"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SKIPPED = {".git", "build", "dist", "node_modules", "__pycache__"}
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"


class Unavailable(Exception):
    """This machine cannot build or enter a root file system (the reason)."""


def missing_tools():
    """Why root file systems cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (mount, chroot)"
    for tool in ("mmdebstrap", "unshare", "chroot"):
        if not shutil.which(tool):
            return f"{tool} is not installed (Debian package {'mmdebstrap' if tool == 'mmdebstrap' else 'util-linux / coreutils'})"
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            return "the kernel has no overlayfs"
    return None


def key_of(*parts):
    """A short hash of strings, bytes and lists of them."""
    digest = hashlib.sha256()

    def feed(part):
        if isinstance(part, (list, tuple)):
            for item in part:
                feed(item)
        else:
            data = part if isinstance(part, bytes) else str(part).encode()
            digest.update(b"%d:" % len(data) + data)

    feed(list(parts))
    return digest.hexdigest()[:12]


@contextmanager
def locked(name):
    """One builder of a cached folder at a time, across processes."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def cached(name, key, build):
    """CACHE/name-key, made by build(partial folder) if it is not there yet;
    other versions of name are removed once the new one is in place."""
    folder = CACHE / f"{name}-{key}"
    with locked(name):
        if folder.is_dir():
            return folder
        partial = CACHE / f".{name}-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        started = time.monotonic()
        build(partial)
        os.rename(partial, folder)
        print(f"rootfs: built {folder.name} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        for old in CACHE.glob(f"{name}-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        return folder


# === Building ==================================================================


def debian(include=()):
    """[folder] of a minbase Debian with these packages (and what they need)."""
    why = missing_tools()
    if why:
        raise Unavailable(why)
    include = sorted(include)

    def build(partial):
        command = ["mmdebstrap", "--quiet", "--variant=minbase", SUITE, str(partial)]
        if include:
            command.insert(2, f"--include={','.join(include)}")
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise Unavailable(f"mmdebstrap failed (is Debian's mirror reachable?): {done.stderr.strip()[-1500:]}")
        copy_host_apt(partial)

    return [cached("debian-" + ("-".join(include)[:40] or "minbase"), key_of(SUITE, "minbase", include), build)]


def copy_host_apt(root):
    """The host's resolv.conf and apt sources and settings: apt inside then
    reaches the mirrors the host reaches, the way the host does."""
    etc = Path(root) / "etc"
    resolv = etc / "resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    shutil.copy("/etc/resolv.conf", resolv)
    host = Path("/etc/apt")
    sources = [p for p in [host / "sources.list", *sorted((host / "sources.list.d").glob("*"))]
               if p.suffix in (".list", ".sources") and p.is_file() and p.stat().st_size]  # fmt: skip
    if sources:
        (etc / "apt" / "sources.list").unlink(missing_ok=True)
        for source in sources:
            target = etc / "apt" / ("sources.list" if source.name == "sources.list" else f"sources.list.d/{source.name}")
            shutil.copy(source, target)
    for conf in sorted((host / "apt.conf.d").glob("*")):
        if conf.is_file() and not (etc / "apt" / "apt.conf.d" / conf.name).exists():
            shutil.copy(conf, etc / "apt" / "apt.conf.d" / conf.name)


def layer(below, name, parts, script, files=None):
    """below plus a layer: what running script (sh, as root, in /) changed,
    after files(upper) laid files in it. Cached by below, name and parts."""

    def build(partial):
        upper = partial / "upper"
        upper.mkdir(parents=True)
        if files:
            files(upper)
        done = run(below, script, writes=partial, timeout=1800)
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise Unavailable(f"setting up the {name} layer failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        for sub in ("work", "merged"):
            shutil.rmtree(partial / sub, ignore_errors=True)

    return [cached(name, key_of([str(p) for p in below], parts), build) / "upper"] + below


# === Entering ==================================================================


def run(layers, script, writes, binds=(), net=False, env=None, timeout=600):
    """Run script (sh -c, as root, from /) inside the stack of layers (top
    first), its writes going to writes/upper. binds: (host path, path inside)
    or (host path, path inside, "ro") mounted over the stack. net: a network of its own with only loopback (up).
    A CompletedProcess with text stdout and stderr."""
    writes = Path(writes)
    for sub in ("upper", "work", "merged"):
        (writes / sub).mkdir(parents=True, exist_ok=True)
    hosts = writes / "upper" / "etc" / "hosts"
    if not any((Path(l) / "etc" / "hosts").exists() for l in layers) and not hosts.exists():
        hosts.parent.mkdir(exist_ok=True)
        hosts.write_text(HOSTS)  # what Docker (and a Debian install) gives: localhost by name
    root = writes / "merged"
    q = shlex.quote
    lines = [
        "set -e",
        f"mount -t overlay overlay -o lowerdir={':'.join(str(l) for l in layers)},upperdir={writes / 'upper'},workdir={writes / 'work'} {q(str(root))}",
    ]
    # The student uids' locks are the host's: a grading in here and one outside
    # (the suite runs both at once) must never take the same uid, or the one that
    # starts kills the other's programs (take_uid: whatever runs as it is killed).
    # On a platform a container is alone with its uids: PID namespaces apart.
    locks = contain.uid_lock_folder()
    if locks:
        binds = [*binds, (locks, contain.LOCK_FOLDERS[0])]
    for source, inside, *how in binds:
        target = q(str(root) + inside)
        lines += [f"mkdir -p {target}", f"mount --bind {q(str(source))} {target}"]
        if how == ["ro"]:
            lines.append(f"mount -o remount,bind,ro {target}")
    lines += [
        f"mount -t proc proc {q(str(root / 'proc'))}",
        f"mount --rbind /dev {q(str(root / 'dev'))}",
        f"mount --rbind /sys {q(str(root / 'sys'))}",
    ]
    if net:
        lines.append("ip link set lo up")
    variables = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb", **(env or {})}
    lines.append(
        "exec env -i " + " ".join(q(f"{k}={v}") for k, v in variables.items())
        + f" {shutil.which('chroot')} {q(str(root))} /bin/sh -c {q('cd / && ' + script)}"
    )  # fmt: skip
    command = ["unshare", "--mount", "--pid", "--fork", "--kill-child"] + (["--net"] if net else []) + ["sh", "-c", "\n".join(lines)]
    try:
        return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return subprocess.CompletedProcess(command, 124, out, f"rootfs: stopped after {timeout} s")


# === The platforms' layouts ====================================================


def unzip(archive, target):
    """Unpack a zip as unzip(1) does, the files' modes kept (zipfile drops them)."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            path = Path(target) / info.filename
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(z.read(info))
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(path, mode or 0o644)


def gradescope_layers(archive):
    """A minbase Debian (Gradescope's base image has none of our packages) set
    up as Gradescope builds an autograder's image from a zip: unpacked into
    /autograder/source, run_autograder copied to /autograder/, then as root
    `apt-get update && bash /autograder/source/setup.sh` (their sample
    Dockerfile: gradescope/autograder_samples, manual_docker/Dockerfile)."""
    with zipfile.ZipFile(archive) as z:
        setup = [z.read(name) for name in ("setup.sh", "tools/setup") if name in z.namelist()]
    script = (
        "cp /autograder/source/run_autograder /autograder/run_autograder && chmod +x /autograder/run_autograder"
        " && apt-get update -qq && bash /autograder/source/setup.sh"
    )
    return layer(debian(), "gradescope", setup, script, files=lambda upper: unzip(archive, upper / "autograder" / "source"))


def gradescope(layers, archive, submission, writes, env=None, timeout=900, before="", after=""):
    """Grade a submission folder as Gradescope does, with a fresh /autograder
    from the zip (source/, run_autograder) and the submission in
    /autograder/submission; (results.json as a dict or None, CompletedProcess).
    before, after: shell commands run as root around run_autograder, in the
    same root file system (a test's planted secrets, its checks)."""
    home = Path(writes) / "autograder"
    unzip(archive, home / "source")
    shutil.copy(home / "source" / "run_autograder", home / "run_autograder")
    os.chmod(home / "run_autograder", 0o755)
    copy_tree(submission, home / "submission")
    (home / "results").mkdir()
    script = "; ".join(part for part in (before, "(cd /autograder && ./run_autograder)", after) if part)
    done = run(layers, script, writes, binds=[(home, "/autograder")], env=env, timeout=timeout)
    return read_json(home / "results" / "results.json"), done


def prairielearn(layers, kit_archive, submission, writes, step=None, env=None, timeout=900):
    """Grade a submission as PrairieLearn's grader host does: /grade holding
    serverFilesCourse/socklab (the kit), tests/, student/ and data/data.json;
    the entrypoint made executable and run as root from /, with no network
    but loopback; (results.json as a dict or None, CompletedProcess)."""
    grade = Path(writes) / "grade"
    extract(kit_archive, grade / "serverFilesCourse")
    (grade / "tests").mkdir()
    (grade / "data").mkdir()
    (grade / "data" / "data.json").write_text(json.dumps({"params": {}, "submitted_answers": {}}))
    copy_tree(submission, grade / "student")
    entry = "/grade/serverFilesCourse/socklab/tools/prairielearn/run"
    script = f"chmod +x {entry} && {entry}" + (f" {shlex.quote(step)}" if step else "")
    done = run(layers, script, writes, binds=[(grade, "/grade")], net=True, env=env, timeout=timeout)
    return read_json(grade / "results" / "results.json"), done


def image_layers(kit_archive):
    """make image's recipe (tools/image/build) on a minbase Debian: the kit in
    /opt/socklab, then `tools/image/install packages`; image() runs its other
    phase with a fresh kit. Cached by the install script and the package list."""
    with tarfile.open(kit_archive) as tar:
        parts = [tar.extractfile(f"socklab/{name}").read() for name in ("tools/image/install", "tools/setup")]
    return layer(debian(), "image", parts, "/opt/socklab/tools/image/install packages",
                 files=lambda upper: extract(kit_archive, upper / "opt"))  # fmt: skip


def image(layers, kit_archive, writes, script, binds=(), net=False, env=None, timeout=900):
    """script run in the image's root file system once `tools/image/install
    kit` has laid the entry points of a fresh kit (kit_archive, in /opt/socklab)."""
    fresh = Path(writes) / "opt"
    extract(kit_archive, fresh)
    binds = [(fresh / "socklab", "/opt/socklab"), *binds]
    return run(layers, "/opt/socklab/tools/image/install kit && " + script, writes, binds=binds, net=net, env=env, timeout=timeout)


def extract(archive, target):
    Path(target).mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(target)], check=True)


def bare_machine_layers():
    """A minbase Debian with only make: where the README's two commands start."""
    return layer(debian(), "bare-make", ["make"], "apt-get update -qq && apt-get install -y -qq --no-install-recommends make")


def kit_files():
    """The kit's files as a clone has them (tracked and new, not ignored)."""
    listed = subprocess.run(["git", "-C", str(KIT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True)  # fmt: skip
    if listed.returncode == 0:
        return [name for name in listed.stdout.decode().split("\0") if name and (KIT / name).exists()]
    return [str(p.relative_to(KIT)) for p in KIT.rglob("*") if p.is_file() and not SKIPPED & set(p.relative_to(KIT).parts)]


def lay_kit(target):
    """The kit copied to target (a fresh folder), as a clone would lay it."""
    for name in kit_files():
        source = KIT / name
        path = Path(target) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), path)
        elif source.is_file():
            shutil.copy2(source, path)


def bare_machine(layers, writes, commands, timeout=3600):
    """The kit in /root/socklab of a bare Debian with only make, the commands
    run there as root, one after the other (the network reaches Debian's
    mirror: `make` installs what is missing); the CompletedProcess."""
    upper = Path(writes) / "upper"
    (upper / "root").mkdir(parents=True, exist_ok=True)
    os.chmod(upper / "root", 0o700)
    lay_kit(upper / "root" / "socklab")
    script = "cd /root/socklab && " + " && ".join(commands)
    return run(layers, script, writes, timeout=timeout)


def copy_tree(source, target):
    shutil.copytree(source, target, symlinks=True) if source else Path(target).mkdir(parents=True)


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


# === By hand ===================================================================


def summary(results):
    if results is None:
        return "no readable results.json"
    tests = results.get("tests", [])
    failed = [t["name"] for t in tests if t.get("status") == "failed" or t.get("points", 1) < t.get("max_points", 0)]
    head = f"score {results.get('score')}" + (f", gradable {results['gradable']}" if "gradable" in results else "")
    return head + f", {len(tests) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed[:10])}" if failed else "")


def package(what):
    done = subprocess.run([sys.executable, str(KIT / "tools" / "package"), what], capture_output=True, text=True, check=True)
    return KIT / done.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tools/rootfs.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("gradescope", "prairielearn"):
        p = sub.add_parser(name)
        p.add_argument("submission", nargs="?", default=str(KIT / "solutions"))
        p.add_argument("--valgrind", default="1", help="SOCKLAB_VALGRIND inside (1: as the platform runs it)")
        if name == "prairielearn":
            p.add_argument("--step", help="the step the question grades (the entrypoint's argument)")
            p.add_argument("--timeout", default="600", help="the question's timeout (SOCKLAB_TIMEOUT)")
    p = sub.add_parser("bare-machine")
    p.add_argument("--grade-only", action="store_true", help="make grade, without make test")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="socklab-rootfs-") as writes:
            started = time.monotonic()
            if args.command == "bare-machine":
                layers = bare_machine_layers()
                built = time.monotonic()
                commands = ["make grade"] + ([] if args.grade_only else ["make test"])
                done = bare_machine(layers, writes, [f"{c} 2>&1" for c in commands])
                log = KIT / "build" / "bare-machine.log"
                log.write_text(done.stdout + done.stderr)
                print(done.stdout[-6000:] + done.stderr[-3000:])
                print(f"rootfs: the whole output is in {log.relative_to(KIT)}")
                print(f"rootfs: {' then '.join(commands)} on a bare Debian: exit status {done.returncode}, "
                      f"{time.monotonic() - built:.0f} s (root file system ready in {built - started:.0f} s)")  # fmt: skip
                return done.returncode
            env = {"SOCKLAB_VALGRIND": args.valgrind}
            if args.command == "gradescope":
                archive = package("gradescope")
                layers = gradescope_layers(archive)
                built = time.monotonic()
                results, done = gradescope(layers, archive, args.submission, writes, env=env)
            else:
                archive = package("prairielearn")
                layers = gradescope_layers(package("gradescope"))
                built = time.monotonic()
                env["SOCKLAB_TIMEOUT"] = args.timeout
                results, done = prairielearn(layers, archive, args.submission, writes, step=args.step, env=env)
            print(done.stdout[-4000:] + done.stderr[-2000:])
            print(f"rootfs: {args.command} grading of {args.submission}: {summary(results)}; "
                  f"{time.monotonic() - built:.1f} s wall (root file system ready in {built - started:.0f} s)")  # fmt: skip
            return 0 if results is not None else 1
    except Unavailable as e:
        print(f"rootfs: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
