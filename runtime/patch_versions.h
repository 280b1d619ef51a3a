// The control side's three versions of the patch: `pending` (being edited), `requested` (as of the
// last commit(); abort returns to it) and `playing` (the patch of the slot last swapped in; dump
// shows it). Parameter values live in all three. A write is recorded here in O(1) and folded into
// the graphs before anything copies, replaces or prints them or changes which modules they hold:
// a write to a graph that shares its storage with a copy (the commit in flight) copies the chunk
// it lands in, and folding a flood of writes at once does that once per chunk, not per write.
// Copies of the graphs are cheap (PatchGraph shares storage). Thread-safe (its own mutex; the
// last lock in the engine's lock order).
#pragma once

#include "base/expected.h"
#include "compiler/patch_graph.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronus {

/// A parameter value by its key (ParamKeys) and names.
struct ParamWrite {
    uint32_t key = 0;
    const std::string* id = nullptr;
    const std::string* param = nullptr;
    float value = 0;
};

class PatchVersions {
public:
    /// Every version keeps to `limits` (the pending patch is where edits are refused).
    explicit PatchVersions(const GraphLimits& limits = {})
        : pending_(limits), requested_(limits), playing_(limits) {}

    // Edits of the pending patch, validated by PatchGraph: an error changes nothing.
    Status create(std::string_view id, std::string_view type, std::optional<float> createArg);
    Status remove(std::string_view id);
    Status connect(std::string_view src, std::string_view dst);
    Status disconnect(std::string_view src, std::string_view dst);
    /// The pending patch becomes the requested one again.
    void abort();

    /// commit(): the pending patch becomes the requested one; returns a copy of it to compile.
    PatchGraph beginCommit();
    /// A commit swapped in: `graph` plays, with the values written since it was copied.
    void swappedIn(PatchGraph graph, std::span<const ParamWrite> since);
    /// The last commit queued failed: abort() now returns to what plays.
    void lastCommitFailed();
    /// The playing patch as patch-file text.
    std::string playingText();

    /// Module `id` as the control side knows it (pending first, then requested, then playing),
    /// with the structure version it was found at.
    struct Found {
        const ModuleDescriptor* desc = nullptr;
        std::shared_ptr<const ModuleLayout> layout;
        uint64_t version = 0;
    };
    std::optional<Found> find(std::string_view id) const;
    /// True if `id` is a poly in the pending, requested or playing patch (notes go to it).
    bool hasPoly(std::string_view id) const;
    /// Runs a voice-template or poly edit (PatchGraph's) on the pending patch.
    Status editPending(const std::function<Status(PatchGraph&)>& edit);
    /// True while the pending patch has a voice template open (/voice/begin): values and gates
    /// then go to the template.
    bool pendingVoiceOpen() const;
    /// Module `id`'s target for its parameter `index` in the version find() names first, with
    /// every write so far; nothing if no version holds it, or (with `validatedAt`) if the
    /// structure is no longer that version. Read-back (`/mod/<id>/<param>` with no value).
    std::optional<float> value(std::string_view id, uint32_t index,
                               std::optional<uint64_t> validatedAt = std::nullopt);
    /// A copy of the pending or the playing patch with every write so far (cheap: copies share
    /// storage). `/patch/list`.
    PatchGraph pendingCopy();
    PatchGraph playingCopy();
    /// Grows whenever a graph gains, loses or replaces a module: what find() answered at an
    /// older version may be stale. Lock-free.
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

    /// Records `w` for every graph that holds its module (last value wins). With `validatedAt`,
    /// only if the structure is still that version (false: look the module up again).
    bool write(const ParamWrite& w, std::optional<uint64_t> validatedAt = std::nullopt);
    /// Grows whenever playingText() may have changed (a swap, a parameter value). Lock-free.
    uint64_t changes() const { return changes_.load(std::memory_order_relaxed); }

private:
    void fold();
    void restructured() { version_.fetch_add(1, std::memory_order_release); }

    mutable std::mutex mutex_;
    PatchGraph pending_, requested_, playing_;
    std::atomic<uint64_t> version_{1}, changes_{0};
    // Writes not folded yet: last value per key, in first-write order.
    std::vector<std::pair<uint32_t, float>> unfolded_;
    std::vector<int32_t> unfoldedAt_; ///< key -> index into unfolded_, -1: none
    /// key -> (id, param): this class's own copy, since the key table is another lock's.
    std::vector<std::pair<std::string, std::string>> names_;
};

} // namespace chronus
