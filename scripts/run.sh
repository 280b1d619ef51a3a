#!/usr/bin/env bash
# Installs what is missing, builds (release) and installs `chronus` into ~/.local/bin (or
# $CHRONUS_PREFIX/bin), so that the README's first session runs as written. With no arguments it
# then renders the full chain example to out/full_chain.wav; any arguments are passed to the
# installed `chronus` instead, e.g. scripts/run.sh modules.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
prefix=${CHRONUS_PREFIX:-$HOME/.local}
cmake --install build/release --prefix "$prefix" >/dev/null
chronus="$prefix/bin/chronus"
if (($#)); then
    exec "$chronus" "$@"
fi
echo "installed $chronus"
case ":$PATH:" in
*":$prefix/bin:"*) ;;
*) echo "$prefix/bin is not on your PATH: run  export PATH=\"$prefix/bin:\$PATH\"  (or log in again)" ;;
esac
mkdir -p out
"$chronus" render examples/test3_full_chain.patch -o out/full_chain.wav --seconds 3
echo "wrote out/full_chain.wav"
