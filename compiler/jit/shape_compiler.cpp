#include "compiler/jit/shape_compiler.h"

#include "compiler/jit/object_cache.h"
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

Status verify(llvm::Module& module) {
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(module, &os))
        return makeError("JIT: internal: the lowered IR is invalid: {}", os.str());
    return {};
}

} // namespace

ShapeCompiler::ShapeCompiler(const ShapeBuild& build, JitTimings& timings)
    : build_(build), t_(timings) {}

ShapeCompiler::~ShapeCompiler() = default;

Status ShapeCompiler::ready() {
    if (tm_ != nullptr) return {};
    auto tm = threadTargetMachine(build_.level);
    if (!tm) return tm.error();
    tm_ = *tm;
    context_ = std::make_unique<llvm::LLVMContext>();
    log_ = std::make_unique<DiagnosticLog>(*context_);
    return {};
}

LowerOptions ShapeCompiler::lowerOptions() const {
    LowerOptions lo;
    lo.targetCpu = hostTarget().cpu;
    lo.targetFeatures = hostTarget().features;
    return lo;
}

std::string shapeSymbol(const ShapeCacheKey& key) {
    return "chronus_shape_" + keyHash(key.text());
}

Expected<ShapeModule> ShapeCompiler::build(const Schedule& schedule, const FusionPlan& plan,
                                           uint32_t index, const std::string& entryName,
                                           uint32_t lanes, std::string& notWide,
                                           std::string* loweredIr) {
    if (Status s = ready(); !s) return s.error();
    ShapeModule shape = lowerShape(schedule, plan, index, *context_, tm_->createDataLayout(),
                                   tm_->getTargetTriple().str(), lowerOptions(), entryName);
    if (Status s = verify(*shape.module); !s) return s.error();
    if (loweredIr != nullptr) {
        auto tText = Clock::now();
        *loweredIr = printModule(*shape.module);
        t_.irTextMs += msSince(tText);
    }
    if (Status s = linkKernels(*shape.module, build_.bitcode, *shape.entry, hostTarget().cpu,
                               hostTarget().features, *log_);
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
    if (compileCancelled()) return makeError("{}", kCompileCancelled);
    auto t1 = Clock::now();
    optimizeModule(*shape.module, *tm_, build_.level);
    t_.optimizeMs += msSince(t1);
    if (log_->hasErrors()) return makeError("JIT: optimisation reported: {}", log_->text());
    if (optimizedIr != nullptr) {
        auto tText = Clock::now();
        *optimizedIr = printModule(*shape.module);
        t_.irTextMs += msSince(tText);
    }
    if (compileCancelled()) return makeError("{}", kCompileCancelled);
    auto t2 = Clock::now();
    auto object = emitObject(*shape.module, *tm_);
    if (!object) return object.error();
    if (log_->hasErrors()) return makeError("JIT: code generation reported: {}", log_->text());
    t_.codegenMs += msSince(t2);
    return object;
}

namespace {

/// Links `object` for `shape`'s entries and takes their addresses.
Status linkShape(CompiledShape& shape, std::unique_ptr<llvm::MemoryBuffer> object, JitTimings& t) {
    auto t3 = Clock::now();
    auto host = HostJit::instance();
    if (!host) return host.error();
    std::vector<std::string> symbols = {shape.entryName};
    if (!shape.wideName.empty()) symbols.push_back(shape.wideName);
    auto code = (*host)->link(std::move(object), symbols);
    if (!code) return code.error();
    shape.code = code.take();
    shape.entry = shape.code->function<ShapeEntryFn>(0);
    if (!shape.wideName.empty()) shape.wideEntry = shape.code->function<ShapeEntryFn>(1);
    t.linkMs += msSince(t3);
    return {};
}

std::shared_ptr<CompiledShape> newShape(const ShapeCacheKey& key) {
    auto shape = std::make_shared<CompiledShape>();
    shape->key = key.text();
    shape->shapeKey = key.shape;
    shape->optLevel = key.level;
    shape->quick = key.quick;
    return shape;
}

} // namespace

Expected<std::shared_ptr<CompiledShape>>
ShapeCompiler::compile(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                       const ShapeCacheKey& key, uint32_t lanes, const char* notWide,
                       ObjectCache* disk) {
    auto shape = newShape(key);
    shape->optLevel = build_.level;
    shape->quick = build_.quick;
    shape->entryName = shapeSymbol(key);
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
    if (disk != nullptr) {
        CachedObject entry;
        entry.key = shape->key;
        entry.entryName = shape->entryName;
        entry.wideName = shape->wideName;
        entry.notWide = shape->notWide;
        entry.lanes = shape->lanes;
        entry.lanesTried = shape->lanesTried;
        entry.object = (*object)->getBuffer().str();
        disk->store(std::move(entry)); // written on the cache's own thread
    }
    if (Status s = linkShape(*shape, object.take(), t_); !s) return s.error();
    return shape;
}

Expected<std::shared_ptr<CompiledShape>>
linkCachedShape(CachedObject object, const ShapeCacheKey& key, JitTimings& timings) {
    auto shape = newShape(key);
    shape->loaded = true;
    shape->entryName = std::move(object.entryName);
    shape->wideName = std::move(object.wideName);
    shape->notWide = std::move(object.notWide);
    shape->lanes = object.lanes;
    shape->lanesTried = object.lanesTried;
    shape->objectBytes = object.object.size();
    if (shape->entryName != shapeSymbol(key))
        return makeError("JIT: a cached object names its entry {}", shape->entryName);
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object.object, shape->entryName);
    if (Status s = linkShape(*shape, std::move(buffer), timings); !s) return s.error();
    return shape;
}

Status ShapeCompiler::irText(const Schedule& schedule, const FusionPlan& plan, uint32_t index,
                             const CompiledShape& shape, std::string& lowered,
                             std::string& optimized) {
    std::string notWide;
    auto module =
        build(schedule, plan, index, shape.entryName, shape.lanesTried, notWide, &lowered);
    if (!module) return module.error();
    optimizeModule(*module->module, *tm_, build_.level);
    optimized = printModule(*module->module);
    return {};
}

} // namespace chronus::jit
