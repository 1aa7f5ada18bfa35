#include "serve/api.h"

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include <future>
#include <sstream>

#include "provenance/labelled_png.h"
#include "serve/base64.h"
#include "serve/page.h"

namespace facegen::serve {
namespace {

using nlohmann::json;

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse json_response(const json& value, int status = 200) {
    HttpResponse response;
    response.status = status;
    response.content_type = "application/json";
    response.body = dump(value);
    return response;
}

/// The payload the encoded image's watermark carries, or "none" (image too small to mark).
std::string watermark_text(const generate::GeneratedImage& image) {
    const bool marked = image.provenance.watermark &&
                        provenance::can_watermark(image.pixels.size(1), image.pixels.size(0), image.pixels.size(2));
    return marked ? provenance::to_string(provenance::watermark_payload_for(image.provenance)) : "none";
}

json provenance_json(const provenance::ImageProvenance& info, const std::string& watermark) {
    json out = {
        {"ai_generated", true},
        {"digital_source_type", provenance::kDigitalSourceTypeTrainedAlgorithmic},
        {"model_id", info.model_id},
        {"license", info.license},
        {"latent_space", info.latent_space},
        {"truncation_psi", info.truncation_psi},
        {"truncation_cutoff", info.truncation_cutoff ? json(*info.truncation_cutoff) : json(nullptr)},
        {"noise_mode", info.noise_mode},
        {"software_version", info.software_version},
        {"watermark", watermark},
    };
    if (info.seed) out["seed"] = *info.seed;
    if (info.latent_index) out["latent_index"] = *info.latent_index;
    if (!info.edit.empty()) out["edit"] = info.edit;
    return out;
}

/// 503: come back in a second (the queue drains at the model's speed, tens of images a
/// second on a CPU).
HttpResponse busy_response(const std::string& message) {
    HttpResponse response = error_response(503, message);
    response.headers.emplace_back("Retry-After", "1");
    return response;
}

std::string psi_text(double psi) {
    std::ostringstream s;
    s << psi;
    return s.str();
}

}  // namespace

std::string route_label(const std::string& path) {
    for (const Route& route : kRoutes) {
        if (path == route.path) return route.path;
    }
    return "other";
}

Api::Api(Batcher& batcher, Metrics& metrics, RequestLimits limits)
    : batcher_(batcher), metrics_(metrics), limits_(limits), random_(std::random_device{}()) {}

void Api::attach_edit(generate::Request& request, const std::string& changes) const {
    if (changes.empty()) return;
    if (!edits_.attach) {
        throw RequestError(400, "this server offers no attribute edits (" +
                                    edits_.description.value("why", std::string("built without src/edit")) + ")");
    }
    edits_.attach(request, changes);
}

uint32_t Api::random_seed() {
    std::lock_guard<std::mutex> lock(random_mutex_);
    return static_cast<uint32_t>(random_());
}

std::vector<generate::GeneratedImage> Api::run(generate::Request request) {
    std::future<std::vector<generate::GeneratedImage>> images;
    try {
        images = batcher_.submit(std::move(request));
    } catch (const QueueFull&) {
        throw;
    } catch (const Error& e) {
        // What the model cannot make (a latent shape, a cutoff beyond its layers).
        throw RequestError(400, e.what());
    }
    return images.get();
}

HttpResponse Api::page() const {
    HttpResponse response;
    response.content_type = "text/html; charset=utf-8";
    response.body = std::string(page_html());
    // The page loads nothing from elsewhere; say so to the browser too.
    response.headers = {
        {"Cache-Control", "no-store"},
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:; "
         "connect-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    };
    return response;
}

HttpResponse Api::face_png(const QueryParams& params) {
    const FaceQuery query = parse_face_query(params, limits_);
    generate::Request request;
    request.seeds = {query.seed ? *query.seed : random_seed()};
    request.truncation_psi = query.psi;
    attach_edit(request, query.edit);
    const uint32_t seed = request.seeds.front();
    const std::vector<generate::GeneratedImage> images = run(std::move(request));
    const generate::GeneratedImage& image = images.front();
    HttpResponse response;
    response.content_type = "image/png";
    response.body = provenance::encode_labelled_png(image.pixels, image.provenance);
    response.headers = {
        {"Cache-Control", "no-store"},
        {"X-Facegen-Seed", std::to_string(seed)},
        {"X-Facegen-Truncation-Psi", psi_text(image.provenance.truncation_psi)},
        {"X-Facegen-Model-Id", image.provenance.model_id},
        {"X-Facegen-Watermark", watermark_text(image)},
    };
    return response;
}

HttpResponse Api::generate(const std::string& body) {
    GenerateBody parsed = parse_generate_body(body, limits_);
    generate::Request& request = parsed.request;
    attach_edit(request, parsed.edit);
    const double psi = batcher_.session().truncation_psi_for(request);
    const std::vector<generate::GeneratedImage> images = run(std::move(request));
    json out_images = json::array();
    for (const generate::GeneratedImage& image : images) {
        json item = {
            {"png_base64", encode_base64(provenance::encode_labelled_png(image.pixels, image.provenance))},
            {"provenance", provenance_json(image.provenance, watermark_text(image))},
        };
        if (image.provenance.seed) item["seed"] = *image.provenance.seed;
        if (image.provenance.latent_index) item["latent_index"] = *image.provenance.latent_index;
        out_images.push_back(std::move(item));
    }
    const generate::Session& session = batcher_.session();
    HttpResponse response = json_response({
        {"model_id", session.metadata().model_id},
        {"truncation_psi", psi},
        {"format", "base64"},
        {"images", std::move(out_images)},
    });
    response.headers = {{"Cache-Control", "no-store"}};
    return response;
}

HttpResponse Api::models() const {
    const generate::Session& session = batcher_.session();
    const model::GeneratorConfig& config = session.config();
    const model::ModelMetadata& metadata = session.metadata();
    json provenance = json::parse(metadata.provenance_json, nullptr, /*allow_exceptions=*/false);
    if (provenance.is_discarded()) provenance = metadata.provenance_json;
    json model = {
        {"id", metadata.model_id},
        {"resolution", config.resolution},
        {"img_channels", config.img_channels},
        {"z_dim", config.z_dim},
        {"w_dim", config.w_dim},
        {"num_ws", config.num_ws()},
        {"recommended_truncation_psi", session.recommended_truncation_psi()},
        {"license", metadata.license},
        {"description", metadata.description},
        {"created", metadata.created},
        {"facegen_version", metadata.facegen_version},
        {"provenance", std::move(provenance)},
    };
    return json_response({
        {"models", json::array({std::move(model)})},
        {"limits",
         {{"max_images_per_request", limits_.max_images},
          {"max_psi", limits_.max_psi},
          {"max_batch", batcher_.options().max_batch},
          {"max_queue", batcher_.options().max_queue}}},
        {"detection", detection_ ? json(*detection_) : json(nullptr)},
        {"edits", edits_.description},
        {"sheets", sheets_},
        {"projection", projection_},
    });
}

HttpResponse Api::openapi() const {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = std::string(openapi_json());
    return response;
}

HttpResponse Api::healthz() const {
    HttpResponse response = json_response({
        {"status", "ok"},
        {"model_id", batcher_.session().metadata().model_id},
        {"queue_depth", batcher_.queue_depth()},
    });
    response.headers = {{"Cache-Control", "no-store"}};
    return response;
}

HttpResponse Api::metrics() const {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics_.render(batcher_.queue_depth(), batcher_.options().max_queue);
    response.headers = {{"Cache-Control", "no-store"}};
    return response;
}

HttpResponse error_response(int status, const std::string& message) {
    HttpResponse response = json_response({{"error", message}, {"status", status}}, status);
    response.headers = {{"Cache-Control", "no-store"}};
    return response;
}

HttpResponse response_for_exception(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const RequestError& e) {
        return error_response(e.status(), e.what());
    } catch (const QueueFull& e) {
        return busy_response(e.what());
    } catch (const Overloaded& e) {
        return busy_response(e.what());
    } catch (const c10::Error& e) {
        return error_response(500, std::string("internal error: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
        return error_response(500, std::string("internal error: ") + e.what());
    } catch (...) {
        return error_response(500, "internal error");
    }
}

}  // namespace facegen::serve
