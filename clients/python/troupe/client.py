"""Blocking and asyncio clients for a Troupe node (docs/PYTHON.md)."""

import asyncio
import itertools
import os
import queue
import socket
import threading
import time

import zmq

from . import wire
from .wire import TroupeError

_names = itertools.count(1)


def _endpoint_from_app(path, node):
    import tomllib
    with open(path, "rb") as f:
        app = tomllib.load(f)
    nodes = app.get("nodes", {})
    candidates = [node] if node else sorted(nodes)
    for n in candidates:
        listen = (nodes.get(n) or {}).get("listen")
        if isinstance(listen, str) and listen.startswith(("tcp://", "ipc://")):
            if listen.endswith(":*") or listen.endswith(":0"):
                raise ValueError("%s: node %r listens on a random port; give the endpoint" %
                                 (path, n))
            return listen, n
    raise ValueError("%s: no node%s with a tcp:// or ipc:// `listen` endpoint" %
                     (path, (" %r" % node) if node else ""))


def read_curve_key(path):
    """Reads a key file written by `troupe keys FILE`; returns (public, secret) as Z85 bytes.
    Refuses a file that other users can read, as the nodes do."""
    import stat
    import tomllib
    st = os.stat(path)
    if st.st_mode & 0o077:
        raise ValueError("curve key file %s: mode %04o lets other users read the secret "
                         "(chmod 600)" % (path, stat.S_IMODE(st.st_mode)))
    with open(path, "rb") as f:
        keys = tomllib.load(f)
    return keys["public"].encode(), keys["secret"].encode()


def _curve_key_from_app(path):
    import tomllib
    with open(path, "rb") as f:
        return tomllib.load(f).get("bridges", {}).get("curve_key")


def connect(target, node=None, name=None, timeout=5.0, heartbeat_ms=250, curve_key=None):
    """Connect to a node. `target`: an endpoint (tcp://..., ipc://...) or a TOML app file (the
    first node with a tcp/ipc `listen`, or `node`). `curve_key`: the app's key file (from
    `troupe keys`); taken from the app file's `[bridges] curve_key` when `target` is one.
    Returns a connected Client."""
    if "://" in target:
        endpoint = target
    else:
        endpoint, node = _endpoint_from_app(target, node)
        curve_key = curve_key or _curve_key_from_app(target)
    c = Client(endpoint, expect_node=node, name=name, heartbeat_ms=heartbeat_ms,
               curve_key=curve_key)
    try:
        c.wait_connected(timeout)
    except BaseException:
        c.close()
        raise
    return c


class _Pending:
    __slots__ = ("event", "result", "loop", "future", "on_done")

    def __init__(self):
        self.event = threading.Event()
        self.result = None
        self.on_done = None  # called on the I/O thread with the result (re-arming lookups)


class _Watch:
    """A monitor by name that is re-armed on the name's next actor (monitor(..., rearm=True))."""
    __slots__ = ("name", "callback", "aid", "looking", "next_try", "ended")

    def __init__(self, name, callback):
        self.name, self.callback = name, callback
        self.aid = None  # the actor id watched now; None while the name is being looked up
        self.looking = False
        self.next_try = 0.0
        self.ended = None  # the id that went down last: a name still bound to it is not re-armed


