#include "compiler/jit/fusion.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/kernel_bitcode.h"
#include "compiler/jit/llvm_jit.h"
#include "compiler/jit/lower.h"
#include "compiler/jit/shape_cache.h"
#include "compiler/patch_graph.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>
#include <mutex>
#include <new>
#include <optional>
#include <span>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace chronus {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// Flush-to-zero and denormals-are-zero for the duration of a render call: the JIT code is
/// compiled assuming them ("denormal-fp-math"="preserve-sign"), and biquad tails otherwise decay
/// into subnormals that run 2-3x slower. Restores the caller's mode. No system call.
class DenormalScope {
public:
#if defined(__x86_64__) || defined(__i386__)
    DenormalScope() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
    ~DenormalScope() { _mm_setcsr(saved_); }

private:
    unsigned saved_;
#endif
};

struct AlignedFloats {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{64}); }
};

class JitProgramImpl final : public JitProgram {
public:
    JitProgramImpl(Schedule schedule, int optLevel, uint32_t maxBlock, size_t buffers)
        : sched_(std::move(schedule)), optLevel_(optLevel), maxBlock_(maxBlock) {
        size_t floats = std::max<size_t>(buffers, 1) * maxBlock;
        scratch_.reset(
            static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t{64})));
        std::fill(scratch_.get(), scratch_.get() + floats, 0.0f);
    }

    ~JitProgramImpl() override = default; ///< lets go of its shapes (shape_cache.h)

    const Schedule& schedule() const override { return sched_; }
    std::string_view kind() const override { return "jit"; }
    const JitTimings& timings() const override { return timings_; }
    int optLevel() const override { return optLevel_; }
    bool finalTier() const override { return final_; }

    TierCompile nextTier() const override {
        if (final_) return {};
        JitOptions full = options_;
        full.quickFirst = false;
        full.kernelBitcode = {}; // a tiered program never has custom bitcode (see compileJit)
        return [schedule = sched_, full]() -> Expected<std::unique_ptr<Program>> {
            auto p = compileJit(schedule, full);
            if (!p) return p.error();
            return std::unique_ptr<Program>(p.take());
        };
    }

    // UBSan's -fsanitize=function would read a type signature in front of the JIT's function.
#if defined(__clang__)
    __attribute__((no_sanitize("function")))
