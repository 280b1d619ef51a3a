#include "compiler/patch_graph.h"

#include "compiler/did_you_mean.h"
#include "compiler/param_check.h"
#include "compiler/voice_template.h"
#include "modules/choice_name.h"
#include "modules/registry.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace chronus {

namespace {

// ---- shared storage ----------------------------------------------------------------------------
// Graphs share what they have not changed. Everything shared is reference-counted and never
// written while more than one graph holds it: an edit first copies what it writes (one chunk of
// at most kChunk elements, and the store's table of chunk pointers), so a copy of the graph is a
// pointer and an edit costs the same at 10 modules as at 100,000.

/// Reference-counted; copying one copies its contents, not the count.
struct Counted {
    Counted() = default;
    Counted(const Counted&) {}
    Counted& operator=(const Counted&) = delete;
    mutable std::atomic<uint32_t> refs{1};
};

template <class T>
void retain(const T* p) {
    if (p != nullptr) p->refs.fetch_add(1, std::memory_order_relaxed);
}

template <class T>
void release(const T* p) {
    // acq_rel: the last owner's delete sees every other owner's reads done.
    if (p != nullptr && p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p;
}

/// Held by nobody else, so ours to write. Acquire: another owner's release (its last reads of
/// the object) happens before our writes.
template <class T>
bool sole(const T* p) {
    return p->refs.load(std::memory_order_acquire) == 1;
}

/// An owning pointer to a shared T; mut() makes it ours alone first.
template <class T>
class Ref {
public:
    Ref() = default;
    explicit Ref(T* adopt) : p_(adopt) {}
    Ref(const Ref& o) : p_(o.p_) { retain(p_); }
    Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Ref& operator=(Ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~Ref() { release(p_); }
    const T* get() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }
    T& mut() {
        if (!sole(p_)) *this = Ref(new T(*p_));
        return *p_;
    }

private:
    T* p_ = nullptr;
};

constexpr uint64_t kChunkBits = 6;
constexpr uint64_t kChunk = uint64_t{1} << kChunkBits;

template <class T>
struct Chunk : Counted {
    std::array<std::optional<T>, kChunk> at;
    uint32_t live = 0;
};

/// Elements by serial (the order they were added), in shared chunks; an erased element leaves a
/// hole, and a chunk of holes is freed.
template <class T>
struct Column {
    std::vector<Ref<Chunk<T>>> chunks;
    uint64_t end = 0; ///< serials handed out
    std::size_t live = 0;

    const T* get(uint64_t s) const {
        if (s >= end) return nullptr;
        const Chunk<T>* c = chunks[s >> kChunkBits].get();
        if (c == nullptr) return nullptr;
        const std::optional<T>& e = c->at[s & (kChunk - 1)];
        return e ? &*e : nullptr;
    }
    const T& at(uint64_t s) const { return *get(s); }
    /// `s` must be live.
    T& mut(uint64_t s) { return *chunks[s >> kChunkBits].mut().at[s & (kChunk - 1)]; }
    uint64_t push(T value) {
        if ((end & (kChunk - 1)) == 0) chunks.emplace_back();
        Ref<Chunk<T>>& ref = chunks.back();
        if (!ref) ref = Ref<Chunk<T>>(new Chunk<T>());
        Chunk<T>& c = ref.mut();
        c.at[end & (kChunk - 1)].emplace(std::move(value));
        ++c.live;
        ++live;
        return end++;
    }
    void erase(uint64_t s) {
        Ref<Chunk<T>>& ref = chunks[s >> kChunkBits];
        Chunk<T>& c = ref.mut();
        c.at[s & (kChunk - 1)].reset();
        --live;
        if (--c.live == 0) ref = Ref<Chunk<T>>();
    }
    /// The first live serial at or after `s`, or `end`.
    uint64_t next(uint64_t s) const {
        while (s < end) {
            const Chunk<T>* c = chunks[s >> kChunkBits].get();
            if (c == nullptr) {
                s = (s | (kChunk - 1)) + 1;
                continue;
            }
            if (c->at[s & (kChunk - 1)]) return s;
            ++s;
        }
        return end;
    }
};

struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct IdShard : Counted {
    std::unordered_map<std::string, uint64_t, IdHash, std::equal_to<>> ids;
};

/// Module id -> serial, in shared shards of about kShardTarget ids (more shards as it grows).
struct IdIndex {
    static constexpr std::size_t kShardTarget = 64;
    std::vector<Ref<IdShard>> shards; ///< a power of two of them, or none
    std::size_t size = 0;

    std::size_t shardOf(std::string_view id) const {
        // The high bits of a multiplicative hash: the map inside uses the low ones.
        const uint64_t h = uint64_t{IdHash{}(id)} * 0x9E3779B97F4A7C15ull;
        const auto bits = static_cast<unsigned>(std::countr_zero(shards.size()));
        return bits == 0 ? 0 : static_cast<std::size_t>(h >> (64 - bits));
    }
    std::optional<uint64_t> find(std::string_view id) const {
        if (shards.empty()) return std::nullopt;
        const auto& ids = shards[shardOf(id)].get()->ids;
        auto it = ids.find(id);
        if (it == ids.end()) return std::nullopt;
        return it->second;
    }
    void insert(std::string_view id, uint64_t serial) {
        if (size + 1 > kShardTarget * shards.size()) grow();
        shards[shardOf(id)].mut().ids.emplace(std::string(id), serial);
        ++size;
    }
    void erase(std::string_view id) {
        auto& ids = shards[shardOf(id)].mut().ids;
        ids.erase(ids.find(id));
        --size;
    }

private:
    /// Twice the shards (one to start), every id placed again: O(n) once per doubling.
    void grow() {
        std::vector<Ref<IdShard>> old = std::move(shards);
        shards.clear();
        const std::size_t count = old.empty() ? 1 : 2 * old.size();
        for (std::size_t i = 0; i < count; ++i) shards.emplace_back(new IdShard());
        for (const auto& shard : old)
            for (const auto& [id, serial] : shard.get()->ids)
                shards[shardOf(id)].mut().ids.emplace(id, serial);
    }
};

struct Node {
    Module module;
    /// Place in a topological order of the instant connections (those from outputs that are not
    /// delayed): every such connection runs from a lower ord to a higher one.
    uint64_t ord = 0;
    uint64_t stateBytes = 0;       ///< as the schedule lays it out
    std::vector<uint64_t> in, out; ///< link serials, in the order they were made
    std::vector<uint32_t> fanIn;   ///< links into each kernel in slot; empty until one is made
};

struct Link {
    Connection c;
    uint64_t src = 0, dst = 0; ///< node serials
    bool instant = true;       ///< from an output that is not delayed: a loop through it is not
};

uint64_t align16(uint64_t n) {
    return (n + 15) & ~uint64_t{15};
}

std::pair<std::string_view, std::optional<std::string_view>> splitRef(std::string_view ref) {
    auto colon = ref.find(':');
    if (colon == std::string_view::npos) return {ref, std::nullopt};
    return {ref.substr(0, colon), ref.substr(colon + 1)};
}

std::string megabytes(uint64_t bytes) {
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

/// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`.
std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);
        }
        std::swap(prev2, prev);
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

} // namespace

