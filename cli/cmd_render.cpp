// `chronus render PATCH -o OUT.wav`: offline, sample-exact, deterministic.
#include "cli/commands.h"
#include "runtime/engine_factory.h"
#include "runtime/offline_render.h"
#include "runtime/patch_player.h"
#include "runtime/wav_file.h"

#include <cstdio>
#include <fmt/format.h>
#include <memory>

namespace chronus::cli {

namespace {

struct RenderArgs {
    std::string patch;
    std::string out;
    double seconds = 5;
    float rate = 48000;
    uint32_t frames = 256;
    std::string engine{defaultEngineName()};
    double xfadeMs = 0;
    GraphLimits limits;
};

int runRender(const RenderArgs& a) {
    // Checked whole before anything renders: a bad line refuses the file (patch_player.h).
    GraphLimits limits = a.limits;
    limits.sampleRate = a.rate;
    auto script = loadPatchFile(a.patch, limits);
    if (!script) {
        fmt::print(stderr, "chronus render: {}\n", script.error().message);
        return 1;
    }
    auto factory = engineFactory(a.engine);
    if (!factory) {
        fmt::print(stderr, "chronus render: {}\n", factory.error().message);
        return 1;
    }
    OfflineRenderOptions opts;
    opts.factory = factory.take();
    opts.xfadeMs = a.xfadeMs;
    opts.seconds = a.seconds;
    opts.sampleRate = a.rate;
    opts.frames = a.frames;
    opts.limits = a.limits;
    if (a.seconds >= 10)
        opts.progress = [](double f) { fmt::print(stderr, "\rrendering {:3.0f}%", f * 100); };
    auto audio = renderPatch(script.take(), opts);
    if (opts.progress) fmt::print(stderr, "\n");
    if (!audio) {
        fmt::print(stderr, "chronus render: {}\n", audio.error().message);
        return 1;
    }
    auto wav = WavWriter::create(a.out, static_cast<int>(a.rate));
    if (!wav) {
        fmt::print(stderr, "chronus render: {}\n", wav.error().message);
        return 1;
    }
    if (Status s = wav->write(audio->data(), audio->size()); !s) {
        fmt::print(stderr, "chronus render: {}\n", s.message());
        return 1;
    }
    (void)wav->close();
    return 0;
}

} // namespace

void addRenderCommand(CLI::App& app) {
    auto args = std::make_shared<RenderArgs>();
    auto* cmd = app.add_subcommand("render", "Render a patch file offline to a WAV file");
    cmd->add_option("patch", args->patch, "patch file")->required()->check(CLI::ExistingFile);
    cmd->add_option("-o,--output", args->out, "WAV file to write")->required();
    cmd->add_option("-s,--seconds", args->seconds, "length")->check(CLI::Range(0.001, 86400.0));
    cmd->add_option("-r,--rate", args->rate, "sample rate")->check(CLI::Range(8000.0f, 384000.0f));
    cmd->add_option("-f,--frames", args->frames, "block size")->check(CLI::Range(1u, 8192u));
    cmd->add_option("--engine", args->engine, "jit or interp")
        ->check(CLI::IsMember({"jit", "interp"}))
        ->capture_default_str();
    cmd->add_option("--xfade-ms", args->xfadeMs, "crossfade at each swap (0: hard swap)")
        ->check(CLI::Range(0.0, 1000.0));
    addGraphLimitOptions(*cmd, args->limits);
    cmd->callback([args] {
        if (int rc = runRender(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli
