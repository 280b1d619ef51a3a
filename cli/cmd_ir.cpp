// `chronus ir PATCH [--stage lowered|optimized|asm] [-o FILE] [--opt N]`: applies the patch file's
// edits up to its last /patch/commit and prints the code the JIT makes for that commit.
#include "cli/commands.h"
#include "compiler/jit/jit.h"
#include "compiler/patch_graph.h"
#include "runtime/control_command.h"
#include "runtime/patch_file.h"

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <optional>

namespace chronus::cli {

namespace {

struct IrArgs {
    std::string patch;
    std::string stage = "optimized";
    std::string out;
    int opt = 2;
    float rate = 48000;
};

/// Applies one edit to the pending graph; what a commit freezes is returned through `committed`.
class PatchReplay {
public:
    Status apply(const ControlCommand& cmd) {
        return std::visit([this](const auto& c) { return on(c); }, cmd);
    }
    const std::optional<PatchGraph>& committed() const { return committed_; }

private:
    Status on(const CreateCommand& c) { return pending_.create(c.id, c.type, c.createArg); }
    Status on(const DeleteCommand& c) { return pending_.remove(c.id); }
    Status on(const ConnectCommand& c) { return pending_.connect(c.src, c.dst); }
    Status on(const DisconnectCommand& c) { return pending_.disconnect(c.src, c.dst); }
    Status on(const SetParamCommand& c) {
        return c.choice ? pending_.setParamChoice(c.id, c.param, *c.choice)
                        : pending_.setParam(c.id, c.param, c.value);
    }
    Status on(const GateCommand& c) { return pending_.setParam(c.id, "gate", c.value); }
    Status on(const CommitCommand&) {
        committed_ = pending_;
        return {};
    }
    Status on(const AbortCommand&) {
        pending_ = committed_ ? *committed_ : PatchGraph();
        return {};
    }
    template <class T>
    Status on(const T&) {
        return {}; // dump, ir, status, quit: nothing to replay
    }

    PatchGraph pending_;
    std::optional<PatchGraph> committed_;
};

int runIr(const IrArgs& a) {
    auto lines = readPatchFile(a.patch);
    if (!lines) {
        fmt::print(stderr, "chronus ir: {}\n", lines.error().message);
        return 1;
    }
    PatchReplay replay;
    for (const PatchLine& line : *lines) {
        auto cmd = decodeCommand(line.address, line.args);
        Status s = cmd ? replay.apply(*cmd) : Status(cmd.error());
        if (!s) {
            fmt::print(stderr, "chronus ir: {}: {}\n", a.patch, lineError(line, s.error()).message);
            return 1;
        }
    }
    if (!replay.committed()) {
        fmt::print(stderr, "chronus ir: {} has no /patch/commit: nothing is compiled before one\n",
                   a.patch);
        return 1;
    }
    auto schedule = buildSchedule(*replay.committed(), {a.rate});
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
    auto text = (*program)->ir(a.stage);
    if (!text) {
        fmt::print(stderr, "chronus ir: {}\n", text.error().message);
        return 1;
    }
    const JitTimings& t = (*program)->timings();
    std::string header = fmt::format(
        "{} {} at O{}: {} modules in {} fusion groups of {} shapes; lowering {:.1f} ms, "
        "optimisation {:.1f} ms, codegen {:.1f} ms, link {:.1f} ms, IR text {:.1f} ms",
        a.stage == "asm" ? "#" : ";", a.patch, a.opt, schedule->nodes.size(), t.groups, t.shapes,
        t.lowerMs, t.optimizeMs, t.codegenMs, t.linkMs, t.irTextMs);
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
        ->check(CLI::IsMember({"lowered", "optimized", "asm"}));
    cmd->add_option("-o,--output", args->out, "file to write instead of standard output");
    cmd->add_option("--opt", args->opt, "optimisation level 0..3")->check(CLI::Range(0, 3));
    cmd->add_option("-r,--rate", args->rate, "sample rate")->check(CLI::Range(8000.0f, 384000.0f));
    cmd->callback([args] {
        if (int rc = runIr(*args); rc != 0) throw CLI::RuntimeError(rc);
    });
}

} // namespace chronus::cli
