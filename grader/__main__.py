"""socklab's grader: `python3 -m grader COMMAND` (the Makefile's entry points call it).

    grade [--submission DIR] [--out DIR] [--step NN ...] [--budget S] [--format F]  grade, write the reports
    check STEP [--submission DIR] [--out DIR] [--seed S|random] [--sessions N]
                                                            one step; exit 0 only if it passes
    class DIR [--out DIR] [--jobs N] [--budget S]           every student of a class, a gradebook
    hint STEP [--all]                                       the next hint of a step
    watch STEP [--submission DIR]                           re-check a step on every save
    peer STEP [--port N] [--host H]                         the grader's side of a step, live
    tap --listen PORT --target HOST:PORT                    relay and print a TCP conversation
    list                                                    the steps, one folder a line
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from . import classroom, contain, registry, report, runner, sessions

HINT_STATE = Path(os.environ.get("SOCKLAB_HINT_STATE") or registry.KIT / ".socklab-hints")


def interrupted(signum, _frame):
    # Every student program dies with us: its launcher sees its control pipe close.
    print(f"\nsocklab: stopped by {signal.Signals(signum).name}; every program it started is being killed", file=sys.stderr)
    sys.stderr.flush()
    os._exit(128 + signum)


def grade(args):
    steps = [registry.find(s) for s in args.step] if args.step else None
    submission = Path(args.submission).resolve()
    if not submission.is_dir():
        sys.exit(f"socklab: no folder {args.submission}")
    if getattr(args, "remote", None):  # make check STEP=NN REMOTE=HOST:PORT
        if args.seed is not None or args.sessions is not None:  # each session starts a fresh server: none run remotely
            sys.exit("socklab: SEED= and SESSIONS= play random sessions, which start your server themselves: not with REMOTE=")
        from . import remote

        try:
            result = remote.grade(steps, remote.parse(args.remote), jobs=args.jobs)
        except ValueError as e:
            sys.exit(f"socklab: {e}")
    else:
        seeds = random_sessions(args)
        seal(submission, Path(args.out), args.hide)
        # A report after each step: a grading killed by a platform's time limit
        # still leaves one that counts the steps graded so far (runner.partial).
        checkpoint = lambda so_far: report.write(so_far, args.out, args.format)
        result = runner.grade(submission, steps, jobs=args.jobs, found=args.found, budget=args.budget, checkpoint=checkpoint, seeds=seeds)
    if args.student:  # a class grading: the feedback names the student, not the staged copy (deleted by then)
        result.submission = args.student
    most = None if args.command == "check" or args.all_details else 2
    passed, failed = report.console(result, details=not args.quiet, most=most)
    if args.command == "grade" and not getattr(args, "remote", None):
        report.progress(result)  # done / current / not started, and the next step
    out = report.write(result, args.out, args.format)
    if args.student:
        print("Reports: results.json and junit.xml, beside this feedback")
    else:
        print(f"Reports: {out / 'results.json'}, {out / 'junit.xml'}")
    print(f"{passed} passed, {failed} failed")
    if args.format == "autolab":  # Autolab reads the scores from the last line
        scores = {step.folder: round(sum(o.score for o in result.of_step(step)), 2) for step in result.steps}
        print(json.dumps({"scores": scores}))
    return failed


def random_sessions(args):
    """The random sessions --seed/--sessions ask for (sessions.Seeds), said aloud."""
    try:
        seeds = sessions.Seeds.parse(args.seed, args.sessions)
    except ValueError as e:
        sys.exit(f"socklab: {e}")
    if seeds is not None:
        first = seeds.first or 1
        if seeds.count:
            count = f"{seeds.count} sessions a check"
        else:
            count = "one session" if seeds.first and not seeds.drawn else "each check's own number of sessions"
        drawn = f"SEED=random drew seed {first}: " if seeds.drawn else ""
        print(f"socklab: {drawn}random sessions from seed {first} on, {count}; a failure names its seed")
    return seeds


def seal(submission, out, hidden):
    """As root: the grading goes into namespaces of its own (contain.seal),
    where the kit's answers, and a class's other students, are out of sight."""
    if os.geteuid() != 0:
        return
    out.mkdir(parents=True, exist_ok=True)  # made now: a folder made later would be on the private /tmp
    python = [sys.prefix, sys.base_prefix, os.path.dirname(sys.executable)]
    contain.seal(keep=[registry.KIT, submission, out.resolve(), *python], hide=contain.kit_secrets() + list(hidden or []))


def hint(args):
    step = registry.find(args.step)
    hints = step.hints()
    if not hints:
        sys.exit(f"socklab: step {step.folder} has no hints")
    seen = json.loads(HINT_STATE.read_text()) if HINT_STATE.exists() else {}
    shown = len(hints) if args.all else min(seen.get(step.folder, 0) + 1, len(hints))
    for number, path in enumerate(hints[:shown] if args.all else hints[shown - 1 : shown], start=1 if args.all else shown):
        print(f"--- {step.folder}: hint {number} of {len(hints)} ---")
        print(path.read_text().rstrip())
        print()
    if shown < len(hints):
        print(f"(run `make hint STEP={step.number:02d}` again for hint {shown + 1})")
    else:
        print("(that was the last hint; the README's 'What the grader checks' lists every check)")
    seen[step.folder] = max(shown, seen.get(step.folder, 0))
    try:
        HINT_STATE.write_text(json.dumps(seen, indent=1) + "\n")
    except OSError:
        pass
    return 0


def main(argv=None):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    parser = argparse.ArgumentParser(prog="python3 -m grader", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("grade", "check"):
        p = sub.add_parser(name)
        if name == "check":
            p.add_argument("step")
            p.add_argument("--remote", help="HOST:PORT: check a server running there (the checks that can)")
        else:
            p.add_argument("--step", action="append", help="only this step (repeatable)")
        p.add_argument("--submission", default=str(registry.KIT / "steps"))
        p.add_argument("--out", default=str(registry.KIT / "build" / "grade"))
        p.add_argument("--jobs", type=int, default=None, help="checks run at once")
        p.add_argument("--budget", type=float, default=None,
                       help="seconds of wall clock: a check not started by then is not run (it scores 0, with the reason)")  # fmt: skip
        p.add_argument("--quiet", action="store_true", help="no failure details on the console")
        p.add_argument("--all-details", action="store_true", help="explain every failure, not two a step")
        p.add_argument("--seed", help="random sessions: replay this seed (a failure names it), or 'random' to explore")
        p.add_argument("--sessions", type=int, help="random sessions per check (from --seed on, or from 1)")
        p.add_argument("--found", default=None, help=argparse.SUPPRESS)  # a class grading: where the step folders were found
        p.add_argument("--student", default=None, help=argparse.SUPPRESS)  # a class grading: the student's name, for the feedback
        p.add_argument("--hide", action="append", help=argparse.SUPPRESS)  # a class: the class folder, OUT (contain.seal)
        p.add_argument("--format", choices=sorted(report.RESULTS), default="gradescope",
                       help="results.json in Gradescope's shape (autolab: the same, and the last line is Autolab's "
                            "{\"scores\": {...}}) or PrairieLearn's")  # fmt: skip
    p = sub.add_parser("class")
    p.add_argument("folder", help="one sub-folder per student")
    p.add_argument("--out", default=str(registry.KIT / "build" / "grade"))
    p.add_argument("--jobs", type=int, default=None, help="students graded at once (default: the whole CPUs the grader may use, at least 1)")
    p.add_argument("--budget", type=float, default=classroom.BUDGET, help="seconds of wall clock per student")
    p.add_argument("--step", action="append", help="only this step (repeatable)")
    p = sub.add_parser("hint")
    p.add_argument("step")
    p.add_argument("--all", action="store_true")
    p = sub.add_parser("watch")
    p.add_argument("step")
    p.add_argument("--submission", default=str(registry.KIT / "steps"))
    p.add_argument("--poll", action="store_true", help="poll the files' times even if inotifywait is there")
    p = sub.add_parser("peer")
    p.add_argument("step")
    p.add_argument("--port", type=int, default=4242)
    p.add_argument("--host", default="localhost", help="the server to connect to (server steps)")
    p = sub.add_parser("tap")
    p.add_argument("--listen", required=True, help="the port clients connect to")
    p.add_argument("--target", required=True, help="HOST:PORT of the server")
    p = sub.add_parser("list")
    p.add_argument("--markdown", action="store_true", help="the README's table of steps")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            print(registry.markdown_table() if args.markdown else "\n".join(s.folder for s in registry.STEPS))
            return 0
        if args.command == "hint":
            return hint(args)
        if args.command in ("peer", "tap"):  # interactive: Ctrl-C ends them quietly
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            if args.command == "tap":
                from . import tap

                return tap.main(args.listen, args.target)
            from . import peer

            return peer.main(args.step, args.port, args.host)
        if args.command == "watch":
            from . import watch

            return watch.main(registry.find(args.step), Path(args.submission), HINT_STATE, poll=args.poll)
        if args.command == "class":
            steps = [registry.find(s) for s in args.step] if args.step else None
            classroom.grade_class(args.folder, args.out, jobs=args.jobs, budget=args.budget, steps=steps)
            return 0
        if args.command == "check":
            args.step = [args.step]
            return 1 if grade(args) else 0
        grade(args)
        return 0
    except LookupError as e:
        sys.exit(f"socklab: {e}")


if __name__ == "__main__":
    sys.exit(main())
