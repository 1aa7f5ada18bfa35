#include "serve/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "serve/api.h"
#include "serve/connection_pool.h"
#ifdef FACEGEN_SERVE_DETECT
#include "serve/detect_route.h"
#endif
#ifdef FACEGEN_SERVE_PROJECT
#include "serve/project_route.h"
#endif
#include "serve/edit_route.h"
#ifdef FACEGEN_SERVE_EDIT
#include "serve/sheet_route.h"
#endif
#include "serve/metrics.h"

namespace facegen::serve {
namespace {

using Clock = std::chrono::steady_clock;

// cpp-httplib answers a connection on one thread from request line to response, and calls
// the logger on that thread after writing: the pre-routing handler stamps the start here.
// A request rejected before routing (malformed request line) has no stamp.
thread_local std::optional<Clock::time_point> t_request_start;

// SIGINT/SIGTERM write their number here (write() is async-signal-safe); the watcher of
// listen_until_signal() reads it and stops the server. Any thread may take the signal.
int g_stop_pipe[2] = {-1, -1};

void on_stop_signal(int signal_number) {
    const char byte = static_cast<char>(signal_number);
    [[maybe_unused]] const ssize_t written = write(g_stop_pipe[1], &byte, 1);
    // A second signal kills at once (a stop waits for connections to finish).
    signal(signal_number, SIG_DFL);
}

void apply(const HttpResponse& from, httplib::Response& to) {
    to.status = from.status;
    to.set_content(from.body, from.content_type);
    for (const auto& [key, value] : from.headers) to.set_header(key, value);
}

/// Runs a route handler, turning whatever it throws into a JSON error: the HTTP edge
/// where exceptions stop.
void answer(httplib::Response& response, const std::function<HttpResponse()>& handler) {
    HttpResponse result;
    try {
        result = handler();
    } catch (...) {
        result = response_for_exception(std::current_exception());
    }
    apply(result, response);
}

/// cpp-httplib's task queue over ConnectionPool: a connection that finds every HTTP
/// thread taken is answered at once by a shedding thread instead of waiting unanswered.
class SheddingTaskQueue : public httplib::TaskQueue {
public:
    SheddingTaskQueue(size_t n_serving, size_t n_shedding) : pool_(n_serving, n_shedding) {}
    void enqueue(std::function<void()> connection) override { pool_.enqueue(std::move(connection)); }
    void shutdown() override { pool_.shutdown(); }

private:
    ConnectionPool pool_;
};

// Threads that answer the connections arriving while every HTTP thread is taken. Each
// answer is quick (503 for what needs the model, or a cheap route) and ends the connection,
// so a few keep up with many clients retrying.
constexpr size_t kSheddingThreads = 8;

/// Refuses what needs the model or the detector on a connection that arrived while every
/// HTTP thread was taken: it could only wait, past the client's patience.
void refuse_when_shedding(int n_http_threads) {
    if (!ConnectionPool::on_shedding_thread()) return;
    throw Overloaded("server busy: all " + std::to_string(n_http_threads) +
                     " HTTP threads are answering other connections; retry later");
}

/// The query of a request target, raw: "/v1/face.png?seed=1&edit=age=+20" -> "seed=1&edit=age=+20".
std::string_view raw_query(const std::string& target) {
    const size_t question = target.find('?');
    return question == std::string::npos ? std::string_view() : std::string_view(target).substr(question + 1);
}

/// The bytes a client uploaded, whatever its Content-Type says: the body as sent, or the
/// file part of a multipart/form-data body (uploaded_file). Read here rather than by
/// cpp-httplib, which parses a body labelled application/x-www-form-urlencoded (what
/// `curl --data-binary` sends by default) as a form and refuses one over 8 KiB with 413.
/// RequestError 413 when the body exceeds `max_bytes`, 400 when it cannot be read.
std::string read_uploaded_bytes(const httplib::Request& request, httplib::Response& response,
                                const httplib::ContentReader& read, size_t max_bytes) {
    const std::string too_large = "request body larger than " + std::to_string(max_bytes) + " bytes";
    bool exceeded = false;  // a chunked body, which has no Content-Length to check up front
    const auto within_limit = [&](size_t size_after) {
        exceeded = exceeded || size_after > max_bytes;
        return !exceeded;
    };
    if (request.is_multipart_form_data()) {
        std::vector<FormPart> parts;
        size_t n_bytes = 0;
        const bool complete = read(
            [&](const httplib::MultipartFormData& header) {
                parts.push_back({header.name, header.filename, {}});
                return true;
            },
            [&](const char* data, size_t size) {
                n_bytes += size;
                if (!within_limit(n_bytes) || parts.empty()) return false;
                parts.back().content.append(data, size);
                return true;
            });
        if (exceeded || response.status == 413) throw RequestError(413, too_large);
        if (!complete) throw RequestError(400, "malformed multipart/form-data body (boundary, part headers or end)");
        return uploaded_file(std::move(parts));
    }
    std::string body;
    const bool complete = read([&](const char* data, size_t size) {
        if (!within_limit(body.size() + size)) return false;
        body.append(data, size);
        return true;
    });
    if (exceeded || response.status == 413) throw RequestError(413, too_large);
    if (!complete) throw RequestError(400, "the request body could not be read (cut short, or bad chunked encoding)");
    return body;
}

/// "." or ".." as a path segment (after percent-decoding, which cpp-httplib has done), or a
/// backslash: nothing here serves files, but such a path is refused outright.
bool leaves_site_root(const std::string& path) {
    if (path.find('\\') != std::string::npos) return true;
    size_t begin = 0;
    while (begin <= path.size()) {
        size_t end = path.find('/', begin);
        if (end == std::string::npos) end = path.size();
        const std::string segment = path.substr(begin, end - begin);
        if (segment == "." || segment == "..") return true;
        begin = end + 1;
    }
    return false;
}

std::string allowed_methods(const std::string& path) {
    std::string methods;
    for (const Route& route : kRoutes) {
        if (path == route.path) methods += std::string(methods.empty() ? "" : ", ") + route.method;
    }
    return methods;
}

/// The JSON error for a status cpp-httplib set itself (no handler wrote a body).
HttpResponse library_error(const httplib::Request& request, int status, size_t max_body_bytes) {
    switch (status) {
        case 400: return error_response(400, "malformed HTTP request");
        case 404: {
            const std::string allowed = allowed_methods(request.path);
            if (!allowed.empty()) {
                HttpResponse response = error_response(
                    405, "method " + request.method + " is not allowed on " + request.path + " (use " + allowed + ")");
                response.headers.emplace_back("Allow", allowed);
                return response;
            }
            return error_response(404, "no route " + request.method + " " + request.path + " (see /v1/openapi.json)");
        }
        case 413:
            return error_response(413, "request body larger than " + std::to_string(max_body_bytes) + " bytes");
        case 414: return error_response(414, "request line too long");
        case 416: return error_response(416, "bad Range header");
        default: return error_response(status, "HTTP error " + std::to_string(status));
    }
}

/// What the server reads before its batcher's worker thread takes the model: the model is
/// loaded once, and the edits' reach is sampled from that session while it is still ours.
struct OpenedModel {
    ServerOptions options;
    generate::Session session;
    EditSupport edits;
};

OpenedModel open_model(ServerOptions options) {
    generate::Session session(options.model, options.device);
    EditSupport edits;
#ifdef FACEGEN_SERVE_EDIT
    edits = make_edit_support(session, options.directions);
#else
    if (!options.directions.empty()) {
        throw make_error("directions file '", options.directions.string(),
                         "' given, but this facegen was built without src/edit");
    }
#endif
    return {std::move(options), std::move(session), std::move(edits)};
}

}  // namespace

struct Server::Impl {
    explicit Impl(ServerOptions options_in) : Impl(open_model(std::move(options_in))) {}

