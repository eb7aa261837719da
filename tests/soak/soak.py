#!/usr/bin/python3
"""Soak test with counts: MESSAGES requests through one bridge (ipc or tcp) to a C++ node under a
sliding window of in-flight requests, while a second, non-essential node that also serves load is
killed with SIGKILL and restarted at random intervals. Prints sent, answered, failed, lost,
reordered and the main node's max RSS; fails if any request to the live node is lost or failed,
or answers arrive out of order.

usage: soak.py PATH/TO/troupe_bridges_hub_server ipc|tcp [MESSAGES]
(MESSAGES defaults to $TROUPE_SOAK_MESSAGES or 10,000,000)
"""

import os
import random
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

VERSION = 1
HELLO, HELLO_ACK, MESSAGE, HEARTBEAT = 1, 2, 3, 10
NORMAL = 1 << 60
RESPONSE = 1 << 63
WINDOW = 2000


def frame(kind, sender, receiver, mid, body):
    return msgpack.packb([VERSION, kind, sender, receiver, mid, body])


def start_node(binary, endpoint):
    p = subprocess.Popen([binary, endpoint], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return p, p.stdout.readline().strip()


def connect(ctx, endpoint, name):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVHWM, 0)
    s.setsockopt(zmq.SNDHWM, 0)
    s.connect(endpoint)
    s.send(frame(HELLO, 0, 0, 0, [name, os.getpid(), os.urandom(19) + b"\x01", 100, []]))
    return s


def max_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    binary, kind = sys.argv[1], sys.argv[2]
    total = int(sys.argv[3]) if len(sys.argv) > 3 else int(
        os.environ.get("TROUPE_SOAK_MESSAGES", "10000000"))
    tmp = tempfile.mkdtemp(prefix="troupe-soak-")
    ep = (lambda n: "ipc://%s/%s.sock" % (tmp, n)) if kind == "ipc" else (
        lambda n: "tcp://127.0.0.1:*")
    main_node, main_ep = start_node(binary, ep("main"))
    side_node, side_ep = start_node(binary, ep("side"))
    ctx = zmq.Context()
    sock = connect(ctx, main_ep, "soak")
    side = connect(ctx, side_ep, "soak-side")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(side, zmq.POLLIN)
    sent = answered = failed = reordered = kills = side_sent = side_answered = 0
    last_answer = 0
    next_kill = time.time() + random.uniform(0.5, 2.0)
    t0 = time.time()
    last_progress = t0
    handshake = False
    try:
        while answered + failed < total:
            now = time.time()
            if now >= next_kill:
                side_node.kill()
                side_node.wait()
                kills += 1
                side.close()
                poller.unregister(side)
                side_node, side_ep = start_node(binary, ep("side"))
                side = connect(ctx, side_ep, "soak-side")
                poller.register(side, zmq.POLLIN)
                next_kill = now + random.uniform(0.5, 2.0)
            while handshake and sent < total and sent - answered - failed < WINDOW:
                sent += 1
                sock.send(frame(MESSAGE, 1, "calc", NORMAL | sent, [["@i32", [sent & 0xFFFFFF]]]))
                if sent % 4 == 0:  # load on the node that gets killed; its answers may be lost
                    side_sent += 1
                    side.send(frame(MESSAGE, 1, "calc", NORMAL | side_sent, [["@i32", [1]]]),
                              zmq.NOBLOCK)
            if now - last_progress > 10:
                print("no progress for 10 s", flush=True)
                break
            for s, _ in poller.poll(100):
                while True:
                    try:
                        raw = s.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    f = msgpack.unpackb(raw, raw=False)
                    if s is side:
                        side_answered += f[1] == MESSAGE
                        continue
                    if f[1] == HELLO_ACK:
                        handshake = True
                    elif f[1] == HEARTBEAT:
                        sock.send(frame(HEARTBEAT, 0, 0, 0, None))
                    elif f[1] == MESSAGE and f[4] & RESPONSE:
                        n = f[4] & ~(RESPONSE | NORMAL)
                        if n < last_answer:
                            reordered += 1
                        last_answer = max(last_answer, n)
                        if f[5] == [["@i32", [(n & 0xFFFFFF) + 1]]]:
                            answered += 1
                        else:
                            failed += 1
                        last_progress = time.time()
    finally:
        rss = max_rss_kb(main_node.pid)
        elapsed = time.time() - t0
        lost = sent - answered - failed
        print("%s: sent %d answered %d failed %d lost %d reordered %d in %.1f s (%.0f msgs/s); "
              "main node max RSS %d KiB; side node killed %d times (%d sent, %d answered)" %
              (kind, sent, answered, failed, lost, reordered, elapsed,
               (answered + failed) / max(elapsed, 1e-9), rss, kills, side_sent, side_answered),
              flush=True)
        for p in (main_node, side_node):
            p.stdin.close()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        sock.close()
        side.close()
        ctx.term()
        for n in os.listdir(tmp):
            os.unlink(os.path.join(tmp, n))
        os.rmdir(tmp)
    ok = sent == total and failed == 0 and lost == 0 and reordered == 0
    print("ok" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
