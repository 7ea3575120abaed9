"""The diagnoses (grader/diagnoses.py): each names its cause on the evidence
of its bug, and stays silent on evidence that points elsewhere; the check's
own hint is the fallback only where its condition holds."""

import signal

import pytest

from grader import diagnoses
from grader.diagnoses import Evidence, Seen
from grader.sandbox import Status

RUNNING = Seen("./prog")


def evidence(**fields):
    fields.setdefault("programs", [RUNNING])
    return Evidence("a check", "a verdict", **fields)


def cause(**fields):
    return diagnoses.likely_cause(evidence(**fields))


# One row per diagnosis: evidence of its bug, the phrase its cause holds;
# then evidence that looks alike but is not that bug.
NAMED = [
    pytest.param(
        dict(expected=b"Got connection from 127.0.0.1:47022\n", got=b"Got connection from 127.0.0.1:44727\n", channel="stdout"),
        "ntohs",
        id="port-byte-swapped",
    ),
    pytest.param(
        dict(expected=b"Got connection from 127.0.0.1:47022\n", got=b"Got connection from ::ffff:127.0.0.1:47022\n", channel="stdout"),
        "IPv4-mapped",
        id="ipv4-mapped",
    ),
    pytest.param(dict(expected=b"PONG:a\0b\n", got=b"PONG:a\n", channel="socket"), "NUL byte", id="cut-at-nul"),
    pytest.param(dict(expected=b"ERROR:SYNTAX\n", got=b"CALC:7\n", channel="socket", request=b"CALC:+3+4"), "strtol", id="strtol-plus-sign"),
    pytest.param(dict(expected=b"ERROR:SYNTAX\n", got=b"CALC:7\n", channel="socket", sent=b"CALC: 3+ 4\n", pieces=1), "strtol", id="strtol-spaces"),
    pytest.param(dict(expected=b"ERROR:SYNTAX\n", got=b"ERROR:UNKNOWN\n", channel="socket", request=b"ping:x"), "capital letters", id="keyword-case"),
    pytest.param(
        dict(expected=b"ERROR:OVERFLOW\n", got=b"CALC:-9223372036854775808\n", channel="socket", request=b"CALC:9223372036854775807+1"),
        "wrapped",
        id="wraps",
    ),
    pytest.param(
        dict(expected=b"ERROR:OVERFLOW\n", got=b"ERROR:DIVZERO\n", channel="socket", request=b"CALC:99999999999999999999/0"),
        "errors in this order",
        id="divzero-first",
    ),
    pytest.param(dict(expected=b"CALC:7\n", got=b"ERROR:SYNTAX\n", channel="socket", request=b"CALC:3+4\r"), "line ending", id="keeps-cr-calc"),
    pytest.param(dict(expected=b"PONG:x\n", got=b"PONG:x\r\n", channel="socket", sent=b"PING:x\r\n", pieces=1), "line ending", id="keeps-cr-ping"),
    pytest.param(dict(expected=b"x", got=b"x\r", channel="unit"), "line ending", id="keeps-cr-unit"),
    pytest.param(
        dict(expected=b"PONG:hello\n", got=b"ERROR:SYNTAX\nERROR:SYNTAX\n", channel="socket", sent=b"PING:hello\n", pieces=11),
        "one recv() is not one request",
        id="answered-a-piece",
    ),
    pytest.param(
        dict(expected=b"ERROR:SYNTAX\n", got=b"ERROR:OVERFLOW\n", channel="socket", request=b"CALC:-92CALC:1+99999999999999999999", facts={"lost_head": (8, b"CALC:1+99999999999999999999")}),
        "partial frame stays with that client",
        id="lost-frame-head",
    ),
    pytest.param(dict(expected=b"WHO:Ann,ann,b\n", got=b"WHO:b,ann,Ann\n", channel="socket"), "sorted bytewise", id="who-unsorted"),
    pytest.param(dict(expected=b"MSG:cy:back\n", got=b"MSG:ann:hello\n", channel="socket", receiver=b"ann"), "its own MSG", id="own-message"),
    pytest.param(dict(facts={"unit": "read_line call 1\nrecv() was never called: frame.c must call recv()"}), "must call recv() and send()", id="stand-in-unused"),
    pytest.param(
        dict(expected=b"a" * 5000 + b"\n" + b"short line 0\nshort line 1\n", got=b"a" * 1024 + b"\nshort line 0\nshort line 1\n", channel="socket"),
        "never came",
        id="dropped-bytes",
    ),
    pytest.param(
        dict(programs=[Seen("./client", status=Status("exit", 0), stdout_total=131072)]),
        "exactly 131072 bytes",
        id="stopped-at-128k",
    ),
    pytest.param(dict(programs=[Seen("./chat", stdin_open=True, unread_socket=23)], channel="stdout", expected=b"hi\n", got=b""), "unread in your program's socket", id="lockstep"),
    pytest.param(
        dict(programs=[Seen("./chat", stdout=b"Got connection from x\n", stdout_total=22, stdin_open=True, unread_socket=0, reads_stdin_only=True)], channel="stdout", got=b""),
        "sleeps in a read() of its stdin",
        id="deaf-while-reading-stdin",
    ),
    pytest.param(
        dict(
            program=Seen("./chat", stdin_open=True, typed=b"one\ntwo\nthree\n"),
            programs=[Seen("./chat", stdin_open=True, typed=b"one\ntwo\nthree\n")],
            channel="socket",
            expected=b"one\ntwo\nthree\n",
            got=b"one\n",
        ),
        "stdio's buffer",
        id="stdio-hides-lines",
    ),
    pytest.param(
        dict(program=Seen("./srv", stdout=b"Got connection from x\n", stdout_total=22, unread_socket=0), channel="stdout", expected=b"half a line", got=b""),
        "not only whole lines",
        id="partial-line",
    ),
    pytest.param(dict(program=Seen("./srv", unread_socket=0), channel="stdout", expected=b"Got connection from x\n", got=b""), "fflush", id="not-flushed"),
    pytest.param(dict(programs=[Seen("./srv", status=Status("signal", signal.SIGPIPE))]), "MSG_NOSIGNAL", id="sigpipe"),
    pytest.param(dict(programs=[Seen("./srv", status=Status("signal", signal.SIGFPE))], request=b"CALC:-9223372036854775808/-1"), "INT64_MIN / -1", id="sigfpe-int64-min"),
    pytest.param(dict(programs=[Seen("./srv", status=Status("exit", 0), server=True)]), "by itself", id="server-ended"),
]


