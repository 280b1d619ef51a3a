#!/usr/bin/env bash
# Installs what is missing, then runs every check, timing each stage:
#   1. the debug build (warnings as errors) and every test with CTest, the 60 s soak included;
#   2. the `fuzz` preset, built once: asan-ubsan plus libFuzzer's coverage instrumentation. The
#      whole suite again under ASan + UBSan, halting on the first error (but for the soak's
#      one-minute runs and the resident-memory tests, which measure ASan's quarantine there:
#      stage 1 runs them), then each libFuzzer target for CHRONUS_FUZZ_SECONDS (45) from the seed
#      corpus (scripts/fuzz.sh);
#   3. TSan over the runtime's threads: the tsan preset, the engine, swap, timed-event, seeds,
#      real-time, backend, OSC and --state tests (README, "Reliability", says what TSan cannot
#      see).
# By default only stage 1 runs; CHRONUS_TEST_FULL=1 runs all three. CHRONUS_TEST_PRESET changes stage 1's preset.
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
# The sanitizer and fuzzing stages are opt-in until they have been run green on the tree with
# the shape cache and tiered compiles (see the notes); CI runs stage 1.
if [ "${CHRONUS_TEST_FULL:-0}" != 1 ] || [ "${CHRONUS_TEST_QUICK:-0}" = 1 ]; then
    stage "done (debug suite; CHRONUS_TEST_FULL=1 adds ASan+UBSan, fuzzers and TSan)"
    exit 0
fi

# Sanitizers abort on their first report, so a test that trips one fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

stage "asan-ubsan + libFuzzer (preset fuzz): build"
cmake --preset fuzz -DCHRONUS_WERROR=ON >/dev/null
cmake --build --preset fuzz -j "$jobs"
stage "asan-ubsan: ctest"
ctest --preset fuzz -j "$jobs" -E 'test_soak:chronus soak|test_engine_memory:'
stage "fuzzers"
CHRONUS_FUZZ_BUILD=build/fuzz scripts/fuzz.sh "${CHRONUS_FUZZ_SECONDS:-45}"

stage "tsan: build"
tsan_tests=(test_engine_swap test_engine_timed test_engine_seeds test_engine_control
    test_engine_realtime test_backend_null test_osc_server test_osc_e2e test_state_crash)
cmake --preset tsan -DCHRONUS_WERROR=ON >/dev/null
cmake --build --preset tsan -j "$jobs" --target chronus "${tsan_tests[@]}"
stage "tsan: ctest"
ctest --preset tsan -j "$jobs" -R "^($(IFS='|'; echo "${tsan_tests[*]}")):"
stage "done"
