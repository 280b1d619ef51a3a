// The render plan: a program's work per block, as plain data (no LLVM). The groups run in plan
// order: a group of a shape without a wide entry is one call of its one-instance entry; a run of
// groups of a shape that widens is cut into batches of `lanes` groups none of which reads
// another's signals, each one call of the wide entry (their rows consecutive), the rest one at a
// time. Then the output taps are summed in tap order. jit_program.cpp walks it; describe() is the
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
    struct Call {
        ShapeEntryFn fn;
        uint32_t row; ///< index into `rows` of the (first) instance row it runs
    };
    std::vector<Call> calls;
    std::vector<uint32_t> rows; ///< the calls' instance rows (shape_abi.h), back to back
    std::vector<uint32_t> taps; ///< the output taps' buffers, floats from scratch, in tap order
    std::vector<std::vector<uint32_t>> callGroups; ///< per call, the groups it runs
    uint32_t wideGroups = 0;                       ///< groups that run in wide calls
};

/// The render plan of `plan` with `shapes` (one per plan shape, in plan order); block buffers
/// of `maxBlock` floats.
RenderPlan planRender(const Schedule& schedule, const FusionPlan& plan,
                      std::span<const SharedShape> shapes, uint32_t maxBlock);

/// The render plan as IR comments: what the program calls, in order, and how the output is made.
std::string describe(const RenderPlan& render, const Schedule& schedule, const FusionPlan& plan,
                     std::span<const SharedShape> shapes);

} // namespace chronus::jit