@pytest.mark.parametrize("fields, phrase", NAMED)
def test_a_diagnosis_names_the_cause_its_evidence_shows(fields, phrase):
    found = cause(**fields)
    assert found and phrase in found, found


UNNAMED = [
    pytest.param(dict(expected=b"Got connection from 127.0.0.1:47022\n", got=b"Got connection from 127.0.0.1:47023\n", channel="stdout"), id="another-port"),
    pytest.param(dict(expected=b"PONG:ab\n", got=b"PONG:a\n", channel="socket"), id="cut-not-at-nul"),
    pytest.param(dict(expected=b"ERROR:SYNTAX\n", got=b"CALC:8\n", channel="socket", request=b"CALC:+3+4"), id="reply-no-mistake-explains"),
    pytest.param(dict(expected=b"CALC:7\n", got=b"CALC:7\n", channel="socket", request=b"CALC:3+4"), id="right-reply"),
    pytest.param(dict(expected=b"PONG:hello\n", got=b"PONG:hello\n", channel="socket", sent=b"PING:hello\n", pieces=11), id="pieces-answered-right"),
    pytest.param(dict(expected=b"WHO:a,b\n", got=b"WHO:a\n", channel="socket"), id="who-missing-a-nick"),
    pytest.param(dict(expected=b"MSG:cy:back\n", got=b"MSG:bob:hello\n", channel="socket", receiver=b"ann"), id="someone-elses-message"),
    pytest.param(dict(programs=[Seen("./client", status=Status("exit", 0), stdout_total=131000)]), id="stopped-elsewhere"),
    pytest.param(dict(programs=[Seen("./srv", unread_socket=23)], channel="stdout", expected=b"hi\n", got=b""), id="unread-without-stdin"),
    pytest.param(dict(program=Seen("./srv", stdout_total=10, unread_socket=0), channel="stdout", expected=b"line\n", got=b""), id="printed-before"),
    pytest.param(dict(program=Seen("./srv", unread_socket=12), channel="stdout", expected=b"line\n", got=b""), id="not-flushed-but-unread"),
    pytest.param(dict(programs=[Seen("./srv", status=Status("signal", signal.SIGTERM), signals_sent=frozenset({signal.SIGTERM}), asked_to_end=True)]), id="stopped-by-the-grader"),
    pytest.param(dict(programs=[Seen("./client", status=Status("exit", 0))]), id="client-ended"),
    # the stdin-only wait: not when no output was due (an exit), nor with a thread elsewhere, nor with typed bytes unread
    pytest.param(dict(programs=[Seen("./chat", stdin_open=True, unread_socket=0, reads_stdin_only=True)]), id="waits-for-stdin-no-output-due"),
    pytest.param(dict(programs=[Seen("./chat", stdout_total=5, stdin_open=True, unread_socket=0, reads_stdin_only=False)], channel="stdout", got=b""), id="a-thread-elsewhere"),
    pytest.param(dict(programs=[Seen("./chat", stdout_total=5, stdin_open=True, unread_input=4, unread_socket=0, reads_stdin_only=True)], channel="stdout", got=b""), id="typed-bytes-unread"),
]


