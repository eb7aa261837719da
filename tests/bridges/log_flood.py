#!/usr/bin/python3
"""Log lines a peer can trigger are rate-limited per time window and per connection: a peer
that sends thousands of bad frames does not hide another peer's rejects, and thousands of
hellos do not write thousands of session lines.

usage: log_flood.py PATH/TO/troupe_bridges_hub_server
"""

import os
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen([sys.argv[1], "tcp://127.0.0.1:*"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=log, text=True)
    ctx = zmq.Context()
    try:
        endpoint = server.stdout.readline().strip()
        noisy = ctx.socket(zmq.DEALER)
        noisy.setsockopt(zmq.LINGER, 0)
        noisy.connect(endpoint)
        for _ in range(2000):
            noisy.send(b"\xc1garbage")
        time.sleep(0.5)
        quiet = ctx.socket(zmq.DEALER)
        quiet.setsockopt(zmq.LINGER, 0)
        quiet.connect(endpoint)
        for _ in range(3):
            quiet.send(b"\xc1quiet")
        # 3000 hellos from fresh nodes names, each opening a session.
        hellos = ctx.socket(zmq.DEALER)
        hellos.setsockopt(zmq.LINGER, 0)
        hellos.connect(endpoint)
        host = os.urandom(19) + b"\x01"
        for i in range(3000):
            hellos.send(msgpack.packb([1, 1, 0, 0, 0, ["h%d" % i, 1000 + i, host, 100, []]]))
        time.sleep(1.5)
        server.stdin.write("stats\n")
        server.stdin.flush()
        stats = server.stdout.readline().strip()
        print("server: " + stats)
        bad = int(stats.split()[0].split("=")[1])
        check(bad >= 2003, "every bad frame counted (%d)" % bad)
    finally:
        server.stdin.close()
        rc = server.wait(timeout=30)
        check(rc == 0, "server exited cleanly")
        ctx.destroy(linger=0)
    log.seek(0)
    lines = log.read().splitlines()
    rejects = [l for l in lines if "rejected frame from" in l]
    conns = sorted(set(l.split("rejected frame from ")[1].split(" (#")[0] for l in rejects))
    print("%d log lines, %d reject lines from %s" % (len(lines), len(rejects), conns))
    check(len(conns) >= 2, "the quiet peer's rejects are logged despite the noisy one")
    check(len(rejects) <= 20, "reject lines bounded per window (%d)" % len(rejects))
    sessions = [l for l in lines if "session with" in l or "cannot decode" in l]
    print("%d session lines for 3000 hellos" % len(sessions))
    check(len(sessions) <= 50, "session lines bounded per window (%d)" % len(sessions))
    check(len(lines) < 150, "whole log bounded (%d lines)" % len(lines))
    if failures:
        for l in lines[:30]:
            print("log: " + l[:200])
        sys.exit(1)


if __name__ == "__main__":
    main()
