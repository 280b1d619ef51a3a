#include "compiler/jit/fusion.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <numeric>
#include <set>

namespace chronus::jit {

namespace {

class UnionFind {
public:
    explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0u); }
    uint32_t find(uint32_t x) {
        while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
        return x;
    }
    /// Joins the sets of a and b; the smaller root survives (keeps the result deterministic).
    bool unite(uint32_t a, uint32_t b) {
        a = find(a);
        b = find(b);
        if (a == b) return false;
        if (b < a) std::swap(a, b);
        parent_[b] = a;
        return true;
    }

private:
    std::vector<uint32_t> parent_;
};

/// Distinct producer and consumer nodes of every node (any edge, delayed ones included).
struct Adjacency {
    std::vector<std::vector<uint32_t>> producers, consumers;
};

Adjacency adjacency(const Schedule& s) {
    const size_t n = s.nodes.size();
    Adjacency a{std::vector<std::vector<uint32_t>>(n), std::vector<std::vector<uint32_t>>(n)};
    for (uint32_t v = 0; v < n; ++v)
        for (const auto& slot : s.nodes[v].sources)
            for (const SignalRef& src : slot) {
                a.producers[v].push_back(src.node);
                a.consumers[src.node].push_back(v);
            }
    for (auto* lists : {&a.producers, &a.consumers})
        for (auto& l : *lists) {
            std::sort(l.begin(), l.end());
            l.erase(std::unique(l.begin(), l.end()), l.end());
        }
    return a;
}

/// Sorts each list and drops repeats: the sets of the passes below, in ascending order.
void sortUnique(std::vector<std::vector<uint32_t>>& lists) {
    for (auto& l : lists) {
        std::sort(l.begin(), l.end());
        l.erase(std::unique(l.begin(), l.end()), l.end());
    }
}

/// One pass of the group-level rules over the current sets; returns true if anything merged.
/// A group is private to B if B is the only group it feeds; B is owned by A if A is the only group
/// feeding it. A private group joins its consumer only if it is that consumer's only private
/// producer (several private producers make a summing point: voices into a mixer); an owned group
/// joins its producer only if it is that producer's only owned consumer (several make a fan-out
/// point). Shared sources (an LFO read by every voice) are neither, so they never glue voices.
/// Sets are addressed by their root (a node index) and visited in ascending order of it; vectors,
/// not maps and sets: a commit of 256 voices runs this over 1,000 nodes, even when every shape
/// is cached.
bool mergeGroupsOnce(const Schedule& s, UnionFind& uf) {
    const auto n = static_cast<uint32_t>(s.nodes.size());
    std::vector<std::vector<uint32_t>> consumers(n), producers(n);
    for (uint32_t v = 0; v < n; ++v)
        for (const auto& slot : s.nodes[v].sources)
            for (const SignalRef& src : slot) {
                uint32_t a = uf.find(src.node), b = uf.find(v);
                if (a == b) continue;
                consumers[a].push_back(b);
                producers[b].push_back(a);
            }
    sortUnique(consumers);
    sortUnique(producers);
    std::vector<int> privateProducers(n, 0), ownedConsumers(n, 0);
    for (uint32_t a = 0; a < n; ++a)
        if (consumers[a].size() == 1) ++privateProducers[consumers[a][0]];
    for (uint32_t b = 0; b < n; ++b)
        if (producers[b].size() == 1) ++ownedConsumers[producers[b][0]];
    std::vector<bool> touched(n, false);
    bool merged = false;
    auto merge = [&](uint32_t a, uint32_t b) {
        if (touched[a] || touched[b]) return;
        touched[a] = touched[b] = true;
        merged = true;
        uf.unite(a, b);
    };
    for (uint32_t a = 0; a < n; ++a)
        if (consumers[a].size() == 1 && privateProducers[consumers[a][0]] == 1)
            merge(a, consumers[a][0]);
    for (uint32_t b = 0; b < n; ++b)
        if (producers[b].size() == 1 && ownedConsumers[producers[b][0]] == 1)
            merge(producers[b][0], b);
    return merged;
}

