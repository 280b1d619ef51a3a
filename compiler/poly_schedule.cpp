#include "compiler/poly_schedule.h"

#include "compiler/schedule.h"
#include "compiler/voice_template.h"

namespace chronus {

std::vector<SchedulePoly> schedulePolys(const PatchGraph& graph, const Schedule& schedule) {
    std::vector<SchedulePoly> out;
    const VoiceTable* table = graph.voiceTable();
    if (table == nullptr) return out;
    for (const PolyInfo& p : table->polys) {
        if (!p.expanded) continue;
        SchedulePoly sp;
        sp.id = p.id;
        for (uint32_t k = 0; k < p.voices; ++k) {
            ScheduledVoice v;
            const auto fader = schedule.byId.find(voiceId(p.id, k));
            if (fader == schedule.byId.end()) continue;
            v.fader = fader->second;
            for (const Module& m : p.expanded->graph.modules()) {
                const auto it = schedule.byId.find(voiceModuleId(p.id, k, m.id));
                if (it != schedule.byId.end() && m.desc->idle != nullptr)
                    v.idle.push_back(it->second);
            }
            for (const VoiceMap& map : p.expanded->maps) {
                const auto it = schedule.byId.find(voiceModuleId(p.id, k, map.module));
                if (it == schedule.byId.end()) continue;
                const ScheduledNode& n = schedule.nodes[it->second];
                for (uint32_t i = 0; i < n.paramCount(); ++i) {
                    if (n.layout->params[i].name != map.param) continue;
                    const VoiceTarget t{it->second, i, map.lo, map.hi};
                    (map.role == VoiceRole::pitch  ? v.pitch
                     : map.role == VoiceRole::gate ? v.gate
                                                   : v.velocity)
                        .push_back(t);
                }
            }
            sp.voices.push_back(std::move(v));
        }
        out.push_back(std::move(sp));
    }
    return out;
}

} // namespace chronus
