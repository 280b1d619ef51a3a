// z1: a one-sample delay. Its output depends on state only, so any feedback loop may close here.
#include "modules/module_abi.h"

namespace {
struct Z1State {
    float stored;
};
} // namespace

CHRONUS_KERNEL void chronus_z1_emit(void* CHRONUS_RESTRICT state, float* CHRONUS_RESTRICT out,
                                    const chronus::KernelContext*) {
    out[0] = static_cast<const Z1State*>(state)->stored;
}

CHRONUS_KERNEL void chronus_z1_tick(void* CHRONUS_RESTRICT state, const float* CHRONUS_RESTRICT in,
                                    float*, const chronus::KernelContext*) {
    static_cast<Z1State*>(state)->stored = in[0];
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr PortDesc kInputs[] = {{.name = "in"}};
constexpr PortDesc kOutputs[] = {
    {.name = "out", .delayed = true, .doc = "the input one sample ago: closes feedback loops"}};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<Z1State*>(state) = {};
}
} // namespace

extern const ModuleDescriptor kZ1 = {
    .type = "z1",
    .order = 12,
    .aliases = {},
    .summary = "one-sample delay; closes feedback loops",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = {},
    .kernel = "z1",
    .stateSize = [](const InstanceConfig&) { return sizeof(Z1State); },
    .init = init,
    .tick = chronus_z1_tick,
    .emit = chronus_z1_emit,
    .block = blockLoop<chronus_z1_tick, chronus_z1_emit>,
};
} // namespace chronus
#endif
