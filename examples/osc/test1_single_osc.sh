#!/usr/bin/env bash
# Test 1: a single oscillator. Expect an immediate 440 Hz tone.
# Start the engine first:  chronus serve            (or: chronus serve --device null --record t1.wav)
source "$(dirname "$0")/_common.sh"
send /patch/create osc1 simple_sine
send /patch/commit
