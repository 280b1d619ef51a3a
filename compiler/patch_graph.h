// The patch a user edits: module instances, connections and parameter values. Every edit is
// validated at once; a bad one returns an Error naming what was wrong and changes nothing.
//
// Sizes: every edit costs the same whatever the patch's size (ids are hashed, each module keeps
// its own connections, and the loop check walks only the modules between the two ends in a
// topological order it keeps up to date, after Pearce and Kelly's dynamic topological sort).
// Copies share: a copy costs a pointer, and the graphs share their storage in chunks of modules
// and connections until one of them edits a chunk, which it then copies (64 modules at most).
// So the engine's copies of the pending patch at every commit cost next to nothing, in time and
// in memory. A shared chunk is never written, so copies may be read and edited on different
// threads (each PatchGraph object itself by one thread at a time, as any value).
#pragma once

#include "base/expected.h"
#include "base/graph_limits.h"
#include "modules/descriptor.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronus {

struct PolyInfo;
struct VoiceTable;

struct Module {
    std::string id;
    const ModuleDescriptor* desc = nullptr;
    float createArg = 0;
    /// Fixed by type and creation argument, so shared by every copy of the graph (a commit copies
    /// the graph; a thousand modules must not mean thousands of allocations).
    std::shared_ptr<const ModuleLayout> layout;
    std::vector<float> params; ///< current targets, in layout.params order
};

/// An audio connection (dstSlot < inputs) or a modulation (dstSlot indexes a parameter, offset by
/// the input count): the kernel `in` slot it feeds.
struct Connection {
    std::string src;
    uint32_t srcPort = 0;
    std::string dst;
    uint32_t dstSlot = 0;
    bool operator==(const Connection&) const = default;
};

class PatchGraph {
public:
    struct Store; ///< opaque: the shared storage (patch_graph.cpp)

    /// Modules in creation order, or connections in the order they were made: a forward range
    /// over the graph, valid until it is edited.
    template <class T>
    class Range {
    public:
        class iterator {
        public:
            using iterator_category = std::forward_iterator_tag;
            using value_type = T;
            using difference_type = std::ptrdiff_t;
            using pointer = const T*;
            using reference = const T&;
            iterator() = default;
            const T& operator*() const;
            const T* operator->() const { return &**this; }
            iterator& operator++();
            iterator operator++(int) {
                iterator before = *this;
                ++*this;
                return before;
            }
            bool operator==(const iterator& o) const { return at_ == o.at_; }

        private:
            friend class Range;
            iterator(const Store* store, uint64_t at);
            const Store* store_ = nullptr;
            uint64_t at_ = 0; ///< serial of the element, or the end's
        };
        iterator begin() const;
        iterator end() const;
        std::size_t size() const;
        bool empty() const { return size() == 0; }

    private:
        friend class PatchGraph;
        explicit Range(const Store* store) : store_(store) {}
        const Store* store_;
    };

    PatchGraph() = default;
    explicit PatchGraph(const GraphLimits& limits) : limits_(limits) {}
    PatchGraph(const PatchGraph& other);
    PatchGraph(PatchGraph&& other) noexcept;
    PatchGraph& operator=(const PatchGraph& other);
    PatchGraph& operator=(PatchGraph&& other) noexcept;
    ~PatchGraph();

    /// Adds a module. `createArg` fixes memory or port count for types that take one.
    Status create(std::string_view id, std::string_view type,
                  std::optional<float> createArg = std::nullopt);
    /// Removes a module and every connection to or from it.
    Status remove(std::string_view id);
    /// `src[:output]` to `dst[:input|param]`; ports default to the first output / audio input.
    Status connect(std::string_view src, std::string_view dst);
    Status disconnect(std::string_view src, std::string_view dst);
    /// Sets a parameter target; the value must be finite and inside the parameter's range.
    Status setParam(std::string_view id, std::string_view param, float value);
    /// Sets a choice parameter by the name of its value (`mode` = "hp").
    Status setParamChoice(std::string_view id, std::string_view param, std::string_view choice);
    /// Index of parameter `param` of module `id` in layout order.
    Expected<uint32_t> paramIndex(std::string_view id, std::string_view param) const;
    /// The descriptor of `id:param`, a module's or a poly's template parameter (`keys` and
    /// `filt.cutoff`: template module `filt`'s `cutoff` in every voice of poly `keys`).
    Expected<const ParamDesc*> paramDesc(std::string_view id, std::string_view param) const;

    Range<Module> modules() const { return Range<Module>(store_); }
    Range<Connection> connections() const { return Range<Connection>(store_); }
    /// The module of this id, or null; valid until the graph is edited.
    const Module* find(std::string_view id) const;

    /// Edits that would take the graph past these are refused. Set before it is edited (a graph
    /// already past a lowered limit keeps what it has and only grows no further).
    void setLimits(const GraphLimits& limits) { limits_ = limits; }
    const GraphLimits& limits() const { return limits_; }
    /// Bytes of module state the schedule will lay out (GraphLimits::maxStateBytes counts them).
    uint64_t stateBytes() const;

    /// `id:name` of a kernel input slot (audio input or parameter).
    static std::string slotName(const Module& m, uint32_t slot);

    /// The patch as patch-file text: creates (with creation arguments), parameter values that
    /// differ from their default (choices by name, gates as /gate), connections, then a
    /// /patch/commit (unless empty). Replaying it gives an identical graph, playing.
    std::string toPatchText() const;

    // ---- voice templates and polys (compiler/voice_template.h) -------------------------------
    /// /voice/begin: the edits up to endVoice() go to template `name` (a new one, or the one of
    /// that name opened with its current content), not to the patch.
    Status beginVoice(std::string_view name);
    /// /voice/end: checks the template (an unconnected output to sum, every map's target) and
    /// re-expands every poly that uses it.
    Status endVoice();
    bool voiceOpen() const;
    /// /voice/map NAME pitch|gate|velocity ID:PARAM [LO HI]; a second map of a role adds a target.
    Status mapVoice(std::string_view name, std::string_view role, std::string_view target,
                    std::optional<std::pair<float, float>> range = std::nullopt);
    /// /patch/create ID poly NAME N.
    Status createPoly(std::string_view id, std::string_view templateName, float voices);
    /// Templates and polys; null when the graph has none.
    const VoiceTable* voiceTable() const { return voices_.get(); }

private:
    /// Refuses an edit of a module a poly owns (its voices are the template's to edit).
    Status voiceGuard(std::string_view ref) const;
    /// Runs `edit` on the template being defined.
    Status editOpenVoice(const std::function<Status(PatchGraph&)>& edit);
    Status expandPoly(PolyInfo& poly, const struct VoiceTemplate* before,
                      const struct VoiceTemplate& now);
    Status removePoly(std::string_view id);
    /// A write to a template parameter of poly `id` (`local.param`): every voice's copy, and the
    /// poly's `values` (later expansions and the dump).
    Status setPolyParam(std::string_view id, std::string_view param, float value);
    /// The poly `id` whose template parameter `param` names, or null (not a poly, no dot).
    const PolyInfo* templateParamOwner(std::string_view id, std::string_view param) const;
    /// The templates and their maps as patch-file lines (toPatchText writes them first).
    std::string voicesText() const;

    struct Endpoint {
        const Module* module;
        uint64_t serial; ///< the module's place in the store
        uint32_t index;
    };
    Expected<Endpoint> resolveSource(std::string_view ref) const;
    Expected<Endpoint> resolveDestination(std::string_view ref) const;
    /// The store, ours alone: copied first if another graph shares it.
    Store& mutableStore();

    GraphLimits limits_;
    Store* store_ = nullptr;                   ///< shared, reference-counted; null: empty
    std::shared_ptr<const VoiceTable> voices_; ///< shared, copied on write; null: none
    bool expanding_ = false; ///< a poly's own edits pass voiceGuard (never copied)
};

/// Checks a module id: 1..63 characters of [A-Za-z0-9_.-], so it fits an OSC address segment.
Status validateModuleId(std::string_view id);

} // namespace chronus
