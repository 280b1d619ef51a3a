// `chronus bench` (benchmark issue).
#include "commands.h"

namespace chronus::cli {

void addBenchCommand(CLI::App& app) {
    auto* cmd = app.add_subcommand("bench", "Benchmark fused against interpreted (not built yet)");
    cmd->callback([] { throw CLI::RuntimeError("chronus bench: not built yet", 2); });
}

} // namespace chronus::cli