/// " (did you mean 'freq'?)" for the closest of `names` to a misspelt `word`, or "" when none is
/// close: at most two edits, and at most half the word (so a short word is not "corrected" into
/// an unrelated one).
std::string didYouMean(std::string_view word, const std::vector<std::string_view>& names) {
    std::string_view best;
    std::size_t bestDistance = std::min<std::size_t>(2, word.size() / 2) + 1;
    for (std::string_view n : names) {
        const std::size_t d = editDistance(word, n);
        if (d < bestDistance) {
            bestDistance = d;
            best = n;
        }
    }
    return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

namespace {

template <class Modules>
Error unknownId(const Modules& modules, std::string_view id) {
    std::vector<std::string_view> ids;
    for (const Module& m : modules) ids.push_back(m.id);
    return makeError("unknown module id '{}'{}", id, didYouMean(id, ids));
}

/// Every type name and alias.
std::vector<std::string_view> typeNames() {
    std::vector<std::string_view> names;
    for (const ModuleDescriptor* d : allModules()) {
        names.push_back(d->type);
        for (std::string_view a : d->aliases) names.push_back(a);
    }
    return names;
}

/// A module's ports and parameters by name: `inputs`, `outputs` and `params` pick which.
std::vector<std::string_view> portNames(const Module& m, bool inputs, bool outputs, bool params) {
    std::vector<std::string_view> names;
    if (inputs)
        for (const auto& p : m.layout->inputs) names.push_back(p.name);
    if (outputs)
        for (const auto& p : m.layout->outputs) names.push_back(p.name);
    if (params)
        for (const auto& p : m.layout->params) names.push_back(p.name);
    return names;
}

} // namespace

struct PatchGraph::Store : Counted {
    Column<Node> nodes;
    Column<Link> links;
    IdIndex index;
    uint64_t nextOrd = 0;
    uint64_t stateBytes = 0;

    const Node* node(std::string_view id, uint64_t* serial = nullptr) const {
        auto s = index.find(id);
        if (!s) return nullptr;
        if (serial != nullptr) *serial = *s;
        return &nodes.at(*s);
    }
};

namespace {

using Store = PatchGraph::Store;

/// `link` removed from the in- or out-list `list` (where it is, once).
void unlist(std::vector<uint64_t>& list, uint64_t link) {
    list.erase(std::find(list.begin(), list.end(), link));
}

/// For a new instant link x -> y, kept acyclic after Pearce and Kelly ("A dynamic topological
/// sort algorithm for directed acyclic graphs", 2006): if x is already before y nothing moves;
/// else only the modules placed between them are searched. Returns the loop the link would close
/// as serials [x, y, ..., w] (w -> x), or none, with `moves` the new ords that keep the order.
std::optional<std::vector<uint64_t>>
loopThrough(const Store& s, uint64_t x, uint64_t y,
            std::vector<std::pair<uint64_t, uint64_t>>& moves) {
    if (x == y) return std::vector<uint64_t>{x};
    const uint64_t ub = s.nodes.at(x).ord, lb = s.nodes.at(y).ord;
    if (ub < lb) return std::nullopt;
    // Forward from y through modules placed before x: reaching x closes the loop.
    std::unordered_map<uint64_t, uint64_t> from{{y, y}}; // visited -> the module before it
    std::vector<uint64_t> stack{y}, forward;
    while (!stack.empty()) {
        const uint64_t u = stack.back();
        stack.pop_back();
        forward.push_back(u);
        for (uint64_t l : s.nodes.at(u).out) {
            const Link& link = s.links.at(l);
            if (!link.instant) continue;
            if (link.dst == x) {
                std::vector<uint64_t> loop{u};
                while (loop.back() != y) loop.push_back(from.at(loop.back()));
                loop.push_back(x);
                std::reverse(loop.begin(), loop.end());
                return loop;
            }
            if (s.nodes.at(link.dst).ord < ub && from.emplace(link.dst, u).second)
                stack.push_back(link.dst);
        }
    }
    // Backward from x through modules placed after y. The two sets are disjoint (a module in
    // both would be on a path from y to x), and putting all of the backward one first, each set
    // in its own order, on the same ords, keeps every connection going forward.
    std::unordered_set<uint64_t> seen{x};
    std::vector<uint64_t> backward;
    stack = {x};
    while (!stack.empty()) {
        const uint64_t u = stack.back();
        stack.pop_back();
        backward.push_back(u);
        for (uint64_t l : s.nodes.at(u).in) {
            const Link& link = s.links.at(l);
            if (link.instant && s.nodes.at(link.src).ord > lb && seen.insert(link.src).second)
                stack.push_back(link.src);
        }
    }
    auto byOrd = [&](uint64_t a, uint64_t b) { return s.nodes.at(a).ord < s.nodes.at(b).ord; };
    std::sort(forward.begin(), forward.end(), byOrd);
    std::sort(backward.begin(), backward.end(), byOrd);
    std::vector<uint64_t> ords;
    for (uint64_t n : backward) ords.push_back(s.nodes.at(n).ord);
    for (uint64_t n : forward) ords.push_back(s.nodes.at(n).ord);
    std::sort(ords.begin(), ords.end());
    std::size_t i = 0;
    for (uint64_t n : backward) moves.emplace_back(n, ords[i++]);
    for (uint64_t n : forward) moves.emplace_back(n, ords[i++]);
    return std::nullopt;
}

/// Erased modules and connections leave holes in their columns; once there are more holes than
/// live elements, the store is made again from what lives (new serials, same order), so a session
/// that creates and deletes for hours keeps tables the size of its patch. That costs O(live) once
/// per as many deletes: O(1) a delete, amortised.
bool worthCompacting(const Store& s) {
    const uint64_t live = s.nodes.live + s.links.live;
    const uint64_t holes = (s.nodes.end - s.nodes.live) + (s.links.end - s.links.live);
    return holes > live + 4 * kChunk;
}

Store* compacted(const Store& s) {
    auto* fresh = new Store();
    fresh->nextOrd = s.nextOrd;
    fresh->stateBytes = s.stateBytes;
    std::unordered_map<uint64_t, uint64_t> serialOf;
    serialOf.reserve(s.nodes.live);
    for (uint64_t i = s.nodes.next(0); i < s.nodes.end; i = s.nodes.next(i + 1)) {
        Node n = s.nodes.at(i);
        n.in.clear();
        n.out.clear();
        const uint64_t now = fresh->nodes.push(std::move(n));
        serialOf.emplace(i, now);
        fresh->index.insert(fresh->nodes.at(now).module.id, now);
    }
    for (uint64_t i = s.links.next(0); i < s.links.end; i = s.links.next(i + 1)) {
        Link l = s.links.at(i);
        l.src = serialOf.at(l.src);
        l.dst = serialOf.at(l.dst);
        const uint64_t src = l.src, dst = l.dst;
        const uint64_t now = fresh->links.push(std::move(l));
        fresh->nodes.mut(src).out.push_back(now);
        fresh->nodes.mut(dst).in.push_back(now);
    }
    return fresh;
}

} // namespace

// ---- copies
// --------------------------------------------------------------------------------------

PatchGraph::PatchGraph(const PatchGraph& other)
    : limits_(other.limits_), store_(other.store_), voices_(other.voices_) {
    retain(store_);
}

PatchGraph::PatchGraph(PatchGraph&& other) noexcept
    : limits_(other.limits_), store_(std::exchange(other.store_, nullptr)),
      voices_(std::move(other.voices_)) {}

PatchGraph& PatchGraph::operator=(const PatchGraph& other) {
    if (this != &other) {
        retain(other.store_);
        release(store_);
        store_ = other.store_;
        limits_ = other.limits_;
        voices_ = other.voices_;
    }
    return *this;
}

PatchGraph& PatchGraph::operator=(PatchGraph&& other) noexcept {
    if (this != &other) {
        release(store_);
        store_ = std::exchange(other.store_, nullptr);
        limits_ = other.limits_;
        voices_ = std::move(other.voices_);
    }
    return *this;
}

PatchGraph::~PatchGraph() {
    release(store_);
}

PatchGraph::Store& PatchGraph::mutableStore() {
    if (store_ == nullptr) {
        store_ = new Store();
    } else if (!sole(store_)) {
        Store* copy = new Store(*store_); // the chunk tables; the chunks stay shared
        release(store_);
        store_ = copy;
    }
    return *store_;
}

// ---- ranges
// --------------------------------------------------------------------------------------

namespace {

const Column<Node>& columnOf(const Store& s, const Module*) {
    return s.nodes;
}
const Column<Link>& columnOf(const Store& s, const Connection*) {
    return s.links;
}
const Module& elementOf(const Node& n) {
    return n.module;
}
const Connection& elementOf(const Link& l) {
    return l.c;
}

} // namespace

template <class T>
PatchGraph::Range<T>::iterator::iterator(const Store* store, uint64_t at)
    : store_(store), at_(at) {}

template <class T>
const T& PatchGraph::Range<T>::iterator::operator*() const {
    return elementOf(columnOf(*store_, static_cast<const T*>(nullptr)).at(at_));
}

template <class T>
typename PatchGraph::Range<T>::iterator& PatchGraph::Range<T>::iterator::operator++() {
    at_ = columnOf(*store_, static_cast<const T*>(nullptr)).next(at_ + 1);
    return *this;
}

template <class T>
typename PatchGraph::Range<T>::iterator PatchGraph::Range<T>::begin() const {
    if (store_ == nullptr) return iterator(nullptr, 0);
    return iterator(store_, columnOf(*store_, static_cast<const T*>(nullptr)).next(0));
}

template <class T>
typename PatchGraph::Range<T>::iterator PatchGraph::Range<T>::end() const {
    if (store_ == nullptr) return iterator(nullptr, 0);
    return iterator(store_, columnOf(*store_, static_cast<const T*>(nullptr)).end);
}

template <class T>
std::size_t PatchGraph::Range<T>::size() const {
    return store_ == nullptr ? 0 : columnOf(*store_, static_cast<const T*>(nullptr)).live;
}

template class PatchGraph::Range<Module>;
template class PatchGraph::Range<Connection>;

// ---- edits
// ---------------------------------------------------------------------------------------

Status validateModuleId(std::string_view id) {
    if (id.empty()) return makeError("module id is empty");
    if (id.size() > 63)
        return makeError("module id '{}...' is longer than 63 characters", id.substr(0, 20));
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return makeError(
                "module id '{}' has character '{}'; use letters, digits, '_', '-', '.'", id, c);
    }
    // A patch file reads a word that parses as a number as that number, and decodeCommand gives
    // whole numbers back as ids by their text ("1"). Any other id that reads as a number ("1.0",
    // "01", "-0", "1e3", "inf", "nan") would not survive /patch/dump and a replay (or a restart
    // from `serve --state`), so it is refused here, where it is made. Found by fuzz/target_osc.cpp.
    double v = 0;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
    if (ec == std::errc() && end == id.data() + id.size()) {
        const bool canonical = std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 16777216 &&
                               fmt::format("{}", static_cast<long long>(v)) == id;
        if (!canonical)
            return makeError(
                "module id '{}' reads as a number that a patch file would not give back "
                "as this id; use a whole number such as '1' or a name",
                id);
    }
    return {};
}

