#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "attributes/catalogue.h"
#include "attributes/classifier.h"
#include "core/progress.h"
#include "edit/editor.h"
#include "generate/session.h"

// What edits do to held-out faces, as `facegen edit measure` reports it: each change made
// conditioned and unconditioned, each target searched for, and the edited faces read again
// by the classifier: how far the edit moves its attribute, how far it drags every other one
// (entanglement), how far the face moves otherwise (pixels, identity), how often it stops at
// the edge of the model's faces, where targets land, and what an edit costs in time.
namespace facegen::edit {

/// Identity descriptors [N, D] of generated faces uint8 [N, R, R, C] (the face-recognition
/// network's), for the identity distances of edited faces; empty: none measured.
using FaceDescriptors = std::function<torch::Tensor(const torch::Tensor& faces)>;

struct EditMeasurementOptions {
    /// Changes, each measured on its own; none: one measured_step per attribute.
    std::vector<std::vector<AttributeEdit>> changes;
    /// Targets, each measured on its own (needs an editor with a classifier).
    std::vector<std::vector<AttributeEdit>> targets;
    int64_t batch = 32;  // faces per generator call
};

/// The change `edit measure` makes to an attribute when none is given, in its edit units:
/// about a spread of the attribute over a model's faces.
double measured_step(const attributes::AttributeSpec& spec);

/// Measures the edits on the faces of `request` (at least 2; each face is also compared with
/// the next, the scale of "someone else"). `editor` makes the conditioned edits and targets;
/// the unconditioned ones use its directions alone, and both stop at the edge of the
/// session's faces. `classifier` reads the faces before and after. Returns the JSON
/// document: model ids, faces, truncation psi, "edits" (per change, conditioned and
/// unconditioned figures), "targets", and "speed_ms_per_image" (plain generation, a change,
/// a target, on this machine). Progress: one report per change or target measured.
nlohmann::json measure_edits(generate::Session& session, const generate::Request& request, Editor& editor,
                             attributes::AttributeClassifier& classifier, const FaceDescriptors& descriptors,
                             const EditMeasurementOptions& options, const core::ProgressCallback& progress = {});

}  // namespace facegen::edit
