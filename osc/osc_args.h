// Type checking of OSC arguments: what liblo decoded becomes the PatchArgs that decodeCommand
// takes, or an error naming the argument. Accepted: int32 'i', int64 'h', float 'f', double 'd'
// (finite, within float range) and string 's' / symbol 'S' (at most kMaxStringBytes). Everything
// else (blobs, arrays, chars, MIDI, timetags, true/false, nil, infinitum) is refused by name.
#pragma once

#include "base/expected.h"
#include "runtime/patch_file.h"

#include <lo/lo.h>
#include <vector>

namespace chronus::osc {

/// `types` has `argc` type characters; `argv` the arguments liblo decoded for them.
Expected<std::vector<PatchArg>> convertArgs(const char* types, lo_arg** argv, int argc);

/// Human name of an OSC type tag character ("blob", "int32", ...).
const char* oscTypeName(char type);

} // namespace chronus::osc
