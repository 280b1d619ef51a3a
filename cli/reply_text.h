// Server replies as a person reads them (`chronus send` prints every reply this way).
#pragma once

#include "osc/osc_message.h"

#include <string>

namespace chronus::cli {

/// One line: `/done /patch/create osc1`, `/error /patch/create: unknown module type ...`,
/// `/patch/committed 1 (compile 4.1 ms, prime RMS 0.141)`, `/engine/status sample_rate 48000, ...`.
/// (`/patch/dump` chunks are joined and printed as the patch text instead.)
std::string replyText(const osc::OscMessage& reply);

/// True for replies that report a failure: `/error`, `/patch/failed`.
bool isFailure(const osc::OscMessage& reply);

} // namespace chronus::cli
