#include "provenance/watermark_code.h"

#include <array>
#include <cmath>
#include <algorithm>
#include <limits>

namespace facegen::provenance::detail {
namespace {

// Generator polynomials of the K=7 rate-1/3 code of 3GPP TS 36.212 sec. 5.1.3.1, octal (used
// there tail-biting; here with a zero tail, which lets the decoder end in state 0).
constexpr std::array<unsigned, kCodeRate> kGenerators = {0133, 0171, 0165};
constexpr unsigned kRegisterMask = (1u << kCodeConstraintLength) - 1;
constexpr int kStates = 1 << (kCodeConstraintLength - 1);

int parity(unsigned x) { return __builtin_parity(x); }

/// Input bit `t` of the zero-terminated sequence: info bits MSB first, then the tail zeros.
int input_bit(uint64_t info, int n_info_bits, int t) {
    return t < n_info_bits ? static_cast<int>((info >> (n_info_bits - 1 - t)) & 1u) : 0;
}

}  // namespace

std::vector<uint8_t> convolutional_encode(uint64_t info, int n_info_bits) {
    std::vector<uint8_t> coded;
    coded.reserve(static_cast<size_t>(coded_length(n_info_bits)));
    unsigned reg = 0;
    for (int t = 0; t < n_info_bits + kCodeTailBits; ++t) {
        reg = ((reg << 1) | static_cast<unsigned>(input_bit(info, n_info_bits, t))) & kRegisterMask;
        for (unsigned g : kGenerators) coded.push_back(static_cast<uint8_t>(parity(reg & g)));
    }
    return coded;
}

ViterbiResult viterbi_decode(const std::vector<double>& soft, int n_info_bits) {
    const int n_steps = n_info_bits + kCodeTailBits;
    constexpr double kUnreached = -std::numeric_limits<double>::infinity();
    // Output pattern (one bit per generator) of each register value, once.
    static const std::array<uint8_t, kRegisterMask + 1> outputs = [] {
        std::array<uint8_t, kRegisterMask + 1> out{};
        for (unsigned reg = 0; reg <= kRegisterMask; ++reg) {
            for (int r = 0; r < kCodeRate; ++r) out[reg] |= static_cast<uint8_t>(parity(reg & kGenerators[static_cast<size_t>(r)]) << r);
        }
        return out;
    }();
    // State = the last K-1 input bits, newest in bit 0. Metric = sum of soft * (+1 for a
    // coded 0, -1 for a coded 1): the correlation that maximum likelihood maximises.
    std::array<double, kStates> metric;
    metric.fill(kUnreached);
    metric[0] = 0;
    std::vector<std::array<uint8_t, kStates>> came_from_high_bit(static_cast<size_t>(n_steps));
    for (int t = 0; t < n_steps; ++t) {
        std::array<double, 1 << kCodeRate> branch{};  // metric of each output pattern at this step
        for (unsigned pattern = 0; pattern < branch.size(); ++pattern) {
            for (int r = 0; r < kCodeRate; ++r) {
                const double s = soft[static_cast<size_t>(t * kCodeRate + r)];
                branch[pattern] += ((pattern >> r) & 1u) ? -s : s;
            }
        }
        std::array<double, kStates> next;
        next.fill(kUnreached);
        const int max_bit = t < n_info_bits ? 1 : 0;  // the tail forces zeros
        for (int state = 0; state < kStates; ++state) {
            if (metric[static_cast<size_t>(state)] == kUnreached) continue;
            for (int bit = 0; bit <= max_bit; ++bit) {
                const unsigned reg = ((static_cast<unsigned>(state) << 1) | static_cast<unsigned>(bit)) & kRegisterMask;
                const double m = metric[static_cast<size_t>(state)] + branch[outputs[reg]];
                const auto to = static_cast<size_t>(reg & (kStates - 1));
                if (m > next[to]) {
                    next[to] = m;
                    // The dropped (oldest) bit tells which predecessor won.
                    came_from_high_bit[static_cast<size_t>(t)][to] = static_cast<uint8_t>(state >> (kCodeConstraintLength - 2));
                }
            }
        }
        metric = next;
    }
    ViterbiResult result;
    int state = 0;  // the tail brings the encoder back to state 0
    for (int t = n_steps - 1; t >= 0; --t) {
        const int bit = state & 1;
        if (t < n_info_bits) result.info |= static_cast<uint64_t>(bit) << (n_info_bits - 1 - t);
        state = (state >> 1) | (came_from_high_bit[static_cast<size_t>(t)][static_cast<size_t>(state)] << (kCodeConstraintLength - 2));
    }
    const std::vector<uint8_t> codeword = convolutional_encode(result.info, n_info_bits);
    for (size_t i = 0; i < codeword.size(); ++i) {
        if ((soft[i] < 0) != (codeword[i] != 0)) ++result.bit_errors;
        result.correlation += codeword[i] != 0 ? -soft[i] : soft[i];
    }
    return result;
}

double log10_false_alarm_bound(int bit_errors, int n_info_bits, int n_check_bits, int n_hypotheses) {
    const int n = coded_length(n_info_bits);
    const auto log10_choose = [n](int i) {
        return (std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0)) / std::log(10.0);
    };
    // log10 sum_{i <= e} C(n, i), summed relative to the largest term (the last one, as
    // e < n/2 wherever the bound is small).
    const int e = std::min(bit_errors, n);
    const double top = log10_choose(e);
    double relative = 0;
    for (int i = 0; i <= e; ++i) relative += std::pow(10.0, log10_choose(i) - top);
    const double log_bound = std::log10(static_cast<double>(n_hypotheses)) +
                             (n_info_bits - n_check_bits - n) * std::log10(2.0) + top + std::log10(relative);
    return std::min(0.0, log_bound);
}

double log10_false_alarm_bound_soft(double correlation, const std::vector<double>& weights, int n_info_bits, int n_check_bits,
                                    int n_hypotheses) {
    double weight_sum = 0;
    for (double a : weights) weight_sum += std::abs(a);
    if (correlation <= 0) return 0.0;
    // No sum of |weights[i]| cos(.) exceeds the weight sum; near it the bound is astronomically
    // small anyway, and the bisection below would need lambda beyond double range.
    const double target = std::min(correlation, weight_sum * (1 - 1e-9));
    const auto slope = [&](double lambda) {  // d/d lambda of sum_i ln I0(lambda a_i)
        double s = 0;
        for (double a : weights) s += std::abs(a) * std::cyl_bessel_i(1.0, lambda * std::abs(a)) / std::cyl_bessel_i(0.0, lambda * std::abs(a));
        return s;
    };
    // The exponent -lambda c + sum ln I0(lambda a_i) is convex in lambda; its minimum is where
    // the slope equals the correlation (the slope rises from 0 towards the weight sum).
    double lo = 0, hi = 1;
    while (slope(hi) < target && hi < 500) hi *= 2;
    for (int iteration = 0; iteration < 50; ++iteration) {
        const double mid = 0.5 * (lo + hi);
        (slope(mid) < target ? lo : hi) = mid;
    }
    const double lambda = 0.5 * (lo + hi);
    double ln_chernoff = -lambda * correlation;
    for (double a : weights) ln_chernoff += std::log(std::cyl_bessel_i(0.0, lambda * std::abs(a)));
    const double log_bound = std::log10(static_cast<double>(n_hypotheses)) + (n_info_bits - n_check_bits) * std::log10(2.0) +
                             ln_chernoff / std::log(10.0);
    return std::min(0.0, log_bound);
}

}  // namespace facegen::provenance::detail
