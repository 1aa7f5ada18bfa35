#include "edit_setup.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace facegen::app {

namespace fs = std::filesystem;

edit::AttributeDirections load_directions_for(const generate::Session& session, const std::string& given) {
    const fs::path path = given.empty() ? edit::directions_path_for(session.model_path()) : fs::path(given);
    if (given.empty() && !fs::exists(path)) {
        throw make_error("no attribute directions for model '", session.model_path().string(), "' (looked for '",
                         path.string(), "'): make them with facegen attributes directions --model ",
                         session.model_path().string(), ", or give --directions FILE");
    }
    return edit::AttributeDirections::load(path, session.metadata().model_id);
}

EditSetup::EditSetup(generate::Session& session, const std::string& changes, const std::string& targets,
                     const std::string& directions_file, const std::string& classifier_file) {
    if (!changes.empty()) edits_ = edit::parse_edits(changes, /*absolute=*/false);
    if (!targets.empty()) {
        for (edit::AttributeEdit& target : edit::parse_edits(targets, /*absolute=*/true)) {
            for (const edit::AttributeEdit& change : edits_) {
                if (change.attribute == target.attribute) {
                    throw make_error("attribute '", target.attribute, "' is both changed and set: give one");
                }
            }
            edits_.push_back(target);
        }
    }
    const bool any_target = !targets.empty();
    if (any_target || !classifier_file.empty()) {
        const std::optional<fs::path> path =
            classifier_file.empty() ? attributes::default_classifier_path() : fs::path(classifier_file);
        if (!path) {
            throw make_error("targets need the attribute classifier, and none is shipped (models/",
                             attributes::kBundledClassifierFileName, "): give --classifier FILE");
        }
        classifier_.emplace(attributes::AttributeClassifier::load(*path));
    }
    editor_ = std::make_unique<edit::Editor>(load_directions_for(session, directions_file),
                                             classifier_ ? &*classifier_ : nullptr);
    editor_->check(edits_);
    editor_->set_reach(edit::LatentReach::sample(session));
}

void EditSetup::attach(generate::Session& session, generate::Request& request) {
    request.adjust_ws = [this, &session](const torch::Tensor& ws, int64_t begin) {
        std::vector<std::vector<edit::EditOutcome>> outcomes;
        torch::Tensor edited = editor_->apply(session, ws, edits_, &outcomes);
        for (size_t i = 0; i < outcomes.size(); ++i) outcomes_[begin + static_cast<int64_t>(i)] = std::move(outcomes[i]);
        return edited;
    };
    request.adjustment = editor_->describe(edits_);
}

std::string EditSetup::limits_of(int64_t index) const {
    const auto it = outcomes_.find(index);
    return it == outcomes_.end() ? "" : edit::describe_limits(it->second);
}

void EditSetup::warn_about_limits() const {
    for (size_t k = 0; k < edits_.size(); ++k) {
        int64_t limited = 0, at_edge = 0;
        double lo = 0, hi = 0;
        for (const auto& [index, face] : outcomes_) {
            for (const edit::EditOutcome& outcome : face) {
                if (outcome.edit.attribute != edits_[k].attribute || !outcome.limited) continue;
                lo = limited == 0 ? outcome.reached : std::min(lo, outcome.reached);
                hi = limited == 0 ? outcome.reached : std::max(hi, outcome.reached);
                ++limited;
                at_edge += outcome.at_edge;
            }
        }
        if (limited == 0) continue;
        const edit::AttributeEdit& e = edits_[k];
        std::fprintf(stderr,
                     "edit: warning: %s: %lld of %zu face(s) %s %.3g..%.3g%s; their provenance says how far each went\n",
                     edit::to_string(e).c_str(), static_cast<long long>(limited), outcomes_.size(),
                     e.absolute ? "could not reach it and stopped at" : "were limited to changes of", lo, hi,
                     at_edge == limited ? " (the edge of the faces the model draws)"
                     : at_edge > 0    ? " (most at the edge of the faces the model draws)"
                                      : " (the closest the search found)");
    }
}

}  // namespace facegen::app
