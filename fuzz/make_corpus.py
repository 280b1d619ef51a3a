#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into fuzz/corpus/<target>/ (run from anywhere).

osc:        OSC datagrams built byte by byte: the seeds' scenarios as sessions (several datagrams
            in OSC 1.0 stream framing: a 32-bit big-endian size before each), every argument type,
            bundles (immediate, future, nested) and malformed packets.
patch_text: the example patches and a few lines at the edges of the format.
graph:      byte strings for FuzzedDataProvider (the input decides each edit).

The corpus is committed; rerun this only to change the seeds. libFuzzer adds what it finds to a
scratch copy (scripts/fuzz.sh), never to this directory. What follows from the module descriptors
(the dictionaries, a seed per module type) is written at build time by fuzz/make_fuzz_inputs.cpp,
so that a new module type is fuzzed with no change here.
"""
import os
import random
import shutil
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))


def pad(b: bytes) -> bytes:
    return b + b"\0" * (4 - len(b) % 4)


def s(text: str) -> bytes:
    return pad(text.encode())


def message(address: str, *args) -> bytes:
    tags, data = ",", b""
    for a in args:
        if isinstance(a, bool):
            tags += "T" if a else "F"
        elif isinstance(a, int):
            tags += "i"
            data += struct.pack(">i", a)
        elif isinstance(a, float):
            tags += "f"
            data += struct.pack(">f", a)
        elif isinstance(a, tuple) and a[0] == "d":
            tags += "d"
            data += struct.pack(">d", a[1])
        elif isinstance(a, tuple) and a[0] == "h":
            tags += "h"
            data += struct.pack(">q", a[1])
        elif isinstance(a, tuple) and a[0] == "S":
            tags += "S"
            data += s(a[1])
        elif isinstance(a, tuple) and a[0] == "b":
            tags += "b"
            data += struct.pack(">i", len(a[1])) + a[1] + b"\0" * (-len(a[1]) % 4)
        else:
            tags += "s"
            data += s(a)
    return s(address) + s(tags) + data


def bundle(timetag: int, *elements: bytes) -> bytes:
    out = b"#bundle\0" + struct.pack(">Q", timetag)
    for e in elements:
        out += struct.pack(">i", len(e)) + e
    return out


def session(*datagrams: bytes) -> bytes:
    return b"".join(struct.pack(">i", len(d)) + d for d in datagrams)


IMMEDIATE = 1
FUTURE = (0xFFFFFFF0 << 32)  # far ahead: refused (more than an hour) or scheduled
NEAR = (3_900_000_000 << 32)  # 2093: ahead of any clock this runs on, but an hour is the limit

OSC = {
    "test1_single_osc": session(message("/patch/create", "osc1", "simple_sine"),
                                message("/patch/commit")),
    "test2_osc_adsr": session(message("/patch/create", "osc1", "simple_sine"),
                              message("/patch/create", "env1", "adsr"),
                              message("/patch/connect", "osc1", "env1"),
                              message("/gate/env1", 1), message("/patch/commit")),
    "test3_full_chain": session(message("/patch/create", "osc1", "simple_sine"),
                                message("/patch/create", "env1", "adsr"),
                                message("/patch/create", "filt1", "biquad_filter"),
                                message("/patch/connect", "osc1", "env1"),
                                message("/patch/connect", "env1", "filt1"),
                                message("/mod/filt1/cutoff", 400.0), message("/gate/env1", 1),
                                message("/patch/commit")),
    "test4_multi_commit": session(message("/patch/create", "osc1", "simple_sine"),
                                  message("/patch/commit"),
                                  message("/patch/create", "env1", "adsr"),
                                  message("/patch/connect", "osc1", "env1"),
                                  message("/patch/commit"),
                                  message("/patch/create", "filt1", "biquad_filter"),
                                  message("/patch/connect", "env1", "filt1"),
                                  message("/patch/commit"), message("/patch/delete", "filt1"),
                                  message("/patch/delete", "env1"), message("/patch/commit"),
                                  message("/patch/dump")),
    "mod_types": session(message("/patch/create", "osc1", "simple_sine"),
                         message("/patch/create", "f", "biquad"), message("/patch/connect", "osc1", "f"),
                         message("/patch/commit"), message("/mod/osc1/freq", 330),
                         message("/mod/osc1/freq", ("d", 220.5)), message("/mod/osc1/gain", ("h", 0)),
                         message("/mod/f/mode", "hp"), message("/mod/f/mode", ("S", "notch")),
                         message("/mod/osc1/freq", 1e30), message("/mod/nope/freq", 1.0),
                         message("/engine/status")),
    "modulation": session(message("/patch/create", "lfo1", "lfo"),
                          message("/patch/create", "osc1", "simple_sine"),
                          message("/patch/create", "d1", "delay", 0.5),
                          message("/patch/connect", "lfo1", "osc1:freq"),
                          message("/patch/connect", "osc1", "d1"),
                          message("/patch/connect", "d1:wet", "d1"),
                          message("/patch/commit"), message("/patch/disconnect", "lfo1", "osc1:freq"),
                          message("/patch/abort"), message("/patch/commit")),
    "bundle_now": bundle(IMMEDIATE, message("/patch/create", "osc1", "simple_sine"),
                         message("/mod/osc1/freq", 550.0), message("/patch/commit")),
    "bundle_future": session(message("/patch/create", "osc1", "simple_sine"),
                             message("/patch/commit"),
                             bundle(NEAR, message("/mod/osc1/freq", 330.0), message("/gate/osc1", 1))),
    "bundle_nested": bundle(IMMEDIATE, bundle(IMMEDIATE, message("/patch/create", "a", "saw")),
                            bundle(FUTURE, message("/mod/a/freq", 100.0)), message("/patch/commit")),
    "poly_notes": session(message("/voice/begin", "pad"), message("/patch/create", "osc", "saw"),
                          message("/patch/create", "lp", "biquad_filter"),
                          message("/patch/create", "env", "adsr"),
                          message("/patch/connect", "osc", "lp"), message("/patch/connect", "lp", "env"),
                          message("/mod/lp/cutoff", 1800.0), message("/voice/end"),
                          message("/voice/map", "pad", "pitch", "osc:freq"),
                          message("/voice/map", "pad", "gate", "env:gate"),
                          message("/voice/map", "pad", "velocity", "osc:gain", 0.05, 0.35),
                          message("/patch/create", "keys", "poly", "pad", 4),
                          message("/patch/create", "o", "output"),
                          message("/patch/connect", "keys", "o:left"),
                          message("/note/on", "keys", 60, 100), message("/patch/commit"),
                          message("/note/on", "keys", 64, 90), message("/note/pedal", "keys", 1),
                          message("/note/off", "keys", 60), message("/note/bend", "keys", -1.5),
                          message("/mod/keys/lp.cutoff", 900.0), message("/mod/keys/lp.cutoff"),
                          message("/mod/keys.1.lp/q", 2.0), message("/note/pedal", "keys", 0),
                          message("/voice/begin", "pad"), message("/mod/env/release", 50.0),
                          message("/voice/end"), message("/patch/commit"),
                          bundle(NEAR, message("/note/on", "keys", 67, 80),
                                 message("/note/off", "keys", 67)),
                          message("/patch/dump")),
    "midi_routes": session(message("/voice/begin", "v"), message("/patch/create", "s", "simple_sine"),
                           message("/patch/create", "e", "adsr"), message("/patch/connect", "s", "e"),
                           message("/voice/end"), message("/voice/map", "v", "pitch", "s:freq"),
                           message("/voice/map", "v", "gate", "e:gate"),
                           message("/patch/create", "p", "poly", "v", 2),
                           message("/patch/create", "x", "pan"), message("/patch/connect", "p", "x"),
                           message("/patch/create", "m", "multiply"),
                           message("/patch/create", "i", "input", 1.0),
                           message("/patch/connect", "i", "m:a"), message("/patch/commit"),
                           message("/midi/route", 2, "p"), message("/midi/cc", 1, 74, "x:pos"),
                           message("/midi/cc", 1, 71, "p:s.gain", 0.0, 0.5),
                           message("/midi/bend", 12.0), message("/mod/x/pos"),
                           message("/patch/list"), message("/patch/list", "pending"),
                           message("/patch/list", "playing"), message("/modules"),
                           message("/status"), message("/version"), message("/sync", 7),
                           message("/notify", 1), message("/patch/dump")),
    "bad_size": message("/patch/commit")[:-1],
    "bad_unterminated": b"/patch/create\x01\x02\x03",
    "bad_blob": message("/patch/create", ("b", b"\x01\x02\x03"), "x"),
    "bad_array": s("/patch/create") + s(",[s]") + s("x"),
    "bad_bundle": b"#bundle\0" + struct.pack(">Q", 1) + struct.pack(">i", 1000) + b"abcd",
    "queries": session(message("/patch/dump"), message("/engine/status"), message("/patch/ir"),
                       message("/patch/ir", "asm"), message("/engine/quit"), message("/nope", True)),
}

PATCH_EDGES = """# edges of the patch-file format
/patch/create 1 simple_sine
/patch/create osc.2 saw 0
/mod/1/freq -20000
/mod/osc.2/freq 1e3
@0.5 /gate/1 1
/patch/connect 1:out osc.2:freq
/patch/create m mix 4
/patch/connect osc.2 m:in3
/mod/m/level3 0.25
/patch/commit
"""

PATCH_POLY_EDGES = """# edges of voices, notes, MIDI routes and channels in a patch file
/voice/begin v.1
/patch/create o saw
/patch/create e adsr
/patch/connect o e
/mod/e/release 5
/voice/end
/voice/map v.1 pitch o:freq
/voice/map v.1 gate e:gate
/voice/map v.1 velocity o:gain 0 1
/patch/create p poly v.1 3
/patch/create pn pan
/patch/connect p pn
/patch/create out output 2
/patch/connect pn:left out:left
/patch/connect pn:right out:right
/mod/p/e.attack 2
/note/on p 60 127
/patch/commit
/midi/route 16 p
/midi/cc 16 1 p:o.gain
/midi/bend 0
@0.01 /note/on p 127 1
@0.01 /note/pedal p 1
@0.02 /note/off p 127
@0.02 /note/bend p 48
@0.03 /mod/p/e.release 100
@0.04 /note/pedal p 0
/voice/begin v.1
/patch/delete e
/voice/end
/patch/commit
"""


def write(target: str, name: str, data: bytes) -> None:
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main() -> None:
    for target in ("osc", "patch_text", "graph"):
        shutil.rmtree(os.path.join(ROOT, "corpus", target), ignore_errors=True)
    for name, data in OSC.items():
        write("osc", name, data)
    examples = os.path.join(ROOT, "..", "examples")
    for f in sorted(os.listdir(examples)):
        if f.endswith(".patch"):
            with open(os.path.join(examples, f), "rb") as src:
                write("patch_text", f, src.read())
    write("patch_text", "edges.patch", PATCH_EDGES.encode())
    write("patch_text", "poly_edges.patch", PATCH_POLY_EDGES.encode())
    with open(os.path.join(examples, "midi", "keys.patch"), "rb") as src:
        write("patch_text", "midi_keys.patch", src.read())
    rng = random.Random(7)
    for i in range(12):
        write("graph", f"random_{i:02}", bytes(rng.randrange(256) for _ in range(64 + 48 * i)))


if __name__ == "__main__":
    main()
