// `chronus-engine`: every command, the engine and the JIT linked in. Users run `chronus`
// (front_main.cpp), which runs `send` and `top` itself and hands everything else to this program.
#include "cli/commands.h"
#include "cli/send.h"

int main(int argc, char** argv) {
    CLI::App app{"chronus: a live modular-synthesis engine that JIT-compiles each patch"};
    app.require_subcommand(1);
    app.set_version_flag("--version", chronus::cli::versionText);
    // Every option's default in --help, so nobody has to read the source for it.
    app.option_defaults()->always_capture_default();
    chronus::cli::addServeCommand(app);
    chronus::cli::addSendCommand(app, chronus::cli::sendFile);
    chronus::cli::addRenderCommand(app);
    chronus::cli::addGraphCommand(app);
    chronus::cli::addTopCommand(app);
    chronus::cli::addModulesCommand(app);
    chronus::cli::addIrCommand(app);
    chronus::cli::addBenchCommand(app);
    chronus::cli::addSoakCommand(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
