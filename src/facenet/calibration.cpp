#include "facenet/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace facegen::facenet {
namespace {

void check_sizes(const char* what, size_t a, size_t b) {
    if (a != b) throw make_error(what, ": ", a, " scores but ", b, " labels");
}

void check_both_classes(const char* what, const std::vector<int>& labels) {
    const auto positives = std::count(labels.begin(), labels.end(), 1);
    if (positives == 0 || positives == static_cast<long>(labels.size())) {
        throw make_error(what, ": needs both generated and real images (got ", positives, " generated of ",
                         labels.size(), ")");
    }
}

double sigmoid(double t) { return t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t)); }

}  // namespace

double Calibration::probability(double logit) const { return sigmoid(scale * logit + offset); }

Calibration fit_platt(const std::vector<double>& logits, const std::vector<int>& labels) {
    check_sizes("fit_platt", logits.size(), labels.size());
    check_both_classes("fit_platt", labels);
    const double n_pos = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
    const double n_neg = static_cast<double>(labels.size()) - n_pos;
    // Platt (1999): targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) instead of 1 and 0.
    const double t_pos = (n_pos + 1) / (n_pos + 2), t_neg = 1 / (n_neg + 2);
    // Cross-entropy against the smoothed targets, computed stably from the margin.
    const auto loss = [&](double a, double b) {
        double sum = 0;
        for (size_t i = 0; i < logits.size(); ++i) {
            const double t = labels[i] == 1 ? t_pos : t_neg;
            const double z = a * logits[i] + b;
            sum += std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::abs(z)));
        }
        return sum;
    };
    double a = 1.0, b = 0.0;
    double current = loss(a, b);
    for (int iter = 0; iter < 100; ++iter) {
        double g_a = 0, g_b = 0, h_aa = 0, h_ab = 0, h_bb = 0;
        for (size_t i = 0; i < logits.size(); ++i) {
            const double p = sigmoid(a * logits[i] + b);
            const double r = p - (labels[i] == 1 ? t_pos : t_neg);
            const double w = std::max(p * (1 - p), 1e-12);
            g_a += r * logits[i];
            g_b += r;
            h_aa += w * logits[i] * logits[i];
            h_ab += w * logits[i];
            h_bb += w;
        }
        h_aa += 1e-9, h_bb += 1e-9;  // keeps the step finite if every logit is equal
        const double det = h_aa * h_bb - h_ab * h_ab;
        const double step_a = (h_bb * g_a - h_ab * g_b) / det;
        const double step_b = (h_aa * g_b - h_ab * g_a) / det;
        // Newton's step can overshoot far from the optimum: halve it until the loss drops
        // (Platt's own procedure, as refined by Lin, Lin and Weng 2007).
        double scale = 1.0;
        while (scale > 1e-10 && !(loss(a - scale * step_a, b - scale * step_b) <= current)) scale /= 2;
        if (scale <= 1e-10) break;
        a -= scale * step_a;
        b -= scale * step_b;
        current = loss(a, b);
        if (std::abs(scale * step_a) < 1e-10 && std::abs(scale * step_b) < 1e-10) break;
    }
    return {a, b};
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
    check_sizes("roc_auc", scores.size(), labels.size());
    check_both_classes("roc_auc", labels);
    // Mann-Whitney U over ranks, tied scores sharing their mean rank.
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return scores[i] < scores[j]; });
    double rank_sum_pos = 0;
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
        const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
        for (size_t k = i; k < j; ++k) {
            if (labels[order[k]] == 1) rank_sum_pos += mean_rank;
        }
        i = j;
    }
    const double n_pos = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
    const double n_neg = static_cast<double>(labels.size()) - n_pos;
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
    check_sizes("average_precision", scores.size(), labels.size());
    check_both_classes("average_precision", labels);
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return scores[i] > scores[j]; });
    const double n_pos = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
    double true_positives = 0, seen = 0, ap = 0;
    for (size_t i = 0; i < order.size();) {
        // Images with equal scores are one threshold: counted together.
        size_t j = i;
        double group_positives = 0;
        while (j < order.size() && scores[order[j]] == scores[order[i]]) group_positives += labels[order[j++]] == 1;
        true_positives += group_positives;
        seen += static_cast<double>(j - i);
        ap += (group_positives / n_pos) * (true_positives / seen);
        i = j;
    }
    return ap;
}

double accuracy_at(const std::vector<double>& probabilities, const std::vector<int>& labels, double threshold) {
    check_sizes("accuracy_at", probabilities.size(), labels.size());
    if (labels.empty()) return 0;
    size_t correct = 0;
    for (size_t i = 0; i < labels.size(); ++i) correct += (probabilities[i] >= threshold) == (labels[i] == 1);
    return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double expected_calibration_error(const std::vector<double>& probabilities, const std::vector<int>& labels, int bins) {
    check_sizes("expected_calibration_error", probabilities.size(), labels.size());
    if (labels.empty() || bins < 1) return 0;
    std::vector<double> sum_p(static_cast<size_t>(bins)), sum_y(static_cast<size_t>(bins)), count(static_cast<size_t>(bins));
    for (size_t i = 0; i < labels.size(); ++i) {
        const auto bin = static_cast<size_t>(std::clamp(static_cast<int>(probabilities[i] * bins), 0, bins - 1));
        sum_p[bin] += probabilities[i];
        sum_y[bin] += labels[i];
        count[bin] += 1;
    }
    double ece = 0;
    for (size_t b = 0; b < sum_p.size(); ++b) ece += std::abs(sum_p[b] - sum_y[b]);
    return ece / static_cast<double>(labels.size());
}

}  // namespace facegen::facenet