const Module* PatchGraph::find(std::string_view id) const {
    if (store_ == nullptr) return nullptr;
    const Node* n = store_->node(id);
    return n == nullptr ? nullptr : &n->module;
}

uint64_t PatchGraph::stateBytes() const {
    return store_ == nullptr ? 0 : store_->stateBytes;
}

Status PatchGraph::create(std::string_view id, std::string_view type,
                          std::optional<float> createArg) {
    if (voiceOpen())
        return editOpenVoice([&](PatchGraph& g) { return g.create(id, type, createArg); });
    if (Status s = voiceGuard(id); !s) return s;
    if (Status s = validateModuleId(id); !s) return s;
    const ModuleDescriptor* desc = findModule(type);
    if (desc == nullptr)
        return makeError("unknown module type '{}'{} (chronus modules lists them)", type,
                         didYouMean(type, typeNames()));
    if (find(id) != nullptr) return makeError("module id '{}' already exists", id);
    const CreateArgDesc& ca = desc->createArg;
    float arg = ca.defaultValue;
    if (createArg) {
        if (ca.name.empty()) return makeError("{} takes no creation argument", desc->type);
        if (!std::isfinite(*createArg) || *createArg < ca.minValue || *createArg > ca.maxValue)
            return makeError("{} {} {} is outside [{}, {}]", desc->type, ca.name, *createArg,
                             ca.minValue, ca.maxValue);
        if (ca.whole && *createArg != std::floor(*createArg))
            return makeError("{} {} takes a whole number, got {}", desc->type, ca.name, *createArg);
        arg = *createArg;
    }
    const std::size_t count = modules().size();
    if (count >= limits_.maxModules)
        return makeError("the patch already has {} modules, the most it may hold "
                         "(raise it with {})",
                         count, kMaxModulesOption);
    auto layout = std::make_shared<const ModuleLayout>(makeLayout(*desc, arg));
    if (layout->kernelInCount() > kMaxKernelValues)
        return makeError("{} with {} {} has too many ports", desc->type, ca.name, arg);
    // As the schedule lays it out: the parameters, then the kernel's state, each 16-aligned. The
    // seed does not size anything.
    const uint64_t bytes = align16(sizeof(float) * layout->params.size()) +
                           align16(desc->stateSize(InstanceConfig{arg, limits_.sampleRate, 0}));
    const uint64_t before = stateBytes();
    if (bytes > limits_.maxStateBytes || before > limits_.maxStateBytes - bytes)
        return makeError("{} ({}) needs {} of state and the patch has {} of its {} "
                         "(raise it with {})",
                         id, desc->type, megabytes(bytes), megabytes(before),
                         megabytes(limits_.maxStateBytes), kMaxStateOption);

    Node n;
    n.module.id = std::string(id);
    n.module.desc = desc;
    n.module.createArg = arg;
    n.module.layout = std::move(layout);
    for (const auto& p : n.module.layout->params) n.module.params.push_back(p.desc.defaultValue);
    n.stateBytes = bytes;
    Store& s = mutableStore();
    n.ord = s.nextOrd++;
    const uint64_t serial = s.nodes.push(std::move(n));
    s.index.insert(id, serial);
    s.stateBytes += bytes;
    return {};
}

