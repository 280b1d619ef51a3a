#include "modules/registry.h"

#include "modules/module_table.h"

#include <algorithm>
#include <vector>

namespace chronus {

namespace {

/// The folder's table in `order` (ties, which tests/test_modules.cpp refuses, by type name).
std::vector<const ModuleDescriptor*> ordered() {
    auto files = moduleTypeFiles();
    std::vector<const ModuleDescriptor*> all(files.begin(), files.end());
    std::sort(all.begin(), all.end(), [](const ModuleDescriptor* a, const ModuleDescriptor* b) {
        return a->order != b->order ? a->order < b->order : a->type < b->type;
    });
    return all;
}

} // namespace

std::span<const ModuleDescriptor* const> allModules() {
    // Never destroyed: a thread still running at exit may still look a type up.
    static const auto* const kAll = new std::vector<const ModuleDescriptor*>(ordered());
    return *kAll;
}

const ModuleDescriptor* findModule(std::string_view name) {
    for (const ModuleDescriptor* d : allModules()) {
        if (d->type == name) return d;
        for (std::string_view alias : d->aliases)
            if (alias == name) return d;
    }
    return nullptr;
}

} // namespace chronus
