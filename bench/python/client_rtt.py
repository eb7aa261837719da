#!/usr/bin/python3
"""Python client round trip and throughput: troupe.Client.call("calc", n) against the C++ hub
test server, next to a direct pyzmq REQ/REP baseline doing the same work (n + 1, msgpack).

usage: client_rtt.py PATH/TO/troupe_bridges_hub_server [SECONDS_PER_ROW]
"""

import os
import subprocess
import sys
import threading
import time

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import troupe  # noqa: E402


def rep_server(endpoint_out):
    ctx = zmq.Context()
    s = ctx.socket(zmq.REP)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    endpoint_out.append("tcp://127.0.0.1:%d" % port)
    while True:
        msg = s.recv()
        if msg == b"stop":
            s.send(b"")
            break
        s.send(msgpack.packb(msgpack.unpackb(msg) + 1))
    s.close()


def measure(fn, seconds):
    n, start = 0, time.perf_counter()
    lat = []
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn(n)
        lat.append(time.perf_counter() - t)
        n += 1
    lat.sort()
    rate = n / (time.perf_counter() - start)
    return rate, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * .99)] * 1e6


def threaded(make_call, threads, seconds):
    count = [0] * threads
    stop = time.perf_counter() + seconds

    def run(i):
        call = make_call()
        while time.perf_counter() < stop:
            call(i)
            count[i] += 1
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    [t.start() for t in ts]
    [t.join() for t in ts]
    return sum(count) / (time.perf_counter() - t0)


def main():
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    server = subprocess.Popen([sys.argv[1], "tcp://127.0.0.1:*"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = server.stdout.readline().strip()
    c = troupe.connect(endpoint)
    ep = []
    rep = threading.Thread(target=rep_server, args=(ep,), daemon=True)
    rep.start()
    while not ep:
        time.sleep(0.01)
    ctx = zmq.Context()

    def req_call():
        s = ctx.socket(zmq.REQ)
        s.connect(ep[0])
        return lambda n: msgpack.unpackb(s.recv()) if s.send(msgpack.packb(n)) is None else None

    print("| path | sequential calls/s | p50 µs | p99 µs | 8 threads calls/s |")
    print("|---|---|---|---|---|")
    qps, p50, p99 = measure(lambda n: c.call("calc", n), seconds)
    par = threaded(lambda: (lambda n: c.call("calc", n)), 8, seconds)
    print("| troupe.Client.call → C++ hub → calc actor | %.0f | %.0f | %.0f | %.0f |"
          % (qps, p50, p99, par))
    qps, p50, p99 = measure(req_call(), seconds)
    # REP serves one request at a time: 8 REQ sockets share the one REP thread
    par = threaded(req_call, 8, seconds)
    print("| pyzmq REQ/REP (Python server thread, msgpack) | %.0f | %.0f | %.0f | %.0f |"
          % (qps, p50, p99, par))
    c.close()
    stop = ctx.socket(zmq.REQ)
    stop.connect(ep[0])
    stop.send(b"stop")
    stop.recv()
    server.stdin.close()
    server.wait()


if __name__ == "__main__":
    main()
