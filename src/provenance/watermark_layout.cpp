#include "provenance/watermark_layout.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/random_stream.h"
#include "provenance/watermark.h"
#include "provenance/watermark_code.h"

namespace facegen::provenance::detail {
namespace {

constexpr int kN = kAnalysisSize;

/// SplitMix64 (core::RandomStream): a portable, fully specified generator, so the layout is
/// the same on every platform and compiler (std:: distributions are not).
class KeyStream {
public:
    explicit KeyStream(uint64_t key) : stream_(key) {}
    uint64_t next() { return stream_.next_u64(); }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }           // bias < 2^-50

private:
    core::RandomStream stream_;
};

double radius(const Coefficient& c) { return std::sqrt(static_cast<double>(c.ky * c.ky + c.kx * c.kx)); }

std::array<double, kN> taper_window() {
    std::array<double, kN> w{};
    for (int x = 0; x < kN; ++x) {
        const double d = std::min(x, kN - 1 - x) + 0.5;  // pixel centre to border
        w[static_cast<size_t>(x)] = d < kWindowTaper ? std::pow(std::sin(M_PI * d / (2.0 * kWindowTaper)), 2) : 1.0;
    }
    return w;
}

std::vector<double> dct_matrix() {
    std::vector<double> c(static_cast<size_t>(kN * kN));
    for (int k = 0; k < kN; ++k) {
        const double scale = std::sqrt((k == 0 ? 1.0 : 2.0) / kN);
        for (int i = 0; i < kN; ++i) c[static_cast<size_t>(k * kN + i)] = scale * std::cos(M_PI * (i + 0.5) * k / kN);
    }
    return c;
}

/// Carriers: a key-seeded choice of coded_length() coefficients in the band; references:
/// every other non-DC coefficient within kReferenceRadiusSpan of the band.
void choose_coefficients(MarkLayout& layout, KeyStream& key) {
    std::vector<Coefficient> band, others;
    const int k_max = static_cast<int>(std::ceil(kCarrierRadiusMax + kReferenceRadiusSpan));
    for (int ky = 0; ky <= k_max; ++ky) {
        for (int kx = 0; kx <= k_max; ++kx) {
            const Coefficient c{ky, kx};
            const double r = radius(c);
            if (r >= kCarrierRadiusMin && r <= kCarrierRadiusMax) {
                band.push_back(c);
            } else if (r >= 1.0 && r >= kCarrierRadiusMin - kReferenceRadiusSpan && r <= kCarrierRadiusMax + kReferenceRadiusSpan) {
                others.push_back(c);
            }
        }
    }
    const int n_carriers = coded_length(kWatermarkPayloadBits);
    for (size_t i = band.size(); i > 1; --i) std::swap(band[i - 1], band[key.below(i)]);  // Fisher-Yates
    layout.n_carriers = n_carriers;
    layout.coefficients.assign(band.begin(), band.begin() + n_carriers);
    // References sorted by radius, so each carrier's references are one contiguous run.
    std::vector<Coefficient> references(band.begin() + n_carriers, band.end());
    references.insert(references.end(), others.begin(), others.end());
    std::sort(references.begin(), references.end(), [](const Coefficient& a, const Coefficient& b) {
        const int ra = a.ky * a.ky + a.kx * a.kx, rb = b.ky * b.ky + b.kx * b.kx;
        return ra != rb ? ra < rb : a.ky < b.ky;
    });
    layout.coefficients.insert(layout.coefficients.end(), references.begin(), references.end());
}

void choose_steps(MarkLayout& layout, KeyStream& key) {
    for (int i = 0; i < layout.n_carriers; ++i) {
        const double r = radius(layout.coefficients[static_cast<size_t>(i)]);
        const double step = kStepAt10 * r / 10.0;
        layout.step.push_back(step);
        layout.dither.push_back(key.uniform() * step);
        int begin = layout.n_carriers;
        while (radius(layout.coefficients[static_cast<size_t>(begin)]) < r - kReferenceRadiusSpan) ++begin;
        int end = begin;
        while (end < static_cast<int>(layout.coefficients.size()) && radius(layout.coefficients[static_cast<size_t>(end)]) <= r + kReferenceRadiusSpan) ++end;
        layout.references.push_back({begin, end});
    }
}

/// Windowed sums: <w phi_a, 1> per axis.
std::vector<double> window_basis_sums(const MarkLayout& layout) {
    std::vector<double> sums(kN, 0.0);
    for (int k = 0; k < kN; ++k) {
        for (int i = 0; i < kN; ++i) sums[static_cast<size_t>(k)] += layout.window[static_cast<size_t>(i)] * layout.dct[static_cast<size_t>(k * kN + i)];
    }
    return sums;
}

/// The Gram matrix of the carriers' pixel patterns g_i = w phi_i - beta_i w (coefficient_i(Y)
/// = <g_i, Y>) and its Cholesky factor: embedding solves G a = r for the minimum-energy change.
void build_embedding_system(MarkLayout& layout) {
    const int n = layout.n_carriers;
    // Gram matrix through the patterns' separable form (g = w phi_ky phi_kx - beta w w):
    // <g_i, g_j> = P[ky_i][ky_j] P[kx_i][kx_j] - beta_j Q[ky_i] Q[kx_i] - beta_i Q[ky_j] Q[kx_j]
    // + beta_i beta_j S^2, with P, Q, S the axis sums of w^2 phi phi, w^2 phi and w^2.
    std::vector<double> p_axis(static_cast<size_t>(kN * kN), 0.0), q_axis(kN, 0.0);
    double s_axis = 0;
    for (int t = 0; t < kN; ++t) {
        const double w2 = layout.window[static_cast<size_t>(t)] * layout.window[static_cast<size_t>(t)];
        s_axis += w2;
        for (int k = 0; k < kN; ++k) {
            const double phi_k = layout.dct[static_cast<size_t>(k * kN + t)];
            q_axis[static_cast<size_t>(k)] += w2 * phi_k;
            for (int l = 0; l < kN; ++l) p_axis[static_cast<size_t>(k * kN + l)] += w2 * phi_k * layout.dct[static_cast<size_t>(l * kN + t)];
        }
    }
    std::vector<double>& a = layout.gram_cholesky;
    a.assign(static_cast<size_t>(n * n), 0.0);
    for (int i = 0; i < n; ++i) {
        const Coefficient ci = layout.coefficients[static_cast<size_t>(i)];
        const double bi = layout.mean_response[static_cast<size_t>(i)];
        for (int j = 0; j <= i; ++j) {
            const Coefficient cj = layout.coefficients[static_cast<size_t>(j)];
            const double bj = layout.mean_response[static_cast<size_t>(j)];
            a[static_cast<size_t>(i * n + j)] = p_axis[static_cast<size_t>(ci.ky * kN + cj.ky)] * p_axis[static_cast<size_t>(ci.kx * kN + cj.kx)] -
                                                bj * q_axis[static_cast<size_t>(ci.ky)] * q_axis[static_cast<size_t>(ci.kx)] -
                                                bi * q_axis[static_cast<size_t>(cj.ky)] * q_axis[static_cast<size_t>(cj.kx)] + bi * bj * s_axis * s_axis;
        }
    }
    for (int j = 0; j < n; ++j) {  // in-place Cholesky, lower triangle
        double d = a[static_cast<size_t>(j * n + j)];
        for (int k = 0; k < j; ++k) d -= a[static_cast<size_t>(j * n + k)] * a[static_cast<size_t>(j * n + k)];
        a[static_cast<size_t>(j * n + j)] = std::sqrt(d);
        for (int i = j + 1; i < n; ++i) {
            double s = a[static_cast<size_t>(i * n + j)];
            for (int k = 0; k < j; ++k) s -= a[static_cast<size_t>(i * n + k)] * a[static_cast<size_t>(j * n + k)];
            a[static_cast<size_t>(i * n + j)] = s / a[static_cast<size_t>(j * n + j)];
        }
    }
}

MarkLayout build_layout() {
    MarkLayout layout;
    layout.window = taper_window();
    layout.dct = dct_matrix();
    KeyStream key(kWatermarkKey);
    choose_coefficients(layout, key);
    choose_steps(layout, key);
    const std::vector<double> sums = window_basis_sums(layout);
    double window_sum = 0;
    for (double w : layout.window) window_sum += w;
    for (const Coefficient& c : layout.coefficients) {
        layout.mean_response.push_back(sums[static_cast<size_t>(c.ky)] * sums[static_cast<size_t>(c.kx)] / (window_sum * window_sum));
    }
    build_embedding_system(layout);
    return layout;
}

}  // namespace

const MarkLayout& mark_layout() {
    static const MarkLayout layout = build_layout();
    return layout;
}

std::vector<double> layout_coefficients(const MarkLayout& layout, const std::vector<double>& analysis) {
    // Rows first: for each image row y, the windowed transform along x at every kx used.
    std::vector<double> row_sums(static_cast<size_t>(kN * kN), 0.0);  // [y * kN + kx]
    std::vector<bool> kx_used(kN, false);
    for (const Coefficient& c : layout.coefficients) kx_used[static_cast<size_t>(c.kx)] = true;
    std::vector<double> mean_rows(kN, 0.0);
    double window_sum = 0;
    for (double w : layout.window) window_sum += w;
    for (int y = 0; y < kN; ++y) {
        const double* row = analysis.data() + y * kN;
        for (int x = 0; x < kN; ++x) mean_rows[static_cast<size_t>(y)] += layout.window[static_cast<size_t>(x)] * row[x];
        for (int kx = 0; kx < kN; ++kx) {
            if (!kx_used[static_cast<size_t>(kx)]) continue;
            double s = 0;
            for (int x = 0; x < kN; ++x) s += layout.window[static_cast<size_t>(x)] * layout.dct[static_cast<size_t>(kx * kN + x)] * row[x];
            row_sums[static_cast<size_t>(y * kN + kx)] = s;
        }
    }
    double mean = 0;
    for (int y = 0; y < kN; ++y) mean += layout.window[static_cast<size_t>(y)] * mean_rows[static_cast<size_t>(y)];
    mean /= window_sum * window_sum;
    std::vector<double> out;
    out.reserve(layout.coefficients.size());
    for (size_t i = 0; i < layout.coefficients.size(); ++i) {
        const Coefficient c = layout.coefficients[i];
        double s = 0;
        for (int y = 0; y < kN; ++y) {
            s += layout.window[static_cast<size_t>(y)] * layout.dct[static_cast<size_t>(c.ky * kN + y)] * row_sums[static_cast<size_t>(y * kN + c.kx)];
        }
        out.push_back(s - mean * layout.mean_response[i] * window_sum * window_sum);
    }
    return out;
}

std::vector<double> carrier_norms(const MarkLayout& layout, const std::vector<double>& coefficients) {
    // Prefix sums of the references' energy (they follow the carriers, sorted by radius).
    const auto first = static_cast<size_t>(layout.n_carriers);
    std::vector<double> energy(coefficients.size() - first + 1, 0.0);
    for (size_t j = first; j < coefficients.size(); ++j) energy[j - first + 1] = energy[j - first] + coefficients[j] * coefficients[j];
    const double image_level = kImageNormShare * std::sqrt(energy.back() / static_cast<double>(energy.size() - 1));
    std::vector<double> norms(static_cast<size_t>(layout.n_carriers));
    for (int i = 0; i < layout.n_carriers; ++i) {
        const auto [begin, end] = layout.references[static_cast<size_t>(i)];
        const double sum = energy[static_cast<size_t>(end) - first] - energy[static_cast<size_t>(begin) - first];
        norms[static_cast<size_t>(i)] = std::sqrt(sum / (end - begin)) + image_level + kNormaliserFloor;
    }
    return norms;
}

std::vector<double> normalised_carriers(const MarkLayout& layout, const std::vector<double>& coefficients) {
    std::vector<double> values = carrier_norms(layout, coefficients);
    for (size_t i = 0; i < values.size(); ++i) values[i] = coefficients[i] / values[i];
    return values;
}

