// One function per `chronus` subcommand; each registers its options on the CLI11 app.
#pragma once

#include "base/graph_limits.h"

#include <CLI/CLI.hpp>
#include <string>

namespace chronus::cli {

void addModulesCommand(CLI::App& app);
void addRenderCommand(CLI::App& app);
void addIrCommand(CLI::App& app);
void addServeCommand(CLI::App& app);
void addBenchCommand(CLI::App& app);
void addSoakCommand(CLI::App& app);
void addTopCommand(CLI::App& app);
void addGraphCommand(CLI::App& app);

/// `chronus --version`: version, build, LLVM, CPU, its vector features and the JIT's lanes.
std::string versionText();

/// --host and --port of a running server (defaults shown, $CHRONUS_HOST and $CHRONUS_PORT), for
/// the commands that talk to one (`send`, `top`); both must outlive `cmd`.
void addServerAddressOptions(CLI::App& cmd, std::string& host, int& port);

/// --max-modules, --max-sources, --max-state-mb on `cmd`, into `limits` (which must outlive it).
void addGraphLimitOptions(CLI::App& cmd, GraphLimits& limits);

} // namespace chronus::cli
