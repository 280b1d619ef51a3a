// compile_jit.cpp: compileJit, one compile phase by phase. Each phase is a function below, in the
// order compileJit calls them: validate the request; choose the tier policy (the level, the lanes,
// what a quick first tier trims); plan the fusion groups; for each shape, look its cache keys up or
// compile it (shape_compiler.h: scalar and wide code, kernels, optimisation, machine code, link);
// plan the render (render_plan.h: calls, wide batches, taps); assemble the program and its plan
// text (jit_program.h).
#include "compiler/jit/fusion.h"
#include "compiler/jit/host_jit.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/jit_program.h"
#include "compiler/jit/kernel_bitcode.h"
#include "compiler/jit/render_plan.h"
#include "compiler/jit/shape_cache.h"
#include "compiler/jit/shape_compiler.h"

#include <algorithm>
#include <chrono>

namespace chronus {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Status checkLevel(int level) {
    if (level < 0 || level > 3)
        return makeError("JIT: optimisation level {} is not one of 0, 1, 2, 3", level);
    return {};
}

/// Phase 1: what compileJit refuses before it touches LLVM.
Status validate(const Schedule& schedule, const JitOptions& options) {
    if (Status s = checkLevel(options.optLevel); !s) return s;
    if (options.maxBlock == 0 || options.maxBlock > 65536)
        return makeError("JIT: block size {} is outside [1, 65536]", options.maxBlock);
    for (const ScheduledNode& n : schedule.nodes)
        if (n.desc == nullptr || n.desc->kernel.empty())
            return makeError("JIT: module '{}' has no kernel", n.id);
    return {};
}

/// Instances per wide call on this host: 16 floats where 512-bit vectors cost no clock speed
/// (AMD Zen 4 and later), 8 with AVX (256-bit), else 4 (SSE).
uint32_t hostLanes(const std::string& cpu, const std::string& features) {
    if (features.find("+avx512f") != std::string::npos && cpu.starts_with("znver")) return 16;
    return features.find("+avx") != std::string::npos ? 8 : 4;
}

/// Phase 2: how this compile makes its shapes (docs/jit.md, "Tiered compiles").
struct TierPolicy {
    int fullLevel = 2;       ///< options.optLevel: what a final program runs
    int level = 2;           ///< what this compile makes new shapes at
    bool quick = false;      ///< a quick first tier (level is then options.quickLevel)
    bool cached = true;      ///< shapes come from and go to the shape cache
    bool keepIr = true;      ///< shapes keep their IR text
    uint32_t lanes = 0;      ///< instances per wide call; < 2: no wide entries
    uint32_t maxBlock = 256; ///< frames per call, a multiple of 16 (64-byte aligned buffers)
    std::span<const unsigned char> bitcode;

