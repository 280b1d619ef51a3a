// Voice templates and polys, as the patch graph holds them. A template is a small patch of its own
// (local ids), defined between /voice/begin NAME and /voice/end, with maps saying where a note's
// pitch (Hz), gate and velocity go. A poly `P` of N voices is expanded into the graph as plain
// modules with stable ids, so the schedule, both engines, the shape cache, the wide lanes and the
// state carry see nothing new:
//
//   P.K.<local id>   voice K's copy of each template module (K = 0..N-1), wired as the template
//   P.K              voice K's fader: an adsr (attack and release kStealFadeMs, sustain 1) that
//                    the template's unconnected outputs feed; the allocator closes its gate to
//                    fade a stolen voice out, and opens it to fade the next note in
//   P                a gain (level 1) summing the faders: `P:out` is the poly's output
//
// Modules of a poly are the template's to edit: creating, deleting or connecting `P.*` directly is
// refused; redefining the template (/voice/begin NAME again: it opens with its current content)
// re-expands every poly that uses it at /voice/end, keeping the modules whose id and type stay.
#pragma once

#include "compiler/patch_graph.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronus {

/// Where a note's values go in a voice.
enum class VoiceRole : uint8_t { pitch, gate, velocity };
std::string_view voiceRoleName(VoiceRole role);

struct VoiceMap {
    VoiceRole role = VoiceRole::pitch;
    std::string module, param; ///< local id in the template, parameter name
    /// Velocity 1..127 goes linearly over [lo, hi] (the parameter's range unless given).
    float lo = 0, hi = 1;
    bool explicitRange = false;
};

struct VoiceTemplate {
    std::string name;
    PatchGraph graph;
    std::vector<VoiceMap> maps;
};

struct PolyInfo {
    std::string id;
    std::string templateName;
    uint32_t voices = 0;
    /// The template as this poly was last expanded from (re-expansion diffs against it).
    std::shared_ptr<const VoiceTemplate> expanded;
    /// Template parameters written for this poly (`/mod/P/local.param V`, a MIDI controller on
    /// `P:local.param`): name and value, in first-write order. Every voice has them, those a
    /// later expansion makes too, and the dump writes them after the poly.
    std::vector<std::pair<std::string, float>> values;
};

/// `local.param` split at its last dot (parameter names have none; local ids may): the template
/// module and its parameter. Nothing if `name` has no dot.
std::optional<std::pair<std::string_view, std::string_view>>
splitTemplateParam(std::string_view name);

/// Everything a graph knows of voices; shared between copies of the graph, copied on write.
struct VoiceTable {
    std::vector<std::shared_ptr<const VoiceTemplate>> templates; ///< in definition order
    std::vector<PolyInfo> polys;                                 ///< in creation order
    std::optional<VoiceTemplate> open; ///< the template being defined (/voice/begin)

    const VoiceTemplate* findTemplate(std::string_view name) const;
    const PolyInfo* findPoly(std::string_view id) const;
    /// The poly whose voices module `id` belongs to (`P.K` or `P.K.x`), or null.
    const PolyInfo* ownerOf(std::string_view id) const;
};

/// Voices a poly may have.
inline constexpr uint32_t kMaxPolyVoices = 256;
/// The fader's attack and release: a stolen voice fades out over this, the next note in.
inline constexpr float kStealFadeMs = 5;
/// Id of voice `k`'s fader, and of its copy of template module `local`.
std::string voiceId(std::string_view poly, uint32_t k);
std::string voiceModuleId(std::string_view poly, uint32_t k, std::string_view local);

} // namespace chronus
