#include "serve/project_route.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "data/face_align.h"
#include "data/image_io.h"
#include "project/photo_projector.h"
#include "project/target_face.h"
#include "serve/base64.h"

namespace facegen::serve {

namespace {

using nlohmann::json;

HttpResponse json_answer(int status, const json& body) {
    HttpResponse response;
    response.status = status;
    response.content_type = "application/json";
    response.body = body.dump();
    // Latents of a visitor's face: never kept by a cache on the way.
    response.headers = {{"Cache-Control", "no-store"}};
    return response;
}

std::string aligned_png(const torch::Tensor& pixels) {
    const torch::Tensor hwc = pixels[0].contiguous();  // uint8 [R, R, 3]
    data::RgbImage image(hwc.size(1), hwc.size(0));
    std::memcpy(image.pixels.data(), hwc.data_ptr<uint8_t>(), image.pixels.size());
    return data::encode_png(image);
}

json latents_json(const torch::Tensor& ws) {
    // [1, num_ws, w_dim] as nested arrays, what POST /v1/generate's latents take.
    const torch::Tensor values = ws.to(torch::kFloat64).contiguous();
    json layers = json::array();
    for (int64_t l = 0; l < values.size(1); ++l) {
        const double* row = values[0][l].data_ptr<double>();
        layers.push_back(std::vector<double>(row, row + values.size(2)));
    }
    return {{"space", "ws"}, {"values", json::array({std::move(layers)})}};
}

}  // namespace

ProjectRoute make_project_route(const std::filesystem::path& model, torch::Device device,
                                const ProjectRouteOptions& options) {
    ProjectRoute route;
    if (!std::filesystem::exists(data::kDefaultPredictorPath)) {
        route.description = {{"available", false},
                             {"why", std::string("dlib's landmark model is missing (") + data::kDefaultPredictorPath +
                                         "; Debian: apt-get install libdlib-data)"}};
        route.handle = [why = route.description["why"].get<std::string>()](const std::string&) {
            return error_response(501, "photo projection is not available: " + why);
        };
        return route;
    }
    struct State {
        std::unique_ptr<project::PhotoProjector> projector;
        std::unique_ptr<data::FaceDetector> detector;
        std::unique_ptr<data::LandmarkPredictor> predictor;
        double crop_scale = 0.7;
        // One upload at a time: projecting takes both cores for seconds, and the
        // optimiser's state is the projector's own.
        std::mutex busy;
    };
    auto state = std::make_shared<State>();
    project::PhotoProjectionOptions projection;
    projection.batch = 1;
    projection.projection.steps = options.steps_without_encoder;
    if (options.steps_after_encoder > 0) projection.encoder_steps = options.steps_after_encoder;
    state->projector = std::make_unique<project::PhotoProjector>(model, device, projection);
    state->detector = std::make_unique<data::FaceDetector>(data::kDefaultPredictorPath, /*upsample=*/1);
    state->predictor = std::make_unique<data::LandmarkPredictor>(data::kDefaultPredictorPath);
    state->crop_scale = projection.crop_scale;
    const project::PhotoProjector& projector = *state->projector;
    route.description = {{"available", true},
                         {"start", projector.start()},
                         {"steps", projector.steps()},
                         {"resolution", projector.resolution()},
                         {"max_pixels", options.max_pixels},
                         {"one_at_a_time", true},
                         {"kept", "in memory for the request only; never written or logged"}};

    route.handle = [state, options](const std::string& body) -> HttpResponse {
        if (body.empty()) {
            return error_response(400, "no photo: send the photo's bytes as the request body, or as a multipart/form-data file part");
        }
        std::unique_lock<std::mutex> lock(state->busy, std::try_to_lock);
        if (!lock.owns_lock()) {
            HttpResponse busy = error_response(429, "another photo is being projected; try again in a few seconds");
            busy.headers.push_back({"Retry-After", "5"});
            return busy;
        }
        data::DecodedImage decoded;
        try {
            decoded = data::decode_image(body, "upload");
        } catch (const Error& e) {
            return error_response(400, e.what());
        }
        const int64_t pixels = decoded.image.width * decoded.image.height;
        if (pixels > options.max_pixels) {
            return error_response(413, "photo of " + std::to_string(decoded.image.width) + "x" +
                                           std::to_string(decoded.image.height) + " pixels is larger than " +
                                           std::to_string(options.max_pixels) + " pixels");
        }
        project::PhotoProjector& projector = *state->projector;
        project::TargetFace target;
        try {
            target = project::align_target_face(decoded.image, "upload", projector.resolution(), state->crop_scale,
                                                *state->detector, *state->predictor);
        } catch (const Error& e) {
            return error_response(400, e.what());
        }
        const auto start = std::chrono::steady_clock::now();
        const std::vector<project::ProjectedPhoto> projected = projector.project({target}, {"upload"});
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const project::ProjectedPhoto& photo = projected.front();
        return json_answer(200, {{"model_id", projector.model().metadata.model_id},
                                 {"latents", latents_json(photo.ws)},
                                 {"target", "data:image/png;base64," + encode_base64(aligned_png(target.pixels))},
                                 {"faces_found", target.faces_found},
                                 {"face_size_px", target.face_size_px},
                                 {"start", photo.start},
                                 {"steps", photo.steps},
                                 {"loss", photo.loss},
                                 {"seconds", seconds}});
    };
    return route;
}

}  // namespace facegen::serve