    explicit Impl(OpenedModel opened)
        : options(std::move(opened.options)),
          batcher(std::move(opened.session), options.batcher,
                  [this](int64_t n_images, double seconds) { metrics.observe_batch(n_images, seconds); }),
          api(batcher, metrics, options.limits) {
#ifdef FACEGEN_SERVE_DETECT
        DetectRoute route = make_detect_route(options.detector, options.no_detector);
        detect = std::move(route.handle);
        api.set_detection(route.description);
#endif
#ifdef FACEGEN_SERVE_PROJECT
        if (options.no_projection) {
            api.set_projection({{"available", false}, {"why", "left out (serve --no-projection)"}});
        } else {
            ProjectRouteOptions project_options;
            if (options.projection_steps > 0) {
                project_options.steps_after_encoder = options.projection_steps;
                project_options.steps_without_encoder = options.projection_steps;
            }
            ProjectRoute route = make_project_route(options.model, options.device,
                                                    project_options);
            project = std::move(route.handle);
            api.set_projection(route.description);
        }
#endif
        api.set_edits(std::move(opened.edits));
#ifdef FACEGEN_SERVE_EDIT
        SheetRoute sheets = make_sheet_route(batcher.session(), options.directions, options.limits);
        sheet = std::move(sheets.handle);
        if (!sheet) sheet_unavailable = sheets.description.value("why", sheet_unavailable);
        api.set_sheets(std::move(sheets.description));
#endif
        configure();
        add_routes();
    }

