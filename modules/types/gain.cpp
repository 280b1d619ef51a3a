// gain: a VCA. Multiplies its input by `level`; modulate `level` for tremolo or amplitude
// envelopes. Any finite level in [-1e6, 1e6]: negative levels invert (attenuverters), large ones
// scale a modulator to a depth in Hz (sine -> gain 660 -> carrier:freq is FM of 660 Hz depth).
#include "modules/module_abi.h"

namespace {
enum In { kIn, kLevel };
} // namespace

CHRONUS_KERNEL void chronus_gain_tick(void*, const float* CHRONUS_RESTRICT in,
                                      float* CHRONUS_RESTRICT out, const chronus::KernelContext*) {
    out[0] = in[kIn] * in[kLevel];
}

#ifndef CHRONUS_BITCODE
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"vca"};
constexpr PortDesc kInputs[] = {{.name = "in"}};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "level",
     .defaultValue = 1,
     .minValue = -1e6f,
     .maxValue = 1e6f,
     .unit = "",
     .doc = "factor: negative inverts; as large as an FM depth in Hz"},
};
} // namespace

extern const ModuleDescriptor kGain = {
    .type = "gain",
    .order = 9,
    .aliases = kAliases,
    .summary = "multiplies its input by level",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "gain",
    .stateSize = [](const InstanceConfig&) -> std::size_t { return 0; },
    .init = [](void*, const InstanceConfig&, const float*) {},
    .tick = chronus_gain_tick,
    .block = blockLoop<chronus_gain_tick>,
};
} // namespace chronus
#endif
