#!/usr/bin/env python3
"""Sends one OSC message to `chronus serve` and prints every reply that comes back within a
second (oscsend cannot: replies go to the sender's port). Standard library only.

    ./osc_query.py /engine/status
    ./osc_query.py /patch/dump
    ./osc_query.py /patch/create osc2 simple_sine     # numbers are sent as floats, words as strings
    ./osc_query.py /patch/commit
"""
import os, socket, struct, sys

HOST = os.environ.get("CHRONUS_HOST", "127.0.0.1")
PORT = int(os.environ.get("CHRONUS_PORT", "57130"))


def pad(b: bytes) -> bytes:
    b += b"\0"
    return b + b"\0" * (-len(b) % 4)


def encode(address, args):
    types, data = ",", b""
    for a in args:
        try:
            data += struct.pack(">f", float(a))
            types += "f"
        except ValueError:
            data += pad(a.encode())
            types += "s"
    return pad(address.encode()) + pad(types.encode()) + data


def read_string(data, pos):
    end = data.index(b"\0", pos)
    return data[pos:end].decode(errors="replace"), (end + 4) & ~3


def decode(data):
    address, pos = read_string(data, 0)
    types, pos = read_string(data, pos)
    args = []
    for t in types[1:]:
        if t == "i":
            args.append(struct.unpack_from(">i", data, pos)[0]); pos += 4
        elif t == "f":
            args.append(round(struct.unpack_from(">f", data, pos)[0], 6)); pos += 4
        elif t == "h":
            args.append(struct.unpack_from(">q", data, pos)[0]); pos += 8
        elif t == "d":
            args.append(struct.unpack_from(">d", data, pos)[0]); pos += 8
        elif t in "sS":
            s, pos = read_string(data, pos)
            args.append(s)
    return address, args


if len(sys.argv) < 2:
    sys.exit(__doc__)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(1.0)
sock.sendto(encode(sys.argv[1], sys.argv[2:]), (HOST, PORT))
wait = 5.0 if sys.argv[1] in ("/patch/commit", "/patch/ir") else 1.0
sock.settimeout(wait)
try:
    while True:
        address, args = decode(sock.recvfrom(65536)[0])
        if address == "/patch/dump":
            print(args[2], end="")  # the patch text; index args[0] of args[1] chunks
        else:
            print(address, *args)
        sock.settimeout(0.3)
except socket.timeout:
    pass
