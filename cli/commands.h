// One function per `chronus` subcommand; each registers its options on the CLI11 app.
#pragma once

#include "base/graph_limits.h"

#include <CLI/CLI.hpp>

namespace chronus::cli {

void addModulesCommand(CLI::App& app);
void addRenderCommand(CLI::App& app);
void addIrCommand(CLI::App& app);
void addServeCommand(CLI::App& app);
void addBenchCommand(CLI::App& app);
void addSoakCommand(CLI::App& app);

/// --max-modules, --max-sources, --max-state-mb on `cmd`, into `limits` (which must outlive it).
void addGraphLimitOptions(CLI::App& cmd, GraphLimits& limits);

} // namespace chronus::cli
