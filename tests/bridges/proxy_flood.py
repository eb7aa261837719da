#!/usr/bin/python3
"""Attacker-controlled growth: every distinct sender id a peer uses costs the node a proxy
(1 M ids once took 352 MB). With max_proxies_per_peer = 1000, frames from a 1001st distinct id
are rejected and logged, while the ids already known keep working.

usage: proxy_flood.py PATH/TO/troupe_bridges_hub_server
"""

import os
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

NORMAL = 1 << 60
RESPONSE = 1 << 63
LIMIT = 1000
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def frame(kind, sender, receiver, mid, body):
    return msgpack.packb([1, kind, sender, receiver, mid, body])


def main():
    log = tempfile.TemporaryFile(mode="w+")
    env = dict(os.environ, TROUPE_TEST_MAX_PROXIES=str(LIMIT))
    server = subprocess.Popen([sys.argv[1], "tcp://127.0.0.1:*"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 200)
    try:
        endpoint = server.stdout.readline().strip()
        sock.connect(endpoint)
        sock.send(frame(1, 0, 0, 0, ["flood", os.getpid(), os.urandom(19) + b"\x01", 100, []]))
        n = LIMIT + 500
        for i in range(1, n + 1):  # sender id i, request id i
            sock.send(frame(3, i, "calc", NORMAL | i, [["@i32", [i]]]))
        answered = set()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                f = msgpack.unpackb(sock.recv(), raw=False)
            except zmq.Again:
                if len(answered) >= LIMIT:
                    break
                continue
            if f[1] == 3 and f[4] & RESPONSE:
                answered.add(f[3])
        print("%d distinct senders, %d answered" % (n, len(answered)))
        check(len(answered) <= LIMIT, "at most %d senders got a proxy (%d)" % (LIMIT, len(answered)))
        check(len(answered) >= LIMIT - 10, "the first senders were served (%d)" % len(answered))
        # A known sender still works.
        known = min(answered) if answered else 1
        sock.send(frame(3, known, "calc", NORMAL | 999999, [["@i32", [41]]]))
        ok = False
        deadline = time.time() + 5
        while time.time() < deadline and not ok:
            try:
                f = msgpack.unpackb(sock.recv(), raw=False)
            except zmq.Again:
                continue
            ok = f[1] == 3 and f[4] == (NORMAL | 999999 | RESPONSE) and f[5] == [["@i32", [42]]]
        check(ok, "a known sender is still answered")
        server.stdin.write("stats\n")
        server.stdin.flush()
        stats = server.stdout.readline().strip()
        print("server: " + stats)
        bad = int(stats.split()[0].split("=")[1])
        check(bad >= n - LIMIT - 10, "frames of new senders past the limit rejected (%d)" % bad)
    finally:
        sock.close()
        server.stdin.close()
        rc = server.wait(timeout=30)
        check(rc == 0, "server exited cleanly")
        ctx.term()
    log.seek(0)
    text = log.read()
    check("max_proxies_per_peer" in text, "the node logged the limit")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
