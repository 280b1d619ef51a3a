// A slot: one compiled program with everything it needs to play, prepared off the audio thread.
// Lifecycle: made and primed on the compiler thread -> published -> active on the audio thread
// -> (crossfading out) -> handed back -> freed on the control side (the Program destructor frees
// its JIT code).
#pragma once

#include "compiler/param_block.h"
#include "compiler/program.h"
#include "runtime/param_keys.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronus {

/// Instance memory, 64-byte aligned.
class StateBuffer {
public:
    explicit StateBuffer(std::size_t bytes);
    std::byte* data() noexcept { return data_.get(); }
    const std::byte* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }

private:
    struct Free {
        void operator()(std::byte* p) const;
    };
    std::unique_ptr<std::byte[], Free> data_;
    std::size_t size_;
};

/// One surviving module's instance memory: `bytes` at `src` in the old slot to `dst` in the new.
struct StateCopy {
    uint32_t src = 0, dst = 0, bytes = 0;
};

struct Slot {
    Slot(uint64_t seq, std::unique_ptr<Program> program);

    uint64_t seq;
    uint32_t tier = 1; ///< 1: as its commit compiled it; 2, ...: faster versions (same seq)
    /// Renders exactly what the slot it replaces renders: a faster tier of the same commit, or a
    /// commit whose patch plays like the one playing (rendersAlike). Its swap is hard, its state
    /// carried.
    bool seamless = false;
    /// Samples of crossfade from the slot it replaces into this one (0: a hard swap), decided
    /// before it is published: 0 when seamless, else the engine's crossfade. The audio thread
    /// reads it at the swap.
    uint32_t fadeFrames = 0;
    std::unique_ptr<Program> program;
    ParamBlock params;
    StateBuffer state;
    /// The slot `carry` was planned against (the one playing when this slot was primed), and the
    /// copies that move every surviving module's state from it into this slot.
    const Slot* carryFrom = nullptr;
    std::vector<StateCopy> carry;
    /// Parameter key -> index into `params`, -1 where this program has no such parameter.
    std::vector<int32_t> keyParam;

    /// Control side (the key table's owner's lock held: ParamStore's): parameter values from the
    /// schedule, key table, state from initState.
    void prepare(ParamKeys& keys);
    /// Control side: plans `carry` from `from` (may be null): modules with the same id, the same
    /// descriptor and the same instance size survive.
    void planCarry(const Slot* from);
    /// Any side; wait-free: the index of parameter `key`, or -1.
    int32_t paramOf(uint32_t key) const noexcept {
        return key < keyParam.size() ? keyParam[key] : -1;
    }
    /// Audio thread; wait-free, bounded (one memcpy per surviving module): copies the surviving
    /// modules' state from `from` (which must be `carryFrom`) into this slot.
    void audioThreadCarryFrom(const Slot& from) noexcept;
};

/// True when `b` plays `a`'s patch again: the same modules in the same order (id, type,
/// creation argument), wired alike (every input's and parameter's sources, the output taps). Then
/// every module survives with its state and `b` renders what `a` would have, sample for sample:
/// a commit that changes nothing audible. Parameter values are not compared: a write reaches
/// every live slot alike, so they never differ between two slots.
bool rendersAlike(const Schedule& a, const Schedule& b);

/// What the warm-up blocks came to.
struct PrimeCheck {
    bool ok = true;
    double rms = 0;
    double peak = 0;
    std::string reason; ///< when !ok
};

/// Output peaks above this during warm-up are a runaway: 60 dB over full scale, far above any
/// sane sum of voices, far below what an unstable filter reaches within a few blocks.
inline constexpr double kRunawayPeak = 1000.0;

/// Compiler thread: renders `blocks` blocks of `frames` on a scratch copy of the slot's state
/// (the slot itself is left untouched) and checks the output: any non-finite sample or a peak
/// above kRunawayPeak fails.
PrimeCheck warmUp(Slot& slot, uint32_t blocks, uint32_t frames);

} // namespace chronus
