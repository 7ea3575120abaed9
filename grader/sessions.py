"""Random sessions against a protocol model: what a session is, its seeds,
how a failing one is shrunk, and what the student sees.

A session is a Plan: a list of Acts (a client connects, sends bytes cut into
segments, reads what it is owed, stops reading for a while, closes, resets
or half-closes; for a client step, lines typed). A generator
(grader/checks/random_sessions.py) draws one from a seed with
random.Random(seed); a player (grader/players.py) plays it against a fresh
copy of the student's program and compares what comes with the protocol's
model (grader/wp1.py, grader/chat.py): per connection, and in the chat per
sender per receiver (SPEC promises no more).

A failing session is shrunk (shrink()): fewer clients, requests and
segments, smaller values, each attempt replayed on a fresh program, within a
bounded number of attempts and seconds. The student sees the smallest
session that still fails, the model's expected lines beside the received
ones, and the seed that replays it: `make check STEP=NN SEED=S`.

    @check("answers random WP/1 sessions as the model does: ...")
    def wp1_sessions(t):
        play = lambda plan, within: Runner(t, Wp1(), t.start_server, within).run(plan)
        sessions.run(t, wp1_session, play, 12)
"""

import random
import time
from dataclasses import dataclass, field, replace

from .engine import TIMEOUT_SCALE, CheckFailed
from .text import plural

NL = b"\n"

SHRINK_ATTEMPTS = 40  # replays a shrinking may use
SHRINK_SECONDS = 12.0  # and seconds (scaled like every deadline)
WITHIN = 2.0  # seconds for each wait of a session (scaled): a reply on loopback takes a millisecond
SHRINK_WITHIN = 1.0  # the same while shrinking (the failure is known; the smallest is replayed with WITHIN)


# === Seeds =====================================================================


@dataclass(frozen=True)
class Seeds:
    """What `--seed S|random [--sessions N]` asks (make check SEED= SESSIONS=)."""

    first: int = None  # None: 1, the fixed list
    count: int = None  # None: each check's own count; or 1 when first is given (a replay)
    drawn: bool = False  # SEED=random drew first: explore, each check's own count

    @classmethod
    def parse(cls, seed, sessions):
        """From the command line's words; None when neither is given."""
        if seed is None and sessions is None:
            return None
        if sessions is not None and sessions < 1:
            raise ValueError("--sessions takes a count of 1 or more")
        if seed == "random":
            return cls(random.SystemRandom().randrange(1, 1000000), sessions, True)
        try:
            return cls(None if seed is None else int(seed), sessions)
        except ValueError:
            raise ValueError(f"--seed takes a number or 'random', not {seed!r}") from None


def seed_list(option, count):
    """The seeds of one check's sessions: 1..count, its fixed list (a grade never
    changes between two runs), unless --seed/--sessions say otherwise:
    SEED=S alone replays session S; with SESSIONS=N, S..S+N-1; SESSIONS=N
    alone, 1..N; SEED=random, count sessions from a drawn seed on."""
    if option is None:
        return list(range(1, count + 1))
    first = option.first or 1
    many = option.count or (count if option.first is None or option.drawn else 1)
    return list(range(first, first + many))


def replay_command(step, seed):
    return f"make check STEP={step.number:02d} SEED={seed}  (or: python3 -m grader check {step.number:02d} --seed {seed})"


# === Plans =====================================================================


@dataclass(frozen=True)
class Act:
    kind: str  # connect send sync settle pause resume close reset shutdown (servers); type end hangup (07)
    client: int = 0  # 1, 2... (0: none; the chat's witness, w, is the players' own)
    items: tuple = ()  # of a send: pieces of bytes (whole frames, or a frame's head or tail); of a "type": lines
    cuts: tuple = ()  # of a send: offsets where the bytes are cut into segments
    slow: bool = False  # of a connect: small socket buffers (a reader that will stop reading)
    wait: bool = False  # of a "type": first wait until every reply so far is printed


@dataclass
class Plan:
    seed: int
    acts: list
    options: dict = field(default_factory=dict)  # 07: how the grader's server answers

    def clients(self):
        return sorted({a.client for a in self.acts if a.client})

    def requests(self):
        if any(a.kind == "type" for a in self.acts):
            return sum(len(a.items) for a in self.acts if a.kind == "type")
        return sum(item.count(b"\n") for a in self.acts if a.kind == "send" for item in a.items)

    def segments(self):
        return sum(len(a.cuts) + 1 for a in self.acts if a.kind == "send")

    def size(self):
        """What a shrinking makes smaller, in order: clients, requests, segments, bytes."""
        volume = sum(len(i) for a in self.acts for i in a.items)
        return (len(self.clients()), self.requests(), self.segments(), len(self.acts), volume)

    def summary(self):
        parts = [plural(len(self.clients()), "client")] if self.clients() else []
        parts.append(plural(self.requests(), "line" if any(a.kind == "type" for a in self.acts) else "request"))
        if self.segments():
            parts.append(plural(self.segments(), "segment"))
        return ", ".join(parts)


