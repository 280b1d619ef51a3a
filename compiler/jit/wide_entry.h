// The wide entry of a group shape: `lanes` instances per call, side by side in vector registers
// (docs/jit.md, "SIMD across voices"). Added to a shape's module after its kernels are linked.
#pragma once

#include "base/expected.h"
#include "compiler/jit/fusion.h"
#include "compiler/jit/lower.h"
#include "compiler/schedule.h"

#include <cstdint>
#include <string>

namespace chronus::jit {

/// Adds `shape.wideEntry` (named after the one-instance entry, `_x<lanes>`), which runs `lanes`
/// instances of the shape, lane l reading row l. While every lane is settled (schedule.h), their
/// kernel state is gathered into structure-of-arrays allocas, the parameters are block constants,
/// prepare runs per lane, and one per-sample loop runs the kernels' vector forms (widen.h);
/// otherwise each lane goes through the one-instance group function. The slot values come from
/// the lowering the one-instance code uses (sample_lowering.h), so lane by lane it computes what
/// that code computes, bit for bit. Returns false (module unchanged) when some kernel does not
/// widen, with the reason in `whyNot`.
Expected<bool> addWideEntry(ShapeModule& shape, const Schedule& schedule, const FusionPlan& plan,
                            uint32_t shapeIndex, const LowerOptions& options, uint32_t lanes,
                            std::string& whyNot);

} // namespace chronus::jit
