#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <filesystem>
#include <functional>

#include "generate/session.h"
#include "serve/api.h"
#include "serve/request_parsing.h"

// GET /v1/sheet.png?seed=&psi=&variations=&steps=: the character sheet of a face (one row
// per variation, the original in the middle, every face kept the same person by the
// identity network: edit/character_sheet.h), for the page's "More of this person". Built
// only when src/edit is. A sheet is a few dozen faces plus the identity network, about a
// second of CPU; it is made by its own session of the model (the batcher's belongs to its
// worker thread), one at a time: a request that finds a sheet in the making gets a 503
// with Retry-After.
namespace facegen::serve {

struct SheetRoute {
    /// Answers a query; empty when sheets are not offered (see description).
    std::function<HttpResponse(const QueryParams& params)> handle;
    /// For GET /v1/models: available, the variations and the default ones, the identity
    /// limit; or why sheets are not offered.
    nlohmann::json description;
};

/// Sheets for `session`'s model with `directions` (empty: beside the model). No directions
/// or no shipped identity network: not offered (said in the description). A directions
/// file that is corrupt or of another model: facegen::Error.
SheetRoute make_sheet_route(const generate::Session& session, const std::filesystem::path& directions,
                            const RequestLimits& limits);

}  // namespace facegen::serve