@pytest.mark.parametrize("fields", UNNAMED)
def test_no_diagnosis_names_a_cause_the_evidence_does_not_show(fields):
    assert cause(**fields) is None


def test_the_checks_hint_is_the_fallback_only_where_its_condition_holds():
    hints = [("inner hint", None), ("outer hint", lambda e: e.got_line(b"ERROR:NICKTAKEN"))]
    fits = evidence(expected=b"OK:Ann\n", got=b"ERROR:NICKTAKEN\n", channel="socket")
    assert diagnoses.likely_cause(fits, hints) == "outer hint"
    other = evidence(expected=b"OK:Ann\n", got=b"ERROR:BADNICK\n", channel="socket")
    assert diagnoses.likely_cause(other, hints) == "inner hint"
    assert diagnoses.likely_cause(other, hints[1:]) is None  # no hint beats a wrong one


def test_a_diagnosis_comes_before_the_checks_hint():
    swapped = evidence(expected=b"Got connection from 127.0.0.1:47022\n", got=b"Got connection from 127.0.0.1:44727\n", channel="stdout")
    assert "ntohs" in diagnoses.likely_cause(swapped, [("stdout holds only the log lines", None)])


def test_a_general_observation_comes_after_the_checks_hint():
    ended = evidence(programs=[Seen("./srv", status=Status("exit", 1), server=True)])
    assert diagnoses.likely_cause(ended, [("a client that vanished must not stop your server", lambda e: e.ended)]).startswith("a client that vanished")
    assert "by itself" in diagnoses.likely_cause(ended, [("fits no ended server", lambda e: not e.ended)])


# The unit checks of 05 read the cause from a failed case's message first
UNIT_CASES = [
    pytest.param(
        "toolong",
        "512 bytes with no \\n: LINE_TOO_LONG at once, then the next line",
        ["           read_line call 2", '           expected:  a line "next"', '           returned:  14, line "the rest of it"'],
        "drop the bytes up to and including the next",
        id="no-resync",
    ),
    pytest.param(
        "toolong",
        "512 bytes with no \\n: LINE_TOO_LONG at once, then the next line",
        ["           read_line called recv() again when it should have returned: 512 bytes were held with no '\\n': LINE_TOO_LONG was due at once"],
        "at once",
        id="toolong-at-newline",
    ),
    pytest.param(
        "lines",
        "a sample stream cut in two at every position",
        ["           read_line call 2", '           expected:  a line "world"', "           returned:  -1 (LINE_EOF)"],
        "keep the bytes after each",
        id="lines-lost",
    ),
    pytest.param("end", "EINTR is retried", ["           read_line call 1", '           expected:  a line "abc"', "           returned:  -2 (LINE_ERROR)"], "EINTR", id="eintr"),
]


@pytest.mark.parametrize("group, name, message, phrase", UNIT_CASES)
def test_a_unit_cases_message_names_its_cause_before_its_name(group, name, message, phrase):
    from grader.checks import s05_framing

    assert phrase in s05_framing.case_cause(group, [(name, False, message)])
