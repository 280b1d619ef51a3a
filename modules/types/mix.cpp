// mix: sums in1..inN, each scaled by its level1..levelN. N is the creation argument `inputs`.
#include "modules/module_abi.h"

#include <cstdint>

namespace {
struct MixState {
    uint32_t count; ///< N: `in` holds N inputs, then N levels
};
} // namespace

CHRONUS_KERNEL void chronus_mix_tick(void* CHRONUS_RESTRICT state, const float* CHRONUS_RESTRICT in,
                                     float* CHRONUS_RESTRICT out, const chronus::KernelContext*) {
    const uint32_t count = static_cast<const MixState*>(state)->count;
    const float* levels = in + count;
    float sum = 0.0f;
    for (uint32_t i = 0; i < count; ++i) sum += in[i] * levels[i];
    out[0] = sum;
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

#include <cmath>

namespace chronus {
namespace {
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr VariadicDesc kVariadic = {
    .inputPrefix = "in",
    // Negative levels subtract (and make impulses from a const and its z1).
    .paramTemplate = {.name = "level",
                      .defaultValue = 1,
                      .minValue = -10,
                      .maxValue = 10,
                      .unit = "",
                      .doc = "gain of the input with the same number"},
};
void init(void* state, const InstanceConfig& cfg, const float*) {
    static_cast<MixState*>(state)->count = static_cast<uint32_t>(std::lround(cfg.createArg));
}
} // namespace

extern const ModuleDescriptor kMix = {
    .type = "mix",
    .order = 10,
    .aliases = {},
    .summary = "sums its inputs, each times its level",
    .inputs = {},
    .outputs = kOutputs,
    .params = {},
    .createArg = {.name = "inputs",
                  .defaultValue = 4,
                  .minValue = 1,
                  .maxValue = 64,
                  .unit = "",
                  .doc = "number of inputs in1..inN, each with a levelN",
                  .whole = true},
    .variadic = &kVariadic,
    .kernel = "mix",
    .stateSize = [](const InstanceConfig&) { return sizeof(MixState); },
    .init = init,
    .tick = chronus_mix_tick,
    .block = blockLoop<chronus_mix_tick>,
};
} // namespace chronus
#endif