    /// A quick first tier makes a wide entry only for a shape with enough instances to use it
    /// (half the code to generate); such a shape is cached under one lane.
    bool narrow(const jit::FusionShape& shape) const {
        return quick && lanes >= 2 && shape.instances < lanes;
    }
};

Expected<TierPolicy> choosePolicy(const JitOptions& options, const jit::HostJit& host) {
    TierPolicy p;
    p.fullLevel = options.optLevel;
    // A quick first tier only where the cache can carry it: custom bitcode compiles in full.
    p.cached = options.shapeCache && options.kernelBitcode.empty();
    p.quick = options.quickFirst && p.cached && options.quickLevel < options.optLevel;
    if (p.quick)
        if (Status s = checkLevel(options.quickLevel); !s) return s.error();
    p.level = p.quick ? options.quickLevel : options.optLevel;
    p.keepIr = options.keepIr && !p.quick; // a first tier is replaced soon: no IR text
    p.lanes = options.lanes != 0 ? options.lanes : hostLanes(host.cpu(), host.features());
    p.maxBlock = (options.maxBlock + 15) / 16 * 16;
    p.bitcode = options.kernelBitcode.empty() ? jit::kernelBitcode() : options.kernelBitcode;
    return p;
}

/// The cache key of `shape` made at `level` with a wide entry of `lanes`.
jit::ShapeCacheKey cacheKey(const TierPolicy& policy, const jit::FusionShape& shape, int level,
                            uint32_t lanes, const jit::HostJit& host) {
    // A quick tier's shapes have keys of their own: their code differs from a final one's at the
    // same level.
    return {shape.key, level,      policy.quick && level == policy.level,
            lanes,     host.cpu(), host.features()};
}

/// Phase 3: `shape` from the cache, if it has it: at the full level, else (a first tier) at the
/// quick one, wide or narrow.
jit::SharedShape findCached(const TierPolicy& policy, const jit::FusionShape& shape,
                            const jit::HostJit& host) {
    if (!policy.cached) return nullptr;
    jit::ShapeCache& cache = jit::ShapeCache::instance();
    jit::SharedShape found =
        cache.find(cacheKey(policy, shape, policy.fullLevel, policy.lanes, host));
    if (!found && policy.quick)
        found = cache.find(cacheKey(policy, shape, policy.level, policy.lanes, host));
    if (!found && policy.narrow(shape))
        found = cache.find(cacheKey(policy, shape, policy.level, 1, host));
    return found;
}

/// Phases 3 and 4: every shape of `plan`, from the cache or compiled now at the policy's level
/// (and offered to the cache), in plan order.
Expected<std::vector<jit::SharedShape>>
findOrCompileShapes(const Schedule& schedule, const jit::FusionPlan& plan, const TierPolicy& policy,
                    jit::HostJit& host, jit::ShapeCompiler& compiler, JitTimings& t) {
    std::vector<jit::SharedShape> shapes;
    for (uint32_t s = 0; s < plan.shapes.size(); ++s) {
        const jit::FusionShape& shape = plan.shapes[s];
        jit::SharedShape found = findCached(policy, shape, host);
        if (found) {
            ++t.shapesReused;
        } else {
            const bool narrow = policy.narrow(shape);
            const uint32_t lanes = narrow ? 1 : policy.lanes;
            auto made = compiler.compile(
                schedule, plan, s, cacheKey(policy, shape, policy.level, lanes, host), lanes,
                narrow ? "quick tier: fewer instances than lanes" : "one lane asked for");
            if (!made) return made.error();
            ++t.shapesCompiled;
            found = policy.cached ? jit::ShapeCache::instance().insert(made.take())
                                  : jit::SharedShape(made.take());
        }
        shapes.push_back(std::move(found));
    }
    return shapes;
}

/// Phase 6: the program, its render plan and its plan text; final when every shape is at the
/// full level.
std::unique_ptr<JitProgram> assembleProgram(const Schedule& schedule, const JitOptions& options,
                                            const TierPolicy& policy, const jit::FusionPlan& plan,
                                            std::vector<jit::SharedShape> shapes,
                                            jit::RenderPlan render, JitTimings t,
                                            Clock::time_point t0) {
    jit::JitProgramParts parts;
    parts.schedule = schedule;
    parts.options = options;
    parts.finalTier = std::all_of(shapes.begin(), shapes.end(), [&](const jit::SharedShape& s) {
        return s->optLevel == policy.fullLevel;
    });
    parts.optLevel = parts.finalTier ? policy.fullLevel : policy.level;
    parts.maxBlock = policy.maxBlock;
    parts.buffers = plan.bufferCount;
    parts.planText = jit::describe(render, schedule, plan, shapes);
    parts.shapes = std::move(shapes);
    parts.render = std::move(render);
    t.totalMs = msSince(t0);
    // Lowering is the rest: fusion plan, IR generation, kernel bitcode, cache look-ups.
    t.lowerMs = t.totalMs - t.optimizeMs - t.codegenMs - t.linkMs - t.irTextMs;
    parts.timings = t;
    return jit::makeJitProgram(std::move(parts));
}

} // namespace

Expected<std::unique_ptr<JitProgram>> compileJit(const Schedule& schedule,
                                                 const JitOptions& options) {
    const auto t0 = Clock::now();
    // 1. The request.
    if (Status s = validate(schedule, options); !s) return s.error();
    auto host = jit::HostJit::instance();
    if (!host) return host.error();
    // 2. The tier policy, and the fusion plan it applies to.
    auto policy = choosePolicy(options, **host);
    if (!policy) return policy.error();
    JitTimings t;
    jit::FusionPlan plan = jit::planFusion(schedule);
    t.groups = static_cast<uint32_t>(plan.groups.size());
    t.shapes = static_cast<uint32_t>(plan.shapes.size());
    t.buffers = plan.bufferCount;
    t.lanes = policy->lanes >= 2 ? policy->lanes : 1;

    // 3 and 4. Every shape from the cache or compiled now. One context per compile and one
    // target machine per thread: compiles may run on several threads.
    auto tm = (*host)->threadTargetMachine(policy->level);
    if (!tm) return tm.error();
    jit::ShapeCompiler compiler(**host, **tm,
                                {policy->level, policy->quick, policy->keepIr, policy->bitcode}, t);
    auto shapes = findOrCompileShapes(schedule, plan, *policy, **host, compiler, t);
    if (!shapes) return shapes.error();

    // 5. What the program calls per block.
    jit::RenderPlan render = jit::planRender(schedule, plan, *shapes, policy->maxBlock);
    t.wideGroups = render.wideGroups;
    // 6. The program.
    return assembleProgram(schedule, options, *policy, plan, shapes.take(), std::move(render), t,
                           t0);
}

} // namespace chronus
