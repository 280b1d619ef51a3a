// Every module type the registry holds, JIT-compiled on its own at every tier and compared sample
// by sample with both interpreters, so that a kernel whose entry names do not match its
// descriptor's `kernel`, or one that does not compile, link or widen, fails here and not at a
// user's first commit. Nothing names a type: a type added to modules/types/ is tested at once.
//
// Per type, at each creation argument it takes (default, minimum, maximum):
//   - alone: the type in a one-module patch (its inputs read their unconnected values);
//   - driven (types with audio inputs): every input fed by a `noise`, so that the kernel works
//     on a signal rather than on constants;
//   - nine alone, nine driven: nine copies of those in one patch, lanes of 8, so that the
//     kernel's vector form (or its one-instance fallback, for a kernel that does not widen) runs.
// Each is rendered in irregular blocks in three phases: every parameter at its default, then at
// a random value in its range (choices: a random one), then at the ends of its range; through the
// block interpreter (the reference), the per-sample interpreter, the JIT at O0 and O2, and the
// quick first tier of a tiered compile and the next tier it offers. Both interpreters and the JIT
// run the same float operations in the same order (test_jit_differential.cpp), so every render
// must be bit-identical to the reference.
#include "bench/random_patch.h"
#include "compiler/interpreter.h"
#include "compiler/jit/jit.h"
#include "compiler/param_block.h"
#include "compiler/patch_graph.h"
#include "compiler/sample_interpreter.h"
#include "modules/registry.h"
#include "runtime/denormals.h"
#include "runtime/slot.h"
#include "tests/support/render_program.h"
#include "tests/support/signal_measure.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace chronus;

namespace {

constexpr uint32_t kPhaseFrames = 2400;

/// Parameter values for the second and third phases (the first is the schedule's defaults).
struct Phases {
    std::vector<float> random, ends;
};

Phases phasesFor(const Schedule& s, std::mt19937& rng) {
    Phases p;
    p.random.resize(s.paramCount);
    p.ends.resize(s.paramCount);
    for (const ScheduledNode& n : s.nodes)
        for (uint32_t k = 0; k < n.paramCount(); ++k) {
            const ParamDesc& d = n.layout->params[k].desc;
            float v = test::detail::paramValue(rng, d);
            // A gate drawn closed for the whole phase would leave an envelope silent: open it.
            if (d.name == "gate") v = 1;
            p.random[n.paramIndex + k] = v;
            p.ends[n.paramIndex + k] = k % 2 == 0 ? d.maxValue : d.minValue;
        }
    return p;
}

std::vector<float> render(Program& program, const Phases& phases) {
    static const std::vector<uint32_t> chunks = {1, 7, 256, 300, 64, 3, 511, 128};
    const Schedule& s = program.schedule();
    ParamBlock params(std::max<uint32_t>(s.paramCount, 1));
    initParams(s, params);
    StateBuffer state(s.stateBytes);
    initState(s, state.data());
    // Every channel (pan's right, an output's left and right) and, for `input`, audio in.
    const uint32_t channels = s.channelCount(), total = 3 * kPhaseFrames;
    const bool mono = channels == 1 && s.inputs.empty();
    std::vector<float> out(std::size_t{total} * channels, -12345.0f);
    ScopedFlushDenormals ftz; // as the audio callback does, for every engine
    uint32_t done = 0;
    size_t chunk = 0;
    for (const std::vector<float>* values :
         {static_cast<const std::vector<float>*>(nullptr), &phases.random, &phases.ends}) {
        if (values != nullptr)
            for (size_t i = 0; i < values->size(); ++i) params.store(i, (*values)[i]);
        const uint32_t end = done + kPhaseFrames;
        while (done < end) {
            const uint32_t n = std::min(chunks[chunk++ % chunks.size()], end - done);
            if (mono) {
                program.render(params.data(), state.data(), out.data() + done, n);
            } else {
                float* outs[kMaxChannels];
                for (uint32_t ch = 0; ch < channels; ++ch)
                    outs[ch] = out.data() + std::size_t{ch} * total + done;
                const float* ins[test::kTestInputs];
                for (uint32_t k = 0; k < test::kTestInputs; ++k)
                    ins[k] = test::testAudioIn()[k].data() + done;
                program.renderChannels(params.data(), state.data(), {outs, ins, test::kTestInputs},
                                       n);
            }
            done += n;
        }
    }
    return out;
}

/// Same bits, NaN for NaN.
bool bitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Where two renders first differ (for the failure message).
std::string firstDifference(const std::vector<float>& ref, const std::vector<float>& got) {
    for (size_t i = 0; i < ref.size(); ++i)
        if (std::memcmp(&ref[i], &got[i], sizeof(float)) != 0)
            return "sample " + std::to_string(i) + ": " + std::to_string(ref[i]) + " vs " +
                   std::to_string(got[i]);
    return "none";
}

/// The creation arguments to try: default, minimum, maximum (each once); none for a type
/// without one.
std::vector<std::optional<float>> createArgs(const ModuleDescriptor& d) {
    if (d.createArg.name.empty()) return {std::nullopt};
    std::vector<std::optional<float>> out;
    for (float v : {d.createArg.defaultValue, d.createArg.minValue, d.createArg.maxValue})
        if (std::find(out.begin(), out.end(), std::optional<float>(v)) == out.end())
            out.emplace_back(v);
    return out;
}

/// `copies` copies of the type under test (ids m<k>), each input driven by its own noise if
/// `driven`.
PatchGraph patch(const ModuleDescriptor& d, std::optional<float> arg, bool driven, int copies) {
    PatchGraph g;
    for (int k = 0; k < copies; ++k) {
        const std::string id = "m" + std::to_string(k);
        REQUIRE(g.create(id, d.type, arg).ok());
        if (!driven) continue;
        const auto layout = g.find(id)->layout; // creating more modules moves the one found
        for (size_t i = 0; i < layout->inputs.size(); ++i) {
            const std::string src = id + "_src" + std::to_string(i);
            REQUIRE(g.create(src, "noise", float(16 * size_t(k) + i + 1)).ok());
            REQUIRE(g.setParam(src, "gain", 0.5f).ok());
            REQUIRE(g.connect(src, id + ":" + layout->inputs[i].name).ok());
        }
    }
    return g;
}

struct Variant {
    const char* name;
    bool driven;
    int copies;
};

} // namespace

