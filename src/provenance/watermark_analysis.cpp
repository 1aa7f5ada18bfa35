#include "provenance/watermark_analysis.h"

#include <algorithm>
#include <cmath>

namespace facegen::provenance::detail {
namespace {

constexpr int kN = kAnalysisSize;

int64_t next_power_of_two_above(int64_t n) {
    int64_t p = 1;
    while (p <= n) p *= 2;
    return p;
}

}  // namespace

std::vector<AxisView> axis_views(int64_t received_size) {
    const auto n = static_cast<double>(received_size);
    std::vector<AxisView> views{{n, 0, n}};
    for (int left = 0; left <= kMaxCropPixels; ++left) {
        for (int right = 0; right <= kMaxCropPixels; ++right) {
            if (left + right > 0) views.push_back({n, static_cast<double>(left), n - right});
        }
    }
    const int64_t original = next_power_of_two_above(received_size);
    const int64_t cropped = original - received_size;
    if (cropped <= 2 * kMaxCropPixels) {
        for (int64_t left = std::max<int64_t>(0, cropped - kMaxCropPixels); left <= std::min<int64_t>(kMaxCropPixels, cropped); ++left) {
            views.push_back({static_cast<double>(original), static_cast<double>(left), static_cast<double>(left + received_size)});
        }
    }
    return views;
}

std::vector<double> analysis_channel(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels) {
    std::vector<double> channel(static_cast<size_t>(width * height));
    for (int64_t i = 0; i < width * height; ++i) {
        const uint8_t* p = pixels + i * channels;
        channel[static_cast<size_t>(i)] =
            channels >= 3 ? kAnalysisWeightRed * p[0] + kAnalysisWeightGreen * p[1] + kAnalysisWeightBlue * p[2] : p[0];
    }
    return channel;
}

ReducedChannel reduce_channel(const std::vector<double>& channel, int64_t width, int64_t height) {
    ReducedChannel out;
    out.reduction_x = std::max<int64_t>(1, width / kN);
    out.reduction_y = std::max<int64_t>(1, height / kN);
    out.width = width / out.reduction_x;
    out.height = height / out.reduction_y;
    out.values.assign(static_cast<size_t>(out.width * out.height), 0.0);
    const double scale = 1.0 / static_cast<double>(out.reduction_x * out.reduction_y);
    for (int64_t y = 0; y < out.height * out.reduction_y; ++y) {
        for (int64_t x = 0; x < out.width * out.reduction_x; ++x) {
            out.values[static_cast<size_t>((y / out.reduction_y) * out.width + x / out.reduction_x)] +=
                scale * channel[static_cast<size_t>(y * width + x)];
        }
    }
    return out;
}

double coefficient_noise_variance(const MarkLayout& layout, const ReducedChannel& channel) {
    std::vector<double> detail;
    detail.reserve(static_cast<size_t>((channel.width / 2) * (channel.height / 2)));
    for (int64_t y = 0; y + 1 < channel.height; y += 2) {
        for (int64_t x = 0; x + 1 < channel.width; x += 2) {
            const double* top = channel.values.data() + y * channel.width + x;
            const double* bottom = top + channel.width;
            detail.push_back(std::abs(top[0] - top[1] - bottom[0] + bottom[1]) / 2);
        }
    }
    if (detail.empty()) return 0.0;
    std::nth_element(detail.begin(), detail.begin() + static_cast<std::ptrdiff_t>(detail.size() / 2), detail.end());
    const double sigma = detail[detail.size() / 2] / 0.6745;
    // A reduced pixel stretched over (64 / side)^2 analysis pixels keeps its noise on each, so
    // an orthonormal coefficient sees that much more of it; the window passes sum w^2 / 64
    // per axis of it (~0.84).
    double window_energy = 0;
    for (double w : layout.window) window_energy += w * w / kN;
    const double magnification = static_cast<double>(kN * kN) / static_cast<double>(channel.width * channel.height);
    return sigma * sigma * magnification * window_energy * window_energy;
}

std::vector<double> axis_map(const AxisView& view, int64_t received_size, int64_t reduction, int64_t reduced_size) {
    std::vector<double> map(static_cast<size_t>(kN * reduced_size), 0.0);
    // Reduced coordinate of original coordinate o.
    const double scale = static_cast<double>(received_size) / (view.visible_end - view.visible_start) / static_cast<double>(reduction);
    const auto to_reduced = [&](double o) { return (o - view.visible_start) * scale; };
    const auto last = static_cast<double>(reduced_size);
    for (int x = 0; x < kN; ++x) {
        const double u0 = to_reduced(x * view.original_size / kN);
        const double u1 = to_reduced((x + 1) * view.original_size / kN);
        double* row = map.data() + static_cast<int64_t>(x) * reduced_size;
        // Parts outside the image are charged to the edge pixel (clamp to edge).
        if (u0 < 0) row[0] += std::min(u1, 0.0) - u0;
        if (u1 > last) row[reduced_size - 1] += u1 - std::max(u0, last);
        const double a = std::clamp(u0, 0.0, last);
        const double b = std::clamp(u1, 0.0, last);
        for (auto j = static_cast<int64_t>(std::floor(a)); j < reduced_size && static_cast<double>(j) < b; ++j) {
            const double overlap = std::min(b, j + 1.0) - std::max(a, static_cast<double>(j));
            if (overlap > 0) row[j] += overlap;
        }
        for (int64_t j = 0; j < reduced_size; ++j) row[j] /= (u1 - u0);
    }
    return map;
}

std::vector<double> analysis_image(const ReducedChannel& channel, const std::vector<double>& map_x, const std::vector<double>& map_y) {
    // rows = L * map_x^T  (height x 64), then map_y * rows.
    std::vector<double> rows(static_cast<size_t>(channel.height * kN), 0.0);
    for (int64_t y = 0; y < channel.height; ++y) {
        const double* l = channel.values.data() + y * channel.width;
        for (int x = 0; x < kN; ++x) {
            const double* m = map_x.data() + static_cast<int64_t>(x) * channel.width;
            double s = 0;
            for (int64_t j = 0; j < channel.width; ++j) s += m[j] * l[j];
            rows[static_cast<size_t>(y * kN + x)] = s;
        }
    }
    std::vector<double> out(static_cast<size_t>(kN * kN), 0.0);
    for (int y = 0; y < kN; ++y) {
        const double* m = map_y.data() + static_cast<int64_t>(y) * channel.height;
        for (int64_t j = 0; j < channel.height; ++j) {
            if (m[j] == 0) continue;
            for (int x = 0; x < kN; ++x) out[static_cast<size_t>(y * kN + x)] += m[j] * rows[static_cast<size_t>(j * kN + x)];
        }
    }
    return out;
}

ViewEvaluator::ViewEvaluator(const MarkLayout& layout, const ReducedChannel& channel) : layout_(layout), channel_(channel) {
    int k_max = 0;
    for (const Coefficient& c : layout.coefficients) k_max = std::max({k_max, c.ky, c.kx});
    n_freq_ = k_max + 2;
    filters_.assign(static_cast<size_t>(n_freq_ * kN), 0.0);
    double window_sum = 0;
    for (int i = 0; i < kN; ++i) {
        const double w = layout.window[static_cast<size_t>(i)];
        window_sum += w;
        for (int k = 0; k <= k_max; ++k) filters_[static_cast<size_t>(k * kN + i)] = w * layout.dct[static_cast<size_t>(k * kN + i)];
        filters_[static_cast<size_t>((n_freq_ - 1) * kN + i)] = w;
    }
    window_sum_sq_ = window_sum * window_sum;
}

ViewEvaluator::Columns ViewEvaluator::prepare_x(const std::vector<double>& map_x) const {
    // P = filters * map_x (n_freq x width); columns = L * P^T (height x n_freq).
    const int64_t width = channel_.width;
    std::vector<double> p(static_cast<size_t>(n_freq_ * width), 0.0);
    for (int k = 0; k < n_freq_; ++k) {
        for (int x = 0; x < kN; ++x) {
            const double f = filters_[static_cast<size_t>(k * kN + x)];
            const double* m = map_x.data() + static_cast<int64_t>(x) * width;
            for (int64_t j = 0; j < width; ++j) p[static_cast<size_t>(k * width + j)] += f * m[j];
        }
    }
    Columns columns;
    columns.values.assign(static_cast<size_t>(n_freq_ * channel_.height), 0.0);
    for (int64_t y = 0; y < channel_.height; ++y) {
        const double* l = channel_.values.data() + y * width;
        for (int k = 0; k < n_freq_; ++k) {
            const double* pk = p.data() + static_cast<int64_t>(k) * width;
            double s = 0;
            for (int64_t j = 0; j < width; ++j) s += pk[j] * l[j];
            columns.values[static_cast<size_t>(k * channel_.height + y)] = s;
        }
    }
    return columns;
}

ViewEvaluator::Rows ViewEvaluator::prepare_y(const std::vector<double>& map_y) const {
    const int64_t height = channel_.height;
    Rows rows;
    rows.values.assign(static_cast<size_t>(n_freq_ * height), 0.0);
    for (int k = 0; k < n_freq_; ++k) {
        for (int y = 0; y < kN; ++y) {
            const double f = filters_[static_cast<size_t>(k * kN + y)];
            const double* m = map_y.data() + static_cast<int64_t>(y) * height;
            for (int64_t j = 0; j < height; ++j) rows.values[static_cast<size_t>(k * height + j)] += f * m[j];
        }
    }
    return rows;
}

std::vector<double> ViewEvaluator::coefficients(const Columns& columns, const Rows& rows) const {
    const int64_t height = channel_.height;
    const auto dot = [&](int ky, int kx) {
        const double* r = rows.values.data() + static_cast<int64_t>(ky) * height;
        const double* c = columns.values.data() + static_cast<int64_t>(kx) * height;
        double s = 0;
        for (int64_t y = 0; y < height; ++y) s += r[y] * c[y];
        return s;
    };
    const double mean = dot(n_freq_ - 1, n_freq_ - 1) / window_sum_sq_;
    std::vector<double> out;
    out.reserve(layout_.coefficients.size());
    for (size_t i = 0; i < layout_.coefficients.size(); ++i) {
        const Coefficient c = layout_.coefficients[i];
        out.push_back(dot(c.ky, c.kx) - mean * layout_.mean_response[i] * window_sum_sq_);
    }
    return out;
}

}  // namespace facegen::provenance::detail
