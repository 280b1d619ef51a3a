// object_cache.cpp: the disk cache's entries (format, checks), its atomic writes and its bound.
#include "compiler/jit/object_cache.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <llvm/ADT/ArrayRef.h>
#include <llvm/Support/SHA256.h>
#include <llvm/Support/xxhash.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus::jit {

namespace {

// ---- the entry format ---------------------------------------------------------------------------
//
//   offset  size  field
//   0       8     magic "CHRNSHP\n"
//   8       4     format version (kFormat)
//   12      4     metadata length M
//   16      8     object length N
//   24      32    SHA-256 of the key text
//   56      8     xxh3-64 of the M + N bytes that follow
//   64      M     metadata: key, entry name, wide name, why not wide (each u32 length + bytes),
//                 lanes (u32), lanes tried (u32)
//   64 + M  N     the object file
// Integers little-endian (the cache never leaves the machine that wrote it; the CPU is in the key).

constexpr char kMagic[8] = {'C', 'H', 'R', 'N', 'S', 'H', 'P', '\n'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderBytes = 64;
constexpr uint64_t kMaxEntryBytes = uint64_t{256} << 20;
/// A temporary file this old belongs to a writer that died: trim() removes it, and a write that
/// finds it in its way removes it first.
constexpr int64_t kStaleTempSeconds = 600;

using Digest = std::array<uint8_t, 32>;

Digest keyDigest(const std::string& key) {
    return llvm::SHA256::hash(
        llvm::ArrayRef(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
}

uint64_t checksum(const char* data, size_t size) {
    return llvm::xxh3_64bits(llvm::ArrayRef(reinterpret_cast<const uint8_t*>(data), size));
}

template <class T>
void put(std::string& out, T v) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    out.append(bytes, sizeof(T));
}

void putText(std::string& out, const std::string& s) {
    put(out, static_cast<uint32_t>(s.size()));
    out += s;
}

/// Reads what put() wrote; every read is bounds-checked and `ok` goes false past the end.
class Reader {
public:
    Reader(const char* data, size_t size) : p_(data), end_(data + size) {}
    template <class T>
    T get() {
        T v{};
        if (static_cast<size_t>(end_ - p_) < sizeof(T)) {
            ok = false;
            return v;
        }
        std::memcpy(&v, p_, sizeof(T));
        p_ += sizeof(T);
        return v;
    }
    std::string text() {
        const auto n = get<uint32_t>();
        if (!ok || static_cast<size_t>(end_ - p_) < n) {
            ok = false;
            return {};
        }
        std::string s(p_, n);
        p_ += n;
        return s;
    }
    bool atEnd() const { return p_ == end_; }
    bool ok = true;

private:
    const char* p_;
    const char* end_;
};

std::string encode(const CachedObject& e) {
    std::string meta;
    putText(meta, e.key);
    putText(meta, e.entryName);
    putText(meta, e.wideName);
    putText(meta, e.notWide);
    put(meta, e.lanes);
    put(meta, e.lanesTried);
    std::string out(kMagic, sizeof(kMagic));
    put(out, kFormat);
    put(out, static_cast<uint32_t>(meta.size()));
    put(out, static_cast<uint64_t>(e.object.size()));
    const Digest d = keyDigest(e.key);
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
    std::string body = meta + e.object;
    put(out, checksum(body.data(), body.size()));
    out += body;
    return out;
}

/// The entry in `bytes` if it is whole, of this format, for `key`, and intact; else why not.
Expected<CachedObject> decode(const std::string& bytes, const std::string& key) {
    if (bytes.size() < kHeaderBytes) return makeError("truncated header");
    if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) return makeError("not an entry");
    Reader h(bytes.data() + sizeof(kMagic), kHeaderBytes - sizeof(kMagic));
    const auto format = h.get<uint32_t>();
    const auto metaBytes = h.get<uint32_t>();
    const auto objectBytes = h.get<uint64_t>();
    if (format != kFormat) return makeError("format {} (this build reads {})", format, kFormat);
    if (uint64_t{metaBytes} + objectBytes != bytes.size() - kHeaderBytes)
        return makeError("length: {} bytes, the header says {}", bytes.size(),
                         kHeaderBytes + metaBytes + objectBytes);
    const Digest want = keyDigest(key);
    if (std::memcmp(bytes.data() + 24, want.data(), want.size()) != 0)
        return makeError("another key's entry");
    uint64_t sum = 0;
    std::memcpy(&sum, bytes.data() + 56, sizeof(sum));
    if (sum != checksum(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes))
        return makeError("checksum");
    Reader m(bytes.data() + kHeaderBytes, metaBytes);
    CachedObject e;
    e.key = m.text();
    e.entryName = m.text();
    e.wideName = m.text();
    e.notWide = m.text();
    e.lanes = m.get<uint32_t>();
    e.lanesTried = m.get<uint32_t>();
    if (!m.ok || !m.atEnd()) return makeError("metadata");
    if (e.key != key) return makeError("another key's entry"); // a SHA-256 collision, or forged
    if (e.entryName.empty() || (e.wideName.empty() != (e.lanes == 0))) return makeError("metadata");
    e.object = bytes.substr(kHeaderBytes + metaBytes);
    if (e.object.size() < 4 || e.object.compare(0, 4,
                                                "\x7f"
                                                "ELF") != 0)
        return makeError("not an object file");
    return e;
}

std::string errnoText() {
    return std::strerror(errno);
}

Status writeAll(int fd, const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return makeError("{}", errnoText());
        done += static_cast<size_t>(n);
    }
    return {};
}

Expected<std::string> readAll(int fd, size_t size) {
    std::string bytes(size, '\0');
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, bytes.data() + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return makeError("{}", errnoText());
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    if (done != size) return makeError("truncated while read");
    return bytes;
}

int64_t nowSeconds() {
    struct timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

bool endsWith(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

} // namespace

// ---- the cache ----------------------------------------------------------------------------------

std::string keyHash(const std::string& key) {
    const Digest d = keyDigest(key);
    std::string hex;
    for (size_t i = 0; i < 16; ++i) hex += fmt::format("{:02x}", d[i]);
    return hex;
}

std::string ObjectCache::fileName(const std::string& key) {
    return keyHash(key) + ".chs";
}

Expected<std::unique_ptr<ObjectCache>> ObjectCache::open(const DiskCacheOptions& options) {
    const std::string& dir = options.directory;
    if (dir.empty()) return makeError("the code cache has no directory");
    // Every missing parent too (~/.cache may not exist yet), private to this user.
    for (size_t at = dir.find('/', 1); at != std::string::npos; at = dir.find('/', at + 1))
        (void)::mkdir(dir.substr(0, at).c_str(), 0700);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return makeError("cannot create the code cache directory '{}': {}", dir, errnoText());
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return makeError("the code cache directory '{}' cannot be opened: {}", dir, errnoText());
    if (::faccessat(fd, ".", W_OK | X_OK, 0) != 0) {
        ::close(fd);
        return makeError("the code cache directory '{}' is not writable", dir);
    }
    return std::unique_ptr<ObjectCache>(new ObjectCache(dir, fd, options.maxBytes));
}

ObjectCache::ObjectCache(std::string dir, int dirFd, uint64_t maxBytes)
    : dir_(std::move(dir)), dirFd_(dirFd), maxBytes_(maxBytes) {
    stats_.directory = dir_;
    stats_.maxBytes = maxBytes_;
}

ObjectCache::~ObjectCache() {
    flush();
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
    ::close(dirFd_);
}

std::optional<CachedObject> ObjectCache::load(const std::string& key) {
    const std::string name = fileName(key);
    auto reject = [&](const std::string& why) -> std::optional<CachedObject> {
        // Removed so that the compile that follows writes a good one; removing a symlink
        // removes the link, never what it points to.
        (void)::unlinkat(dirFd_, name.c_str(), 0);
        std::lock_guard lock(mutex_);
        ++stats_.rejected;
        stats_.lastRejection = fmt::format("{}: {}", name, why);
        return std::nullopt;
    };
    const int fd = ::openat(dirFd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            std::lock_guard lock(mutex_);
            ++stats_.misses;
            return std::nullopt;
        }
        return reject(errno == ELOOP ? "a symlink" : errnoText());
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        static_cast<uint64_t>(st.st_size) > kMaxEntryBytes) {
        ::close(fd);
        return reject("not a regular file of a plausible size");
    }
    auto bytes = readAll(fd, static_cast<size_t>(st.st_size));
    if (!bytes) {
        ::close(fd);
        return reject(bytes.error().message);
    }
    auto entry = decode(*bytes, key);
    if (!entry) {
        ::close(fd);
        return reject(entry.error().message);
    }
    // The access time is the LRU order (set here: relatime and noatime mounts do not).
    const struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    (void)::futimens(fd, times);
    ::close(fd);
    std::lock_guard lock(mutex_);
    ++stats_.hits;
    return entry.take();
}

Status ObjectCache::write(const CachedObject& entry) {
    const std::string name = fileName(entry.key);
    const std::string tmp = tempName(entry.key);
    const std::string bytes = encode(entry);
    auto create = [&] {
        return ::openat(dirFd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0600);
    };
    int fd = create();
    if (fd < 0 && errno == EEXIST) {
        // Another writer's, or one left by a writer that died (then old). Anything else there,
        // a symlink above all, is left alone and nothing is written.
        struct stat st{};
        if (::fstatat(dirFd_, tmp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            nowSeconds() - st.st_mtime > kStaleTempSeconds &&
            ::unlinkat(dirFd_, tmp.c_str(), 0) == 0)
            fd = create();
        else
            errno = EEXIST;
    }
    if (fd < 0)
        return makeError("cannot create '{}/{}': {}", dir_, tmp,
                         errno == EEXIST ? "it exists (another writer, or planted)" : errnoText());
    Status s = writeAll(fd, bytes);
    if (s && ::fsync(fd) != 0) s = makeError("fsync: {}", errnoText());
    if (::close(fd) != 0 && s) s = makeError("close: {}", errnoText());
    if (s && ::renameat(dirFd_, tmp.c_str(), dirFd_, name.c_str()) != 0)
        s = makeError("rename: {}", errnoText());
    if (!s) {
        (void)::unlinkat(dirFd_, tmp.c_str(), 0);
        return makeError("cannot write '{}/{}': {}", dir_, name, s.message());
    }
    return {};
}

void ObjectCache::trim() {
    const int fd = ::dup(dirFd_);
    if (fd < 0) return;
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        ::close(fd);
        return;
    }
    struct Item {
        int64_t atime;
        uint64_t bytes;
        std::string name;
    };
    std::vector<Item> entries;
    uint64_t total = 0;
    const int64_t now = nowSeconds();
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        const bool entry = endsWith(name, ".chs"), temp = endsWith(name, ".chs.tmp");
        if (!entry && !temp) continue;
        struct stat st{};
        if (::fstatat(dirFd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (temp) {
            if (now - st.st_mtime > kStaleTempSeconds) (void)::unlinkat(dirFd_, name.c_str(), 0);
            continue;
        }
        entries.push_back({st.st_atime, static_cast<uint64_t>(st.st_size), name});
        total += static_cast<uint64_t>(st.st_size);
    }
    ::closedir(d);
    uint64_t removed = 0;
    if (total > maxBytes_) {
        std::sort(entries.begin(), entries.end(),
                  [](const Item& a, const Item& b) { return a.atime < b.atime; });
        for (const Item& e : entries) {
            if (total <= maxBytes_ / 4 * 3) break;
            if (::unlinkat(dirFd_, e.name.c_str(), 0) == 0) {
                total -= e.bytes;
                ++removed;
            }
        }
    }
    std::lock_guard lock(mutex_);
    stats_.evicted += removed;
    stats_.bytes = total;
}

void ObjectCache::store(CachedObject entry) {
    {
        std::lock_guard lock(mutex_);
        if (queuedBytes_ + entry.object.size() > kMaxQueuedBytes) {
            ++stats_.storeFailures;
            stats_.lastStoreFailure = "too much waiting to be written";
            return;
        }
        queuedBytes_ += entry.object.size();
        queue_.push_back(std::move(entry));
        if (!writer_.joinable()) writer_ = std::thread([this] { writerRun(); });
    }
    wake_.notify_one();
}

void ObjectCache::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

void ObjectCache::writerRun() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return; // stopping, nothing left
        CachedObject entry = std::move(queue_.front());
        queue_.pop_front();
        queuedBytes_ -= entry.object.size();
        writing_ = true;
        lock.unlock();
        writeQueued(entry);
        lock.lock();
        writing_ = false;
        if (queue_.empty()) idle_.notify_all();
    }
}

