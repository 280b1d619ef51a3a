#include "bench/json.h"

#include <cmath>
#include <fmt/format.h>

namespace chronus::bench {

namespace {

/// A JSON document written in order: commas and indentation handled here.
class JsonWriter {
public:
    void beginObject() { open('{'); }
    void endObject() { close('}'); }
    void beginArray() { open('['); }
    void endArray() { close(']'); }
    void key(std::string_view k) {
        separate();
        out_ += quote(k);
        out_ += ": ";
        afterKey_ = true;
    }
    void value(std::string_view v) { scalar(quote(v)); }
    void value(const char* v) { value(std::string_view(v)); }
    void value(bool v) { scalar(v ? "true" : "false"); }
    void value(double v) { scalar(std::isfinite(v) ? fmt::format("{}", v) : "null"); }
    void value(uint32_t v) { scalar(fmt::format("{}", v)); }
    void value(int v) { scalar(fmt::format("{}", v)); }
    template <class T>
    void field(std::string_view k, const T& v) {
        key(k);
        value(v);
    }
    std::string take() { return std::move(out_) + "\n"; }

private:
    static std::string quote(std::string_view s) {
        std::string q = "\"";
        for (char c : s) {
            switch (c) {
            case '"':
                q += "\\\"";
                break;
            case '\\':
                q += "\\\\";
                break;
            case '\n':
                q += "\\n";
                break;
            case '\t':
                q += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    q += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                else
                    q += c;
            }
        }
        return q + "\"";
    }
    void separate() {
        if (afterKey_) {
            afterKey_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) out_ += ',';
            first_.back() = false;
            out_ += '\n';
            out_ += std::string(2 * first_.size(), ' ');
        }
    }
    void scalar(const std::string& s) {
        separate();
        out_ += s;
    }
    void open(char c) {
        separate();
        out_ += c;
        first_.push_back(true);
    }
    void close(char c) {
        const bool empty = first_.back();
        first_.pop_back();
        if (!empty) {
            out_ += '\n';
            out_ += std::string(2 * first_.size(), ' ');
        }
        out_ += c;
    }

