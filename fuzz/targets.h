// The fuzz targets, as plain functions: libFuzzer drivers (fuzz_main.cpp, built with
// -DCHRONUS_FUZZ=ON) call them with generated inputs, and tests/test_fuzz_regressions.cpp replays
// the seed corpus and every crasher found so far through them in the ordinary test suite.
//
// Each target feeds its input through the same code the engine uses on real input and checks
// properties that must hold for any input; a violated property calls fuzzFailure(), which aborts
// (libFuzzer saves the input) unless a test installed a handler.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chronus::fuzz {

/// Raw UDP datagrams through the OSC server's path (decodePacket, decodeCommand, the dispatcher)
/// into a real Engine (interpreter) whose audio thread is driven by the target, then a commit that
/// must settle and a dump that must replay to the same patch. The input is either one datagram,
/// or several in OSC 1.0 stream framing (a 32-bit big-endian size before each).
int oscDatagrams(const uint8_t* data, std::size_t size);

/// Patch-file text: parsePatchText, decodeCommand, the lines dry-run (PatchDryRun) into a graph
/// that must schedule, whose toPatchText() must replay to an identical graph; the patch player's
/// check refuses the file exactly when a line was refused or went back in time.
int patchText(const uint8_t* data, std::size_t size);

/// Random sequences of graph edits and commits (the input decides each step): every graph that
/// the edits accept must schedule; each commit renders through the interpreter in random block
/// sizes, carrying surviving modules' state from the previous commit as a swap does; with `jit`,
/// the same commit is also JIT-compiled (O0, or every other commit tiered: the quick first tier,
/// replaced mid-render by its O1 next tier on the same state) and must match the interpreter
/// sample by sample.
int graphEdits(const uint8_t* data, std::size_t size, bool jit);

/// Bytes as a Standard MIDI File (midi/midi_file.h): refused with a message naming a byte offset,
/// or read into events that are in time order, with valid fields, each note's off before its on
/// at one time, and times that are the tempo map's.
int midiFile(const uint8_t* data, std::size_t size);

/// What a violated property does: prints `what` and aborts, or calls the installed handler.
[[noreturn]] void fuzzFailure(const char* target, const char* what);
using FailureHandler = void (*)(const char* target, const char* what); ///< must not return
void setFailureHandler(FailureHandler handler);

} // namespace chronus::fuzz