std::vector<double> soft_bits(const MarkLayout& layout, const std::vector<double>& normalised) {
    std::vector<double> soft(normalised.size());
    for (size_t i = 0; i < normalised.size(); ++i) {
        const double phase = (normalised[i] - layout.dither[i]) / layout.step[i];
        soft[i] = std::cos(2 * M_PI * (phase - std::floor(phase)));
    }
    return soft;
}

std::vector<double> reliability_weights(const MarkLayout& layout, const std::vector<double>& coefficients, double noise_variance) {
    std::vector<double> weights = carrier_norms(layout, coefficients);
    for (size_t i = 0; i < weights.size(); ++i) {
        const double step = layout.step[i] * weights[i];
        weights[i] = std::exp(-2 * M_PI * M_PI * kNoiseWeightGain * noise_variance / (step * step));
    }
    return weights;
}

void add_carrier_patterns(const MarkLayout& layout, const std::vector<double>& amounts, std::vector<double>& change) {
    // sum_i a_i w(y) w(x) (phi_ky(y) phi_kx(x) - beta_i)
    //   = w(y) w(x) (sum_ky phi_ky(y) sum_kx A[ky][kx] phi_kx(x) - sum_i a_i beta_i).
    std::vector<double> grid(static_cast<size_t>(kN * kN), 0.0);  // A[ky][kx]
    std::vector<bool> ky_used(kN, false);
    double mean_part = 0;
    for (int i = 0; i < layout.n_carriers; ++i) {
        const Coefficient c = layout.coefficients[static_cast<size_t>(i)];
        grid[static_cast<size_t>(c.ky * kN + c.kx)] += amounts[static_cast<size_t>(i)];
        ky_used[static_cast<size_t>(c.ky)] = true;
        mean_part += amounts[static_cast<size_t>(i)] * layout.mean_response[static_cast<size_t>(i)];
    }
    std::vector<double> rows(static_cast<size_t>(kN * kN), 0.0);  // [ky][x] = sum_kx A[ky][kx] phi_kx(x)
    for (int ky = 0; ky < kN; ++ky) {
        if (!ky_used[static_cast<size_t>(ky)]) continue;
        for (int kx = 0; kx < kN; ++kx) {
            const double a = grid[static_cast<size_t>(ky * kN + kx)];
            if (a == 0) continue;
            const double* phi = layout.dct.data() + kx * kN;
            double* row = rows.data() + ky * kN;
            for (int x = 0; x < kN; ++x) row[x] += a * phi[x];
        }
    }
    for (int y = 0; y < kN; ++y) {
        double* out = change.data() + y * kN;
        std::array<double, kN> sum{};
        for (int ky = 0; ky < kN; ++ky) {
            if (!ky_used[static_cast<size_t>(ky)]) continue;
            const double phi = layout.dct[static_cast<size_t>(ky * kN + y)];
            const double* row = rows.data() + ky * kN;
            for (int x = 0; x < kN; ++x) sum[static_cast<size_t>(x)] += phi * row[x];
        }
        const double wy = layout.window[static_cast<size_t>(y)];
        for (int x = 0; x < kN; ++x) out[x] += wy * layout.window[static_cast<size_t>(x)] * (sum[static_cast<size_t>(x)] - mean_part);
    }
}

double quantise(const MarkLayout& layout, int i, double value, int bit) {
    const double step = layout.step[static_cast<size_t>(i)];
    const double offset = layout.dither[static_cast<size_t>(i)] + 0.5 * step * bit;
    return std::round((value - offset) / step) * step + offset;
}

}  // namespace facegen::provenance::detail