#endif
    void
    render(const std::atomic<float>* params, std::byte* state, float* out,
           uint32_t frames) noexcept override {
        DenormalScope ftz;
        // std::atomic<float> is layout-compatible with float; the code reads it atomically.
        const auto* p = reinterpret_cast<const float*>(params);
        float* scratch = scratch_.get();
        while (frames > 0) {
            const uint32_t n = std::min(frames, maxBlock_);
            for (const Call& c : calls_) c.fn(p, state, scratch, table_.data() + c.row, n);
            // The taps summed in order ((t0 + t1) + t2 ..., as the interpreter does).
            if (taps_.empty()) {
                std::fill(out, out + n, 0.0f);
            } else {
                const float* t0 = scratch + taps_[0];
                std::copy(t0, t0 + n, out);
                for (size_t t = 1; t < taps_.size(); ++t) {
                    const float* tap = scratch + taps_[t];
                    for (uint32_t f = 0; f < n; ++f) out[f] += tap[f];
                }
            }
            out += n;
            frames -= n;
        }
    }

    Expected<std::string> ir(std::string_view stage) const override {
        if (stage != "lowered" && stage != "optimized" && stage != "asm")
            return makeError("unknown IR stage '{}': use lowered, optimized or asm", stage);
        std::lock_guard lock(irMutex_);
        if (Status s = shapeTexts(); !s) return s.error();
        // The render plan, then each shape's module (shared with other programs).
        auto header = [](const jit::CompiledShape& s, const char* comment) {
            return fmt::format("\n{} ---- shape {} (O{}): {}\n", comment, s.symbols.scalar,
                               s.optLevel, s.shapeKey);
        };
        if (stage == "lowered" || stage == "optimized") {
            const bool lowered = stage == "lowered";
            std::string text = plan_;
            for (size_t k = 0; k < shapes_.size(); ++k)
                text += header(*shapes_[k], ";") + (lowered ? texts_[k].first : texts_[k].second);
            return text;
        }
        if (asm_.empty()) {
            std::string all = plan_; // as assembler comments
            for (size_t at = all.find(';'); at != std::string::npos; at = all.find("\n;", at))
                all[at == 0 ? 0 : ++at] = '#';
            for (size_t k = 0; k < shapes_.size(); ++k) {
                auto shapeAsm = jit::assemblyFromIrText(texts_[k].second, shapes_[k]->optLevel);
                if (!shapeAsm) return shapeAsm.error();
                all += header(*shapes_[k], "#") + *shapeAsm;
            }
            asm_ = std::move(all);
        }
        return asm_;
    }

    /// Under irMutex_: every shape's IR text, as kept by its compile or made again now.
    Status shapeTexts() const;

    Schedule sched_;
    int optLevel_;
    uint32_t maxBlock_;
    bool final_ = true;
    JitOptions options_; ///< what made it (nextTier compiles with these at full level)
    /// The render plan: every group instance's call, in plan order.
    struct Call {
        jit::ShapeEntryFn fn;
        uint32_t row; ///< index into table_ of the instance's offsets (jit::instanceRow)
    };
    std::vector<Call> calls_;
    std::vector<uint32_t> table_;
    std::vector<uint32_t> taps_;           ///< the output taps' buffers, floats from scratch
    std::vector<jit::SharedShape> shapes_; ///< the plan's shapes, in plan order
    std::unique_ptr<float[], AlignedFloats> scratch_;
    JitTimings timings_;
    std::string plan_; ///< the render plan as IR comments
    mutable std::mutex irMutex_;
    mutable std::vector<std::pair<std::string, std::string>> texts_; ///< per shape: lowered, opt
    mutable std::string asm_;
};

std::atomic<uint64_t> gSerial{0};

/// Instances per wide call on this host: 16 floats where 512-bit vectors cost no clock speed
/// (AMD Zen 4 and later), 8 with AVX (256-bit), else 4 (SSE).
uint32_t hostLanes(const std::string& cpu, const std::string& features) {
    if (features.find("+avx512f") != std::string::npos && cpu.starts_with("znver")) return 16;
    return features.find("+avx") != std::string::npos ? 8 : 4;
}

/// The render plan as IR comments: what the program calls, in order, and how the output is made.
std::string describePlan(const Schedule& schedule, const jit::FusionPlan& plan,
                         const std::vector<jit::SharedShape>& shapes,
                         const std::vector<std::vector<uint32_t>>& calls) {
    std::string text = fmt::format(
        "; render plan: {} groups of {} shapes, {} block buffers; per block of up to the program's "
        "frames, in order:\n",
        plan.groups.size(), plan.shapes.size(), plan.buffers.size());
    for (const auto& groups : calls) {
        const jit::CompiledShape& shape = *shapes[plan.groups[groups[0]].shape];
        const bool wide = groups.size() > 1;
        std::string ids;
        for (uint32_t g : groups) {
            ids += ids.empty() ? "" : " |";
            for (uint32_t v : plan.groups[g].nodes) ids += " " + schedule.nodes[v].id;
        }
        text +=
            fmt::format(";   call @{}  ; {}:{}\n", wide ? shape.symbols.wide : shape.symbols.scalar,
                        wide ? fmt::format("{} groups side by side", groups.size())
                             : fmt::format("group {}", groups[0]),
                        ids);
    }
    text += fmt::format("; output: the sum of {} taps in order\n", plan.tapBuffers.size());
    for (const auto& shape : shapes)
        if (!shape->notWide.empty())
            text += fmt::format("; {} runs one instance at a time: {}\n", shape->symbols.scalar,
                                shape->notWide);
    return text;
}

uint64_t fnv1a64(std::string_view text) {
    uint64_t h = 14695981039346656037ull;
    for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    return h;
}

