"""Random sessions against the protocol model (grader/sessions.py,
grader/checks/random_sessions.py, grader/chat.py): the pure parts here
(seeds, generators, the chat model, the framer, the shrinker); the runners
are proven on the known-bug and correct programs (test_programs.py) and on
one replay below."""

import dataclasses
import io
import json
import random
import re
import subprocess
import time
from types import SimpleNamespace

import pytest

from conftest import KIT, PROGRAMS, install
from grader import chat, diagnoses, registry, runner, sessions, wp1
from grader import report as reports
from grader.checks import random_sessions as rs
from grader.players import Client, Runner
from grader.sessions import Act, Broken, Owed, Plan, Result, Seeds

GENERATORS = [
    pytest.param(rs.echo_session, id="05-echo"),
    pytest.param(rs.wp1_session, id="06-wp1"),
    pytest.param(rs.calc_client_session, id="07-calc-client"),
    pytest.param(rs.wp1_concurrent_session, id="08-wp1-concurrent"),
    pytest.param(rs.chat_session, id="09-chat"),
]


# === Seeds =====================================================================


def test_default_seeds_are_a_fixed_list():
    assert sessions.seed_list(None, 12) == list(range(1, 13))


@pytest.mark.parametrize(
    "seed, count, expected",
    [
        pytest.param("7", None, [7], id="SEED=7 replays one session"),
        pytest.param("7", 3, [7, 8, 9], id="SEED=7 SESSIONS=3"),
        pytest.param(None, 3, [1, 2, 3], id="SESSIONS=3 from 1"),
    ],
)
def test_seed_options(seed, count, expected):
    assert sessions.seed_list(Seeds.parse(seed, count), 12) == expected


def test_seed_random_draws_a_seed_and_runs_the_checks_own_count():
    seeds = Seeds.parse("random", None)
    assert seeds.drawn and seeds.first >= 1
    assert sessions.seed_list(seeds, 12) == list(range(seeds.first, seeds.first + 12))
    assert len(sessions.seed_list(Seeds.parse("random", 4), 12)) == 4


@pytest.mark.parametrize("seed, count", [("x", None), ("1", 0)])
def test_bad_seed_options_are_refused(seed, count):
    with pytest.raises(ValueError):
        Seeds.parse(seed, count)


# === Generators ================================================================


@pytest.mark.parametrize("generate", GENERATORS)
def test_a_seed_always_gives_the_same_session(generate):
    assert generate(random.Random(5)) == generate(random.Random(5))
    assert generate(random.Random(5)) != generate(random.Random(6))


@pytest.mark.parametrize("generate", GENERATORS)
def test_sessions_vary(generate):
    plans = [generate(random.Random(seed)) for seed in range(1, 31)]
    assert len({p.size() for p in plans}) > 10
    assert all(p.requests() > 0 for p in plans)


def test_edge_sweep_hits_every_operator_in_both_directions_past_the_edge():
    """Over the default seeds, for every operator and direction, some CALC
    overflows and some stays just inside (the sweep of wp1_session)."""
    seen = set()
    for seed in range(1, 13):
        for line in rs.edge_sweep(random.Random(seed)):
            m = wp1.CALC.fullmatch(line[5:])
            a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
            if op in b"/%":
                continue
            exact = {b"+": a + b, b"-": a - b, b"*": a * b}[op]
            seen.add((op, exact > 0, wp1.calc(line[5:]) == b"ERROR:OVERFLOW"))
    assert seen >= {(op, up, over) for op in (b"+", b"-", b"*") for up in (True, False) for over in (True, False)}


def test_cuts_fall_inside_the_data():
    rng = random.Random(1)
    for _ in range(200):
        data = bytes(rng.choice(b"ab\r\n") for _ in range(rng.randrange(1, 60)))
        cuts = rs.cuts(rng, data)
        assert all(0 < c < len(data) for c in cuts)
        assert b"".join(sessions.segments_of(data, cuts)) == data


# === The models ================================================================


def room_with(*names):
    room = chat.Room()
    for i, name in enumerate(names):
        room.frame(i, b"NICK:" + name)
    return room


@pytest.mark.parametrize(
    "line, reply",
    [
        pytest.param(b"NICK:ann", b"ERROR:HAVENICK", id="havenick first"),
        pytest.param(b"NICK:bad nick", b"ERROR:HAVENICK", id="havenick before badnick"),
    ],
)
def test_chat_nick_errors_of_a_named_client(line, reply):
    room = room_with(b"ann")
    assert room.frame(0, line) == [(0, reply)]


