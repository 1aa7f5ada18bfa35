#include "edit/edit_strip.h"

#include "attributes/catalogue.h"
#include "core/error.h"
#include "core/image_grid.h"

namespace facegen::edit {
namespace {

void check_strip(const StripSpec& spec) {
    attributes::find_attribute(spec.attribute);
    if (spec.steps < 2) throw make_error("a strip needs at least 2 steps, got ", spec.steps);
    if (!(spec.lo < spec.hi)) throw make_error("strip range ", spec.lo, "..", spec.hi, " is empty: expected LO < HI");
}

}  // namespace

double strip_change(const StripSpec& spec, int64_t step) {
    return spec.lo + (spec.hi - spec.lo) * static_cast<double>(step) / static_cast<double>(spec.steps - 1);
}

torch::Tensor render_strip(generate::Session& session, Editor& editor, const torch::Tensor& ws, const StripSpec& spec) {
    check_strip(spec);
    torch::InferenceMode inference;
    const model::GeneratorConfig& config = session.config();
    const int64_t rows = ws.size(0), side = config.resolution;
    torch::Tensor frames = torch::empty({rows * spec.steps, side, side, config.img_channels}, torch::kUInt8);
    for (int64_t s = 0; s < spec.steps; ++s) {
        const torch::Tensor edited = editor.apply(session, ws, {{spec.attribute, false, strip_change(spec, s)}});
        const torch::Tensor images = session.synthesize(edited, model::NoiseMode::Const);
        for (int64_t r = 0; r < rows; ++r) frames[r * spec.steps + s].copy_(images[r]);
    }
    return core::make_image_grid(frames, spec.steps);
}

std::string describe_strip(const Editor& editor, const StripSpec& spec) {
    const AttributeEdit first{spec.attribute, false, spec.lo}, last{spec.attribute, false, spec.hi};
    const std::string range_text = to_string(first) + ".." + to_string(last);
    return "strip of " + std::to_string(spec.steps) + " steps " +
           editor.describe({first}).replace(0, to_string(first).size(), range_text);
}

}  // namespace facegen::edit
