// Every module type Chronus knows: one per file of modules/types/ (modules/CMakeLists.txt), in
// the order of their descriptors' `order`, which is the order `chronus modules` lists them in.
#pragma once

#include "modules/descriptor.h"

#include <span>
#include <string_view>

namespace chronus {

/// All module types, each once, by ascending `order`. Control thread (the first call builds the
/// table).
std::span<const ModuleDescriptor* const> allModules();

/// The type named `name` (its type name or an alias), or nullptr.
const ModuleDescriptor* findModule(std::string_view name);

} // namespace chronus
