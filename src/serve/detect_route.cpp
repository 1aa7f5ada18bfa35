#include "serve/detect_route.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>

#include "detect/inspect.h"

namespace facegen::serve {

DetectRoute make_detect_route(const std::filesystem::path& detector_path, bool no_detector) {
    struct State {
        std::optional<detect::Detector> detector;
        // One verdict at a time: decoding a large upload takes memory, and the detector's
        // network is shared.
        std::mutex mutex;
    };
    auto state = std::make_shared<State>();
    DetectRoute route;
    route.description = "metadata label, watermark";
    if (!no_detector) {
        const std::optional<std::filesystem::path> path =
            detector_path.empty() ? detect::default_detector_path() : std::optional(detector_path);
        if (path) {
            state->detector = detect::Detector::load(*path);
            char threshold[32];
            std::snprintf(threshold, sizeof(threshold), "%g", state->detector->info().threshold);
            route.description += ", detector " + path->filename().string() + " (threshold " + threshold + ")";
        }
    }
    route.handle = [state](const std::string& body) {
        if (body.empty()) return error_response(400, "no image: send the image file's bytes as the request body, or as a multipart/form-data file part");
        std::lock_guard<std::mutex> lock(state->mutex);
        detect::Detector* detector = state->detector ? &*state->detector : nullptr;
        const double threshold = detector ? detector->info().threshold : 0.5;
        const detect::ImageVerdict verdict = detect::inspect_image(body, "upload", detector, threshold);
        if (!verdict.error.empty()) return error_response(400, verdict.error);
        HttpResponse response;
        response.content_type = "application/json";
        response.body = detect::to_json(verdict).dump();
        response.headers = {{"Cache-Control", "no-store"}};
        return response;
    };
    return route;
}

}  // namespace facegen::serve