Status PatchGraph::remove(std::string_view id) {
    if (voiceOpen()) return editOpenVoice([&](PatchGraph& g) { return g.remove(id); });
    if (Status s = voiceGuard(id); !s) return s;
    if (!expanding_ && voices_ != nullptr) return removePoly(id);
    if (find(id) == nullptr) return unknownId(modules(), id);
    Store& s = mutableStore();
    uint64_t serial = 0;
    s.node(id, &serial);
    const Node& n = s.nodes.at(serial);
    const std::vector<uint64_t> out = n.out, in = n.in;
    for (uint64_t l : out) {
        const uint64_t dst = s.links.at(l).dst;
        if (dst != serial) unlist(s.nodes.mut(dst).in, l);
        s.links.erase(l);
    }
    for (uint64_t l : in) {
        if (s.links.get(l) == nullptr) continue; // a loop onto itself, gone with `out`
        const Link& link = s.links.at(l);
        Node& src = s.nodes.mut(link.src);
        unlist(src.out, l);
        s.links.erase(l);
    }
    s.stateBytes -= s.nodes.at(serial).stateBytes;
    s.index.erase(id);
    s.nodes.erase(serial);
    if (worthCompacting(s)) {
        Store* fresh = compacted(s);
        release(store_);
        store_ = fresh;
    }
    return {};
}