/// One compile's LLVM state: a context and a target machine for this thread, shared by every
/// module the compile makes, and where the time goes.
struct CompileSession {
    CompileSession(jit::HostJit& h, const JitOptions& o, std::span<const unsigned char> b,
                   llvm::TargetMachine& machine, JitTimings& timings)
        : host(h), options(o), bitcode(b), tm(&machine), t(timings) {}

    jit::HostJit& host;
    const JitOptions& options;
    std::span<const unsigned char> bitcode;
    uint32_t lanes = 0; ///< instances per wide call; < 2: no wide entries
    int level = 2;      ///< the level this compile makes shapes at
    bool quick = false; ///< a quick first tier: wide shapes drop their settled one-instance path
    bool keepIr = true; ///< print the shapes' IR
    std::unique_ptr<llvm::LLVMContext> context = std::make_unique<llvm::LLVMContext>();
    jit::DiagnosticLog log{*context};
    llvm::TargetMachine* tm; ///< this thread's (HostJit::threadTargetMachine)
    JitTimings& t;

    jit::LowerOptions lowerOptions() const {
        jit::LowerOptions lo;
        lo.targetCpu = host.cpu();
        lo.targetFeatures = host.features();
        return lo;
    }

    Status verify(llvm::Module& module) {
        std::string problems;
        llvm::raw_string_ostream os(problems);
        if (llvm::verifyModule(module, &os))
            return makeError("JIT: internal: the lowered IR is invalid: {}", os.str());
        return {};
    }

    /// Optimises `module`, generates its code, adds it to the JIT under a new tracker and looks
    /// up `symbol` (which links it). Keeps the optimised IR in `optimizedIr` if asked.
    Expected<std::vector<llvm::orc::ExecutorAddr>>
    compileAndLink(llvm::Module& module, const std::vector<std::string>& symbols,
                   llvm::orc::ResourceTrackerSP& tracker, std::string* optimizedIr,
                   std::size_t* objectBytes) {
        auto t1 = Clock::now();
        jit::optimizeModule(module, *tm, level);
        t.optimizeMs += msSince(t1);
        if (log.hasErrors()) return makeError("JIT: optimisation reported: {}", log.text());
        if (optimizedIr != nullptr) {
            auto tText = Clock::now();
            *optimizedIr = jit::printModule(module);
            t.irTextMs += msSince(tText);
        }
        auto t2 = Clock::now();
        auto object = jit::emitObject(module, *tm);
        if (!object) return object.error();
        if (log.hasErrors()) return makeError("JIT: code generation reported: {}", log.text());
        t.codegenMs += msSince(t2);
        if (objectBytes != nullptr) *objectBytes = (*object)->getBufferSize();

        auto t3 = Clock::now();
        llvm::orc::LLJIT& lljit = host.lljit();
        tracker = lljit.getMainJITDylib().createResourceTracker();
        if (llvm::Error e = lljit.addObjectFile(tracker, std::move(*object))) {
            llvm::consumeError(tracker->remove());
            tracker.reset();
            return jit::toError(std::move(e), "JIT: cannot add the object");
        }
        std::vector<llvm::orc::ExecutorAddr> addresses;
        for (const std::string& symbol : symbols) {
            if (symbol.empty()) {
                addresses.emplace_back();
                continue;
            }
            auto address = lljit.lookup(symbol);
            if (!address) {
                Error err = jit::toError(address.takeError(), "JIT: cannot link the program");
                llvm::consumeError(tracker->remove());
                tracker.reset();
                return err;
            }
            addresses.push_back(*address);
        }
        t.linkMs += msSince(t3);
        return addresses;
    }

