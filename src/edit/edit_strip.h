#pragma once

#include <torch/torch.h>

#include <string>

#include "edit/editor.h"
#include "generate/session.h"

// A strip: faces (rows) shown across an attribute's change (columns), as `facegen edit
// --attribute A --range LO:HI --strip-steps N --strip FILE` writes it.
namespace facegen::edit {

struct StripSpec {
    std::string attribute;
    double lo = -2;      // change of the first column, in edit units (years, log-odds, ...)
    double hi = 2;       // change of the last column
    int64_t steps = 7;   // columns, lo to hi evenly
};

/// The change of column `step` (0 .. steps - 1): lo + (hi - lo) * step / (steps - 1).
double strip_change(const StripSpec& spec, int64_t step);

/// The strip of faces ws [rows, num_ws, w_dim], every change made by `editor` (so it stops
/// at the edge of the model's faces when the editor knows it) and synthesised with const
/// noise: uint8 [rows * R, steps * R, C], row r = face r (core::make_image_grid). Throws
/// facegen::Error for an unknown attribute, steps below 2 or lo not below hi.
torch::Tensor render_strip(generate::Session& session, Editor& editor, const torch::Tensor& ws, const StripSpec& spec);

/// The strip's note for provenance: "strip of 5 steps smiling=-3..smiling=+3 (kept: ...;
/// directions for model <id>)".
std::string describe_strip(const Editor& editor, const StripSpec& spec);

}  // namespace facegen::edit
