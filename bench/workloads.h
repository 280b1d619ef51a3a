// The patches `chronus bench` measures: built-in voice banks (output taps, and summed into one
// input as people patch them), an FM bank, a feedback bank, a random graph, a long chain, and any
// patch file a user names. Each is a PatchGraph, so the same patch reaches
// the three engines directly and a real Engine through its control API.
#pragma once

#include "base/expected.h"
#include "compiler/patch_graph.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chronus::bench {

struct Workload {
    std::string name;        ///< "sine-16", or a patch file's stem
    std::string description; ///< for the table's key
    std::string family;      ///< "sine", "saw": the voice series of the plot; else empty
    uint32_t voices = 1;     ///< ns per voice-sample divides by this
    PatchGraph graph;
    /// Voice banks: one more voice of the same shape, alone (ids apart from the bank's, its level
    /// that of the bank's voices), which the add-a-voice measurement adds to `graph` and removes.
    /// Empty for other workloads.
    PatchGraph spareVoice;
    /// Connections (src, dst) the spare voice makes into the bank once added (into `master`).
    std::vector<std::pair<std::string, std::string>> spareLinks;
};

/// `voices` of osc -> adsr (10/50 ms, 0.7, 200 ms, gate on) -> biquad lowpass (2 kHz, Q 0.707)
/// -> gain, summed (every gain is an output tap: the engine sums the taps, no mixer module);
/// `osc` is "simple_sine" or "saw" (band-limited). With the spare voice number `voices`.
Expected<Workload> voiceBank(const std::string& osc, uint32_t voices);

/// The same voices as the patch people write: each gain connected to one input, the `master`
/// gain's (`sum` "gain") or a `mix`'s in1 (`sum` "mix"), which sums them. With the spare voice.
Expected<Workload> summedBank(const std::string& sum, uint32_t voices);

/// `voices` FM voices: a sine at 2f, scaled by a gain to 6f Hz of depth, into a sine carrier's
/// freq at f; adsr; gain; summed into `master`.
Expected<Workload> fmBank(uint32_t voices);

/// `voices` of saw -> mix -> lowpass -> gain, with lowpass -> z1 -> mix closing a loop per voice.
Expected<Workload> feedbackBank(uint32_t voices);

/// A `poly` of `voices` voices of saw -> adsr -> lowpass (compiler/voice_template.h), every voice
/// holding a note: what a player's chord costs, voices in the wide lanes.
Expected<Workload> polyBank(uint32_t voices);

/// A random valid graph of `modules` modules (bench/random_patch.h), fixed `seed`.
Expected<Workload> randomGraph(uint32_t modules, uint32_t seed);

/// The patch a file commits last (edits up to its last /patch/commit), checked as the patch
/// player checks every file: a bad line refuses it with `PATH:LINE: reason`.
Expected<Workload> patchFileWorkload(const std::string& path);

/// A sine through `modules` - 1 gains in a row: the long chain a patch of many stages makes.
Expected<Workload> gainChain(uint32_t modules);

/// The built-in set: voice banks of sine and saw (output taps) and of sine summed into `master`
/// at each of `voiceCounts`, summed into a `mix` at those of 16 and 256 among them, 16 FM voices,
/// 16 feedback voices, polys of 16 and 64 voices, a random 64-module graph.
Expected<std::vector<Workload>> builtinWorkloads(const std::vector<uint32_t>& voiceCounts);

} // namespace chronus::bench
