// noise: deterministic uniform white noise in [-1, 1) scaled by `gain` (RMS gain/sqrt(3)), from a
// xorshift32 generator. Seeded from the module id, or from the creation argument `seed`.
#include "modules/module_abi.h"

#include <cstdint>

namespace {
struct NoiseState {
    uint32_t x; ///< never 0
};
enum In { kGain };
} // namespace

CHRONUS_KERNEL void chronus_noise_tick(void* CHRONUS_RESTRICT state,
                                       const float* CHRONUS_RESTRICT in,
                                       float* CHRONUS_RESTRICT out, const chronus::KernelContext*) {
    auto* s = static_cast<NoiseState*>(state);
    uint32_t x = s->x;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->x = x;
    // The top 24 bits as a signed integer (exact in a float) times 2^-23: uniform in [-1, 1).
    // (Shifting a negative int is arithmetic, and the cast two's-complement, in C++20.)
    out[0] = static_cast<float>(static_cast<int32_t>(x) >> 8) * 1.1920928955078125e-7f * in[kGain];
}

#ifndef CHRONUS_BITCODE
#include "modules/block_loop.h"
#include "modules/descriptor.h"

namespace chronus {
namespace {
constexpr PortDesc kOutputs[] = {{.name = "out"}};
constexpr ParamDesc kParams[] = {
    {.name = "gain", .defaultValue = 0.2f, .minValue = 0, .maxValue = 1, .unit = ""},
};

/// Murmur3's finaliser: nearby seeds (1, 2, 3) give unrelated sequences.
uint32_t mixSeed(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

void init(void* state, const InstanceConfig& cfg, const float*) {
    uint32_t seed = cfg.createArg >= 1 ? static_cast<uint32_t>(cfg.createArg) : cfg.seed;
    uint32_t x = mixSeed(seed);
    static_cast<NoiseState*>(state)->x = x != 0 ? x : 0x9e3779b9u; // 0 is xorshift's fixed point
}
} // namespace

extern const ModuleDescriptor kNoise = {
    .type = "noise",
    .order = 5,
    .aliases = {},
    .summary = "deterministic white noise, uniform in [-gain, gain)",
    .inputs = {},
    .outputs = kOutputs,
    .params = kParams,
    // Floats hold whole numbers exactly up to 2^24.
    .createArg = {.name = "seed",
                  .defaultValue = 0,
                  .minValue = 0,
                  .maxValue = 16777216,
                  .unit = "",
                  .doc = "0: seeded from the module id; otherwise this seed, whatever the id",
                  .whole = true},
    .kernel = "noise",
    .stateSize = [](const InstanceConfig&) { return sizeof(NoiseState); },
    .init = init,
    .tick = chronus_noise_tick,
    .block = blockLoop<chronus_noise_tick>,
};
} // namespace chronus
#endif
