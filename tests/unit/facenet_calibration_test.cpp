// Calibration and the figures that judge a detector: AUC, accuracy, calibration error.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/random_stream.h"
#include "facenet/calibration.h"

namespace facegen::facenet {
namespace {

TEST(FacenetCalibrationTest, AucOfPerfectReversedAndTiedScores) {
    EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
    EXPECT_DOUBLE_EQ(roc_auc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}), 0.0);
    EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1}), 0.5);
    // One of the four real-generated pairs is ordered wrongly.
    EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.6, 0.5, 0.9}, {0, 0, 1, 1}), 0.75);
}

TEST(FacenetCalibrationTest, AveragePrecisionAsScikitLearnComputesIt) {
    EXPECT_DOUBLE_EQ(average_precision({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
    // scikit-learn: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
    EXPECT_NEAR(average_precision({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 5.0 / 6.0, 1e-12);
    // All tied: precision is the share of positives.
    EXPECT_DOUBLE_EQ(average_precision({0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 0}), 0.25);
}

TEST(FacenetCalibrationTest, PlattScalingRecoversAKnownLogisticModel) {
    // Labels drawn from P(generated) = sigmoid(0.5 * logit - 1): the fit should find it.
    core::RandomStream stream(3);
    std::vector<double> logits;
    std::vector<int> labels;
    for (int i = 0; i < 40000; ++i) {
        const double logit = 8.0 * stream.next_uniform() - 2.0;
        const double p = 1.0 / (1.0 + std::exp(-(0.5 * logit - 1.0)));
        logits.push_back(logit);
        labels.push_back(stream.next_uniform() < p ? 1 : 0);
    }
    const Calibration fit = fit_platt(logits, labels);
    EXPECT_NEAR(fit.scale, 0.5, 0.03);
    EXPECT_NEAR(fit.offset, -1.0, 0.06);
    std::vector<double> probabilities;
    for (double logit : logits) probabilities.push_back(fit.probability(logit));
    EXPECT_LT(expected_calibration_error(probabilities, labels), 0.02);
}

TEST(FacenetCalibrationTest, SeparatedDataGivesAFiniteSteepFit) {
    const Calibration fit = fit_platt({-3, -2, -1, 1, 2, 3}, {0, 0, 0, 1, 1, 1});
    EXPECT_TRUE(std::isfinite(fit.scale) && std::isfinite(fit.offset));
    EXPECT_GT(fit.probability(2), 0.7);
    EXPECT_LT(fit.probability(-2), 0.3);
}

TEST(FacenetCalibrationTest, AccuracyCountsVerdictsAtTheThreshold) {
    EXPECT_DOUBLE_EQ(accuracy_at({0.2, 0.5, 0.7, 0.4}, {0, 1, 1, 1}, 0.5), 0.75);
    EXPECT_DOUBLE_EQ(accuracy_at({0.2, 0.5, 0.7, 0.4}, {0, 1, 1, 1}, 0.3), 1.0);
}

TEST(FacenetCalibrationTest, OneClassOrMismatchedSizesAreErrors) {
    EXPECT_THROW(roc_auc({0.1, 0.2}, {1, 1}), Error);
    EXPECT_THROW(fit_platt({0.1, 0.2}, {0, 0}), Error);
    EXPECT_THROW(roc_auc({0.1, 0.2, 0.3}, {0, 1}), Error);
}

}  // namespace
}  // namespace facegen::facenet
