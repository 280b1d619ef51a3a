// compile_jit.cpp: compileJit, one compile phase by phase. Each phase is a function below, in the
// order compileJit calls them: validate the request; choose the tier policy (the level, the lanes,
// what a quick first tier trims); plan the fusion groups; for each shape, look its cache keys up
// (in memory, then on disk) or compile it (shape_compiler.h: scalar and wide code, kernels,
// optimisation, machine code, link); plan the render (render_plan.h: calls, wide batches, sums,
// taps); assemble the program and its plan text (jit_program.h). Nothing of LLVM is set up before
// it is needed: host detection only, until a shape must be linked or compiled.
#include "compiler/jit/fusion.h"
#include "compiler/jit/host_jit.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/jit_program.h"
#include "compiler/jit/kernel_bitcode.h"
#include "compiler/jit/object_cache.h"
#include "compiler/jit/render_plan.h"
#include "compiler/jit/shape_cache.h"
#include "compiler/jit/shape_compiler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <llvm/Config/llvm-config.h>
#include <optional>

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
    int fullLevel = 2;                ///< options.optLevel: what a final program runs
    int level = 2;                    ///< what this compile makes new shapes at
    bool quick = false;               ///< a quick first tier (level is then options.quickLevel)
    bool cached = true;               ///< shapes come from and go to the shape cache
    jit::ObjectCache* disk = nullptr; ///< shapes come from and go to the disk too
    bool keepIr = true;               ///< shapes keep their IR text
    uint32_t lanes = 0;               ///< instances per wide call; < 2: no wide entries
    uint32_t maxBlock = 256; ///< frames per call, a multiple of 16 (64-byte aligned buffers)
    std::span<const unsigned char> bitcode;

    /// A shape with fewer instances than lanes never runs wide: it gets no wide entry (half the
    /// code to generate) and is cached under one lane.
    bool narrow(const jit::FusionShape& shape) const {
        return lanes >= 2 && shape.instances < lanes;
    }
};

Expected<TierPolicy> choosePolicy(const JitOptions& options) {
    TierPolicy p;
    p.fullLevel = options.optLevel;
    // Custom bitcode compiles in full, for this program alone: its code is not the key's.
    const bool ownBitcode = !options.kernelBitcode.empty();
    p.cached = options.shapeCache && !ownBitcode;
    if (options.diskCache && !ownBitcode) p.disk = jit::processObjectCache();
    // A quick first tier only where the cache can carry it.
    p.quick = options.quickFirst && p.cached && options.quickLevel < options.optLevel;
    if (p.quick)
        if (Status s = checkLevel(options.quickLevel); !s) return s.error();
    p.level = p.quick ? options.quickLevel : options.optLevel;
    p.keepIr = options.keepIr && !p.quick; // a first tier is replaced soon: no IR text
    const jit::HostTarget& host = jit::hostTarget();
    p.lanes = options.lanes != 0 ? options.lanes : hostLanes(host.cpu, host.features);
    p.maxBlock = (options.maxBlock + 15) / 16 * 16;
    p.bitcode = ownBitcode ? options.kernelBitcode : jit::kernelBitcode();
    return p;
}

/// The cache key of `shape` made at `level` with a wide entry of `lanes`.
jit::ShapeCacheKey cacheKey(const TierPolicy& policy, const jit::FusionShape& shape, int level,
                            uint32_t lanes) {
    const jit::HostTarget& host = jit::hostTarget();
    jit::ShapeCacheKey key;
    key.shape = shape.key;
    key.level = level;
    // A quick tier's shapes have keys of their own: their code differs from a final one's at the
    // same level.
    key.quick = policy.quick && level == policy.level;
    key.lanes = lanes;
    key.cpu = host.cpu;
    key.features = host.features;
    key.llvm = LLVM_VERSION_STRING;
    key.code = jit::kernelCodeHash();
    return key;
}

