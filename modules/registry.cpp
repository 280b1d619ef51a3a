#include "modules/registry.h"

namespace chronus {

// One line per module file; the descriptor lives beside its kernel.
extern const ModuleDescriptor kSimpleSine;
extern const ModuleDescriptor kSaw;
extern const ModuleDescriptor kSquare;
extern const ModuleDescriptor kTriangle;
extern const ModuleDescriptor kNoise;
extern const ModuleDescriptor kLfo;
extern const ModuleDescriptor kAdsr;
extern const ModuleDescriptor kBiquadFilter;
extern const ModuleDescriptor kGain;
extern const ModuleDescriptor kMix;
extern const ModuleDescriptor kDelay;
extern const ModuleDescriptor kZ1;
extern const ModuleDescriptor kConst;
extern const ModuleDescriptor kOutput;

namespace {
const ModuleDescriptor* const kAll[] = {
    &kSimpleSine,   &kSaw,  &kSquare, &kTriangle, &kNoise, &kLfo,   &kAdsr,
    &kBiquadFilter, &kGain, &kMix,    &kDelay,    &kZ1,    &kConst, &kOutput,
};
} // namespace

std::span<const ModuleDescriptor* const> allModules() {
    return kAll;
}

const ModuleDescriptor* findModule(std::string_view name) {
    for (const ModuleDescriptor* d : kAll) {
        if (d->type == name) return d;
        for (std::string_view alias : d->aliases)
            if (alias == name) return d;
    }
    return nullptr;
}

} // namespace chronus
