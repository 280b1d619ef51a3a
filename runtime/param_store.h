// Parameter values on the control side: the key table, validation of id/param/value/choice by the
// module's descriptor (compiler/param_check.h: the patch graph's own check, so the words agree),
// and every write carried everywhere the value lives: the patch versions (graphs), the commits in
// flight (they read what was written since they copied the pending patch), the live slots (one
// atomic store each, which the audio thread reads) and timed events through AudioCore's queue. A
// write costs a hash look-up and a few stores, whatever the patch's size.
//
// Thread-safe (its own mutex; lock order: CommitPipeline -> ParamStore -> PatchVersions).
#pragma once

#include "base/expected.h"
#include "runtime/param_keys.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chronus {

class AudioCore;
class PatchGraph;
class PatchVersions;
struct ModuleDescriptor;
struct ModuleLayout;
struct Slot;
struct TimedEvent;

class ParamStore {
public:
    /// `perClientEvents`: timed events one client (other than client 0, the engine's own patch
    /// player) may have waiting at once.
    ParamStore(PatchVersions& versions, AudioCore& core, std::size_t perClientEvents = 1024);

    // ---- any control thread --------------------------------------------------------------------
    /// Sets id:param now (last value wins), or says why not and changes nothing.
    Status set(std::string_view id, std::string_view param, float value);
    /// Sets a choice parameter by the name of its value (`mode` = "hp").
    Status setChoice(std::string_view id, std::string_view param, std::string_view choice);
    /// Sets id:param at engine sample `atSample` (AudioCore applies it on that sample), for
    /// `client` (an OSC sender; 0: the engine's own patch player, bounded only by the queue).
    Status setAt(uint64_t atSample, std::string_view id, std::string_view param, float value,
                 uint64_t client = 0);
    /// A note event (note on/off, pedal, bend) for poly `id` at engine sample `atSample` (0: the
    /// next block), for `client`, through the same queue and quota as setAt, so notes and values
    /// keep their order. `note` and `value` are checked by the caller (control_command).
    Status noteAt(uint64_t atSample, std::string_view id, uint8_t kind, uint16_t note, float value,
                  uint64_t client = 0);
    /// A parameter's key and range, for the audio thread to write (live MIDI's controllers).
    struct LiveTarget {
        uint32_t key = 0;
        float lo = 0, hi = 1;
    };
    Expected<LiveTarget> liveTarget(std::string_view id, std::string_view param);
    /// The key a poly's notes are queued under.
    uint32_t noteKey(std::string_view poly);
    /// Read-back: id:param's target as the control side holds it (every write so far, the value
    /// the next commit plays and a later dump writes; timed events still waiting are not in it),
    /// with the name of its choice for a choice parameter. Refused in set()'s words (unknown
    /// module or parameter, with did-you-mean); changes nothing.
    struct Reading {
        float value = 0;
        std::string choice; ///< empty: not a choice parameter (or a value between its choices)
    };
    Expected<Reading> read(std::string_view id, std::string_view param);
    /// Drops the pending edits (PatchVersions::abort), and the timed events waiting for modules
    /// that only the dropped edits had made.
    void abortPending();

    // ---- the commit pipeline -------------------------------------------------------------------
    /// Where the write history stands: a commit takes it before copying the pending patch and
    /// later applies every value written after it.
    uint64_t mark() const;
    /// Fills `slot`'s parameters (schedule values, then those written since `since`) and makes
    /// it a target of every later write, at once: no write falls between.
    void attachCommit(Slot& slot, uint64_t since);
    /// As attachCommit, for a faster tier of `playing`: its values, index for index.
    void attachTier(Slot& slot, const Slot& playing);
    /// `slot` is about to be freed: no write reaches it any more.
    void detach(const Slot& slot);
    /// Commit swapped in: `graph` becomes the playing patch, with the values written since `since`.
    /// Timed events waiting for modules the patch no longer has (anywhere: pending, requested or
    /// playing) are dropped: they could never play.
    void swappedIn(PatchGraph graph, uint64_t since);
    /// Records the timed events the audio thread has applied (their values, everywhere).
    void drainAcks();

private:
    /// What a key's module and parameter were found to be, and the value history.
    struct Entry {
        float value = 0;
        uint64_t written = 0;  ///< serial of the last write, 0: never written
        uint64_t resolved = 0; ///< PatchVersions::version() at which `param` was looked up
        std::shared_ptr<const ModuleLayout> layout;
        uint32_t param = 0; ///< index into layout->params
        /// A poly's template parameter (`P:local.param`): voice 0's module (`P.0.local`), whose
        /// value read() answers; empty for a module's own parameter.
        std::string voiceModule;
    };
    struct Resolved {
        uint32_t key = 0;
        uint64_t version = 0;
        const ModuleLayout* layout = nullptr; ///< kept alive by the key's Entry
        uint32_t param = 0;
    };
    Expected<Resolved> resolve(std::string_view id, std::string_view param); // mutex held
    Status check(const Resolved& r, std::string_view id, std::string_view param, float value) const;
    Status setLocked(std::string_view id, std::string_view param, float value);
    /// The quota and queue checks of a timed event, then its push. Mutex held.
    Status pushTimedLocked(const TimedEvent& e, std::string_view what);
    /// Writes `value` to the graphs (unchecked), the history, and every slot newer than
    /// `appliedSeq` (0: every slot, the playing one included). Mutex held.
    void writeKey(uint32_t key, float value, uint64_t appliedSeq);
    void drainAcksLocked();
    /// Has the audio thread drop the waiting timed events of modules no version of the patch has.
    void dropMootEventsLocked();
    Entry& entry(uint32_t key);
    /// Keys written after `since`, in the order of their last writes. Mutex held.
    std::vector<uint32_t> writtenSinceLocked(uint64_t since) const;

    PatchVersions& versions_;
    AudioCore& core_;
    mutable std::mutex mutex_;
    ParamKeys keys_;
    std::vector<Entry> entries_; ///< by key
    uint64_t serial_ = 0;        ///< writes so far
    std::vector<Slot*> slots_;   ///< every live slot (owned by the pipeline)
    std::size_t eventsOut_ = 0;  ///< timed events pushed and not yet acknowledged
    uint64_t eventOrder_ = 0;
    const std::size_t perClientEvents_;
    std::unordered_map<uint64_t, std::size_t> eventsByClient_; ///< of eventsOut_, non-zero only
    std::unordered_map<uint32_t, std::size_t> eventsByKey_;    ///< of eventsOut_, non-zero only
    bool dropWanted_ = false; ///< moot events to drop once the audio thread takes the request
};

} // namespace chronus
