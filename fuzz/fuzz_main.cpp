// The libFuzzer entry point of one target, chosen at compile time (fuzz/CMakeLists.txt).
#include "fuzz/targets.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    CHRONUS_FUZZ_CALL;
    return 0;
}
