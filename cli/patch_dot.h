// A patch as a Graphviz graph: modules (id, type, the parameters the patch sets), audio and
// modulation connections drawn apart, and the JIT's fusion groups as clusters, coloured by shape
// (every group of one shape alike), so a picture shows what runs as one loop and what is compiled
// once for many voices.
#pragma once

#include "compiler/jit/fusion.h"
#include "compiler/schedule.h"

#include <string>

namespace chronus::cli {

/// DOT text for `schedule`, cut into groups as `plan` says.
std::string patchDot(const Schedule& schedule, const jit::FusionPlan& plan,
                     const std::string& title);

} // namespace chronus::cli
