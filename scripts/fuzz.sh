#!/usr/bin/env bash
# Runs the libFuzzer targets of the `fuzz` preset (ASan + UBSan, halting on the first error) for a
# bounded time each, starting from the committed seed corpus (fuzz/corpus/<target>/) and the seeds
# the build derives from the module descriptors (<build>/fuzz/generated/), copied to a scratch
# directory. A crash leaves its input in <build>/crashers/<target>/ and fails the script;
# once the bug is fixed, copy the input to fuzz/regressions/<target>/, where
# tests/test_fuzz_regressions.cpp replays it with the rest of the suite.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default 45 s each; targets: osc patch_text graph
#        graph_jit midi_file). The build directory is build/fuzz unless CHRONUS_FUZZ_BUILD says otherwise;
#        it is configured and built here if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-45}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(osc patch_text graph graph_jit midi_file)
build=${CHRONUS_FUZZ_BUILD:-build/fuzz}

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake --preset fuzz -B "$build" -DCHRONUS_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
    work="$build/fuzz-work/$t"
    crashes="$build/crashers/$t"
    log="$build/fuzz-$t.log"
    rm -rf "$work"
    mkdir -p "$work" "$crashes"
    cp "fuzz/corpus/${t%_jit}"/* "$work"/
    # From the module descriptors, written by the build (fuzz/make_fuzz_inputs.cpp).
    generated="$build/fuzz/generated"
    [ -d "$generated/corpus/${t%_jit}" ] && cp "$generated/corpus/${t%_jit}"/* "$work"/
    dict=()
    [ -f "$generated/${t%_jit}.dict" ] && dict=(-dict="$generated/${t%_jit}.dict")
    start=$(date +%s)
    if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 \
        "${dict[@]}" -print_final_stats=1 -artifact_prefix="$crashes/" "$work" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz: $t: $result after $(($(date +%s) - start)) s, ${runs:-?} inputs, ${cov:-cov: ?}," \
        "corpus $(ls "$work" | wc -l) (log: $log)"
    if [ "$result" != ok ]; then
        grep -E 'ERROR|runtime error|fuzz target|SUMMARY|Test unit written' "$log" | head -20
    fi
done
exit $status
