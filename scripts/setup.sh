#!/usr/bin/env bash
# Installs what Chronus needs on Debian 12 (bookworm), skipping what is already there.
set -euo pipefail
# libclang-rt-19-dev: the ASan/UBSan/TSan runtimes, libFuzzer and its FuzzedDataProvider.h (fuzz/);
# lld-19: the linker (a quarter of GNU ld's time on the test programs, which all link LLVM);
# clang-format-19: the format check (ctest -R format); jackd2: the JACK dummy server of the JACK
# tests and soak; liblo-tools: oscsend for the OSC tests; librtmidi-dev: live MIDI (midi/, JACK
# and ALSA); libjack-jackd2-dev: the MIDI tests' own JACK client (named so apt never picks jack1);
# libgraphviz-dev: `chronus graph` draws with libgvc; tmux: the test of `chronus top` on a
# terminal; libxml2-utils: xmllint checks the SVG `chronus graph` writes; python3-minimal: the OSC
# tests' independent client (tests/support/osc_talk.py, standard library only).
# CHRONUS_SETUP_BROWSER=1 also installs chromium (about 120 MB to download), with which the graph
# test checks that a browser shows the SVG; without it that check is skipped with a message.
packages=(
    cmake ninja-build pkg-config
    clang-19 clang-format-19 llvm-19-dev libclang-rt-19-dev lld-19
    libportaudio2 portaudio19-dev liblo-dev liblo-tools
    catch2 libfmt-dev libsndfile1-dev libcli11-dev libgraphviz-dev
    jackd2 libjack-jackd2-dev sox librtmidi-dev tmux libxml2-utils python3-minimal
)
if [ "${CHRONUS_SETUP_BROWSER:-0}" = 1 ]; then
    packages+=(chromium)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    # jackd2 asks about real-time priority; the default answer is fine.
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