Expected<PatchGraph::Endpoint> PatchGraph::resolveSource(std::string_view ref) const {
    auto [id, port] = splitRef(ref);
    uint64_t serial = 0;
    const Node* n = store_ == nullptr ? nullptr : store_->node(id, &serial);
    if (n == nullptr) return unknownId(modules(), id);
    const Module* m = &n->module;
    if (m->desc->isSink)
        return makeError("{} is an {} module: nothing can be taken from it", id, m->desc->type);
    if (m->layout->outputs.empty()) return makeError("{} ({}) has no output", id, m->desc->type);
    if (!port) return Endpoint{m, serial, 0};
    for (uint32_t i = 0; i < m->layout->outputs.size(); ++i)
        if (m->layout->outputs[i].name == *port) return Endpoint{m, serial, i};
    for (const auto& in : m->layout->inputs)
        if (in.name == *port) return makeError("{}:{} is an input, not an output", id, *port);
    for (const auto& p : m->layout->params)
        if (p.name == *port) return makeError("{}:{} is a parameter, not an output", id, *port);
    return makeError("{} ({}) has no port '{}'{}", id, m->desc->type, *port,
                     didYouMean(*port, portNames(*m, false, true, false)));
}

Expected<PatchGraph::Endpoint> PatchGraph::resolveDestination(std::string_view ref) const {
    auto [id, port] = splitRef(ref);
    uint64_t serial = 0;
    const Node* n = store_ == nullptr ? nullptr : store_->node(id, &serial);
    if (n == nullptr) return unknownId(modules(), id);
    const Module* m = &n->module;
    if (!port) {
        if (m->layout->inputs.empty()) {
            std::string hint = m->layout->params.empty()
                                   ? std::string()
                                   : fmt::format("; to modulate, name a parameter, e.g. {}:{}", id,
                                                 m->layout->params[0].name);
            return makeError("{} ({}) has no audio input{}", id, m->desc->type, hint);
        }
        return Endpoint{m, serial, 0};
    }
    for (uint32_t i = 0; i < m->layout->inputs.size(); ++i)
        if (m->layout->inputs[i].name == *port) return Endpoint{m, serial, i};
    for (uint32_t i = 0; i < m->layout->params.size(); ++i)
        if (m->layout->params[i].name == *port)
            return Endpoint{m, serial, static_cast<uint32_t>(m->layout->inputs.size()) + i};
    for (const auto& o : m->layout->outputs)
        if (o.name == *port)
            return makeError("cannot connect to an output: {}:{} is an output", id, *port);
    return makeError("{} ({}) has no input or parameter '{}'{}", id, m->desc->type, *port,
                     didYouMean(*port, portNames(*m, true, false, true)));
}

