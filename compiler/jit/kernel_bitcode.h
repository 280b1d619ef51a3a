// The module kernels as LLVM bitcode, compiled from CHRONUS_MODULE_SOURCES by the build and
// embedded in the program (compiler/CMakeLists.txt, jit/embed_bitcode.cmake).
#pragma once

#include <span>
#include <string_view>

namespace chronus::jit {

/// The linked bitcode of every module kernel (chronus_<kernel>_tick / _emit), 16-byte aligned.
std::span<const unsigned char> kernelBitcode();

/// The SHA-256 (32 hex digits) of that bitcode, the module sources and the compiler's own
/// sources (compiler/jit/code_hash.cmake): what compiled code depends on besides its shape key.
std::string_view kernelCodeHash();

} // namespace chronus::jit
