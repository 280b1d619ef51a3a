// Every module type Chronus knows, in the order `chronus modules` lists them.
#pragma once

#include "modules/descriptor.h"

#include <span>
#include <string_view>

namespace chronus {

/// All module types, each once.
std::span<const ModuleDescriptor* const> allModules();

/// The type named `name` (its type name or an alias), or nullptr.
const ModuleDescriptor* findModule(std::string_view name);

} // namespace chronus