/// Merges sets whose group graph forms a cycle (Tarjan over the quotient graph, its roots in
/// ascending order). Returns true if anything merged.
bool mergeGroupCycles(const Schedule& s, UnionFind& uf) {
    const auto n = static_cast<uint32_t>(s.nodes.size());
    std::vector<std::vector<uint32_t>> succ(n);
    std::vector<uint32_t> roots;
    for (uint32_t v = 0; v < n; ++v) {
        if (uf.find(v) == v) roots.push_back(v);
        for (const auto& slot : s.nodes[v].sources)
            for (const SignalRef& src : slot)
                if (uf.find(src.node) != uf.find(v)) succ[uf.find(src.node)].push_back(uf.find(v));
    }
    sortUnique(succ);
    std::vector<int> index(n, -1), low(n, 0);
    std::vector<bool> onStack(n, false);
    std::vector<uint32_t> stack;
    int next = 0;
    bool merged = false;
    std::function<void(uint32_t)> strong = [&](uint32_t v) {
        index[v] = low[v] = next++;
        stack.push_back(v);
        onStack[v] = true;
        for (uint32_t w : succ[v]) {
            if (index[w] < 0) {
                strong(w);
                low[v] = std::min(low[v], low[w]);
            } else if (onStack[w]) {
                low[v] = std::min(low[v], index[w]);
            }
        }
        if (low[v] == index[v]) {
            uint32_t w;
            do {
                w = stack.back();
                stack.pop_back();
                onStack[w] = false;
                if (w != v) merged |= uf.unite(v, w);
            } while (w != v);
        }
    };
    for (uint32_t g : roots)
        if (index[g] < 0) strong(g);
    return merged;
}

std::string floatKey(float v) {
    return fmt::format("{:08x}", std::bit_cast<uint32_t>(v));
}

} // namespace

int64_t FusionPlan::bufferOf(SignalRef s) const {
    auto it = bufferIndex.find(uint64_t{s.node} << 32 | s.output);
    return it == bufferIndex.end() ? -1 : int64_t{it->second};
}

int64_t FusionGroup::inputOf(SignalRef s) const {
    for (size_t k = 0; k < inputs.size(); ++k)
        if (!inputs[k].summed() && inputs[k].signals[0] == s) return static_cast<int64_t>(k);
    return -1;
}

SlotSources FusionGroup::slotSources(uint32_t v, uint32_t slot,
                                     std::span<const SignalRef> sources) const {
    for (const SummedSlot& sum : summed)
        if (sum.node == v && sum.slot == slot) return {sum.input, sources.subspan(sum.sources)};
    return {-1, sources};
}

