#!/usr/bin/python3
"""Connects to a CURVE-protected node three ways (plain, a stranger's key pair, the app's key pair)
and prints what each got back for a hello: "nothing" or the frame kind.

usage: curve_probe.py ENDPOINT KEY_FILE
"""
import os, sys, zmq, msgpack
ep = sys.argv[1]
def attempt(opts):
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER); s.setsockopt(zmq.LINGER, 0); s.setsockopt(zmq.RCVTIMEO, 2000)
    for k, v in opts.items(): s.setsockopt(k, v)
    s.connect(ep)
    s.send(msgpack.packb([1, 1, 0, 0, 0, ["probe", os.getpid(), os.urandom(19) + b"\x01", 100, []]]))
    try:
        f = msgpack.unpackb(s.recv(), raw=False); r = "kind %d" % f[1]
    except zmq.Again:
        r = "nothing"
    s.close(); ctx.term(); return r
keys = dict(l.split(" = ") for l in open(sys.argv[2]).read().splitlines() if " = " in l)
pub, sec = [keys[k].strip('"').encode() for k in ("public", "secret")]
opub, osec = zmq.curve_keypair()
print("plain:", attempt({}))
print("own keys:", attempt({zmq.CURVE_SERVERKEY: pub, zmq.CURVE_PUBLICKEY: opub, zmq.CURVE_SECRETKEY: osec}))
print("app keys:", attempt({zmq.CURVE_SERVERKEY: pub, zmq.CURVE_PUBLICKEY: pub, zmq.CURVE_SECRETKEY: sec}))
