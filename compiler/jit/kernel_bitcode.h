// The module kernels as LLVM bitcode, compiled from CHRONUS_MODULE_SOURCES by the build and
// embedded in the program (compiler/CMakeLists.txt, jit/embed_bitcode.cmake).
#pragma once

#include <span>

namespace chronus::jit {

/// The linked bitcode of every module kernel (chronus_<kernel>_tick / _emit), 16-byte aligned.
std::span<const unsigned char> kernelBitcode();

} // namespace chronus::jit