    /// The module of shape `index`, kernels linked and the wide entry added where the kernels
    /// widen (`symbols` says what it exports; `symbols.wide` is cleared if it does not widen, with
    /// the reason in `notWide`). `lowered`, if given, receives the IR text before linking.
    Expected<std::unique_ptr<llvm::Module>>
    shapeModule(const Schedule& schedule, const jit::FusionPlan& plan, uint32_t index,
                jit::ShapeSymbols& symbols, std::string& notWide, std::string* lowered) {
        auto module = jit::lowerShape(schedule, plan, index, *context, tm->createDataLayout(),
                                      tm->getTargetTriple().str(), lowerOptions(), symbols);
        if (Status s = verify(*module); !s) return s.error();
        if (lowered != nullptr) {
            auto tText = Clock::now();
            *lowered = jit::printModule(*module);
            t.irTextMs += msSince(tText);
        }
        if (Status s = jit::linkKernels(*module, bitcode, symbols.scalar, host.cpu(),
                                        host.features(), log);
            !s)
            return s.error();
        if (!symbols.wide.empty()) {
            auto wide =
                jit::addWideEntry(*module, schedule, plan, index, lowerOptions(), symbols, notWide);
            if (!wide) return wide.error();
            if (!*wide) {
                symbols.wide.clear();
                symbols.lanes = 0;
            } else if (quick) {
                jit::dropSettledPath(*module);
            }
        } else {
            notWide = "one lane asked for";
        }
        return module;
    }

    /// Compiles shape `index` of `plan` into its own module and object, with a wide entry of
    /// `wideLanes` instances unless that is below 2 (`notWide` then says why).
    Expected<std::shared_ptr<jit::CompiledShape>>
    compileShape(const Schedule& schedule, const jit::FusionPlan& plan, uint32_t index,
                 const std::string& key, uint32_t wideLanes, const char* notWide) {
        auto shape = std::make_shared<jit::CompiledShape>();
        shape->key = key;
        shape->shapeKey = plan.shapes[index].key;
        shape->optLevel = level;
        shape->quick = quick;
        shape->symbols.scalar = fmt::format("chronus_shape_{:016x}_{}",
                                            fnv1a64(plan.shapes[index].key), gSerial.fetch_add(1));
        if (wideLanes >= 2) {
            shape->symbols.wide = fmt::format("{}_x{}", shape->symbols.scalar, wideLanes);
            shape->symbols.lanes = wideLanes;
            shape->wideAsked = true;
        }
        auto module = shapeModule(schedule, plan, index, shape->symbols, shape->notWide,
                                  keepIr ? &shape->loweredIr : nullptr);
        if (!shape->wideAsked) shape->notWide = notWide;
        if (!module) return module.error();
        auto addresses =
            compileAndLink(**module, {shape->symbols.scalar, shape->symbols.wide}, shape->tracker,
                           keepIr ? &shape->optimizedIr : nullptr, &shape->objectBytes);
        if (!addresses) return addresses.error();
        shape->entry = (*addresses)[0].toPtr<jit::ShapeEntryFn>();
        if (!shape->symbols.wide.empty())
            shape->wideEntry = (*addresses)[1].toPtr<jit::ShapeEntryFn>();
        return shape;
    }

    /// The IR text of a shape compiled without keeping it, made again exactly as it was made
    /// (the compile is deterministic): `lowered` and `optimized`.
    Status shapeText(const Schedule& schedule, const jit::FusionPlan& plan, uint32_t index,
                     const jit::CompiledShape& shape, std::string& lowered,
                     std::string& optimized) {
        jit::ShapeSymbols symbols = shape.symbols;
        if (symbols.wide.empty() && shape.wideAsked) { // it did not widen: try as it was tried
            symbols.wide = symbols.scalar + "_x" + std::to_string(lanes);
            symbols.lanes = lanes;
        }
        std::string notWide;
        auto module = shapeModule(schedule, plan, index, symbols, notWide, &lowered);
        if (!module) return module.error();
        jit::optimizeModule(**module, *tm, level);
        optimized = jit::printModule(**module);
        return {};
    }
};

