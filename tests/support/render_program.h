// Renders a Program outside the engine as the audio callback would (denormals flushed, fresh
// parameters and state from its schedule), in irregular block sizes: what the differential tests
// compare engine against engine. A patch of several channels, or with `input` modules, renders
// every channel (one after the other in the result) with testAudioIn() as its audio in.
#pragma once

#include "compiler/param_block.h"
#include "compiler/program.h"
#include "runtime/denormals.h"
#include "runtime/slot.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace chronus::test {

/// Channels of testAudioIn (an `input` module's highest channel).
inline constexpr uint32_t kTestInputs = 64;
inline constexpr uint32_t kTestInputFrames = 1 << 16;

/// Deterministic audio in for the differential tests: channel k is a different xorshift noise
/// in [-0.5, 0.5), kTestInputFrames long.
inline const std::vector<std::vector<float>>& testAudioIn() {
    static const std::vector<std::vector<float>> in = [] {
        std::vector<std::vector<float>> c(kTestInputs, std::vector<float>(kTestInputFrames));
        uint32_t x = 0x12345678u;
        for (auto& ch : c)
            for (float& v : ch) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                v = static_cast<float>(x >> 8) * 5.9604645e-8f - 0.5f;
            }
        return c;
    }();
    return in;
}

/// Renders `frames` samples in the block sizes of `chunks` (cycled); halfway, sets parameter
/// `changeParam` (if >= 0) to `changeValue`.
inline std::vector<float> renderProgram(Program& program, uint32_t frames,
                                        const std::vector<uint32_t>& chunks, int64_t changeParam,
                                        float changeValue) {
    const Schedule& s = program.schedule();
    ParamBlock params(std::max<uint32_t>(s.paramCount, 1));
    initParams(s, params);
    StateBuffer state(s.stateBytes);
    initState(s, state.data());
    const uint32_t channels = s.channelCount();
    const bool mono = channels == 1 && s.inputs.empty();
    std::vector<float> out(std::size_t{frames} * channels, -12345.0f);
    ScopedFlushDenormals ftz; // as the audio callback does, for every engine
    uint32_t done = 0;
    bool changed = false;
    for (size_t c = 0; done < frames; ++c) {
        if (!changed && done >= frames / 2 && changeParam >= 0) {
            params.store(static_cast<size_t>(changeParam), changeValue);
            changed = true;
        }
        const uint32_t n = std::min(chunks[c % chunks.size()], frames - done);
        if (mono) {
            program.render(params.data(), state.data(), out.data() + done, n);
        } else {
            float* outs[kMaxChannels];
            for (uint32_t ch = 0; ch < channels; ++ch)
                outs[ch] = out.data() + std::size_t{ch} * frames + done;
            const float* ins[kTestInputs];
            for (uint32_t k = 0; k < kTestInputs; ++k)
                ins[k] = testAudioIn()[k].data() + done % (kTestInputFrames / 2);
            program.renderChannels(params.data(), state.data(), {outs, ins, kTestInputs}, n);
        }
        done += n;
    }
    return out;
}

} // namespace chronus::test
