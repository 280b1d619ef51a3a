// The patches `chronus bench` measures: built-in voice banks, an FM bank, a feedback bank, a
// random graph, and any patch file a user names. Each is a PatchGraph, so the same patch reaches
// the three engines directly and a real Engine through its control API.
#pragma once

#include "base/expected.h"
#include "compiler/patch_graph.h"

#include <cstdint>
#include <string>
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
};

/// `voices` of osc -> adsr (10/50 ms, 0.7, 200 ms, gate on) -> biquad lowpass (2 kHz, Q 0.707)
/// -> gain, summed (every gain is an output tap: the engine sums the taps, no mixer module);
/// `osc` is "simple_sine" or "saw" (band-limited). With the spare voice number `voices`.
Expected<Workload> voiceBank(const std::string& osc, uint32_t voices);

/// `voices` FM voices: an audio-rate sine (lfo) modulates a sine carrier's freq; adsr; gain.
Expected<Workload> fmBank(uint32_t voices);

/// `voices` of saw -> mix -> lowpass -> gain, with lowpass -> z1 -> mix closing a loop per voice.
Expected<Workload> feedbackBank(uint32_t voices);

/// A random valid graph of `modules` modules (bench/random_patch.h), fixed `seed`.
Expected<Workload> randomGraph(uint32_t modules, uint32_t seed);

/// The patch a file commits last (edits up to its last /patch/commit), checked as the patch
/// player checks every file: a bad line refuses it with `PATH:LINE: reason`.
Expected<Workload> patchFileWorkload(const std::string& path);

/// The built-in set: voice banks of sine and saw at each of `voiceCounts`, 16 FM voices, 16
/// feedback voices, a random 64-module graph.
Expected<std::vector<Workload>> builtinWorkloads(const std::vector<uint32_t>& voiceCounts);

} // namespace chronus::bench
