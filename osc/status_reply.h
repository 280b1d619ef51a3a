// The `/engine/status` reply, labelled: name/value pairs (`sample_rate 48000 block_frames 256
// ...`), written once for the server (which encodes an EngineStatus) and the clients (`chronus
// send` prints them, `chronus top` shows them). A client reads a field by its name, so fields can
// be added without moving any; `/status` keeps scsynth's positional order for SuperCollider's
// tools.
#pragma once

#include "base/expected.h"
#include "osc/osc_message.h"
#include "runtime/engine.h"

#include <array>
#include <string>
#include <vector>

namespace chronus::osc {

/// The fields' names, in the order the pairs come (the README's namespace table lists them so).
inline constexpr std::array<const char*, 14> kStatusFields = {
    "sample_rate", "block_frames",    "active_seq",  "callbacks",  "xruns",
    "load_p50",    "load_p99",        "commits",     "failures",   "overruns",
    "load_max",    "sample_position", "guard_trips", "guard_cause"};
/// The numbers among them: all but the last (guard_cause, a string: "none" or what tripped).
inline constexpr std::size_t kStatusNumbers = kStatusFields.size() - 1;

/// Server side: `st` as the reply's arguments, name then value for each field (counts saturated
/// at 2^31-1; guard_cause a string).
std::vector<OscValue> encodeStatus(const EngineStatus& st);

/// Client side: a `/engine/status` reply back into the fields it carries (the rest stay 0; names
/// it does not know are skipped). Also reads the unlabelled replies of older servers (the values
/// alone, in kStatusFields' order, twelve or more).
Expected<EngineStatus> decodeStatus(const OscMessage& reply);

/// "sample_rate 48000, block_frames 256, ...": the reply as a person reads it (older servers'
/// unlabelled values get their names from kStatusFields).
std::string statusText(const OscMessage& reply);

} // namespace chronus::osc
