// The reads a client makes of the control side's data: read-back (`/mod/<id>/<param>` with no
// value), `/patch/list [playing|pending]` and `/modules`. Like scsynth's /c_get -> /c_set, a
// read-back's reply is the message that would set the value back. Listings are text, cut into
// chunks as /patch/dump is (dump_chunks.h), then one terminating message with the totals, so a
// client knows it has everything. The dispatcher answers these alone (not inside a bundle).
#pragma once

#include "base/expected.h"
#include "osc/osc_message.h"
#include "osc/osc_packet.h"
#include "runtime/engine.h"
#include "runtime/module_table.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chronus::osc {

/// True for a message answered here: a well-formed `/mod/<id>/<param>` with no argument,
/// `/patch/list` or `/modules` (their arguments are checked when answered).
bool isQueryMessage(const InMessage& m);

/// `/mod/<id>/<param>`'s id and parameter; nothing for any other address.
std::optional<std::pair<std::string, std::string>> modAddress(const std::string& address);

/// A read-back's arguments, as a set takes them: a choice parameter's value by name (what
/// /patch/dump writes), any other its number.
std::vector<OscValue> readBackArgs(const ParamReading& r);

/// `/patch/list`'s optional argument: `playing` (the default) or `pending`.
Expected<ListedPatch> listedPatch(const std::vector<PatchArg>& args);
const char* listedPatchName(ListedPatch which);

/// The listing as patch-file lines, `/patch/create id type [arg]` then `/patch/connect src dst`:
/// the structure without values (replayed, it builds the same graph).
std::string listingText(const PatchListing& listing);

/// The module table as tab-separated lines, one per fact (README, "/modules"):
///   type     TYPE SUMMARY ALIASES
///   create   TYPE NAME DEFAULT MIN MAX UNIT WHOLE
///   input    TYPE NAME UNCONNECTED_VALUE
///   output   TYPE NAME DELAYED
///   param    TYPE NAME DEFAULT MIN MAX UNIT SMOOTHED CLICK_SAFE CHOICES
///   variadic TYPE INPUT_PREFIX PARAM_PREFIX DEFAULT MIN MAX UNIT SMOOTHED CLICK_SAFE CHOICES
/// Flags are 1 or 0; lists (aliases, choices) are comma-separated, choices in value order (a
/// choice's index is its place in the list); an empty field is empty.
std::string moduleTableText(const std::vector<ModuleTypeInfo>& table);

} // namespace chronus::osc