FusionPlan planFusion(const Schedule& s) {
    const auto n = static_cast<uint32_t>(s.nodes.size());
    UnionFind uf(n);
    const Adjacency adj = adjacency(s);

    // 1. A feedback stage runs sample by sample as a whole: one group.
    for (const Stage& st : s.stages)
        if (st.feedback)
            for (uint32_t i = st.first + 1; i < st.first + st.count; ++i) uf.unite(st.first, i);

    // 2. Plain chains: u's only consumer is v and v's only producer is u.
    for (uint32_t v = 0; v < n; ++v)
        if (adj.producers[v].size() == 1) {
            uint32_t u = adj.producers[v][0];
            if (adj.consumers[u].size() == 1) uf.unite(u, v);
        }

    // 3. Group-level chains (see mergeGroupsOnce), until nothing changes.
    while (mergeGroupsOnce(s, uf)) {
    }

    // 4. No cycles between groups (a partition of a DAG can have them); merging may create new
    // cycles only through groups already merged, so repeat until none is left.
    while (mergeGroupCycles(s, uf)) {
    }

    // 5. The groups, numbered by their first node for now; a set longer than kMaxGroupNodes is
    // cut into runs of consecutive members, never inside a feedback stage. Within a set every
    // edge goes forward in schedule order (a delayed one only inside a stage), and no path leaves
    // a set and comes back (step 4): so the runs depend on each other in one direction only.
    std::vector<uint32_t> stageOf(n);
    for (uint32_t k = 0; k < s.stages.size(); ++k)
        for (uint32_t i = s.stages[k].first; i < s.stages[k].first + s.stages[k].count; ++i)
            stageOf[i] = k;
    constexpr uint32_t kNone = UINT32_MAX;
    std::vector<uint32_t> groupOfRoot(n, kNone); // set (by its root) -> its last run so far
    std::vector<FusionGroup> groups;
    std::vector<uint32_t> groupOf(n);
    for (uint32_t v = 0; v < n; ++v) {
        const uint32_t r = uf.find(v);
        bool open = groupOfRoot[r] == kNone;
        if (!open) {
            const FusionGroup& run = groups[groupOfRoot[r]];
            open = run.nodes.size() >= FusionPlan::kMaxGroupNodes &&
                   stageOf[run.nodes.back()] != stageOf[v];
        }
        if (open) {
            groupOfRoot[r] = static_cast<uint32_t>(groups.size());
            groups.emplace_back();
        }
        groupOf[v] = groupOfRoot[r];
        groups[groupOf[v]].nodes.push_back(v);
    }
    const auto gCount = static_cast<uint32_t>(groups.size());

    // Inputs (first use) and exports (read by another group or the output) of every group. A
    // slot's leading sources from other groups, two or more, are one summed input.
    std::vector<std::set<std::pair<uint32_t, uint32_t>>> exported(gCount);
    for (uint32_t gi = 0; gi < gCount; ++gi) {
        FusionGroup& g = groups[gi];
        for (uint32_t v : g.nodes)
            for (uint32_t slot = 0; slot < s.nodes[v].sources.size(); ++slot) {
                const auto& sources = s.nodes[v].sources[slot];
                uint32_t lead = 0;
                while (lead < sources.size() && groupOf[sources[lead].node] != gi) ++lead;
                if (lead >= 2) {
                    g.summed.push_back({v, slot, static_cast<uint32_t>(g.inputs.size()), lead});
                    g.inputs.push_back({{sources.begin(), sources.begin() + lead}, {}});
                }
                for (uint32_t k = 0; k < sources.size(); ++k) {
                    const SignalRef& src = sources[k];
                    if (groupOf[src.node] == gi) continue;
                    exported[groupOf[src.node]].insert({src.node, src.output});
                    if ((lead < 2 || k >= lead) && g.inputOf(src) < 0)
                        g.inputs.push_back({{src}, {}});
                }
            }
    }
    for (const SignalRef& t : s.outputTaps) exported[groupOf[t.node]].insert({t.node, t.output});
    for (uint32_t gi = 0; gi < gCount; ++gi)
        for (auto [node, output] : exported[gi]) groups[gi].exports.push_back({node, output});

    // Shape keys: everything the group function's code depends on, nothing instance-specific.
    // (Written straight into one buffer: at hundreds of voices this is most of the plan's time.)
    std::vector<std::string> keys(gCount);
    const std::string rateKey =
        fmt::format("rate {} smooth {};", floatKey(s.sampleRate), floatKey(s.smoothingCoef));
    std::vector<uint32_t> localOf(n, UINT32_MAX); // node -> index in the group being keyed
    fmt::memory_buffer key;
    for (uint32_t gi = 0; gi < gCount; ++gi) {
        const FusionGroup& g = groups[gi];
        for (uint32_t i = 0; i < g.nodes.size(); ++i) localOf[g.nodes[i]] = i;
        auto signalKey = [&](const SignalRef& src) {
            if (uint32_t local = localOf[src.node]; local != UINT32_MAX)
                fmt::format_to(fmt::appender(key), "n{}.{}", local, src.output);
            else
                fmt::format_to(fmt::appender(key), "x{}", g.inputOf(src));
        };
        key.clear();
        key.append(rateKey);
        for (uint32_t v : g.nodes) {
            const ScheduledNode& node = s.nodes[v];
            // No creation argument: it reaches the code only through the layout (slot count,
            // state size, both here) and the state (a seed, a length), which are per instance.
            fmt::format_to(fmt::appender(key), "[{}/{} k{} b{} s{}:", node.desc->type,
                           node.desc->kernel, node.kernelStateOffset - node.stateOffset,
                           node.stateBytes, node.layout->kernelInCount());
            for (uint32_t slot = 0; slot < node.sources.size(); ++slot) {
                key.push_back('(');
                // A summed input is one buffer however many sources it adds up.
                const SlotSources sum = g.slotSources(v, slot, node.sources[slot]);
                if (sum.summedInput >= 0)
                    fmt::format_to(fmt::appender(key), "s{} ", sum.summedInput);
                for (const SignalRef& src : sum.rest) {
                    signalKey(src);
                    key.push_back(' ');
                }
                key.push_back(')');
            }
            key.push_back(']');
        }
        fmt::format_to(fmt::appender(key), " in {} out", g.inputs.size());
        for (const SignalRef& e : g.exports) {
            key.push_back(' ');
            signalKey(e);
        }
        keys[gi] = fmt::to_string(key);
        for (uint32_t v : g.nodes) localOf[v] = UINT32_MAX;
    }
    std::map<std::string, uint32_t> keyId;
    std::vector<uint32_t> kind(gCount);
    for (uint32_t gi = 0; gi < gCount; ++gi)
        kind[gi] = keyId.try_emplace(keys[gi], static_cast<uint32_t>(keyId.size())).first->second;

    // Dependency order. Among ready groups, one of the same shape as the last placed first (so
    // instances of a shape end up next to each other, where the program runs them side by side),
    // then the one with the earliest node. Any dependency order gives the same output.
    std::vector<std::set<uint32_t>> succ(gCount);
    std::vector<uint32_t> indeg(gCount, 0);
    for (uint32_t v = 0; v < n; ++v)
        for (const auto& slot : s.nodes[v].sources)
            for (const SignalRef& src : slot)
                if (groupOf[src.node] != groupOf[v] &&
                    succ[groupOf[src.node]].insert(groupOf[v]).second)
                    ++indeg[groupOf[v]];
    std::set<std::pair<uint32_t, uint32_t>> ready; // (first node, group)
    std::map<uint32_t, std::set<std::pair<uint32_t, uint32_t>>> readyOfKind;
    auto makeReady = [&](uint32_t g) {
        ready.insert({groups[g].nodes.front(), g});
        readyOfKind[kind[g]].insert({groups[g].nodes.front(), g});
    };
    for (uint32_t g = 0; g < gCount; ++g)
        if (indeg[g] == 0) makeReady(g);
    std::vector<uint32_t> order;
    while (!ready.empty()) {
        auto same = order.empty() ? readyOfKind.end() : readyOfKind.find(kind[order.back()]);
        const auto pick = same != readyOfKind.end() && !same->second.empty() ? *same->second.begin()
                                                                             : *ready.begin();
        ready.erase(pick);
        readyOfKind[kind[pick.second]].erase(pick);
        order.push_back(pick.second);
        for (uint32_t h : succ[pick.second])
            if (--indeg[h] == 0) makeReady(h);
    }

    FusionPlan plan;
    std::map<uint32_t, uint32_t> shapeOfKind;
    for (uint32_t g : order) {
        const auto gi = static_cast<uint32_t>(plan.groups.size());
        plan.groups.push_back(std::move(groups[g]));
        FusionGroup& group = plan.groups.back();
        for (const SignalRef& e : group.exports) {
            const auto b = static_cast<uint32_t>(plan.buffers.size());
            plan.bufferIndex.emplace(uint64_t{e.node} << 32 | e.output, b);
            group.exportBuffers.push_back(b);
            plan.buffers.push_back(e);
        }
        auto [it, inserted] =
            shapeOfKind.try_emplace(kind[g], static_cast<uint32_t>(plan.shapes.size()));
        if (inserted) plan.shapes.push_back({keys[g], gi, 0});
        group.shape = it->second;
        ++plan.shapes[group.shape].instances;
    }
    // Every export has its buffer: the inputs' buffers, summed ones after them.
    auto next = static_cast<uint32_t>(plan.buffers.size());
    for (FusionGroup& group : plan.groups)
        for (GroupInput& in : group.inputs) {
            for (const SignalRef& sig : in.signals)
                in.signalBuffers.push_back(static_cast<uint32_t>(plan.bufferOf(sig)));
            group.inputBuffers.push_back(in.summed() ? next++ : in.signalBuffers[0]);
        }
    plan.bufferCount = next;
    for (const SignalRef& t : s.outputTaps)
        plan.tapBuffers.push_back(static_cast<uint32_t>(plan.bufferOf(t)));
    return plan;
}

} // namespace chronus::jit
