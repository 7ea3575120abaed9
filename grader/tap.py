"""A wiretap between a client and a server: `make tap LISTEN=PORT TARGET=HOST:PORT`.

It accepts connections on LISTEN, connects each one to TARGET, relays the bytes
both ways, and prints every chunk as it passes, one line each:

    12:01:03.120 #1 client→server 9 bytes "CALC:3+4\\n"
    12:01:03.121 #1 server→client 7 bytes "CALC:7\\n"
    12:01:03.305 #1 client→server end (FIN): passed on as a half-close
    12:01:03.306 #1 server→client end (FIN): passed on as a half-close
    12:01:03.306 #1 closed (9 bytes up, 7 bytes down)

A half-close (FIN) is passed on as a half-close (shutdown SHUT_WR), a reset as
a reset (SO_LINGER 0), and any number of connections are relayed at once, in
one thread, by one selector loop.
"""

import errno
import os
import selectors
import socket
import struct
import sys
import time

from .text import show

CHUNK = 65536
ARROW = {"up": "client→server", "down": "server→client"}


def stamp():
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"


class Relay:
    """One relayed connection: the client's socket and ours to the target."""

    def __init__(self, tap, number, client, server):
        self.tap, self.number = tap, number
        self.sock = {"up": client, "down": server}  # the socket each direction reads from
        self.pending = {"up": b"", "down": b""}  # read, not yet written to the other side
        self.ended = {"up": False, "down": False}  # FIN read in that direction
        self.count = {"up": 0, "down": 0}
        self.closed = False

    def say(self, text):
        self.tap.say(f"#{self.number} {text}")

    @staticmethod
    def other(way):
        return "down" if way == "up" else "up"

    def interest(self):
        """Register what each socket waits for: read unless the other side's
        buffer is full (backpressure), write while something is pending."""
        for way, sock in self.sock.items():
            events = 0
            if not self.ended[way] and not self.pending[way]:
                events |= selectors.EVENT_READ
            if self.pending[self.other(way)]:
                events |= selectors.EVENT_WRITE
            key = self.tap.selector.get_map().get(sock)
            if events and key is None:
                self.tap.selector.register(sock, events, (self, way))
            elif events and key.events != events:
                self.tap.selector.modify(sock, events, (self, way))
            elif not events and key is not None:
                self.tap.selector.unregister(sock)

    def on_event(self, way, events):
        if self.closed:
            return
        if events & selectors.EVENT_READ:
            self.read(way)
        if not self.closed and events & selectors.EVENT_WRITE:
            self.write(self.other(way))
        if not self.closed:
            self.interest()

    def read(self, way):
        try:
            data = self.sock[way].recv(CHUNK)
        except BlockingIOError:
            return
        except OSError as e:
            return self.reset(way, e)
        if not data:
            self.ended[way] = True
            self.say(f"{ARROW[way]} end (FIN): passed on as a half-close")
            if not self.pending[way]:
                self.half_close(way)
            return
        self.count[way] += len(data)
        self.say(f"{ARROW[way]} {len(data)} bytes {show(data)}")
        self.pending[way] += data
        self.write(way)

    def write(self, way):
        """Send what direction `way` has pending to its destination."""
        target = self.sock[self.other(way)]
        try:
            sent = target.send(self.pending[way])
        except BlockingIOError:
            return
        except OSError as e:
            return self.reset(self.other(way), e)
        self.pending[way] = self.pending[way][sent:]
        if not self.pending[way] and self.ended[way]:
            self.half_close(way)

    def half_close(self, way):
        try:
            self.sock[self.other(way)].shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if all(self.ended.values()) and not any(self.pending.values()):
            self.close()

    def reset(self, way, error):
        """The side `way` reads from failed (reset): reset the other side too."""
        side = "client" if way == "up" else "server"
        reason = error.strerror or str(error)
        self.say(f"{side} reset the connection ({reason}): passed on as a reset")
        linger = struct.pack("ii", 1, 0)
        try:
            self.sock[self.other(way)].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for sock in self.sock.values():
            if sock in self.tap.selector.get_map():
                self.tap.selector.unregister(sock)
            sock.close()
        self.say(f"closed ({self.count['up']} bytes up, {self.count['down']} bytes down)")
        self.tap.relays.discard(self)


class Tap:
    def __init__(self, listen_port, target, out=sys.stdout, host="0.0.0.0"):
        self.target = target
        try:  # resolved once: the loop never blocks on a name lookup
            self.address = socket.getaddrinfo(target[0], target[1], type=socket.SOCK_STREAM)[0]
        except socket.gaierror as e:
            raise ValueError(f"TARGET {target[0]}: {e.strerror}")
        self.out = out
        self.selector = selectors.DefaultSelector()
        self.listener = socket.create_server((host, listen_port), reuse_port=False)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.relays = set()
        self.numbers = 0

    def say(self, text):
        print(f"{stamp()} {text}", file=self.out, flush=True)

    def accept(self):
        try:
            client, peer = self.listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        self.numbers += 1
        number = self.numbers
        family, kind, proto, _, address = self.address
        server = socket.socket(family, kind, proto)
        for sock in (client, server):
            sock.setblocking(False)  # connect too: a slow target delays no other connection
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # chunks pass as they come
        relay = Relay(self, number, client, server)
        relay.peer = peer
        error = server.connect_ex(address)
        if error not in (0, errno.EINPROGRESS):
            return self.connected(relay, error)
        self.selector.register(server, selectors.EVENT_WRITE, (relay, "connect"))

    def connected(self, relay, error=None):
        """The connection to the target is made (or failed): start relaying."""
        server, client = relay.sock["down"], relay.sock["up"]
        if server in self.selector.get_map():
            self.selector.unregister(server)
        if error is None:
            error = server.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        host, port = self.target
        where = f"#{relay.number} {relay.peer[0]}:{relay.peer[1]}"
        if error:
            self.say(f"{where}: cannot connect to {host}:{port} ({os.strerror(error)}); the client is reset")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            server.close()
            return
        self.say(f"{where} connected; relayed to {host}:{port}")
        self.relays.add(relay)
        relay.interest()

    def serve(self):
        while True:
            for key, events in self.selector.select():
                if key.data is None:
                    self.accept()
                else:
                    relay, way = key.data
                    if way == "connect":
                        self.connected(relay)
                    else:
                        relay.on_event(way, events)

    def close(self):
        for relay in list(self.relays):
            relay.close()
        self.listener.close()
        self.selector.close()


def main(listen, target):
    """`python3 -m grader tap --listen PORT --target HOST:PORT`."""
    from .remote import parse

    if not str(listen).isdigit() or not 1 <= int(listen) <= 65535:
        sys.exit(f"tap: LISTEN must be a port number, not {listen!r}")
    try:
        target = parse(target)
        tap = Tap(int(listen), target)
    except ValueError as e:
        sys.exit(f"tap: {str(e).replace('REMOTE', 'TARGET')}")
    except OSError as e:
        sys.exit(f"tap: cannot listen on port {listen}: {e.strerror or e}" + ("" if e.errno != errno.EADDRINUSE else " (is a tap or a server already running there?)"))
    tap.say(f"tap: listening on port {listen}, relaying to {target[0]}:{target[1]}: point your client at port {listen} (Ctrl-C stops)")
    try:
        tap.serve()
    except KeyboardInterrupt:
        tap.say("tap: stopped")
    finally:
        tap.close()
    return 0
