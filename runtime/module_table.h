// The module types as plain data (`/modules`): what a client needs to build controls, copied from
// the descriptors (modules/descriptor.h) so that osc/ can serve it without seeing modules/.
#pragma once

#include <string>
#include <vector>

namespace chronus {

struct ModuleParamInfo {
    std::string name; ///< for a variadic template: the prefix, numbered from 1 (level1..levelN)
    float defaultValue = 0, minValue = 0, maxValue = 0;
    std::string unit;
    bool smoothed = false;  ///< glides to a new target over the engine's smoothing time
    bool clickSafe = false; ///< a change never steps the sound (smoothed, or crossfaded inside)
    std::vector<std::string> choices; ///< names of the values 0..n-1; empty: a number
};

struct ModulePortInfo {
    std::string name;
    float unconnectedValue = 0; ///< inputs: what they read with nothing connected
    bool delayed = false;       ///< outputs: one sample late, so a feedback loop may close there
};

struct ModuleTypeInfo {
    std::string type, summary;
    std::vector<std::string> aliases;
    std::vector<ModulePortInfo> inputs, outputs;
    std::vector<ModuleParamInfo> params;
    /// The creation argument (`/patch/create d1 delay 2000`); `createArg.name` empty: none.
    ModuleParamInfo createArg;
    bool createArgWhole = false; ///< a count or a seed: whole numbers only
    /// Inputs and parameters repeated per the creation argument (mix: in1..inN, level1..levelN);
    /// `variadicInput` empty: none.
    std::string variadicInput;
    ModuleParamInfo variadicParam;
};

/// Every module type, in `chronus modules`' order. Built once; any thread.
const std::vector<ModuleTypeInfo>& moduleTable();

} // namespace chronus
