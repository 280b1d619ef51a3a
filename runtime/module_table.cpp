#include "runtime/module_table.h"

#include "modules/registry.h"

namespace chronus {

namespace {

ModuleParamInfo paramInfo(const ParamDesc& p) {
    ModuleParamInfo info{std::string(p.name), p.defaultValue, p.minValue,    p.maxValue,
                         std::string(p.unit), p.smoothed,     p.clickSafe(), {}};
    for (std::string_view c : p.choices) info.choices.emplace_back(c);
    return info;
}

ModuleTypeInfo typeInfo(const ModuleDescriptor& d) {
    ModuleTypeInfo t;
    t.type = std::string(d.type);
    t.summary = std::string(d.summary);
    for (std::string_view a : d.aliases) t.aliases.emplace_back(a);
    for (const PortDesc& p : d.inputs)
        t.inputs.push_back({std::string(p.name), p.unconnectedValue});
    for (const PortDesc& p : d.outputs) t.outputs.push_back({std::string(p.name), 0.0f, p.delayed});
    for (const ParamDesc& p : d.params) t.params.push_back(paramInfo(p));
    const CreateArgDesc& c = d.createArg;
    t.createArg = {std::string(c.name), c.defaultValue, c.minValue, c.maxValue,
                   std::string(c.unit), false,          false,      {}};
    t.createArgWhole = c.whole;
    if (d.variadic != nullptr) {
        t.variadicInput = std::string(d.variadic->inputPrefix);
        t.variadicParam = paramInfo(d.variadic->paramTemplate);
    }
    return t;
}

} // namespace

const std::vector<ModuleTypeInfo>& moduleTable() {
    static const std::vector<ModuleTypeInfo> table = [] {
        std::vector<ModuleTypeInfo> all;
        for (const ModuleDescriptor* d : allModules()) all.push_back(typeInfo(*d));
        return all;
    }();
    return table;
}

} // namespace chronus
