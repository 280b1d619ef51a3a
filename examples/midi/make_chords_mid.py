#!/usr/bin/env python3
"""Writes examples/midi/chords.mid: a Standard MIDI File (type 1) for examples/midi/keys.patch.

Track 0 holds the tempo (120 BPM, then 90 BPM from bar 3: a tempo change the reader must follow),
track 1 four chords on channel 1, one bar each, the last held by the sustain pedal (CC 64) past
its note-offs, with a pitch bend up a whole tone under it. Run: python3 examples/midi/make_chords_mid.py
"""
import os
import struct

DIVISION = 480  # ticks per quarter note


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def track(events):
    """events: (absolute tick, bytes), written in order with delta times."""
    data, now = b"", 0
    for tick, body in sorted(events, key=lambda e: e[0]):
        data += vlq(tick - now) + body
        now = tick
    data += vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(data)) + data


def tempo(bpm):
    us = round(60_000_000 / bpm)
    return b"\xff\x51\x03" + us.to_bytes(3, "big")


bar = 4 * DIVISION
tempo_track = [(0, tempo(120)), (2 * bar, tempo(90))]
chords = [[48, 60, 64, 67], [45, 60, 64, 69], [41, 60, 65, 69], [43, 62, 67, 71]]
notes = [(0, b"\xff\x03\x05chord")]
for i, chord in enumerate(chords):
    on, off = i * bar, (i + 1) * bar - DIVISION // 4
    for n in chord:
        notes.append((on, bytes([0x90, n, 80 if n >= 60 else 96])))
        notes.append((off, bytes([0x80, n, 64])))
last = 3 * bar
notes.append((last - 10, bytes([0xB0, 64, 127])))  # pedal down before the last chord ends
notes.append((last + bar // 2, bytes([0xE0, 0x00, 0x60])))  # bend up (+8192 * 0.5: one semitone)
notes.append((last + bar + DIVISION, bytes([0xB0, 64, 0])))  # pedal up a beat after the note-offs

header = b"MThd" + struct.pack(">IHHH", 6, 1, 2, DIVISION)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chords.mid")
with open(out, "wb") as f:
    f.write(header + track(tempo_track) + track(notes))
print(out)
