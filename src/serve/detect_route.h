#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "serve/api.h"

// POST /v1/detect: is an uploaded image generated? Built only when src/detect is (it needs
// the dataset tools' image decoders); server.cpp answers 501 otherwise.
namespace facegen::serve {

struct DetectRoute {
    /// POST /v1/detect: `body` is the image file's bytes (JPEG, PNG or WebP; the server takes
    /// them from the raw body or a multipart file part, server.cpp's read_uploaded_bytes); the answer
    /// is detect::to_json's verdict, or 400 naming what is wrong with the upload.
    std::function<HttpResponse(const std::string& body)> handle;
    /// What judges uploads, for GET /v1/models (e.g. "metadata label, watermark, detector
    /// facegen-detector.safetensors (threshold 0.5)").
    std::string description;
};

/// Loads `detector` once (empty: $FACEGEN_DETECTOR or the shipped detector; none at all
/// when `no_detector` or when none ships, leaving labels and watermark as the evidence).
/// Throws facegen::Error naming a detector file that cannot be loaded.
DetectRoute make_detect_route(const std::filesystem::path& detector, bool no_detector);

}  // namespace facegen::serve
