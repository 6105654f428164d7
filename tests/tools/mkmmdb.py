#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a small MaxMind DB (.mmdb) file, for tests (no real GeoLite2 data offline).

    mkmmdb.py OUT.mmdb DATABASE_TYPE SPEC.json

SPEC.json is a JSON object {"CIDR": record, ...}: IPv4 networks go under ::/96
of an IPv6 tree (ip_version 6, as MaxMind's GeoLite2 files). Networks must not
overlap. A record is any JSON value, written with these MMDB types: object ->
map, array -> array, string -> utf8_string, true/false -> boolean, float ->
double, int -> uint32 (uint64 above 2^32-1; negative ints are refused).

Format (MaxMind DB 2.0): binary search tree of node_count nodes, 32-bit records
(left = bit 0, right = bit 1; value < node_count: a node, == node_count: no
data, > node_count: data at value - node_count - 16), 16 zero bytes, the data
section, then "\\xab\\xcd\\xefMaxMind.com" and the metadata map.
Standard library only.
"""
import ipaddress
import json
import struct
import sys

T_POINTER, T_STRING, T_DOUBLE, T_BYTES, T_UINT16, T_UINT32, T_MAP = 1, 2, 3, 4, 5, 6, 7
T_INT32, T_UINT64, T_UINT128, T_ARRAY, T_CONTAINER, T_END, T_BOOL, T_FLOAT = range(8, 16)


def ctrl(typ, size):
    """Control byte(s) for a field of `typ` with `size` (length or count)."""
    if size < 29:
        first, ext = size, b""
    elif size < 29 + 256:
        first, ext = 29, bytes([size - 29])
    elif size < 285 + 65536:
        first, ext = 30, struct.pack(">H", size - 285)
    else:
        first, ext = 31, struct.pack(">I", size - 65821)[1:]
    if typ <= 7:
        return bytes([(typ << 5) | first]) + ext
    return bytes([first, typ - 7]) + ext


def uint_bytes(v):
    b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return b


def encode(v):
    if isinstance(v, bool):
        return ctrl(T_BOOL, 1 if v else 0)
    if isinstance(v, int):
        if v < 0:
            raise ValueError("negative integers are not supported")
        b = uint_bytes(v)
        return ctrl(T_UINT32 if v < 2**32 else T_UINT64, len(b)) + b
    if isinstance(v, float):
        return ctrl(T_DOUBLE, 8) + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        return ctrl(T_STRING, len(b)) + b
    if isinstance(v, dict):
        out = ctrl(T_MAP, len(v))
        for k in sorted(v):
            out += encode(str(k)) + encode(v[k])
        return out
    if isinstance(v, list):
        return ctrl(T_ARRAY, len(v)) + b"".join(encode(x) for x in v)
    raise TypeError("cannot encode %r" % (v,))


class Node:
    __slots__ = ("kids",)

    def __init__(self):
        self.kids = [None, None]  # None (no data), Node, or ("data", offset)


def build(spec):
    data = b""
    offsets = {}
    root = Node()
    for cidr, record in spec.items():
        net = ipaddress.ip_network(cidr, strict=True)
        if net.version == 4:
            bits, plen = int(net.network_address), net.prefixlen + 96
        else:
            bits, plen = int(net.network_address), net.prefixlen
        if plen == 0:
            raise ValueError("a /0 network is not supported")
        blob = encode(record)
        if blob not in offsets:
            offsets[blob] = len(data)
            data += blob
        node = root
        for i in range(plen):
            bit = (bits >> (127 - i)) & 1
            kid = node.kids[bit]
            if i == plen - 1:
                if kid is not None:
                    raise ValueError("%s overlaps another network" % cidr)
                node.kids[bit] = ("data", offsets[blob])
            else:
                if isinstance(kid, tuple):
                    raise ValueError("%s overlaps another network" % cidr)
                if kid is None:
                    kid = node.kids[bit] = Node()
                node = kid
    # number the nodes breadth-first (root = 0)
    order, index = [root], {id(root): 0}
    for n in order:
        for k in n.kids:
            if isinstance(k, Node):
                index[id(k)] = len(order)
                order.append(k)
    count = len(order)
    tree = b""
    for n in order:
        for k in n.kids:
            if k is None:
                val = count
            elif isinstance(k, Node):
                val = index[id(k)]
            else:
                val = count + 16 + k[1]
            tree += struct.pack(">I", val)
    return count, tree, data


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    out, dbtype, spec_path = argv[1:]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    count, tree, data = build(spec)
    meta = {
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": 1700000000,
        "database_type": dbtype,
        "description": {"en": "test database written by tests/tools/mkmmdb.py"},
        "ip_version": 6,
        "languages": ["en"],
        "node_count": count,
        "record_size": 32,
    }
    # the metadata's small unsigned fields are uint16 in MaxMind's files
    enc = ctrl(T_MAP, len(meta))
    for k in sorted(meta):
        v = meta[k]
        enc += encode(k)
        if k in ("binary_format_major_version", "binary_format_minor_version",
                 "ip_version", "record_size"):
            b = uint_bytes(v)
            enc += ctrl(T_UINT16, len(b)) + b
        elif k == "build_epoch":
            b = uint_bytes(v)
            enc += ctrl(T_UINT64, len(b)) + b
        else:
            enc += encode(v)
    with open(out, "wb") as f:
        f.write(tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + enc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
