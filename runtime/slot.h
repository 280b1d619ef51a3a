// A slot: one compiled program with everything it needs to play, prepared off the audio thread.
// Lifecycle: made and primed on the compiler thread -> published -> active on the audio thread
// -> (crossfading out) -> handed back -> freed on the control side (the Program destructor frees
// its JIT code).
#pragma once

#include "compiler/param_block.h"
#include "compiler/program.h"
#include "runtime/param_keys.h"
#include "runtime/voice_allocator.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chronus {

/// Instance memory: page-aligned, zero-filled, with room to grow reserved behind it (pages are
/// backed only once touched), so that a later commit's slot can take it over as it is and place
/// new modules in it (runtime/state_layout.h).
class StateBuffer {
public:
    /// `bytes` in use; `exact`: no room reserved beyond them (scratch copies).
    explicit StateBuffer(std::size_t bytes, bool exact = false);
    std::byte* data() noexcept { return data_.get(); }
    const std::byte* data() const noexcept { return data_.get(); }
    /// The bytes the owning slot's layout uses.
    std::size_t size() const noexcept { return size_; }
    /// Any side; wait-free: the owner's layout now uses `bytes` (at most capacity()).
    void setSize(std::size_t bytes) noexcept { size_ = bytes; }
    /// Bytes that may be used without moving the buffer.
    std::size_t capacity() const noexcept { return data_.get_deleter().bytes; }
    /// Made without room to grow (a scratch copy).
    bool exact() const noexcept { return exact_; }

private:
    struct Free {
        std::size_t bytes = 0; ///< the mapping's length
        void operator()(std::byte* p) const;
    };
    std::unique_ptr<std::byte[], Free> data_;
    std::size_t size_;
    bool exact_ = false;
};

/// One surviving module's instance memory: `bytes` at `src` in the old slot to `dst` in the new.
struct StateCopy {
    uint32_t src = 0, dst = 0, bytes = 0;
};

/// The snapshot of survivors' state that a warm-up starts from is copied on the audio thread: at
/// most this much of it (the smallest survivors first). Larger ones warm up from their initial
/// state: the warm-up is a check, and a delay line's contents cannot make it fail.
inline constexpr std::size_t kSnapshotBytes = 256 * 1024;
/// A swap that takes over the playing slot's buffer lets the old slot crossfade out on a copy of
/// its state only up to this size (copied on the audio thread at the swap); a larger one swaps
/// hard, so the swap never costs more than this however long the delay lines are. 1 MiB (about
/// 0.1 ms of memcpy) keeps the crossfade for a patch with a delay line or two of 2 s.
inline constexpr std::size_t kFadeCopyBytes = 1024 * 1024;

struct Slot {
    Slot(uint64_t seq, std::unique_ptr<Program> program);
    /// With the state buffer given (StatePool): it must hold the program's state, zeroed.
    Slot(uint64_t seq, std::unique_ptr<Program> program, StateBuffer state);
    /// Before its program (a commit's standby slot, staged while the program compiles): laid out
    /// by `layout`, the schedule the program will be built from; `program` is set later.
    Slot(uint64_t seq, const Schedule& layout, StateBuffer state);

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
    /// The slot the carry was planned against (the one playing when this slot was primed).
    Slot* carryFrom = nullptr;
    /// The carry: take over carryFrom's buffer (every survivor at the same offset, this slot's
    /// new modules already written into its free space), or copy `carry` (the fallback).
    bool adopt = false;
    /// With `adopt`: the old slot gets a copy of its state at the swap, so it can crossfade out.
    bool fadeCopy = false;
    std::vector<StateCopy> carry;
    /// The survivors the warm-up's snapshot copies (at most kSnapshotBytes).
    std::vector<StateCopy> snapshot;
    /// Parameter key -> index into `params`, -1 where this program has no such parameter.
    std::vector<int32_t> keyParam;
    /// Index into `params` -> its parameter key (keyParam's inverse).
    std::vector<uint32_t> paramKey;
    /// The polys' voices as this slot plays them (runtime/voice_allocator.h): built by prepare(),
    /// their allocation state and note values carried from the slot it replaces at the swap.
    std::vector<SlotPoly> polys;
    /// The state holds its initial values already (and maybe a snapshot): prepare() leaves it.
    bool stateReady = false;
    /// Audio thread only: the output guard silenced this slot and its state awaits a reset; it
    /// is never carried into another slot meanwhile.
    bool audioThreadPoisoned = false;

