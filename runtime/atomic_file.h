// Files written whole or not at all, and never through a symbolic link: `serve --state` and
// `/patch/ir` write with these, so a crash at any instant leaves the old file or the new one, and
// nothing planted in the directory (a symlink at a temporary name, say) redirects a write outside.
#pragma once

#include "base/expected.h"

#include <string>
#include <string_view>

namespace chronus {

/// Any control thread: writes `text` to `path` atomically. A new temporary file beside it
/// (`.NAME.<pid>.<n>.tmp`) is created with O_CREAT|O_EXCL|O_NOFOLLOW, so nothing that already
/// exists at that name (a file, a symlink) is ever opened; it is written, fsynced and renamed over
/// `path` (a symlink at `path` is replaced, never written through), then the directory is
/// fsynced. On failure (a full disk, a directory at `path`, a read-only directory) `path` is
/// untouched, the temporary file removed, and the error says which step failed and why.
Status writeFileAtomically(const std::string& path, std::string_view text);

/// Control side: removes the temporary files a process killed inside writeFileAtomically left
/// beside `path` (`.NAME.*.tmp`); symlinks among them are removed, never followed.
void removeStaleTemporaries(const std::string& path);

/// The directory holding `path` ("." for a bare name).
std::string directoryOf(const std::string& path);

} // namespace chronus