namespace {

/// The link from `src`'s output `srcPort` into `dst`'s slot `dstSlot`, if made: searched from
/// whichever end has fewer connections.
std::optional<uint64_t> findLink(const Store& s, uint64_t src, uint32_t srcPort, uint64_t dst,
                                 uint32_t dstSlot) {
    const Node &a = s.nodes.at(src), &b = s.nodes.at(dst);
    for (uint64_t l : a.out.size() <= b.in.size() ? a.out : b.in) {
        const Link& link = s.links.at(l);
        if (link.src == src && link.dst == dst && link.c.srcPort == srcPort &&
            link.c.dstSlot == dstSlot)
            return l;
    }
    return std::nullopt;
}

} // namespace

Status PatchGraph::connect(std::string_view src, std::string_view dst) {
    if (voiceOpen()) return editOpenVoice([&](PatchGraph& g) { return g.connect(src, dst); });
    if (Status g = voiceGuard(src); !g) return g;
    if (Status g = voiceGuard(dst); !g) return g;
    auto s = resolveSource(src);
    if (!s) return s.error();
    auto d = resolveDestination(dst);
    if (!d) return d.error();
    const Store& cs = *store_;
    if (findLink(cs, s->serial, s->index, d->serial, d->index))
        return makeError("{} is already connected to {}", src, dst);
    const Node& target = cs.nodes.at(d->serial);
    const uint32_t fanIn = target.fanIn.empty() ? 0 : target.fanIn[d->index];
    if (fanIn >= limits_.maxSourcesPerInput)
        return makeError("{} already has {} source{}, the most one input takes (raise it with {})",
                         slotName(*d->module, d->index), fanIn, fanIn == 1 ? "" : "s",
                         kMaxSourcesOption);
    const bool instant = !s->module->layout->outputs[s->index].delayed;
    std::vector<std::pair<uint64_t, uint64_t>> moves;
    if (instant)
        if (auto loop = loopThrough(cs, s->serial, d->serial, moves)) {
            std::string path;
            for (uint64_t n : *loop) path += cs.nodes.at(n).module.id + " -> ";
            path += cs.nodes.at(loop->front()).module.id;
            return makeError("connecting {} to {} closes the loop {} without a one-sample delay; "
                             "route feedback through z1 or delay:wet",
                             src, dst, path);
        }

    Link link{Connection{s->module->id, s->index, d->module->id, d->index}, s->serial, d->serial,
              instant};
    const uint64_t from = s->serial, to = d->serial;
    const uint32_t slot = d->index;
    Store& ms = mutableStore(); // s and d point into the store we may just have left
    for (auto [n, ord] : moves) ms.nodes.mut(n).ord = ord;
    const uint64_t l = ms.links.push(std::move(link));
    ms.nodes.mut(from).out.push_back(l);
    Node& t = ms.nodes.mut(to);
    t.in.push_back(l);
    if (t.fanIn.empty()) t.fanIn.resize(t.module.layout->kernelInCount(), 0);
    ++t.fanIn[slot];
    return {};
}

