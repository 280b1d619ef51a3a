#include "bench/workloads.h"

#include "bench/random_patch.h"
#include "compiler/interpreter.h"
#include "compiler/param_block.h"
#include "compiler/schedule.h"
#include "runtime/denormals.h"
#include "runtime/patch_player.h"
#include "runtime/slot.h"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <random>

namespace chronus::bench {

namespace {

/// Edits a graph, keeping the first error: the built-in patches are written as straight lines.
class Builder {
public:
    void create(const std::string& id, const std::string& type, std::optional<float> arg = {}) {
        keep(graph_.create(id, type, arg));
    }
    void connect(const std::string& src, const std::string& dst) { keep(graph_.connect(src, dst)); }
    void set(const std::string& id, const std::string& param, float value) {
        keep(graph_.setParam(id, param, value));
    }
    Expected<Workload> finish(std::string name, std::string description, std::string family,
                              uint32_t voices) {
        if (error_) return makeError("built-in workload {}: {}", name, error_->message);
        return Workload{std::move(name),
                        std::move(description),
                        std::move(family),
                        voices,
                        std::move(graph_),
                        {},
                        {}};
    }

private:
    void keep(Status s) {
        if (!s && !error_) error_ = s.error();
    }
    PatchGraph graph_;
    std::optional<Error> error_;
};

/// Voice `v`'s pitch: three octaves up from 110 Hz in semitones, then a slight detune, so no two
/// voices are alike (identical voices would flatter any engine that notices).
float voicePitch(uint32_t v) {
    const double semis = static_cast<double>(v % 36) + 0.01 * static_cast<double>(v / 36);
    return static_cast<float>(110.0 * std::pow(2.0, semis / 12.0));
}

/// Every bank's envelope: 10/50 ms, 0.7, 200 ms, gate on.
void voiceEnvelope(Builder& b, const std::string& env) {
    b.create(env, "adsr");
    b.set(env, "attack", 10);
    b.set(env, "decay", 50);
    b.set(env, "sustain", 0.7f);
    b.set(env, "release", 200);
    b.set(env, "gate", 1);
}

/// The envelope, lowpass and gain every voice bank shares.
void voiceTail(Builder& b, const std::string& env, const std::string& filt, const std::string& amp,
               uint32_t voices) {
    voiceEnvelope(b, env);
    b.create(filt, "biquad_filter");
    b.set(filt, "cutoff", 2000);
    b.set(filt, "q", 0.707f);
    b.create(amp, "gain");
    b.set(amp, "level", 1.0f / static_cast<float>(voices));
}

/// Half a second through the block interpreter is finite, audible and below a peak of 100 (the
/// engine refuses a swap above 1000).
bool playsSanely(const PatchGraph& graph) {
    auto schedule = buildSchedule(graph);
    if (!schedule) return false;
    auto program = makeInterpreter(*schedule);
    ParamBlock params(std::max<uint32_t>(schedule->paramCount, 1));
    initParams(*schedule, params);
    StateBuffer state(schedule->stateBytes);
    initState(*schedule, state.data());
    ScopedFlushDenormals ftz;
    std::vector<float> out(256);
    double energy = 0;
    const uint32_t blocks = static_cast<uint32_t>(schedule->sampleRate / 2 / 256);
    for (uint32_t b = 0; b < blocks; ++b) {
        program->render(params.data(), state.data(), out.data(), 256);
        for (float v : out) {
            if (!std::isfinite(v) || std::fabs(v) > 100) return false;
            energy += double(v) * v;
        }
    }
    return energy / (blocks * 256.0) > 1e-6; // RMS above 0.001
}

} // namespace

namespace {

/// Voice `v` of a bank of `voices`: osc -> adsr -> lowpass -> gain, its gain an output tap.
void bankVoice(Builder& b, const std::string& osc, uint32_t v, uint32_t voices) {
    const std::string o = fmt::format("osc{}", v), e = fmt::format("env{}", v),
                      f = fmt::format("filt{}", v), a = fmt::format("amp{}", v);
    b.create(o, osc);
    b.set(o, "freq", voicePitch(v));
    b.set(o, "gain", 0.5f);
    voiceTail(b, e, f, a, voices);
    b.connect(o, e);
    b.connect(e, f);
    b.connect(f, a);
}

} // namespace

Expected<Workload> voiceBank(const std::string& osc, uint32_t voices) {
    Builder b;
    for (uint32_t v = 0; v < voices; ++v) bankVoice(b, osc, v, voices);
    const bool sine = osc == "simple_sine";
    const std::string family = sine ? "sine" : osc;
    auto bank = b.finish(fmt::format("{}-{}", family, voices),
                         fmt::format("{} x {} -> adsr -> lowpass -> gain, summed", voices,
                                     sine ? "sine" : "band-limited " + osc),
                         family, voices);
    if (!bank) return bank;
    Builder spare;
    bankVoice(spare, osc, voices, voices);
    auto voice = spare.finish(bank->name + " spare voice", "", "", 1);
    if (!voice) return voice.error();
    bank->spareVoice = std::move(voice->graph);
    return bank;
}

Expected<Workload> summedBank(const std::string& sum, uint32_t voices) {
    Builder b;
    const bool mix = sum == "mix";
    const std::string into = mix ? "master:in1" : "master:in";
    if (mix)
        b.create("master", "mix", 1.0f);
    else
        b.create("master", "gain");
    for (uint32_t v = 0; v < voices; ++v) {
        bankVoice(b, "simple_sine", v, voices);
        b.connect(fmt::format("amp{}", v), into);
    }
    auto bank = b.finish(fmt::format("{}-{}", mix ? "mix" : "master", voices),
                         fmt::format("{} x sine -> adsr -> lowpass -> gain, each into {}", voices,
                                     mix ? "mix master:in1" : "gain master:in"),
                         mix ? "" : "master", voices);
    if (!bank) return bank;
    Builder spare;
    bankVoice(spare, "simple_sine", voices, voices);
    auto voice = spare.finish(bank->name + " spare voice", "", "", 1);
    if (!voice) return voice.error();
    bank->spareVoice = std::move(voice->graph);
    bank->spareLinks = {{fmt::format("amp{}", voices), into}};
    return bank;
}

Expected<Workload> fmBank(uint32_t voices) {
    Builder b;
    b.create("master", "gain");
    for (uint32_t v = 0; v < voices; ++v) {
        const std::string m = fmt::format("mod{}", v), d = fmt::format("depth{}", v),
                          c = fmt::format("car{}", v), e = fmt::format("env{}", v),
                          a = fmt::format("amp{}", v);
        const float pitch = voicePitch(v);
        b.create(m, "simple_sine");
        b.set(m, "freq", 2.0f * pitch);
        b.set(m, "gain", 1.0f);
        b.create(d, "gain"); // FM depth in Hz: the modulator's +-1 times 6f
        b.set(d, "level", 6.0f * pitch);
        b.create(c, "simple_sine");
        b.set(c, "freq", pitch);
        b.set(c, "gain", 0.5f);
        b.connect(m, d);
        b.connect(d, c + ":freq");
        voiceEnvelope(b, e);
        b.create(a, "gain");
        b.set(a, "level", 1.0f / static_cast<float>(voices));
        b.connect(c, e);
        b.connect(e, a);
        b.connect(a, "master");
    }
    return b.finish(fmt::format("fm-{}", voices),
                    fmt::format("{} x sine at 2f -> gain 6f (depth, Hz) -> sine carrier freq f -> "
                                "adsr -> gain, each into gain master:in",
                                voices),
                    "", voices);
}

Expected<Workload> feedbackBank(uint32_t voices) {
    Builder b;
    for (uint32_t v = 0; v < voices; ++v) {
        const std::string o = fmt::format("osc{}", v), m = fmt::format("sum{}", v),
                          f = fmt::format("filt{}", v), z = fmt::format("fb{}", v),
                          a = fmt::format("amp{}", v);
        b.create(o, "saw");
        b.set(o, "freq", voicePitch(v));
        b.set(o, "gain", 0.5f);
        b.create(m, "mix", 2.0f);
        b.set(m, "level2", 0.6f);
        b.create(f, "biquad_filter");
        b.set(f, "cutoff", 2000);
        b.set(f, "q", 0.707f);
        b.create(z, "z1");
        b.create(a, "gain");
        b.set(a, "level", 1.0f / static_cast<float>(voices));
        b.connect(o, m + ":in1");
        b.connect(m, f);
        b.connect(f, z);
        b.connect(z, m + ":in2");
        b.connect(f, a);
    }
    return b.finish(fmt::format("feedback-{}", voices),
                    fmt::format("{} x saw -> mix -> lowpass -> gain, lowpass -> z1 -> mix", voices),
                    "", voices);
}

Expected<Workload> polyBank(uint32_t voices) {
    // A template as a player writes one; every voice holding a note (what the allocator writes
    // on a note-on: pitch, gate, velocity), written straight into the voices' parameters.
    PatchGraph g;
    Status s = g.beginVoice("pad");
    if (s) s = g.create("osc", "saw");
    if (s) s = g.create("env", "adsr");
    if (s) s = g.create("lp", "biquad_filter");
    if (s) s = g.setParam("lp", "cutoff", 2000);
    if (s) s = g.connect("osc", "env");
    if (s) s = g.connect("env", "lp");
    if (s) s = g.endVoice();
    if (s) s = g.mapVoice("pad", "pitch", "osc:freq");
    if (s) s = g.mapVoice("pad", "gate", "env:gate");
    if (s) s = g.createPoly("keys", "pad", static_cast<float>(voices));
    for (uint32_t v = 0; v < voices && s; ++v) {
        s = g.setParam(fmt::format("keys.{}.osc", v), "freq", voicePitch(v));
        if (s) s = g.setParam(fmt::format("keys.{}.osc", v), "gain", 0.5f);
        if (s) s = g.setParam(fmt::format("keys.{}.env", v), "gate", 1);
    }
    if (s) s = g.setParam("keys", "level", 1.0f / static_cast<float>(voices));
    const std::string name = fmt::format("poly-{}", voices);
    if (!s) return makeError("built-in workload {}: {}", name, s.error().message);
    return Workload{name,
                    fmt::format("a poly of {} voices (saw -> adsr -> lowpass, each with its "
                                "fader), every note held, summed at keys:out",
                                voices),
                    "",
                    voices,
                    std::move(g),
                    {},
                    {}};
}

Expected<Workload> gainChain(uint32_t modules) {
    Builder b;
    b.create("g0", "simple_sine");
    for (uint32_t i = 1; i < modules; ++i) {
        b.create(fmt::format("g{}", i), "gain");
        b.connect(fmt::format("g{}", i - 1), fmt::format("g{}", i));
    }
    return b.finish(fmt::format("chain-{}", modules),
                    fmt::format("sine -> {} gains in a row", modules - 1), "", 1);
}

Expected<Workload> randomGraph(uint32_t modules, uint32_t seed) {
    // Random graphs may blow up (feedback with gain) or stay silent; the engine refuses the first
    // and the second measures nothing, so take the first seed from `seed` on that plays sanely.
    for (uint32_t k = 0; k < 1000; ++k) {
        std::mt19937 rng(seed + k);
        test::RandomPatchOptions o;
        o.minModules = o.maxModules = static_cast<int>(modules);
        auto patch = test::randomPatch(rng, o);
        if (!playsSanely(patch.graph)) continue;
        return Workload{fmt::format("random-{}", modules),
                        fmt::format("random graph of {} modules, {} connections (seed {}): "
                                    "modulation, feedback",
                                    patch.graph.modules().size(), patch.graph.connections().size(),
                                    seed + k),
                        "",
                        1,
                        std::move(patch.graph),
                        {},
                        {}};
    }
    return makeError("no random graph of {} modules from seed {} on plays sanely", modules, seed);
}

Expected<Workload> patchFileWorkload(const std::string& path) {
    // Checked whole as render and serve check it; the dry run holds the patch of the last commit.
    auto script = loadPatchFile(path);
    if (!script) return script.error();
    std::optional<PatchGraph>& committed = script->committed;
    if (!committed)
        return makeError("{} has no /patch/commit: nothing is compiled before one", path);
    const std::string stem = std::filesystem::path(path).stem().string();
    return Workload{stem,
                    fmt::format("patch file {} ({} module{})", path, committed->modules().size(),
                                committed->modules().size() == 1 ? "" : "s"),
                    "",
                    1,
                    std::move(*committed),
                    {},
                    {}};
}

Expected<std::vector<Workload>> builtinWorkloads(const std::vector<uint32_t>& voiceCounts) {
    std::vector<Workload> all;
    for (const char* osc : {"simple_sine", "saw"})
        for (uint32_t n : voiceCounts) {
            auto w = voiceBank(osc, n);
            if (!w) return w.error();
            all.push_back(w.take());
        }
    for (uint32_t n : voiceCounts) {
        auto w = summedBank("gain", n);
        if (!w) return w.error();
        all.push_back(w.take());
    }
    for (uint32_t n : voiceCounts)
        if (n == 16 || n == 256) {
            auto w = summedBank("mix", n);
            if (!w) return w.error();
            all.push_back(w.take());
        }
    for (auto make : {fmBank, feedbackBank}) {
        auto w = make(16);
        if (!w) return w.error();
        all.push_back(w.take());
    }
    for (uint32_t n : {16u, 64u}) {
        auto w = polyBank(n);
        if (!w) return w.error();
        all.push_back(w.take());
    }
    auto r = randomGraph(64, 64064);
    if (!r) return r.error();
    all.push_back(r.take());
    return all;
}

} // namespace chronus::bench
