#include "edit/stratified_steps.h"

#include <algorithm>
#include <vector>

#include "attributes/catalogue.h"
#include "core/error.h"

namespace facegen::edit {
namespace {

/// Per-face stratum: 2 * ethnicity group + read female; -1 for faces read wearing glasses
/// (they would teach the step to add them: the model's glasses are mostly on older faces).
std::vector<int64_t> strata_of(const torch::Tensor& values) {
    const int64_t gender = attributes::attribute_index("gender");
    const int64_t glasses = attributes::attribute_index("eyeglasses");
    std::vector<int64_t> groups;
    for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
        if (spec.softmax_group == "ethnicity") groups.push_back(attributes::attribute_index(spec.name));
    }
    const torch::Tensor ethnicity = values.index_select(1, torch::tensor(groups, torch::kInt64)).argmax(1);
    std::vector<int64_t> strata(static_cast<size_t>(values.size(0)));
    for (int64_t i = 0; i < values.size(0); ++i) {
        const bool wears_glasses = values[i][glasses].item<double>() > 0;  // log-odds: P > 0.5
        const bool female = values[i][gender].item<double>() > 0;
        strata[static_cast<size_t>(i)] = wears_glasses ? -1 : 2 * ethnicity[i].item<int64_t>() + (female ? 1 : 0);
    }
    return strata;
}

/// Weighted mean over strata of (mean w of `to` - mean w of `from`) / (their mean ages' gap).
std::pair<torch::Tensor, int64_t> step_between(const torch::Tensor& w, const torch::Tensor& age,
                                               const std::vector<int64_t>& strata, double from_lo, double from_hi,
                                               double to_lo, double to_hi, int64_t min_faces) {
    const int64_t n_strata = *std::max_element(strata.begin(), strata.end()) + 1;
    torch::Tensor sum = torch::zeros({w.size(1)}, torch::kFloat64);
    double weights = 0;
    int64_t used = 0;
    for (int64_t s = 0; s < n_strata; ++s) {
        std::vector<int64_t> from, to;
        for (size_t i = 0; i < strata.size(); ++i) {
            if (strata[i] != s) continue;
            const double a = age[static_cast<int64_t>(i)].item<double>();
            if (a >= from_lo && a <= from_hi) from.push_back(static_cast<int64_t>(i));
            if (a >= to_lo && a <= to_hi) to.push_back(static_cast<int64_t>(i));
        }
        if (static_cast<int64_t>(from.size()) < min_faces || static_cast<int64_t>(to.size()) < min_faces) continue;
        const torch::Tensor from_index = torch::tensor(from, torch::kInt64), to_index = torch::tensor(to, torch::kInt64);
        const double years = (age.index_select(0, to_index).mean() - age.index_select(0, from_index).mean()).item<double>();
        if (!(years > 0)) continue;
        const auto weight = static_cast<double>(std::min(from.size(), to.size()));
        sum += weight * (w.index_select(0, to_index).mean(0) - w.index_select(0, from_index).mean(0)) / years;
        weights += weight;
        ++used;
    }
    if (used == 0) return {torch::Tensor(), 0};
    return {sum / weights, used};
}

}  // namespace

StratifiedAgeSteps fit_stratified_age_steps(const torch::Tensor& w, const torch::Tensor& values, const AgeBands& bands) {
    if (w.dim() != 2 || values.dim() != 2 || w.size(0) != values.size(0) ||
        values.size(1) != static_cast<int64_t>(attributes::attribute_catalogue().size())) {
        throw make_error("stratified age steps: expected w [N, w_dim] and readings [N, ",
                         attributes::attribute_catalogue().size(), "], got ", w.sizes(), " and ", values.sizes());
    }
    const torch::Tensor w64 = w.to(torch::kFloat64), values64 = values.to(torch::kFloat64);
    const torch::Tensor age = values64.select(1, attributes::attribute_index("age"));
    const std::vector<int64_t> strata = strata_of(values64);
    StratifiedAgeSteps steps;
    std::tie(steps.older, steps.older_strata) = step_between(w64, age, strata, bands.adult_from, bands.adult_to,
                                                             bands.older_from, bands.older_to, bands.min_faces);
    std::tie(steps.younger, steps.younger_strata) = step_between(w64, age, strata, bands.child_from, bands.child_to,
                                                                 bands.adult_from, bands.adult_to, bands.min_faces);
    const auto missing = [&](const char* side, double lo, double hi) {
        return make_error("stratified age steps: no gender and ethnicity group has ", bands.min_faces,
                          " faces read ", lo, "-", hi, " years and as many read ", bands.adult_from, "-",
                          bands.adult_to, " (", side, "): sample more faces");
    };
    if (steps.older_strata == 0) throw missing("older", bands.older_from, bands.older_to);
    if (steps.younger_strata == 0) throw missing("younger", bands.child_from, bands.child_to);
    return steps;
}

}  // namespace facegen::edit
