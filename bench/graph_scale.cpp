#include "bench/graph_scale.h"

#include "compiler/patch_graph.h"

#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <string>

namespace chronus::bench {

namespace {

double threadCpuUs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

double residentMb() {
    std::ifstream f("/proc/self/statm");
    double pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * 4096.0 / (1024.0 * 1024.0);
}

/// Microseconds per call of `edit(i)` for i in [0, n).
template <class F>
double perEdit(uint32_t n, F edit) {
    const double t0 = threadCpuUs();
    for (uint32_t i = 0; i < n; ++i) edit(i);
    return (threadCpuUs() - t0) / std::max<uint32_t>(n, 1);
}

EditCost editsAt(uint32_t modules, const GraphScaleSettings& s) {
    GraphLimits room;
    room.maxModules = modules + s.editsPerRound + 1; // the size measured, not the default limit
    PatchGraph g(room);
    for (uint32_t i = 0; i < modules; ++i) (void)g.create(fmt::format("m{}", i), "gain");
    std::vector<double> create, connect, find, set, remove;
    const uint32_t n = s.editsPerRound;
    for (uint32_t r = 0; r < s.rounds; ++r) {
        // New modules, chained to each other, looked up and written among the old ones, deleted.
        std::vector<std::string> ids, olds;
        for (uint32_t i = 0; i < n; ++i) {
            ids.push_back(fmt::format("x{}_{}", r, i));
            olds.push_back(
                fmt::format("m{}", (uint64_t{i} * 7919) % std::max<uint32_t>(modules, 1)));
        }
        create.push_back(perEdit(n, [&](uint32_t i) { (void)g.create(ids[i], "gain"); }));
        connect.push_back(perEdit(n - 1, [&](uint32_t i) { (void)g.connect(ids[i], ids[i + 1]); }));
        find.push_back(perEdit(n, [&](uint32_t i) { (void)g.find(olds[i]); }));
        set.push_back(perEdit(n, [&](uint32_t i) {
            (void)g.setParam(olds[i], "level", 0.5f + 0.001f * static_cast<float>(i + r));
        }));
        remove.push_back(perEdit(n, [&](uint32_t i) { (void)g.remove(ids[i]); }));
    }
    return {modules,
            spreadOf(create).median,
            spreadOf(connect).median,
            spreadOf(find).median,
            spreadOf(set).median,
            spreadOf(remove).median};
}

} // namespace

GraphScaleResult measureGraphScale(const GraphScaleSettings& s) {
    GraphScaleResult result;
    for (uint32_t size : s.sizes) result.edits.push_back(editsAt(size, s));

    // Copies: a patch of voices, copied as a commit copies the pending patch, each copy kept (as
    // a queue of commits would keep them) with a parameter write between one and the next.
    PatchGraph pending;
    for (uint32_t v = 0; v < s.copyVoices; ++v) {
        const std::string o = fmt::format("osc{}", v), e = fmt::format("env{}", v),
                          f = fmt::format("filt{}", v), a = fmt::format("amp{}", v);
        (void)pending.create(o, "simple_sine");
        (void)pending.create(e, "adsr");
        (void)pending.create(f, "biquad_filter");
        (void)pending.create(a, "gain");
        (void)pending.connect(o, e);
        (void)pending.connect(e, f);
        (void)pending.connect(f, a);
    }
    result.copyModules = static_cast<uint32_t>(pending.modules().size());
    result.copies = s.copies;
    std::vector<PatchGraph> kept;
    kept.reserve(s.copies);
    const double rss0 = residentMb();
    double copyUs = 0, writeUs = 0;
    for (uint32_t c = 0; c < s.copies; ++c) {
        double t0 = threadCpuUs();
        kept.push_back(pending);
        copyUs += threadCpuUs() - t0;
        t0 = threadCpuUs();
        (void)pending.setParam(fmt::format("osc{}", c % std::max<uint32_t>(s.copyVoices, 1)),
                               "freq", 200.0f + static_cast<float>(c));
        writeUs += threadCpuUs() - t0;
    }
    result.rssGrowthMb = residentMb() - rss0;
    result.copyUs = copyUs / std::max<uint32_t>(s.copies, 1);
    result.firstWriteUs = writeUs / std::max<uint32_t>(s.copies, 1);
    return result;
}

} // namespace chronus::bench
