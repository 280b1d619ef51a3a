// Server replies as a person reads them (`chronus send` prints every reply this way).
#pragma once

#include "osc/osc_message.h"

#include <string>

namespace chronus::cli {

/// One line: `/done /patch/create osc1`, `/error /patch/create: unknown module type ...`,
/// `/patch/committed 1 (compile 4.1 ms, prime RMS 0.141)`, `/engine/status sample_rate 48000, ...`.
/// `/patch/list.end (playing patch: 3 modules, 2 connections)`; a read-back as the message that
/// sets the value back (`/mod/osc1/freq 440`). (`/patch/dump`, `/patch/list` and `/modules`
/// chunks are joined and printed as their text instead.)
std::string replyText(const osc::OscMessage& reply);

/// True for replies that report a failure: `/error`, `/patch/failed`.
bool isFailure(const osc::OscMessage& reply);

} // namespace chronus::cli