    void configure();
    void add_routes();

    ServerOptions options;
    Metrics metrics;
    Batcher batcher;
    Api api;
    /// POST /v1/detect; empty when facegen was built without src/detect.
    std::function<HttpResponse(const std::string& body)> detect;
    /// POST /v1/project; empty when built without src/project or left out.
    std::function<HttpResponse(const std::string& body)> project;
    /// GET /v1/sheet.png; empty when sheets are not offered, for the reason below.
    std::function<HttpResponse(const QueryParams& params)> sheet;
    std::string sheet_unavailable = "this facegen was built without src/edit";
    httplib::Server http;
    int http_threads = 0;  // resolved from options.http_threads
    int port = -1;
};

void Server::Impl::configure() {
    if (options.read_timeout_s < 1) throw make_error("read timeout ", options.read_timeout_s, " s is less than 1 s");
    if (options.http_threads < 0) throw make_error("HTTP thread count ", options.http_threads, " is negative");
    http_threads = options.http_threads > 0
                       ? options.http_threads
                       : static_cast<int>(options.batcher.max_queue + options.batcher.max_batch + 8);
    http.new_task_queue = [threads = http_threads] {
        return new SheddingTaskQueue(static_cast<size_t>(threads), kSheddingThreads);
    };
    // cpp-httplib's default adds SO_REUSEPORT, which lets a second server bind the same
    // port and silently take half the connections; an address in use must be an error.
    http.set_socket_options([](socket_t fd) {
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http.set_read_timeout(options.read_timeout_s, 0);
    http.set_write_timeout(options.read_timeout_s, 0);
    http.set_keep_alive_timeout(options.read_timeout_s);
    http.set_keep_alive_max_count(1000);
    http.set_payload_max_length(options.max_body_bytes);
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"}});

    http.set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
        t_request_start = Clock::now();
        if (!leaves_site_root(request.path)) return httplib::Server::HandlerResponse::Unhandled;
        apply(error_response(400, "path '" + request.path + "' is refused: it leaves the site root"), response);
        return httplib::Server::HandlerResponse::Handled;
    });
    const size_t max_body_bytes = options.max_body_bytes;
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [max_body_bytes](const httplib::Request& request, httplib::Response& response) {
            if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
            apply(library_error(request, response.status, max_body_bytes), response);
            return httplib::Server::HandlerResponse::Handled;
        }));
    // A shedding thread's connection ends with its answer: the thread is free for the next
    // one. cpp-httplib closes only when the client asks, so ask the client (curl, wrk and
    // browsers close on it); it has added Keep-Alive, which would contradict.
    http.set_post_routing_handler([](const httplib::Request&, httplib::Response& response) {
        if (!ConnectionPool::on_shedding_thread()) return;
        response.headers.erase("Keep-Alive");
        response.set_header("Connection", "close");
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
        apply(response_for_exception(error), response);
    });
    http.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
        std::optional<double> seconds;
        if (t_request_start) seconds = std::chrono::duration<double>(Clock::now() - *t_request_start).count();
        t_request_start.reset();
        metrics.observe_request(route_label(request.path), response.status, seconds);
        if (response.status >= 500 && response.status != 503) {
            std::fprintf(stderr, "serve: %s %s -> %d %s\n", request.method.c_str(), request.path.c_str(),
                         response.status, response.body.c_str());
        }
    });
}

