#include "edit/editor.h"

#include <algorithm>
#include <cmath>

#include "attributes/catalogue.h"
#include "core/error.h"

namespace facegen::edit {
namespace {

/// The attribute's value in the units its direction was fitted in (log-odds for probabilities).
double fitted(const attributes::AttributeSpec& spec, double value) {
    if (spec.kind != attributes::AttributeKind::kProbability) return value;
    const double p = std::clamp(value, 1e-4, 1 - 1e-4);
    return std::log(p / (1 - p));
}

}  // namespace

Editor::Editor(AttributeDirections directions, attributes::AttributeClassifier* classifier, std::vector<std::string> kept)
    : directions_(std::move(directions)), classifier_(classifier), kept_(std::move(kept)) {
    for (const std::string& name : kept_) directions_.direction(name);  // a clear error now, not mid-batch
}

std::vector<std::string> Editor::kept_for(const std::vector<AttributeEdit>& edited) const {
    std::vector<std::string> kept;
    for (const std::string& name : kept_) {
        const bool is_edited = std::any_of(edited.begin(), edited.end(),
                                           [&](const AttributeEdit& e) { return same_attribute_group(e.attribute, name); });
        if (!is_edited) kept.push_back(name);
    }
    return kept;
}

EditDirection Editor::direction_for(const std::string& attribute, const std::vector<AttributeEdit>& edited) const {
    return directions_.conditioned(attribute, kept_for(edited));
}

void Editor::check(const std::vector<AttributeEdit>& edits) const {
    for (const AttributeEdit& edit : edits) {
        direction_for(edit.attribute, edits);
        if (edit.absolute && classifier_ == nullptr) {
            throw make_error("edit '", to_string(edit), "' sets a target, which needs the attribute classifier");
        }
    }
}

namespace {

/// Moves every face of ws_out by amounts [n] (W units) along the direction, every layer alike.
void step_along(torch::Tensor& ws_out, const EditDirection& direction, const torch::Tensor& amounts) {
    ws_out += amounts.to(ws_out.device(), torch::kFloat32).view({-1, 1, 1}) *
              direction.unit.to(ws_out.device()).view({1, 1, -1});
}

}  // namespace

torch::Tensor Editor::apply_changes(const torch::Tensor& ws, const std::vector<AttributeEdit>& edits) const {
    check(edits);
    torch::Tensor out = ws.clone();
    for (const AttributeEdit& edit : edits) {
        if (edit.absolute) continue;
        const EditDirection direction = direction_for(edit.attribute, edits);
        step_along(out, direction, torch::full({ws.size(0)}, edit.value / direction.units_per_step, torch::kFloat64));
    }
    return out;
}

torch::Tensor Editor::apply(generate::Session& session, const torch::Tensor& ws, const std::vector<AttributeEdit>& edits) {
    torch::Tensor out = apply_changes(ws, edits);
    // Targets: where each face is now, then the step that takes it there; three times,
    // because the classifier's reading is only roughly linear along the direction.
    for (int round = 0; round < 3; ++round) {
        const bool any_target = std::any_of(edits.begin(), edits.end(), [](const AttributeEdit& e) { return e.absolute; });
        if (!any_target) break;
        const std::vector<attributes::AttributeScores> scores =
            classifier_->score(session.synthesize(out, model::NoiseMode::Const));
        for (const AttributeEdit& edit : edits) {
            if (!edit.absolute) continue;
            const attributes::AttributeSpec& spec = attributes::find_attribute(edit.attribute);
            const auto index = static_cast<size_t>(attributes::attribute_index(edit.attribute));
            const EditDirection direction = direction_for(edit.attribute, edits);
            torch::Tensor amounts = torch::empty({ws.size(0)}, torch::kFloat64);
            for (int64_t i = 0; i < ws.size(0); ++i) {
                const double now = fitted(spec, scores[static_cast<size_t>(i)][index]);
                amounts[i] = (fitted(spec, edit.value) - now) / direction.units_per_step;
            }
            step_along(out, direction, amounts);
        }
    }
    return out;
}

std::string Editor::describe(const std::vector<AttributeEdit>& edits) const {
    std::string kept;
    for (const std::string& name : kept_for(edits)) kept += (kept.empty() ? "" : ",") + name;
    return to_string(edits) + " (kept: " + (kept.empty() ? "none" : kept) + "; directions for model " +
           directions_.model_id() + ")";
}

}  // namespace facegen::edit