def segments_of(data, cuts):
    edges = [0] + sorted(c for c in set(cuts) if 0 < c < len(data)) + [len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


# === What a failing session says ===============================================


class Broken(Exception):
    """Why a session failed: kind (mismatch, extra, missing, closed, died,
    start), the message, the evidence (label, text) and the likely cause."""

    def __init__(self, kind, message, evidence=(), hint=None, **details):
        super().__init__(message)
        self.kind, self.message, self.evidence, self.hint = kind, message, list(evidence), hint
        self.details = details  # for the likely cause: want, got (bytes), request, about, slow, later, receiver, channel, lost

    def raw(self):
        """What the engine's diagnoses (grader/diagnoses.py) read of this
        failure, as CheckFailed's keywords: the line due and the line that
        came (with their "\n"), the request it answers, where it came
        (channel: "socket", or "stdout" for what a client printed), and as
        its connection a Wire. So a session's wrong reply is explained as
        a fixed check's is (a WP/1 mistake, a NUL byte, WHO unsorted...)."""
        d = self.details
        want, got, request = d.get("want"), d.get("got"), d.get("request")
        return dict(
            expected=None if want is None else want + NL,
            got=None if got is None else got + NL,
            request=request,
            channel=d.get("channel", "socket"),
            conn=Wire(None if request is None else request + NL, d.get("receiver")),
        )

    def facts(self):
        """What a diagnosis of its own kind reads (Evidence.facts): lost_head,
        (bytes lost, the frame's end answered) when the wrong reply answers the
        end of a frame alone (players.Runner.lost_head)."""
        return {"lost_head": self.details["lost"]} if self.details.get("lost") else {}


@dataclass
class Wire:
    """The connection of a session's failure as the diagnoses read a
    net.Conn's: sent, the frame the wrong line answers (its "\r\n" kept),
    in pieces the diagnoses cannot tell (0); name, the receiver's nick (09)."""

    sent: bytes = None
    name: bytes = None
    pieces: int = 0


@dataclass
class Result:
    failure: Broken = None
    rows: list = field(default_factory=list)  # the transcript, as Trial.lines holds it
    program: object = None  # the student's program of this run (kept running if it failed)
    seconds: float = 0.0


@dataclass
class Owed:
    """One line the model says a client must receive."""

    receiver: int
    text: bytes
    about: bytes = None  # whose news it is (chat), None: a reply to the receiver's own request
    cause: str = ""  # the request behind it, as the transcript shows it
    request: bytes = None  # that request's line (None: a line too long, or a client leaving)
    frame: int = None  # which of the receiver's own frames it answers (1: its first), None: news of others


# === Shrinking =================================================================


class Simplify:
    """The generator's smaller versions of a request (item) or of a plan's
    options; none by default."""

    def item(self, item):
        return []

    def options(self, options):
        return []


def shrink(plan, replay, first, simplify, attempts=SHRINK_ATTEMPTS, seconds=SHRINK_SECONDS):
    """Smaller plans that still fail as plan did (first: its Result), each
    replayed on a fresh program (replay(plan) -> Result); a candidate counts
    when it fails with the same kind of failure. Tried in this order, each
    pass again while one helps: fewer clients, fewer requests (delta
    debugging), no syncs, no slow reader, fewer closes, fewer segments (no
    cuts, one send where a client sent several in a row), simpler options
    and requests. Bounded by attempts and seconds. Returns
    the chain of plans kept, [(plan, result)], the first being plan, and the
    attempts used. The programs of the runs are killed, but the first's and
    the last kept's."""
    chain = [(plan, first)]
    used = [0]
    deadline = time.monotonic() + seconds * TIMEOUT_SCALE

    class Done(Exception):
        pass

    def attempt(candidate):
        best = chain[-1][0]
        if candidate.acts == best.acts and candidate.options == best.options:
            return False
        if used[0] >= attempts or time.monotonic() > deadline:
            raise Done
        used[0] += 1
        result = replay(candidate)
        if result.failure is not None and result.failure.kind == first.failure.kind:
            if len(chain) > 1:
                kill(chain[-1][1])  # the first one's program stays: it may be the one shown
            chain.append((candidate, result))
            return True
        kill(result)
        return False

    def best():
        return chain[-1][0]

    try:
        progress = True
        while progress:
            progress = False
            for client in reversed(best().clients()):
                if len(best().clients()) > 1:
                    progress |= attempt(without_client(best(), client))
            progress |= ddmin_items(best, attempt)
            for kinds in (("sync", "settle"), ("pause", "resume"), ("wait",)):
                progress |= attempt(without_kinds(best(), kinds))
            i = 0
            while i < len(best().acts):  # each way of leaving, in turn
                if best().acts[i].kind in ("close", "reset", "shutdown", "hangup") and attempt(without_act(best(), i)):
                    progress = True
                    continue
                i += 1
            progress |= attempt(replace(best(), acts=[replace(a, cuts=()) for a in best().acts]))
            progress |= attempt(merged_sends(best()))
            for options in simplify.options(best().options):
                if attempt(replace(best(), options=options)):
                    progress = True
                    break
            progress |= simplify_items(best, attempt, simplify)
    except Done:
        pass
    return chain, used[0]


def kill(result):
    if result.program is not None:
        result.program.kill()


def without_kinds(plan, kinds):
    """plan without its acts of these kinds ("wait": the acts keep, their wait goes; "pause": the slow readers go too)."""
    acts = []
    for act in plan.acts:
        if act.kind in kinds:
            continue
        if "wait" in kinds and act.wait:
            act = replace(act, wait=False)
        if "pause" in kinds and act.slow:
            act = replace(act, slow=False)
        acts.append(act)
    return replace(plan, acts=acts)


def merged_sends(plan):
    """plan with each run of sends of one client made one send (uncut)."""
    acts = []
    for act in plan.acts:
        if acts and act.kind == "send" and acts[-1].kind == "send" and acts[-1].client == act.client:
            acts[-1] = replace(acts[-1], items=acts[-1].items + act.items, cuts=())
        else:
            acts.append(act)
    return replace(plan, acts=acts)


def without_client(plan, client):
    return replace(plan, acts=[a for a in plan.acts if a.client != client])


def without_act(plan, i):
    return replace(plan, acts=plan.acts[:i] + plan.acts[i + 1 :])


def with_items(plan, keep):
    """plan with only the (act, item) places in keep; acts left empty go."""
    acts = []
    for i, act in enumerate(plan.acts):
        if act.items:
            items = tuple(item for j, item in enumerate(act.items) if (i, j) in keep)
            if not items:
                continue
            size = len(b"".join(items)) if act.kind == "send" else 0
            act = replace(act, items=items, cuts=tuple(c for c in act.cuts if c < size))
        acts.append(act)
    return replace(plan, acts=acts)


def ddmin_items(best, attempt):
    """Delta debugging over every request of the plan (best() is the plan
    kept so far): drop halves, then quarters..., keeping each drop after
    which it still fails."""

    def places():
        return [(i, j) for i, act in enumerate(best().acts) for j in range(len(act.items))]

    progress, chunks, kept = False, 2, places()
    while kept:
        size = max(1, -(-len(kept) // chunks))
        dropped = False
        for start in range(0, len(kept), size):
            if attempt(with_items(best(), set(kept[:start] + kept[start + size :]))):
                progress = dropped = True
                kept = places()
                chunks = max(chunks - 1, 2)
                break
        if not dropped:
            if size == 1:
                break
            chunks = min(chunks * 2, len(kept))
    return progress


def simplify_items(best, attempt, simplify):
    """Each request replaced by a smaller one of simplify.item(), where it still fails."""
    progress = False
    for i in range(len(best().acts)):
        j = 0
        while i < len(best().acts) and j < len(best().acts[i].items):
            act = best().acts[i]
            for smaller in simplify.item(act.items[j]):
                items = act.items[:j] + (smaller,) + act.items[j + 1 :]
                if attempt(replace(best(), acts=best().acts[:i] + [replace(act, items=items)] + best().acts[i + 1 :])):
                    progress = True
                    break
            j += 1
    return progress


# === A check's sessions ========================================================


def run(t, generate, play, count, simplify=Simplify(), hint=None, what="sessions"):
    """Play count generated sessions (or those --seed/--sessions name), each
    on a fresh program: play(plan, within) -> Result. A failure is shrunk and
    shown with its seed; otherwise the check passes with a note of what was
    covered. hint(broken): the likely cause of a failure, or None.

    The fixed list stops once a third of the step's time budget is spent:
    then, unless a session failed, the check is not run (Trial.not_run: SKIP
    with the reason, out of the score), never passed on fewer sessions than
    every other grading plays (a grade that depended on the machine's speed
    would change between two runs without saying so). --seed/--sessions
    play every session asked for."""
    seeds = seed_list(t.seeds, count)
    started = time.monotonic()
    cap = t.step.budget / 3 * TIMEOUT_SCALE
    ran, requests, clients, segments = 0, 0, 0, 0
    for seed in seeds:
        if t.seeds is None and time.monotonic() - started > cap:
            rest = f"make check STEP={t.step.number:02d} SEED={seed} SESSIONS={len(seeds) - ran} plays the rest"
            t.log("note", f"the time for random sessions ({cap:g} s, a third of the step's budget) ran out after {ran} of {len(seeds)}: {rest}")
            t.not_run(f"only {ran} of its {len(seeds)} random {what} ran within {cap:g} s (a third of the step's time budget: a busy machine?); "
                      f"judged on fewer than every grading plays, it is not counted; {rest}")  # fmt: skip
            break
        plan = generate(random.Random(seed))
        plan.seed = seed
        result = play(plan, t.within(WITHIN))
        if result.failure is not None:
            report(t, seeds, plan, result, play, simplify, hint)
        ran += 1
        requests, clients, segments = requests + plan.requests(), clients + len(plan.clients()), segments + plan.segments()
    covered = f"{requests} requests" + (f" from {clients} clients" if clients else "") + (f" in {segments} segments" if segments else "")
    t.log("note", f"{ran} random {what} ({seed_range(seeds[:ran])}; make check STEP={t.step.number:02d} SEED=S replays one): {covered}, all as the model says")


def compress(rows, most=6, keep=2):
    """The transcript with each run of more than most rows of one kind and
    one client (a flood of sends) cut to its first and last keep rows."""
    out, run = [], []

    def flush():
        if len(run) > most:
            out.extend(run[:keep])
            out.append(("note", f"... {len(run) - 2 * keep} more rows like these ..."))
            out.extend(run[-keep:])
        else:
            out.extend(run)
        run.clear()

    for row in rows:
        if run and (row[0], row[1].split(" ")[0]) != (run[0][0], run[0][1].split(" ")[0]):
            flush()
        run.append(row)
    flush()
    return out


def seed_range(seeds):
    if not seeds:
        return "no seed"
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"


def report(t, seeds, plan, result, play, simplify, hint):
    """Shrink the failing plan and fail the check with the smallest one found
    that fails again twice with the session's deadlines (the shrinking's are
    shorter, and a failure that needs the server's timing may not come back):
    walking back the chain of kept plans while one does not."""
    started = time.monotonic()
    shrink_within = t.within(SHRINK_WITHIN)
    if result.failure.kind == "start":  # it did not even start: no session would be smaller
        chain, used = [(plan, result)], 0
    else:
        chain, used = shrink(plan, lambda p: play(p, shrink_within), result, simplify, seconds=min(SHRINK_SECONDS, t.step.budget / 4))
    if len(chain) > 1:
        kill(chain[-1][1])
    shown, small = result, plan
    for candidate, _ in reversed(chain[1:][-3:]):
        replays = [play(candidate, t.within(WITHIN)) for _ in range(2)]
        kill(replays[0])
        if all(r.failure is not None and r.failure.kind == result.failure.kind for r in replays):
            shown, small = replays[1], candidate
            break
        kill(replays[1])
    if small is not plan:
        kill(result)
        note = f"shrunk from {plan.summary()} to {small.summary()} ({plural(used, 'replay')}, {time.monotonic() - started:.1f} s)"
    elif len(chain) > 1:
        note = "no smaller session failed again in two replays: here it is whole"
    elif result.failure.kind == "start":
        note = "your program did not start"
    else:
        note = f"no smaller session fails ({plural(used, 'replay')}): here it is whole"
    t.log("note", f"random session seed {plan.seed} ({seed_range(seeds)} in all) failed; {note}")
    for kind, text in compress(shown.rows):
        t.log(kind, text)
    if shown.program is not None and shown.program not in t.programs:
        t.programs.append(shown.program)
    failure = shown.failure
    cause = failure.hint or (hint(failure) if hint else None)  # the check's own: a diagnosis that sees the cause comes first
    shown_failure = CheckFailed(
        failure.message + f" (random session, seed {plan.seed})",
        failure.evidence + [("replay", replay_command(t.step, plan.seed))],
        cause,
        **failure.raw(),
    )
    shown_failure.facts.update(failure.facts())
    raise shown_failure
