// How a compiled group shape is called: the entry point's C signature and the row of offsets that
// says which instance it runs. The lowering reads rows in this layout and the render plan writes
// them, so both take it from here. No LLVM here.
#pragma once

#include "compiler/jit/fusion.h"
#include "compiler/schedule.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronus::jit {

/// Every shape entry point (one instance per call, or `lanes` instances side by side):
///   void entry(const float* params /* std::atomic<float>[] */, std::byte* state, float* scratch,
///              const uint32_t* rows, uint32_t frames /* <= the program's block */)
/// `rows` holds one instance row, or `lanes` consecutive rows.
using ShapeEntryFn = void (*)(const float*, std::byte*, float*, const uint32_t*, uint32_t);

/// Where each offset sits in an instance row of a group: per node its first parameter (floats
/// from params) and its instance memory (bytes from state), then its input and export block
/// buffers (floats from scratch). The group function takes the same pointers in the same order,
/// then the frame count.
struct RowLayout {
    uint32_t nodes = 0;
    uint32_t inputs = 0;
    uint32_t exports = 0;

    explicit RowLayout(const FusionGroup& g)
        : nodes(static_cast<uint32_t>(g.nodes.size())),
          inputs(static_cast<uint32_t>(g.inputs.size())),
          exports(static_cast<uint32_t>(g.exports.size())) {}

    uint32_t params(uint32_t node) const { return 2 * node; }
    uint32_t memory(uint32_t node) const { return 2 * node + 1; }
    uint32_t input(uint32_t k) const { return 2 * nodes + k; }
    uint32_t exported(uint32_t k) const { return 2 * nodes + inputs + k; }
    uint32_t buffers() const { return inputs + exports; }
    uint32_t words() const { return 2 * nodes + inputs + exports; }
};

/// The row of one group instance, laid out as RowLayout says; buffers are `maxBlock` floats each.
std::vector<uint32_t> instanceRow(const Schedule& schedule, const FusionGroup& group,
                                  uint32_t maxBlock);

} // namespace chronus::jit