Status PatchGraph::disconnect(std::string_view src, std::string_view dst) {
    if (voiceOpen()) return editOpenVoice([&](PatchGraph& g) { return g.disconnect(src, dst); });
    if (Status g = voiceGuard(src); !g) return g;
    if (Status g = voiceGuard(dst); !g) return g;
    auto s = resolveSource(src);
    if (!s) return s.error();
    auto d = resolveDestination(dst);
    if (!d) return d.error();
    auto l = findLink(*store_, s->serial, s->index, d->serial, d->index);
    if (!l) return makeError("{} is not connected to {}", src, dst);
    const uint64_t from = s->serial, to = d->serial;
    const uint32_t slot = d->index;
    Store& ms = mutableStore();
    unlist(ms.nodes.mut(from).out, *l);
    Node& t = ms.nodes.mut(to);
    unlist(t.in, *l);
    --t.fanIn[slot];
    ms.links.erase(*l);
    return {};
}

Status PatchGraph::setParam(std::string_view id, std::string_view param, float value) {
    if (voiceOpen())
        return editOpenVoice([&](PatchGraph& g) { return g.setParam(id, param, value); });
    if (templateParamOwner(id, param) != nullptr) return setPolyParam(id, param, value);
    uint64_t serial = 0;
    const Node* n = store_ == nullptr ? nullptr : store_->node(id, &serial);
    if (n == nullptr) return unknownId(modules(), id);
    const Module& m = n->module;
    for (size_t i = 0; i < m.layout->params.size(); ++i) {
        const auto& p = m.layout->params[i];
        if (p.name != param) continue;
        if (Status s = checkParamValue(p.desc, id, param, value); !s) return s;
        // The same value (bit for bit) leaves a shared chunk shared.
        if (std::bit_cast<uint32_t>(m.params[i]) != std::bit_cast<uint32_t>(value))
            mutableStore().nodes.mut(serial).module.params[i] = value;
        return {};
    }
    return makeError("{} ({}) has no parameter '{}'{}", id, m.desc->type, param,
                     didYouMean(param, portNames(m, false, false, true)));
}

Expected<uint32_t> PatchGraph::paramIndex(std::string_view id, std::string_view param) const {
    const Module* m = find(id);
    if (m == nullptr) return unknownId(modules(), id);
    for (size_t i = 0; i < m->layout->params.size(); ++i)
        if (m->layout->params[i].name == param) return static_cast<uint32_t>(i);
    return makeError("{} ({}) has no parameter '{}'{}", id, m->desc->type, param,
                     didYouMean(param, portNames(*m, false, false, true)));
}

