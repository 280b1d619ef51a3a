// output: the patch's output. With one or more present, only what reaches them is heard.
// `in` is mono and feeds both sides; `left` and `right` are added to it on their own side. A
// patch is mono (one channel, `out`) while no output has `left` or `right` connected and every
// output sits at channel 1; otherwise each output puts `left` on its channel and `right` on the
// next (compiler/schedule.h has the rule), so `/patch/create rear output 3` plays on 3 and 4.
#include "modules/module_abi.h"

namespace {
enum In { kIn, kLeft, kRight, kLevel };
enum Out { kMono, kLeftOut, kRightOut };
} // namespace

CHRONUS_KERNEL void chronus_output_tick(void*, const float* CHRONUS_RESTRICT in,
                                        float* CHRONUS_RESTRICT out,
                                        const chronus::KernelContext*) {
    out[kMono] = in[kIn] * in[kLevel];
    out[kLeftOut] = (in[kIn] + in[kLeft]) * in[kLevel];
    out[kRightOut] = (in[kIn] + in[kRight]) * in[kLevel];
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"dac"};
constexpr PortDesc kInputs[] = {
    {.name = "in", .doc = "mono: heard on both sides"},
    {.name = "left", .doc = "left only (with right: a stereo patch)"},
    {.name = "right", .doc = "right only"},
};
constexpr PortDesc kOutputs[] = {{.name = "out"}, {.name = "left"}, {.name = "right"}};
constexpr ParamDesc kParams[] = {
    {.name = "level", .defaultValue = 1, .minValue = 0, .maxValue = 4, .unit = ""},
};
} // namespace

extern const ModuleDescriptor kOutput = {
    .type = "output",
    .order = 14,
    .aliases = kAliases,
    .summary = "the patch output (in * level; left and right for stereo); when present, only "
               "what reaches it is heard",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .createArg = {.name = "channel",
                  .defaultValue = 1,
                  .minValue = 1,
                  .maxValue = 15,
                  .unit = "",
                  .doc = "1-based: left plays on this channel, right on the next",
                  .whole = true},
    .isSink = true,
    .kernel = "output",
    .stateSize = [](const InstanceConfig&) -> std::size_t { return 0; },
    .init = [](void*, const InstanceConfig&, const float*) {},
    .tick = chronus_output_tick,
    .block = blockLoop<chronus_output_tick>,
};
} // namespace chronus
#endif
