#!/usr/bin/python3
"""Per-peer fairness: one peer floods a node with requests and never reads the replies; another
peer that connects meanwhile must complete its handshake and its calls within a bound, and the
node must log that it throttled or dropped the flooder.

usage: flood.py PATH/TO/troupe_bridges_hub_server
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq

VERSION = 1
HELLO, HELLO_ACK, MESSAGE = 1, 2, 3
NORMAL = 1 << 60
RESPONSE = 1 << 63
BOUND_S = 2.0  # the slowest acceptable handshake or call of the honest peer
FLOOD_S = 8.0  # how long the flooder keeps going

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def frame(kind, sender, receiver, mid, body):
    return msgpack.packb([VERSION, kind, sender, receiver, mid, body])


def hello(sock, name):
    host = os.urandom(19) + b"\x01"
    sock.send(frame(HELLO, 0, 0, 0, [name, os.getpid(), host, 100, []]))


def flooder(ctx, endpoint, stop, sent):
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 10)   # read nothing, buffer little: replies back up at the node
    sock.setsockopt(zmq.SNDHWM, 100000)
    sock.setsockopt(zmq.RCVBUF, 4096)
    sock.connect(endpoint)
    hello(sock, "flooder")
    body = [["@i32", [1]]]
    n = 0
    while not stop.is_set():
        try:
            sock.send(frame(MESSAGE, 1, "calc", NORMAL | ((n & 0xFFFFFFFF) + 1), body), zmq.NOBLOCK)
            n += 1
        except zmq.Again:
            time.sleep(0.001)
    sent.append(n)
    sock.close()


def honest(ctx, endpoint, latencies):
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(BOUND_S * 1000 * 3))
    sock.connect(endpoint)
    t0 = time.time()
    hello(sock, "honest")
    while True:
        f = msgpack.unpackb(sock.recv(), raw=False)
        if f[1] == HELLO_ACK:
            break
    latencies.append(("handshake", time.time() - t0))
    for i in range(1, 21):  # request id 0 would be no request
        t0 = time.time()
        sock.send(frame(MESSAGE, 1, "calc", NORMAL | i, [["@i32", [i]]]))
        while True:
            f = msgpack.unpackb(sock.recv(), raw=False)
            if f[1] == MESSAGE and f[4] == (NORMAL | i | RESPONSE):
                break
        check(f[5] == [["@i32", [i + 1]]], "honest calc(%d) answered" % i)
        latencies.append(("calc", time.time() - t0))
        time.sleep(0.1)
    sock.close()


def main():
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen([sys.argv[1], "tcp://127.0.0.1:*"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=log, text=True)
    ctx = zmq.Context()
    try:
        endpoint = server.stdout.readline().strip()
        check(endpoint.startswith("tcp://127.0.0.1:"), "server bound " + endpoint)
        stop = threading.Event()
        sent = []
        t = threading.Thread(target=flooder, args=(ctx, endpoint, stop, sent))
        t.start()
        time.sleep(2.0)  # let the backlog build up
        latencies = []
        try:
            honest(ctx, endpoint, latencies)
        except zmq.Again:
            check(False, "honest peer got no answer within %.0f s" % (BOUND_S * 3))
        worst = max((l for _, l in latencies), default=99)
        hs = [l for k, l in latencies if k == "handshake"]
        print("honest peer: handshake %.3f s, worst call %.3f s, %d calls" %
              (hs[0] if hs else -1, worst, len(latencies) - 1))
        check(hs and hs[0] < BOUND_S, "handshake within %.1f s during the flood" % BOUND_S)
        check(len(latencies) == 21 and worst < BOUND_S,
              "every honest call within %.1f s during the flood" % BOUND_S)
        time.sleep(max(0.0, FLOOD_S - 4.0))
        stop.set()
        t.join()
        print("flooder sent %d requests" % sent[0])
        server.stdin.write("stats\n")
        server.stdin.flush()
        print("server: " + server.stdout.readline().strip())
    finally:
        server.stdin.close()
        rc = server.wait(timeout=20)
        check(rc == 0, "server exited cleanly")
        ctx.term()
    log.seek(0)
    lines = log.read().splitlines()
    budget = [l for l in lines if "budget" in l or "has not read" in l]
    for l in (budget[:5] if not failures else lines[:60]):
        print("log: " + l)
    check(budget, "the node logged throttling or dropping the flooder")
    check(len(lines) < 200, "log stays short (%d lines)" % len(lines))
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
