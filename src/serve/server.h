#pragma once

#include <torch/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "serve/batcher.h"
#include "serve/request_parsing.h"

// facegen::serve's front door: an HTTP server (cpp-httplib) for the page and the /v1 API
// over one model. Only serve/ knows HTTP; this header does not expose the HTTP library.
namespace facegen::serve {

struct ServerOptions {
    /// Model file; empty = the bundled model.
    std::filesystem::path model;
    torch::Device device = torch::kCPU;
    /// Address to listen on. Default: loopback only
    std::string host = "127.0.0.1";
    /// Port; 0 = any free one (bind() says which). Default: 8080
    int port = 8080;
    BatcherOptions batcher;
    RequestLimits limits;
    /// Seconds a connection may stay silent, inside a request or idle between keep-alive
    /// requests, before it is closed (against slowloris-style clients). Default: 5
    int read_timeout_s = 5;
    /// Largest request body. Default: 8 MiB, room for 64 ws latents of an 18-layer,
    /// 512-wide model written as JSON.
    size_t max_body_bytes = size_t{8} << 20;
    /// Detector for POST /v1/detect; empty = $FACEGEN_DETECTOR or the shipped one.
    std::filesystem::path detector;
    /// Judge uploads by metadata label and watermark only.
    bool no_detector = false;
    /// POST /v1/project (the page's "your photo") is left out.
    bool no_projection = false;
    /// Its optimisation steps: after the encoder's guess and, for a model without an
    /// encoder, from the average face. 0 = the defaults (serve/project_route.h).
    int64_t projection_steps = 0;
    /// Attribute directions for `edit`; empty = <model>.directions.safetensors beside the
    /// model (none there: edits are not offered).
    std::filesystem::path directions;
    /// Connections answered at once; each holds a thread while it waits for its images (and
    /// while it idles between keep-alive requests). A connection beyond them is answered at
    /// once on a shedding thread: 503 with Retry-After for images and uploads, cheap routes
    /// as usual, then closed. 0 = max_queue + max_batch + 8, enough to fill the queue and
    /// still answer /healthz.
    int http_threads = 0;
};

class Server {
public:
    /// Loads the model and starts the generating thread; throws facegen::Error naming the
    /// file or the option value that is wrong.
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds the listening socket and returns its port; throws facegen::Error naming the
    /// address when it cannot (in use, not this machine's).
    int bind();
    /// Answers requests until stop(). Call bind() first.
    void listen();
    /// listen() until SIGINT or SIGTERM arrives (catch_stop_signals() must have run),
    /// then stops.
    void listen_until_signal();
    /// Stops listen(); safe from any thread.
    void stop();

    /// http://host:port/ once bound.
    std::string url() const;
    const generate::Session& session() const;
    const ServerOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Installs SIGINT and SIGTERM handlers that make Server::listen_until_signal() stop
/// the server instead of killing the process.
void catch_stop_signals();

}  // namespace facegen::serve
