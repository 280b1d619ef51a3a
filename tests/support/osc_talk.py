#!/usr/bin/env python3
"""An OSC client independent of Chronus' own code (Python's standard library only, as Debian's
python3-minimal has it): the OSC tests check the server against it.

    osc_talk.py PORT [--watch] [--timeout S] 'ADDRESS ARG ...' ...

Sends each message from one UDP socket (replies come back to it), then `/sync 999999`, and
reads replies until `/synced 999999` (the server answers a sync once everything sent before
it is done). With --watch a second socket subscribes first (`/notify 1`) and what it is told is
collected too. Prints one reply a line: `A|B <TAB> address <TAB> typetags <TAB> arg <TAB> ...`
(A: the sender's socket, B: the watcher's). Arguments: `i:5`, `f:1.5`, `s:text`, or bare: a whole
number is an int32, another number a float32, anything else a string. Exits 1 on a timeout.
"""
import select
import socket
import struct
import sys
import time

LAST_SYNC = 999999


def pad(b):
    return b + b"\0" * (4 - len(b) % 4)


def encode(address, args):
    tags, data = ",", b""
    for a in args:
        if isinstance(a, int):
            tags += "i"
            data += struct.pack(">i", a)
        elif isinstance(a, float):
            tags += "f"
            data += struct.pack(">f", a)
        else:
            tags += "s"
            data += pad(a.encode())
    return pad(address.encode()) + pad(tags.encode()) + data


def typed(token):
    if token[:2] in ("i:", "f:", "s:"):
        kind, text = token[0], token[2:]
        return int(text) if kind == "i" else float(text) if kind == "f" else text
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return token


def read_string(data, at):
    end = data.index(b"\0", at)
    return data[at:end].decode(), (end + 4) & ~3


def decode(data):
    address, at = read_string(data, 0)
    tags, at = read_string(data, at) if at < len(data) else (",", at)
    args = []
    for t in tags[1:]:
        if t == "i":
            args.append(str(struct.unpack_from(">i", data, at)[0]))
            at += 4
        elif t == "f":
            args.append(repr(struct.unpack_from(">f", data, at)[0]))
            at += 4
        elif t == "h":
            args.append(str(struct.unpack_from(">q", data, at)[0]))
            at += 8
        elif t == "d":
            args.append(repr(struct.unpack_from(">d", data, at)[0]))
            at += 8
        elif t == "s":
            s, at = read_string(data, at)
            args.append(s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t"))
        else:
            args.append("?" + t)
    return address, tags[1:], args


def main(argv):
    port, watch, timeout, messages = int(argv[1]), False, 10.0, []
    rest = argv[2:]
    while rest:
        a = rest.pop(0)
        if a == "--watch":
            watch = True
        elif a == "--timeout":
            timeout = float(rest.pop(0))
        else:
            messages.append(a)
    server = ("127.0.0.1", port)
    sockets = {"A": socket.socket(socket.AF_INET, socket.SOCK_DGRAM)}
    if watch:
        sockets["B"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in sockets.values():
        s.bind(("127.0.0.1", 0))
    lines, deadline = [], time.monotonic() + timeout

    def pump(until_label, until_address, until_args):
        while time.monotonic() < deadline:
            ready, _, _ = select.select(list(sockets.values()), [], [], 0.05)
            for label, s in sockets.items():
                if s in ready:
                    address, tags, args = decode(s.recv(65536))
                    lines.append("\t".join([label, address, tags] + args))
                    if label == until_label and address == until_address and args == until_args:
                        return True
        return False

    ok = True
    if watch:
        sockets["B"].sendto(encode("/notify", [1]), server)
        ok = pump("B", "/done", ["/notify", "1"])
    for m in messages:
        tokens = m.split(" ")
        sockets["A"].sendto(encode(tokens[0], [typed(t) for t in tokens[1:] if t != ""]), server)
    sockets["A"].sendto(encode("/sync", [LAST_SYNC]), server)
    ok = ok and pump("A", "/synced", [str(LAST_SYNC)])
    if ok and watch:
        # What the watcher is told comes from other threads of the server: a moment more.
        deadline = time.monotonic() + 0.3
        pump(None, None, None)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