void Server::Impl::add_routes() {
    // Patterns are regular expressions: dots escaped.
    http.Get("/", [this](const httplib::Request&, httplib::Response& res) { answer(res, [&] { return api.page(); }); });
    // face.png reads the raw query: cpp-httplib's req.params splits `edit=age=+20` at
    // every '='.
    http.Get(R"(/v1/face\.png)", [this](const httplib::Request& req, httplib::Response& res) {
        answer(res, [&] {
            refuse_when_shedding(http_threads);
            return api.face_png(parse_query_string(raw_query(req.target)));
        });
    });
    http.Get(R"(/v1/sheet\.png)", [this](const httplib::Request& req, httplib::Response& res) {
        answer(res, [&] {
            if (!sheet) return error_response(501, "no character sheets on this server: " + sheet_unavailable);
            refuse_when_shedding(http_threads);
            return sheet(parse_query_string(raw_query(req.target)));
        });
    });
    // Bodies are read by the handlers (read_uploaded_bytes), whatever their Content-Type,
    // and before anything is refused: an unread body would be taken for the next request.
    http.Post("/v1/generate",
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
                  answer(res, [&] {
                      const std::string body = read_uploaded_bytes(req, res, read, options.max_body_bytes);
                      refuse_when_shedding(http_threads);
                      return api.generate(body);
                  });
              });
    http.Post("/v1/detect",
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
                  answer(res, [&] {
                      const std::string body = read_uploaded_bytes(req, res, read, options.max_body_bytes);
                      if (!detect) return error_response(501, "this facegen was built without detection (src/detect)");
                      refuse_when_shedding(http_threads);
                      return detect(body);
                  });
              });
    http.Post("/v1/project",
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
                  answer(res, [&] {
                      const std::string body = read_uploaded_bytes(req, res, read, options.max_body_bytes);
                      if (!project) {
                          return error_response(501, "no photo projection on this server: " +
                                                         api.projection_why());
                      }
                      refuse_when_shedding(http_threads);
                      return project(body);
                  });
              });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
        answer(res, [&] { return api.models(); });
    });
    http.Get(R"(/v1/openapi\.json)", [this](const httplib::Request&, httplib::Response& res) {
        answer(res, [&] { return api.openapi(); });
    });
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
        answer(res, [&] { return api.healthz(); });
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        answer(res, [&] { return api.metrics(); });
    });
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() = default;

int Server::bind() {
    const ServerOptions& options = impl_->options;
    if (options.port < 0 || options.port > 65535) throw make_error("port ", options.port, " is outside 0..65535");
    const int port = options.port == 0 ? impl_->http.bind_to_any_port(options.host)
                                       : (impl_->http.bind_to_port(options.host, options.port) ? options.port : -1);
    if (port < 0) {
        throw make_error("cannot listen on ", options.host, ":", options.port,
                         " (address in use, or not an address of this machine?)");
    }
    impl_->port = port;
    return port;
}

void Server::listen() {
    if (impl_->port < 0) throw make_error("the server is not bound to a port; call bind() first");
    if (!impl_->http.listen_after_bind()) throw make_error("the server on ", url(), " stopped with an error");
}

void Server::listen_until_signal() {
    std::atomic<bool> done{false};
    std::thread watcher([this, &done] {
        while (!done) {
            pollfd wake{g_stop_pipe[0], POLLIN, 0};
            if (g_stop_pipe[0] < 0 || poll(&wake, 1, /*timeout_ms=*/200) <= 0) continue;
            char signal_number = 0;
            if (read(g_stop_pipe[0], &signal_number, 1) != 1) continue;
            std::fprintf(stderr, "serve: %s, stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
            stop();
            return;
        }
    });
    try {
        listen();
    } catch (...) {
        done = true;
        watcher.join();
        throw;
    }
    done = true;
    watcher.join();
}

void Server::stop() { impl_->http.stop(); }

std::string Server::url() const {
    const std::string& host = impl_->options.host;
    const bool ipv6 = host.find(':') != std::string::npos;
    return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port) + "/";
}

const generate::Session& Server::session() const { return impl_->batcher.session(); }

const ServerOptions& Server::options() const { return impl_->options; }

void catch_stop_signals() {
    if (g_stop_pipe[0] >= 0) return;
    if (pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw make_error("cannot create the stop-signal pipe");
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

}  // namespace facegen::serve
