#!/usr/bin/env bash
# Installs what is missing, then runs every check, timing each stage (wall clock, printed as
# "== test.sh: STAGE (at N s)"):
#   1. the debug build (warnings as errors) and every test with CTest, the 60 s soaks included;
#   2. the `fuzz` preset (asan-ubsan plus libFuzzer's coverage instrumentation), built once for
#      the tests and the four fuzz targets only. The suite again under ASan + UBSan (+ LSan),
#      halting on the first report, but for what stage 1 already covers or ASan cannot measure:
#      the soaks (test_soak), the resident-memory tests (test_engine_memory: they would measure
#      ASan's quarantine), the bench CLI (test_bench_cli: a minute of benchmarks, no new code
#      path) and the format check; the random-graph differentials render 20 % of their graphs
#      (CHRONUS_TEST_RANDOM_PERCENT). Then each libFuzzer target for CHRONUS_FUZZ_SECONDS (15)
#      from the seed corpus (scripts/fuzz.sh);
#   3. TSan over the runtime's threads (preset tsan, those tests only): engine swap, timed events,
#      seeds, control, real-time, null backend, OSC server and end to end, --state, JIT tiers
#      (README, "Reliability", says what TSan cannot see).
# Measured 2026-12-02, `bash .ci/run` from a clean clone on the 2-core machine with the packages
# installed and lld linking, while benchmarks ran beside it: stage 1 build 407 s, ctest 363 s;
# stage 2 build 687 s, ctest 367 s, fuzzers 83 s; stage 3 build 266 s, ctest 41 s: 2,215 s in
# all. CI's own run of the commit before, idle but linking with GNU ld: 1,699 s. Links were ~280 s
# of that (one debug test program: 5.8 s of CPU with GNU ld, 1.5 s with lld).
# CHRONUS_TEST_QUICK=1 stops after stage 1 (local use);
# CHRONUS_TEST_PRESET changes stage 1's preset.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
t0=$(date +%s)
stage() { echo "== test.sh: $1 (at $(($(date +%s) - t0)) s)"; }

stage "setup"
scripts/setup.sh

preset=${CHRONUS_TEST_PRESET:-debug}
stage "$preset: build"
cmake --preset "$preset" -DCHRONUS_WERROR=ON >/dev/null
cmake --build --preset "$preset" -j "$jobs"
stage "$preset: ctest"
ctest --preset "$preset" -j "$jobs"
if [ "${CHRONUS_TEST_QUICK:-0}" = 1 ]; then
    stage "done (stage 1 only: CHRONUS_TEST_QUICK=1 skips ASan+UBSan, fuzzers and TSan)"
    exit 0
fi

# Sanitizers abort on their first report, so a test that trips one fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
# Leaks inside Graphviz and fontconfig (chronus graph) are theirs: scripts/lsan.supp.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export CHRONUS_TEST_RANDOM_PERCENT=${CHRONUS_TEST_RANDOM_PERCENT:-20}

# Every test executable but those stage 2 leaves to stage 1 (see above).
asan_skip='test_soak|test_engine_memory|test_bench_cli'
asan_tests=()
for f in tests/test_*.cpp; do
    t=$(basename "$f" .cpp)
    [[ $t =~ ^($asan_skip)$ ]] || asan_tests+=("$t")
done
stage "asan-ubsan + libFuzzer (preset fuzz): build"
cmake --preset fuzz -DCHRONUS_WERROR=ON >/dev/null
cmake --build --preset fuzz -j "$jobs" --target chronus "${asan_tests[@]}" \
    fuzz_osc fuzz_patch_text fuzz_graph fuzz_graph_jit fuzz_midi_file
stage "asan-ubsan: ctest"
ctest --preset fuzz -j "$jobs" -E "^(($asan_skip)[:_]|format:)"
stage "fuzzers"
CHRONUS_FUZZ_BUILD=build/fuzz scripts/fuzz.sh "${CHRONUS_FUZZ_SECONDS:-15}"

stage "tsan: build"
tsan_tests=(test_engine_swap test_engine_timed test_engine_seeds test_engine_control
    test_engine_realtime test_engine_params test_backend_null test_osc_server test_osc_e2e
    test_state_crash test_jit_tiers)
cmake --preset tsan -DCHRONUS_WERROR=ON >/dev/null
cmake --build --preset tsan -j "$jobs" --target chronus "${tsan_tests[@]}"
stage "tsan: ctest"
ctest --preset tsan -j "$jobs" -R "^($(IFS='|'; echo "${tsan_tests[*]}")):"
stage "done"
