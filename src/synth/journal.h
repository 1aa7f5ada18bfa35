#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <vector>

// The append-only record of a synthesis run: one JSON object per line, flushed to disk
// before the run goes on, so that an interrupted run continues exactly where its last
// complete line left it. A line cut short by a crash is not an event: it is dropped (and
// cut from the file) when the journal is opened again.
namespace facegen::synth {

class Journal {
public:
    /// Opens (creating when absent) `path` and reads its complete lines. Throws
    /// facegen::Error naming the file and line for a complete line that is not JSON.
    explicit Journal(const std::filesystem::path& path);
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    /// The events read when it was opened, in order.
    const std::vector<nlohmann::json>& events() const { return events_; }
    /// Appends one event as a line and flushes it to disk.
    void append(const nlohmann::json& event);

private:
    std::filesystem::path path_;
    std::FILE* file_ = nullptr;
    std::vector<nlohmann::json> events_;
};

}  // namespace facegen::synth
