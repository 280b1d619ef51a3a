// output: the patch's output. With one or more present, only what reaches them is heard.
#include "modules/module_abi.h"

namespace {
enum In { kIn, kLevel };
} // namespace

CHRONUS_KERNEL void chronus_output_tick(void*, const float* CHRONUS_RESTRICT in,
                                        float* CHRONUS_RESTRICT out,
                                        const chronus::KernelContext*) {
    out[0] = in[kIn] * in[kLevel];
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"dac"};
constexpr PortDesc kInputs[] = {{.name = "in"}};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "level", .defaultValue = 1, .minValue = 0, .maxValue = 4, .unit = ""},
};
} // namespace

extern const ModuleDescriptor kOutput = {
    .type = "output",
    .order = 14,
    .aliases = kAliases,
    .summary = "the patch output (in * level); when present, only what reaches it is heard",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .isSink = true,
    .kernel = "output",
    .stateSize = [](const InstanceConfig&) -> std::size_t { return 0; },
    .init = [](void*, const InstanceConfig&, const float*) {},
    .tick = chronus_output_tick,
    .block = blockLoop<chronus_output_tick>,
};
} // namespace chronus
#endif
