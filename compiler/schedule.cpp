#include "compiler/schedule.h"

#include "compiler/param_block.h"
#include "compiler/patch_graph.h"
#include "modules/audio_input.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <queue>
#include <unordered_map>

namespace chronus {

namespace {

constexpr uint32_t align16(size_t n) {
    return static_cast<uint32_t>((n + 15) & ~size_t{15});
}

uint32_t seedFromId(std::string_view id) {
    uint32_t h = 2166136261u; // FNV-1a
    for (char c : id) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
    return h;
}

struct Edge {
    uint32_t src, dst;
    bool delayed;
};

/// Kahn's algorithm over `members`, smallest creation index first among the ready ones.
std::vector<uint32_t> orderMembers(const std::vector<uint32_t>& members,
                                   const std::vector<Edge>& edges, const std::vector<int>& group,
                                   int g) {
    std::vector<uint32_t> indeg(group.size(), 0);
    for (const Edge& e : edges)
        if (!e.delayed && group[e.src] == g && group[e.dst] == g) ++indeg[e.dst];
    std::priority_queue<uint32_t, std::vector<uint32_t>, std::greater<>> ready;
    for (uint32_t m : members)
        if (indeg[m] == 0) ready.push(m);
    std::vector<uint32_t> order;
    while (!ready.empty()) {
        uint32_t u = ready.top();
        ready.pop();
        order.push_back(u);
        for (const Edge& e : edges)
            if (!e.delayed && e.src == u && group[e.dst] == g && --indeg[e.dst] == 0)
                ready.push(e.dst);
    }
    return order;
}

bool stereoTail(const Module& m) {
    const auto& outs = m.layout->outputs;
    return outs.size() >= 2 && outs[0].name == "left" && outs[1].name == "right";
}

/// Output port of an `output` module per channel it plays (output.cpp): mono, left, right.
enum : uint32_t { kMonoPort = 0, kLeftPort = 1, kRightPort = 2 };
/// Its inputs `left` and `right`.
enum : uint32_t { kLeftIn = 1, kRightIn = 2 };

struct ChannelPlan {
    std::vector<SignalRef> taps;
    std::vector<uint32_t> firstTap;
};

/// The taps of every channel (schedule.h's rule), over `mods` in node order; `feeds(i)` says
/// whether node i feeds another, `connected(i, slot)` whether its kernel slot has a source.
template <class Feeds, class Connected>
ChannelPlan planChannels(const std::vector<const Module*>& mods, Feeds feeds, Connected connected) {
    const auto n = static_cast<uint32_t>(mods.size());
    ChannelPlan plan;
    const bool hasSink =
        std::any_of(mods.begin(), mods.end(), [](const Module* m) { return m->desc->isSink; });
    // Mono unless something says otherwise: then the channel count.
    uint32_t channels = 1;
    bool stereo = false;
    for (uint32_t i = 0; i < n; ++i) {
        const Module& m = *mods[i];
        if (m.layout->outputs.empty()) continue;
        if (hasSink && m.desc->isSink) {
            const auto first = static_cast<uint32_t>(m.createArg);
            if (first > 1 || connected(i, kLeftIn) || connected(i, kRightIn)) stereo = true;
            channels = std::max(channels, first + 1);
        } else if (!hasSink && !feeds(i) && stereoTail(m)) {
            stereo = true;
            channels = std::max(channels, 2u);
        }
    }
    if (!stereo) channels = 1;
    channels = std::min(channels, kMaxChannels);
    for (uint32_t c = 0; c < channels; ++c) {
        plan.firstTap.push_back(static_cast<uint32_t>(plan.taps.size()));
        for (uint32_t i = 0; i < n; ++i) {
            const Module& m = *mods[i];
            if (m.layout->outputs.empty()) continue;
            if (hasSink) {
                if (!m.desc->isSink) continue;
                if (!stereo) {
                    plan.taps.push_back({i, kMonoPort});
                    continue;
                }
                const auto first = static_cast<uint32_t>(m.createArg) - 1;
                if (c == first) plan.taps.push_back({i, kLeftPort});
                if (c == first + 1) plan.taps.push_back({i, kRightPort});
            } else if (!feeds(i)) {
                plan.taps.push_back({i, stereo && stereoTail(m) ? c : 0u});
            }
        }
    }
    plan.firstTap.push_back(static_cast<uint32_t>(plan.taps.size()));
    return plan;
}

} // namespace

uint32_t outputChannelCount(const PatchGraph& graph) {
    std::vector<const Module*> mods;
    for (const Module& m : graph.modules()) mods.push_back(&m);
    std::unordered_map<std::string_view, uint32_t> indexOf;
    for (uint32_t i = 0; i < mods.size(); ++i) indexOf.emplace(mods[i]->id, i);
    std::vector<bool> feeds(mods.size(), false);
    std::vector<std::vector<bool>> connected(mods.size());
    for (uint32_t i = 0; i < mods.size(); ++i)
        connected[i].assign(mods[i]->layout->kernelInCount(), false);
    for (const Connection& c : graph.connections()) {
        feeds[indexOf.at(c.src)] = true;
        connected[indexOf.at(c.dst)][c.dstSlot] = true;
    }
    const ChannelPlan plan = planChannels(
        mods, [&](uint32_t i) { return bool(feeds[i]); },
        [&](uint32_t i, uint32_t slot) {
            return slot < connected[i].size() && bool(connected[i][slot]);
        });
    return static_cast<uint32_t>(plan.firstTap.size() - 1);
}

void audioThreadPointInputs(const Schedule& schedule, std::byte* state, const float* const* in,
                            uint32_t inputs, uint32_t offset) noexcept {
    for (const AudioInputRef& a : schedule.inputs) {
        auto* s =
            reinterpret_cast<AudioInputState*>(state + schedule.nodes[a.node].kernelStateOffset);
        s->samples =
            a.channel < inputs && in[a.channel] != nullptr ? in[a.channel] + offset : nullptr;
        s->pos = 0;
    }
}

const ScheduledNode* Schedule::find(std::string_view id) const {
    if (byId.size() == nodes.size()) {
        auto it = byId.find(std::string(id));
        return it != byId.end() && it->second < nodes.size() && nodes[it->second].id == id
                   ? &nodes[it->second]
                   : nullptr;
    }
    for (const auto& n : nodes) // built by hand, not by buildSchedule
        if (n.id == id) return &n;
    return nullptr;
}

Expected<Schedule> buildSchedule(const PatchGraph& graph, const ScheduleOptions& options) {
    // By creation index: the graph keeps no array of its modules.
    std::vector<const Module*> mods;
    mods.reserve(graph.modules().size());
    for (const Module& m : graph.modules()) mods.push_back(&m);
    const auto n = static_cast<uint32_t>(mods.size());
    // Ids to indices once (a commit of a thousand modules must not search them per edge), and
    // each node's outgoing edges in connection order.
    std::unordered_map<std::string_view, uint32_t> indexOf;
    indexOf.reserve(n);
    for (uint32_t i = 0; i < n; ++i) indexOf.emplace(mods[i]->id, i);
    std::vector<Edge> edges;
    std::vector<std::vector<uint32_t>> outEdges(n);
    std::vector<bool> selfLoop(n, false), feeds(n, false);
    for (const Connection& c : graph.connections()) {
        const uint32_t s = indexOf.at(c.src), d = indexOf.at(c.dst);
        outEdges[s].push_back(static_cast<uint32_t>(edges.size()));
        edges.push_back({s, d, mods[s]->layout->outputs[c.srcPort].delayed});
        if (s == d) selfLoop[s] = true;
        feeds[s] = true;
    }

    // Strongly connected components over every edge (Tarjan): each is one stage.
    std::vector<int> comp(n, -1), low(n, 0), index(n, -1);
    std::vector<bool> onStack(n, false);
    std::vector<uint32_t> stack;
    int nextIndex = 0, compCount = 0;
    std::function<void(uint32_t)> strong = [&](uint32_t v) {
        index[v] = low[v] = nextIndex++;
        stack.push_back(v);
        onStack[v] = true;
        for (uint32_t k : outEdges[v]) {
            const Edge& e = edges[k];
            if (index[e.dst] < 0) {
                strong(e.dst);
                low[v] = std::min(low[v], low[e.dst]);
            } else if (onStack[e.dst]) {
                low[v] = std::min(low[v], index[e.dst]);
            }
        }
        if (low[v] == index[v]) {
            uint32_t w;
            do {
                w = stack.back();
                stack.pop_back();
                onStack[w] = false;
                comp[w] = compCount;
            } while (w != v);
            ++compCount;
        }
    };
    for (uint32_t v = 0; v < n; ++v)
        if (index[v] < 0) strong(v);

    // Order the components (Kahn, earliest-created member first), then nodes within each.
    std::vector<std::vector<uint32_t>> members(static_cast<size_t>(compCount));
    for (uint32_t v = 0; v < n; ++v) members[static_cast<size_t>(comp[v])].push_back(v);
    std::vector<uint32_t> compIndeg(static_cast<size_t>(compCount), 0);
    std::vector<std::pair<int, int>> compEdges;
    for (const Edge& e : edges)
        if (comp[e.src] != comp[e.dst]) compEdges.emplace_back(comp[e.src], comp[e.dst]);
    std::sort(compEdges.begin(), compEdges.end());
    compEdges.erase(std::unique(compEdges.begin(), compEdges.end()), compEdges.end());
    for (auto [a, b] : compEdges) ++compIndeg[static_cast<size_t>(b)];
    using Ready = std::pair<uint32_t, int>; // (first member, component)
    std::priority_queue<Ready, std::vector<Ready>, std::greater<>> ready;
    for (int c = 0; c < compCount; ++c)
        if (compIndeg[static_cast<size_t>(c)] == 0)
            ready.push({members[static_cast<size_t>(c)].front(), c});

    Schedule sched;
    sched.sampleRate = options.sampleRate;
    sched.smoothingCoef =
        options.smoothingMs <= 0
            ? 1.0f
            : static_cast<float>(
                  1.0 - std::exp(-1.0 / (options.smoothingMs * 0.001 * options.sampleRate)));
    std::vector<uint32_t> order; // graph index by node index
    while (!ready.empty()) {
        auto [first, c] = ready.top();
        ready.pop();
        auto& mem = members[static_cast<size_t>(c)];
        // A single module is its own order (a loop onto itself goes through a delayed output).
        auto ordered = mem.size() == 1 ? mem : orderMembers(mem, edges, comp, c);
        if (ordered.size() != mem.size())
            return makeError("internal: a loop in the patch has no one-sample delay");
        sched.stages.push_back({static_cast<uint32_t>(order.size()),
                                static_cast<uint32_t>(mem.size()),
                                mem.size() > 1 || selfLoop[mem[0]]});
        order.insert(order.end(), ordered.begin(), ordered.end());
        // compEdges is sorted: c's edges are one run (a scan of all of them per component made
        // a 1,000-voice commit quadratic).
        const auto from = std::lower_bound(compEdges.begin(), compEdges.end(), std::pair{c, -1});
        for (auto e = from; e != compEdges.end() && e->first == c; ++e)
            if (--compIndeg[static_cast<size_t>(e->second)] == 0)
                ready.push({members[static_cast<size_t>(e->second)].front(), e->second});
    }

    std::vector<uint32_t> nodeOf(n);
    for (uint32_t i = 0; i < n; ++i) nodeOf[order[i]] = i;

    uint32_t paramCursor = 0, stateCursor = 0;
    sched.nodes.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        const Module& m = *mods[order[i]];
        ScheduledNode node;
        node.id = m.id;
        node.desc = m.desc;
        node.layout = m.layout;
        node.config = {m.createArg, options.sampleRate, seedFromId(m.id)};
        node.paramIndex = paramCursor;
        paramCursor += node.paramCount();
        node.stateOffset = stateCursor;
        node.kernelStateOffset = stateCursor + align16(sizeof(float) * node.paramCount());
        size_t kernelBytes = m.desc->stateSize(node.config);
        node.stateBytes = node.kernelStateOffset - stateCursor + align16(kernelBytes);
        stateCursor += node.stateBytes;
        node.sources.resize(m.layout->kernelInCount());
        node.initialParams = m.params;
        sched.nodes.push_back(std::move(node));
    }
    for (const Connection& c : graph.connections()) {
        uint32_t src = nodeOf[indexOf.at(c.src)], dst = nodeOf[indexOf.at(c.dst)];
        sched.nodes[dst].sources[c.dstSlot].push_back({src, c.srcPort});
    }

