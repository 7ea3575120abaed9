"""The one ordered list of socklab's steps.

Everything else derives from this list: the folders the grader looks for, the
binaries it runs, the points, the timeouts, the check module of each step, the
hints, the kit's own tests and the student handout. To add a step, add one entry
here, a folder under steps/ and solutions/, and a module under grader/checks/.
"""

from dataclasses import dataclass
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Step:
    number: int
    slug: str
    title: str
    binaries: tuple  # the executables `make` must leave in the step folder
    usage: str  # the command line, as SPEC writes it
    points: int  # the step's total; its checks share it by weight
    timeout: float = 5.0  # default deadline of one wait (reply, exit, ...), seconds
    budget: float = 60.0  # wall-clock limit of one check, seconds

    @property
    def folder(self):
        return f"{self.number:02d}-{self.slug}"

    @property
    def module(self):
        """The check module: grader/checks/sNN_slug.py."""
        return f"grader.checks.s{self.number:02d}_{self.slug.replace('-', '_')}"

    @property
    def binary(self):
        return self.binaries[0]

    def hints(self, root=KIT):
        """The hint files of this step, in the order they are revealed."""
        folder = Path(root) / "steps" / self.folder / "hints"
        return sorted(folder.glob("*.md"), key=lambda p: (len(p.stem), p.stem))


STEPS = (
    Step(1, "client", "a client that connects and reads a greeting", ("client",), "client HOST PORT", points=10),
    Step(2, "server", "a server that accepts and greets", ("server",), "server PORT", points=10),
    Step(3, "chat-client", "a chat client that listens to the keyboard and the server at once", ("chat-client",), "chat-client HOST PORT", points=10),
    Step(4, "chat-server", "a chat server that talks with one client at a time", ("chat-server",), "chat-server PORT", points=10),
    Step(5, "framing", "a bounded line reader (frame.c) and a line echo server", ("line-echo",), "line-echo PORT", points=10),
    Step(6, "calc-server", "a server for the WP/1 protocol (CALC, PING, QUIT)", ("calc-server",), "calc-server PORT", points=10),
    Step(7, "calc-client", "a WP/1 client: a calculator at the terminal", ("calc",), "calc HOST PORT", points=10),
    Step(8, "multi-server", "a server for many clients at once: one process, poll()", ("multi-server",), "multi-server PORT", points=10, timeout=5.0, budget=90.0),
    Step(9, "chat-room", "a tiny IRC: a chat room for many clients at once (NICK, MSG, WHO)", ("chat-room",), "chat-room PORT", points=10, timeout=5.0, budget=90.0),
)


def find(key):
    """The step named by a number (2, "2", "02") or a folder name ("02-server")."""
    text = str(key).strip()
    for step in STEPS:
        if text in (step.folder, step.slug) or (text.isdigit() and int(text) == step.number):
            return step
    names = ", ".join(s.folder for s in STEPS)
    raise LookupError(f"no step {text!r}; the steps are: {names}")


def markdown_table():
    """The README's table of steps (a test keeps the README in step with it)."""
    rows = ["| step | you write | run it as | points |", "|---|---|---|---|"]
    for step in STEPS:
        rows.append(f"| `{step.folder}` | {step.title} | `{step.usage}` | {step.points} |")
    return "\n".join(rows)
