#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/api.h"

// POST /v1/project: "your photo" on the page. An uploaded photo's largest face is aligned
// and projected into the model (the encoder's guess and a short optimisation), and its
// latents come back for /v1/generate to render and edit. The photo lives in this request's
// memory only: never written, never logged. Built only when src/project is (dlib).
namespace facegen::serve {

struct ProjectRouteOptions {
    /// Optimisation steps: after the encoder's guess (0 = the library's default), and from
    /// the average face when the model has no encoder (slow: ~0.15 s a step at 64 px).
    int64_t steps_after_encoder = 0;
    int64_t steps_without_encoder = 200;
    /// Uploads with more pixels than this are refused (decoding takes memory).
    int64_t max_pixels = 40'000'000;
};

struct ProjectRoute {
    /// `body`: the photo's bytes (JPEG, PNG, WebP). 200 with the latents, 400 for what is
    /// wrong with the photo (no face, too small, not an image), 413 for too many pixels, 429
    /// while another upload is being projected.
    std::function<HttpResponse(const std::string& body)> handle;
    /// For GET /v1/models: available or why not, the start and steps, the limits.
    nlohmann::json description;
};

/// Loads the model (with D), the identity network, the encoder and dlib's landmark model
/// once. When something projection needs is missing, the route answers 501 and the
/// description says why; a damaged file is a facegen::Error naming it.
ProjectRoute make_project_route(const std::filesystem::path& model, torch::Device device,
                                const ProjectRouteOptions& options);

}  // namespace facegen::serve