void ObjectCache::writeQueued(const CachedObject& entry) {
    Status s = write(entry);
    bool trimNow = false;
    {
        std::lock_guard lock(mutex_);
        if (s) {
            ++stats_.stored;
            writtenSinceTrim_ += entry.object.size();
        } else {
            ++stats_.storeFailures;
            stats_.lastStoreFailure = s.message();
        }
        // The first write of a process, then after every sixteenth of the limit written.
        trimNow = s && (!trimmedOnce_ || writtenSinceTrim_ > maxBytes_ / 16);
        if (trimNow) {
            trimmedOnce_ = true;
            writtenSinceTrim_ = 0;
        }
    }
    if (trimNow) trim();
}

DiskCacheStats ObjectCache::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

// ---- the process's cache ------------------------------------------------------------------------

namespace {

/// Replaced caches are kept (never freed): a compile on another thread may still use one.
std::atomic<ObjectCache*> gCache{nullptr};

} // namespace

ObjectCache* processObjectCache() {
    return gCache.load(std::memory_order_acquire);
}

} // namespace chronus::jit

namespace chronus {

std::string defaultDiskCacheDirectory() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/')
        return std::string(xdg) + "/chronus";
    if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/')
        return std::string(home) + "/.cache/chronus";
    return {};
}

Status setDiskCache(const DiskCacheOptions& options) {
    if (options.directory.empty()) {
        if (jit::ObjectCache* old = jit::gCache.exchange(nullptr)) old->flush();
        return {};
    }
    auto cache = jit::ObjectCache::open(options);
    if (!cache) return cache.error();
    if (jit::ObjectCache* old = jit::gCache.exchange(cache.take().release())) old->flush();
    return {};
}

void flushDiskCache() {
    if (jit::ObjectCache* c = jit::processObjectCache()) c->flush();
}

DiskCacheStats diskCacheStats() {
    jit::ObjectCache* c = jit::processObjectCache();
    return c != nullptr ? c->stats() : DiskCacheStats{};
}

} // namespace chronus
