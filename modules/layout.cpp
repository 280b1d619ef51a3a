#include "modules/descriptor.h"

#include <cmath>

namespace chronus {

ModuleLayout makeLayout(const ModuleDescriptor& desc, float createArg) {
    ModuleLayout layout;
    for (const PortDesc& p : desc.inputs)
        layout.inputs.push_back({std::string(p.name), p.unconnectedValue});
    for (const PortDesc& p : desc.outputs)
        layout.outputs.push_back({std::string(p.name), p.delayed});
    for (const ParamDesc& p : desc.params) layout.params.push_back({std::string(p.name), p});
    if (desc.variadic != nullptr) {
        auto count = static_cast<int>(std::lround(createArg));
        for (int i = 1; i <= count; ++i) {
            layout.inputs.push_back(
                {std::string(desc.variadic->inputPrefix) + std::to_string(i), 0.0f});
            layout.params.push_back(
                {std::string(desc.variadic->paramTemplate.name) + std::to_string(i),
                 desc.variadic->paramTemplate});
        }
    }
    return layout;
}

} // namespace chronus
