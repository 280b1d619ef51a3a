// The machine the JIT compiles for, and the process-wide LLVM ORC JIT, private to compiler/jit.
//
// Three costs, paid only when needed: hostTarget() (the CPU and its features: a few system
// calls, no LLVM target or ORC set-up) is all a compile needs whose shapes are all in memory;
// threadTargetMachine() (registers the native target) only when something is compiled; the LLJIT
// (HostJit::instance()) only when code is linked, compiled or loaded from the disk cache. It is
// never destroyed (programs may outlive static destructors). It owns everything that touches the
// LLJIT: adding an object under a ResourceTracker of its own, resolving its symbols, and removing
// it again. Every llvm::Error becomes a chronus::Error here (toError).
#pragma once

#include "base/expected.h"

#include <cstdint>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Target/TargetMachine.h>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace llvm::orc {
class LLJIT;
}

namespace chronus::jit {

/// This machine as the JIT compiles for it (part of every shape's cache key).
struct HostTarget {
    std::string triple;
    std::string cpu;      ///< llvm::sys::getHostCPUName()
    std::string features; ///< "+avx2,+fma,-avx512f,...", sorted
};

/// Any thread; the first call detects the host, later ones return it.
const HostTarget& hostTarget();

/// A TargetMachine for this host at `optLevel` (0..3); registers the native target on first use.
Expected<std::unique_ptr<llvm::TargetMachine>> makeTargetMachine(int optLevel);
/// The calling thread's TargetMachine at `optLevel`, made on its first use and kept until the
/// thread ends (a TargetMachine is not shareable across threads; making one costs ~0.2 ms).
Expected<llvm::TargetMachine*> threadTargetMachine(int optLevel);

class HostJit;

/// Machine code in the JIT under its own ResourceTracker, and the addresses of the symbols it was
/// linked for. Shared by every shape of one cache key (the symbols are named by the key); the
/// code leaves the JIT when the last holder lets go (on any thread).
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
    HostJit* host_ = nullptr;
    std::string name_; ///< its first symbol: what the JIT knows it by
    uint64_t generation_ = 0;
    std::vector<llvm::orc::ExecutorAddr> addresses_;
};

class HostJit {
public:
    /// The process-wide LLJIT, created on the first call.
    static Expected<HostJit*> instance();

    /// Any thread. Adds `object` under a tracker of its own and resolves `symbols`, in order
    /// (which links it). Symbols are named by the shape's cache key: if code defining
    /// `symbols[0]` is linked and held already (two compiles of one shape at once, or a shape
    /// loaded while its twin plays), that code is returned and `object` dropped. On failure
    /// nothing of it stays in the JIT.
    Expected<std::shared_ptr<LinkedCode>> link(std::unique_ptr<llvm::MemoryBuffer> object,
                                               std::span<const std::string> symbols);

private:
    friend class LinkedCode;
    HostJit() = default;
    /// The code of `name` made at `generation` leaves the JIT, unless newer code replaced it.
    void release(const std::string& name, uint64_t generation);

    struct Linked {
        llvm::orc::ResourceTrackerSP tracker;
        std::weak_ptr<LinkedCode> holder;
        uint64_t generation = 0;
    };
    std::unique_ptr<llvm::orc::LLJIT> jit_;
    std::mutex mutex_; ///< links and removals, one at a time
    std::map<std::string, Linked> linked_;
    uint64_t generations_ = 0;
    uint32_t removed_ = 0;
};

/// True once HostJit::instance() has created the LLJIT (something was linked).
bool hostJitCreated();

/// Text of an llvm::Error (consumes it), with what the JIT session reported on this thread.
Error toError(llvm::Error e, std::string_view what);

} // namespace chronus::jit
