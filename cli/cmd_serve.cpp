// `chronus serve`: runs the engine on an audio backend (runtime issue), with OSC (OSC issue).
#include "commands.h"

namespace chronus::cli {

void addServeCommand(CLI::App& app) {
    auto* cmd = app.add_subcommand("serve", "Run the engine (not built yet)");
    cmd->callback([] { throw CLI::RuntimeError("chronus serve: the runtime is not built yet", 2); });
}

} // namespace chronus::cli