class Client:
    """One session with one node; an I/O thread owns the socket, handles heartbeats, goodbye and
    reconnection (a fresh socket and a new hello when the node goes silent or restarts)."""

    def __init__(self, endpoint, expect_node=None, name=None, heartbeat_ms=250, curve_key=None):
        self.endpoint = endpoint
        # CURVE: every node of the app holds one key pair, and so does a client that may talk
        # to them (the nodes refuse any other client key).
        self._curve = read_curve_key(curve_key) if curve_key else None
        self.expect_node = expect_node
        self.name = name or "py-%s-%d-%d" % (socket.gethostname(), os.getpid(), next(_names))
        self.heartbeat_ms = heartbeat_ms
        self.me = 1  # the client's one actor id
        self.host = os.urandom(19) + b"\x01"
        self.peer = None  # (node_name, pid, host) of the current session
        self.sessions = 0  # number of handshakes completed
        self.heartbeat_timeout = None  # seconds; the node's, from hello_ack
        self.rejected = None  # reason of the last hello_reject
        self._ctx = zmq.Context.instance()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending = {}  # request id -> _Pending
        self._lookups = {}  # correlation id -> _Pending
        self._monitors = {}  # actor id -> [(name, callback)]
        self._watches = []  # _Watch: monitors re-armed after a down or a reconnect
        self._connected = threading.Event()
        self._closing = False
        self._out = queue.Queue()
        wake = "inproc://troupe-wake-%d-%d" % (id(self), os.getpid())
        self._wake_r = self._ctx.socket(zmq.PAIR)
        self._wake_r.bind(wake)
        self._wake_w = self._ctx.socket(zmq.PAIR)
        self._wake_w.connect(wake)
        self._thread = threading.Thread(target=self._run, name="troupe-io", daemon=True)
        self._thread.start()

    # -- public API --
    def wait_connected(self, timeout=5.0):
        if not self._connected.wait(timeout):
            why = (": rejected: %s" % self.rejected) if self.rejected else ""
            raise TroupeError("troupe", 7, ["no hello_ack from %s within %gs%s" %
                                            (self.endpoint, timeout, why)])

    def lookup(self, name, timeout=5.0):
        """Registered name -> actor id (int), or None if not registered."""
        p = _Pending()
        cid = next(self._ids)
        with self._lock:
            self._lookups[cid] = p
        self._send(wire.frame(wire.LOOKUP, 0, 0, cid, name))
        if not p.event.wait(timeout):
            with self._lock:
                self._lookups.pop(cid, None)
            raise TroupeError("troupe", 2, ["lookup %r timed out" % name])
        if isinstance(p.result, TroupeError):
            raise p.result
        return p.result or None

    def call(self, target, *args, timeout=10.0):
        """Request to `target` (a registered name, an actor id or an ActorRef); returns the
        single result value, a tuple for several, None for none; raises TroupeError."""
        rid, p = self._request(target, args)
        if not p.event.wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            raise TroupeError("troupe", 2, ["call to %r timed out after %gs" % (target, timeout)])
        return _result(p.result)

    def send(self, target, *args):
        """Asynchronous message (no reply)."""
        self._send(wire.frame(wire.MESSAGE, self.me, _receiver(target), wire.NORMAL,
                              wire.encode_payload(args)))

    def monitor(self, name, callback, timeout=5.0, rearm=False):
        """callback(name, TroupeError or None) once when the actor named `name` terminates or
        the session is lost. With rearm=True the monitor stays: the client looks the name up
        again (at once after a reconnect, then every second until it resolves) and watches the
        next actor registered under it, so the callback runs at every such end. Returns the
        actor id watched first."""
        aid = self.lookup(name, timeout)
        if aid is None:
            raise TroupeError("troupe", 4, ["no actor named %r" % name])
        with self._lock:
            if rearm:
                w = _Watch(name, callback)
                w.aid = aid
                self._watches.append(w)
                self._monitors.setdefault(aid, []).append((name, callback, w))
            else:
                self._monitors.setdefault(aid, []).append((name, callback, None))
        self._send(wire.frame(wire.MONITOR, 0, aid, 0, None))
        return aid

    def monitored(self):
        """{name: actor id} of the re-armed monitors (rearm=True) that watch an actor now."""
        with self._lock:
            return {w.name: w.aid for w in self._watches if w.aid is not None}

    def close(self):
        if self._closing:
            return
        self._closing = True
        with self._lock:
            self._watches = []
        self._wake()
        self._thread.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals --
    def _request(self, target, args):
        p = _Pending()
        rid = next(self._ids)
        with self._lock:
            self._pending[rid] = p
        self._send(wire.frame(wire.MESSAGE, self.me, _receiver(target), wire.NORMAL | rid,
                              wire.encode_payload(args)))
        return rid, p

    def _send(self, data):
        self._out.put(data)
        self._wake()

    def _wake(self):
        with self._lock:
            self._wake_w.send(b"", zmq.NOBLOCK)

    def _complete(self, table, key, result):
        with self._lock:
            p = table.pop(key, None)
        if p is not None:
            p.result = result
            p.event.set()
            if p.on_done is not None:
                p.on_done(result)
            if getattr(p, "future", None) is not None:
                p.loop.call_soon_threadsafe(_settle, p.future, result)

    def _new_socket(self):
        s = self._ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        if self._curve:
            public, secret = self._curve
            s.setsockopt(zmq.CURVE_SERVERKEY, public)
            s.setsockopt(zmq.CURVE_PUBLICKEY, public)
            s.setsockopt(zmq.CURVE_SECRETKEY, secret)
        s.connect(self.endpoint)
        return s

    def _lose_session(self, why):
        """Session gone: fail everything outstanding with troupe/peer_lost."""
        self._connected.clear()
        err = TroupeError("troupe", 7, [why])
        with self._lock:
            pend, self._pending = self._pending, {}
            looks, self._lookups = self._lookups, {}
            mons, self._monitors = self._monitors, {}
            for w in self._watches:  # watch the name again once a session is up (a restarted
                w.aid, w.ended, w.looking, w.next_try = None, None, False, 0.0  # node reuses ids)
        for table in (pend, looks):
            for p in table.values():
                p.result = err
                p.event.set()
                if getattr(p, "future", None) is not None:
                    p.loop.call_soon_threadsafe(_settle, p.future, err)
        for watchers in mons.values():
            for name, cb, _ in watchers:
                _safe(cb, name, err)

    def _hello(self, sock):
        sock.send(wire.frame(wire.HELLO, 0, 0, 0, [self.name, os.getpid() & 0xFFFFFFFF,
                                                   self.host, self.heartbeat_ms, []]))

    def _run(self):
        hb = self.heartbeat_ms / 1000.0
        sock = self._new_socket()
        self._hello(sock)
        poller = zmq.Poller()
        poller.register(self._wake_r, zmq.POLLIN)
        poller.register(sock, zmq.POLLIN)
        last_rx = time.monotonic()
        last_tx = last_hello = time.monotonic()
        timeout = 1.5  # replaced by the peer's heartbeat interval x 6 after hello_ack
        while not self._closing:
            events = dict(poller.poll(int(hb * 1000 / 2)))
            now = time.monotonic()
            if self._wake_r in events:
                while True:
                    try:
                        self._wake_r.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
            if sock in events:
                while True:
                    try:
                        data = sock.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    last_rx = now
                    try:
                        f = wire.unframe(data)
                    except Exception:
                        continue
                    reply = self._on_frame(f)
                    if reply is not None:
                        sock.send(reply)
            if self._connected.is_set():
                while True:
                    try:
                        data = self._out.get_nowait()
                    except queue.Empty:
                        break
                    sock.send(data)
                    last_tx = now
                if now - last_tx >= hb:
                    sock.send(wire.frame(wire.HEARTBEAT, 0, 0, 0, None))
                    last_tx = now
                self._rearm(now)
                timeout = self._peer_timeout or timeout
                if now - last_rx > timeout:
                    # the node went silent (killed, restarted, dropped us): new socket, new hello
                    self._lose_session("no frame from %s for %.1fs" % (self.endpoint, timeout))
                    poller.unregister(sock)
                    sock.close(0)
                    sock = self._new_socket()
                    poller.register(sock, zmq.POLLIN)
                    self._hello(sock)
                    last_hello = last_rx = now
            else:
                if self._peer_timeout is not None:
                    timeout = self._peer_timeout
                if now - last_hello >= hb:
                    if now - last_rx > 2 * timeout:  # a fresh socket every now and then
                        poller.unregister(sock)
                        sock.close(0)
                        sock = self._new_socket()
                        poller.register(sock, zmq.POLLIN)
                        last_rx = now
                    self._hello(sock)
                    last_hello = now
        if self._connected.is_set():
            sock.send(wire.frame(wire.GOODBYE, 0, 0, 0, None))
            end = time.monotonic() + 0.25
            while time.monotonic() < end:
                if sock.poll(50):
                    try:
                        f = wire.unframe(sock.recv())
                    except Exception:
                        continue
                    if f[1] == wire.GOODBYE:
                        break
        self._lose_session("client closed")
        sock.close(0)
        self._wake_r.close(0)
        self._wake_w.close(0)

    _peer_timeout = None

    def _rearm(self, now):
        """On the I/O thread: look up the names of re-armed monitors that watch nothing now and
        monitor what they resolve to (asynchronously: the replies arrive on this thread)."""
        with self._lock:
            due = [w for w in self._watches
                   if w.aid is None and not w.looking and now >= w.next_try]
            for w in due:
                w.looking = True
        for w in due:
            p = _Pending()
            cid = next(self._ids)

            def done(result, w=w):
                aid = result if isinstance(result, int) and result > 0 else None
                with self._lock:
                    w.looking = False
                    if w not in self._watches:
                        return
                    if aid is None or aid == w.ended:
                        w.next_try = time.monotonic() + 1.0  # not (yet) registered again
                        return
                    w.aid = aid
                    self._monitors.setdefault(aid, []).append((w.name, w.callback, w))
                self._send(wire.frame(wire.MONITOR, 0, aid, 0, None))
            p.on_done = done
            with self._lock:
                self._lookups[cid] = p
            self._send(wire.frame(wire.LOOKUP, 0, 0, cid, w.name))

    def _on_frame(self, f):
        kind = f[1]
        if kind == wire.HELLO_ACK:
            body = f[5]
            name, pid, host, hb_ms = body[0], body[1], body[2], body[3]
            if self.expect_node and name != self.expect_node:
                return None
            if len(body) > 5 and isinstance(body[5], int) and body[5] > 0:
                self._peer_timeout = body[5] / 1000.0  # optional heartbeat timeout field
            else:
                self._peer_timeout = max(1.5, 6 * hb_ms / 1000.0)
            self.heartbeat_timeout = self._peer_timeout
            if not self._connected.is_set():
                self.peer = (name, pid, host)
                self.sessions += 1
                self._connected.set()
            return None
        if kind == wire.HELLO_REJECT:
            self.rejected = f[5]  # the node's reason; wait_connected() raises it
            return None
        if not self._connected.is_set():
            return None
        if kind == wire.MESSAGE:
            mid = f[4]
            if mid & wire.RESPONSE:
                self._complete(self._pending, mid & wire.ID_MASK, f[5])
            return None
        if kind == wire.LOOKUP_REPLY:
            self._complete(self._lookups, f[4], f[5])
            return None
        if kind == wire.DOWN:
            with self._lock:
                watchers = self._monitors.pop(f[2], [])
            reason = None
            try:
                vals = wire.decode_payload(f[5])
                reason = vals[0] if vals else None
            except Exception:
                pass
            with self._lock:
                for _, _, w in watchers:
                    if w is not None:
                        w.aid, w.ended, w.next_try = None, f[2], 0.0  # look the name up again
            for name, cb, _ in watchers:
                _safe(cb, name, reason)
            return None
        if kind == wire.MONITOR:
            return None  # our actor lives as long as the session
        if kind == wire.GOODBYE:
            if f[4] == 0:
                self._connected.clear()
                self._lose_session("%s said goodbye" % self.endpoint)
                return wire.frame(wire.GOODBYE, 0, 0, 1, None)
            return None
        return None


