// delay: a fractional delay line (linear interpolation, at least one sample) with internal
// feedback. `out` is the dry/wet mix; `wet` is the delayed signal alone and depends on state only,
// so a patch may close a feedback loop through delay:wet. The buffer, sized by the creation
// argument `max_ms`, trails the state struct; nothing is allocated while running.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

#include <cstdint>

namespace {
struct DelayState {
    int32_t length; ///< buffer samples, maxDelay + 2
    int32_t write;  ///< where the next input sample goes
    float maxDelay; ///< longest delay in samples
    float wet;      ///< this sample's delayed signal, read at the end of the last tick
};
enum In { kIn, kTime, kFeedback, kMix };
enum Output { kOut, kWet };

inline float* buffer(DelayState* s) {
    return reinterpret_cast<float*>(s + 1);
}
} // namespace

CHRONUS_KERNEL void chronus_delay_emit(void* CHRONUS_RESTRICT state, float* CHRONUS_RESTRICT out,
                                       const chronus::KernelContext*) {
    out[kWet] = static_cast<const DelayState*>(state)->wet;
}

CHRONUS_KERNEL void chronus_delay_tick(void* CHRONUS_RESTRICT state,
                                       const float* CHRONUS_RESTRICT in,
                                       float* CHRONUS_RESTRICT out,
                                       const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<DelayState*>(state);
    float* buf = buffer(s);
    const int32_t length = s->length;
    float x = in[kIn];
    float wet = s->wet;
    out[kOut] = x + in[kMix] * (wet - x);

    int32_t w = s->write;
    buf[w] = x + in[kFeedback] * wet;
    w = w + 1 == length ? 0 : w + 1;
    s->write = w;

    // Next sample's wet is the written signal `delay` samples before it: index w - delay, where
    // w is that sample's place. delay >= 1, so this reads only what has been written.
    float delay = dsp::clampf(dsp::msToSamples(in[kTime], ctx->sampleRate), 1.0f, s->maxDelay);
    auto whole = static_cast<int32_t>(delay);
    float frac = delay - static_cast<float>(whole);
    int32_t i0 = w - whole;
    i0 = i0 < 0 ? i0 + length : i0;
    int32_t i1 = i0 - 1;
    i1 = i1 < 0 ? i1 + length : i1;
    float a = buf[i0], b = buf[i1];
    s->wet = a + frac * (b - a);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

#include <cmath>

namespace chronus {
namespace {
constexpr PortDesc kInputs[] = {{.name = "in"}};
constexpr PortDesc kOutputs[] = {
    {.name = "out", .doc = "(1 - mix) * in + mix * wet"},
    {.name = "wet", .delayed = true, .doc = "the delayed signal alone: closes feedback loops"},
};
constexpr ParamDesc kParams[] = {
    {.name = "time",
     .defaultValue = 250,
     .minValue = 0,
     .maxValue = 10000,
     .unit = "ms",
     .doc = "delay; held between one sample and max_ms"},
    // +-1 allowed: linear interpolation never amplifies, so even 1 only sustains.
    {.name = "feedback",
     .defaultValue = 0.3f,
     .minValue = -1,
     .maxValue = 1,
     .unit = "",
     .doc = "wet signal fed back into the line"},
    {.name = "mix",
     .defaultValue = 0.5f,
     .minValue = 0,
     .maxValue = 1,
     .unit = "",
     .doc = "0 dry, 1 wet"},
};

float maxDelaySamples(const InstanceConfig& cfg) {
    return std::ceil(cfg.createArg * cfg.sampleRate * 0.001f);
}
int32_t bufferLength(const InstanceConfig& cfg) {
    return static_cast<int32_t>(maxDelaySamples(cfg)) + 2; // the delay plus interpolation's extra
}
std::size_t stateSize(const InstanceConfig& cfg) {
    return sizeof(DelayState) + sizeof(float) * static_cast<std::size_t>(bufferLength(cfg));
}
void init(void* state, const InstanceConfig& cfg, const float*) {
    auto* s = static_cast<DelayState*>(state);
    *s = {.length = bufferLength(cfg), .write = 0, .maxDelay = maxDelaySamples(cfg), .wet = 0};
    float* buf = buffer(s);
    for (int32_t i = 0; i < s->length; ++i) buf[i] = 0.0f;
}
} // namespace

extern const ModuleDescriptor kDelay = {
    .type = "delay",
    .order = 11,
    .aliases = {},
    .summary = "fractional delay line with feedback; wet output closes patch feedback loops",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .createArg = {.name = "max_ms",
                  .defaultValue = 2000,
                  .minValue = 1,
                  .maxValue = 10000,
                  .unit = "ms",
                  .doc = "longest delay: fixes the buffer"},
    .kernel = "delay",
    .stateSize = stateSize,
    .init = init,
    .tick = chronus_delay_tick,
    .emit = chronus_delay_emit,
    .block = blockLoop<chronus_delay_tick, chronus_delay_emit>,
};
} // namespace chronus
#endif
