// Limits the OSC adapter enforces on what it receives and sends. A message over a limit gets an
// /error reply; nothing over a limit is ever stored.
#pragma once

#include <cstddef>

namespace chronus::osc {

/// Longest OSC address and longest string argument accepted, in bytes (without the NUL). Module ids
/// are at most 63 characters, so every valid address fits with room to spare.
inline constexpr std::size_t kMaxStringBytes = 256;

/// Largest datagram read (the UDP maximum is 65,507 bytes).
inline constexpr std::size_t kMaxPacketBytes = 65536;

/// Bundles inside bundles: deeper nesting is refused.
inline constexpr int kMaxBundleDepth = 8;

/// Patch text per /patch/dump reply; chunks end at line boundaries where possible, so each reply
/// stays far below any path MTU-driven fragmentation trouble.
inline constexpr std::size_t kDumpChunkBytes = 1024;

/// A timetag further ahead than this is refused (the engine keeps timed events in memory).
inline constexpr double kMaxScheduleAheadSeconds = 3600;

/// /patch/ir requests waiting for the file-writing thread; more are refused as busy.
inline constexpr std::size_t kMaxQueuedJobs = 16;

/// Receive buffer asked of the kernel (it may grant less: net.core.rmem_max), so that a burst of
/// /mod messages from a fast controller is absorbed rather than dropped.
inline constexpr int kReceiveBufferBytes = 4 << 20;

} // namespace chronus::osc
