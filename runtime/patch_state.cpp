#include "runtime/patch_state.h"

#include "runtime/engine.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace chronus {

namespace {

constexpr std::string_view kHeader =
    "# chronus serve --state: the committed patch and its parameter values\n";

double nowMs() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string errnoText() {
    return std::strerror(errno);
}

/// The directory holding `path` ("." for a bare name).
std::string directoryOf(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    return dir.empty() ? std::string(".") : dir;
}

Status writeAll(int fd, std::string_view text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return makeError("{}", errnoText());
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return {};
}

Status fsyncDirectory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return makeError("cannot open directory '{}': {}", dir, errnoText());
    const int rc = ::fsync(fd);
    const std::string why = rc != 0 ? errnoText() : std::string();
    ::close(fd);
    if (rc != 0) return makeError("cannot sync directory '{}': {}", dir, why);
    return {};
}

} // namespace

Status writeFileAtomically(const std::string& path, std::string_view text) {
    const std::filesystem::path p(path);
    const std::string dir = directoryOf(path);
    const std::string tmp = (std::filesystem::path(dir) / ("." + p.filename().string() + ".tmp"));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return makeError("cannot write '{}': {}", tmp, errnoText());
    Status s = writeAll(fd, text);
    if (s.ok() && ::fsync(fd) != 0) s = makeError("{}", errnoText());
    if (::close(fd) != 0 && s.ok()) s = makeError("{}", errnoText());
    if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = makeError("{}", errnoText());
    if (!s) {
        ::unlink(tmp.c_str());
        return makeError("cannot write '{}': {}", path, s.message());
    }
    // The rename is durable once the directory entry is.
    return fsyncDirectory(dir);
}

Expected<std::optional<PatchScript>> readStateFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return std::optional<PatchScript>{};
        return makeError("cannot read state file '{}': {}", path, errnoText());
    }
    std::stringstream text;
    text << in.rdbuf();
    auto lines = parsePatchText(text.str(), path);
    if (!lines) return lines.error();
    auto script = checkPatch(*lines, path);
    if (!script) return script.error();
    return std::optional<PatchScript>(script.take());
}

// ---- PatchStateWriter ---------------------------------------------------------------------------

Expected<std::unique_ptr<PatchStateWriter>>
PatchStateWriter::start(Engine& engine, std::string path, PatchStateOptions options) {
    if (path.empty()) return makeError("--state needs a file name");
    const std::string dir = directoryOf(path);
    struct stat st{};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return makeError("state file '{}': directory '{}' does not exist", path, dir);
    if (::access(dir.c_str(), W_OK) != 0)
        return makeError("state file '{}': directory '{}' is not writable", path, dir);
    std::unique_ptr<PatchStateWriter> w(new PatchStateWriter(engine, std::move(path), options));
    w->thread_ = std::thread([p = w.get()] { p->run(); });
    // Each commit is written on the engine's compiler thread before it is reported.
    engine.setSwapObserver([p = w.get()](uint64_t) { p->step(true); });
    return w;
}

PatchStateWriter::PatchStateWriter(Engine& engine, std::string path, PatchStateOptions options)
    : engine_(engine), path_(std::move(path)), opts_(options) {}

PatchStateWriter::~PatchStateWriter() {
    engine_.setSwapObserver({});
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    step(true); // what changed within the last debounce interval
}

void PatchStateWriter::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        wake_.wait_for(lock, std::chrono::duration<double, std::milli>(opts_.pollMs));
        if (stop_) break;
        lock.unlock();
        step(false);
        lock.lock();
    }
}

void PatchStateWriter::step(bool force) {
    std::lock_guard lock(writeMutex_);        // the commit observer and the writer thread, in turn
    const EngineStatus st = engine_.status(); // before dump(): a later change is seen next time
    if (st.commits == 0) return;              // nothing committed: keep whatever file is there
    if (st.changes == writtenChanges_ && st.commits == writtenCommits_) return;
    const bool newCommit = st.commits != writtenCommits_;
    if (!force && !newCommit && nowMs() - lastWriteMs_ < opts_.debounceMs) return;
    std::string text = std::string(kHeader) + engine_.dump();
    if (text != writtenText_) {
        if (Status s = writeFileAtomically(path_, text); !s) {
            // Reported once per failure streak; retried at the next poll.
            failed_.fetch_add(1, std::memory_order_relaxed);
            if (!failing_) fmt::print(stderr, "chronus serve: --state: {}\n", s.message());
            failing_ = true;
            return;
        }
        failing_ = false;
        writtenText_ = std::move(text);
        writes_.fetch_add(1, std::memory_order_relaxed);
    }
    writtenChanges_ = st.changes;
    writtenCommits_ = st.commits;
    lastWriteMs_ = nowMs();
}

} // namespace chronus
