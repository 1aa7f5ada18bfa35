#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attributes/classifier.h"
#include "edit/editor.h"
#include "generate/session.h"

// The attribute edits of one command (generate --edit/--set, edit): its directions (checked
// against the model), the classifier when targets need it, and the editor, attached to a
// request so that generation applies them. Edits stop at the edge of the model's faces;
// what was limited is recorded per image and summed up on stderr.
namespace facegen::app {

class EditSetup {
public:
    /// `changes` ("age=+20") and `targets` ("age=70") as typed; `directions_file` and
    /// `classifier_file` "" for the defaults. Throws facegen::Error naming what is wrong
    /// (unknown attribute, value out of range, directions of another model, bad files).
    EditSetup(generate::Session& session, const std::string& changes, const std::string& targets,
              const std::string& directions_file, const std::string& classifier_file);
    EditSetup(const EditSetup&) = delete;
    EditSetup& operator=(const EditSetup&) = delete;

    /// Makes `request` apply the edits (Request::adjust_ws) and record them.
    void attach(generate::Session& session, generate::Request& request);

    /// What was limited for image `index` of the attached request ("" = nothing), for its
    /// provenance: "age=70 reached 58.2 (the edge of the model's faces)".
    std::string limits_of(int64_t index) const;
    /// One stderr line per limited edit ("edit: age=70: 12 of 30 faces reached 52.1..64.0
    /// ..."), nothing when every face got its edit.
    void warn_about_limits() const;

    edit::Editor& editor() { return *editor_; }
    const std::vector<edit::AttributeEdit>& edits() const { return edits_; }

private:
    std::vector<edit::AttributeEdit> edits_;
    std::optional<attributes::AttributeClassifier> classifier_;
    std::unique_ptr<edit::Editor> editor_;
    std::map<int64_t, std::vector<edit::EditOutcome>> outcomes_;  // by image index
};

/// The directions for the session's model: `given`, else <model>.directions.safetensors
/// beside it; throws facegen::Error saying how to make them when there are none.
edit::AttributeDirections load_directions_for(const generate::Session& session, const std::string& given);

}  // namespace facegen::app
