// input: one channel of audio coming in (the device's input under `serve`, a sound file under
// `chronus render --input`). The creation argument is the channel, 1-based (1 is the left of a
// stereo pair); a channel the device or file does not have reads silence. The program points the
// state at the channel's samples before every block it renders (Program::render's AudioIo: no copy,
// no allocation), so the kernel only reads its way through them; with no buffer (a warm-up, a
// patch rendered without input) it reads 0.
#include "modules/audio_input.h"
#include "modules/module_abi.h"

namespace {
using InputState = chronus::AudioInputState;
} // namespace

CHRONUS_KERNEL void chronus_input_tick(void* CHRONUS_RESTRICT state, const float*,
                                       float* CHRONUS_RESTRICT out, const chronus::KernelContext*) {
    auto* s = static_cast<InputState*>(state);
    out[0] = s->samples != nullptr ? s->samples[s->pos] : 0.0f;
    ++s->pos;
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr std::string_view kAliases[] = {"adc"};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
} // namespace

extern const ModuleDescriptor kInput = {
    .type = "input",
    .order = 17,
    .aliases = kAliases,
    .summary = "audio in: one channel of the device (serve) or of --input FILE (render)",
    .inputs = {},
    .outputs = kOutputs,
    .params = {},
    .createArg = {.name = "channel",
                  .defaultValue = 1,
                  .minValue = 1,
                  .maxValue = 64,
                  .unit = "",
                  .doc = "1-based; a channel the device or file lacks reads silence",
                  .whole = true},
    .isAudioInput = true,
    .kernel = "input",
    .stateSize = [](const InstanceConfig&) { return sizeof(InputState); },
    .init = [](void* state, const InstanceConfig&,
               const float*) { *static_cast<InputState*>(state) = {nullptr, 0}; },
    .tick = chronus_input_tick,
    .block = blockLoop<chronus_input_tick>,
};
} // namespace chronus
#endif
