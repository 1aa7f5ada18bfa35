#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "edit/directions.h"
#include "edit/edit_spec.h"
#include "edit/latent_reach.h"
#include "generate/session.h"

// Applying attribute edits to latents: each edited attribute moves w along its direction,
// conditioned so that the kept attributes stay where they were (to first order), and no
// further than the edge of the model's own faces (LatentReach) when the editor knows it.
namespace facegen::edit {

/// What one edit did to one face. `limited`: the edit stopped at the edge of the model's
/// faces (or, for a target, could not get closer than `reached`).
struct EditOutcome {
    AttributeEdit edit;
    /// Changes: the change made, in edit units as the direction predicts it (= the value
    /// unless limited). Targets: the classifier's reading of the edited face.
    double reached = 0;
    bool limited = false;
    /// Limited because the face is at the edge of the model's faces along the direction.
    bool at_edge = false;
};

/// "age=70 reached 58.2 (the model's faces end there)", or "" when nothing was limited.
std::string describe_limits(const std::vector<EditOutcome>& face);

class Editor {
public:
    /// `classifier` (may be null) is needed only for targets (absolute edits), which must
    /// know where each face starts.
    Editor(AttributeDirections directions, attributes::AttributeClassifier* classifier,
           std::vector<std::string> kept = default_kept_attributes());

    /// From now on, edits stop at the edge of the model's faces (see LatentReach).
    void set_reach(LatentReach reach) { reach_.emplace(std::move(reach)); }
    bool has_reach() const { return reach_.has_value(); }

    /// Checks that every edit can be made: known attribute, a direction for it, a
    /// classifier for targets. Throws facegen::Error naming the edit.
    void check(const std::vector<AttributeEdit>& edits) const;

    /// ws [n, num_ws, w_dim] with the changes (relative edits) made, targets left out: no
    /// generation, no classifier (what a server can afford per request). `outcomes`
    /// (optional): one list per face, an entry per change.
    torch::Tensor apply_changes(const torch::Tensor& ws, const std::vector<AttributeEdit>& edits,
                                std::vector<std::vector<EditOutcome>>* outcomes = nullptr) const;

    /// ws [n, num_ws, w_dim] edited (every layer alike). Targets are searched for face by
    /// face: score with `session` and the classifier, step by the slope measured so far,
    /// until the reading is within a tolerance of the target (age: 1 year; probabilities:
    /// 0.2 log-odds) or the face is at the edge of the model's faces; at most
    /// kTargetRounds rounds. `outcomes` as in apply_changes, targets included.
    torch::Tensor apply(generate::Session& session, const torch::Tensor& ws, const std::vector<AttributeEdit>& edits,
                        std::vector<std::vector<EditOutcome>>* outcomes = nullptr);

    static constexpr int kTargetRounds = 6;

    /// "age=+20,smiling=+1 (kept: gender,...; directions for model <id>)", for provenance.
    std::string describe(const std::vector<AttributeEdit>& edits) const;

    const AttributeDirections& directions() const { return directions_; }

private:
    /// Unit direction of `attribute`, conditioned on the kept ones not among `edited`;
    /// `down`: the one that lowers it (age has separate steps each way).
    EditDirection direction_for(const std::string& attribute, const std::vector<AttributeEdit>& edited,
                                bool down = false) const;
    std::vector<std::string> kept_for(const std::vector<AttributeEdit>& edited) const;
    /// float64 [n, 2] step limits along `unit` for ws; (-inf, inf) without a reach.
    torch::Tensor step_limits(const torch::Tensor& ws, const torch::Tensor& unit) const;

    AttributeDirections directions_;
    attributes::AttributeClassifier* classifier_;
    std::vector<std::string> kept_;
    std::optional<LatentReach> reach_;
};

}  // namespace facegen::edit
