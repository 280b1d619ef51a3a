#include "compiler/jit/render_plan.h"

#include <algorithm>
#include <fmt/format.h>
#include <type_traits>

namespace chronus::jit {

void sumBuffers(float* out, const float* base, const uint32_t* offsets, uint32_t count,
                uint32_t frames) noexcept {
    // A chunk of the block stays in registers while every buffer is added into it: the output is
    // written once, however many buffers there are. Element by element the order of the adds is
    // the schedule's (no reassociation without -ffast-math), so the bits are the interpreter's.
    constexpr uint32_t kChunk = 32;
    auto chunk = [&](uint32_t f0, auto width) {
        float acc[decltype(width)::value];
        const float* first = base + offsets[0] + f0;
        for (uint32_t j = 0; j < width; ++j) acc[j] = first[j];
        for (uint32_t k = 1; k < count; ++k) {
            const float* in = base + offsets[k] + f0;
            for (uint32_t j = 0; j < width; ++j) acc[j] += in[j];
        }
        for (uint32_t j = 0; j < width; ++j) out[f0 + j] = acc[j];
    };
    uint32_t f = 0;
    for (; f + kChunk <= frames; f += kChunk) chunk(f, std::integral_constant<uint32_t, kChunk>{});
    for (; f + 4 <= frames; f += 4) chunk(f, std::integral_constant<uint32_t, 4>{});
    for (; f < frames; ++f) chunk(f, std::integral_constant<uint32_t, 1>{});
}

void sumStep(const float*, std::byte*, float* scratch, const uint32_t* row,
             uint32_t frames) noexcept {
    sumBuffers(scratch + row[0], scratch, row + 2, row[1], frames);
}

RenderPlan planRender(const Schedule& schedule, const FusionPlan& plan,
                      std::span<const SharedShape> shapes, uint32_t maxBlock) {
    RenderPlan render;
    std::vector<uint32_t> groupOfNode(schedule.nodes.size());
    for (uint32_t g = 0; g < plan.groups.size(); ++g)
        for (uint32_t v : plan.groups[g].nodes) groupOfNode[v] = g;
    auto addCall = [&](ShapeEntryFn fn, const std::vector<uint32_t>& groups) {
        // The groups' summed inputs first: every signal they add up is made by a group that has
        // run (the batch never holds a group and one that it reads).
        for (uint32_t g : groups) {
            const FusionGroup& group = plan.groups[g];
            for (uint32_t k = 0; k < group.inputs.size(); ++k) {
                const GroupInput& in = group.inputs[k];
                if (!in.summed()) continue;
                render.calls.push_back({&sumStep, static_cast<uint32_t>(render.rows.size())});
                render.rows.push_back(group.inputBuffers[k] * maxBlock);
                render.rows.push_back(static_cast<uint32_t>(in.signals.size()));
                for (uint32_t b : in.signalBuffers) render.rows.push_back(b * maxBlock);
                render.callGroups.push_back({g});
                render.callInput.push_back(static_cast<int32_t>(k));
                ++render.sums;
            }
        }
        render.calls.push_back({fn, static_cast<uint32_t>(render.rows.size())});
        for (uint32_t g : groups) {
            auto row = instanceRow(schedule, plan.groups[g], maxBlock);
            render.rows.insert(render.rows.end(), row.begin(), row.end());
        }
        render.callGroups.push_back(groups);
        render.callInput.push_back(-1);
    };
    auto readsBatch = [&](const FusionGroup& group, const std::vector<uint32_t>& batch) {
        for (const GroupInput& in : group.inputs)
            for (const SignalRef& s : in.signals)
                if (std::find(batch.begin(), batch.end(), groupOfNode[s.node]) != batch.end())
                    return true;
        return false;
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
            if (readsBatch(plan.groups[g], batch))
                oneByOne(); // it reads a group of the batch: that one must run first
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
        plan.groups.size(), plan.shapes.size(), plan.bufferCount);
    for (size_t c = 0; c < render.callGroups.size(); ++c) {
        const auto& groups = render.callGroups[c];
        if (const int32_t k = render.callInput[c]; k >= 0) {
            const GroupInput& in = plan.groups[groups[0]].inputs[static_cast<size_t>(k)];
            text += fmt::format(";   sum {} signals into input {} of group {}\n", in.signals.size(),
                                k, groups[0]);
            continue;
        }
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
    if (schedule.channelCount() == 1) {
        text += fmt::format("; output: the sum of {} taps in order\n", plan.tapBuffers.size());
    } else {
        text += fmt::format("; output: {} channels, each the sum of its taps in order:",
                            schedule.channelCount());
        for (uint32_t c = 0; c < schedule.channelCount(); ++c)
            text += fmt::format(" {}", schedule.channelTapEnd(c) - schedule.channelTapBegin(c));
        text += "\n";
    }
    if (!schedule.inputs.empty())
        text += fmt::format("; audio in: {} input modules, pointed at their channel per block\n",
                            schedule.inputs.size());
    for (const auto& shape : shapes)
        if (!shape->notWide.empty())
            text += fmt::format("; {} runs one instance at a time: {}\n", shape->entryName,
                                shape->notWide);
    return text;
}

} // namespace chronus::jit
