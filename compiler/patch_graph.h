// The patch a user edits: module instances, connections and parameter values. Every edit is
// validated at once; a bad one returns an Error naming what was wrong and changes nothing.
#pragma once

#include "base/expected.h"
#include "modules/descriptor.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronus {

struct Module {
    std::string id;
    const ModuleDescriptor* desc = nullptr;
    float createArg = 0;
    /// Fixed by type and creation argument, so shared by every copy of the graph (a commit copies
    /// the graph; a thousand modules must not mean thousands of allocations).
    std::shared_ptr<const ModuleLayout> layout;
    std::vector<float> params; ///< current targets, in layout.params order
};

/// An audio connection (dstSlot < inputs) or a modulation (dstSlot indexes a parameter, offset by
/// the input count): the kernel `in` slot it feeds.
struct Connection {
    std::string src;
    uint32_t srcPort = 0;
    std::string dst;
    uint32_t dstSlot = 0;
    bool operator==(const Connection&) const = default;
};

class PatchGraph {
public:
    /// Adds a module. `createArg` fixes memory or port count for types that take one.
    Status create(std::string_view id, std::string_view type,
                  std::optional<float> createArg = std::nullopt);
    /// Removes a module and every connection to or from it.
    Status remove(std::string_view id);
    /// `src[:output]` to `dst[:input|param]`; ports default to the first output / audio input.
    Status connect(std::string_view src, std::string_view dst);
    Status disconnect(std::string_view src, std::string_view dst);
    /// Sets a parameter target; the value must be finite and inside the parameter's range.
    Status setParam(std::string_view id, std::string_view param, float value);
    /// Sets a choice parameter by the name of its value (`mode` = "hp").
    Status setParamChoice(std::string_view id, std::string_view param, std::string_view choice);
    /// Index of parameter `param` of module `id` in layout order.
    Expected<uint32_t> paramIndex(std::string_view id, std::string_view param) const;

    const std::vector<Module>& modules() const { return modules_; }
    const std::vector<Connection>& connections() const { return connections_; }
    const Module* find(std::string_view id) const;
    std::optional<uint32_t> indexOf(std::string_view id) const;

    /// `id:name` of a kernel input slot (audio input or parameter).
    static std::string slotName(const Module& m, uint32_t slot);

    /// The patch as patch-file text: creates (with creation arguments), parameter values that
    /// differ from their default (choices by name, gates as /gate), connections, then a
    /// /patch/commit (unless empty). Replaying it gives an identical graph, playing.
    std::string toPatchText() const;

private:
    struct Endpoint {
        const Module* module;
        uint32_t index;
    };
    Expected<Endpoint> resolveSource(std::string_view ref) const;
    Expected<Endpoint> resolveDestination(std::string_view ref) const;
    std::optional<std::vector<std::string>> findInstantCycle() const;

    std::vector<Module> modules_; ///< creation order: schedules are deterministic
    std::vector<Connection> connections_;
};

/// Checks a module id: 1..63 characters of [A-Za-z0-9_.-], so it fits an OSC address segment.
Status validateModuleId(std::string_view id);

} // namespace chronus
