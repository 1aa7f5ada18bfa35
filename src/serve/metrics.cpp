#include "serve/metrics.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace facegen::serve {
namespace {

const std::vector<double> kSecondsBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const std::vector<double> kBatchImageBuckets = {1, 2, 4, 8, 16, 32, 64, 128};

/// The shortest decimal that reads back as `value` (0.005, not 0.0050000000000000001).
std::string number(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char text[64];
    for (int precision = 6; precision <= 17; ++precision) {
        std::snprintf(text, sizeof(text), "%.*g", precision, value);
        if (std::strtod(text, nullptr) == value) break;
    }
    return text;
}

std::string labelled(const std::string& name, const std::string& labels) {
    return labels.empty() ? name : name + "{" + labels + "}";
}

void header(std::string& out, const std::string& name, const std::string& type, const std::string& help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
    size_t bucket = 0;
    while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
    ++counts_[bucket];
    sum_ += value;
    ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
    const std::string prefix = labels.empty() ? "" : labels + ",";
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
        cumulative += counts_[i];
        const double bound = i < upper_bounds_.size() ? upper_bounds_[i] : INFINITY;
        out += name + "_bucket{" + prefix + "le=\"" + number(bound) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += labelled(name + "_sum", labels) + " " + number(sum_) + "\n";
    out += labelled(name + "_count", labels) + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : batch_images_(kBatchImageBuckets), batch_seconds_(kSecondsBuckets) {}

void Metrics::observe_request(const std::string& route, int status, std::optional<double> seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
    if (seconds) request_seconds_.try_emplace(route, kSecondsBuckets).first->second.observe(*seconds);
}

void Metrics::observe_batch(int64_t n_images, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    batch_images_.observe(static_cast<double>(n_images));
    batch_seconds_.observe(seconds);
    images_ += static_cast<uint64_t>(n_images);
}

std::string Metrics::render(int64_t queue_depth, int64_t max_queue) const {
    std::string out;
    std::lock_guard<std::mutex> lock(mutex_);
    header(out, "facegen_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (const auto& [key, count] : requests_) {
        out += "facegen_http_requests_total{route=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
               "\"} " + std::to_string(count) + "\n";
    }
    header(out, "facegen_http_request_duration_seconds", "histogram",
           "Time from routing a request to the end of writing its response, by route.");
    for (const auto& [route, histogram] : request_seconds_) {
        histogram.render(out, "facegen_http_request_duration_seconds", "route=\"" + route + "\"");
    }
    header(out, "facegen_batch_size", "histogram", "Images per forward pass of the generator (dynamic batching).");
    batch_images_.render(out, "facegen_batch_size", "");
    header(out, "facegen_batch_duration_seconds", "histogram", "Seconds per forward pass (latents and synthesis).");
    batch_seconds_.render(out, "facegen_batch_duration_seconds", "");
    header(out, "facegen_images_generated_total", "counter", "Images generated.");
    out += "facegen_images_generated_total " + std::to_string(images_) + "\n";
    header(out, "facegen_queue_depth", "gauge", "Requests waiting for the generator now.");
    out += "facegen_queue_depth " + std::to_string(queue_depth) + "\n";
    header(out, "facegen_queue_capacity", "gauge", "Requests that may wait before the server answers 503.");
    out += "facegen_queue_capacity " + std::to_string(max_queue) + "\n";
    header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out += "process_resident_memory_bytes " + std::to_string(resident_memory_bytes()) + "\n";
    return out;
}

int64_t resident_memory_bytes() {
    std::ifstream statm("/proc/self/statm");
    int64_t size_pages = 0;
    int64_t resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages)) return 0;
    return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace facegen::serve
