// The contract every kernel is written against. This header is compiled twice: natively and,
// with clang-19, to LLVM bitcode that the JIT inlines. Keep it freestanding: no allocation, no
// exceptions, no static locals, nothing beyond <cmath> and <cstdint>.
#pragma once

#include <cstdint>

namespace chronus {

/// What a kernel may read besides its own state; fixed for the life of one compiled program.
struct KernelContext {
    float sampleRate;
    float invSampleRate;
};

/// Most values any kernel's `in` or `out` array holds (mix at its maximum input count).
inline constexpr uint32_t kMaxKernelValues = 160;

} // namespace chronus

// Kernel entry points, one set per module type, stable names with the `chronus_` prefix:
//
//   void chronus_<kernel>_tick(void* state, const float* in, float* out, const KernelContext*)
//       One sample. `in` holds the audio inputs in port order, then every parameter's effective
//       value (smoothed target + modulation, clamped to range) in parameter order; a module file
//       names these indices in its `enum In` (kIn, kCutoff, ...). `out` receives every output in
//       port order (a module with delayed outputs leaves those alone here).
//
//   void chronus_<kernel>_emit(void* state, float* out, const KernelContext*)
//       Only for modules with a delayed output (z1, delay:wet): writes those outputs from state
//       alone, before any tick of the same sample. This is what lets a feedback loop close.
//
//   void chronus_<kernel>_prepare(void* state, const float* in, const KernelContext*)
//   void chronus_<kernel>_process(void* state, const float* in, float* out, const KernelContext*)
//       Optional pair, both or neither: tick split into block-rate and sample-rate work, for
//       parameters the descriptor marks `prepared` (a filter's cutoff, q and mode). When every
//       prepared parameter of an instance is unmodulated and settled (its smoother at its fixed
//       point), its effective value is the same for every sample of the block: then both engines
//       call prepare once, before the block, with those values at their places in `in` (the
//       other values are unspecified), and process instead of tick for each sample. Contract:
//       for the same `in`, prepare followed by process leaves state and out bit-identical to
//       tick, so which path runs never changes the sound (tick is typically prepare; process).
//
// Kernels are straight-line where they can be: selects, not data-dependent branches or libm calls
// (dsp_math.h has the exact-enough forms), and no loops over state. The JIT then vectorizes a
// kernel across the identical instances of a fusion group (docs/jit.md); a kernel it cannot
// widen (a loop, a buffer indexed by a signal) runs one instance at a time, still correct.
//
// `init` and `stateSize` are native only (control thread) and live in the descriptor.
#define CHRONUS_KERNEL extern "C" __attribute__((used))
#define CHRONUS_RESTRICT __restrict__
