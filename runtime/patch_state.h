// `chronus serve --state FILE`: the committed patch, with its current parameter values, kept in a
// file that survives a crash of the engine, and restored from it at start.
//
// Each commit that swaps in is written on the engine's compiler thread before the commit is
// reported (Engine::setSwapSaver): a commit acknowledged over OSC is on disk, and one that could
// not be written (a full disk, a read-only directory, a directory where the file should be) is
// reported as played but not saved (CommitReport::notSaved). A writer thread watches the
// engine's change counter for parameter changes made after it and writes them at most every
// `debounceMs`. Never on the audio thread. Every write is atomic (runtime/atomic_file.h), so a
// crash at any instant leaves FILE holding either the previous patch or the new one, whole.
//
// A file this writes begins with kStateHeader and ends with kStateFooter, so a file cut short (a
// copy interrupted, a disk that lost its tail) is told from a whole one: it does not restore.
// A file that does not restore whole is never overwritten (`serve` stops, or with --state-reset
// sets it aside as FILE.bad-<time> and starts afresh).
#pragma once

#include "base/expected.h"
#include "runtime/atomic_file.h"
#include "runtime/patch_player.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chronus {

class Engine;

/// The first and last lines of a state file this version writes (files without the header, from
/// an older version or written by hand, are read without the footer check).
inline constexpr std::string_view kStateHeader =
    "# chronus serve --state 2: the committed patch and its parameter values, up to '# end'\n";
inline constexpr std::string_view kStateFooter = "# end\n";

/// Control side, before anything plays: `path` is usable as a state file, i.e. absent or a regular
/// file (not a directory, a symbolic link or a device), in a directory that exists and is
/// writable; else why not.
Status checkStatePath(const std::string& path);

/// Any thread: the state file at `path`, checked whole as any patch file is (patch_player.h):
/// nothing if there is no such file; an error if it cannot be read, is not a regular file, was cut
/// short (a header without its footer) or has a bad line (`PATH:LINE: reason`). `serve` plays it
/// through the patch player, applied and committed at start, as it would play `--patch`.
Expected<std::optional<PatchScript>> readStateFile(const std::string& path);

/// Control side: renames a state file that did not restore whole to `PATH.bad-<UTC time>` (never
/// over an existing file) and returns that name.
Expected<std::string> setAsideStateFile(const std::string& path);

struct PatchStateOptions {
    double debounceMs = 200; ///< parameter changes alone: at most one write per this long
    double pollMs = 10;      ///< how often the writer looks at the engine's change counter
};

/// The writer thread of `serve --state`.
class PatchStateWriter {
public:
    /// Control thread: checks `path` (checkStatePath), removes temporary files a killed writer
    /// left beside it and starts the thread. Nothing is written before the engine has a committed
    /// patch, so an existing file is never replaced by an empty one.
    static Expected<std::unique_ptr<PatchStateWriter>> start(Engine& engine, std::string path,
                                                             PatchStateOptions options = {});
    /// Writes what changed since the last write (if anything), then stops the thread.
    ~PatchStateWriter();
    PatchStateWriter(const PatchStateWriter&) = delete;
    PatchStateWriter& operator=(const PatchStateWriter&) = delete;

    uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
    uint64_t failedWrites() const { return failed_.load(std::memory_order_relaxed); }

private:
    PatchStateWriter(Engine& engine, std::string path, PatchStateOptions options);
    void run();
    /// Writes if the engine changed since the last write; `force` ignores the debounce. An error
    /// says why what plays is not on disk.
    Status step(bool force);

    Engine& engine_;
    std::string path_;
    PatchStateOptions opts_;
    std::mutex mutex_; ///< stop_
    std::condition_variable wake_;
    std::mutex writeMutex_; ///< one write at a time, and the fields below
    bool stop_ = false;
    // Under writeMutex_.
    uint64_t writtenChanges_ = 0, writtenCommits_ = 0;
    std::string writtenText_;
    double lastWriteMs_ = -1e12; ///< steady clock, ms
    double lastFailMs_ = -1e12;
    bool failing_ = false; ///< the last write failed (reported once per streak)
    std::atomic<uint64_t> writes_{0}, failed_{0};
    std::thread thread_;
};

} // namespace chronus
