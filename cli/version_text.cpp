// `chronus --version`: what this build is and what the JIT makes of this machine.
#include "cli/commands.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "compiler/schedule.h"

#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef CHRONUS_VERSION
#define CHRONUS_VERSION "unknown"
#endif
#ifndef CHRONUS_LLVM_VERSION
#define CHRONUS_LLVM_VERSION "unknown"
#endif
#ifndef CHRONUS_BUILD_TYPE
#define CHRONUS_BUILD_TYPE ""
#endif

namespace chronus::cli {

namespace {

struct Cpu {
    std::string model;
    std::set<std::string> flags;
};

/// The first CPU of /proc/cpuinfo: its model name and feature flags.
Cpu readCpu() {
    Cpu cpu;
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        key.erase(key.find_last_not_of(" \t") + 1);
        const std::string value = line.substr(colon + 1);
        if (key == "model name" && cpu.model.empty())
            cpu.model = value.substr(value.find_first_not_of(' '));
        if ((key == "flags" || key == "Features") && cpu.flags.empty()) {
            std::istringstream words(value);
            for (std::string w; words >> w;) cpu.flags.insert(w);
        }
    }
    return cpu;
}

/// Instances of one group shape the JIT runs side by side here: what it reports for a real
/// compile (a saw voice, quickly, outside the shape cache), not a guess made apart from it.
std::string jitLanes() {
    PatchGraph g;
    if (!g.create("osc", "saw").ok()) return "unknown (no saw module)";
    auto schedule = buildSchedule(g);
    if (!schedule) return "unknown: " + schedule.error().message;
    JitOptions o;
    o.optLevel = 0;
    o.keepIr = false;
    o.shapeCache = false;
    auto program = compileJit(*schedule, o);
    if (!program) return "unknown (the JIT did not start: " + program.error().message + ")";
    return fmt::format("{} floats", (*program)->timings().lanes);
}

} // namespace

std::string versionText() {
    const Cpu cpu = readCpu();
    // The vector extensions the JIT's code generation can use, as /proc/cpuinfo names them.
    const char* const simd[] = {"sse4_2",  "avx",      "avx2",     "fma",      "f16c",
                                "avx512f", "avx512vl", "avx512bw", "avx512dq", "asimd"};
    std::vector<std::string> have;
    for (const char* f : simd)
        if (cpu.flags.count(f) != 0) have.emplace_back(f);
    std::string out = fmt::format("chronus {}{}\n", CHRONUS_VERSION,
                                  std::string_view(CHRONUS_BUILD_TYPE).empty()
                                      ? std::string()
                                      : fmt::format(" ({} build)", CHRONUS_BUILD_TYPE));
    out += fmt::format("LLVM {} (ORC JIT)\n", CHRONUS_LLVM_VERSION);
    out += fmt::format("CPU {} ({} logical)\n", cpu.model.empty() ? "unknown" : cpu.model,
                       std::thread::hardware_concurrency());
    out += fmt::format("CPU features {}\n",
                       have.empty() ? "none of note" : fmt::format("{}", fmt::join(have, " ")));
    out += fmt::format("SIMD lanes {} (instances of one group shape per vector call)", jitLanes());
    return out;
}

} // namespace chronus::cli
