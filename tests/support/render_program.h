// Renders a Program outside the engine as the audio callback would (denormals flushed, fresh
// parameters and state from its schedule), in irregular block sizes: what the differential tests
// compare engine against engine.
#pragma once

#include "compiler/param_block.h"
#include "compiler/program.h"
#include "runtime/denormals.h"
#include "runtime/slot.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace chronus::test {

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
    std::vector<float> out(frames, -12345.0f);
    ScopedFlushDenormals ftz; // as the audio callback does, for every engine
    uint32_t done = 0;
    bool changed = false;
    for (size_t c = 0; done < frames; ++c) {
        if (!changed && done >= frames / 2 && changeParam >= 0) {
            params.store(static_cast<size_t>(changeParam), changeValue);
            changed = true;
        }
        const uint32_t n = std::min(chunks[c % chunks.size()], frames - done);
        program.render(params.data(), state.data(), out.data() + done, n);
        done += n;
    }
    return out;
}

} // namespace chronus::test
