// A shape module's way to machine code, private to compiler/jit: the kernel bitcode linked in,
// the optimisation pipeline, code generation to an object (linked by host_jit.h) or to assembly
// text, and the IR text of a module. No JIT state here: any thread, one LLVMContext per compile.
#pragma once

#include "base/expected.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace chronus::jit {

/// Collects an LLVMContext's diagnostics (errors and warnings) as text instead of printing them.
class DiagnosticLog {
public:
    explicit DiagnosticLog(llvm::LLVMContext& context);
    std::string text() const; ///< "; "-joined, empty if none
    bool hasErrors() const { return errors_ > 0; }

private:
    static void handle(const llvm::DiagnosticInfo* info, void* self);
    std::vector<std::string> messages_;
    int errors_ = 0;
};

/// Parses `bitcode` and links into `module` the kernels it declares (and only what they need);
/// then gives every function the host attributes, marks kernels always-inline and internalizes
/// everything but `keep`. Fails naming any kernel that is missing or has the wrong signature.
Status linkKernels(llvm::Module& module, std::span<const unsigned char> bitcode,
                   const llvm::GlobalValue& keep, const std::string& cpu,
                   const std::string& features, DiagnosticLog& log);

/// The per-module pipeline at `optLevel` with the target's cost model, loop and SLP vectorization
/// on. 0 is the quick tier: the always-inliner, SROA and early CSE only, and fast instruction
/// selection.
void optimizeModule(llvm::Module& module, llvm::TargetMachine& tm, int optLevel);

/// Machine code for `module` as an object file in memory.
Expected<std::unique_ptr<llvm::MemoryBuffer>> emitObject(llvm::Module& module,
                                                         llvm::TargetMachine& tm);

/// The module's assembly text.
Expected<std::string> emitAssembly(llvm::Module& module, llvm::TargetMachine& tm);

/// Parses IR text (what ir("optimized") returns) back into a module and prints its assembly.
Expected<std::string> assemblyFromIrText(const std::string& irText, int optLevel);

/// The module as IR text.
std::string printModule(const llvm::Module& module);

} // namespace chronus::jit
