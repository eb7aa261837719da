#!/usr/bin/python3
"""Multi-process test: requests in flight to a node that is killed with SIGKILL fail fast.

Starts a server node and a client node (both troupe_bridges_hub_server), lets the client park N
requests (60 s timeout) on the server's "park" actor, kills the server with SIGKILL and checks that
every request fails with peer_lost and the monitor fires, all within the heartbeat timeout (1.5 s
by default) plus slack -- never a hang until the 60 s request timeout.

usage: kill_peer.py PATH/TO/troupe_bridges_hub_server ENDPOINT_KIND(tcp|ipc)
"""

import os
import signal
import subprocess
import sys

N = 20
LIMIT_MS = 3000  # heartbeat timeout 1500 ms + generous slack for a loaded CI machine


def main():
    binary, kind = sys.argv[1], sys.argv[2]
    endpoint = ("tcp://127.0.0.1:*" if kind == "tcp"
                else "ipc:///tmp/troupe-kill-peer-%d" % os.getpid())
    server = subprocess.Popen([binary, endpoint], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    bound = server.stdout.readline().strip()
    client = subprocess.Popen([binary, "--client", bound, str(N)], stdout=subprocess.PIPE,
                              text=True)
    failures = []
    try:
        first = client.stdout.readline().strip()
        if first != "inflight %d" % N:
            failures.append("client did not get its requests in flight: %r" % first)
            return failures
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        errors, downs = [], []
        for _ in range(N + 1):
            line = client.stdout.readline().strip()
            kind_, _, rest = line.partition(" ")
            reason, _, ms = rest.rpartition(" ")
            if kind_ == "error":
                errors.append((reason, int(ms)))
            elif kind_ == "down":
                downs.append((reason, int(ms)))
            else:
                failures.append("unexpected client output %r" % line)
        rc = client.wait(timeout=10)
        if rc != 0:
            failures.append("client exited with %d" % rc)
        if len(errors) != N:
            failures.append("expected %d failed requests, got %d" % (N, len(errors)))
        if any(not r.startswith("peer_lost") for r, _ in errors):
            failures.append("requests failed with other reasons: %r" % errors[:3])
        if downs != [] and downs[0][0] != "remote_link_unreachable":
            failures.append("down reason %r" % downs[0][0])
        if len(downs) != 1:
            failures.append("expected one down_msg, got %d" % len(downs))
        worst = max([ms for _, ms in errors + downs] or [0])
        print("%s: %d requests failed, down_msg after %d ms, worst %d ms" %
              (kind, len(errors), downs[0][1] if downs else -1, worst))
        if worst > LIMIT_MS:
            failures.append("loss took %d ms (limit %d)" % (worst, LIMIT_MS))
    finally:
        for p in (client, server):
            if p.poll() is None:
                p.kill()
                p.wait()
        # The killed server cannot remove its socket file; leave nothing in /tmp.
        if endpoint.startswith("ipc://") and os.path.exists(endpoint[6:]):
            os.unlink(endpoint[6:])
    return failures


if __name__ == "__main__":
    problems = main()
    for p in problems:
        print("FAIL " + p)
    sys.exit(1 if problems else 0)
