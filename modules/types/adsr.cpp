// adsr: a linear attack/decay/sustain/release envelope that multiplies its input (1.0 when
// unconnected, so alone it is a modulation source). Each segment takes exactly its time from the
// level it starts at: attack to 1.0, decay from 1.0 to sustain, release to 0. A gate edge starts
// the next segment from the current level, so nothing jumps.
#include "modules/dsp_math.h"
#include "modules/module_abi.h"

namespace {
// Stages are floats so that the whole update is selects on one register type.
constexpr float kIdle = 0, kAttack = 1, kDecay = 2, kSustain = 3, kRelease = 4;
constexpr float kNotHeld = 0, kHeldIdle = 1, kHeldSustain = 2;

struct AdsrState {
    float level;   ///< the envelope at the last sample
    float start;   ///< level where the current attack or release began
    float elapsed; ///< samples since the current segment began
    float stage;
    float gate; ///< gate at the last sample
    /// kHeldSustain or kHeldIdle while the envelope is held (sustain with the gate open, idle
    /// with it closed) at the start of this block, with the block's gate on the same side of
    /// 0.5: no segment can start or end before the block's end. Written by prepare only, so that
    /// process reads it as a block constant (the optimiser keeps it in a register); every block
    /// begins with prepare (or tick, which is prepare then process), so a stale one is never read.
    float held;
};
enum In { kIn, kAttackMs, kDecayMs, kSustainLevel, kReleaseMs, kGate };
} // namespace

/// Block rate while the gate is unmodulated (it is then one value for the block): whether the
/// envelope is held at the block's start. The gate stays on one side of 0.5 for the block, so a
/// held envelope stays held to its end: process then skips the stage logic, and the settled loop
/// is a multiply by the sustain level; one that settles within the block runs the full update to
/// the block's end. Out and state are the full update's bits either way (test_adsr compares).
CHRONUS_KERNEL void chronus_adsr_prepare(void* CHRONUS_RESTRICT state,
                                         const float* CHRONUS_RESTRICT in,
                                         const chronus::KernelContext* CHRONUS_RESTRICT) {
    auto* s = static_cast<AdsrState*>(state);
    const bool edge = (in[kGate] > 0.5f) != (s->gate > 0.5f);
    s->held = edge                   ? kNotHeld
              : s->stage == kSustain ? kHeldSustain
              : s->stage == kIdle    ? kHeldIdle
                                     : kNotHeld;
}

/// Per sample: held, the level is the sustain input or 0; otherwise the full update.
CHRONUS_KERNEL void chronus_adsr_process(void* CHRONUS_RESTRICT state,
                                         const float* CHRONUS_RESTRICT in,
                                         float* CHRONUS_RESTRICT out,
                                         const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    namespace dsp = chronus::dsp;
    auto* s = static_cast<AdsrState*>(state);
    float level;
    if (s->held != kNotHeld) {
        // Stage, start and elapsed (0 in both) stay as they are: what the update below gives.
        level = s->held == kHeldSustain ? in[kSustainLevel] : 0.0f;
    } else {
        // Segment lengths in samples, at least one so the divisions below are safe.
        float attack = std::fmax(dsp::msToSamples(in[kAttackMs], ctx->sampleRate), 1.0f);
        float decay = std::fmax(dsp::msToSamples(in[kDecayMs], ctx->sampleRate), 1.0f);
        float release = std::fmax(dsp::msToSamples(in[kReleaseMs], ctx->sampleRate), 1.0f);
        float sustain = in[kSustainLevel];

        bool on = in[kGate] > 0.5f;
        bool edge = on != (s->gate > 0.5f);
        // State read into values first: `edge ? s->level : s->start` selects between the two
        // addresses, and a load through a selected pointer keeps both in memory in the JIT's loop.
        const float lastLevel = s->level, lastStart = s->start;
        float stage = edge ? (on ? kAttack : kRelease) : s->stage;
        float start = edge ? lastLevel : lastStart;
        float n = edge ? 0.0f : s->elapsed;

        // Segment ends; attack hands its fractional sample on to decay so A + D stays exact.
        bool attackDone = stage == kAttack && n >= attack;
        n = attackDone ? n - attack : n;
        stage = attackDone ? kDecay : stage;
        stage = (stage == kDecay && n >= decay) ? kSustain : stage;
        stage = (stage == kRelease && n >= release) ? kIdle : stage;

        // One linear ramp for whichever timed segment is running: one division per sample.
        float from = stage == kDecay ? 1.0f : start;
        float to = stage == kAttack ? 1.0f : (stage == kDecay ? sustain : 0.0f);
        float length = stage == kAttack ? attack : (stage == kDecay ? decay : release);
        float ramp = from + (to - from) * (n / length);
        level = stage == kSustain ? sustain : (stage == kIdle ? 0.0f : ramp);

        bool timed = stage == kAttack || stage == kDecay || stage == kRelease;
        s->elapsed = timed ? n + 1.0f : 0.0f;
        s->stage = stage;
        s->start = start;
    }
    s->level = level;
    s->gate = in[kGate];
    out[0] = in[kIn] * level;
}

