// The LLVM side of the JIT, private to compiler/jit: the process-wide ORC LLJIT, kernel bitcode
// linking, the optimisation pipeline and code generation. Every llvm::Error becomes a
// chronus::Error here.
#pragma once

#include "base/expected.h"
#include "compiler/schedule.h"

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace chronus::jit {

/// The one LLJIT of the process, created on first use (thread-safe) and never destroyed, so that
/// programs may outlive static destructors. Compiles run on any thread: each brings its own
/// LLVMContext and TargetMachine; the LLJIT only links objects and looks up symbols.
class HostJit {
public:
    static Expected<HostJit*> instance();

    llvm::orc::LLJIT& lljit() { return *jit_; }
    const std::string& cpu() const { return cpu_; }
    const std::string& features() const { return features_; }

    /// A TargetMachine for this host at `optLevel` (0..3); one per compile (not thread-safe).
    Expected<std::unique_ptr<llvm::TargetMachine>> targetMachine(int optLevel) const;
    /// The calling thread's TargetMachine at `optLevel`, made on its first use and kept until the
    /// thread ends (a TargetMachine is not shareable across threads; making one costs ~0.2 ms).
    Expected<llvm::TargetMachine*> threadTargetMachine(int optLevel) const;

    /// Frees dead interned symbol names now and then (they are unique per program).
    void noteRemoved();

private:
    HostJit() = default;
    std::unique_ptr<llvm::orc::LLJIT> jit_;
    llvm::orc::JITTargetMachineBuilder jtmb_{llvm::Triple()};
    std::string cpu_, features_;
};

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

/// Text of an llvm::Error (consumes it).
Error toError(llvm::Error e, std::string_view what);

/// Parses `bitcode` and links into `module` the kernels it declares (and only what they need);
/// then gives every function the host attributes, marks kernels always-inline and internalizes
/// everything but `keep`. Fails naming any kernel that is missing or has the wrong signature.
Status linkKernels(llvm::Module& module, std::span<const unsigned char> bitcode,
                   const std::string& keep, const std::string& cpu, const std::string& features,
                   DiagnosticLog& log);

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
