#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace facegen::core {

/// One progress report from a long-running library call: how far it is (`done` of
/// `total` units, total 0 when unknown) and named figures such as {"loss_g", 2.11}.
/// The library never prints; apps render it (ProgressLine) and the server stores it.
struct ProgressReport {
    std::string unit;  // "img", "kimg", "file", ...
    double done = 0;
    double total = 0;
    std::vector<std::pair<std::string, double>> figures;
};

using ProgressCallback = std::function<void(const ProgressReport&)>;

/// Renders ProgressReports as one live line on stderr (a carriage-return bar when stderr
/// is a terminal, a plain line every few seconds otherwise), at most every `min_interval`.
class ProgressLine {
public:
    explicit ProgressLine(std::string label, std::chrono::milliseconds min_interval = std::chrono::milliseconds(500));
    void update(const ProgressReport& report);
    /// Prints the final line with the elapsed time, e.g. "generate: 64 img in 2.1 s (30.5 img/s)".
    void finish(const ProgressReport& report);
    double elapsed_seconds() const;

private:
    std::string render(const ProgressReport& report, bool final) const;
    std::string label_;
    std::chrono::milliseconds min_interval_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_print_;
    bool printed_ = false;
    bool is_terminal_ = false;
};

}  // namespace facegen::core
