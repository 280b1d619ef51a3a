// A compiled patch, whichever engine made it: the runtime swaps these without caring which.
#pragma once

#include "base/expected.h"
#include "compiler/schedule.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace chronus {

class Program;

/// Makes the next tier of a program (see Program::nextTier).
using TierCompile = std::function<Expected<std::unique_ptr<Program>>()>;

class Program {
public:
    virtual ~Program() = default;

    /// The schedule this program runs: state layout, parameter indices, node ids.
    virtual const Schedule& schedule() const = 0;

    /// Audio thread; wait-free, allocation-free. Renders `frames` mono samples into `out`
    /// (overwriting it), reading targets from `params` (schedule().paramCount of them) and
    /// advancing `state` (schedule().stateBytes, initialised by initState). Any frame count.
    virtual void render(const std::atomic<float>* params, std::byte* state, float* out,
                        uint32_t frames) noexcept = 0;

    /// What made it: "interp", "interp-sample", "jit" (`--engine` names the same kinds).
    virtual std::string_view kind() const = 0;

    /// Control thread. The compiled code at `stage`: "lowered" (IR as generated), "optimized"
    /// (IR after the pass pipeline) or "asm" (machine code). Engines without IR return an error.
    virtual Expected<std::string> ir(std::string_view stage) const {
        return makeError("the {} engine has no {} IR; use the jit engine", kind(), stage);
    }

    /// Tiered compiles. False for a program compiled quickly that has a faster version to come.
    virtual bool finalTier() const { return true; }
    /// Control side: the compile of that faster version (empty for a final tier), to run on any
    /// thread, independent of this program's lifetime. The program it makes has the same
    /// schedule (state layout, parameters) and renders the same output bit for bit, so it may
    /// replace this one at any block boundary, state carried over.
    virtual TierCompile nextTier() const { return {}; }
};

/// Builds a program for a schedule (control or compiler thread): the interpreter or the JIT.
using ProgramFactory = std::function<Expected<std::unique_ptr<Program>>(const Schedule&)>;

} // namespace chronus