Expected<const ParamDesc*> PatchGraph::paramDesc(std::string_view id,
                                                 std::string_view param) const {
    if (const PolyInfo* p = templateParamOwner(id, param)) {
        const auto [local, name] = *splitTemplateParam(param);
        const PatchGraph& t = p->expanded->graph;
        auto idx = t.paramIndex(local, name);
        if (!idx)
            return makeError("{}:{}: poly {}'s template '{}': {}", id, param, id, p->templateName,
                             idx.error().message);
        return &t.find(local)->layout->params[*idx].desc;
    }
    auto idx = paramIndex(id, param);
    if (!idx) return idx.error();
    return &find(id)->layout->params[*idx].desc;
}

Status PatchGraph::setParamChoice(std::string_view id, std::string_view param,
                                  std::string_view choice) {
    if (voiceOpen())
        return editOpenVoice([&](PatchGraph& g) { return g.setParamChoice(id, param, choice); });
    auto desc = paramDesc(id, param);
    if (!desc) return desc.error();
    auto value = choiceValue(**desc, id, param, choice);
    if (!value) return value.error();
    return setParam(id, param, *value);
}

std::string PatchGraph::slotName(const Module& m, uint32_t slot) {
    if (slot < m.layout->inputs.size()) return m.id + ":" + m.layout->inputs[slot].name;
    return m.id + ":" + m.layout->params[slot - m.layout->inputs.size()].name;
}

std::string PatchGraph::toPatchText() const {
    // A poly is written as its template and one /patch/create ID poly: its voices' modules and
    // their connections are the expansion's.
    std::string out = voicesText();
    const VoiceTable* vt = voices_.get();
    auto owned = [vt](std::string_view id) { return vt != nullptr && vt->ownerOf(id) != nullptr; };
    for (const Module& m : modules()) {
        if (owned(m.id)) continue;
        if (const PolyInfo* p = vt != nullptr ? vt->findPoly(m.id) : nullptr)
            out += fmt::format("/patch/create {} poly {} {}\n", p->id, p->templateName, p->voices);
        else if (m.desc->createArg.name.empty())
            out += fmt::format("/patch/create {} {}\n", m.id, m.desc->type);
        else
            out += fmt::format("/patch/create {} {} {}\n", m.id, m.desc->type, m.createArg);
    }
    // As a person writes them: a choice by its name, a gate as /gate.
    auto value = [&out](std::string_view id, std::string_view name, const ParamDesc& d, float v) {
        const auto choices = d.choices.size();
        if (v >= 0 && v < float(choices) && v == std::floor(v))
            out += fmt::format("/mod/{}/{} {}\n", id, name, d.choices[static_cast<size_t>(v)]);
        else if (name == "gate" && (v == 0 || v == 1))
            out += fmt::format("/gate/{} {}\n", id, v);
        else
            out += fmt::format("/mod/{}/{} {}\n", id, name, v);
    };
    for (const Module& m : modules()) {
        for (size_t i = 0; i < m.params.size() && !owned(m.id); ++i) {
            const ModuleLayout::Param& p = m.layout->params[i];
            if (m.params[i] != p.desc.defaultValue) value(m.id, p.name, p.desc, m.params[i]);
        }
        if (const PolyInfo* p = vt != nullptr ? vt->findPoly(m.id) : nullptr)
            for (const auto& [name, v] : p->values)
                if (auto d = paramDesc(m.id, name)) value(m.id, name, **d, v);
    }
    if (store_ == nullptr) return out; // no modules: nothing to connect or commit
    const Store& s = *store_;
    for (uint64_t i = s.links.next(0); i < s.links.end; i = s.links.next(i + 1)) {
        const Link& l = s.links.at(i);
        if (owned(l.c.src) || owned(l.c.dst)) continue;
        const Module& src = s.nodes.at(l.src).module;
        const Module& dst = s.nodes.at(l.dst).module;
        out += fmt::format("/patch/connect {}:{} {}\n", l.c.src,
                           src.layout->outputs[l.c.srcPort].name, slotName(dst, l.c.dstSlot));
    }
    // Rendered or served, the text plays the patch: without a commit nothing would be heard.
    if (!modules().empty()) out += "/patch/commit\n";
    return out;
}

} // namespace chronus
