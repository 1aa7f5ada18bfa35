#include "core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace facegen::core {
namespace {

std::string format_duration(double seconds) {
    std::ostringstream out;
    if (seconds < 60) {
        out << std::fixed << std::setprecision(1) << seconds << " s";
    } else if (seconds < 3600) {
        out << static_cast<int>(seconds) / 60 << "m" << std::setw(2) << std::setfill('0')
            << static_cast<int>(seconds) % 60 << "s";
    } else {
        out << static_cast<int>(seconds) / 3600 << "h" << std::setw(2) << std::setfill('0')
            << (static_cast<int>(seconds) % 3600) / 60 << "m";
    }
    return out.str();
}

}  // namespace

ProgressLine::ProgressLine(std::string label, std::chrono::milliseconds min_interval)
    : label_(std::move(label)),
      min_interval_(min_interval),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_),
      is_terminal_(::isatty(STDERR_FILENO) == 1) {
    // A log file gets a line every few seconds rather than a redraw per update.
    if (!is_terminal_ && min_interval_ < std::chrono::seconds(5)) min_interval_ = std::chrono::seconds(5);
}

double ProgressLine::elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressLine::render(const ProgressReport& report, bool final) const {
    const double elapsed = elapsed_seconds();
    std::ostringstream line;
    line << label_ << ": ";
    if (report.total > 0 && !final) {
        const double fraction = std::min(1.0, report.done / report.total);
        const int width = 24;
        const int filled = static_cast<int>(fraction * width);
        line << "[" << std::string(filled, '#') << std::string(width - filled, '.') << "] ";
    }
    line << std::defaultfloat << std::setprecision(6) << report.done;
    if (report.total > 0) line << "/" << report.total;
    line << " " << report.unit;
    if (elapsed > 0 && report.done > 0) {
        // Three significant digits: training on a CPU runs at about 0.01 kimg/s.
        line << " (" << std::defaultfloat << std::setprecision(3) << report.done / elapsed << " " << report.unit << "/s)";
    }
    for (const auto& [name, value] : report.figures) {
        line << " " << name << "=" << std::defaultfloat << std::setprecision(4) << value;
    }
    if (final) {
        line << " in " << format_duration(elapsed);
    } else if (report.total > 0 && report.done > 0) {
        line << " ETA " << format_duration(elapsed * (report.total - report.done) / report.done);
    }
    return line.str();
}

void ProgressLine::update(const ProgressReport& report) {
    const auto now = std::chrono::steady_clock::now();
    if (printed_ && now - last_print_ < min_interval_) return;
    last_print_ = now;
    printed_ = true;
    const std::string text = render(report, /*final=*/false);
    if (is_terminal_) {
        std::fprintf(stderr, "\r\033[K%s", text.c_str());
    } else {
        std::fprintf(stderr, "%s\n", text.c_str());
    }
    std::fflush(stderr);
}

void ProgressLine::finish(const ProgressReport& report) {
    const std::string text = render(report, /*final=*/true);
    if (is_terminal_ && printed_) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
}

}  // namespace facegen::core