TEST_CASE("every module type compiles alone through the JIT at every tier and sounds as in the "
          "interpreters",
          "[modules][jit][differential]") {
    REQUIRE(findModule("noise") != nullptr); // the driver of the driven patches
    std::mt19937 rng(1207);
    std::vector<std::string> wide, narrow; // types whose nine lone copies ran side by side
    for (const ModuleDescriptor* d : allModules()) {
        const bool hasInputs = !d->inputs.empty() || d->variadic != nullptr;
        double loudest = 0;
        const auto args = createArgs(*d);
        for (std::optional<float> arg : args) {
            std::vector<Variant> variants = {{"alone", false, 1}, {"nine alone", false, 9}};
            if (hasInputs) {
                variants.push_back({"driven", true, 1});
                variants.push_back({"nine driven", true, 9});
            }
            for (const Variant& v : variants) {
                INFO(d->type << (arg ? " " + std::to_string(*arg) : std::string()) << ", "
                             << v.name);
                const PatchGraph g = patch(*d, arg, v.driven, v.copies);
                auto s = buildSchedule(g);
                REQUIRE(s.ok());
                const Phases phases = phasesFor(*s, rng);
                auto block = makeInterpreter(*s);
                const std::vector<float> ref = render(*block, phases);
                loudest = std::max(loudest, test::rms(ref));
                auto check = [&](Program& p, const char* what) {
                    INFO(what);
                    const std::vector<float> got = render(p, phases);
                    INFO("first difference: " << firstDifference(ref, got));
                    CHECK(bitIdentical(ref, got));
                };
                check(*makeSampleInterpreter(*s), "per-sample interpreter");

                JitOptions jo;
                jo.keepIr = false;
                jo.lanes = v.copies > 1 ? 8 : 0;
                // The quick first tier, then the full one it offers: from an empty cache, so
                // both are compiled now.
                trimShapeCache();
                jo.quickFirst = true;
                auto quick = compileJit(*s, jo);
                INFO((quick.ok() ? std::string() : quick.error().message));
                REQUIRE(quick.ok());
                CHECK_FALSE((*quick)->finalTier());
                check(**quick, "JIT, quick first tier");
                TierCompile upgrade = (*quick)->nextTier();
                REQUIRE(upgrade);
                auto next = upgrade();
                REQUIRE(next.ok());
                check(**next, "JIT, the next tier");
                // Every level compiled for this program alone, outside the shape cache.
                jo.quickFirst = false;
                jo.shapeCache = false;
                for (int level : {0, 2}) {
                    jo.optLevel = level;
                    auto jit = compileJit(*s, jo);
                    INFO("O" << level << ": " << (jit.ok() ? std::string() : jit.error().message));
                    REQUIRE(jit.ok());
                    check(**jit, "JIT");
                    if (level == 2 && v.copies > 1 && !v.driven && arg == args.front())
                        ((*jit)->timings().wideGroups > 0 ? wide : narrow).emplace_back(d->type);
                }
            }
        }
        INFO(d->type);
        CHECK(loudest > 1e-3); // some variant makes a sound, so agreeing means something
    }
    std::string w, n;
    for (const auto& t : wide) w += " " + t;
    for (const auto& t : narrow) n += " " + t;
    WARN("nine lone copies at O2 side by side:" << w << "; one at a time:" << n);
    CHECK(wide.size() > narrow.size()); // the vector forms ran
}