    std::string out_;
    std::vector<bool> first_; ///< per open container: nothing written in it yet
    bool afterKey_ = false;
};

void spread(JsonWriter& j, std::string_view k, const Spread& s) {
    j.key(k);
    j.beginObject();
    j.field("median", s.median);
    j.field("p10", s.p10);
    j.field("p90", s.p90);
    j.endObject();
}

/// A commit's stages (CommitReport::stages), ms, in order.
void stagesField(JsonWriter& j, const std::vector<std::pair<std::string, Spread>>& stages) {
    j.key("stages_ms");
    j.beginObject();
    for (const auto& [name, ms] : stages) spread(j, name, ms);
    j.endObject();
}

void engine(JsonWriter& j, const EngineResult& e) {
    j.beginObject();
    j.field("runs", e.runs);
    j.field("blocks_per_run", e.blocksPerRun);
    spread(j, "ns_per_sample", e.nsPerSample);
    spread(j, "wall_ns_per_sample", e.wallNsPerSample);
    spread(j, "ns_per_voice_sample", e.nsPerVoiceSample);
    spread(j, "block_load", e.blockLoad);
    j.field("voices_per_core", e.voicesPerCore);
    j.field("build_ms", e.buildMs);
    j.endObject();
}

void workload(JsonWriter& j, const BenchResults& r, const WorkloadResult& w) {
    j.beginObject();
    j.field("name", w.name);
    j.field("description", w.description);
    j.field("family", w.family);
    j.field("voices", w.voices);
    j.field("modules", w.modules);
    if (!w.error.empty()) j.field("error", w.error);
    if (!w.commitError.empty()) j.field("commit_error", w.commitError);
    j.key("engines");
    j.beginObject();
    for (const auto& e : w.engines) {
        j.key(e.engine);
        engine(j, e);
    }
    j.endObject();
    j.key("speedup");
    j.beginObject();
    for (const auto& name : r.engines)
        if (name != kFused && w.engine(name) != nullptr) j.field(name, w.speedup(kFused, name));
    j.endObject();
    if (w.compile) {
        const CompileResult& c = *w.compile;
        j.key("compile");
        j.beginObject();
        j.field("opt_level", c.optLevel);
        j.field("runs", c.runs);
        j.field("groups", c.groups);
        j.field("shapes", c.shapes);
        j.key("cold");
        j.beginObject();
        spread(j, "lower_ms", c.lowerMs);
        spread(j, "optimize_ms", c.optimizeMs);
        spread(j, "codegen_ms", c.codegenMs);
        spread(j, "link_ms", c.linkMs);
        spread(j, "ir_text_ms", c.irTextMs);
        spread(j, "total_ms", c.totalMs);
        spread(j, "total_cpu_ms", c.totalCpuMs);
        j.endObject();
        spread(j, "cached_ms", c.cachedMs);
        j.endObject();
    }
    if (w.commit) {
        const CommitResult& c = *w.commit;
        j.key("commit");
        j.beginObject();
        j.field("cold_runs", c.coldRuns);
        spread(j, "cold_commit_to_swap_ms", c.coldMs);
        j.field("runs", c.runs);
        j.field("first_commit_to_swap_ms", c.firstMs);
        spread(j, "commit_to_swap_ms", c.commitToSwapMs);
        spread(j, "compile_ms", c.compileMs);
        spread(j, "prime_ms", c.primeMs);
        j.endObject();
    }
    if (w.tieredCommit) {
        const TieredCommitResult& c = *w.tieredCommit;
        j.key("commit_tiered");
        j.beginObject();
        j.field("runs", c.runs);
        spread(j, "first_tier_ms", c.firstTierMs);
        spread(j, "optimized_ms", c.optimisedMs);
        spread(j, "compile_ms", c.compileMs);
        spread(j, "prime_ms", c.primeMs);
        j.field("already_final", c.untiered);
        stagesField(j, c.stages);
        j.endObject();
    }
    if (w.addVoice) {
        const AddVoiceResult& a = *w.addVoice;
        j.key("add_voice");
        j.beginObject();
        j.field("runs", a.runs);
        j.field("voices_before", a.voicesBefore);
        spread(j, "commit_to_swap_ms", a.toSwapMs);
        spread(j, "compile_ms", a.compileMs);
        spread(j, "prime_ms", a.primeMs);
        spread(j, "remove_commit_to_swap_ms", a.removeMs);
        j.field("not_cached", a.notCached);
        stagesField(j, a.stages);
        j.endObject();
    }
    j.endObject();
}

void processRender(JsonWriter& j, const ProcessRenderResult& p) {
    j.beginObject();
    j.field("workload", p.name);
    j.field("audio_seconds", p.audioSeconds);
    if (!p.error.empty()) j.field("error", p.error);
    j.field("runs", p.runs);
    j.field("warm_measured", p.warmMeasured);
    spread(j, "cold_cpu_s", p.coldCpuS);
    spread(j, "cold_wall_s", p.coldWallS);
    j.field("cold_max_rss_mb", p.coldMaxRssMb);
    if (p.warmMeasured) {
        spread(j, "warm_cpu_s", p.warmCpuS);
        spread(j, "warm_wall_s", p.warmWallS);
        j.field("warm_max_rss_mb", p.warmMaxRssMb);
    }
    j.endObject();
}

void graphScale(JsonWriter& j, const GraphScaleResult& g) {
    j.key("graph_scale");
    j.beginObject();
    j.key("edits");
    j.beginArray();
    for (const EditCost& e : g.edits) {
        j.beginObject();
        j.field("modules", e.modules);
        j.field("create_us", e.createUs);
        j.field("connect_us", e.connectUs);
        j.field("find_us", e.findUs);
        j.field("set_param_us", e.setParamUs);
        j.field("delete_us", e.deleteUs);
        j.endObject();
    }
    j.endArray();
    j.field("copy_modules", g.copyModules);
    j.field("copies", g.copies);
    j.field("copy_us", g.copyUs);
    j.field("first_write_us", g.firstWriteUs);
    j.field("copies_rss_growth_mb", g.rssGrowthMb);
    j.endObject();
}

void chain(JsonWriter& j, const ChainCommitResult& c) {
    j.key("chain_commit");
    j.beginObject();
    j.field("modules", c.modules);
    if (!c.error.empty()) j.field("error", c.error);
    j.field("first_tier_ms", c.firstTierMs);
    j.field("optimized_ms", c.optimisedMs);
    j.field("timeout_s", c.timeoutS);
    j.field("base_rss_mb", c.baseRssMb);
    j.field("peak_rss_mb", c.peakRssMb);
    j.field("peak_reset", c.peakReset);
    j.endObject();
}

} // namespace

std::string formatJson(const BenchResults& r) {
    JsonWriter j;
    j.beginObject();
    j.field("schema", "chronus-bench/3");
    j.key("machine");
    j.beginObject();
    j.field("cpu", r.machine.cpu);
    j.field("logical_cpus", r.machine.logicalCpus);
    j.field("build_type", r.machine.buildType);
    j.field("debug_build", r.machine.debugBuild());
    j.field("compiler", r.machine.compiler);
    j.field("llvm", r.machine.llvm);
    j.field("date", r.machine.date);
    j.endObject();
    j.field("quick", r.quick);
    j.field("sample_rate", static_cast<double>(r.sampleRate));
    j.field("block_frames", r.blockFrames);
    j.field("budget_ns_per_sample", r.budgetNsPerSample());
    j.field("time_base", "thread CPU time");
    j.field("contention", r.contention());
    j.field("opt_level", r.optLevel);
    j.key("engines");
    j.beginArray();
    for (const auto& e : r.engines) j.value(e);
    j.endArray();
    j.key("workloads");
    j.beginArray();
    for (const auto& w : r.workloads) workload(j, r, w);
    j.endArray();
    j.field("render_cache_dir", r.renderCacheDir);
    j.key("renders");
    j.beginArray();
    for (const auto& p : r.renders) processRender(j, p);
    j.endArray();
    if (r.graphScale) graphScale(j, *r.graphScale);
    if (r.chain) chain(j, *r.chain);
    j.key("targets");
    j.beginArray();
    for (const Target& t : r.targets) {
        j.beginObject();
        j.field("issue", t.issue);
        j.field("what", t.what);
        j.field("workload", t.where);
        j.field("unit", t.unit);
        j.field("measured", t.measured);
        j.field("value", t.value);
        j.field("limit", t.limit);
        j.field("bound", t.boundText());
        j.field("at_least", t.bound == Bound::AtLeast);
        j.field("informational", t.informational);
        j.field("met", t.met());
        j.endObject();
    }
    j.endArray();
    j.endObject();
    return j.take();
}

} // namespace chronus::bench