/// One sample: prepare, then process (the contract in module_abi.h).
CHRONUS_KERNEL void chronus_adsr_tick(void* CHRONUS_RESTRICT state,
                                      const float* CHRONUS_RESTRICT in, float* CHRONUS_RESTRICT out,
                                      const chronus::KernelContext* CHRONUS_RESTRICT ctx) {
    chronus_adsr_prepare(state, in, ctx);
    chronus_adsr_process(state, in, out, ctx);
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr PortDesc kInputs[] = {
    {.name = "in", .unconnectedValue = 1.0f, .doc = "signal to shape; 1 when unconnected"}};
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "attack",
     .defaultValue = 10,
     .minValue = 0,
     .maxValue = 60000,
     .unit = "ms",
     .doc = "time to rise to 1.0"},
    {.name = "decay",
     .defaultValue = 50,
     .minValue = 0,
     .maxValue = 60000,
     .unit = "ms",
     .doc = "time to fall from 1.0 to sustain"},
    {.name = "sustain",
     .defaultValue = 0.7f,
     .minValue = 0,
     .maxValue = 1,
     .unit = "",
     .doc = "level held while the gate is open"},
    {.name = "release",
     .defaultValue = 200,
     .minValue = 0,
     .maxValue = 60000,
     .unit = "ms",
     .doc = "time to fall to 0 after the gate closes, from whatever level"},
    {.name = "gate",
     .defaultValue = 0,
     .minValue = 0,
     .maxValue = 1,
     .unit = "",
     .smoothed = false,
     .doc = "open (> 0.5) starts the attack, closed starts the release",
     .prepared = true,
     .onChange = "the level ramps from where it is: click-free unless attack or release is 0"},
};
void init(void* state, const InstanceConfig&, const float*) {
    *static_cast<AdsrState*>(state) = {}; // idle, gate closed: an open initial gate attacks at once
}
} // namespace

extern const ModuleDescriptor kAdsr = {
    .type = "adsr",
    .order = 7,
    .aliases = {},
    .summary = "linear ADSR envelope; multiplies its input (1 when unconnected)",
    .inputs = kInputs,
    .outputs = kOutputs,
    .params = kParams,
    .kernel = "adsr",
    .stateSize = [](const InstanceConfig&) { return sizeof(AdsrState); },
    .init = init,
    .tick = chronus_adsr_tick,
    .block = blockLoop<chronus_adsr_tick>,
    .prepare = chronus_adsr_prepare,
    .process = chronus_adsr_process,
    .processBlock = blockLoop<chronus_adsr_process>,
    .idle = [](const void* state) { return static_cast<const AdsrState*>(state)->stage == kIdle; },
};
} // namespace chronus
#endif
