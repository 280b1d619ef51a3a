// What a user pays for `chronus render PATCH`: the whole process, start-up, compile, render and
// exit included, as user + system CPU time of a child process (fork, exec, wait4's rusage). Cold
// with an empty code cache, warm with the cache a cold run filled (render's --cache-dir), when
// render takes that option; without it every run is cold, and the results say so.
#pragma once

#include "base/expected.h"
#include "bench/results.h"
#include "compiler/patch_graph.h"

#include <cstdint>
#include <string>

namespace chronus::bench {

struct ProcessRenderSettings {
    std::string chronus;       ///< the binary; empty: this process's own (/proc/self/exe)
    uint32_t runs = 3;         ///< cold runs, each followed by a warm one
    uint32_t blockFrames = 64; ///< render -f
    float sampleRate = 48000;  ///< render -r
};

/// Does `render` take --cache-dir? (Read from its --help.)
bool renderTakesCacheDir(const ProcessRenderSettings& settings);

/// Renders `graph` (committed once at the start) for `audioSeconds` in child processes, `runs`
/// times cold and, with `warm`, as often warm; fills the CPU, wall-clock and peak-memory spreads.
Expected<ProcessRenderResult> measureProcessRender(const std::string& name, const PatchGraph& graph,
                                                   double audioSeconds, bool warm,
                                                   const ProcessRenderSettings& settings);

} // namespace chronus::bench
