#!/usr/bin/python3
"""FlowKit round trip and queries/s: the HTTP gateway (examples/flowkit/gateway.py) and the Python
client calling single_flight on node hub, which runs each query on a flight_worker on a backend
node — next to a direct pyzmq REQ/REP baseline doing the same work (a REP server process that
answers (key, worker, n)), bare and behind the same kind of HTTP server.

Every query has a new key (no sharing) and zero work time, so the rows measure the plumbing.

usage: flowkit_rtt.py BUILD/bin [SECONDS_PER_CELL]      (ports 7540-7547, app flowbench-PID)
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import msgpack
import zmq

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(SRC, "clients", "python"))
import troupe  # noqa: E402
from troupe import Atom  # noqa: E402

PORTS = {"hub": 7540, "backend-a": 7541, "backend-b": 7542}
GATEWAY, REP_PORT, REP_GATEWAY = 7545, 7546, 7547
THREADS = 8


def rep_server(endpoint):
    """The baseline backend, in its own process: the same answer as a flight_worker."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.REP)
    s.bind(endpoint)
    n = 0
    while True:
        msg = msgpack.unpackb(s.recv())
        if msg == "stop":
            s.send(b"")
            break
        n += 1
        s.send(msgpack.packb([msg[0], "rep", n]))


def rep_gateway(port, endpoint):
    """The baseline gateway: the same HTTP handling as gateway.py, one REQ socket per thread."""
    ctx = zmq.Context()
    local = threading.local()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as in gateway.py

        def log_message(self, *args):
            pass

        def do_GET(self):
            q = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
            if not hasattr(local, "s"):
                local.s = ctx.socket(zmq.REQ)
                local.s.connect(endpoint)
            t0 = time.monotonic()
            local.s.send(msgpack.packb([q["key"], int(q.get("ms", 0))]))
            k, worker, n = msgpack.unpackb(local.s.recv())
            data = json.dumps({"key": k, "worker": worker, "computation": n,
                               "elapsed_ms": round((time.monotonic() - t0) * 1000, 1)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def measure(make_call, seconds):
    call = make_call()
    n, lat = 0, []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        call(n)
        lat.append(time.perf_counter() - t)
        n += 1
    rate = n / (time.perf_counter() - start)
    lat.sort()
    return rate, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * .99)] * 1e6


def threaded(make_call, threads, seconds):
    count = [0] * threads
    stop = time.perf_counter() + seconds

    def run(i):
        call = make_call()
        k = 0
        while time.perf_counter() < stop:
            call(i * 10**9 + k)
            k += 1
            count[i] += 1
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    [t.start() for t in ts]
    [t.join() for t in ts]
    return sum(count) / (time.perf_counter() - t0)


def http_call(port, tag):
    def make():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def call(n):
            conn.request("GET", "/query?key=%s-%d&ms=0" % (tag, n))
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(body)
        return call
    return make


def wait_http(port):
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("no HTTP server on port %d" % port)


def main():
    bin_dir = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    tmp = tempfile.mkdtemp(prefix="flowkit-bench-")
    text = open(os.path.join(SRC, "examples", "flowkit", "flowkit.toml")).read()
    text = text.replace('name = "flowkit"', 'name = "flowbench-%d"' % os.getpid())
    text = text.replace('log_dir = "logs/flowkit"', 'log_dir = "%s/logs"' % tmp)
    text = text.replace('work = "500ms"', 'work = "0ms"')
    for node, port in PORTS.items():
        text = re.sub(r'(\[nodes\.%s\]\nlisten = "tcp://127\.0\.0\.1:)\d+' % node,
                      r"\g<1>%d" % port, text)
    app = os.path.join(tmp, "flowkit.toml")
    open(app, "w").write(text)
    devnull = subprocess.DEVNULL
    launcher = subprocess.Popen([os.path.join(bin_dir, "troupe"), "run", app], stdout=devnull,
                                stderr=devnull)
    procs = []
    try:
        c = None
        while c is None:
            try:
                c = troupe.connect(app, node="hub", timeout=1.0)
            except troupe.TroupeError:
                pass
        while c.call("flight", Atom("status"))[0] < 4:
            time.sleep(0.2)
        procs.append(subprocess.Popen([sys.executable, os.path.join(SRC, "examples", "flowkit",
                                                                    "gateway.py"), app,
                                       "--port", str(GATEWAY)], stdout=devnull))
        rep_ep = "tcp://127.0.0.1:%d" % REP_PORT
        procs.append(subprocess.Popen([sys.executable, __file__, "--rep", rep_ep]))
        procs.append(subprocess.Popen([sys.executable, __file__, "--rep-gateway",
                                       str(REP_GATEWAY), rep_ep]))
        wait_http(GATEWAY)
        ctx = zmq.Context()

        def req_call():
            s = ctx.socket(zmq.REQ)
            s.connect(rep_ep)

            def call(n):
                s.send(msgpack.packb(["req-%d" % n, 0]))
                msgpack.unpackb(s.recv())
            return call

        def client_call():
            def call(n):
                c.call("flight", Atom("run"), "py-%d-%d" % (time.monotonic_ns(), n), 0)
            return call

        # the REP gateway has no /health: probe it with a query
        end = time.monotonic() + 20
        while True:
            try:
                http_call(REP_GATEWAY, "probe")()(0)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)

        rows = [
            ("HTTP gateway → troupe client → single_flight (hub) → flight_worker (backend)",
             http_call(GATEWAY, "gw-%d" % os.getpid())),
            ("troupe.Client.call → single_flight (hub) → flight_worker (backend)", client_call),
            ("HTTP gateway → pyzmq REQ → REP server process (baseline)",
             http_call(REP_GATEWAY, "rgw")),
            ("pyzmq REQ → REP server process (baseline)", req_call),
        ]
        print("| path | sequential queries/s | p50 µs | p99 µs | %d threads queries/s |" % THREADS)
        print("|---|---|---|---|---|")
        for name, make in rows:
            qps, p50, p99 = measure(make, seconds)
            par = threaded(make, THREADS, seconds)
            print("| %s | %.0f | %.0f | %.0f | %.0f |" % (name, qps, p50, p99, par), flush=True)
        st = c.call("flight", Atom("status"))
        print("\nsingle_flight status after the run: workers %d, started %d, shared %d, failed %d"
              % (st[0], st[2], st[3], st[5]))
        stop = ctx.socket(zmq.REQ)
        stop.connect(rep_ep)
        stop.send(msgpack.packb("stop"))
        stop.recv()
        c.close()
    finally:
        for p in procs:
            p.terminate()
        launcher.send_signal(signal.SIGTERM)
        for p in procs + [launcher]:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--rep":
        rep_server(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "--rep-gateway":
        rep_gateway(int(sys.argv[2]), sys.argv[3])
    else:
        main()
