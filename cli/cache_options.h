// The code cache options `render` and `serve` share (`--cache-dir`, `--no-cache`,
// `--cache-max-mb`), and what the JIT did with it, for CHRONUS_VERBOSE.
#pragma once

#include "runtime/engine_factory.h"

#include <CLI/CLI.hpp>
#include <string>

namespace chronus::cli {

/// Adds the options to `cmd`, filling `request`.
void addCacheOptions(CLI::App& cmd, CodeCacheRequest& request, double& maxMb);

/// Sets the code cache up (configureCodeCache); prints a warning for a default directory that
/// cannot be used. False, with the error printed, if a named one cannot.
bool applyCacheOptions(CodeCacheRequest request, double maxMb, const char* command);

/// Waits for the code cache's writes; with `verbose`, says what the JIT compiled and loaded.
void finishCache(bool verbose, const char* command);

} // namespace chronus::cli