    // Sinks and channels (the rule in schedule.h).
    std::vector<const Module*> byNode(n);
    for (uint32_t i = 0; i < n; ++i) byNode[i] = mods[order[i]];
    const ChannelPlan channels = planChannels(
        byNode, [&](uint32_t i) { return feeds[order[i]]; },
        [&](uint32_t i, uint32_t slot) { return !sched.nodes[i].sources[slot].empty(); });
    sched.outputTaps = channels.taps;
    sched.channelFirstTap = channels.firstTap;
    for (uint32_t i = 0; i < n; ++i)
        if (mods[order[i]]->desc->isAudioInput)
            sched.inputs.push_back({i, static_cast<uint32_t>(mods[order[i]]->createArg) - 1});
    sched.paramCount = paramCursor;
    sched.stateBytes = stateCursor;
    sched.byId.reserve(n);
    for (uint32_t i = 0; i < n; ++i) sched.byId.emplace(sched.nodes[i].id, i);
    sched.polys = schedulePolys(graph, sched);
    return sched;
}

void initNodeState(const ScheduledNode& node, std::byte* state) {
    std::byte* base = state + node.stateOffset;
    std::memset(base, 0, node.stateBytes);
    if (!node.initialParams.empty()) // memcpy from data() of an empty vector (null) is UB
        std::memcpy(base, node.initialParams.data(), sizeof(float) * node.initialParams.size());
    node.desc->init(state + node.kernelStateOffset, node.config, node.initialParams.data());
}

void initState(const Schedule& schedule, std::byte* state) {
    for (const auto& node : schedule.nodes) initNodeState(node, state);
}

void initParams(const Schedule& schedule, ParamBlock& params) {
    for (const auto& n : schedule.nodes)
        for (uint32_t p = 0; p < n.paramCount(); ++p)
            params.store(n.paramIndex + p, n.initialParams[p]);
}

} // namespace chronus