Status JitProgramImpl::shapeTexts() const {
    if (texts_.size() == shapes_.size()) return {};
    std::optional<jit::FusionPlan> plan;
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto& shape : shapes_) {
        if (!shape->optimizedIr.empty()) {
            texts.emplace_back(shape->loweredIr, shape->optimizedIr);
            continue;
        }
        if (!plan) plan = jit::planFusion(sched_);
        uint32_t index = 0;
        while (index < plan->shapes.size() && plan->shapes[index].key != shape->shapeKey) ++index;
        if (index == plan->shapes.size())
            return makeError("internal: shape {} is not in the plan", shape->symbols.scalar);
        auto host = jit::HostJit::instance();
        if (!host) return host.error();
        auto tm = (*host)->threadTargetMachine(shape->optLevel);
        if (!tm) return tm.error();
        JitTimings unused;
        CompileSession session(**host, options_,
                               options_.kernelBitcode.empty() ? jit::kernelBitcode()
                                                              : options_.kernelBitcode,
                               **tm, unused);
        session.level = shape->optLevel;
        session.quick = shape->quick;
        session.lanes = timings_.lanes;
        auto& [lowered, optimized] = texts.emplace_back();
        if (Status s = session.shapeText(sched_, *plan, index, *shape, lowered, optimized); !s)
            return s.error();
    }
    texts_ = std::move(texts);
    return {};
}

} // namespace

ShapeCacheStats shapeCacheStats() {
    return jit::ShapeCache::instance().stats();
}

void setShapeCacheLimits(const ShapeCacheLimits& limits) {
    jit::ShapeCache::instance().setLimits(limits);
}

void trimShapeCache() {
    jit::ShapeCache::instance().trim();
}

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

