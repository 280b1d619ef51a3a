// A module type described once: ports, parameters, creation argument and entry points. Validation,
// state layout, the OSC address map, `chronus modules` and the tests are all derived from this.
#pragma once

#include "modules/block_loop.h"
#include "modules/module_abi.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chronus {

struct ParamDesc {
    std::string_view name;
    float defaultValue;
    float minValue;
    float maxValue;
    std::string_view unit; ///< "Hz", "ms", "" ...
    bool smoothed = true;  ///< false for discrete values: modes, gates, shapes
    std::span<const std::string_view> choices = {}; ///< names of integer values 0..n-1 ("lp", "hp")
    std::string_view doc = {};
    /// Read by the kernel's prepare entry point (module_abi.h): while unmodulated and settled, the
    /// work that depends on it runs once per block instead of once per sample.
    bool prepared = false;
    /// Not smoothed, but the kernel crossfades a change from the old value's sound to the new
    /// one's over dsp::kChoiceFadeMs (modules/choice_fade.h): click-free like a smoothed value.
    /// Every choice parameter is (tests/test_choice_fades.cpp holds each to it).
    bool faded = false;
    /// For a value neither smoothed nor faded: what a change does to the sound and when it is
    /// click-free, shown by `chronus modules` (empty: the value steps, and so may the sound).
    std::string_view onChange = {};

    /// A change never steps the sound: smoothed by the engine or crossfaded by the kernel.
    bool clickSafe() const { return smoothed || faded; }
};

struct PortDesc {
    std::string_view name;
    float unconnectedValue = 0.0f; ///< what an input reads with nothing connected
    bool delayed = false;          ///< output depends on state only: a feedback loop may close here
    std::string_view doc = {};
};

/// Optional number given at creation (`/patch/create d1 delay 2000`): fixes memory or port count.
struct CreateArgDesc {
    std::string_view name; ///< empty: the type takes no creation argument
    float defaultValue = 0;
    float minValue = 0;
    float maxValue = 0;
    std::string_view unit = {};
    std::string_view doc = {};
    bool whole = false; ///< a count or a seed: 2.5 is refused, not rounded
};

/// Ports and parameters repeated `count` times (mix: in1..inN with level1..levelN).
struct VariadicDesc {
    std::string_view inputPrefix;
    ParamDesc paramTemplate; ///< name is the prefix; index appended from 1
};

/// Everything fixed when a module instance is created or a program is built for a sample rate.
struct InstanceConfig {
    float createArg = 0;
    float sampleRate = 48000;
    uint32_t seed = 0; ///< derived from the module id, so renders are deterministic
};

using TickFn = void (*)(void* state, const float* in, float* out, const KernelContext* ctx);
using EmitFn = void (*)(void* state, float* out, const KernelContext* ctx);
using PrepareFn = void (*)(void* state, const float* in, const KernelContext* ctx);
using StateSizeFn = std::size_t (*)(const InstanceConfig&);
/// Control thread: set up state; `params` holds the initial parameter targets in order.
using InitFn = void (*)(void* state, const InstanceConfig&, const float* params);
/// Audio thread; wait-free: true when the instance is silent until something restarts it (an
/// envelope that has finished its release). A poly's allocator frees a voice by it.
using IdleFn = bool (*)(const void* state);

struct ModuleDescriptor {
    std::string_view type;
    /// Place in allModules() and `chronus modules`: ascending, one number per type. A new type
    /// takes the next number after the highest, never one between, so that no existing type's
    /// index moves: fuzz inputs, their regressions and the seeded random patches of the tests
    /// and benchmarks pick types by index.
    uint32_t order = 0;
    std::span<const std::string_view> aliases;
    std::string_view summary;
    std::span<const PortDesc> inputs;
    std::span<const PortDesc> outputs;
    std::span<const ParamDesc> params;
    CreateArgDesc createArg = {};
    const VariadicDesc* variadic = nullptr; ///< count = createArg
    bool isSink = false; ///< an `output`: its outputs are the patch's output, never a source
    /// An `input`: the program points its state at one channel of audio in before every block
    /// (compiler/schedule.h, Schedule::inputs; the createArg is the channel, 1-based).
    bool isAudioInput = false;
    /// Entry points chronus_<kernel>_tick, _emit, _prepare, _process in the bitcode, which the JIT
    /// finds by this name (tests/test_module_jit.cpp links every descriptor's).
    std::string_view kernel;
    StateSizeFn stateSize = nullptr;
    InitFn init = nullptr;
    TickFn tick = nullptr;
    EmitFn emit = nullptr;   ///< non-null iff some output is delayed
    BlockFn block = nullptr; ///< interpreter: blockLoop<tick, emit>
    /// Optional, both or neither (module_abi.h): block-rate work for the `prepared` parameters,
    /// then `process` per sample instead of `tick`.
    PrepareFn prepare = nullptr;
    TickFn process = nullptr;
    BlockFn processBlock = nullptr; ///< interpreter: blockLoop<process, emit>
    /// Optional: says when an instance has gone quiet for good (an envelope's idle stage), so a
    /// poly knows its voice is free (runtime/voice_allocator.h). Null: never idle by itself.
    IdleFn idle = nullptr;

    bool hasPrepare() const { return prepare != nullptr && process != nullptr; }
};

/// Ports and parameters of one instance, with variadic ones expanded and named.
struct ModuleLayout {
    struct Input {
        std::string name;
        float unconnectedValue;
    };
    struct Output {
        std::string name;
        bool delayed;
    };
    struct Param {
        std::string name;
        ParamDesc desc; ///< desc.name may be a prefix: use `name`
    };
    std::vector<Input> inputs;
    std::vector<Output> outputs;
    std::vector<Param> params;

    /// Length of the kernel's `in` array (module_abi.h): inputs first, then parameters.
    std::size_t kernelInCount() const { return inputs.size() + params.size(); }
};

ModuleLayout makeLayout(const ModuleDescriptor& desc, float createArg);

} // namespace chronus
