#include "bench/machine.h"

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <string>
#include <thread>

#ifndef CHRONUS_BUILD_TYPE
#define CHRONUS_BUILD_TYPE ""
#endif
#ifndef CHRONUS_LLVM_VERSION
#define CHRONUS_LLVM_VERSION "unknown"
#endif

namespace chronus::bench {

namespace {

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// The first "model name" of /proc/cpuinfo (x86), else "Hardware"/"CPU part" lines, else "".
std::string cpuModel() {
    std::ifstream f("/proc/cpuinfo");
    std::string line, fallback;
    while (std::getline(f, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = trim(line.substr(0, colon));
        const std::string value = trim(line.substr(colon + 1));
        if (key == "model name" && !value.empty()) return value;
        if ((key == "Hardware" || key == "CPU part") && fallback.empty()) fallback = value;
    }
    return fallback;
}

} // namespace

MachineInfo readMachineInfo() {
    MachineInfo m;
    m.cpu = cpuModel();
    if (m.cpu.empty()) m.cpu = "unknown CPU";
    m.logicalCpus = std::thread::hardware_concurrency();
    m.buildType = CHRONUS_BUILD_TYPE;
#if defined(__clang__)
    m.compiler =
        fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
    m.compiler = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
    m.llvm = CHRONUS_LLVM_VERSION;
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &utc);
    m.date = buf;
    return m;
}

} // namespace chronus::bench
