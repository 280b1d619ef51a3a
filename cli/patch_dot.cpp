#include "cli/patch_dot.h"

#include <cmath>
#include <fmt/format.h>

namespace chronus::cli {

namespace {

/// Fill colours by shape index (a qualitative palette that prints and reads well), and the
/// lighter tone of each for its groups' cluster backgrounds.
constexpr const char* kShapeFill[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3",
                                      "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd"};
constexpr const char* kShapeBack[] = {"#e8f6f3", "#fffff0", "#f0eff7", "#feebe8", "#e7f0f7",
                                      "#fff1e1", "#f1f8e4", "#fef1f7", "#f4f4f4", "#f2e8f2"};
constexpr std::size_t kPalette = std::size(kShapeFill);

/// Quoted and escaped for a DOT string (also safe inside a record label).
std::string esc(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\' || c == '{' || c == '}' || c == '|' || c == '<' || c == '>')
            out += '\\';
        out += c;
    }
    return out;
}

std::string number(float v) {
    if (v == std::floor(v) && std::fabs(v) < 1e7f) return fmt::format("{}", static_cast<long>(v));
    return fmt::format("{:.4g}", v);
}

/// The parameters a module's patch sets away from their defaults ("freq 330 Hz", "mode hp").
std::string keyParams(const ScheduledNode& n) {
    std::string lines;
    for (uint32_t p = 0; p < n.paramCount(); ++p) {
        const auto& param = n.layout->params[p];
        const float v = n.initialParams[p];
        if (v == param.desc.defaultValue) continue;
        std::string value = number(v);
        const auto choice = static_cast<std::size_t>(v);
        if (!param.desc.choices.empty() && choice < param.desc.choices.size())
            value = std::string(param.desc.choices[choice]);
        else if (!param.desc.unit.empty())
            value += " " + std::string(param.desc.unit);
        lines += esc(param.name + " " + value) + "\\l";
    }
    return lines;
}

} // namespace

std::string patchDot(const Schedule& schedule, const jit::FusionPlan& plan,
                     const std::string& title) {
    std::string dot = "digraph patch {\n";
    dot += fmt::format("  label=\"{}\"; labelloc=t; fontname=\"Helvetica\"; fontsize=16;\n",
                       esc(title));
    dot += "  rankdir=LR; nodesep=0.3; ranksep=0.5; compound=true;\n";
    dot += "  node [shape=record, style=\"rounded,filled\", fontname=\"Helvetica\", "
           "fontsize=11, color=\"#555555\"];\n";
    dot += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#333333\"];\n";

    for (std::size_t g = 0; g < plan.groups.size(); ++g) {
        const jit::FusionGroup& group = plan.groups[g];
        const std::size_t colour = group.shape % kPalette;
        const jit::FusionShape& shape = plan.shapes[group.shape];
        dot += fmt::format("  subgraph cluster_{} {{\n", g);
        dot += fmt::format("    label=\"group {} - shape {}{}\"; style=\"rounded,filled\"; "
                           "fillcolor=\"{}\"; color=\"#999999\"; fontsize=10;\n",
                           g + 1, group.shape + 1,
                           shape.instances > 1 ? fmt::format(" (x{})", shape.instances)
                                               : std::string(),
                           kShapeBack[colour]);
        for (uint32_t node : group.nodes) {
            const ScheduledNode& n = schedule.nodes[node];
            // Left to right, a record's fields stack: id, type, then what the patch sets.
            const std::string params = keyParams(n);
            dot += fmt::format("    n{} [label=\"{}|{}{}\", fillcolor=\"{}\"];\n", node, esc(n.id),
                               esc(std::string(n.desc->type)),
                               params.empty() ? std::string() : "|" + params, kShapeFill[colour]);
        }
        dot += "  }\n";
    }

    // Connections: audio solid, modulation (into a parameter) dashed and blue, labelled by the
    // ports that are not a module's first.
    for (uint32_t d = 0; d < schedule.nodes.size(); ++d) {
        const ScheduledNode& dst = schedule.nodes[d];
        for (uint32_t slot = 0; slot < dst.sources.size(); ++slot) {
            const bool modulation = slot >= dst.inputCount();
            const std::string into = modulation ? dst.layout->params[slot - dst.inputCount()].name
                                                : dst.layout->inputs[slot].name;
            for (const SignalRef& src : dst.sources[slot]) {
                const ScheduledNode& from = schedule.nodes[src.node];
                std::string label;
                if (src.output > 0) label = from.layout->outputs[src.output].name + " > ";
                if (modulation || dst.inputCount() > 1 || !label.empty()) label += into;
                dot += fmt::format("  n{} -> n{} [{}{}];\n", src.node, d,
                                   modulation ? "style=dashed, color=\"#1f5fbf\", "
                                                "fontcolor=\"#1f5fbf\", arrowhead=vee, "
                                              : "penwidth=1.6, ",
                                   label.empty() ? std::string("label=\"\"")
                                                 : fmt::format("label=\"{}\"", esc(label)));
            }
        }
    }

    // What is heard: the sum of the output taps.
    dot += "  speaker [label=\"audio out\", shape=cds, style=filled, fillcolor=\"#333333\", "
           "fontcolor=white];\n";
    for (const SignalRef& tap : schedule.outputTaps) {
        const ScheduledNode& n = schedule.nodes[tap.node];
        dot += fmt::format(
            "  n{} -> speaker [penwidth=1.6{}];\n", tap.node,
            tap.output > 0 ? fmt::format(", label=\"{}\"", esc(n.layout->outputs[tap.output].name))
                           : std::string());
    }
    dot += "  legend [shape=plaintext, style=\"\", fontsize=9, label=\"solid: audio   dashed: "
           "modulation of a parameter   box colour: group shape (compiled once)\"];\n";
    dot += "}\n";
    return dot;
}

} // namespace chronus::cli
