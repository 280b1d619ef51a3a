// prewarm.cpp: prewarmJit, one small voice compiled and freed so that the first real commit finds
// LLVM's code paged in.
#include "compiler/jit/host_jit.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"

#include <atomic>

namespace chronus {

void prewarmJit() {
    static std::atomic<bool> started{false}; // once per process: LLVM's start is process-wide
    if (started.exchange(true)) return;
    if (!jit::HostJit::instance()) return;
    PatchGraph voice; // a typical voice, each of whose kernels widens
    const char* chain[][2] = {
        {"osc", "simple_sine"}, {"env", "adsr"}, {"filt", "biquad_filter"}, {"amp", "gain"}};
    for (const auto& [id, type] : chain)
        if (!voice.create(id, type)) return;
    for (int k = 0; k + 1 < 4; ++k)
        if (!voice.connect(chain[k][0], chain[k + 1][0])) return;
    auto schedule = buildSchedule(voice);
    if (!schedule) return;
    JitOptions o;
    o.optLevel = 0; // the quick tier's pipeline and code generator
    o.keepIr = false;
    o.shapeCache = false; // nothing left behind: the program frees its code
    (void)compileJit(*schedule, o);
}

} // namespace chronus
