#include "cli/commands.h"

int main(int argc, char** argv) {
    CLI::App app{"chronus: a live modular-synthesis engine that JIT-compiles each patch"};
    app.require_subcommand(1);
    chronus::cli::addModulesCommand(app);
    chronus::cli::addRenderCommand(app);
    chronus::cli::addIrCommand(app);
    chronus::cli::addServeCommand(app);
    chronus::cli::addBenchCommand(app);
    chronus::cli::addSoakCommand(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
