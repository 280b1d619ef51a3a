// `chronus render PATCH -o OUT.wav`: offline, sample-exact, deterministic. No tiers offline: each
// commit compiles once, at the level it plays, before it renders (nothing compiles on after it),
// and its code comes from the code cache when an earlier run made it.
#include "cli/cache_options.h"
#include "cli/command_exit.h"
#include "cli/commands.h"
#include "runtime/engine_factory.h"
#include "runtime/midi_script.h"
#include "runtime/offline_render.h"
#include "runtime/patch_player.h"
#include "runtime/wav_file.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <memory>

namespace chronus::cli {

namespace {

/// Warnings (stderr; the render goes on and exits 0): what in the file will not be heard.
void warnUnheard(const PatchScript& script, const std::string& path, double seconds, float rate) {
    if (!script.committed)
        fmt::print(stderr,
                   "chronus render: warning: {} has no /patch/commit, so nothing in it is heard "
                   "(a patch file plays from its commits; add /patch/commit)\n",
                   path);
    const auto end = std::llround(seconds * double(rate));
    const PatchScript::Step* first = nullptr;
    size_t late = 0;
    for (const PatchScript::Step& step : script.steps) {
        const CommandKind kind = commandKind(step.command);
        if (kind == CommandKind::query || kind == CommandKind::quit) continue; // do nothing anyway
        if (std::llround(step.time * double(rate)) < end) continue;
        if (late++ == 0) first = &step;
    }
    if (first != nullptr)
        fmt::print(stderr,
                   "chronus render: warning: {}:{}: @{:g} falls after the end of the render "
                   "({:g} s){}: applied but not heard (render longer with -s)\n",
                   path, first->line, first->time, seconds,
                   late > 1
                       ? fmt::format(", and {} more line{} after it", late - 1, late > 2 ? "s" : "")
                       : "");
}

struct RenderArgs {
    std::string patch;
    std::string out;
    double seconds = 5;
    std::string midiFile; ///< --midi: a Standard MIDI File played into the patch
    float rate = 48000;
    uint32_t frames = 256;
    std::string engine{defaultEngineName()};
    double xfadeMs = EngineOptions{}.xfadeMs;
    std::string format = "float";
    CodeCacheRequest cache;
    double cacheMaxMb = 256;
    GraphLimits limits;
    std::string input;       ///< --input: a sound file fed to the patch's `input` modules
    double tail = 1;         ///< --tail: seconds rendered past the input's end (without -s)
    uint32_t channels = 0;   ///< --channels: 0 = the patch's
    bool secondsSet = false; ///< -s given
    bool rateSet = false;    ///< -r given
};

/// --input's file, read whole (libsndfile), as planar channels; the render takes its rate unless
/// -r names another, which is refused (no resampling here: convert it first, e.g. with sox).
Expected<std::shared_ptr<InputAudio>> loadInput(RenderArgs& a) {
    auto wav = readWav(a.input);
    if (!wav) return makeError("--input {}: {}", a.input, wav.error().message);
    if (wav->channels <= 0 || wav->samples.empty())
        return makeError("--input {}: no audio in it", a.input);
    if (a.rateSet && static_cast<float>(wav->sampleRate) != a.rate)
        return makeError("--input {} is at {} Hz and the render at {:g} Hz: render at its rate "
                         "(leave out -r) or convert it first (sox IN.wav -r {:g} OUT.wav)",
                         a.input, wav->sampleRate, a.rate, a.rate);
    a.rate = static_cast<float>(wav->sampleRate);
    auto in = InputAudio::fromInterleaved(wav->samples, static_cast<std::size_t>(wav->channels));
    if (!a.secondsSet) a.seconds = double(in->frames()) / a.rate + a.tail;
    return in;
}

int runRender(RenderArgs& a) {
    std::shared_ptr<InputAudio> input;
    if (!a.input.empty()) {
        auto in = loadInput(a);
        if (!in) {
            fmt::print(stderr, "chronus render: {}\n", in.error().message);
            return 1;
        }
        input = in.take();
    }
    // Checked whole before anything renders: a bad line refuses the file (patch_player.h).
    GraphLimits limits = a.limits;
    limits.sampleRate = a.rate;
    auto script = loadPatchFile(a.patch, limits);
    if (!script) {
        fmt::print(stderr, "chronus render: {}\n", script.error().message);
        return 1;
    }
    double seconds = a.seconds;
    if (!a.midiFile.empty()) {
        auto file = midi::readMidiFile(a.midiFile);
        if (!file) {
            fmt::print(stderr, "chronus render: {}\n", file.error().message);
            return 1;
        }
        auto merged = mergeMidiFile(*script, *file);
        if (!merged) {
            fmt::print(stderr, "chronus render: {}\n", merged.error().message);
            return 1;
        }
        // Without -s: the file's end plus the longest envelope's time and half a second.
        if (!a.secondsSet) seconds = merged->endSeconds;
        if (merged->unrouted > 0)
            fmt::print(stderr,
                       "chronus render: warning: {}: {} note event(s) on channels no poly plays "
                       "(channel 1 goes to the only poly; route others with /midi/route "
                       "CHANNEL ID)\n",
                       a.midiFile, merged->unrouted);
        if (merged->events == 0)
            fmt::print(stderr, "chronus render: warning: {}: nothing in it reaches the patch\n",
                       a.midiFile);
    }
    warnUnheard(*script, a.patch, seconds, a.rate);
    if (input && patchInputChannels(*script, limits) == 0)
        fmt::print(stderr,
                   "chronus render: warning: {} has no input module, so --input {} is not heard "
                   "(add /patch/create in input 1)\n",
                   a.patch, a.input);
    if (!applyCacheOptions(a.cache, a.cacheMaxMb, "render")) return 1;
    auto factory = engineFactory(a.engine, /*tiered=*/false);
    if (!factory) {
        fmt::print(stderr, "chronus render: {}\n", factory.error().message);
        return 1;
    }
    OfflineRenderOptions opts;
    opts.factory = factory.take();
    opts.xfadeMs = a.xfadeMs;
    opts.seconds = seconds;
    opts.sampleRate = a.rate;
    opts.frames = a.frames;
    opts.limits = a.limits;
    opts.input = input;
    // The file has the patch's channels (a mono patch stays a mono file) unless told.
    opts.channels = a.channels > 0 ? a.channels : patchChannels(*script, limits);
    if (seconds >= 10)
        opts.progress = [](double f) { fmt::print(stderr, "\rrendering {:3.0f}%", f * 100); };
    auto format = parseWavFormat(a.format);
    if (!format) {
        fmt::print(stderr, "chronus render: {}\n", format.error().message);
        return 1;
    }
    // Written as it renders (memory stays flat whatever the length); a render that fails leaves
    // no file behind.
    const auto frames = static_cast<uint64_t>(std::llround(seconds * a.rate));
    auto wav = WavWriter::createForFrames(a.out, static_cast<int>(a.rate),
                                          static_cast<int>(opts.channels), frames, *format);
    if (!wav) {
        fmt::print(stderr, "chronus render: {}\n", wav.error().message);
        return 1;
    }
    Status s = renderPatchTo(script.take(), opts, [&](const float* samples, std::size_t n) {
        return wav->write(samples, n);
    });
    if (opts.progress) fmt::print(stderr, "\n");
    finishCache(verboseFromEnv(), "render");
    if (Status closed = wav->close(); s && !closed) s = closed;
    if (!s) {
        std::remove(a.out.c_str());
        fmt::print(stderr, "chronus render: {}\n", s.message());
        return 1;
    }
    return 0;
}

} // namespace

void addRenderCommand(CLI::App& app) {
    auto args = std::make_shared<RenderArgs>();
    auto* cmd = app.add_subcommand("render", "Render a patch file offline to a WAV file");
    cmd->add_option("patch", args->patch, "patch file")->required()->check(CLI::ExistingFile);
    cmd->add_option("-o,--output", args->out, "WAV file to write")->required();
    auto* seconds = cmd->add_option("-s,--seconds", args->seconds,
                                    "length (with --input: its length plus --tail; with --midi: "
                                    "the file's end plus the release tail)")
                        ->check(CLI::Range(0.001, 86400.0))
                        ->capture_default_str();
    cmd->add_option("--midi", args->midiFile,
                    "Standard MIDI File (type 0 or 1) to play into the patch, sample-exact: "
                    "channel 1 to its only poly, /midi/route and /midi/cc lines route the rest")
        ->check(CLI::ExistingFile);
    auto* rate = cmd->add_option("-r,--rate", args->rate, "sample rate (with --input: its rate)")
                     ->check(CLI::Range(8000.0f, 384000.0f))
                     ->capture_default_str();
    cmd->add_option("-f,--frames", args->frames, "block size")
        ->check(CLI::Range(1u, 8192u))
        ->capture_default_str();
    cmd->add_option("--engine", args->engine, "jit or interp")
        ->check(CLI::IsMember({"jit", "interp"}))
        ->capture_default_str();
    cmd->add_option("--xfade-ms", args->xfadeMs,
                    "crossfade at a commit that changes what is heard (0: hard swap)")
        ->check(CLI::Range(0.0, 1000.0))
        ->capture_default_str();
    cmd->add_option("--format", args->format,
                    "samples: float (32-bit), 24 (rounded) or 16 (rounded, with TPDF dither)")
        ->check(CLI::IsMember({"float", "24", "16"}))
        ->capture_default_str();
    cmd->add_option("--input", args->input,
                    "a WAV (or any file libsndfile reads) fed through the patch: its channel k "
                    "is what `input k` modules read")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tail", args->tail,
                    "with --input and no -s: seconds rendered after its end (a reverb's tail)")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    cmd->add_option("--channels", args->channels,
                    "channels of the file; default: the patch's (1 mono, 2 with a stereo output)")
        ->check(CLI::Range(1u, 16u));
    addCacheOptions(*cmd, args->cache, args->cacheMaxMb);
    addGraphLimitOptions(*cmd, args->limits);
    cmd->callback([args, seconds, rate] {
        args->secondsSet = seconds->count() > 0;
        args->rateSet = rate->count() > 0;
        if (int rc = runRender(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli
