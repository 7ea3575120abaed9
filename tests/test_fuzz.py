"""The fuzz targets of tests/fuzz/, built with a plain main (replay.c) and ASan
+ UBSan: the seeds, the regressions and fixed pseudo-random inputs replayed
through each; the read_line target catches the known read_line bugs, and the
chat_room target the known bugs of the chat room's table."""

import re
import subprocess

import pytest

from conftest import KIT, PROGRAMS

FUZZ = KIT / "tests" / "fuzz"
OUT = KIT / "build" / "fuzz-replay"
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.c"))
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
CFLAGS = ["-std=c17", "-Wall", "-Wextra", "-Werror", "-g", "-O1", "-U_FORTIFY_SOURCE", *SANITIZE]
# room.c (step 09) includes calc.h and frame.h of the steps before it.
INCLUDES = [f"-I{KIT / 'solutions' / step}" for step in ("05-framing", "06-calc-server", "09-chat-room")]
# The known-bug frame.c files whose read_line() gives wrong results: the
# target must catch each (the others are bugs of line-echo.c, or of memory use).
READ_LINE_BUGS = [
    "05-framing-eintr-not-retried",
    "05-framing-eof-returns-tail",
    "05-framing-keeps-cr",
    "05-framing-no-resync",
    "05-framing-one-line-per-recv",
    "05-framing-recv-unbounded",
    "05-framing-strips-every-cr",
    "05-framing-toolong-at-newline",
]
# The known-bug 09-chat-room programs whose bug is in the room itself (what
# chat_frame() and chat_leave() send): each program is one file, and its room
# section, made a room.c, must be caught by the chat_room target. (The others
# are bugs of the loop around the room: queues, closing, reading.)
CHAT_ROOM_BUGS = [
    "09-chat-room-badnick-before-havenick",
    "09-chat-room-leave-unsorts-table",
    "09-chat-room-msg-cut-at-nul",
    "09-chat-room-msg-echoed-to-sender",
    "09-chat-room-msg-line-too-small",
    "09-chat-room-msg-without-nick",
    "09-chat-room-nick-16-rejected",
    "09-chat-room-nick-case-insensitive",
    "09-chat-room-nick-never-freed",
    "09-chat-room-no-join",
    "09-chat-room-who-needs-nick",
    "09-chat-room-who-unsorted",
]


def build(name, output, *defines):
    output.parent.mkdir(parents=True, exist_ok=True)
    command = ["cc", *CFLAGS, *INCLUDES, *defines, "-o", str(output), str(FUZZ / f"fuzz_{name}.c"), str(FUZZ / "replay.c")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{' '.join(command)}\n{run.stdout}{run.stderr}"
    return output


def replay(binary, name):
    inputs = [FUZZ / "corpus" / name, FUZZ / "regressions" / name]
    command = [str(binary), *(str(p) for p in inputs if p.is_dir()), "--random", "20000", "1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", TARGETS)
def test_target_replays_its_corpus_without_a_crash(name):
    binary = build(name, OUT / f"replay_{name}")
    seeds = list((FUZZ / "corpus" / name).iterdir())
    assert len(seeds) >= 5, f"tests/fuzz/corpus/{name} needs seeds"
    assert all(s.stat().st_size <= 4096 for s in seeds), "seeds stay small"
    run = replay(binary, name)
    assert run.returncode == 0, f"{name}:\n{run.stdout}{run.stderr[-6000:]}"
    regressions = [p for p in (FUZZ / "regressions" / name).iterdir() if not p.name.startswith(".")]
    assert f"replayed {len(seeds) + len(regressions) + 20000} inputs" in run.stdout, run.stdout


@pytest.mark.parametrize("bug", READ_LINE_BUGS)
def test_read_line_target_catches_a_known_bug(bug):
    frame = PROGRAMS / "bugs" / bug / "frame.c"
    binary = build("read_line", OUT / f"replay_read_line_{bug}", f'-DFRAME_C="{frame}"')
    run = replay(binary, "read_line")
    assert run.returncode != 0, f"the read_line target did not catch {bug}:\n{run.stdout}"
    assert "invariant broken" in run.stderr or "ERROR: AddressSanitizer" in run.stderr, run.stderr[-3000:]


def room_c_of(program, output):
    """The room section of a one-file chat-room program (from `=== The room ===`
    to `=== Clients ===`) as a room.c: its includes and sizes first, and
    chat_send(), chat_frame(), chat_leave(), room_free() made extern, as room.h has them."""
    text = program.read_text()
    start, end = text.index("/* === The room === */"), text.index("/* === Clients === */")
    head = re.findall(r"^(?:#include <.*>|#define (?:FRAME_MAX|KEYWORD_MAX|NICK_MAX)\b.*)$", text, re.M)
    room = re.sub(r"^static (\w+ (?:chat_send|chat_frame|chat_leave|room_free)\()", r"\1", text[start:end], flags=re.M)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(head) + "\n\n" + room)
    return output


@pytest.mark.parametrize("bug", CHAT_ROOM_BUGS)
def test_chat_room_target_catches_a_known_bug(bug):
    room = room_c_of(PROGRAMS / "bugs" / f"{bug}.c", OUT / f"room_{bug}.c")
    binary = build("chat_room", OUT / f"replay_chat_room_{bug}", f'-DROOM_C="{room}"')
    run = replay(binary, "chat_room")
    assert run.returncode != 0, f"the chat_room target did not catch {bug}:\n{run.stdout}"
    caught = ("invariant broken", "ERROR: AddressSanitizer", "runtime error")
    assert any(word in run.stderr for word in caught), run.stderr[-3000:]


def test_chat_room_target_passes_the_room_of_a_program_whose_bug_is_elsewhere():
    """The control: the room section taken out of a known-bug program is a room.c that works."""
    room = room_c_of(PROGRAMS / "bugs" / "09-chat-room-shutdown-not-close.c", OUT / "room_control.c")
    run = replay(build("chat_room", OUT / "replay_chat_room_control", f'-DROOM_C="{room}"'), "chat_room")
    assert run.returncode == 0, f"{run.stdout}{run.stderr[-3000:]}"


def test_every_target_has_a_seed_corpus_and_a_regressions_folder():
    for name in TARGETS:
        assert (FUZZ / "corpus" / name).is_dir(), name
        assert (FUZZ / "regressions" / name).is_dir(), name
