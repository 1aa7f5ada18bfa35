#pragma once

#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "serve/batcher.h"
#include "serve/edit_route.h"
#include "serve/metrics.h"
#include "serve/request_parsing.h"

// The HTTP API as plain functions of what a request carries, so that it is independent of
// the HTTP library (server.cpp adapts cpp-httplib to it) and testable without sockets.
namespace facegen::serve {

struct HttpResponse {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

/// A route and the metrics label of every path it answers.
struct Route {
    const char* method;
    const char* path;
};

/// Every route the server answers, as the OpenAPI document lists them ("/" is the page).
inline constexpr Route kRoutes[] = {
    {"GET", "/"},
    {"GET", "/v1/face.png"},
    {"GET", "/v1/sheet.png"},
    {"POST", "/v1/generate"},
    {"POST", "/v1/detect"},
    {"POST", "/v1/project"},
    {"GET", "/v1/models"},
    {"GET", "/v1/openapi.json"},
    {"GET", "/healthz"},
    {"GET", "/metrics"},
};

/// The metrics label of `path`: the route's own path, or "other" (unknown paths would
/// otherwise make unbounded label sets).
std::string route_label(const std::string& path);

class Api {
public:
    Api(Batcher& batcher, Metrics& metrics, RequestLimits limits = {});

    HttpResponse page() const;
    /// PNG bytes of one face; a random seed when the query has none.
    HttpResponse face_png(const QueryParams& params);
    /// JSON with base64 PNGs, their seeds (or latent rows) and provenance.
    HttpResponse generate(const std::string& body);
    HttpResponse models() const;
    HttpResponse openapi() const;
    HttpResponse healthz() const;
    HttpResponse metrics() const;

    const RequestLimits& limits() const { return limits_; }
    /// Says in GET /v1/models that POST /v1/detect answers, and with what evidence.
    void set_detection(std::string description) { detection_ = std::move(description); }
    /// Accepts `edit` on face.png and generate (serve/edit_route.h).
    void set_edits(EditSupport edits) { edits_ = std::move(edits); }
    /// Says in GET /v1/models whether GET /v1/sheet.png answers (serve/sheet_route.h).
    void set_sheets(nlohmann::json description) { sheets_ = std::move(description); }
    /// Says in GET /v1/models whether POST /v1/project answers (serve/project_route.h).
    void set_projection(nlohmann::json description) { projection_ = std::move(description); }
    /// Why POST /v1/project does not answer, as /v1/models says it.
    std::string projection_why() const { return projection_.value("why", std::string("not available")); }

private:
    /// Makes `request` apply `changes` ("" = none); RequestError 400 when edits are not offered.
    void attach_edit(generate::Request& request, const std::string& changes) const;
    std::vector<generate::GeneratedImage> run(generate::Request request);
    uint32_t random_seed();

    Batcher& batcher_;
    Metrics& metrics_;
    RequestLimits limits_;
    std::optional<std::string> detection_;  // absent: built without detection
    EditSupport edits_{{}, {{"available", false}, {"why", "built without src/edit"}}};
    nlohmann::json sheets_ = {{"available", false}, {"why", "built without src/edit"}};
    nlohmann::json projection_ = {{"available", false}, {"why", "built without src/project"}};
    std::mutex random_mutex_;
    std::mt19937 random_;
};

/// A request that cannot be served soon (its connection arrived while every HTTP thread
/// was taken): 503 with Retry-After, like QueueFull.
class Overloaded : public Error {
public:
    using Error::Error;
};

/// {"error": message, "status": status} as JSON.
HttpResponse error_response(int status, const std::string& message);

/// The answer to an exception thrown while answering: RequestError -> its status,
/// QueueFull and Overloaded -> 503 with Retry-After, anything else -> 500 naming what failed.
HttpResponse response_for_exception(std::exception_ptr error);

}  // namespace facegen::serve
