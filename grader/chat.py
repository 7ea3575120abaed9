"""The chat room of step 09 (SPEC §2, "09-chat-room"), as a model the checks trust.

    NICK:<name>   OK:<name> to the sender, JOIN:<name> to every other client with a nick;
                  ERROR:HAVENICK, ERROR:BADNICK, ERROR:NICKTAKEN, checked in that order
    MSG:<text>    MSG:<name>:<text> to every other client with a nick; ERROR:NONICK before NICK
    WHO:<any>     WHO:<n1>,<n2>,... every nick, sorted bytewise
    QUIT:<any>    BYE: to the sender, LEAVE:<name> to the others (a close or a reset: LEAVE too)
    the rest      WP/1's replies (PING, SYNTAX, UNKNOWN); CALC is not part of the chat: UNKNOWN

Room.frame(who, line) answers one frame of one client, Room.leave(who) its
departure; each gives the lines (without "\\n") the room sends, to whom. Like
wp1.py, the model knows no socket: the checks (grader/checks/random_sessions.py)
and `make peer STEP=09` (grader/peer.py) drive it.
"""

import re

from . import wp1

NICK = re.compile(rb"[A-Za-z0-9_-]{1,16}")
BROADCASTS = (b"JOIN", b"MSG", b"LEAVE")


def nick_reply(has_nick, name, taken):
    """The reply to NICK:<name>: its error, in SPEC's order, or OK:<name>."""
    if has_nick:
        return b"ERROR:HAVENICK"
    if not NICK.fullmatch(name):
        return b"ERROR:BADNICK"
    if taken:
        return b"ERROR:NICKTAKEN"
    return b"OK:" + name


def about(line):
    """Whose news a broadcast line is (the nick it names), or None for a reply
    to the receiver's own request: JOIN:<n>, LEAVE:<n> and MSG:<n>:<text>
    are news of n. The room keeps each sender's news in order per receiver,
    nothing more: the checks compare line by line within each of these."""
    keyword, colon, rest = line.partition(b":")
    if not colon or keyword not in BROADCASTS:
        return None
    return rest.partition(b":")[0] if keyword == b"MSG" else rest


class Room:
    """Who holds which nick, and what each frame makes the room send."""

    def __init__(self):
        self.nicks = {}  # client -> its nick, for the clients that have one

    def copy(self):
        room = Room()
        room.nicks = dict(self.nicks)
        return room

    def names(self):
        return sorted(self.nicks.values())

    def others(self, who, line):
        return [(client, line) for client in self.nicks if client != who]

    def frame(self, who, line):
        """[(receiver, line)] for one frame's line (without its "\\n"; a "\\r"
        just before it belongs to the ending) sent by client who."""
        parts = wp1.split(line)
        if parts is None:
            return [(who, b"ERROR:SYNTAX")]
        keyword, argument = parts
        if keyword == b"NICK":
            reply = nick_reply(who in self.nicks, argument, argument in self.nicks.values())
            if not reply.startswith(b"OK:"):
                return [(who, reply)]
            self.nicks[who] = argument
            return [(who, reply)] + self.others(who, b"JOIN:" + argument)
        if keyword == b"MSG":
            if who not in self.nicks:
                return [(who, b"ERROR:NONICK")]
            return self.others(who, b"MSG:" + self.nicks[who] + b":" + argument)
        if keyword == b"WHO":
            return [(who, b"WHO:" + b",".join(self.names()))]
        if keyword == b"QUIT":
            return [(who, b"BYE:")] + self.leave(who)
        if keyword == b"PING":
            return [(who, b"PONG:" + argument)]
        return [(who, b"ERROR:UNKNOWN")]  # CALC too: not part of the chat

    def toolong(self, who):
        return [(who, b"ERROR:TOOLONG")]

    def leave(self, who):
        """who has gone (QUIT, a close, a reset, a drop): LEAVE to the others; its nick is free again."""
        nick = self.nicks.pop(who, None)
        return [] if nick is None else self.others(who, b"LEAVE:" + nick)
