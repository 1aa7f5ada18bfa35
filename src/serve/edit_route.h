#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

#include "generate/session.h"

// Attribute edits on the server: `edit=age=+10,smiling=+2` on GET /v1/face.png and "edit"
// in POST /v1/generate, written as `facegen generate --edit` takes them. Changes only: a
// target (`--set`) scores and re-synthesises each face three times, which a server
// answering many people should not do per request. Built only when src/edit is.
namespace facegen::serve {

struct EditSupport {
    /// Makes `request` apply `changes` and record them in every image's provenance; throws
    /// RequestError 400 naming an unknown attribute or a value out of range. Empty when the
    /// model has no directions.
    std::function<void(generate::Request& request, const std::string& changes)> attach;
    /// For GET /v1/models: the attributes that can be edited (those the directions file
    /// has), each with its units, the limits of a change and the range a slider on the page
    /// offers; the directions' model id; or why edits are not offered.
    nlohmann::json description;
};

/// Loads the attribute directions of `session`'s model: `directions` or, when empty,
/// <model>.directions.safetensors beside it. No such file: edits are not offered (said in
/// the description). A file that is corrupt or made for another model: facegen::Error.
/// Samples the edge of the model's faces through `session` (the mapping network, ~0.1 s):
/// call it before the session is handed to the batcher's worker thread.
EditSupport make_edit_support(generate::Session& session, const std::filesystem::path& directions);

}  // namespace facegen::serve
