#!/usr/bin/python3
"""FlowKit's HTTP API on Troupe: forwards every query to the single_flight actor through the
Python client, so identical queries running anywhere are computed once.

usage: gateway.py APP.toml [--node hub] [--host 127.0.0.1] [--port 8080] [--service flight]
                  [--timeout 15]

GET /query?key=K[&ms=N]  run query K (N: simulated work in ms, else the workers' default)
                         200 {"key", "worker", "computation", "elapsed_ms"}
GET /status?key=K        200 {"state", "worker", "since_ms", "waiters", "attempt"}
GET /status              200 {"workers", "keys_in_flight", "started", "shared", "completed",
                              "failed", "retried"}
GET /health              200 {"ok": true}
Errors: 400 bad request, 503 worker lost / node unreachable, 504 timeout; body {"error", ...}.
"""

import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "clients", "python"))
import troupe  # noqa: E402
from troupe import Atom  # noqa: E402

TIMEOUT, BAD_REQUEST = 2, 6  # troupe error codes (docs/PROTOCOL.md §5.4)


def http_status(err):
    if err.category == "troupe" and err.code == TIMEOUT:
        return 504
    if err.category == "troupe" and err.code == BAD_REQUEST:
        return 400
    return 503


def make_handler(client, service, timeout):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: benchmarks reuse connections
        # Headers and body are two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK (~40 ms per query on Linux).
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if url.path == "/query":
                    self.query(q)
                elif url.path == "/status":
                    self.status(q)
                elif url.path == "/health":
                    self.reply(200, {"ok": True})
                else:
                    self.reply(404, {"error": "unknown path " + url.path})
            except troupe.TroupeError as e:
                self.reply(http_status(e), {"error": str(e), "category": e.category,
                                            "code": e.code, "context": [str(x) for x in e.context]})
            except ValueError as e:
                self.reply(400, {"error": str(e)})

        def query(self, q):
            key = q.get("key")
            if not key:
                raise ValueError("missing key")
            args = [Atom("run"), key]
            if "ms" in q:
                args.append(int(q["ms"]))
            t0 = time.monotonic()
            k, worker, n = client.call(service, *args, timeout=timeout)
            self.reply(200, {"key": k, "worker": worker, "computation": n,
                             "elapsed_ms": round((time.monotonic() - t0) * 1000, 1)})

        def status(self, q):
            if "key" in q:
                state, worker, since, waiters, attempt = client.call(
                    service, Atom("status"), q["key"], timeout=timeout)
                self.reply(200, {"state": state, "worker": worker, "since_ms": since,
                                 "waiters": waiters, "attempt": attempt})
            else:
                names = ["workers", "keys_in_flight", "started", "shared", "completed", "failed",
                         "retried"]
                values = client.call(service, Atom("status"), timeout=timeout)
                self.reply(200, dict(zip(names, values)))

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("app", help="the app file (examples/flowkit/flowkit.toml)")
    p.add_argument("--node", default="hub", help="node to connect to (hosts the service)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--service", default="flight", help="name of the single_flight actor")
    p.add_argument("--timeout", type=float, default=15.0,
                   help="seconds a query may take (single_flight bounds it too)")
    a = p.parse_args()
    # The client reconnects on its own when the node restarts; calls by name follow it.
    deadline = time.monotonic() + 30
    while True:
        try:
            client = troupe.connect(a.app, node=a.node)
            break
        except (troupe.TroupeError, OSError, TimeoutError) as e:
            if time.monotonic() > deadline:
                sys.exit("gateway: cannot reach node %s: %s" % (a.node, e))
            time.sleep(0.5)
    server = ThreadingHTTPServer((a.host, a.port), make_handler(client, a.service, a.timeout))
    server.daemon_threads = True
    print("gateway: http://%s:%d/query?key=... -> %s on node %s" %
          (a.host, server.server_address[1], a.service, a.node), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        client.close()


if __name__ == "__main__":
    main()
