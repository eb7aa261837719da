#!/usr/bin/env python3
"""Breaks the round trip of one bench_transport_pingpong path down into hops.

Input: `perf script -F pid,tid,comm,time,event,trace` of a `perf record` that captured
  probe_bench:troupe_bench_mark (where=0 client sends, 1 server handler, 2 client has the reply),
  probe_libzmq:zmq_send, probe_libzmq:zmq_msg_send, probe_libzmq:zmq_msg_recv__return,
  sched:sched_wakeup and sched:sched_switch
(see docs/BENCHMARKS.md, "Where the time goes", for the commands).

For every round trip (mark 0 .. mark 2 of the client thread) it finds the milestones below and
prints the median time of each step. Thread roles: the client thread (mark 0), the handler thread
(mark 1), libzmq's own I/O threads (comm ZMQbg/*), and any other thread that calls libzmq (the
bridge's I/O thread). Usage: trace_breakdown.py < perf-script.txt
"""
import re
import statistics
import sys

LINE = re.compile(r"^\s*(?P<comm>.+?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s+(?P<time>\d+\.\d+):\s+"
                  r"(?P<event>[\w:]+):\s*(?P<trace>.*)$")


def parse(stream):
    for line in stream:
        m = LINE.match(line)
        if not m:
            continue
        ev = m.group("event")
        trace = m.group("trace")
        yield {
            "comm": m.group("comm").strip(),
            "pid": int(m.group("pid")),
            "tid": int(m.group("tid")),
            "t": float(m.group("time")) * 1e6,  # µs
            "ev": ev.split(":", 1)[-1],
            "trace": trace,
        }


def field(trace, name):
    m = re.search(r"\b" + name + r"=(\S+)", trace)
    return m.group(1) if m else None


