#include "osc/osc_args.h"

#include "osc/osc_limits.h"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace chronus::osc {

const char* oscTypeName(char type) {
    switch (type) {
    case LO_INT32:
        return "int32";
    case LO_INT64:
        return "int64";
    case LO_FLOAT:
        return "float";
    case LO_DOUBLE:
        return "double";
    case LO_STRING:
        return "string";
    case LO_SYMBOL:
        return "symbol";
    case LO_BLOB:
        return "blob";
    case LO_CHAR:
        return "char";
    case LO_MIDI:
        return "MIDI";
    case LO_TIMETAG:
        return "timetag";
    case LO_TRUE:
        return "true";
    case LO_FALSE:
        return "false";
    case LO_NIL:
        return "nil";
    case LO_INFINITUM:
        return "infinitum";
    case '[':
    case ']':
        return "array";
    default:
        return "unknown";
    }
}

namespace {

Expected<PatchArg> convertNumber(double v, size_t index, char type) {
    if (!std::isfinite(v))
        return makeError("argument {} ({}) must be finite, got {}", index + 1, oscTypeName(type),
                         v);
    if (std::fabs(v) > static_cast<double>(FLT_MAX))
        return makeError("argument {} ({}) is out of range: {}", index + 1, oscTypeName(type), v);
    auto f = patchNumber(v); // a whole number stays the one sent, or is refused
    if (!f)
        return makeError("argument {} ({}): {}", index + 1, oscTypeName(type), f.error().message);
    return PatchArg{*f};
}

/// An argument's value, read byte-wise: liblo's argv points into the message data, which OSC
/// aligns to 4 bytes only, so `lo_arg` (8-byte aligned for its int64 and double members) must not
/// be dereferenced there (undefined behaviour, found by fuzz/target_osc.cpp under UBSan).
template <class T>
T argValue(const lo_arg* a) {
    T v;
    std::memcpy(&v, reinterpret_cast<const char*>(a), sizeof v);
    return v;
}

} // namespace

Expected<std::vector<PatchArg>> convertArgs(const char* types, lo_arg** argv, int argc) {
    std::vector<PatchArg> out;
    out.reserve(static_cast<size_t>(argc));
    for (int i = 0; i < argc; ++i) {
        const auto index = static_cast<size_t>(i);
        const char type = types[i];
        const lo_arg* a = argv[i];
        switch (type) {
        case LO_INT32:
        case LO_INT64: {
            auto v = convertNumber(type == LO_INT32 ? static_cast<double>(argValue<int32_t>(a))
                                                    : static_cast<double>(argValue<int64_t>(a)),
                                   index, type);
            if (!v) return v.error();
            out.push_back(v.take());
            break;
        }
        case LO_FLOAT:
        case LO_DOUBLE: {
            auto v = convertNumber(type == LO_FLOAT ? static_cast<double>(argValue<float>(a))
                                                    : argValue<double>(a),
                                   index, type);
            if (!v) return v.error();
            out.push_back(v.take());
            break;
        }
        case LO_STRING:
        case LO_SYMBOL: {
            const char* s = reinterpret_cast<const char*>(a);
            const size_t n = strnlen(s, kMaxStringBytes + 1);
            if (n > kMaxStringBytes)
                return makeError("argument {} ({}) is longer than {} bytes", index + 1,
                                 oscTypeName(type), kMaxStringBytes);
            out.emplace_back(std::string(s, n));
            break;
        }
        default:
            return makeError("argument {} has OSC type '{}' ({}); only int32, int64, float, double "
                             "and string arguments are accepted",
                             index + 1, type, oscTypeName(type));
        }
    }
    return out;
}

} // namespace chronus::osc
