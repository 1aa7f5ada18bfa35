#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "edit/directions.h"
#include "edit/edit_spec.h"
#include "generate/session.h"

// Applying attribute edits to latents: each edited attribute moves w along its direction,
// conditioned so that the kept attributes stay where they were (to first order).
namespace facegen::edit {

class Editor {
public:
    /// `classifier` (may be null) is needed only for targets (absolute edits), which must
    /// know where each face starts.
    Editor(AttributeDirections directions, attributes::AttributeClassifier* classifier,
           std::vector<std::string> kept = default_kept_attributes());

    /// Checks that every edit can be made: known attribute, a direction for it, a
    /// classifier for targets. Throws facegen::Error naming the edit.
    void check(const std::vector<AttributeEdit>& edits) const;

    /// ws [n, num_ws, w_dim] with the changes (relative edits) made, targets left out: no
    /// generation, no classifier (what a server can afford per request).
    torch::Tensor apply_changes(const torch::Tensor& ws, const std::vector<AttributeEdit>& edits) const;

    /// ws [n, num_ws, w_dim] edited (every layer alike). Targets score the faces with
    /// `session` and the classifier and step, three times over.
    torch::Tensor apply(generate::Session& session, const torch::Tensor& ws, const std::vector<AttributeEdit>& edits);

    /// "age=+20,smiling=+1 (kept: gender,...; directions for model <id>)", for provenance.
    std::string describe(const std::vector<AttributeEdit>& edits) const;

    const AttributeDirections& directions() const { return directions_; }

private:
    /// Unit direction of `attribute`, conditioned on the kept ones not among `edited`.
    EditDirection direction_for(const std::string& attribute, const std::vector<AttributeEdit>& edited) const;
    std::vector<std::string> kept_for(const std::vector<AttributeEdit>& edited) const;

    AttributeDirections directions_;
    attributes::AttributeClassifier* classifier_;
    std::vector<std::string> kept_;
};

}  // namespace facegen::edit
