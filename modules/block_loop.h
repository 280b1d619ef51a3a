// The interpreter's per-module block loop, stamped out per type so the kernel inlines into it:
// one indirect call per module per block, none per sample. Native build only.
#pragma once

#include "modules/module_abi.h"

#include <cstdint>

namespace chronus {

using BlockFn = void (*)(void* state, const float* const* in, float* const* out, uint32_t nIn,
                         uint32_t nOut, uint32_t frames, const KernelContext* ctx);

/// Runs `frames` samples: per sample, gathers `in`, emits delayed outputs (if any), ticks,
/// scatters.
template <void (*Tick)(void*, const float*, float*, const KernelContext*),
          void (*Emit)(void*, float*, const KernelContext*) = nullptr>
void blockLoop(void* state, const float* const* in, float* const* out, uint32_t nIn, uint32_t nOut,
               uint32_t frames, const KernelContext* ctx) {
    float inS[kMaxKernelValues];
    float outS[kMaxKernelValues];
    for (uint32_t f = 0; f < frames; ++f) {
        for (uint32_t i = 0; i < nIn; ++i) inS[i] = in[i][f];
        if constexpr (Emit != nullptr) Emit(state, outS, ctx);
        Tick(state, inS, outS, ctx);
        for (uint32_t o = 0; o < nOut; ++o) out[o][f] = outS[o];
    }
}

} // namespace chronus
