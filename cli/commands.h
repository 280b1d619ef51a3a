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

/// --max-modules, --max-sources, --max-state-mb on `cmd`, into `limits` (which must outlive it).
void addGraphLimitOptions(CLI::App& cmd, GraphLimits& limits);

} // namespace chronus::cli
