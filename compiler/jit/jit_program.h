// The program a JIT compile hands back (jit.h's JitProgram). It walks its render plan each block
// on the audio thread, holds its shapes' code while it lives (shape_cache.h), and shows its IR on
// demand, making a shape's text again where its compile kept none. No compiling here beyond that.
#pragma once

#include "compiler/jit/jit.h"
#include "compiler/jit/render_plan.h"
#include "compiler/jit/shape_cache.h"
#include "compiler/schedule.h"

#include <memory>
#include <string>
#include <vector>

namespace chronus::jit {

/// What a compile assembles a program from.
struct JitProgramParts {
    Schedule schedule;
    JitOptions options; ///< what made it (nextTier compiles with these at the full level)
    int optLevel = 2;   ///< the level its shapes run at (the full one once finalTier)
    bool finalTier = true;
    uint32_t maxBlock = 256;         ///< frames per call of the compiled code
    uint32_t buffers = 0;            ///< block buffers in scratch
    std::vector<SharedShape> shapes; ///< the plan's shapes, in plan order
    RenderPlan render;
    std::string planText; ///< describe(render): the head of every ir() stage
    JitTimings timings;
};

std::unique_ptr<JitProgram> makeJitProgram(JitProgramParts parts);

} // namespace chronus::jit
