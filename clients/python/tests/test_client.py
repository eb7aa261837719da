#!/usr/bin/python3
"""Tests of the `troupe` package against the C++ hub test server.

usage: test_client.py PATH/TO/troupe_bridges_hub_server
"""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import troupe  # noqa: E402
from troupe import wire  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def raises(fn, category, code):
    try:
        fn()
    except troupe.TroupeError as e:
        return e.category == category and e.code == code, e
    return False, None


def start(server_bin, endpoint):
    p = subprocess.Popen([server_bin, endpoint], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return p, p.stdout.readline().strip()


def main():
    server_bin = sys.argv[1]
    # -- value mapping, offline --
    for v in [0, -3, 2**40, 1.5, "héllo", b"\x00\xff\x10", True, False, ["a", "b"],
              troupe.Atom("add"), {"k": "v"}, troupe.ActorRef(7, 42, bytes(range(20)))]:
        t, back = wire.decode_element(wire.encode_value(v))
        check(back == v and type(back) is type(v) or (isinstance(v, bool) and back is v),
              "round trip %r as %s" % (v, t))
    check(wire.atom_value("add") == 0xF << 18 | 38 << 12 | 41 << 6 | 41, "atom('add') value")
    check(wire.atom_text(wire.atom_value("troupe")) == "troupe", "atom text round trip")
    try:
        wire.encode_value([1, 2])
        check(False, "a list of ints is refused")
    except TypeError:
        check(True, "a list of ints is refused")

    server, endpoint = start(server_bin, "tcp://127.0.0.1:*")
    check(endpoint.startswith("tcp://127.0.0.1:"), "server bound " + endpoint)
    try:
        run(server_bin, server, endpoint)
    finally:
        for p in list(servers):
            if p.poll() is None:
                p.stdin.close()
                p.wait(timeout=10)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


servers = []


def run(server_bin, server, endpoint):
    servers.append(server)
    c = troupe.connect(endpoint)
    check(c.peer[0] == "cxx", "hello_ack names the node")
    check(c.heartbeat_timeout == 1.5, "hello_ack's heartbeat timeout is used (%r)"
          % c.heartbeat_timeout)
    c2 = troupe.connect(endpoint)
    check(c.name != c2.name, "client node names are unique (%s, %s)" % (c.name, c2.name))
    c2.close()
    try:
        troupe.connect(endpoint, name="cxx", timeout=1.0)  # the node's own name: rejected
        e = None
    except troupe.TroupeError as err:
        e = err
    check(e is not None and "rejected" in str(e), "a rejected hello raises with the reason: %s" % e)

    check(c.call("calc", 41) == 42, "calc(41) == 42")
    check(c.call("calc", troupe.Atom("add"), 2, 3) == 5, "calc(add, 2, 3) == 5")
    ok, e = raises(lambda: c.call("calc", "boom"), "troupe", 1)
    check(ok and e.context == ["boom"], "error raised with category, code, context: %s" % e)
    ok, e = raises(lambda: c.call("nobody", 1), "system", 3)
    check(ok, "unknown name -> system/3 (request_receiver_down)")
    echo = c.lookup("echo")
    check(isinstance(echo, int) and echo > 0, "lookup echo -> %r" % echo)
    check(c.lookup("no-such-actor") is None, "lookup of an unknown name -> None")
    vals = ("hi", -3, 0.5, True, b"\x01\x02", b"", ["x", "y"], troupe.Atom("ok"))
    check(c.call(echo, *vals) == vals, "echo by id returns every value type")
    ref = c.call("self", 0)
    check(isinstance(ref, troupe.ActorRef) and ref.pid == c.peer[1], "actor handle decoded")
    check(c.call(ref, 5) == ref, "call through an ActorRef")
    c.send("calc", 1)  # nothing comes back; must not disturb the next call
    check(c.call("calc", 1) == 2, "send then call")
    ok, _ = raises(lambda: c.call("park", 1, timeout=0.3), "troupe", 2)
    check(ok, "a call that gets no answer times out")

    # -- concurrency: many threads share one client --
    results = []

    def worker(n):
        results.append(c.call("calc", n) == n + 1)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    check(len(results) == 50 and all(results), "50 concurrent calls from threads")

    # -- asyncio --
    async def use_async():
        a = await troupe.connect_async(endpoint)
        rs = await asyncio.gather(*[a.call("calc", i) for i in range(20)])
        try:
            await a.call("calc", "bad")
            err = None
        except troupe.TroupeError as e:
            err = e
        await a.close()
        return rs, err
    rs, err = asyncio.run(use_async())
    check(rs == [i + 1 for i in range(20)], "asyncio: 20 gathered calls")
    check(err is not None and err.code == 1, "asyncio: error raised")

    # -- app file --
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('[app]\nname = "t"\n[nodes.front]\nlaunch = false\n[nodes.cxx]\nlisten = "%s"\n'
                % endpoint)
    try:
        with troupe.connect(f.name) as c3:
            check(c3.call("calc", 9) == 10, "connect(app file) picks the listening node")
    finally:
        os.unlink(f.name)

    # -- monitor + reconnect after a node restart (kill -9, same endpoint) --
    downs = []
    c.monitor("calc", lambda name, reason: downs.append((name, reason)))
    sessions = c.sessions
    server.send_signal(signal.SIGKILL)
    server.wait()
    deadline = time.time() + 5
    while not downs and time.time() < deadline:
        time.sleep(0.05)
    check(downs and downs[0][0] == "calc" and downs[0][1].code == 7,
          "monitor callback on the lost node: %r" % (downs,))
    t0 = time.time()
    try:
        c.call("calc", 1, timeout=0.5)
        e = None
    except troupe.TroupeError as err:
        e = err
    check(e is not None and e.code in (2, 7) and time.time() - t0 < 1.5,
          "a call while the node is down fails within its timeout: %s" % e)
    server2, ep2 = start(server_bin, endpoint)
    servers.append(server2)
    check(ep2 == endpoint, "server restarted on " + endpoint)
    c.wait_connected(10)
    check(c.sessions == sessions + 1, "client re-handshook on its own")
    check(c.call("calc", 1) == 2, "calls by name work after the restart")
    check(c.lookup("echo") is not None, "re-lookup after the restart")
    c.close()
    peers = None
    deadline = time.time() + 3
    while time.time() < deadline:
        server2.stdin.write("stats\n")
        server2.stdin.flush()
        peers = server2.stdout.readline().split()[1]
        if peers == "peers=0":
            break
        time.sleep(0.05)
    check(peers == "peers=0", "close() says goodbye: the node drops the session at once")
    rearmed_monitor(server_bin)


def wait_for(cond, seconds):
    deadline = time.time() + seconds
    while not cond() and time.time() < deadline:
        time.sleep(0.05)
    return cond()


def rearmed_monitor(server_bin):
    """monitor(..., rearm=True) watches the name again after a reconnect to a restarted node."""
    server, endpoint = start(server_bin, "tcp://127.0.0.1:*")
    servers.append(server)
    c = troupe.connect(endpoint)
    downs, once = [], []
    aid = c.monitor("mortal", lambda name, reason: downs.append((name, reason)), rearm=True)
    c.monitor("mortal", lambda name, reason: once.append(reason))
    check(c.monitored() == {"mortal": aid}, "a re-armed monitor is listed: %r" % c.monitored())
    server.send_signal(signal.SIGKILL)
    server.wait()
    check(wait_for(lambda: len(downs) == 1 and len(once) == 1, 5) and downs[0][1].code == 7,
          "both monitors report the lost session: %r" % downs)
    check(c.monitored() == {}, "the re-armed monitor waits for a session")
    server2, ep2 = start(server_bin, endpoint)
    servers.append(server2)
    check(ep2 == endpoint, "server restarted on " + endpoint)
    c.wait_connected(10)
    check(wait_for(lambda: "mortal" in c.monitored(), 5),
          "re-armed on the restarted node's actor: %r" % c.monitored())
    c.send("mortal", troupe.Atom("die"), "bye")
    check(wait_for(lambda: len(downs) == 2, 5), "the new incarnation's end is reported")
    check(downs[1][0] == "mortal" and downs[1][1] is not None and downs[1][1].code == 9
          and "bye" in str(downs[1][1]), "with its exit reason: %r" % (downs[1:],))
    check(len(once) == 1, "a monitor without rearm ran once only")
    time.sleep(1.5)  # the name still resolves to the dead actor: no re-arm on it, no repeats
    check(len(downs) == 2 and c.monitored() == {}, "no callback for the dead actor again")
    c.close()


if __name__ == "__main__":
    main()
