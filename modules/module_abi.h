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

/// Longest kernel `in`/`out` array any module uses (mix at its maximum input count).
inline constexpr uint32_t kMaxKernelSlots = 160;

} // namespace chronus

// Kernel entry points, one set per module type, stable names with the `chronus_` prefix:
//
//   void chronus_<kernel>_tick(void* state, const float* in, float* out, const KernelContext*)
//       One sample. `in` holds the audio inputs in port order, then every parameter's effective
//       value (smoothed target + modulation, clamped to range) in parameter order. `out` receives
//       every output in port order (a module with delayed outputs leaves those alone here).
//
//   void chronus_<kernel>_emit(void* state, float* out, const KernelContext*)
//       Only for modules with a delayed output (z1, delay:wet): writes those outputs from state
//       alone, before any tick of the same sample. This is what lets a feedback loop close.
//
// `init` and `stateSize` are native only (control thread) and live in the descriptor.
#define CHRONUS_KERNEL extern "C" __attribute__((used))
#define CHRONUS_RESTRICT __restrict__
