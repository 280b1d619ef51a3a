#!/usr/bin/env bash
# Test 3: oscillator -> ADSR -> biquad lowpass: a filtered envelope tone. Then the filter is
# swept down while it plays (each step glides), and switched to high-pass by name (the filter
# crossfades its modes over 5 ms: no click).
source "$(dirname "$0")/_common.sh"
send /patch/create osc1 simple_sine
send /patch/create env1 adsr
send /patch/create filt1 biquad_filter
send /patch/connect osc1 env1
send /patch/connect env1 filt1
send /gate/env1 1
send /patch/commit
pause 1
for cutoff in 800 400 200 110; do
    send /mod/filt1/cutoff "$cutoff"
    pause 0.5
done
send /mod/filt1/mode hp
