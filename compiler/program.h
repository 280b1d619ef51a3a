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
#include <vector>

namespace chronus {

class Program;

/// One file of a program's IR (Program::irFiles): its name, never a path, and its text.
struct IrFile {
    std::string name;
    std::string text;
};

/// The audio buffers of one render call, planar: one buffer of `frames` per channel.
struct AudioIo {
    float* const* out = nullptr;      ///< schedule().channelCount() buffers, overwritten
    const float* const* in = nullptr; ///< audio in: `inputs` buffers (channel k at in[k])
    uint32_t inputs = 0;
};

/// Makes the next tier of a program (see Program::nextTier).
using TierCompile = std::function<Expected<std::unique_ptr<Program>>()>;

class Program {
public:
    virtual ~Program() = default;

    /// The schedule this program runs: state layout, parameter indices, node ids.
    virtual const Schedule& schedule() const = 0;

    /// Audio thread; wait-free, allocation-free. Renders `frames` samples of the first channel
    /// (a mono patch: all of it) into `out`
    /// (overwriting it), reading targets from `params` (schedule().paramCount of them) and
    /// advancing `state` (schedule().stateBytes, initialised by initState). Any frame count.
    virtual void render(const std::atomic<float>* params, std::byte* state, float* out,
                        uint32_t frames) noexcept = 0;

    /// Audio thread; wait-free, allocation-free. As render(), for every channel of the patch
    /// (schedule().channelCount(), schedule.h) and with audio in for its `input` modules: every
    /// buffer of io.out overwritten, io.in read (a missing channel reads silence). render()
    /// is this with the first channel alone and no input.
    virtual void renderChannels(const std::atomic<float>* params, std::byte* state,
                                const AudioIo& io, uint32_t frames) noexcept {
        render(params, state, io.out[0], frames); // programs of one channel and no input
    }

    /// What made it: "interp", "interp-sample", "jit" (`--engine` names the same kinds).
    virtual std::string_view kind() const = 0;

    /// Control thread. The compiled code at `stage`: "lowered" (IR as generated), "optimized"
    /// (IR after the pass pipeline) or "asm" (machine code). Engines without IR return an error.
    virtual Expected<std::string> ir(std::string_view stage) const {
        return makeError("the {} engine has no {} IR; use the jit engine", kind(), stage);
    }

    /// Control thread. The same code as files a tool can read: the render plan first
    /// ("plan.txt"), then one module per compiled piece, each valid on its own ("<name>.ll",
    /// which llvm-as reads; "<name>.s" for asm). Engines without IR return an error.
    virtual Expected<std::vector<IrFile>> irFiles(std::string_view stage) const {
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

/// A compile made obsolete (a newer commit replaces the one it compiles for) stops early: a
/// thread that runs a ProgramFactory or a TierCompile holds this scope around it, sets the flag
/// from any thread, and the compile, checking it between its phases, gives up with an error whose
/// message is kCompileCancelled, having freed what it made. Scopes nest (the inner flag counts).
class CompileCancelScope {
public:
    explicit CompileCancelScope(const std::atomic<bool>& cancel);
    ~CompileCancelScope();
    CompileCancelScope(const CompileCancelScope&) = delete;
    CompileCancelScope& operator=(const CompileCancelScope&) = delete;

private:
    const std::atomic<bool>* outer_;
};
/// True if the compile running on this thread has been cancelled.
bool compileCancelled();
inline constexpr std::string_view kCompileCancelled = "cancelled: a newer commit replaces it";

} // namespace chronus
