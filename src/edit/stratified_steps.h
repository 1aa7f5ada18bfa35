#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

// Age steps made from the model's own faces: within each stratum of faces that read the same
// gender and ethnicity group (faces read as wearing glasses left out), the mean w of older
// faces minus the mean w of younger ones, per year of the classifier's reading between them.
//
// Why not the linear model's gradient: fitted on the classifier's readings, the gradient
// finds the cheapest ways to raise the reading (glasses, male features, directions in which
// the model's w hardly vary), and a step along it stops at the edge of the model's faces
// after a few judged years. Means of real (generated) older and younger faces are how the
// model itself draws age. Within a stratum the gender read is the same on both sides, so
// the step does not buy age with maleness the way the pooled means do (the model's older
// faces are mostly men). Aging and de-aging are separate steps: a young adult grows older
// along a different path (grey hair, lines) than the one leading back to a child's face.
namespace facegen::edit {

/// Which faces are compared. Ages are the classifier's readings.
struct AgeBands {
    double child_from = 3, child_to = 14;         // the younger side of the de-aging step
    double adult_from = 18, adult_to = 32;        // young adults: the side both steps share
    double older_from = 45, older_to = 1000;      // the older side of the aging step
    /// A stratum is used only with this many faces on both sides (its means are noisy below).
    int64_t min_faces = 8;
};

/// The steps: w change per year (float64 [w_dim]), and how many strata each came from.
struct StratifiedAgeSteps {
    torch::Tensor older;    // from young adults to older faces
    torch::Tensor younger;  // from children to young adults: stepped backwards to de-age
    int64_t older_strata = 0;
    int64_t younger_strata = 0;
};

/// From the model's faces: w [N, w_dim] and their readings in edit units (as
/// attributes::to_edit_units; columns in catalogue order: age in years, gender, ethnicity
/// groups and eyeglasses as log-odds). Strata are (read female, most likely ethnicity group);
/// each stratum's step is weighted by the smaller of its two sides. Throws facegen::Error
/// naming the side that has no stratum with enough faces.
StratifiedAgeSteps fit_stratified_age_steps(const torch::Tensor& w, const torch::Tensor& values,
                                            const AgeBands& bands = {});

}  // namespace facegen::edit
