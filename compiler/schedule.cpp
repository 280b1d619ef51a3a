#include "compiler/schedule.h"

#include "compiler/param_block.h"
#include "compiler/patch_graph.h"

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

} // namespace

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

    // Sinks: explicit output modules if any, else the first output of every unconnected module.
    bool hasSink =
        std::any_of(mods.begin(), mods.end(), [](const Module* m) { return m->desc->isSink; });
    for (uint32_t i = 0; i < n; ++i) {
        const Module& m = *mods[order[i]];
        if (m.layout->outputs.empty()) continue;
        if (hasSink) {
            if (m.desc->isSink) sched.outputTaps.push_back({i, 0});
        } else if (!feeds[order[i]]) {
            sched.outputTaps.push_back({i, 0});
        }
    }
    sched.paramCount = paramCursor;
    sched.stateBytes = stateCursor;
    sched.byId.reserve(n);
    for (uint32_t i = 0; i < n; ++i) sched.byId.emplace(sched.nodes[i].id, i);
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