@pytest.mark.parametrize(
    "name, reply",
    [
        pytest.param(b"", b"ERROR:BADNICK", id="0 bytes"),
        pytest.param(b"x", b"OK:x", id="1 byte"),
        pytest.param(b"x" * 16, b"OK:" + b"x" * 16, id="16 bytes"),
        pytest.param(b"x" * 17, b"ERROR:BADNICK", id="17 bytes"),
        pytest.param(b"a:b", b"ERROR:BADNICK", id="colon"),
        pytest.param(b"ann", b"ERROR:NICKTAKEN", id="taken"),
        pytest.param(b"Ann", b"OK:Ann", id="case-sensitive"),
        pytest.param(b"an", b"OK:an", id="a prefix of a taken nick"),
    ],
)
def test_chat_nick(name, reply):
    room = room_with(b"ann")
    assert room.frame(1, b"NICK:" + name)[0] == (1, reply)


def test_chat_join_msg_who_quit():
    room = room_with(b"bob", b"ann")
    assert room.frame(2, b"MSG:hi") == [(2, b"ERROR:NONICK")]
    assert room.frame(2, b"NICK:cy") == [(2, b"OK:cy"), (0, b"JOIN:cy"), (1, b"JOIN:cy")]
    assert room.frame(0, b"MSG:a:b\x00") == [(1, b"MSG:bob:a:b\x00"), (2, b"MSG:bob:a:b\x00")]
    assert room.frame(3, b"WHO:x") == [(3, b"WHO:ann,bob,cy")]
    assert room.frame(1, b"QUIT:bye") == [(1, b"BYE:"), (0, b"LEAVE:ann"), (2, b"LEAVE:ann")]
    assert room.frame(3, b"NICK:ann")[0] == (3, b"OK:ann")  # free again
    assert room.frame(3, b"CALC:1+1") == [(3, b"ERROR:UNKNOWN")]
    assert room.frame(3, b"PING:x\r") == [(3, b"PONG:x")]


def test_chat_about_names_the_sender_of_a_broadcast():
    assert chat.about(b"MSG:ann:a:b") == b"ann"
    assert chat.about(b"JOIN:ann") == b"ann"
    assert chat.about(b"LEAVE:ann") == b"ann"
    assert chat.about(b"PONG:MSG:x") is None
    assert chat.about(b"OK:ann") is None


def test_chat_protocol_sees_a_change_of_nicks_coming():
    model = rs.Chat()
    for client in (1, 2):
        model.connect(client)
    assert model.changes(1, b"NICK:ann\n")
    assert not model.changes(1, b"NICK:ann")  # no "\n" yet: no frame
    model.send(1, b"NICK:ann\n")
    assert not model.changes(2, b"MSG:x\nWHO:\nNICK:ann\n")  # taken: no change
    assert model.changes(1, b"QUIT:\n")
    owed = model.send(2, b"NICK:bob\n")
    assert [(o.receiver, o.text, o.about) for o in owed] == [(2, b"OK:bob", None), (1, b"JOIN:bob", b"bob")]


class ByteFramer:
    """WP/1's framing one byte at a time, as SPEC says it: the reference for wp1.Framer."""

    def __init__(self):
        self.held, self.dropping = b"", False

    def feed(self, data):
        frames = []
        for byte in (data[i : i + 1] for i in range(len(data))):
            if byte == b"\n":
                if not self.dropping:
                    frames.append(self.held)
                self.held, self.dropping = b"", False
            elif not self.dropping:
                self.held += byte
                if len(self.held) >= wp1.FRAME_MAX:
                    frames.append(None)
                    self.held, self.dropping = b"", True
        return frames


def test_framer_cuts_as_the_byte_by_byte_rule_whatever_the_segments():
    rng = random.Random(3)
    for _ in range(300):
        lines = [b"x" * rng.choice((0, 1, 510, 511, 512, 513, 1000)) for _ in range(3)]
        data = b"\n".join(lines) + bytes(rng.choice(b"ab\r\n") for _ in range(rng.randrange(0, 2000)))
        whole, fast = ByteFramer(), wp1.Framer()
        expected, got, at = whole.feed(data), [], 0
        while at < len(data):
            step = rng.choice((1, 2, 7, 511, 512, 513, 5000))
            got += fast.feed(data[at : at + step])
            at += step
        assert got == expected


