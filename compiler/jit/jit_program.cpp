// jit_program.cpp: the compiled program, walking its render plan per block and printing its IR.
#include "compiler/jit/jit_program.h"

#include "compiler/jit/codegen.h"
#include "compiler/jit/host_jit.h"
#include "compiler/jit/kernel_bitcode.h"
#include "compiler/jit/shape_compiler.h"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <mutex>
#include <new>
#include <optional>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace chronus::jit {

namespace {

/// Flush-to-zero and denormals-are-zero for the duration of a render call: the JIT code is
/// compiled assuming them ("denormal-fp-math"="preserve-sign"), and biquad tails otherwise decay
/// into subnormals that run 2-3x slower. Restores the caller's mode. No system call; no write of
/// the control register when the caller (the audio callback) has set both already, as it does.
class DenormalScope {
public:
#if defined(__x86_64__) || defined(__i386__)
    DenormalScope() : saved_(_mm_getcsr()) {
        if ((saved_ & kFlush) != kFlush) _mm_setcsr(saved_ | kFlush);
    }
    ~DenormalScope() {
        if ((saved_ & kFlush) != kFlush) _mm_setcsr(saved_);
    }

private:
    static constexpr unsigned kFlush = 0x8040u; ///< FTZ | DAZ
    unsigned saved_;
#endif
};

struct AlignedFloats {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{64}); }
};

class JitProgramImpl final : public JitProgram {
public:
    explicit JitProgramImpl(JitProgramParts parts) : p_(std::move(parts)) {
        size_t floats = std::max<size_t>(p_.buffers, 1) * p_.maxBlock;
        scratch_.reset(
            static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t{64})));
        std::fill(scratch_.get(), scratch_.get() + floats, 0.0f);
    }

    ~JitProgramImpl() override = default; ///< lets go of its shapes (shape_cache.h)

    const Schedule& schedule() const override { return p_.schedule; }
    std::string_view kind() const override { return "jit"; }
    const JitTimings& timings() const override { return p_.timings; }
    int optLevel() const override { return p_.optLevel; }
    bool finalTier() const override { return p_.finalTier; }

    TierCompile nextTier() const override {
        if (p_.finalTier) return {};
        JitOptions full = p_.options;
        full.quickFirst = false;
        full.kernelBitcode = {}; // a tiered program never has custom bitcode (see compileJit)
        return [schedule = p_.schedule, full]() -> Expected<std::unique_ptr<Program>> {
            auto p = compileJit(schedule, full);
            if (!p) return p.error();
            return std::unique_ptr<Program>(p.take());
        };
    }

    void render(const std::atomic<float>* params, std::byte* state, float* out,
                uint32_t frames) noexcept override {
        float* const outs[1] = {out};
        renderAll(params, state, outs, 1, nullptr, 0, frames);
    }

    void renderChannels(const std::atomic<float>* params, std::byte* state, const AudioIo& io,
                        uint32_t frames) noexcept override {
        renderAll(params, state, io.out, p_.schedule.channelCount(), io.in, io.inputs, frames);
    }

    Expected<std::string> ir(std::string_view stage) const override {
        auto files = irFiles(stage);
        if (!files) return files.error();
        // The render plan, then each shape's module (shared with other programs).
        const char* comment = stage == "asm" ? "#" : ";";
        std::string text = (*files)[0].text;
        if (stage == "asm") // the plan as assembler comments
            for (size_t at = text.find(';'); at != std::string::npos; at = text.find("\n;", at))
                text[at == 0 ? 0 : ++at] = '#';
        for (size_t k = 0; k < p_.shapes.size(); ++k) {
            const CompiledShape& shape = *p_.shapes[k];
            text += fmt::format("\n{} ---- shape {} (O{}): {}\n", comment, shape.entryName,
                                shape.optLevel, shape.shapeKey);
            text += (*files)[k + 1].text;
        }
        return text;
    }

    Expected<std::vector<IrFile>> irFiles(std::string_view stage) const override {
        if (stage != "lowered" && stage != "optimized" && stage != "asm")
            return makeError("unknown IR stage '{}': use lowered, optimized or asm", stage);
        std::lock_guard lock(irMutex_);
        if (Status s = shapeTexts(); !s) return s.error();
        const auto& shapes = p_.shapes;
        if (stage == "asm" && asm_.size() != shapes.size()) {
            std::vector<std::string> made;
            for (size_t k = 0; k < shapes.size(); ++k) {
                auto shapeAsm = assemblyFromIrText(texts_[k].second, shapes[k]->optLevel);
                if (!shapeAsm) return shapeAsm.error();
                made.push_back(shapeAsm.take());
            }
            asm_ = std::move(made);
        }
        std::vector<IrFile> files = {{"plan.txt", p_.planText}};
        for (size_t k = 0; k < shapes.size(); ++k) {
            const std::string& name = shapes[k]->entryName;
            if (stage == "asm")
                files.push_back({name + ".s", asm_[k]});
            else
                files.push_back(
                    {name + ".ll", stage == "lowered" ? texts_[k].first : texts_[k].second});
        }
        return files;
    }

