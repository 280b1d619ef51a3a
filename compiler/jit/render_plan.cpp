#include "compiler/jit/render_plan.h"

#include <algorithm>
#include <fmt/format.h>

namespace chronus::jit {

RenderPlan planRender(const Schedule& schedule, const FusionPlan& plan,
                      std::span<const SharedShape> shapes, uint32_t maxBlock) {
    RenderPlan render;
    std::vector<uint32_t> groupOfNode(schedule.nodes.size());
    for (uint32_t g = 0; g < plan.groups.size(); ++g)
        for (uint32_t v : plan.groups[g].nodes) groupOfNode[v] = g;
    auto addCall = [&](ShapeEntryFn fn, const std::vector<uint32_t>& groups) {
        render.calls.push_back({fn, static_cast<uint32_t>(render.rows.size())});
        for (uint32_t g : groups) {
            auto row = instanceRow(schedule, plan, plan.groups[g], maxBlock);
            render.rows.insert(render.rows.end(), row.begin(), row.end());
        }
        render.callGroups.push_back(groups);
    };
    for (uint32_t first = 0; first < plan.groups.size();) {
        const uint32_t shapeIndex = plan.groups[first].shape;
        uint32_t end = first + 1;
        while (end < plan.groups.size() && plan.groups[end].shape == shapeIndex) ++end;
        const CompiledShape& shape = *shapes[shapeIndex];
        std::vector<uint32_t> batch;
        auto oneByOne = [&] {
            for (uint32_t g : batch) addCall(shape.entry, {g});
            batch.clear();
        };
        for (uint32_t g = first; g < end; ++g) {
            if (shape.wideEntry == nullptr) {
                addCall(shape.entry, {g});
                continue;
            }
            for (const SignalRef& in : plan.groups[g].inputs)
                if (std::find(batch.begin(), batch.end(), groupOfNode[in.node]) != batch.end()) {
                    oneByOne(); // it reads a group of the batch: that one must run first
                    break;
                }
            batch.push_back(g);
            if (batch.size() == shape.lanes) {
                addCall(shape.wideEntry, batch);
                render.wideGroups += shape.lanes;
                batch.clear();
            }
        }
        oneByOne();
        first = end;
    }
    for (uint32_t b : plan.tapBuffers) render.taps.push_back(b * maxBlock);
    return render;
}

std::string describe(const RenderPlan& render, const Schedule& schedule, const FusionPlan& plan,
                     std::span<const SharedShape> shapes) {
    std::string text = fmt::format(
        "; render plan: {} groups of {} shapes, {} block buffers; per block of up to the program's "
        "frames, in order:\n",
        plan.groups.size(), plan.shapes.size(), plan.buffers.size());
    for (const auto& groups : render.callGroups) {
        const CompiledShape& shape = *shapes[plan.groups[groups[0]].shape];
        const bool wide = groups.size() > 1;
        std::string ids;
        for (uint32_t g : groups) {
            ids += ids.empty() ? "" : " |";
            for (uint32_t v : plan.groups[g].nodes) ids += " " + schedule.nodes[v].id;
        }
        text += fmt::format(";   call @{}  ; {}:{}\n", wide ? shape.wideName : shape.entryName,
                            wide ? fmt::format("{} groups side by side", groups.size())
                                 : fmt::format("group {}", groups[0]),
                            ids);
    }
    text += fmt::format("; output: the sum of {} taps in order\n", plan.tapBuffers.size());
    for (const auto& shape : shapes)
        if (!shape->notWide.empty())
            text += fmt::format("; {} runs one instance at a time: {}\n", shape->entryName,
                                shape->notWide);
    return text;
}

} // namespace chronus::jit
