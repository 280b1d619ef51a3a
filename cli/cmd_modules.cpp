// `chronus modules`: every module type with its ports and parameters, from the descriptors, and
// for each parameter whether changing it can click.
#include "cli/commands.h"
#include "modules/choice_fade.h"
#include "modules/registry.h"

#include <fmt/format.h>

namespace chronus::cli {

namespace {

/// What a change of `p` does to the sound, from its descriptor.
std::string changeNote(const ParamDesc& p) {
    if (p.smoothed) return "click-safe: glides";
    if (p.faded) return fmt::format("click-safe: crossfaded over {:g} ms", dsp::kChoiceFadeMs);
    if (!p.onChange.empty()) return fmt::format("steps: {}", p.onChange);
    return "steps: may click";
}

void printModule(const ModuleDescriptor& d) {
    std::string aliases;
    for (auto a : d.aliases) aliases += fmt::format("{}{}", aliases.empty() ? " (" : ", ", a);
    if (!aliases.empty()) aliases += ")";
    fmt::print("{}{}: {}\n", d.type, aliases, d.summary);
    if (!d.createArg.name.empty())
        fmt::print("  create arg  {:<10} default {}, [{}, {}] {}  {}\n", d.createArg.name,
                   d.createArg.defaultValue, d.createArg.minValue, d.createArg.maxValue,
                   d.createArg.unit, d.createArg.doc);
    for (const auto& p : d.inputs)
        fmt::print("  input       {:<10} {}\n", p.name,
                   p.unconnectedValue != 0
                       ? fmt::format("(reads {} when unconnected)", p.unconnectedValue)
                       : std::string());
    if (d.variadic != nullptr)
        fmt::print("  inputs      {}1..{}N    one per creation count, each with {}N ({})\n",
                   d.variadic->inputPrefix, d.variadic->inputPrefix, d.variadic->paramTemplate.name,
                   changeNote(d.variadic->paramTemplate));
    for (const auto& p : d.outputs)
        fmt::print("  output      {:<10} {}\n", p.name,
                   p.delayed ? "(one sample late: closes feedback loops)" : "");
    for (const auto& p : d.params) {
        std::string choices;
        for (size_t i = 0; i < p.choices.size(); ++i)
            choices += fmt::format("{}{}={}", i ? " " : " (", i, p.choices[i]);
        if (!choices.empty()) choices += ")";
        const std::string range =
            fmt::format("[{}, {}] {}{}", p.minValue, p.maxValue, p.unit, choices);
        fmt::print("  param       {:<10} default {:<8} {:<44} {}\n", p.name, p.defaultValue, range,
                   changeNote(p));
    }
}

} // namespace

void addModulesCommand(CLI::App& app) {
    auto* cmd =
        app.add_subcommand("modules", "List every module type with its ports and parameters");
    cmd->callback([] {
        fmt::print("A parameter change is click-safe when it glides (smoothed over the engine's "
                   "smoothing time) or is\ncrossfaded inside the module; one that steps is the "
                   "patch's choice.\nA signal connected to a parameter is added to its value "
                   "and the sum clamped to the\nparameter's range; audio inputs are not clamped "
                   "(multiply's a * b is the signals' product).\n\n");
        for (const ModuleDescriptor* d : allModules()) printModule(*d);
    });
}

} // namespace chronus::cli
