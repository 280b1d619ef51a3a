#!/usr/bin/env bash
# Whole-process cost of `chronus render` (user + system CPU, peak RSS, from /usr/bin/time) on the
# patch users write: N voices (sine -> adsr -> biquad lowpass -> gain) summed into one `master`
# gain input, cold (empty code cache) and warm (the same cache again), and a long chain.
#   bench/render_cost.sh [CHRONUS] [VOICES...]      default: build/release/cli/chronus 1 16 256
# Prints one line per run; medians are the caller's (the machine is shared: run it twice).
set -euo pipefail
bin=${1:-build/release/cli/chronus}
shift || true
voices=("$@")
[ ${#voices[@]} -gt 0 ] || voices=(1 16 256)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

voicesPatch() { # N -> patch text
    echo "/patch/create master gain"
    echo "/patch/create out output"
    echo "/patch/connect master out"
    echo "/mod/master/level 0.01"
    for ((v = 0; v < $1; ++v)); do
        echo "/patch/create o$v simple_sine"
        echo "/mod/o$v/freq $((110 + v))"
        echo "/patch/create e$v adsr"
        echo "/patch/create f$v biquad_filter"
        echo "/patch/create g$v gain"
        echo "/patch/connect o$v e$v"
        echo "/patch/connect e$v f$v"
        echo "/patch/connect f$v g$v"
        echo "/patch/connect g$v master"
        echo "/gate/e$v 1"
    done
    echo "/patch/commit"
}

chainPatch() { # N -> a chain of N gains after one oscillator
    echo "/patch/create m0 simple_sine"
    for ((k = 1; k < $1; ++k)); do
        echo "/patch/create m$k gain"
        echo "/patch/connect m$((k - 1)) m$k"
    done
    echo "/patch/commit"
}

run() { # label, seconds, patch, extra args...
    local label=$1 seconds=$2 patch=$3
    shift 3
    /usr/bin/time -f "%U %S %M" -o "$work/t" "$bin" render "$patch" -o "$work/out.wav" \
        -s "$seconds" -f 64 "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; return 1; }
    read -r user sys rss <"$work/t"
    printf '%-28s cpu %6.2f s (user %5.2f sys %4.2f)  peak RSS %5d MB\n' "$label" \
        "$(echo "$user + $sys" | bc)" "$user" "$sys" $((rss / 1024))
}

for n in "${voices[@]}"; do
    seconds=60
    [ "$n" -ge 256 ] && seconds=20
    voicesPatch "$n" >"$work/v$n.patch"
    rm -rf "$work/cache"
    run "$n voices ${seconds}s cold" "$seconds" "$work/v$n.patch" --cache-dir "$work/cache"
    run "$n voices ${seconds}s warm" "$seconds" "$work/v$n.patch" --cache-dir "$work/cache"
    run "$n voices ${seconds}s no cache" "$seconds" "$work/v$n.patch" --no-cache
done
chainPatch 10000 >"$work/chain.patch"
rm -rf "$work/cache"
run "10000-module chain 1s cold" 1 "$work/chain.patch" --cache-dir "$work/cache"
run "10000-module chain 1s warm" 1 "$work/chain.patch" --cache-dir "$work/cache"