private:
    /// The first `channels` channels into `out`, audio in from `in`, in blocks of maxBlock.
    // UBSan's -fsanitize=function would read a type signature in front of the JIT's function.
#if defined(__clang__)
    __attribute__((no_sanitize("function")))
#endif
    void
    renderAll(const std::atomic<float>* params, std::byte* state, float* const* out,
              uint32_t channels, const float* const* in, uint32_t inputs,
              uint32_t frames) noexcept {
        DenormalScope ftz;
        // std::atomic<float> is layout-compatible with float; the code reads it atomically.
        const auto* p = reinterpret_cast<const float*>(params);
        float* scratch = scratch_.get();
        const RenderPlan& plan = p_.render;
        const Schedule& sched = p_.schedule;
        for (uint32_t done = 0; done < frames;) {
            const uint32_t n = std::min(frames - done, p_.maxBlock);
            if (!sched.inputs.empty()) audioThreadPointInputs(sched, state, in, inputs, done);
            for (const RenderPlan::Call& c : plan.calls)
                c.fn(p, state, scratch, plan.rows.data() + c.row, n);
            // Each channel's taps summed in order ((t0 + t1) + t2 ..., as the interpreter does).
            for (uint32_t ch = 0; ch < channels; ++ch) {
                const uint32_t first = sched.channelTapBegin(ch), end = sched.channelTapEnd(ch);
                float* dst = out[ch] + done;
                if (first == end)
                    std::fill(dst, dst + n, 0.0f);
                else
                    sumBuffers(dst, scratch, plan.taps.data() + first, end - first, n);
            }
            done += n;
        }
    }

    /// Under irMutex_: every shape's IR text, as kept by its compile or made again now.
    Status shapeTexts() const;

    JitProgramParts p_;
    std::unique_ptr<float[], AlignedFloats> scratch_;
    mutable std::mutex irMutex_;
    mutable std::vector<std::pair<std::string, std::string>> texts_; ///< per shape: lowered, opt
    mutable std::vector<std::string> asm_; ///< per shape, made on the first ask
};

Status JitProgramImpl::shapeTexts() const {
    if (texts_.size() == p_.shapes.size()) return {};
    std::optional<FusionPlan> plan;
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto& shape : p_.shapes) {
        if (!shape->optimizedIr.empty()) {
            texts.emplace_back(shape->loweredIr, shape->optimizedIr);
            continue;
        }
        if (!plan) plan = planFusion(p_.schedule);
        uint32_t index = 0;
        while (index < plan->shapes.size() && plan->shapes[index].key != shape->shapeKey) ++index;
        if (index == plan->shapes.size())
            return makeError("internal: shape {} is not in the plan", shape->entryName);
        JitTimings unused;
        ShapeBuild build;
        build.level = shape->optLevel;
        build.quick = shape->quick;
        build.bitcode =
            p_.options.kernelBitcode.empty() ? kernelBitcode() : p_.options.kernelBitcode;
        ShapeCompiler compiler(build, unused);
        auto& [lowered, optimized] = texts.emplace_back();
        if (Status s = compiler.irText(p_.schedule, *plan, index, *shape, lowered, optimized); !s)
            return s.error();
    }
    texts_ = std::move(texts);
    return {};
}

} // namespace

std::unique_ptr<JitProgram> makeJitProgram(JitProgramParts parts) {
    return std::make_unique<JitProgramImpl>(std::move(parts));
}

} // namespace chronus::jit
