// The render plan: a program's work per block, as plain data (no LLVM). Steps run in plan
// order. A group of a shape without a wide entry is one call of its one-instance entry; a run of
// groups of a shape that widens is cut into batches of `lanes` groups none of which reads
// another's signals, each one call of the wide entry (their rows consecutive), the rest one at a
// time. Before a group runs, each of its summed inputs (fusion.h) is added up into its buffer by
// one generic loop (sumSignals), in source order: fan-in is data here, not code. Then the output
// taps are summed in tap order, by the same loop. jit_program.cpp walks it; describe() is the
// text ir() starts with.
#pragma once

#include "compiler/jit/fusion.h"
#include "compiler/jit/shape_abi.h"
#include "compiler/jit/shape_cache.h"
#include "compiler/schedule.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace chronus::jit {

struct RenderPlan {
    /// One step: a shape entry with its instance rows, or sumStep with its list of buffers.
    struct Call {
        ShapeEntryFn fn;
        uint32_t row; ///< index into `rows` of the (first) instance row, or of the sum's list
    };
    std::vector<Call> calls;
    std::vector<uint32_t> rows; ///< the calls' rows (shape_abi.h; sumStep's), back to back
    std::vector<uint32_t> taps; ///< the output taps' buffers, floats from scratch, in tap order
    /// Per call, the groups it runs; for a sum, the group whose input it makes.
    std::vector<std::vector<uint32_t>> callGroups;
    std::vector<int32_t> callInput; ///< per call, the input a sum makes; -1 for a group call
    uint32_t wideGroups = 0;        ///< groups that run in wide calls
    uint32_t sums = 0;              ///< sum steps
};

/// out[f] = ((b0[f] + b1[f]) + b2[f]) ... for f < frames, where buffer k starts at
/// base + offsets[k]: the one loop that adds signals up (summed inputs, output taps), in the
/// order schedule.h defines; `count` >= 1. Audio thread; wait-free.
void sumBuffers(float* out, const float* base, const uint32_t* offsets, uint32_t count,
                uint32_t frames) noexcept;
/// sumBuffers over block buffers, called like a shape entry: `row` is {out, count, offsets...},
/// float offsets into `scratch`. Audio thread; wait-free.
void sumStep(const float* params, std::byte* state, float* scratch, const uint32_t* row,
             uint32_t frames) noexcept;

/// The render plan of `plan` with `shapes` (one per plan shape, in plan order); block buffers
/// of `maxBlock` floats.
RenderPlan planRender(const Schedule& schedule, const FusionPlan& plan,
                      std::span<const SharedShape> shapes, uint32_t maxBlock);

/// The render plan as IR comments: what the program calls, in order, and how the output is made.
std::string describe(const RenderPlan& render, const Schedule& schedule, const FusionPlan& plan,
                     std::span<const SharedShape> shapes);

} // namespace chronus::jit
