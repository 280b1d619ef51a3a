// The state of an `input` module (types/input.cpp), which the program sets before every block it
// renders: where this block's samples of the module's channel are (null: silence), and how many
// the kernel has read since. Freestanding, like every kernel header.
#pragma once

#include <cstdint>

namespace chronus {

struct AudioInputState {
    const float* samples;
    uint32_t pos;
};

} // namespace chronus
