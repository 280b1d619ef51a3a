// `chronus ir PATCH [--stage lowered|optimized|asm] [-o FILE]` (JIT issue).
#include "commands.h"

namespace chronus::cli {

void addIrCommand(CLI::App& app) {
    auto* cmd = app.add_subcommand("ir", "Print the LLVM IR of a patch's last commit (not built yet)");
    cmd->callback([] { throw CLI::RuntimeError("chronus ir: the JIT is not built yet", 2); });
}

} // namespace chronus::cli
