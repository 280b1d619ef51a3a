#include "registry.h"

namespace chronus {

// One line per module file; the descriptor lives beside its kernel.
extern const ModuleDescriptor kSimpleSine;
extern const ModuleDescriptor kGain;

namespace {
const ModuleDescriptor* const kAll[] = {
    &kSimpleSine,
    &kGain,
};
} // namespace

std::span<const ModuleDescriptor* const> allModules() { return kAll; }

const ModuleDescriptor* findModule(std::string_view name) {
    for (const ModuleDescriptor* d : kAll) {
        if (d->type == name) return d;
        for (std::string_view alias : d->aliases)
            if (alias == name) return d;
    }
    return nullptr;
}

} // namespace chronus