def main():
    events = list(parse(sys.stdin))
    zmq_tids = {e["tid"] for e in events if e["comm"].startswith("ZMQbg")}
    marks = [e for e in events if e["ev"] == "troupe_bench_mark"]
    if not marks:
        sys.exit("no troupe_bench_mark events")
    where = lambda e: int(field(e["trace"], "where") or -1)
    client = next(e for e in marks if where(e) == 0)
    server = next((e for e in marks if where(e) == 1 and e["pid"] != client["pid"]), None)
    cpid, ctid = client["pid"], client["tid"]
    spid = server["pid"] if server else cpid
    pid_of = {e["tid"]: e["pid"] for e in events}

    def is_send(e):
        return e["ev"] in ("zmq_send", "zmq_msg_send")

    def is_recv(e):
        if e["ev"] != "zmq_msg_recv__return":
            return False
        ret = field(e["trace"], "arg1") or field(e["trace"], "ret")
        try:
            return int(ret, 0) > 0 if ret is not None else True
        except ValueError:
            return True

    steps = {}

    def add(name, value):
        steps.setdefault(name, []).append(value)

    i = 0
    n_rt = 0
    while i < len(events):
        e = events[i]
        # Marks are matched by process, not thread: an event-based client (the *-actor paths)
        # may run on any CAF worker or on the bridge's I/O thread.
        if not (e["ev"] == "troupe_bench_mark" and e["pid"] == cpid and where(e) == 0):
            i += 1
            continue
        j = i + 1
        while j < len(events) and not (events[j]["ev"] == "troupe_bench_mark"
                                       and events[j]["pid"] == cpid and where(events[j]) == 2):
            j += 1
        if j >= len(events):
            break
        window = events[i:j + 1]
        i = j + 1
        t0 = window[0]["t"]
        m1 = next((x for x in window if x["ev"] == "troupe_bench_mark" and where(x) == 1), None)
        if m1 is None:
            continue
        htid = m1["tid"]

        def first(pred, after, before=None):
            for x in window:
                if x["t"] < after or (before is not None and x["t"] > before):
                    continue
                if pred(x):
                    return x
            return None

        c_send = first(lambda x: is_send(x) and x["pid"] == cpid and x["tid"] not in zmq_tids, t0)
        s_recv = first(lambda x: is_recv(x) and x["pid"] == spid and x["tid"] not in zmq_tids, t0,
                       m1["t"])
        s_send = first(lambda x: is_send(x) and x["pid"] == spid, m1["t"])
        if not (c_send and s_recv and s_send):
            continue
        c_recv = first(lambda x: is_recv(x) and x["pid"] == cpid, s_send["t"])
        if not c_recv:
            continue
        m2 = window[-1]
        n_rt += 1
        add("a client: mark 0 -> zmq send (encode, queue, bridge I/O wakeup)", c_send["t"] - t0)
        add("b wire: client zmq send -> server zmq recv (2 ZMQbg hops)", s_recv["t"] - c_send["t"])
        add("c server: zmq recv -> handler runs (decode, enqueue, worker wakeup)",
            m1["t"] - s_recv["t"])
        add("d server: handler -> zmq send (reply encode, queue, bridge I/O wakeup)",
            s_send["t"] - m1["t"])
        add("e wire: server zmq send -> client zmq recv (2 ZMQbg hops)", c_recv["t"] - s_send["t"])
        add("f client: zmq recv -> mark 2 (decode, enqueue, client wakeup)", m2["t"] - c_recv["t"])
        add("= round trip", m2["t"] - t0)
        # Sleep/wake hops: wakeups issued for our threads inside the window.
        wakes = [x for x in window if x["ev"] == "sched_wakeup"
                 and pid_of.get(int(field(x["trace"], "pid") or 0)) in (cpid, spid)]
        add("  wakeups issued in the window", len(wakes))
        # Wakeup latency: sched_wakeup of a thread -> that thread switched in.
        for w in wakes:
            target = int(field(w["trace"], "pid"))
            run = first(lambda x: x["ev"] == "sched_switch"
                        and int(field(x["trace"], "next_pid") or 0) == target, w["t"])
            if run:
                add("  wakeup -> running, per wakeup", run["t"] - w["t"])
        # Thread hand-offs inside the server between recv and handler.
        if htid != s_recv["tid"]:
            w = first(lambda x: x["ev"] == "sched_wakeup"
                      and int(field(x["trace"], "pid") or 0) == htid, s_recv["t"], m1["t"])
            if w:
                add("  server: zmq recv -> wakeup of handler thread (decode + enqueue)",
                    w["t"] - s_recv["t"])
                add("  server: wakeup of handler thread -> handler (wakeup latency + dispatch)",
                    m1["t"] - w["t"])
    print(f"round trips analysed: {n_rt}")
    print("| step | median µs | p90 µs |")
    print("|---|---:|---:|")
    for name in sorted(steps):
        v = sorted(steps[name])
        p90 = v[min(len(v) - 1, int(0.9 * len(v)))]
        print(f"| {name[2:] if name[1] == ' ' else name} | {statistics.median(v):.1f} | {p90:.1f} |")


