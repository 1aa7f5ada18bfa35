#include "edit_setup.h"

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

EditSetup::EditSetup(const generate::Session& session, const std::string& changes, const std::string& targets,
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
}

void EditSetup::attach(generate::Session& session, generate::Request& request) {
    request.adjust_ws = [this, &session](const torch::Tensor& ws, int64_t) { return editor_->apply(session, ws, edits_); };
    request.adjustment = editor_->describe(edits_);
}

}  // namespace facegen::app
