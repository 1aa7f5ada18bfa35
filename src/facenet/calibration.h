#pragma once

#include <vector>

// Turning a binary classifier's raw scores into probabilities, and the figures that judge
// it (the detector's, the attribute classifier's). A detector's logit is not a probability:
// CNNDetection reached AP 98-99 on StyleGAN2 yet 68-87% accuracy at its fixed 0.5
// threshold, because its scores were not calibrated.
namespace facegen::facenet {

/// Platt scaling: P(positive) = 1 / (1 + exp(-(scale * logit + offset))).
struct Calibration {
    double scale = 1.0;
    double offset = 0.0;

    double probability(double logit) const;
};

/// Fits Platt scaling by Newton's method on held-out logits with labels (1 = positive, e.g. generated),
/// with Platt's smoothed targets so that perfectly separated data still gives a finite fit.
/// Throws facegen::Error when the sizes differ or either class is missing.
Calibration fit_platt(const std::vector<double>& logits, const std::vector<int>& labels);

/// Area under the ROC curve (ties count half). Throws facegen::Error when a class is missing.
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

/// Average precision (area under the precision-recall curve, step-wise over distinct
/// scores, as scikit-learn computes it): the figure CNNDetection reports. Throws
/// facegen::Error when a class is missing.
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

/// Share of correct verdicts, positive when probability >= threshold.
double accuracy_at(const std::vector<double>& probabilities, const std::vector<int>& labels, double threshold);

/// Expected calibration error over `bins` equal-width probability bins: the mean gap
/// between the predicted probability and the observed share of positives.
double expected_calibration_error(const std::vector<double>& probabilities, const std::vector<int>& labels, int bins = 10);

}  // namespace facegen::facenet