/// Phase 3: `shape` from a cache, if one has it: at the full level, else (a first tier) at the
/// quick one; wide, or narrow where it has too few instances to run wide. The memory first, then
/// the disk, whose shapes are linked here (the first thing that creates the LLVM JIT).
Expected<jit::SharedShape> findCached(const TierPolicy& policy, const jit::FusionShape& shape,
                                      JitTimings& t) {
    if (!policy.cached && policy.disk == nullptr) return jit::SharedShape();
    std::vector<jit::ShapeCacheKey> keys;
    for (int level : {policy.fullLevel, policy.level}) {
        if (level != policy.fullLevel && !policy.quick) break;
        keys.push_back(cacheKey(policy, shape, level, policy.lanes));
        if (policy.narrow(shape)) keys.push_back(cacheKey(policy, shape, level, 1));
    }
    jit::ShapeCache& cache = jit::ShapeCache::instance();
    for (const jit::ShapeCacheKey& key : keys) {
        if (policy.cached)
            if (jit::SharedShape found = cache.find(key)) {
                ++t.shapesReused;
                return found;
            }
        if (policy.disk == nullptr) continue;
        auto object = policy.disk->load(key.text());
        if (!object) continue;
        auto linked = jit::linkCachedShape(std::move(*object), key, t);
        if (!linked) return linked.error();
        ++t.shapesLoaded;
        return policy.cached ? cache.insert(linked.take()) : jit::SharedShape(linked.take());
    }
    return jit::SharedShape();
}

/// Phases 3 and 4: every shape of `plan`, from a cache or compiled now at the policy's level
/// (and offered to the caches), in plan order. A cancelled compile stops before the next shape.
Expected<std::vector<jit::SharedShape>> findOrCompileShapes(const Schedule& schedule,
                                                            const jit::FusionPlan& plan,
                                                            const TierPolicy& policy,
                                                            JitTimings& t) {
    std::optional<jit::ShapeCompiler> compiler; // LLVM's context and target, if anything compiles
    std::vector<jit::SharedShape> shapes;
    for (uint32_t s = 0; s < plan.shapes.size(); ++s) {
        if (compileCancelled()) return makeError("{}", kCompileCancelled);
        const jit::FusionShape& shape = plan.shapes[s];
        auto found = findCached(policy, shape, t);
        if (!found) return found.error();
        if (*found == nullptr) {
            const bool narrow = policy.narrow(shape);
            const uint32_t lanes = narrow ? 1 : policy.lanes;
            if (!compiler)
                compiler.emplace(
                    jit::ShapeBuild{policy.level, policy.quick, policy.keepIr, policy.bitcode}, t);
            auto made = compiler->compile(
                schedule, plan, s, cacheKey(policy, shape, policy.level, lanes), lanes,
                narrow ? "fewer instances than lanes" : "one lane asked for", policy.disk);
            if (!made) return made.error();
            ++t.shapesCompiled;
            *found = policy.cached ? jit::ShapeCache::instance().insert(made.take())
                                   : jit::SharedShape(made.take());
        }
        shapes.push_back(std::move(*found));
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

struct ProcessStats {
    std::atomic<uint64_t> compiles{0}, shapesCompiled{0}, shapesReused{0}, shapesLoaded{0};
};
ProcessStats gStats;

} // namespace

JitStats jitStats() {
    JitStats s;
    s.compiles = gStats.compiles.load();
    s.shapesCompiled = gStats.shapesCompiled.load();
    s.shapesReused = gStats.shapesReused.load();
    s.shapesLoaded = gStats.shapesLoaded.load();
    s.jitCreated = jit::hostJitCreated();
    return s;
}

Expected<std::unique_ptr<JitProgram>> compileJit(const Schedule& schedule,
                                                 const JitOptions& options) {
    const auto t0 = Clock::now();
    // 1. The request.
    if (Status s = validate(schedule, options); !s) return s.error();
    // 2. The tier policy, and the fusion plan it applies to.
    auto policy = choosePolicy(options);
    if (!policy) return policy.error();
    JitTimings t;
    jit::FusionPlan plan = jit::planFusion(schedule);
    if (compileCancelled()) return makeError("{}", kCompileCancelled);
    t.groups = static_cast<uint32_t>(plan.groups.size());
    t.shapes = static_cast<uint32_t>(plan.shapes.size());
    t.buffers = plan.bufferCount;
    t.lanes = policy->lanes >= 2 ? policy->lanes : 1;

    // 3 and 4. Every shape from a cache or compiled now. One context per compile and one target
    // machine per thread: compiles may run on several threads.
    auto shapes = findOrCompileShapes(schedule, plan, *policy, t);
    if (!shapes) return shapes.error();
    gStats.shapesCompiled += t.shapesCompiled;
    gStats.shapesReused += t.shapesReused;
    gStats.shapesLoaded += t.shapesLoaded;

    // 5. What the program calls per block.
    jit::RenderPlan render = jit::planRender(schedule, plan, *shapes, policy->maxBlock);
    t.wideGroups = render.wideGroups;
    // 6. The program.
    ++gStats.compiles;
    return assembleProgram(schedule, options, *policy, plan, shapes.take(), std::move(render), t,
                           t0);
}

} // namespace chronus
