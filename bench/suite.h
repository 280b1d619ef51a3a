// `chronus bench` end to end: builds the workloads, and for each measures commit-to-swap through
// an Engine (recommits; cold commits untiered and tiered; adding a voice to a sine bank), the fused
// compile's phases, and the render cost of the three engines.
#pragma once

#include "base/expected.h"
#include "bench/results.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace chronus::bench {

struct SuiteOptions {
    std::vector<std::string> patchFiles;
    bool builtins = true;
    bool quick = false; ///< fewer, shorter runs: under a minute even in a debug build
    /// Voice counts of the sine and saw banks; empty: 1, 16, 64, 256 (quick: 1, 16, 64, since a
    /// 256-voice patch takes seconds to build in a debug build).
    std::vector<uint32_t> voiceCounts;
    int optLevel = -1; ///< the fused JIT's level; -1: programFactory's default
    uint32_t runs = 0; ///< timed render runs per engine; 0: 41, or 9 with quick
    float sampleRate = 48000;
    uint32_t blockFrames = 64;
    /// Only these built-in workloads ("master-1", "sine-256"; patch files are always measured),
    /// with their whole-render processes; empty: all of them, and the edits of large patches.
    std::vector<std::string> only;
    /// A sine through this many modules in a row, one cold commit (issue 13's 10,000-module
    /// chain); 0: not measured; -1: 10,000 in a full run of every workload, else none. Long
    /// chains are cut into groups of bounded size, so 10,000 modules take seconds.
    int64_t chainModules = -1;
    /// Told what is being measured now (one line, no newline), may be empty.
    std::function<void(const std::string&)> progress;
};

/// Fails only when a workload cannot be built (a bad patch file, an unknown engine); a workload
/// that fails to compile or commit is reported in its WorkloadResult::error.
Expected<BenchResults> runBench(const SuiteOptions& options);

} // namespace chronus::bench
