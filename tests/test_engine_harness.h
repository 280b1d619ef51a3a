// Shared by the engine and backend tests: an Engine driven deterministically through the offline
// backend (the real callback path), and factories that misbehave on purpose.
#pragma once

#include "compiler/interpreter.h"
#include "runtime/backend_offline.h"
#include "runtime/engine.h"
#include "runtime/engine_factory.h"
#include "runtime/patch_file.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <limits>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus::test {

inline ProgramFactory interpreterFactory() {
    return
        [](const Schedule& s) -> Expected<std::unique_ptr<Program>> { return makeInterpreter(s); };
}

/// The engine's default factory (the JIT where built).
inline ProgramFactory defaultFactory() {
    auto f = engineFactory("");
    REQUIRE(f.ok());
    return f.take();
}

/// Wraps a real program and overwrites its output: a compile that "succeeds" with a runaway.
class PoisonedProgram final : public Program {
public:
    PoisonedProgram(std::unique_ptr<Program> inner, float value)
        : inner_(std::move(inner)), value_(value) {}
    const Schedule& schedule() const override { return inner_->schedule(); }
    void render(const std::atomic<float>* params, std::byte* state, float* out,
                uint32_t frames) noexcept override {
        inner_->render(params, state, out, frames);
        for (uint32_t i = 0; i < frames; ++i) out[i] = value_;
    }
    std::string_view kind() const override { return "poisoned"; }

private:
    std::unique_ptr<Program> inner_;
    float value_;
};

/// An Engine on the offline backend; `out` holds everything rendered so far (interleaved, with
/// backend options of several channels).
struct OfflineRig {
    explicit OfflineRig(EngineOptions o = {}, BackendOptions bo = {}) {
        if (!o.factory) o.factory = interpreterFactory();
        auto e = Engine::create(o);
        REQUIRE(e.ok());
        engine = e.take();
        backend = std::make_unique<OfflineBackend>(*engine, bo);
    }
    ~OfflineRig() {
        backend.reset();
        engine.reset();
    }

    float rate() const { return engine->options().sampleRate; }
    uint32_t frames() const { return engine->options().frames; }
    size_t position() const { return out.size() / backend->channels(); }

    void render(uint64_t frames_) {
        const size_t at = out.size();
        out.resize(at + frames_ * backend->channels());
        backend->render(out.data() + at, frames_);
    }
    /// Channel `c` of frames [from, to).
    std::vector<float> channel(uint32_t c, size_t from, size_t to) const {
        const uint32_t n = backend->channels();
        std::vector<float> v;
        for (size_t f = from; f < std::min(to, position()); ++f) v.push_back(out[f * n + c]);
        return v;
    }
    void renderSeconds(double s) { render(static_cast<uint64_t>(std::llround(s * rate()))); }

    /// Commits and waits, so the swap lands at the current sample.
    CommitReport commit() {
        CommitReport report;
        const uint64_t seq = engine->commit([&report](const CommitReport& r) { report = r; });
        REQUIRE(backend->waitForCommit(seq, 60'000));
        return report;
    }

    /// Drives the block boundary until no faster tier is on its way (tiered compiles), so that a
    /// measurement starts with nothing compiling in the background.
    void settleTiers(double timeoutMs = 60'000) {
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(timeoutMs);
        while (engine->status().optimizing && std::chrono::steady_clock::now() < deadline) {
            engine->audioThreadService();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        REQUIRE_FALSE(engine->status().optimizing);
    }

    /// Applies patch-file text line by line (a commit line commits and must succeed).
    void apply(const std::string& text) {
        auto lines = parsePatchText(text);
        REQUIRE(lines.ok());
        for (const PatchLine& line : *lines) {
            auto cmd = decodeCommand(line.address, line.args);
            REQUIRE(cmd.ok());
            if (std::holds_alternative<CommitCommand>(*cmd)) {
                CommitReport r = commit();
                INFO("line " << line.line << ": " << r.reason);
                REQUIRE(r.ok);
                continue;
            }
            Status s = engine->apply(*cmd);
            INFO("line " << line.line << ": " << (s.ok() ? std::string() : s.message()));
            REQUIRE(s.ok());
        }
    }

    std::vector<float> slice(size_t from, size_t to) const {
        return std::vector<float>(out.begin() + static_cast<std::ptrdiff_t>(from),
                                  out.begin() +
                                      static_cast<std::ptrdiff_t>(std::min(to, out.size())));
    }

    std::unique_ptr<Engine> engine;
    std::unique_ptr<OfflineBackend> backend;
    std::vector<float> out;
};

/// Resident set size in bytes (Linux).
inline size_t residentBytes() {
    std::ifstream f("/proc/self/statm");
    size_t pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * 4096;
}

} // namespace chronus::test

// ---- child processes (serve, jackd) ----------------------------------------------------------

extern char** environ;

namespace chronus::test {

/// Starts `argv` with stdout and stderr going to `logPath`; returns its pid (or -1).
inline pid_t spawnProcess(const std::vector<std::string>& argv, const std::string& logPath) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/// Waits for `pid` up to `seconds`; its exit code, or -1 if it had to be killed (or died of a
/// signal).
inline int waitExit(pid_t pid, double seconds) {
    for (int i = 0; i < int(seconds * 100); ++i) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(10'000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
}

inline std::string readText(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

inline std::string tempPath(const std::string& stem, const std::string& ext) {
    return fmt::format("/tmp/chronus_{}_{}{}", stem, getpid(), ext);
}

} // namespace chronus::test
