// The `/engine/status` reply: its arguments in order, written once for the server (which encodes
// an EngineStatus) and the clients (`chronus send` labels them, `chronus top` shows them).
#pragma once

#include "base/expected.h"
#include "osc/osc_message.h"
#include "runtime/engine.h"

#include <array>
#include <string>
#include <vector>

namespace chronus::osc {

/// The arguments' names, in order (the README's namespace table lists them so).
inline constexpr std::array<const char*, 14> kStatusFields = {
    "sample_rate", "block_frames",    "active_seq",  "callbacks",  "xruns",
    "load_p50",    "load_p99",        "commits",     "failures",   "overruns",
    "load_max",    "sample_position", "guard_trips", "guard_cause"};
/// The numbers among them: all but the last (guard_cause, a string: "none" or what tripped).
inline constexpr std::size_t kStatusNumbers = kStatusFields.size() - 1;

/// Server side: `st` as the reply's arguments (counts saturated at 2^31-1).
std::vector<OscValue> encodeStatus(const EngineStatus& st);

/// Client side: a `/engine/status` reply back into the fields it carries (the rest stay 0).
Expected<EngineStatus> decodeStatus(const OscMessage& reply);

/// "sample_rate 48000, block_frames 256, ...": the reply as a person reads it.
std::string statusText(const OscMessage& reply);

} // namespace chronus::osc