def chain():
    """Hop-by-hop timeline from scheduler events only (cheap tracepoints, no libzmq probes)."""
    events = list(parse(sys.stdin))
    where = lambda e: int(field(e["trace"], "where") or -1)
    marks = [e for e in events if e["ev"] == "troupe_bench_mark"]
    client = next(e for e in marks if where(e) == 0)
    cpid, ctid = client["pid"], client["tid"]
    handlers = {e["tid"] for e in marks if where(e) == 1}
    spid = next((e["pid"] for e in marks if where(e) == 1 and e["pid"] != cpid), cpid)
    pid_of = {}
    comm_of = {}
    for e in events:
        pid_of[e["tid"]] = e["pid"]
        comm_of[e["tid"]] = e["comm"]
        if e["ev"] == "sched_wakeup":
            comm_of.setdefault(int(field(e["trace"], "pid")), field(e["trace"], "comm"))
    # Threads woken by a ZMQbg thread of their own process (that are not the client or handler)
    # are the bridge's I/O threads.
    bridge = set()
    for e in events:
        if e["ev"] == "sched_wakeup" and e["comm"].startswith("ZMQbg"):
            t = int(field(e["trace"], "pid"))
            if t != ctid and t not in handlers and pid_of.get(t) == e["pid"]:
                bridge.add(t)

    def role(tid):
        side = "C" if pid_of.get(tid) == cpid else "S" if pid_of.get(tid) == spid else "?"
        comm = comm_of.get(tid, "")
        main_comm = comm_of.get(pid_of.get(tid), "")
        unnamed = comm == main_comm and tid != pid_of.get(tid)
        if tid == ctid:
            return side + ".main" + ("" if tid == cpid else "(" + comm + ")")
        if tid in handlers:
            # With actors run on the bridge's I/O thread, the handler thread is that thread.
            return side + ".handler" + ("(shm-io)" if unnamed else "(" + comm + ")")
        if comm.startswith("ZMQbg"):
            return side + ".zmq-io"
        if tid in bridge or comm.startswith("troupe.zmq"):
            return side + ".bridge-io"
        # Unnamed threads (they inherit the program's name) other than the main threads are the
        # shm transport's I/O threads (CAF's threads are named caf.*).
        if unnamed:
            return side + ".shm-io"
        return side + ".other(" + comm + ")"

    rts = []
    i = 0
    while i < len(events):
        e = events[i]
        # Marks are matched by process, not thread: an event-based client (the *-actor paths)
        # may run on any CAF worker or on the bridge's I/O thread.
        if not (e["ev"] == "troupe_bench_mark" and e["pid"] == cpid and where(e) == 0):
            i += 1
            continue
        j = i + 1
        while j < len(events) and not (events[j]["ev"] == "troupe_bench_mark"
                                       and events[j]["pid"] == cpid and where(events[j]) == 2):
            j += 1
        if j >= len(events):
            break
        window = events[i:j + 1]
        i = j + 1
        t0 = window[0]["t"]
        steps = []
        for k, x in enumerate(window):
            if x["ev"] == "troupe_bench_mark" and where(x) == 1:
                steps.append(("handler runs (mark 1) on " + role(x["tid"]), x["t"] - t0))
            elif x["ev"] == "troupe_bench_mark" and k == 0:
                steps.append(("client sends (mark 0) on " + role(x["tid"]), 0.0))
            elif x["ev"] == "sched_wakeup":
                tgt = int(field(x["trace"], "pid"))
                if pid_of.get(tgt) not in (cpid, spid):
                    continue
                label = role(x["tid"]) + " wakes " + role(tgt)
                steps.append((label, x["t"] - t0))
                run = next((y for y in window[k:] if y["ev"] == "sched_switch"
                            and int(field(y["trace"], "next_pid") or 0) == tgt), None)
                if run:
                    steps.append(("  " + role(tgt) + " running", run["t"] - t0))
        steps.sort(key=lambda s: s[1])
        steps.append(("client has the reply (mark 2) on " + role(window[-1]["tid"]),
                      window[-1]["t"] - t0))
        rts.append(steps)
    sigs = {}
    for st in rts:
        sigs.setdefault(tuple(s[0] for s in st), []).append(st)
    best = max(sigs.values(), key=len)
    print(f"round trips: {len(rts)}; most common hop sequence: {len(best)} of them "
          f"({len(sigs)} distinct sequences)")
    print("| step | at µs (median) | since previous |")
    print("|---|---:|---:|")
    prev = 0.0
    for k, (label, _) in enumerate(best[0]):
        at = statistics.median(st[k][1] for st in best)
        print(f"| {label} | {at:.1f} | {at - prev:+.1f} |")
        prev = at


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--chain":
        chain()
    else:
        main()
