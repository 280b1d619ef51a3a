#!/usr/bin/env bash
# The multi-commit cycle: COMMITS commits in a row (default 20), alternately adding and removing a
# second oscillator a fifth above, while the first keeps playing. Expect every commit to swap in
# cleanly: no dropout, no click (each commit crossfades), no failed commit (check with
# /engine/status, see the README). CHRONUS_AS_PATCH=FILE writes the session as a patch file.
source "$(dirname "$0")/_common.sh"
commits=${1:-20}
send /patch/create ss osc1 simple_sine
send /patch/commit
pause 0.5
for ((i = 1; i <= commits; i++)); do
    if ((i % 2)); then
        send /patch/create ss osc2 simple_sine
        send /mod/osc2/freq f 660
        send /mod/osc2/gain f 0.1
    else
        send /patch/delete s osc2
    fi
    send /patch/commit
    pause 0.3
done
