// `chronus ir PATCH [--stage lowered|optimized|asm] [-o FILE | --dir DIR] [--opt N]`: applies the
// patch file's edits up to its last /patch/commit and prints the code the JIT makes for that
// commit; with --dir, writes it as files tools read: the render plan (plan.txt) and one module per
// shape (<symbol>.ll, each valid alone for llvm-as, opt, llc; .s for asm).
#include "cli/commands.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "runtime/patch_player.h"

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <memory>

namespace chronus::cli {

namespace {

struct IrArgs {
    std::string patch;
    std::string stage = "optimized";
    std::string out;
    std::string dir;
    int opt = 2;
    float rate = 48000;
};

int runIr(const IrArgs& a) {
    // The file is checked whole, as render and serve check it; its dry run holds the patch as of
    // the last commit, which is what is compiled here.
    auto script = loadPatchFile(a.patch);
    if (!script) {
        fmt::print(stderr, "chronus ir: {}\n", script.error().message);
        return 1;
    }
    if (!script->committed) {
        fmt::print(stderr, "chronus ir: {} has no /patch/commit: nothing is compiled before one\n",
                   a.patch);
        return 1;
    }
    auto schedule = buildSchedule(*script->committed, {a.rate});
    if (!schedule) {
        fmt::print(stderr, "chronus ir: {}\n", schedule.error().message);
        return 1;
    }
    JitOptions options;
    options.optLevel = a.opt;
    auto program = compileJit(*schedule, options);
    if (!program) {
        fmt::print(stderr, "chronus ir: {}\n", program.error().message);
        return 1;
    }
    const JitTimings& t = (*program)->timings();
    std::string header = fmt::format(
        "{} {} at O{}: {} modules in {} fusion groups of {} shapes; lowering {:.1f} ms, "
        "optimisation {:.1f} ms, codegen {:.1f} ms, link {:.1f} ms, IR text {:.1f} ms",
        a.stage == "asm" ? "#" : ";", a.patch, a.opt, schedule->nodes.size(), t.groups, t.shapes,
        t.lowerMs, t.optimizeMs, t.codegenMs, t.linkMs, t.irTextMs);
    if (!a.dir.empty()) {
        auto files = (*program)->irFiles(a.stage);
        if (!files) {
            fmt::print(stderr, "chronus ir: {}\n", files.error().message);
            return 1;
        }
        for (const IrFile& file : *files) {
            const std::string path = a.dir + "/" + file.name;
            std::ofstream f(path, std::ios::binary | std::ios::trunc);
            if (file.name == "plan.txt") f << header << '\n';
            f << file.text;
            if (!f.flush()) {
                fmt::print(stderr, "chronus ir: cannot write '{}'\n", path);
                return 1;
            }
            fmt::print("{}\n", path);
        }
        return 0;
    }
    auto text = (*program)->ir(a.stage);
    if (!text) {
        fmt::print(stderr, "chronus ir: {}\n", text.error().message);
        return 1;
    }
    if (a.out.empty()) {
        fmt::print("{}\n{}", header, *text);
        return 0;
    }
    std::ofstream f(a.out, std::ios::binary);
    f << header << '\n' << *text;
    if (!f.flush()) {
        fmt::print(stderr, "chronus ir: cannot write '{}'\n", a.out);
        return 1;
    }
    return 0;
}

} // namespace

void addIrCommand(CLI::App& app) {
    auto args = std::make_shared<IrArgs>();
    auto* cmd = app.add_subcommand("ir", "Print the code the JIT makes for a patch's last commit");
    cmd->add_option("patch", args->patch, "patch file")->required()->check(CLI::ExistingFile);
    cmd->add_option("--stage", args->stage, "lowered (as generated), optimized, or asm")
        ->check(CLI::IsMember({"lowered", "optimized", "asm"}))
        ->capture_default_str();
    auto* out = cmd->add_option("-o,--output", args->out,
                                "file to write instead of standard output (all in one text)");
    cmd->add_option("--dir", args->dir,
                    "directory to write plan.txt and one module per shape into (each valid LLVM "
                    "IR on its own: llvm-as, opt and llc read it)")
        ->check(CLI::ExistingDirectory)
        ->excludes(out);
    cmd->add_option("--opt", args->opt, "optimisation level 0..3")
        ->check(CLI::Range(0, 3))
        ->capture_default_str();
    cmd->add_option("-r,--rate", args->rate, "sample rate")
        ->check(CLI::Range(8000.0f, 384000.0f))
        ->capture_default_str();
    cmd->callback([args] {
        if (int rc = runIr(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli
