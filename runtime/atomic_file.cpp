#include "runtime/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace chronus {

namespace {

std::string errnoText(int e) {
    return std::strerror(e);
}

Status writeAll(int fd, std::string_view text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return makeError("{}", errnoText(errno));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    return {};
}

Status fsyncDirectory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return makeError("cannot open directory '{}': {}", dir, errnoText(errno));
    const int rc = ::fsync(fd);
    const int e = errno;
    ::close(fd);
    if (rc != 0) return makeError("cannot sync directory '{}': {}", dir, errnoText(e));
    return {};
}

/// `.NAME.` : the prefix of every temporary name of `path`.
std::string temporaryPrefix(const std::string& path) {
    return "." + std::filesystem::path(path).filename().string() + ".";
}

/// Temporary names are unique within the process; the pid keeps two processes apart.
std::atomic<uint64_t> gTemporaryCount{0};

} // namespace

std::string directoryOf(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    return dir.empty() ? std::string(".") : dir;
}

Status writeFileAtomically(const std::string& path, std::string_view text) {
    const std::string dir = directoryOf(path);
    const std::string prefix = (std::filesystem::path(dir) / temporaryPrefix(path)).string();
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 64 && fd < 0; ++attempt) {
        tmp = fmt::format("{}{}.{}.tmp", prefix, ::getpid(), gTemporaryCount.fetch_add(1));
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return makeError("cannot write '{}': cannot create '{}': {}", path, tmp,
                             errnoText(errno));
    }
    if (fd < 0) return makeError("cannot write '{}': every temporary name is taken", path);
    Status s = writeAll(fd, text);
    if (s.ok() && ::fsync(fd) != 0) s = makeError("{}", errnoText(errno));
    if (::close(fd) != 0 && s.ok()) s = makeError("{}", errnoText(errno));
    if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
        s = makeError("cannot rename over it: {}", errnoText(errno));
    if (!s) {
        ::unlink(tmp.c_str());
        return makeError("cannot write '{}': {}", path, s.message());
    }
    // The rename is durable once the directory entry is.
    if (Status d = fsyncDirectory(dir); !d)
        return makeError("cannot write '{}': {}", path, d.message());
    return {};
}

void removeStaleTemporaries(const std::string& path) {
    const std::string dir = directoryOf(path);
    const std::string prefix = temporaryPrefix(path);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (!name.starts_with(prefix) || !name.ends_with(".tmp")) continue;
        // unlink removes the name itself: a symlink goes, its target stays.
        (void)::unlinkat(::dirfd(d), e->d_name, 0);
    }
    ::closedir(d);
}

} // namespace chronus
