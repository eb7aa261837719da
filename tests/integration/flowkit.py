#!/usr/bin/python3
"""FlowKit across real processes (examples/flowkit): `troupe run` starts the hub (single_flight)
and two backend nodes (two flight_workers each), two HTTP gateways (gateway.py) forward queries.

Checks: 50 concurrent identical queries from 5 client processes, spread over both gateways, are
computed once (the workers' own counters say so) and all get the same answer; different keys run
in parallel on different workers of both backends; a kill -9 of the node computing a key answers
every waiter within the key's timeout (the retry on the other backend), and a kill -9 of both
backends, one per attempt, fails every waiter with unavailable within it; the gateways survive
restarts of the backend nodes and of the hub node.

usage: flowkit.py BUILD/bin SOURCE_DIR            (ports 7500-7512, app flowtest-PID)
       flowkit.py --client PORTS KEY N MS         (one client process: N concurrent queries)
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

PORTS = {"hub": 7500, "backend-a": 7501, "backend-b": 7502}
GATEWAYS = [7510, 7511]
KEY_TIMEOUT_S = 10  # single_flight timeout in the example app file


def http_get(port, path, timeout=30):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def client_main(ports, key, n, ms):
    """Fires n concurrent queries for key, alternating between the gateways, once the parent
    says go (so that a slow process start cannot make a late query a second computation);
    prints the answers."""
    ports = [int(p) for p in ports.split(",")]
    out = [None] * n
    print("ready", flush=True)
    sys.stdin.readline()

    def one(i):
        out[i] = http_get(ports[i % len(ports)], "/query?key=%s&ms=%d" % (key, ms))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print(json.dumps(out))


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("ok:", what, flush=True)


def main(bin_dir, src):
    sys.path.insert(0, os.path.join(src, "clients", "python"))
    import troupe
    from troupe import Atom

    tmp = tempfile.mkdtemp(prefix="flowkit-test-")
    app_name = "flowtest-%d" % os.getpid()
    text = open(os.path.join(src, "examples", "flowkit", "flowkit.toml")).read()
    text = text.replace('name = "flowkit"', 'name = "%s"' % app_name)
    text = text.replace('log_dir = "logs/flowkit"', 'log_dir = "%s/logs"' % tmp)
    for node, port in PORTS.items():
        text = re.sub(r'(\[nodes\.%s\]\nlisten = "tcp://127\.0\.0\.1:)\d+' % node,
                      r"\g<1>%d" % port, text)
    check('timeout = "%ds"' % KEY_TIMEOUT_S in text, "the example app file is the one under test")
    app = os.path.join(tmp, "flowkit.toml")
    with open(app, "w") as f:
        f.write(text)
    troupe_exe = os.path.join(bin_dir, "troupe")
    procs = []

    def spawn(args, log):
        p = subprocess.Popen(args, stdout=open(os.path.join(tmp, log), "w"),
                             stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    def node_pids():
        out = subprocess.run([troupe_exe, "ps", app, "--json"], capture_output=True, text=True,
                             timeout=30).stdout
        return {n["node"]: (n["pid"], n["restarts"], n["state"]) for n in json.loads(out)["nodes"]}

    hub = None
    launcher = spawn([troupe_exe, "run", app], "launcher.log")
    try:
        deadline = time.monotonic() + 30
        while hub is None:
            try:
                hub = troupe.connect(app, node="hub", timeout=1.0)
            except troupe.TroupeError:
                if time.monotonic() > deadline:
                    raise Failure("hub node did not start")

        def pool_status():
            return hub.call("flight", Atom("status"), timeout=5)

        def wait_workers(n, within):
            end = time.monotonic() + within
            while time.monotonic() < end:
                try:
                    if pool_status()[0] == n:
                        return True
                except troupe.TroupeError:
                    pass
                time.sleep(0.2)
            return False

        check(wait_workers(4, 20), "all 4 workers joined the pool of flight")
        gw = [spawn([sys.executable, os.path.join(src, "examples", "flowkit", "gateway.py"), app,
                     "--port", str(p)], "gateway-%d.log" % p) for p in GATEWAYS]
        for p in GATEWAYS:
            end = time.monotonic() + 20
            while True:
                try:
                    if http_get(p, "/health", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > end:
                    raise Failure("gateway on port %d did not come up" % p)
                time.sleep(0.2)

        backends = {n: troupe.connect(app, node=n, timeout=5.0) for n in ("backend-a", "backend-b")}

        def computations():
            total = 0
            for node, c in backends.items():
                for w in ("1", "2"):
                    total += c.call("worker-%s%s" % (node[-1], w), Atom("status"), timeout=10)
            return total

        # 1. 50 identical queries from 5 client processes over 2 gateways: computed once.
        before = computations()
        key = "same-%d" % os.getpid()
        ports = ",".join(map(str, GATEWAYS))
        clients = [subprocess.Popen([sys.executable, __file__, "--client", ports, key, "10",
                                     "2000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
                   for _ in range(5)]
        for c in clients:
            check(c.stdout.readline().strip() == "ready", "client process %d ready" % c.pid)
        for c in clients:
            c.stdin.write("go\n")
            c.stdin.flush()
        answers = []
        for c in clients:
            out, _ = c.communicate(timeout=60)
            answers += json.loads(out)
        check(len(answers) == 50 and all(code == 200 for code, _ in answers),
              "50 identical queries all answered 200 (%s)" % answers[:1])
        distinct = {(a["worker"], a["computation"]) for _, a in answers}
        check(len(distinct) == 1, "all 50 got the same computation: %s" % distinct)
        after = computations()
        check(after - before == 1, "the workers computed the key once (%d)" % (after - before))
        check(pool_status()[3] >= 49, "single_flight counted >= 49 shared callers")

        # 2. Different keys run in parallel on different workers, on both backends.
        results = [None] * 4

        def q(i):
            results[i] = http_get(GATEWAYS[i % 2], "/query?key=par-%d-%d&ms=1500" % (os.getpid(), i))
        t0 = time.monotonic()
        ts = [threading.Thread(target=q, args=(i,)) for i in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        elapsed = time.monotonic() - t0
        check(all(code == 200 for code, _ in results), "4 different keys answered")
        workers = {a["worker"] for _, a in results}
        check(len(workers) == 4, "4 keys ran on 4 different workers: %s" % sorted(workers))
        check({w.split("@")[1] for w in workers} == {"backend-a", "backend-b"},
              "on both backend nodes")
        check(elapsed < 2.8, "in parallel: 4 x 1.5 s of work took %.2f s" % elapsed)

        # 3. kill -9 of the node computing a key: every waiter is answered within the timeout.
        key = "crash-%d" % os.getpid()
        crash = [None] * 10
        done_at = [None] * 10
        t0 = time.monotonic()

        def cq(i):
            crash[i] = http_get(GATEWAYS[i % 2], "/query?key=%s&ms=4000" % key, timeout=60)
            done_at[i] = time.monotonic() - t0
        ts = [threading.Thread(target=cq, args=(i,)) for i in range(10)]
        [t.start() for t in ts]
        state = worker = None
        for _ in range(50):
            state, worker, since, waiters, attempt = hub.call("flight", Atom("status"), key)
            if state == "running" and waiters == 10:
                break
            time.sleep(0.05)
        check(state == "running" and "@" in worker, "the key runs on %s" % worker)
        victim = worker.split("@")[1]
        other = "backend-b" if victim == "backend-a" else "backend-a"
        pid, restarts_before, _ = node_pids()[victim]
        os.kill(pid, signal.SIGKILL)
        t_kill = time.monotonic() - t0
        [t.join(timeout=KEY_TIMEOUT_S + 5) for t in ts]
        check(all(d is not None for d in done_at), "every waiter got an answer")
        check(max(done_at) < KEY_TIMEOUT_S + 1,
              "within the key's timeout (last after %.2f s, kill at %.2f s)" % (max(done_at), t_kill))
        codes = {code for code, _ in crash}
        check(codes == {200}, "retried on the other backend: all 200 (%s)" % codes)
        retried_on = {a["worker"] for _, a in crash}
        check(len(retried_on) == 1 and retried_on.pop().endswith("@" + other),
              "one retry computation on %s for all 10 waiters" % other)
        backends.pop(victim).close()

        # 4. The gateways survive backend restarts: the killed backend comes back and rejoins.
        end = time.monotonic() + 30
        while time.monotonic() < end:
            pid2, restarts, st = node_pids()[victim]
            if restarts > restarts_before and st == "running":
                break
            time.sleep(0.3)
        check(restarts > restarts_before and pid2 != pid, "the launcher restarted %s" % victim)
        check(wait_workers(4, 20), "its workers joined the pool again")
        for p in GATEWAYS:
            code, body = http_get(p, "/query?key=after-restart-%d&ms=10" % p)
            check(code == 200, "gateway %d answers after the backend restart (%s)" % (p, body))
        # 5. Both backends killed while computing one key (the first, then the retry's): with
        # `retries = 1` used up, every waiter fails with 503 (unavailable) within the timeout.
        key = "crash2-%d" % os.getpid()
        crash = [None] * 6
        done_at = [None] * 6
        t0 = time.monotonic()
        ts = [threading.Thread(target=cq, args=(i,)) for i in range(6)]
        [t.start() for t in ts]
        killed = []
        for attempt_wanted in (1, 2):
            for _ in range(100):
                state, worker, since, waiters, attempt = hub.call("flight", Atom("status"), key)
                if state == "running" and attempt == attempt_wanted and waiters == 6:
                    break
                time.sleep(0.05)
            check(state == "running" and attempt == attempt_wanted,
                  "attempt %d runs on %s" % (attempt_wanted, worker))
            node = worker.split("@")[1]
            killed.append((node, node_pids()[node]))
            os.kill(killed[-1][1][0], signal.SIGKILL)
        check(killed[0][0] != killed[1][0], "the retry ran on the other backend")
        [t.join(timeout=KEY_TIMEOUT_S + 5) for t in ts]
        check(all(d is not None and d < KEY_TIMEOUT_S + 1 for d in done_at),
              "every waiter answered within the timeout (last after %.2f s)" % max(done_at))
        check(all(code == 503 and body.get("code") == 12 for code, body in crash),
              "all failed with 503, troupe/12 unavailable: %s" % (crash[0],))
        for node, (pid0, restarts0, _) in killed:
            end = time.monotonic() + 30
            while time.monotonic() < end:
                pid2, restarts, st = node_pids()[node]
                if restarts > restarts0 and st == "running":
                    break
                time.sleep(0.3)
            check(restarts > restarts0, "the launcher restarted %s again" % node)
        check(wait_workers(4, 20), "all workers joined the pool again")
        for p in GATEWAYS:
            code, body = http_get(p, "/query?key=after-both-%d&ms=10" % p)
            check(code == 200, "gateway %d answers after both backends restarted (%s)" % (p, body))
        # 6. The hub itself (single_flight's node) is killed: the gateways' clients reconnect and
        # the workers join the new single_flight by name.
        hub_pid = node_pids()["hub"][0]
        os.kill(hub_pid, signal.SIGKILL)
        t0 = time.monotonic()
        ok = {p: False for p in GATEWAYS}
        while time.monotonic() - t0 < 30 and not all(ok.values()):
            for p in GATEWAYS:
                if not ok[p]:
                    try:
                        ok[p] = http_get(p, "/query?key=after-hub-%d&ms=10" % p, timeout=15)[0] == 200
                    except OSError:
                        pass
            time.sleep(0.2)
        check(all(ok.values()), "both gateways answer again %.1f s after a kill -9 of the hub"
              % (time.monotonic() - t0))
        check(all(g.poll() is None for g in gw), "the gateway processes never stopped")
        check(wait_workers(4, 20), "all 4 workers joined the restarted single_flight")
        for c in backends.values():
            c.close()
        hub.close()
        print("flowkit: all checks passed")
        return 0
    except Failure as e:
        print("FAILED:", e, flush=True)
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log"):
                print("---", name)
                print(open(os.path.join(tmp, name)).read()[-3000:])
        return 1
    finally:
        launcher.send_signal(signal.SIGTERM)
        for p in procs[1:]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--client":
        client_main(*sys.argv[2:4], int(sys.argv[4]), int(sys.argv[5]))
        sys.exit(0)
    sys.exit(main(sys.argv[1], sys.argv[2]))
