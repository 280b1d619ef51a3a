// const: a control source that outputs `value` (smoothed like every parameter).
#include "modules/module_abi.h"

CHRONUS_KERNEL void chronus_const_tick(void*, const float* CHRONUS_RESTRICT in,
                                       float* CHRONUS_RESTRICT out, const chronus::KernelContext*) {
    out[0] = in[0];
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "value", .defaultValue = 0, .minValue = -1e6f, .maxValue = 1e6f, .unit = ""},
};
} // namespace

extern const ModuleDescriptor kConst = {
    .type = "const",
    .order = 13,
    .aliases = {},
    .summary = "outputs value: an offset or control source",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "const",
    .stateSize = [](const InstanceConfig&) -> std::size_t { return 0; },
    .init = [](void*, const InstanceConfig&, const float*) {},
    .tick = chronus_const_tick,
    .block = blockLoop<chronus_const_tick>,
};
} // namespace chronus
#endif