def _receiver(target):
    if isinstance(target, wire.ActorRef):
        return target.aid
    if isinstance(target, (int, str)) and not isinstance(target, bool):
        return target
    raise TypeError("target must be a name, an actor id or an ActorRef, not %r" % (target,))


def _result(payload):
    if isinstance(payload, TroupeError):
        raise payload
    vals = wire.decode_payload(payload)
    for v in vals:
        if isinstance(v, TroupeError):
            raise v
    if not vals:
        return None
    return vals[0] if len(vals) == 1 else tuple(vals)


def _settle(fut, payload):
    if fut.done():
        return
    try:
        fut.set_result(_result(payload))
    except Exception as e:  # TroupeError or a decode error
        fut.set_exception(e)


def _safe(cb, *args):
    try:
        cb(*args)
    except Exception:
        pass


class AsyncClient:
    """asyncio front of a Client: `await c.call(...)`, `await c.lookup(...)`."""

    def __init__(self, client):
        self.client = client

    async def call(self, target, *args, timeout=10.0):
        loop = asyncio.get_running_loop()
        p = _Pending()
        p.loop, p.future = loop, loop.create_future()
        c = self.client
        rid = next(c._ids)
        with c._lock:
            c._pending[rid] = p
        c._send(wire.frame(wire.MESSAGE, c.me, _receiver(target), wire.NORMAL | rid,
                           wire.encode_payload(args)))
        try:
            return await asyncio.wait_for(p.future, timeout)
        except asyncio.TimeoutError:
            with c._lock:
                c._pending.pop(rid, None)
            raise TroupeError("troupe", 2, ["call to %r timed out after %gs" % (target, timeout)])

    async def lookup(self, name, timeout=5.0):
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.client.lookup(name, timeout))

    def send(self, target, *args):
        self.client.send(target, *args)

    def monitor(self, name, callback, timeout=5.0, rearm=False):
        return self.client.monitor(name, callback, timeout, rearm)

    def monitored(self):
        return self.client.monitored()

    async def close(self):
        await asyncio.get_running_loop().run_in_executor(None, self.client.close)


async def connect_async(target, node=None, name=None, timeout=5.0, heartbeat_ms=250,
                        curve_key=None):
    """asyncio version of connect()."""
    loop = asyncio.get_running_loop()
    c = await loop.run_in_executor(None, lambda: connect(target, node, name, timeout,
                                                         heartbeat_ms, curve_key))
    return AsyncClient(c)
