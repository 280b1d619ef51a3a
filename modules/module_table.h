// The registry's input: one descriptor per file of modules/types/, the table that
// modules/CMakeLists.txt generates from the folder (module_table.cpp.in). Use registry.h.
#pragma once

#include "modules/descriptor.h"

#include <span>

namespace chronus {

/// Every module type's descriptor, in file-name order.
std::span<const ModuleDescriptor* const> moduleTypeFiles();

} // namespace chronus
