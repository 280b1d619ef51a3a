// The engine's control semantics played on plain graphs: no compile, no sound. What a patch file
// is checked against before any of it reaches an engine, and where `chronus ir` and the bench
// read the patch a file commits.
#pragma once

#include "base/expected.h"
#include "compiler/patch_graph.h"
#include "runtime/control_command.h"

#include <optional>

namespace chronus {

class PatchDryRun {
public:
    /// Refuses what an engine with these limits would refuse.
    explicit PatchDryRun(const GraphLimits& limits = {}) : pending_(limits) {}

    /// Applies `cmd` as Engine::apply does, refusing exactly what the engine would refuse: edits
    /// go to the pending patch; a write validates against the module as the engine knows it
    /// (pending first, else committed) and reaches both; a commit makes the pending patch the
    /// committed one (assuming it compiles: compiling is not rehearsed); an abort drops the
    /// pending edits; queries and quit change nothing. A refusal changes nothing.
    Status apply(const ControlCommand& cmd);

    const PatchGraph& pending() const { return pending_; }
    /// The patch of the last commit; nothing before the first.
    const std::optional<PatchGraph>& committed() const { return committed_; }

private:
    Status write(const std::string& id, const std::string& param, float value);
    Status writeChoice(const std::string& id, const std::string& param, const std::string& choice);
    /// A note goes to a poly of the pending or committed patch.
    Status notePoly(const std::string& id) const;

    PatchGraph pending_;
    std::optional<PatchGraph> committed_;
};

} // namespace chronus
