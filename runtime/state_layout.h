// Where each module's instance memory lies in a slot's state buffer, kept from commit to commit:
// a module that survives a commit (same id, descriptor and instance size) keeps the offset it had
// in the patch that plays, and a new one goes into a gap that patch leaves (or after it). So the
// new slot can take over the playing slot's buffer at the swap instead of copying every
// survivor's state on the audio thread (slot.h: Slot::planCarry), and the swap costs the same
// whatever the delay lines hold.
//
// Both engines read offsets as data (the interpreters from the schedule, the JIT from each
// instance's row), so moving a node's whole instance memory changes nothing else.
#pragma once

#include <cstddef>

namespace chronus {

struct Schedule;

/// Control side: relocates the nodes of `next` as described above, against `playing` (the
/// schedule of the slot that plays). Nothing of `playing`'s memory is reused, not even a module
/// this commit deletes (it plays until the swap). Returns false, leaving `next` as it was, when the
/// kept layout would not fit in `capacity` bytes (the playing buffer's) or when nothing survives.
bool keepSurvivorsInPlace(Schedule& next, const Schedule& playing, std::size_t capacity);

} // namespace chronus
