// The three measurements of `chronus bench`: render cost of several programs (interleaved run by
// run, so a noisy neighbour slows every engine alike and the ratios hold), the fused compile's
// phases, and commit-to-swap latency through a real Engine.
#pragma once

#include "expected.h"
#include "patch_graph.h"
#include "program.h"
#include "results.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace chronus::bench {

struct RenderSettings {
    uint32_t blockFrames = 64; ///< frames per render call, as a real-time callback would ask
    float sampleRate = 48000;
    double warmupMs = 100; ///< per program, before any timed run (and at least 4 blocks)
    double runMs = 5;      ///< aim for one timed run (a whole number of blocks, at least one)
    uint32_t runs = 41;
};

/// Renders each program from a fresh state with its schedule's initial parameters, denormals
/// flushed as in the audio callback: a warm-up, then `runs` rounds in which every program renders
/// one timed run. Fills nsPerSample, nsPerVoiceSample, blockLoad, voicesPerCore, runs and
/// blocksPerRun of one EngineResult per program, in order.
std::vector<EngineResult> measureRender(const std::vector<Program*>& programs, uint32_t voices,
                                        const RenderSettings& settings);

/// The fused program's compiles for `schedule` at `optLevel`: `runs` cold compiles with
/// compileJit and the shape cache off (phases from JitTimings), then `runs` more through
/// `factory` after one that fills the shape cache. The last program is kept for rendering.
struct CompiledFused {
    std::unique_ptr<Program> program;
    CompileResult compile;
};
Expected<CompiledFused> measureCompiles(const Schedule& schedule, int optLevel,
                                        const ProgramFactory& factory, uint32_t runs);

struct CommitSettings {
    float sampleRate = 48000;
    uint32_t blockFrames = 64;
    uint32_t recommits = 5;   ///< commits after the first, each with the audio running in between
    uint32_t coldCommits = 3; ///< commits through an engine whose compiles skip the shape cache
    double playMs = 20;       ///< audio rendered between commits
};

/// Builds an Engine with `factory`, applies `graph` through its control API, starts the null
/// backend (a clock-paced audio thread) and commits 1 + recommits times, `playMs` apart; each
/// time from commit() to the report that the audio thread swapped the program in. Then the same
/// with an engine whose JIT compiles at `optLevel` without the shape cache, coldCommits times.
Expected<CommitResult> measureCommits(const PatchGraph& graph, const ProgramFactory& factory,
                                      int optLevel, const CommitSettings& settings);

} // namespace chronus::bench
