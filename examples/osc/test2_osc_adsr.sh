#!/usr/bin/env bash
# Test 2: oscillator + ADSR. Expect attack, decay to sustain; the gate closes after 2 s
# (release), then opens again.
source "$(dirname "$0")/_common.sh"
send /patch/create osc1 simple_sine
send /patch/create env1 adsr
send /patch/connect osc1 env1
send /gate/env1 1
send /patch/commit
pause 2
send /gate/env1 0
pause 1
send /gate/env1 1