    /// Control side (the key table's owner's lock held: ParamStore's): parameter values from the
    /// schedule, key table, state from initState. `like`, if given, is a prepared slot whose
    /// modules' keys this one's modules of the same id and layout take over, rather than looking
    /// each id:param up again (thousands at 256 voices).
    void prepare(ParamKeys& keys, const Slot* like = nullptr);
    /// Control side, after prepare(): plans the carry from `from` (may be null): modules with the
    /// same id, the same descriptor and the same instance size survive. When the layout kept them
    /// in place (state_layout.h) and this slot fits in `from`'s buffer, writes this slot's new
    /// modules' initial state into the free space of `from`'s buffer (which `from` never touches)
    /// and plans to take the buffer over.
    void planCarry(Slot* from);
    /// The same before the program is set: `now` is the schedule it will be built from.
    void planCarry(Slot* from, const Schedule& now);
    /// Any side; wait-free: the index of parameter `key`, or -1.
    int32_t paramOf(uint32_t key) const noexcept {
        return key < keyParam.size() ? keyParam[key] : -1;
    }
    /// Audio thread; wait-free, bounded (kSnapshotBytes): copies the `snapshot` survivors' state
    /// from `from` (which must be `carryFrom`) into this slot, for the warm-up. The bytes copied.
    std::size_t audioThreadSnapshotFrom(const Slot& from) noexcept;
    /// Audio thread, at the swap; wait-free: carries the survivors' state from `from` (which must
    /// be `carryFrom`): by taking its buffer (O(1); `from` gets this slot's, with a copy of its
    /// state when `fadeCopy` and `fromWillFade`), else by the `carry` copies. Nothing is carried
    /// from a poisoned slot (this one starts from its initial state). True if `from` still has its
    /// own state, so a crossfade may render it, and the bytes copied on the way.
    struct Carried {
        bool fromKeepsState = true;
        std::size_t copiedBytes = 0;
    };
    Carried audioThreadCarryFrom(Slot& from, bool fromWillFade = false) noexcept;
    /// Audio thread, at the swap; wait-free: each poly's voices as `from` plays them (which note,
    /// held or fading, and the pitch, gate, velocity and fader values notes wrote), voice for
    /// voice, so a commit keeps every note sounding. Module state is carried as for any module.
    void audioThreadCarryVoicesFrom(const Slot& from) noexcept;
    /// Audio thread; wait-free, bounded by this slot's state size: every module's state back to
    /// its initial value (as prepare() made it), smoothers at the current targets. The output
    /// guard's reset of a patch that blew up.
    void audioThreadResetState() noexcept;
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
    /// Render time of the median warm-up block (the calling thread's CPU time) over the block's
    /// duration: above 1 the program cannot render in real time at this block size.
    double load = 0;
    std::string reason; ///< when !ok
};

/// Output peaks above this during warm-up are a runaway: 60 dB over full scale, far above any
/// sane sum of voices, far below what an unstable filter reaches within a few blocks. The output
/// guard (output_guard.h) uses the same limit while a patch plays.
inline constexpr double kRunawayPeak = 1000.0;

/// Compiler thread: renders `blocks` blocks of `frames` on a scratch copy of the slot's state
/// (the slot itself is left untouched) and checks the output: any non-finite sample or a peak
/// above kRunawayPeak fails. `scratch`, if given and large enough, holds the copy (StatePool);
/// else a buffer is made for it.
PrimeCheck warmUp(Slot& slot, uint32_t blocks, uint32_t frames, StateBuffer* scratch = nullptr);

} // namespace chronus