# === A reply to the end of a frame alone (players.Runner.lost_head) =============


def lost_head(segments, line, leaves=None, frame=1, pieces_answered=False):
    """What Runner.lost_head says when line came for the frame-th frame of
    a WP/1 client that sent segments; leaves[i]: the leaves seen by segment i."""
    runner = Runner(None, rs.Wp1Concurrent(), None, 1.0)
    runner.pieces_answered = pieces_answered
    client = SimpleNamespace(sent=bytearray(), starts=[], leaves=0)
    for i, piece in enumerate(segments):
        client.starts.append((len(client.sent), (leaves or [0] * len(segments))[i]))
        client.sent += piece
    return runner.lost_head(client, Owed(1, b"", frame=frame), line)


def test_a_reply_to_the_end_of_a_frame_alone_is_seen_where_a_segment_began():
    assert lost_head([b"PING:x\nCALC:9", b"CALC:2+3\n"], b"CALC:5", frame=2) == (6, b"CALC:2+3")
    assert lost_head([b"CALC:-9", b"CALC:1+1\n"], b"CALC:2") == (7, b"CALC:1+1")
    assert lost_head([b"CALC:-9", b"CALC:1+", b"1\n"], b"CALC:2") == (7, b"CALC:1+1")


def test_a_reply_the_whole_frame_or_its_start_explains_is_no_lost_head():
    assert lost_head([b"CALC:1+", b"1\n"], b"CALC:2") is None  # the right reply
    assert lost_head([b"PING:a", b"b\n"], b"PONG:a") is None  # the start answered alone: another mistake
    assert lost_head([b"CALC:1+1\n"], b"CALC:3") is None  # one segment: nothing to lose
    assert lost_head([b"CALC:1+", b"1"], b"ERROR:SYNTAX") is None  # not whole yet


def test_a_lost_head_answered_syntax_needs_a_client_leaving_meanwhile():
    """Any frame's end makes ERROR:SYNTAX: that reply counts only if a client
    left between the frame before and the cut (or since it connected)."""
    assert lost_head([b"PING:x\n", b"PING:a", b"b\n"], b"ERROR:SYNTAX", frame=2) is None
    assert lost_head([b"PING:x\n", b"PING:a", b"b\n"], b"ERROR:SYNTAX", [0, 0, 1], frame=2) == (6, b"b")
    assert lost_head([b"PING:x\n", b"PING:a", b"b\n"], b"ERROR:SYNTAX", [0, 1, 1], frame=2) == (6, b"b")
    assert lost_head([b"PING:x\n", b"PING:a", b"b\n"], b"ERROR:SYNTAX", [1, 1, 1], frame=2) is None  # left before the frame before


def test_a_reply_its_start_explains_too_is_a_lost_head_once_pieces_were_answered_right():
    """CALC:-92 then 3+4: ERROR:SYNTAX is the reply to either piece alone;
    a server that answered a frame in pieces right before did not answer
    the start alone."""
    segments, leaves = [b"CALC:-92", b"3+4\n"], [0, 1]
    assert lost_head(segments, b"ERROR:SYNTAX", leaves) is None
    assert lost_head(segments, b"ERROR:SYNTAX", leaves, pieces_answered=True) == (8, b"3+4")
    assert lost_head(segments, b"ERROR:SYNTAX", [0, 0], pieces_answered=True) is None


def test_the_frames_sent_in_pieces_are_counted_as_the_model_counts_frames():
    client = SimpleNamespace(frames_sent=0, partial=0, split=set())
    for piece in (b"PING:a\nCAL", b"C:1+1\n", b"\nPING:b", b"\n", b"x" * 600, b"y\nQUIT:", b"\r\n"):
        Client.count_frames(client, piece)
    assert client.frames_sent == 6 and client.split == {2, 5}  # not 4: its piece before ended just before its "\n"


# === Shrinking =================================================================


def fake_replay(plan):
    """A 'program' that fails on any request holding BAD once a client has sent GO before it."""
    armed, failed = set(), False
    for act in plan.acts:
        for item in act.items:
            if b"GO" in item:
                armed.add(act.client)
            if b"BAD" in item and act.client in armed:
                failed = True
    return Result(Broken("mismatch", "wrong") if failed else None)


