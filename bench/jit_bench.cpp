// chronus_jit_bench: compile latency per phase and render cost of the JIT against the interpreter
// for N voices of sine -> adsr -> biquad -> gain, summed. Medians of several runs. Denormals are
// flushed for both engines, as in the audio callback.
//
//   chronus_jit_bench [--voices 1,16,256] [--opt 2] [--runs 7] [--seconds 2]
#include "interpreter.h"
#include "jit/jit.h"
#include "param_block.h"
#include "patch_graph.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <new>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

using namespace chronus;

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

Expected<Schedule> voices(int n) {
    PatchGraph g;
    for (int v = 0; v < n; ++v) {
        auto id = [&](const char* what) { return fmt::format("{}{}", what, v); };
        for (auto [name, type] : {std::pair{"osc", "simple_sine"},
                                  {"env", "adsr"},
                                  {"filt", "biquad_filter"},
                                  {"amp", "gain"}})
            if (Status s = g.create(id(name), type); !s) return s.error();
        for (auto [a, b] : {std::pair{"osc", "env"}, {"env", "filt"}, {"filt", "amp"}})
            if (Status s = g.connect(id(a), id(b)); !s) return s.error();
        float freq = 110.0f * (1.0f + 0.037f * static_cast<float>(v));
        if (Status s = g.setParam(id("osc"), "freq", freq); !s) return s.error();
        if (Status s = g.setParam(id("env"), "gate", 1); !s) return s.error();
        if (Status s = g.setParam(id("filt"), "cutoff", 800.0f + 10.0f * static_cast<float>(v)); !s)
            return s.error();
        if (Status s = g.setParam(id("amp"), "level", 1.0f / static_cast<float>(n)); !s)
            return s.error();
    }
    return buildSchedule(g);
}

struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
};

/// ns per voice-sample: the median of `runs` renders of `seconds` in 256-frame blocks.
double renderCost(Program& p, int voiceCount, int runs, double seconds) {
    const Schedule& s = p.schedule();
    ParamBlock params(std::max<uint32_t>(s.paramCount, 1));
    for (const auto& n : s.nodes)
        for (uint32_t i = 0; i < n.paramCount(); ++i)
            params.store(n.paramIndex + i, n.initialParams[i]);
    std::unique_ptr<std::byte[], AlignedDelete> state(static_cast<std::byte*>(
        ::operator new[](std::max<size_t>(s.stateBytes, 64), std::align_val_t{64})));
    initState(s, state.get());
    constexpr uint32_t kBlock = 256;
    std::vector<float> out(kBlock);
    const auto blocks = static_cast<int>(seconds * s.sampleRate / kBlock);
    for (int b = 0; b < blocks / 4; ++b) p.render(params.data(), state.get(), out.data(), kBlock);
    std::vector<double> ns;
    for (int r = 0; r < runs; ++r) {
        auto t0 = Clock::now();
        for (int b = 0; b < blocks; ++b) p.render(params.data(), state.get(), out.data(), kBlock);
        double total = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
        ns.push_back(total / (double(blocks) * kBlock * voiceCount));
    }
    return median(ns);
}

std::vector<int> parseList(const std::string& s) {
    std::vector<int> out;
    size_t pos = 0;
    while (pos < s.size()) {
        size_t comma = s.find(',', pos);
        if (comma == std::string::npos) comma = s.size();
        out.push_back(std::stoi(s.substr(pos, comma - pos)));
        pos = comma + 1;
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<int> counts = {1, 16, 256};
    int opt = 2, runs = 7;
    double seconds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--voices")
            counts = parseList(v);
        else if (k == "--opt")
            opt = std::stoi(v);
        else if (k == "--runs")
            runs = std::stoi(v);
        else if (k == "--seconds")
            seconds = std::stod(v);
        else {
            fmt::print(stderr, "usage: chronus_jit_bench [--voices 1,16,256] [--opt 2] [--runs 7] "
                               "[--seconds 2]\n");
            return 2;
        }
    }
#if defined(__x86_64__)
    _mm_setcsr(_mm_getcsr() | 0x8040u); // FTZ | DAZ for both engines
#endif
    fmt::print("N voices of simple_sine -> adsr -> biquad_filter -> gain, summed; O{}, medians of "
               "{} runs\n\n",
               opt, runs);
    fmt::print("{:>6} | {:>6} {:>6} | {:>8} {:>8} {:>8} {:>6} {:>8} | {:>10} {:>10} {:>7}\n",
               "voices", "groups", "shapes", "lower", "optimize", "codegen", "link", "total",
               "jit ns/vs", "interp ns/vs", "speedup");
    fmt::print(
        "{:->6}-+-{:->6}-{:->6}-+-{:->8}-{:->8}-{:->8}-{:->6}-{:->8}-+-{:->10}-{:->10}-{:->7}\n",
        "", "", "", "", "", "", "", "", "", "", "");
    for (int n : counts) {
        auto sched = voices(n);
        if (!sched) {
            fmt::print(stderr, "cannot build the patch: {}\n", sched.error().message);
            return 1;
        }
        JitOptions o;
        o.optLevel = opt;
        o.keepIr = false;
        std::vector<double> lower, optimize, codegen, link, total;
        std::unique_ptr<JitProgram> program;
        for (int r = 0; r < runs; ++r) {
            auto p = compileJit(*sched, o);
            if (!p) {
                fmt::print(stderr, "compile failed: {}\n", p.error().message);
                return 1;
            }
            const JitTimings& t = (*p)->timings();
            lower.push_back(t.lowerMs);
            optimize.push_back(t.optimizeMs);
            codegen.push_back(t.codegenMs);
            link.push_back(t.linkMs);
            total.push_back(t.totalMs);
            program = p.take();
        }
        auto interp = makeInterpreter(*sched);
        double jitNs = renderCost(*program, n, runs, seconds);
        double interpNs = renderCost(*interp, n, runs, seconds);
        fmt::print("{:>6} | {:>6} {:>6} | {:>8.2f} {:>8.2f} {:>8.2f} {:>6.2f} {:>8.2f} | {:>10.2f} "
                   "{:>10.2f} {:>6.2f}x\n",
                   n, program->timings().groups, program->timings().shapes, median(lower),
                   median(optimize), median(codegen), median(link), median(total), jitNs, interpNs,
                   interpNs / jitNs);
        std::fflush(stdout);
    }
    fmt::print(
        "\ncompile phases in ms (wall clock); render in ns per voice-sample, 256-frame blocks\n");
    return 0;
}
