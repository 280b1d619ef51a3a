#!/usr/bin/env bash
# Seeds' Test 3: oscillator -> ADSR -> biquad lowpass: a filtered envelope tone. Then the filter is
# swept down while it plays (each step glides), and switched to high-pass by name (the filter
# crossfades its modes over 5 ms: no click).
source "$(dirname "$0")/_common.sh"
send /patch/create ss osc1 simple_sine
send /patch/create ss env1 adsr
send /patch/create ss filt1 biquad_filter
send /patch/connect ss osc1 env1
send /patch/connect ss env1 filt1
send /gate/env1 i 1
send /patch/commit
pause 1
for cutoff in 800 400 200 110; do
    send /mod/filt1/cutoff f "$cutoff"
    pause 0.5
done
send /mod/filt1/mode s hp
