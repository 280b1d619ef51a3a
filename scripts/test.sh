#!/usr/bin/env bash
# Installs what is missing, builds the debug preset with warnings as errors, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
preset=${CHRONUS_TEST_PRESET:-debug}
cmake --preset "$preset" -DCHRONUS_WERROR=ON >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
