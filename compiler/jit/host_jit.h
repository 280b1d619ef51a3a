// The process-wide LLVM ORC JIT, private to compiler/jit: created on first use and never
// destroyed (programs may outlive static destructors). It owns everything that touches the LLJIT:
// adding an object under a ResourceTracker of its own, resolving its symbols, and removing it
// again. Compiles run on any thread: each brings its own LLVMContext and the thread's
// TargetMachine; the LLJIT only links objects and looks up symbols. Every llvm::Error becomes a
// chronus::Error here (toError).
#pragma once

#include "base/expected.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace llvm::orc {
class LLJIT;
}

namespace chronus::jit {

/// Machine code in the JIT under its own ResourceTracker, and the addresses of the symbols it was
/// linked for. Its code leaves the JIT when it is destroyed (on any thread).
class LinkedCode {
public:
    ~LinkedCode();
    LinkedCode(const LinkedCode&) = delete;
    LinkedCode& operator=(const LinkedCode&) = delete;

    /// The i-th symbol HostJit::link was asked for, as a function pointer of type `Fn`.
    template <class Fn>
    Fn function(size_t i) const {
        return addresses_[i].toPtr<Fn>();
    }

private:
    friend class HostJit;
    LinkedCode() = default;
    llvm::orc::ResourceTrackerSP tracker_;
    std::vector<llvm::orc::ExecutorAddr> addresses_;
};

class HostJit {
public:
    static Expected<HostJit*> instance();

    const std::string& cpu() const { return cpu_; }
    const std::string& features() const { return features_; }

    /// A TargetMachine for this host at `optLevel` (0..3); one per compile (not thread-safe).
    Expected<std::unique_ptr<llvm::TargetMachine>> targetMachine(int optLevel) const;
    /// The calling thread's TargetMachine at `optLevel`, made on its first use and kept until the
    /// thread ends (a TargetMachine is not shareable across threads; making one costs ~0.2 ms).
    Expected<llvm::TargetMachine*> threadTargetMachine(int optLevel) const;

    /// Any thread. Adds `object` under a tracker of its own and resolves `symbols`, in order
    /// (which links it). On failure nothing of it stays in the JIT.
    Expected<std::unique_ptr<LinkedCode>> link(std::unique_ptr<llvm::MemoryBuffer> object,
                                               std::span<const std::string> symbols);

private:
    friend class LinkedCode;
    HostJit() = default;
    /// Frees dead interned symbol names now and then (they are unique per shape).
    void noteRemoved();

    std::unique_ptr<llvm::orc::LLJIT> jit_;
    llvm::orc::JITTargetMachineBuilder jtmb_{llvm::Triple()};
    std::string cpu_, features_;
};

/// Text of an llvm::Error (consumes it), with what the JIT session reported on this thread.
Error toError(llvm::Error e, std::string_view what);

} // namespace chronus::jit