def test_shrink_keeps_what_the_failure_needs_and_drops_the_rest():
    rng = random.Random(2)
    acts = []
    for client in (1, 2, 3):
        acts.append(Act("connect", client))
        for _ in range(8):
            items = tuple(rng.choice((b"PING:a\n", b"CALC:1+1\n", b"x\n")) for _ in range(5))
            acts += [Act("send", client, items, (3, 9)), Act("sync", client)]
    acts.insert(10, Act("send", 2, (b"PING:GO\n",)))
    acts.insert(30, Act("send", 2, (b"PING:BAD\n", b"CALC:2+2\n"), (4,)))
    plan = Plan(1, acts)
    chain, used = sessions.shrink(plan, fake_replay, fake_replay(plan), rs.Smaller(), attempts=200, seconds=30)
    small, result = chain[-1]
    assert chain[0][0] is plan and result.failure is not None
    assert small.clients() == [2]
    assert [i for a in small.acts for i in a.items] == [b"PING:GO\n", b"PING:BAD\n"]
    assert small.segments() == 2 and used <= 200


def test_shrink_makes_one_send_of_a_clients_sends_in_a_row():
    plan = Plan(1, [Act("send", 1, (b"PING:GO\n",)), Act("send", 1, (b"PING:BAD\n",), (3,))])
    chain, _ = sessions.shrink(plan, fake_replay, fake_replay(plan), rs.Smaller(), attempts=50, seconds=30)
    assert chain[-1][0].acts == [Act("send", 1, (b"PING:GO\n", b"PING:BAD\n"))]


def test_shrink_stops_at_its_attempt_bound():
    plan = Plan(1, [Act("send", 1, tuple(b"BAD %d\n" % i if i == 0 else b"GO %d\n" % i for i in range(64)))])
    calls = []

    def replay(p):
        calls.append(p)
        return fake_replay(p)

    sessions.shrink(plan, replay, fake_replay(plan), rs.Smaller(), attempts=5, seconds=30)
    assert len(calls) == 5


def test_shrink_counts_only_the_same_kind_of_failure():
    plan = Plan(1, [Act("send", 1, (b"a\n", b"b\n"))])
    other = lambda p: Result(Broken("missing", "timeout") if len(p.acts[0].items) < 2 else Broken("mismatch", "x"))  # noqa: E731
    chain, _ = sessions.shrink(plan, other, other(plan), rs.Smaller(), attempts=20, seconds=30)
    assert chain[-1][0] == plan


# === A failure, shrunk and replayed ===========================================


def only_random_sessions(monkeypatch):
    monkeypatch.setattr(runner, "checks_of", lambda step: [rs.wp1_sessions.check])


def test_a_failing_session_names_its_seed_and_replays_the_same_with_it(tmp_path, monkeypatch):
    """The random sessions catch a known bug, show the shrunk transcript with
    the model's expected reply beside the program's, and SEED= replays it.
    The cause is the one a fixed check's failure gets for that bug: the
    engine's diagnoses read the session's evidence (a WP/1 mistake, here
    arithmetic that wraps)."""
    only_random_sessions(monkeypatch)
    program = PROGRAMS / "bugs" / "06-calc-server-add-overflows-down"
    step = install(program, tmp_path / "first")
    (first,) = runner.grade(tmp_path / "first", [step]).outcomes[1:]
    assert not first.passed
    seed = int(first.output.split("SEED=")[1].split()[0])
    assert f"random session seed {seed}" in first.output and "shrunk from" in first.output
    assert 'expected: c1 "ERROR:OVERFLOW\\n"' in first.output and "replay:   make check STEP=06 SEED=" in first.output
    (hint,) = re.findall(r"\] hint: +(.*)", first.output)
    assert hint == diagnoses.likely_cause(diagnoses.Evidence("", "", b"ERROR:OVERFLOW\n", b"CALC:9223372036854775807\n", "socket", b"CALC:-9223372036854775808+-1"))
    install(program, tmp_path / "again")
    (again,) = runner.grade(tmp_path / "again", [step], seeds=Seeds(seed)).outcomes[1:]
    assert not again.passed
    assert f"random session seed {seed} (seed {seed} in all)" in again.output
    assert transcript_of(again.output) == transcript_of(first.output)


