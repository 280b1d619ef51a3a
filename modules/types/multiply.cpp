// multiply: a * b, two signals multiplied sample by sample. A ring modulator (two oscillators:
// sidebands at f1 + f2 and f1 - f2, neither carrier) or a VCA driven by a signal (an envelope or
// an LFO into `b`). `b` reads 1 with nothing connected, so an unfinished patch passes `a` through.
// Unlike `gain`, neither factor is a parameter: nothing is smoothed or clamped, so a modulator
// reaches the product at full audio rate and with its own sign.
#include "modules/module_abi.h"

namespace {
enum In { kA, kB };
} // namespace

CHRONUS_KERNEL void chronus_multiply_tick(void*, const float* CHRONUS_RESTRICT in,
                                          float* CHRONUS_RESTRICT out,
                                          const chronus::KernelContext*) {
    out[0] = in[kA] * in[kB];
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"ring", "mul"};
constexpr PortDesc kInputs[] = {
    {.name = "a", .unconnectedValue = 0, .doc = "the signal (a carrier, a voice)"},
    {.name = "b", .unconnectedValue = 1, .doc = "the other (a modulator, an envelope); 1 alone"},
};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
} // namespace

extern const ModuleDescriptor kMultiply = {
    .type = "multiply",
    .order = 15,
    .aliases = kAliases,
    .summary = "a * b: ring modulator, or a VCA whose level is a signal",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = {},
    .kernel = "multiply",
    .stateSize = [](const InstanceConfig&) -> std::size_t { return 0; },
    .init = [](void*, const InstanceConfig&, const float*) {},
    .tick = chronus_multiply_tick,
    .block = blockLoop<chronus_multiply_tick>,
};
} // namespace chronus
#endif
