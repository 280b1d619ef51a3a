#include "compiler/jit/shape_compiler.h"

#include "compiler/jit/wide_entry.h"

#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

namespace chronus::jit {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

uint64_t fnv1a64(std::string_view text) {
    uint64_t h = 14695981039346656037ull;
    for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    return h;
}

/// Makes every shape's symbols unique in the process-wide JIT (two compiles of one shape at once
/// both link).
std::atomic<uint64_t> gSerial{0};

Status verify(llvm::Module& module) {
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(module, &os))
        return makeError("JIT: internal: the lowered IR is invalid: {}", os.str());
    return {};
}

} // namespace

ShapeCompiler::ShapeCompiler(HostJit& host, llvm::TargetMachine& tm, const ShapeBuild& build,
                             JitTimings& timings)
    : host_(host), tm_(tm), build_(build), t_(timings),
      context_(std::make_unique<llvm::LLVMContext>()), log_(*context_) {}

LowerOptions ShapeCompiler::lowerOptions() const {
    LowerOptions lo;
    lo.targetCpu = host_.cpu();
    lo.targetFeatures = host_.features();
    return lo;
}

Expected<ShapeModule> ShapeCompiler::build(const Schedule& schedule, const FusionPlan& plan,
                                           uint32_t index, const std::string& entryName,
                                           uint32_t lanes, std::string& notWide,
                                           std::string* loweredIr) {
    ShapeModule shape = lowerShape(schedule, plan, index, *context_, tm_.createDataLayout(),
                                   tm_.getTargetTriple().str(), lowerOptions(), entryName);
    if (Status s = verify(*shape.module); !s) return s.error();
    if (loweredIr != nullptr) {
        auto tText = Clock::now();
        *loweredIr = printModule(*shape.module);
        t_.irTextMs += msSince(tText);
    }
    if (Status s = linkKernels(*shape.module, build_.bitcode, *shape.entry, host_.cpu(),
                               host_.features(), log_);
        !s)
        return s.error();
    if (lanes >= 2) {
        auto wide = addWideEntry(shape, schedule, plan, index, lowerOptions(), lanes, notWide);
        if (!wide) return wide.error();
        if (*wide && build_.quick) dropSettledPath(shape);
    }
    return shape;
}

Expected<std::unique_ptr<llvm::MemoryBuffer>> ShapeCompiler::machineCode(ShapeModule& shape,
                                                                         std::string* optimizedIr) {
    auto t1 = Clock::now();
    optimizeModule(*shape.module, tm_, build_.level);
    t_.optimizeMs += msSince(t1);
    if (log_.hasErrors()) return makeError("JIT: optimisation reported: {}", log_.text());
    if (optimizedIr != nullptr) {
        auto tText = Clock::now();
        *optimizedIr = printModule(*shape.module);
        t_.irTextMs += msSince(tText);
    }
    auto t2 = Clock::now();
    auto object = emitObject(*shape.module, tm_);
    if (!object) return object.error();
    if (log_.hasErrors()) return makeError("JIT: code generation reported: {}", log_.text());
    t_.codegenMs += msSince(t2);
    return object;
}

Expected<std::shared_ptr<CompiledShape>>
ShapeCompiler::compile(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                       const ShapeCacheKey& key, uint32_t lanes, const char* notWide) {
    auto shape = std::make_shared<CompiledShape>();
    shape->key = key.text();
    shape->shapeKey = plan.shapes[index].key;
    shape->optLevel = build_.level;
    shape->quick = build_.quick;
    shape->entryName = fmt::format("chronus_shape_{:016x}_{}", fnv1a64(plan.shapes[index].key),
                                   gSerial.fetch_add(1));
    shape->lanesTried = lanes >= 2 ? lanes : 0;
    if (lanes < 2) shape->notWide = notWide;
    auto module = build(schedule, plan, index, shape->entryName, lanes, shape->notWide,
                        build_.keepIr ? &shape->loweredIr : nullptr);
    if (!module) return module.error();
    if (module->wideEntry != nullptr) {
        shape->wideName = module->wideEntry->getName().str();
        shape->lanes = module->lanes;
    }
    auto object = machineCode(*module, build_.keepIr ? &shape->optimizedIr : nullptr);
    if (!object) return object.error();
    shape->objectBytes = (*object)->getBufferSize();

    auto t3 = Clock::now();
    std::vector<std::string> symbols = {shape->entryName};
    if (!shape->wideName.empty()) symbols.push_back(shape->wideName);
    auto code = host_.link(object.take(), symbols);
    if (!code) return code.error();
    shape->code = code.take();
    shape->entry = shape->code->function<ShapeEntryFn>(0);
    if (!shape->wideName.empty()) shape->wideEntry = shape->code->function<ShapeEntryFn>(1);
    t_.linkMs += msSince(t3);
    return shape;
}

Status ShapeCompiler::irText(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                             const CompiledShape& shape, std::string& lowered,
                             std::string& optimized) {
    std::string notWide;
    auto module =
        build(schedule, plan, index, shape.entryName, shape.lanesTried, notWide, &lowered);
    if (!module) return module.error();
    optimizeModule(*module->module, tm_, build_.level);
    optimized = printModule(*module->module);
    return {};
}

} // namespace chronus::jit
