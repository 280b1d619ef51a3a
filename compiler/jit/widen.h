// Widening: a kernel entry point (module_abi.h) turned into its vector form, so that `lanes`
// instances of a group shape run side by side in vector registers (docs/jit.md, "SIMD across
// voices"). Kernels stay plain scalar C++; this is done on their IR, after linking.
#pragma once

#include "base/expected.h"

#include <llvm/IR/Function.h>
#include <span>
#include <string>

namespace chronus::jit {

/// The vector form of `scalar` (a kernel entry defined in its module), added to that module as an
/// internal always-inline function `name` with the same signature. For each argument, `uniform`
/// says whether it is shared by every lane (the KernelContext) or per lane (state, in, out): a
/// per-lane pointer addresses the lanes side by side, structure-of-arrays, so that the scalar's
/// 4-byte word at byte offset o is `lanes` words at byte offset o * lanes. Every value becomes a
/// <lanes x T> vector and runs the scalar's operations lane by lane (so each lane computes the
/// same bits as the scalar entry would); branches are if-converted (both sides computed, phis
/// become selects, stores masked).
///
/// Fails, naming why, when the kernel cannot be widened this way: a loop, a call other than an
/// elementwise intrinsic, memory addressed by a computed index or other than 4-byte words, an
/// integer division by a non-constant (unsafe to speculate), vector code. Nothing is left behind
/// in the module then.
Expected<llvm::Function*> widenKernel(llvm::Function& scalar, unsigned lanes,
                                      const std::string& name, std::span<const bool> uniform);

} // namespace chronus::jit
