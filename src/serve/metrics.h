#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// Prometheus metrics of the server, rendered in the text exposition format (0.0.4).
namespace facegen::serve {

/// A Prometheus histogram: counts per upper bound (cumulative when rendered), sum, count.
/// Not thread-safe by itself; Metrics guards it.
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);
    /// `name`_bucket{labels,le=...} lines, then _sum and _count. `labels` is "" or
    /// `route="/healthz"` (no braces).
    void render(std::string& out, const std::string& name, const std::string& labels) const;
    uint64_t count() const { return count_; }

private:
    std::vector<double> upper_bounds_;
    std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
};

/// What the server counts. Thread-safe.
class Metrics {
public:
    Metrics();

    /// One answered HTTP request. `route` is one of a fixed set (the server maps every
    /// other path to "other"), so the label set stays bounded. `seconds` absent when the
    /// request never reached routing (a malformed request line).
    void observe_request(const std::string& route, int status, std::optional<double> seconds);
    /// One forward pass of the batcher.
    void observe_batch(int64_t n_images, double seconds);

    /// The text exposition, with the gauges read now.
    std::string render(int64_t queue_depth, int64_t max_queue) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, Histogram> request_seconds_;
    Histogram batch_images_;
    Histogram batch_seconds_;
    uint64_t images_ = 0;
};

/// Resident set size of this process in bytes (from /proc/self/statm), or 0 when unknown.
int64_t resident_memory_bytes();

}  // namespace facegen::serve