class Trial:
    """What sessions.run asks of a check's Trial (engine.Trial), and no more."""

    def __init__(self, step, seeds=None):
        self.step, self.seeds, self.lines, self.skipped = step, seeds, [], None

    def within(self, seconds=None):
        return seconds

    def log(self, kind, text):
        self.lines.append((kind, text))

    def not_run(self, reason):
        self.skipped = reason


def test_sessions_cut_short_by_the_time_cap_are_not_counted_as_passed():
    """The fixed seeds stop once a third of the step's budget is spent: the
    check is then not run (SKIP, out of the score) with the reason and the
    command that plays the rest, never passed on fewer sessions than another
    grading plays; SESSIONS= plays every session asked for."""
    step = dataclasses.replace(registry.find("06"), budget=0.3)
    cap = step.budget / 3 * sessions.TIMEOUT_SCALE

    def play(plan, within):
        time.sleep(cap * 0.6)
        return Result()

    cut = Trial(step)
    sessions.run(cut, rs.wp1_session, play, 12)
    played = int(re.search(r"only (\d+) of its 12 random sessions ran within", cut.skipped).group(1))
    assert played < 12
    seed, count = map(int, re.search(r"make check STEP=06 SEED=(\d+) SESSIONS=(\d+) plays the rest", cut.skipped).groups())
    assert (seed, seed + count - 1) == (played + 1, 12)
    asked = Trial(step, Seeds(None, 3))
    sessions.run(asked, rs.wp1_session, play, 12)
    assert asked.skipped is None and asked.lines[-1][1].startswith("3 random sessions (seeds 1..3")
    assert any("ran out after" in text for _, text in cut.lines) and not any("ran out" in text for _, text in asked.lines)


def test_a_grading_short_of_time_says_how_many_sessions_it_played(tmp_path, monkeypatch):
    """Graded whole (runner.grade, the reports): a step whose sessions ran
    out of time shows the check as skipped, out of the score, its output and
    the console saying how many of the fixed sessions ran and how to play
    the rest."""
    only_random_sessions(monkeypatch)
    step = install(PROGRAMS / "correct" / "06-calc-server-fork.c", tmp_path)
    report = runner.grade(tmp_path, [dataclasses.replace(step, budget=0.3)])
    (outcome,) = report.outcomes[1:]
    assert not outcome.passed and not outcome.failed and outcome.max_score == 0
    played = int(re.search(r"only (\d+) of its 12 random sessions ran within", outcome.extra["skipped"]).group(1))
    assert played < 12 and f"ran out after {played} of 12: make check STEP=06 SEED={played + 1} SESSIONS={12 - played} plays the rest" in outcome.output
    shown = io.StringIO()
    reports.console(report, stream=shown)
    assert f"SKIP {outcome.name}" in shown.getvalue() and f"only {played} of its 12 random sessions ran" in shown.getvalue()


def transcript_of(output):
    """What was sent, expected and received, without ports and timings."""
    return [line for line in output.splitlines() if re.search(r"\] (sent|expected|received|reply to): ", line)]


def test_make_check_seed_random_draws_and_says_its_seed(tmp_path):
    run = subprocess.run(
        ["make", "-s", "-C", str(KIT), "check", "STEP=06", "SUBMISSION=solutions", f"OUT={tmp_path}", "SEED=random", "SESSIONS=2", "VALGRIND=0"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    drawn = int(re.search(r"SEED=random drew seed (\d+)", run.stdout).group(1))
    report = json.loads((tmp_path / "results.json").read_text())
    (sessions_test,) = [t for t in report["tests"] if rs.wp1_sessions.check.name in t["name"]]
    assert f"2 random sessions (seeds {drawn}..{drawn + 1}" in sessions_test["output"]


def test_make_check_refuses_a_seed_that_is_not_a_number():
    run = subprocess.run(["make", "-s", "-C", str(KIT), "check", "STEP=06", "SEED=abc"], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "--seed takes a number or 'random'" in run.stderr


def test_remote_refuses_seeds():
    """REMOTE= runs no random session (each starts a server of its own): SEED= there is refused, not ignored."""
    run = subprocess.run(["make", "-s", "-C", str(KIT), "check", "STEP=06", "REMOTE=127.0.0.1:1", "SEED=3"], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "not with REMOTE=" in run.stderr
