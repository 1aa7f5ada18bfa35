#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "generate/session.h"

// Directions in a model's W space along which an attribute changes (InterFaceGAN, Shen et
// al. 2020): sample many w, score their images with the attribute classifier, fit a linear
// model of each attribute on w. The fitted gradient is the direction; its length says how
// many attribute units one unit of W distance buys. Conditioning removes from a direction
// the directions of attributes that must stay put (an older face, not a more male one).
// Stored in a file beside the model, tied to its model id.
namespace facegen::edit {

inline constexpr const char* kDirectionsFormat = "facegen-directions";
inline constexpr int kDirectionsFormatVersion = 1;

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
    /// "age=+10" moves the reading by about 10 years.
    double response = 1;
};

/// Held fixed while another attribute is edited, unless edited themselves: who the person
/// is (age, gender, ethnicity), glasses, expression and lighting, what people notice first.
const std::vector<std::string>& default_kept_attributes();

/// True for the same attribute or two of one softmax group (the ethnicity groups), which
/// cannot be held fixed while the other moves.
bool same_attribute_group(const std::string& a, const std::string& b);

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
    /// (the linear model's, times the measured response).
    /// Throws facegen::Error when nothing of the direction is left.
    EditDirection conditioned(const std::string& attribute, const std::vector<std::string>& kept) const;

private:
    std::string model_id_;
    std::vector<AttributeDirection> directions_;
    nlohmann::json report_ = nlohmann::json::object();
};

/// Where a model's directions live: beside it, "<model stem>.directions.safetensors".
std::filesystem::path directions_path_for(const std::filesystem::path& model_path);

}  // namespace facegen::edit
