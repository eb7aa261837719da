#!/usr/bin/python3
"""Cross-language test: a Python node speaks the Troupe wire protocol (docs/PROTOCOL.md) to a C++
hub, using nothing but pyzmq and msgpack.

usage: python_client.py PATH/TO/troupe_bridges_hub_server
"""

import os
import subprocess
import sys
import time

import msgpack
import zmq

VERSION = 1
HELLO, HELLO_ACK, MESSAGE, MONITOR, DOWN, LINK, UNLINK, LOOKUP, LOOKUP_REPLY, HEARTBEAT, GOODBYE = range(1, 12)

NORMAL = 1 << 60      # message id category bits of an ordinary message
RESPONSE = 1 << 63    # response flag of a message id

ATOM_CHARS = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def atom(text):
    """CAF atom: 0xF followed by 6 bits per character (at most 10 characters)."""
    value = 0xF
    for c in text:
        value = (value << 6) | ATOM_CHARS.index(c)
    return value


def frame(kind, sender, receiver, mid, body):
    return msgpack.packb([VERSION, kind, sender, receiver, mid, body])


failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    server = subprocess.Popen([sys.argv[1], "tcp://127.0.0.1:*"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        endpoint = server.stdout.readline().strip()
        check(endpoint.startswith("tcp://127.0.0.1:"), "server bound " + endpoint)
        run(server, endpoint)
    finally:
        server.stdin.close()
        rc = server.wait(timeout=10)
        check(rc == 0, "server exited cleanly")
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


def run(server, endpoint):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 3000)
    sock.connect(endpoint)
    me = 1  # our one actor
    heartbeats = []
    unsolicited = []

    def recv_kind(kind):
        """Receives frames until one of `kind`; keeps heartbeats and messages that are no
        responses aside."""
        while True:
            f = msgpack.unpackb(sock.recv(), raw=False)
            check(f[0] == VERSION, "frame has protocol version 1")
            if f[1] == kind and (kind != MESSAGE or f[4] & RESPONSE):
                return f
            if f[1] == HEARTBEAT:
                heartbeats.append(f)
            elif f[1] == MESSAGE:
                unsolicited.append(f)
            elif f[1] == MONITOR:
                check(f[3] == me, "hub watches our actor (monitor frame)")

    # -- handshake --
    host = os.urandom(19) + b"\x01"  # 20 bytes, never all zero
    sock.send(frame(HELLO, 0, 0, 0, ["py", os.getpid(), host, 100, []]))
    ack = recv_kind(HELLO_ACK)
    name, pid, cxx_host, hb_ms, types, *extra = ack[5]
    check(extra and extra[0] >= hb_ms, "hello_ack announces the heartbeat timeout")
    check(name == "cxx", "hello_ack names the node")
    check(isinstance(cxx_host, bytes) and len(cxx_host) == 20, "host id is 20 bytes")
    check(hb_ms > 0, "hello_ack announces a heartbeat interval")
    check(types == sorted(types), "type list is sorted")

    def request(receiver, payload, n):
        sock.send(frame(MESSAGE, me, receiver, NORMAL | n, payload))
        f = recv_kind(MESSAGE)
        check(f[4] == (NORMAL | n | RESPONSE), "response carries the request id %d" % n)
        check(f[3] == me, "response is addressed to the requester")
        return f

    # -- requests by name --
    r = request("calc", [["@i32", [41]]], 1)
    check(r[5] == [["@i32", [42]]], "calc(41) == 42")
    r = request("calc", [["@atom", [atom("add")]], ["@i32", [2]], ["@i32", [3]]], 2)
    check(r[5] == [["@i32", [5]]], "calc(add, 2, 3) == 5 (atom encoding)")
    r = request("calc", [["@str", ["boom"]]], 3)
    code, category, ctx_types, *ctx_values = r[5][0][1]
    check(r[5][0][0] == "@error", "failure comes back as @error")
    check((code, category) == (1, atom("troupe")), "error is troupe/calc_fail")
    check((ctx_types, ctx_values) == ("@<>+@str", ["boom"]), "error context survives")
    r = request("nobody", [["@i32", [1]]], 4)
    check(r[5][0][1][:2] == [3, atom("system")], "unknown name -> sec::request_receiver_down")

    # -- lookup, then address by actor id --
    sock.send(frame(LOOKUP, 0, 0, 77, "echo"))
    reply = recv_kind(LOOKUP_REPLY)
    check(reply[4] == 77 and reply[5] > 0, "lookup returns the actor id of echo")
    echo = reply[5]
    r = request(echo, [["@str", ["hi"]], ["@i32", [-3]], ["double", [0.5]], ["bool", [1]]], 5)
    check(r[5] == [["@str", ["hi"]], ["@i32", [-3]], ["double", [0.5]], ["bool", [1]]],
          "echo by id returns the payload")
    check(r[2] == echo, "response sender is echo")
    sock.send(frame(LOOKUP, 0, 0, 78, "no-such-actor"))
    check(recv_kind(LOOKUP_REPLY)[5] == 0, "lookup of an unknown name returns 0")

    # -- actor handles in payloads and messages initiated by the C++ side --
    r = request("self", [["@i32", [0]]], 6)
    handle = r[5][0][1]
    check(r[5][0][0] == "@actor" and handle[0] == r[2], "handle names the actor id")
    check(handle[1] == atom("default") and handle[2] == pid and bytes(handle[3:]) == cxx_host,
          "handle names the node: 'default', pid, 20 host bytes")
    sock.send(frame(MESSAGE, me, "self", NORMAL, [["@atom", [atom("add")]], ["@i32", [4]]]))
    deadline = time.time() + 3
    while not unsolicited and time.time() < deadline:
        try:
            f = msgpack.unpackb(sock.recv(), raw=False)
        except zmq.Again:
            break
        if f[1] == MESSAGE:
            unsolicited.append(f)
        elif f[1] == HEARTBEAT:
            heartbeats.append(f)
    check(any(f[3] == me and f[5] == [["@i32", [40]]] and not f[4] & RESPONSE
              for f in unsolicited), "C++ actor sends a message to the Python actor")

    # -- bad input leaves the hub serving --
    for junk in [b"", os.urandom(64), b"\x96\x01\x03", msgpack.packb([2, 3, 1, "calc", 0, []]),
                 msgpack.packb([1, 99, 0, 0, 0, None])]:
        sock.send(junk)
    r = request("calc", [["no_such_type", [1]]], 7)
    check(r[5][0][0] == "@error" and r[5][0][1][:2] == [8, atom("troupe")],
          "unknown payload type -> troupe/bad_frame error")
    # A 30,000-deep @message and @error used to overflow the I/O thread's stack (SIGSEGV).
    deep_msg = [["@message", ["@<>+@message"] * 30000 + ["@<>"]]]
    deep_err = [["@error", [1, 0, "@<>+@error"] * 30000 + [1, 0, "@<>"]]]
    for n, deep in ((9, deep_msg), (10, deep_err)):
        r = request("calc", deep, n)
        check(r[5][0][0] == "@error" and r[5][0][1][:2] == [8, atom("troupe")],
              "30,000-deep nesting -> troupe/bad_frame error, not a crash")
    r = request("calc", [["@i32", [1]]], 8)
    check(r[5] == [["@i32", [2]]], "hub still serves after garbage")
    server.stdin.write("stats\n")
    server.stdin.flush()
    stats = server.stdout.readline().strip()
    check(stats.startswith("bad_frames=") and int(stats.split()[0].split("=")[1]) >= 5,
          "hub counted the bad frames (" + stats + ")")

    # -- a hello that opens no session is answered with hello_reject and a reason --
    bad = ctx.socket(zmq.DEALER)
    bad.setsockopt(zmq.LINGER, 0)
    bad.setsockopt(zmq.RCVTIMEO, 3000)
    bad.connect(endpoint)
    bad.send(frame(HELLO, 0, 0, 0, ["py2", os.getpid(), host]))  # 3 fields: malformed
    try:
        f = msgpack.unpackb(bad.recv(), raw=False)
    except zmq.Again:
        f = None
    check(f is not None and f[1] == 12 and isinstance(f[5], str) and "hello" in f[5],
          "a malformed hello gets hello_reject with a reason (%r)" % (f,))
    bad.close()

    # -- heartbeats and goodbye --
    sock.send(frame(HEARTBEAT, 0, 0, 0, None))
    deadline = time.time() + 2
    while not heartbeats and time.time() < deadline:
        f = msgpack.unpackb(sock.recv(), raw=False)
        if f[1] == HEARTBEAT:
            heartbeats.append(f)
    check(len(heartbeats) > 0, "hub sends heartbeats")
    sock.send(frame(GOODBYE, 0, 0, 0, None))
    deadline = time.time() + 3
    peers = None
    while time.time() < deadline:
        server.stdin.write("stats\n")
        server.stdin.flush()
        peers = server.stdout.readline().strip().split()[1]
        if peers == "peers=0":
            break
        time.sleep(0.02)
    check(peers == "peers=0", "goodbye ends the session")
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
