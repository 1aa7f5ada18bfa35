#include "serve/edit_route.h"

#include <memory>

#include "attributes/catalogue.h"
#include "edit/editor.h"
#include "serve/request_parsing.h"

namespace facegen::serve {

namespace fs = std::filesystem;

namespace {

/// What a slider for an attribute's change offers on the page, in change units.
struct SliderRange {
    double min = 0;
    double max = 0;
    double step = 0;
    const char* unit = "";  // short, for the value shown beside the slider
};

// The one place the page's slider ranges come from. They are far narrower than the limits
// parse_edits enforces (age +-100 years, log-odds +-10, ...), which only stop nonsense:
// about two spreads of the attribute over the bundled model's faces (age 13 years,
// log-odds 2-6, brightness 0.10, light direction 0.07, pitch 9 degrees), the ranges of the
// strips in docs/attributes.md, beyond which edits stop being linear in W and drag other
// attributes along (+30 years already adds glasses to old faces). Steps give 11-21 stops.
SliderRange suggested_slider(const attributes::AttributeSpec& spec) {
    if (spec.name == "age") return {-30, 30, 5, "years"};
    if (spec.name == "brightness") return {-0.2, 0.2, 0.02, "luma"};
    if (spec.name == "light_direction") return {-0.15, 0.15, 0.03, ""};
    if (spec.name == "yaw") return {-20, 20, 2, "degrees"};
    if (spec.name == "pitch") return {-15, 15, 1.5, "degrees"};
    return {-4, 4, 0.5, "log-odds"};  // +4 takes a face at 50% to 98%
}

nlohmann::json describe_attribute(const attributes::AttributeSpec& spec) {
    const auto [limit_min, limit_max] = edit::allowed_range(spec.name, /*absolute=*/false);
    const SliderRange slider = suggested_slider(spec);
    // A slider that offered a value parse_edits refuses would answer the visitor with 400s.
    TORCH_CHECK(limit_min <= slider.min && slider.max <= limit_max, "slider of ", spec.name, " ", slider.min, "..",
                slider.max, " exceeds its limits ", limit_min, "..", limit_max);
    return {{"name", spec.name},
            {"description", spec.description},
            {"unit", spec.unit},
            {"change_unit", attributes::edit_unit(spec)},
            {"limits", {{"min", limit_min}, {"max", limit_max}}},
            {"slider", {{"min", slider.min}, {"max", slider.max}, {"step", slider.step}, {"unit", slider.unit}}}};
}

bool has_direction(const edit::AttributeDirections& directions, const std::string& attribute) {
    for (const edit::AttributeDirection& direction : directions.directions()) {
        if (direction.attribute == attribute) return true;
    }
    return false;
}

}  // namespace

EditSupport make_edit_support(generate::Session& session, const fs::path& directions) {
    const fs::path path = directions.empty() ? edit::directions_path_for(session.model_path()) : directions;
    EditSupport support;
    if (directions.empty() && !fs::exists(path)) {
        support.description = {{"available", false},
                               {"why", "no attribute directions beside the model (facegen attributes directions)"}};
        return support;
    }
    // Changes need no classifier: the editor only moves w. Served edits stop at the edge of
    // the model's faces as generate --edit does (the same pixels for the same request).
    auto editable = std::make_shared<edit::Editor>(
        edit::AttributeDirections::load(path, session.metadata().model_id), /*classifier=*/nullptr);
    editable->set_reach(edit::LatentReach::sample(session));
    std::shared_ptr<const edit::Editor> editor = editable;
    support.attach = [editor](generate::Request& request, const std::string& changes) {
        std::vector<edit::AttributeEdit> edits;
        try {
            edits = edit::parse_edits(changes, /*absolute=*/false);
            editor->check(edits);
        } catch (const Error& e) {
            throw RequestError(400, std::string("edit: ") + e.what());
        }
        request.adjust_ws = [editor, edits](const torch::Tensor& ws, int64_t) { return editor->apply_changes(ws, edits); };
        request.adjustment = editor->describe(edits);
    };
    nlohmann::json attributes = nlohmann::json::array();
    for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
        if (has_direction(editor->directions(), spec.name)) attributes.push_back(describe_attribute(spec));
    }
    support.description = {{"available", true},
                           {"syntax", "edit=NAME=CHANGE[,NAME=CHANGE...], e.g. age=+10,smiling=+2 (as generate --edit)"},
                           {"directions_model_id", editor->directions().model_id()},
                           {"kept", edit::default_kept_attributes()},
                           {"attributes", attributes}};
    return support;
}

}  // namespace facegen::serve
