#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "edit/stratified_steps.h"
#include "generate/session.h"

// Directions in a model's W space along which an attribute changes (after InterFaceGAN, Shen
// et al. 2020): sample many w, score their images with the attribute classifier, fit a
// linear model of each attribute on w. The fitted gradient says how the attribute changes
// with w; conditioning removes what would move the attributes that must stay put (an older
// face, not a more male one).
//
// The step is not taken along the gradient itself but along the covariance of w times it
// (Sigma g: the way w differs between faces that differ in the attribute, what the
// model's older faces look like). A ridge gradient is Sigma^-1 cov(w, y): it leans on the
// directions in which the model's w hardly vary, and a step along it leaves the model's
// faces after a few years (the shipped file of 2026-12-05 did: +20 years was seven
// standard deviations out along its direction, drawn as smears and read as men). For a given
// predicted change, Sigma g is the shortest step in the Mahalanobis distance of the model's
// w, and conditioning is done in the same metric, so the kept attributes' linear models do
// not move. Stored in a file beside the model, tied to its model id, with the covariance.
//
// Age has its own steps besides (format 3, stratified_steps.h): means of the model's older
// and younger faces within strata of gender and ethnicity, one step to age and one to de-age.
// Where a file has them, age edits take them; the gradient still holds age fixed in other
// edits.
namespace facegen::edit {

inline constexpr const char* kDirectionsFormat = "facegen-directions";
inline constexpr int kDirectionsFormatVersion = 3;
/// Version 1 files (gradients only, steps along the conditioned gradient) and version 2
/// (with the w covariance) are still read. Version 3 adds the age steps, and its covariance
/// is optional (without it, other attributes step along their gradient as in version 1).
inline constexpr int kOldestDirectionsFormatVersion = 1;

/// One attribute's linear model on w: value ~ offset + gradient . w. For probabilities the
/// value is the log-odds (a straight line has no room in 0..1), otherwise the unit itself.
struct AttributeDirection {
    std::string attribute;
    torch::Tensor gradient;  // float64 [w_dim]
    double offset = 0;
    double r2 = 0;           // on held-out samples: how much of the attribute w explains
    double spread = 0;       // standard deviation of the value over the samples
    /// Measured change of the classifier's reading per change the linear model predicts,
    /// stepping held-out faces along the gradient (below 1: the reading follows a step only
    /// partly, as the fit explains only part of it). Edit steps are scaled by it, so that
    /// "age=+10" moves the reading by about 10 years. With separate steps down (below),
    /// this is the response of the step up, and `response_down` that of the step down.
    double response = 1;
    double response_down = 1;
    /// Steps made from the model's faces (age, format 3): w change per unit towards higher
    /// and towards lower values (both pointing up: the step down is taken backwards).
    /// Undefined where the file has none: edits step along the conditioned gradient.
    torch::Tensor step_up, step_down;  // float64 [w_dim]
};

/// Held fixed while another attribute is edited, unless edited themselves: who the person
/// is (age, gender, ethnicity), glasses, expression and lighting, what people notice first.
const std::vector<std::string>& default_kept_attributes();

/// True for the same attribute or two of one softmax group (the ethnicity groups), which
/// cannot be held fixed while the other moves.
bool same_attribute_group(const std::string& a, const std::string& b);

class AttributeDirections;

struct DirectionFitOptions {
    int64_t samples = 20000;
    uint32_t first_seed = 0;
    /// Faces are sampled at this psi (the faces users see and edit), and the fit is on the
    /// truncated w that made each image: the space edits are applied in.
    double truncation_psi = 0.7;
    double ridge = 1e-3;  // relative to the mean eigenvalue of the w covariance
    int64_t batch = 32;
    /// Held-out faces stepped along each direction to measure its response.
    int64_t response_samples = 256;
    /// The response is measured along each direction conditioned on these (minus the
    /// attribute's own group): the directions edits use by default.
    std::vector<std::string> kept = default_kept_attributes();
    /// Not null: keep these directions' linear models (gradients, offsets, R^2, spreads:
    /// fitted with the same options), score only the response faces, and measure the w
    /// covariance and the responses anew. Minutes instead of the full fit's twenty, for
    /// moving a file to a new way of stepping (format 1 to 2).
    const AttributeDirections* reuse_fits = nullptr;
    /// false: store no w covariance, so edits step along the conditioned gradient (format 1's
    /// steps) except where the file has steps of its own (age).
    bool covariance_steps = true;
    /// Age steps from the first this many faces (at most the faces fitted on; with
    /// reuse_fits these are scored too). Left out of the file, with the reason in the
    /// report, when the faces hold no stratum with enough old and young ones.
    int64_t age_step_samples = 20000;
    AgeBands age_bands;
};

/// A direction to edit along: unit vector and the attribute's change per unit step.
struct EditDirection {
    torch::Tensor unit;  // float32 [w_dim]
    double units_per_step = 0;
};

class AttributeDirections {
public:
    /// Samples, scores and fits every attribute of the catalogue. `progress(done, total)`.
    static AttributeDirections fit(generate::Session& session, attributes::AttributeClassifier& classifier,
                                   const DirectionFitOptions& options,
                                   const std::function<void(int64_t, int64_t)>& progress = {});
    /// Loads and checks a directions file; `model_id` non-empty: it must be the model they
    /// were fitted for. Throws facegen::Error naming the file.
    static AttributeDirections load(const std::filesystem::path& path, const std::string& model_id = "");
    void save(const std::filesystem::path& path) const;

    const std::string& model_id() const { return model_id_; }
    const std::vector<AttributeDirection>& directions() const { return directions_; }
    const AttributeDirection& direction(const std::string& attribute) const;
    /// The fit's figures (samples, psi, per-attribute R^2 and spread, seconds).
    const nlohmann::json& report() const { return report_; }

    /// Direction of `attribute` with the gradients of `kept` projected out (so, to first
    /// order, none of them changes), as a unit vector with the attribute's change per step
    /// (the linear model's, times the measured response). With the w covariance (format 2):
    /// Sigma u, u the gradient projected out of the kept ones in the metric of Sigma;
    /// without (format 1): the projected gradient itself.
    /// An attribute with steps of its own (age) takes them instead: `down` picks the step
    /// towards lower values; the unit points up either way. Gender's gradient is projected
    /// out of it (Euclidean) when gender is kept: the strata hold gender only as read male
    /// or female, and within a stratum the model's older faces still read more male. The
    /// other kept attributes are held by the strata (ethnicity, glasses) or not at all.
    /// Throws facegen::Error when nothing of the direction is left.
    EditDirection conditioned(const std::string& attribute, const std::vector<std::string>& kept,
                              bool down = false) const;

    /// float64 [w_dim, w_dim] covariance of the fit's w; undefined for format 1 files.
    const torch::Tensor& w_covariance() const { return w_covariance_; }

private:
    std::string model_id_;
    std::vector<AttributeDirection> directions_;
    torch::Tensor w_covariance_;
    nlohmann::json report_ = nlohmann::json::object();
};

/// Where a model's directions live: beside it, "<model stem>.directions.safetensors".
std::filesystem::path directions_path_for(const std::filesystem::path& model_path);

}  // namespace facegen::edit
