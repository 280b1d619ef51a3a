// A control command as the OSC message that carries it, typed as the server decodes it (numbers
// as float, ids, types, ports and choice names as strings): how `chronus send --file` sends a
// patch file's lines.
#pragma once

#include "osc/osc_message.h"
#include "runtime/control_command.h"

namespace chronus::osc {

OscMessage commandMessage(const ControlCommand& cmd);

} // namespace chronus::osc
