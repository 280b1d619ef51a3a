#!/usr/bin/env python3
"""A timestamped bundle, as scsynth clients send them: the gate opens exactly 0.5 s from now and
closes 0.25 s later, sample-accurately, whatever the network delay. Needs a running
`chronus serve` with env1 (run test2_osc_adsr.sh first). Standard library only."""
import os, socket, struct, time

HOST = os.environ.get("CHRONUS_HOST", "127.0.0.1")
PORT = int(os.environ.get("CHRONUS_PORT", "57130"))
NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


def pad(b: bytes) -> bytes:
    b += b"\0"
    return b + b"\0" * (-len(b) % 4)


def message(address: str, value: int) -> bytes:
    return pad(address.encode()) + pad(b",i") + struct.pack(">i", value)


def bundle(at: float, *messages: bytes) -> bytes:
    t = at + NTP_EPOCH
    sec = int(t)
    frac = int((t - sec) * (1 << 32))
    out = pad(b"#bundle") + struct.pack(">II", sec, frac)
    for m in messages:
        out += struct.pack(">i", len(m)) + m
    return out


now = time.time()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(bundle(now + 0.5, message("/gate/env1", 1)), (HOST, PORT))
sock.sendto(bundle(now + 0.75, message("/gate/env1", 0)), (HOST, PORT))
print("gate opens at +0.5 s, closes at +0.75 s")
