"""Watch mode: `make watch STEP=NN` re-checks a step each time a file is saved.

It checks the step once, then waits for a change in the step folder (with
inotifywait, from Debian's inotify-tools, when it is installed; by polling the
files' modification times otherwise, or when SOCKLAB_WATCH_POLL=1), and checks
again: build, every check, the failures explained, the next hint offered.
It runs without valgrind unless VALGRIND=1 (the Makefile says so): the memory
check is then shown as skipped, and the last line says it was not run.
Editor droppings (.swp, ~, hidden files) and what `make` leaves (the step's
binaries, .o files) do not count as changes. On a terminal the screen is
cleared before each run. Ctrl-C stops it: the watcher, the checks and every
program they started end with it, and its scratch folders are removed.
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import contain, registry, report, runner

POLL_EVERY = 0.5  # seconds between two looks at the files' times (polling)
QUIET = 0.3  # a save is over once nothing changed for this long (editors write in bursts)
CLEAR = "\033[H\033[2J\033[3J"


def folders_of(folder):
    """The step folder and the sibling step folders its Makefile builds with
    (06's ../05-framing/frame.c): a save in either is a change."""
    try:
        makefile = (folder / "Makefile").read_text(errors="replace")
    except OSError:
        makefile = ""
    siblings = sorted(set(re.findall(r"\.\./(\d\d-[A-Za-z0-9_-]+)", makefile)))
    return [folder] + [folder.parent / name for name in siblings if (folder.parent / name).is_dir()]


def ignored_pattern(step):
    """What is not a change: hidden files, editor backups and swap files,
    vim's probe file 4913, object files and the step's own binaries."""
    binaries = "|".join(re.escape(b) for b in step.binaries)
    return rf"(/\.[^/]*$|~$|\.sw[px]$|/4913$|\.o$|/({binaries})$)"


# === Two ways to notice a change ===============================================


class Inotify:
    """inotifywait -m, read by a thread; wait() returns at the next change."""

    how = "inotifywait"

    def __init__(self, folders, step):
        self.events = queue.Queue()
        command = ["inotifywait", "-m", "-r", "-e", "close_write,create,delete,moved_to,moved_from,attrib"]
        command += ["--format", "%w%f", "--exclude", ignored_pattern(step), *map(str, folders)]
        # A session of its own: Ctrl-C reaches the whole foreground group, and an
        # inotifywait killed by it would race our own handler (its end of stream
        # read as "stopped"). It dies with us instead (close, or PR_SET_PDEATHSIG).
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        for line in self.process.stderr:  # "Setting up watches." then "Watches established."
            if b"established" in line or time.monotonic() > deadline:
                break
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.events.put(line.decode(errors="replace").strip())
        self.events.put(None)  # inotifywait ended

    def wait(self):
        first = self.events.get()
        if first is None:
            raise RuntimeError("inotifywait stopped")
        while True:  # the rest of the burst
            try:
                if self.events.get(timeout=QUIET) is None:
                    break
            except queue.Empty:
                break
        return first

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def die_with_parent():
    """In the child, before exec: SIGKILL when the process that started it ends."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Poll:
    """Look at every file's modification time and size twice a second."""

    how = "polling"

    def __init__(self, folders, step):
        self.folders = folders
        self.skip = re.compile(ignored_pattern(step))
        self.seen = self.snapshot()

    def snapshot(self):
        found = {}
        for where, folders, files in (entry for folder in self.folders for entry in os.walk(folder)):
            folders[:] = [f for f in folders if not f.startswith(".")]
            for name in files:
                path = os.path.join(where, name)
                if self.skip.search(path):
                    continue
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                found[path] = (info.st_mtime_ns, info.st_size)
        return found

    def changed(self):
        now = self.snapshot()
        diff = [p for p in now.keys() | self.seen.keys() if now.get(p) != self.seen.get(p)]
        self.seen = now
        return diff

    def wait(self):
        while True:
            time.sleep(POLL_EVERY)
            diff = self.changed()
            if diff:
                while True:  # the rest of the burst
                    time.sleep(QUIET)
                    if not self.changed():
                        return diff[0]

    def close(self):
        pass


def watcher(folders, step, poll=False):
    if poll or os.environ.get("SOCKLAB_WATCH_POLL") == "1" or not shutil.which("inotifywait"):
        return Poll(folders, step)
    return Inotify(folders, step)


# === The loop ==================================================================


def hint_offer(step, result, hint_state, style):
    """One line: the next hint to read, and the one the failed checks name;
    or, when nothing failed, the next step and the checks that were not run."""
    hints = step.hints()
    failed = [o for o in result.outcomes if o.failed]
    n = f"{step.number:02d}"
    if not failed:
        after = [s for s in registry.STEPS if s.number > step.number]
        then = f"; next: make watch STEP={after[0].number:02d}" if after else ""
        left_out = report.not_run(result.outcomes)  # e.g. valgrind is off: VALGRIND=1 runs it
        if left_out:
            return style.good(f"{step.folder} passes every check that ran{then}") + "; " + style("33", "; ".join(left_out))
        return style.good(f"{step.folder} passes every check{then}")
    if any(o.index == 0 for o in failed):
        return style.bad("it does not build: fix the compiler's first error (above), save, and it checks again")
    if not hints:
        return None
    try:
        seen = json.loads(Path(hint_state).read_text()).get(step.folder, 0)
    except (OSError, ValueError):
        seen = 0
    named = sorted({o.hint for o in failed if o.hint}, key=str)
    helps = f" (the failed checks point to hint {', '.join(named)})" if named else ""
    if seen >= len(hints):
        return f"stuck? every hint is out: make hint STEP={n} LEVEL=all shows them again{helps}"
    return f"stuck? make hint STEP={n} shows hint {seen + 1} of {len(hints)}{helps}"


def main(step, submission, hint_state, poll=False, out=sys.stdout):
    folder = runner.step_root(submission) / step.folder
    if not folder.is_dir():
        sys.exit(f"watch: no folder {folder}")
    # Everything the checks write goes to one scratch folder, removed on the way out.
    scratch = tempfile.mkdtemp(prefix="socklab-watch-", dir=contain.scratch_base())
    os.chmod(scratch, 0o755)
    tempfile.tempdir = scratch
    style = report.Style(out)
    folders = folders_of(folder)
    watch = watcher(folders, step, poll)

    def stop(signum, _frame):
        watch.close()
        print(f"\nwatch: stopped ({signal.Signals(signum).name}); every program it started ends with it", file=out, flush=True)
        shutil.rmtree(scratch, ignore_errors=True)
        os._exit(0)  # the checks' programs die with us: their launchers see us go

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    say = lambda text="": print(text, file=out, flush=True)
    run, why = 0, "start"
    while True:
        run += 1
        if out.isatty():
            out.write(CLEAR)
        say(style.bold(f"watch: {step.folder}, check #{run} at {time.strftime('%H:%M:%S')}") + style.dim(f"  ({why})"))
        result = runner.grade(submission, [step])
        passed, failed = report.console(result, most=2, stream=out)
        skipped = len(report.skipped(result.outcomes))
        say(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
        offer = hint_offer(step, result, hint_state, style)
        if offer:
            say(offer)
        where = " or ".join(str(f) for f in folders)
        say(style.dim(f"watch: waiting for you to save a file in {where} ({watch.how}); Ctrl-C stops"))
        changed = watch.wait()
        why = f"changed: {os.path.relpath(changed, folder)}"
