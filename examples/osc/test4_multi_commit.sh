#!/usr/bin/env bash
# Seeds' Test 4: each commit adds a module to the last one. Expect each transition smooth, no
# silence: a tone, then the same tone enveloped, then filtered. Each commit crossfades from the
# patch playing into the new one (10 ms, the engine's default; `serve --xfade-ms 0` swaps hard,
# and then the new envelope and filter starting from rest are heard as clicks).
source "$(dirname "$0")/_common.sh"
send /patch/create ss osc1 simple_sine
send /patch/commit
pause 1
send /patch/create ss env1 adsr
send /patch/connect ss osc1 env1
send /gate/env1 i 1
send /patch/commit
pause 1
send /patch/create ss filt1 biquad_filter
send /patch/connect ss env1 filt1
send /mod/filt1/cutoff f 600
send /patch/commit
