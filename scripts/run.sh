#!/usr/bin/env bash
# Installs what is missing, builds, and runs Chronus's main job. With no arguments it renders the
# seeds' full chain (examples/test3_full_chain.patch) to out/full_chain.wav; any arguments are
# passed to `chronus` instead, e.g. scripts/run.sh modules.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
if (($#)); then
    exec build/release/cli/chronus "$@"
fi
mkdir -p out
build/release/cli/chronus render examples/test3_full_chain.patch -o out/full_chain.wav --seconds 3
echo "wrote out/full_chain.wav"
