"""Wire protocol v1 (docs/PROTOCOL.md): frames, atoms and the value mapping."""

import msgpack

VERSION = 1
(HELLO, HELLO_ACK, MESSAGE, MONITOR, DOWN, LINK, UNLINK, LOOKUP, LOOKUP_REPLY, HEARTBEAT,
 GOODBYE, HELLO_REJECT) = range(1, 13)
NORMAL = 1 << 60
RESPONSE = 1 << 63
ID_MASK = (1 << 60) - 1
ATOM_CHARS = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def atom_value(text):
    if len(text) > 10:
        raise ValueError("atom %r is longer than 10 characters" % text)
    value = 0xF
    for c in text:
        i = ATOM_CHARS.find(c)
        if i < 0:
            raise ValueError("atom %r: character %r is not in [ 0-9A-Z_a-z]" % (text, c))
        value = (value << 6) | i
    return value


def atom_text(value):
    chars = []
    while value > 0xF:
        chars.append(ATOM_CHARS[value & 0x3F])
        value >>= 6
    return "".join(reversed(chars)).lstrip(" ")


class Atom(str):
    """A CAF atom, e.g. Atom("add"). Compares equal to its text."""

    def __new__(cls, text):
        atom_value(text)
        return super().__new__(cls, text)

    def __repr__(self):
        return "Atom(%s)" % str.__repr__(self)


class I64(int):
    """An int sent as @i64 (plain ints go as @i32 when they fit)."""


class ActorRef:
    """A handle to an actor on a Troupe node (actor id + node identity)."""

    __slots__ = ("aid", "pid", "host")

    def __init__(self, aid, pid, host):
        self.aid, self.pid, self.host = aid, pid, bytes(host)

    def __eq__(self, other):
        return isinstance(other, ActorRef) and (self.aid, self.pid, self.host) == (
            other.aid, other.pid, other.host)

    def __hash__(self):
        return hash((self.aid, self.pid, self.host))

    def __repr__(self):
        return "ActorRef(aid=%d, pid=%d, host=%s)" % (self.aid, self.pid, self.host.hex()[:8])


SYSTEM, EXIT, TROUPE = atom_value("system"), atom_value("exit"), atom_value("troupe")


class TroupeError(Exception):
    """An error from a Troupe node (caf::error): category ('system', 'exit', 'troupe'),
    numeric code and the context values."""

    def __init__(self, category, code, context=()):
        self.category, self.code, self.context = category, code, list(context)
        super().__init__("%s/%d%s" % (category, code,
                                     (": " + ", ".join(map(str, self.context))) if self.context
                                     else ""))


def frame(kind, sender, receiver, mid, body):
    return msgpack.packb([VERSION, kind, sender, receiver, mid, body], use_bin_type=True)


def unframe(data):
    f = msgpack.unpackb(data, raw=False)
    if not isinstance(f, list) or len(f) != 6 or f[0] != VERSION:
        raise ValueError("not a protocol v1 frame")
    return f


def handle_values(ref):
    return [ref.aid, atom_value("default"), ref.pid] + list(ref.host)


def encode_value(v):
    """One Python value -> one payload element [type_name, [values...]]."""
    if isinstance(v, bool):
        return ["bool", [int(v)]]
    if isinstance(v, Atom):
        return ["@atom", [atom_value(v)]]
    if isinstance(v, I64):
        return ["@i64", [int(v)]]
    if isinstance(v, int):
        if -2**31 <= v < 2**31:
            return ["@i32", [v]]
        if -2**63 <= v < 2**63:
            return ["@i64", [v]]
        if v < 2**64:
            return ["@u64", [v]]
        raise OverflowError("int %d does not fit 64 bits" % v)
    if isinstance(v, float):
        return ["double", [v]]
    if isinstance(v, str):
        return ["@str", [v]]
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        return ["@charbuf", [len(b), b] if b else [0]]  # count, then one bin if non-empty
    if isinstance(v, ActorRef):
        return ["@actor", handle_values(v)]
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) and not isinstance(x, Atom)
                                            for x in v):
        return ["@strvec", [len(v)] + list(v)]
    if isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str)
                                   for k, x in v.items()):
        flat = [len(v)]
        for k in sorted(v):
            flat += [k, v[k]]
        return ["@strmap", flat]
    raise TypeError("no Troupe builtin type for %r (%s); lists must hold strings"
                    % (v, type(v).__name__))


def encode_payload(args):
    return [encode_value(a) for a in args]


def _decode_handle(vals, i):
    aid = vals[i]
    if vals[i + 1] != atom_value("default"):
        return None, i + 2  # invalid node id: aid, then an empty implementation
    pid = vals[i + 2]
    host = bytes(vals[i + 3:i + 23])
    return (ActorRef(aid, pid, host) if aid else None), i + 23


def _decode_nested(vals, i):
    """A nested message (§5.4): a type string then the flat values; returns (list, next)."""
    types = vals[i]
    i += 1
    if not isinstance(types, str) or not types.startswith("@<>"):
        raise ValueError("bad nested message header %r" % (types,))
    out = []
    for t in [x for x in types[3:].split("+") if x]:
        v, i = _decode_flat(t, vals, i)
        out.append(v)
    return out, i


def _decode_error(vals, i):
    code, cat = vals[i], vals[i + 1]
    if cat == 0 and code == 0:
        return None, i + 2
    ctx, i = _decode_nested(vals, i + 2)
    return TroupeError(atom_text(cat), code, ctx), i


def _decode_flat(t, vals, i):
    if t in ("@i8", "@i16", "@i32", "@i64", "@u8", "@u16", "@u32", "@u64", "@timespan",
             "@timestamp"):
        return vals[i], i + 1
    if t == "bool":
        return bool(vals[i]), i + 1
    if t in ("float", "double", "@ldouble"):
        return float(vals[i]), i + 1
    if t == "@str":
        return vals[i], i + 1
    if t in ("@u16str", "@u32str"):
        return "".join(map(chr, vals[i])), i + 1
    if t == "@atom":
        return Atom(atom_text(vals[i])), i + 1
    if t in ("@strvec", "@strset"):
        n = vals[i]
        return list(vals[i + 1:i + 1 + n]), i + 1 + n
    if t == "@strmap":
        n = vals[i]
        kv = vals[i + 1:i + 1 + 2 * n]
        return dict(zip(kv[0::2], kv[1::2])), i + 1 + 2 * n
    if t == "@charbuf":
        n = vals[i]
        if n == 0:
            return b"", i + 1
        if isinstance(vals[i + 1], bytes):
            return vals[i + 1], i + 2
        return bytes(x & 0xFF for x in vals[i + 1:i + 1 + n]), i + 1 + n
    if t == "@unit":
        return None, i
    if t == "@error":
        return _decode_error(vals, i)
    if t in ("@actor", "@strong_actor_ptr", "@addr"):
        return _decode_handle(vals, i)
    if t in ("@down", "@exit"):
        src, i = _decode_handle(vals, i)
        reason, i = _decode_error(vals, i)
        return (src, reason), i
    if t == "@message":
        return _decode_nested(vals, i)
    raise ValueError("type %r is not a builtin type this client decodes" % t)


def decode_element(elem):
    t, vals = elem
    v, i = _decode_flat(t, vals, 0)
    if i != len(vals):
        raise ValueError("element %r: %d values left over" % (t, len(vals) - i))
    return t, v


def decode_payload(payload):
    """payload -> list of Python values; an @error element becomes a TroupeError value."""
    return [decode_element(e)[1] for e in payload]
