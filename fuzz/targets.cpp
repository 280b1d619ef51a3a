#include "fuzz/targets.h"

#include <cstdio>
#include <cstdlib>

namespace chronus::fuzz {

namespace {
FailureHandler gHandler = nullptr;
} // namespace

void setFailureHandler(FailureHandler handler) {
    gHandler = handler;
}

void fuzzFailure(const char* target, const char* what) {
    if (gHandler != nullptr) gHandler(target, what);
    std::fprintf(stderr, "fuzz target %s: %s\n", target, what);
    std::abort();
}

} // namespace chronus::fuzz