Expected<std::unique_ptr<JitProgram>> compileJit(const Schedule& schedule,
                                                 const JitOptions& options) {
    const auto t0 = Clock::now();
    if (options.optLevel < 0 || options.optLevel > 3)
        return makeError("JIT: optimisation level {} is not one of 0, 1, 2, 3", options.optLevel);
    if (options.maxBlock == 0 || options.maxBlock > 65536)
        return makeError("JIT: block size {} is outside [1, 65536]", options.maxBlock);
    for (const ScheduledNode& n : schedule.nodes)
        if (n.desc == nullptr || n.desc->kernel.empty())
            return makeError("JIT: module '{}' has no kernel", n.id);
    auto host = jit::HostJit::instance();
    if (!host) return host.error();
    jit::HostJit& hj = **host;

    JitTimings t;
    const uint32_t maxBlock = (options.maxBlock + 15) / 16 * 16; // keeps buffers 64-byte aligned
    jit::FusionPlan plan = jit::planFusion(schedule);
    t.groups = static_cast<uint32_t>(plan.groups.size());
    t.shapes = static_cast<uint32_t>(plan.shapes.size());
    t.buffers = static_cast<uint32_t>(plan.buffers.size());

    // A quick first tier only where the cache can carry it: custom bitcode compiles in full.
    const bool cached = options.shapeCache && options.kernelBitcode.empty();
    const bool quick = options.quickFirst && cached && options.quickLevel < options.optLevel;
    if (quick && (options.quickLevel < 0 || options.quickLevel > 3))
        return makeError("JIT: optimisation level {} is not one of 0, 1, 2, 3", options.quickLevel);
    const int level = quick ? options.quickLevel : options.optLevel;

    // One context per compile and one target machine per thread: compiles may run on several
    // threads.
    auto tm = hj.threadTargetMachine(level);
    if (!tm) return tm.error();
    CompileSession session(
        hj, options, options.kernelBitcode.empty() ? jit::kernelBitcode() : options.kernelBitcode,
        **tm, t);
    session.lanes = options.lanes != 0 ? options.lanes : hostLanes(hj.cpu(), hj.features());
    session.level = level;
    session.quick = quick;
    session.keepIr = options.keepIr && !quick; // a first tier is replaced soon: no IR text
    t.lanes = session.lanes >= 2 ? session.lanes : 1;
    auto program = std::make_unique<JitProgramImpl>(schedule, level, maxBlock, plan.buffers.size());
    program->options_ = options;

    // The shapes: from the cache (at the full level, else at the quick one for a first tier),
    // else compiled now at this compile's level (and offered to the cache).
    jit::ShapeCache& cache = jit::ShapeCache::instance();
    // A quick first tier makes a wide entry only for a shape with enough instances to use it
    // (half the code to generate); such a shape is cached under one lane.
    // (Quick shapes have keys of their own: their code differs from a final one at that level.)
    auto keyAt = [&](uint32_t s, int l, uint32_t lanes) {
        return fmt::format("{}|O{}{}|x{}|{}|{}", plan.shapes[s].key, l,
                           quick && l == level ? "q" : "", lanes, hj.cpu(), hj.features());
    };
    bool final = true;
    for (uint32_t s = 0; s < plan.shapes.size(); ++s) {
        const bool narrow = quick && session.lanes >= 2 && plan.shapes[s].instances < session.lanes;
        jit::SharedShape shape =
            cached ? cache.find(keyAt(s, options.optLevel, session.lanes)) : nullptr;
        if (!shape && quick) shape = cache.find(keyAt(s, level, session.lanes));
        if (!shape && narrow) shape = cache.find(keyAt(s, level, 1));
        if (shape) {
            ++t.shapesReused;
        } else {
            auto made = session.compileShape(
                schedule, plan, s, keyAt(s, level, narrow ? 1 : session.lanes),
                narrow ? 1 : session.lanes,
                narrow ? "quick tier: fewer instances than lanes" : "one lane asked for");
            if (!made) return made.error();
            ++t.shapesCompiled;
            shape = cached ? cache.insert(made.take()) : jit::SharedShape(made.take());
        }
        final = final && shape->optLevel == options.optLevel;
        program->shapes_.push_back(std::move(shape));
    }
    program->final_ = final;
    program->optLevel_ = final ? options.optLevel : level;

    // The render plan: the groups in order. A run of consecutive groups of a shape that widens
    // is cut into batches of `lanes` groups none of which reads another's signals: each batch is
    // one wide call (its rows consecutive in the table). The others run one at a time.
    std::vector<uint32_t> groupOfNode(schedule.nodes.size());
    for (uint32_t g = 0; g < plan.groups.size(); ++g)
        for (uint32_t v : plan.groups[g].nodes) groupOfNode[v] = g;
    std::vector<std::vector<uint32_t>> callGroups;
    auto addCall = [&](jit::ShapeEntryFn fn, const std::vector<uint32_t>& groups) {
        program->calls_.push_back({fn, static_cast<uint32_t>(program->table_.size())});
        for (uint32_t g : groups) {
            auto row = jit::instanceRow(schedule, plan, plan.groups[g], maxBlock);
            program->table_.insert(program->table_.end(), row.begin(), row.end());
        }
        callGroups.push_back(groups);
    };
    for (uint32_t first = 0; first < plan.groups.size();) {
        const uint32_t shapeIndex = plan.groups[first].shape;
        uint32_t end = first + 1;
        while (end < plan.groups.size() && plan.groups[end].shape == shapeIndex) ++end;
        const jit::CompiledShape& shape = *program->shapes_[shapeIndex];
        std::vector<uint32_t> batch;
        auto oneByOne = [&] {
            for (uint32_t g : batch) addCall(shape.entry, {g});
            batch.clear();
        };
        for (uint32_t g = first; g < end; ++g) {
            if (shape.wideEntry == nullptr) {
                addCall(shape.entry, {g});
                continue;
            }
            for (const SignalRef& in : plan.groups[g].inputs)
                if (std::find(batch.begin(), batch.end(), groupOfNode[in.node]) != batch.end()) {
                    oneByOne(); // it reads a group of the batch: that one must run first
                    break;
                }
            batch.push_back(g);
            if (batch.size() == shape.symbols.lanes) {
                addCall(shape.wideEntry, batch);
                t.wideGroups += shape.symbols.lanes;
                batch.clear();
            }
        }
        oneByOne();
        first = end;
    }
    for (uint32_t b : plan.tapBuffers) program->taps_.push_back(b * maxBlock);
    program->plan_ = describePlan(schedule, plan, program->shapes_, callGroups);
    t.totalMs = msSince(t0);
    // Lowering is the rest: fusion plan, IR generation, kernel bitcode, cache look-ups.
    t.lowerMs = t.totalMs - t.optimizeMs - t.codegenMs - t.linkMs - t.irTextMs;
    program->timings_ = t;
    return std::unique_ptr<JitProgram>(std::move(program));
}

} // namespace chronus
