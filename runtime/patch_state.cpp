#include "runtime/patch_state.h"

#include "runtime/engine.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace chronus {

namespace {

/// After a failed write, how long the writer waits before trying again (a commit does at once).
constexpr double kRetryMs = 1000;

double nowMs() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string errnoText(int e) {
    return std::strerror(e);
}

/// What sits at `path`, for a message: "a directory", "a symbolic link", ...
const char* kindOf(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISFIFO(m)) return "a named pipe";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    return "not a regular file";
}

/// The whole file at `path`, read without following a symbolic link; nothing if it does not exist.
Expected<std::optional<std::string>> readRegularFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        const int e = errno;
        if (e == ENOENT) return std::optional<std::string>{};
        if (e == ELOOP)
            return makeError("state file '{}' is a symbolic link; give the file itself", path);
        return makeError("cannot read state file '{}': {}", path, errnoText(e));
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const mode_t mode = st.st_mode;
        ::close(fd);
        return makeError("state file '{}' is {}, not a file", path, kindOf(mode));
    }
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            return makeError("cannot read state file '{}': {}", path, errnoText(e));
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return std::optional<std::string>(std::move(text));
}

} // namespace

Status checkStatePath(const std::string& path) {
    if (path.empty()) return makeError("--state needs a file name");
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return makeError("--state '{}' is {}; give the name of a file (it is created if it "
                             "does not exist)",
                             path, kindOf(st.st_mode));
    } else if (errno != ENOENT) {
        return makeError("--state '{}': {}", path, errnoText(errno));
    }
    const std::string dir = directoryOf(path);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return makeError("--state '{}': directory '{}' does not exist", path, dir);
    if (::access(dir.c_str(), W_OK) != 0)
        return makeError("--state '{}': directory '{}' is not writable ({})", path, dir,
                         errnoText(errno));
    return {};
}

Expected<std::optional<PatchScript>> readStateFile(const std::string& path) {
    auto file = readRegularFile(path);
    if (!file) return file.error();
    if (!*file) return std::optional<PatchScript>{};
    const std::string& text = **file;
    // A file this version wrote says so on its first line, and is whole only with its last.
    if (text.starts_with(kStateHeader) && !text.ends_with(kStateFooter))
        return makeError("{}: the file stops before its last line '{}': it was cut short, so it "
                         "does not hold the whole patch",
                         path, kStateFooter.substr(0, kStateFooter.size() - 1));
    auto lines = parsePatchText(text, path);
    if (!lines) return lines.error();
    auto script = checkPatch(*lines, path);
    if (!script) return script.error();
    return std::optional<PatchScript>(script.take());
}

Expected<std::string> setAsideStateFile(const std::string& path) {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    for (int n = 0; n < 100; ++n) {
        const std::string aside = n == 0 ? fmt::format("{}.bad-{}", path, stamp)
                                         : fmt::format("{}.bad-{}-{}", path, stamp, n);
        // link() never replaces an existing name; then the old name goes.
        if (::link(path.c_str(), aside.c_str()) == 0) {
            if (::unlink(path.c_str()) != 0)
                return makeError("cannot set '{}' aside: {}", path, errnoText(errno));
            return aside;
        }
        if (errno != EEXIST)
            return makeError("cannot set '{}' aside as '{}': {}", path, aside, errnoText(errno));
    }
    return makeError("cannot set '{}' aside: too many files named {}.bad-*", path, path);
}

// ---- PatchStateWriter ---------------------------------------------------------------------------

Expected<std::unique_ptr<PatchStateWriter>>
PatchStateWriter::start(Engine& engine, std::string path, PatchStateOptions options) {
    if (Status s = checkStatePath(path); !s) return s.error();
    removeStaleTemporaries(path);
    std::unique_ptr<PatchStateWriter> w(new PatchStateWriter(engine, std::move(path), options));
    w->thread_ = std::thread([p = w.get()] { p->run(); });
    // Each commit is written on the engine's compiler thread before it is reported; a failure
    // goes into its report.
    engine.setSwapSaver([p = w.get()](uint64_t) { return p->step(true); });
    return w;
}

PatchStateWriter::PatchStateWriter(Engine& engine, std::string path, PatchStateOptions options)
    : engine_(engine), path_(std::move(path)), opts_(options) {}

PatchStateWriter::~PatchStateWriter() {
    engine_.setSwapSaver({});
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    (void)step(true); // what changed within the last debounce interval
}

void PatchStateWriter::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        wake_.wait_for(lock, std::chrono::duration<double, std::milli>(opts_.pollMs));
        if (stop_) break;
        lock.unlock();
        (void)step(false);
        lock.lock();
    }
}

Status PatchStateWriter::step(bool force) {
    std::lock_guard lock(writeMutex_);        // the commit observer and the writer thread, in turn
    const EngineStatus st = engine_.status(); // before dump(): a later change is seen next time
    if (st.commits == 0) return {};           // nothing committed: keep whatever file is there
    if (st.changes == writtenChanges_ && st.commits == writtenCommits_) return {};
    const bool newCommit = st.commits != writtenCommits_;
    if (!force && !newCommit && nowMs() - lastWriteMs_ < opts_.debounceMs) return {};
    // A disk that is full stays so for a while: retried once a second, and at each commit.
    if (!force && failing_ && nowMs() - lastFailMs_ < kRetryMs) return {};
    std::string text = fmt::format("{}{}{}", kStateHeader, engine_.dump(), kStateFooter);
    if (text != writtenText_) {
        if (Status s = writeFileAtomically(path_, text); !s) {
            // Reported once per failure streak; retried at the next poll.
            failed_.fetch_add(1, std::memory_order_relaxed);
            if (!failing_) fmt::print(stderr, "chronus serve: --state: {}\n", s.message());
            failing_ = true;
            lastFailMs_ = nowMs();
            return s;
        }
        if (failing_) fmt::print(stderr, "chronus serve: --state: '{}' written again\n", path_);
        failing_ = false;
        writtenText_ = std::move(text);
        writes_.fetch_add(1, std::memory_order_relaxed);
    }
    writtenChanges_ = st.changes;
    writtenCommits_ = st.commits;
    lastWriteMs_ = nowMs();
    return {};
}

} // namespace chronus
