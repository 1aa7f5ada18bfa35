// facegen serve: the "this person does not exist" page and the /v1 REST API, served by
// this binary over one model (src/serve). Flags are parsed and checked here.

#include <cstdio>
#include <sstream>

#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "serve/server.h"

namespace facegen::app {
namespace {

struct ServeParams {
    std::string model;            // "" = the bundled model
    std::string host = "127.0.0.1";
    int port = 8080;              // 0 = any free port
    int64_t max_batch = 16;
    int batch_wait_ms = 5;
    int64_t queue = 64;
    int max_wait_ms = 1000;       // 0 = no bound
    int threads = 0;              // 0 = all logical cores
    std::string device = "cpu";
    int read_timeout_s = 5;
    int http_threads = 0;         // 0 = queue + max-batch + 8
    std::string detector;         // "" = $FACEGEN_DETECTOR or the shipped detector
    bool no_detector = false;
    bool no_projection = false;
    int64_t projection_steps = 0;  // 0 = 40 after the encoder, 200 without one
    std::string directions;       // "" = <model>.directions.safetensors beside the model

    void validate() const {
        if (port < 0 || port > 65535) throw make_error("bad --port ", port, ": expected 0 (any free port)..65535");
        if (max_batch < 1 || max_batch > 1024) throw make_error("bad --max-batch ", max_batch, ": expected 1..1024");
        if (batch_wait_ms < 0 || batch_wait_ms > 10000) {
            throw make_error("bad --batch-wait-ms ", batch_wait_ms, ": expected 0..10000");
        }
        if (queue < 1 || queue > 100000) throw make_error("bad --queue ", queue, ": expected 1..100000");
        if (max_wait_ms < 0 || max_wait_ms > 3600000) {
            throw make_error("bad --max-wait-ms ", max_wait_ms, ": expected 0 (no bound)..3600000");
        }
        if (threads < 0) throw make_error("bad --threads ", threads, ": expected 0 (all cores) or more");
        if (read_timeout_s < 1 || read_timeout_s > 3600) {
            throw make_error("bad --read-timeout-s ", read_timeout_s, ": expected 1..3600");
        }
        if (http_threads < 0 || http_threads > 10000) {
            throw make_error("bad --http-threads ", http_threads, ": expected 0 (auto)..10000");
        }
        if (host.empty()) throw make_error("bad --host '': expected an address such as 127.0.0.1");
        if (no_detector && !detector.empty()) throw make_error("give --detector or --no-detector, not both");
        if (projection_steps < 0 || projection_steps > 5000) {
            throw make_error("bad --projection-steps ", projection_steps, ": expected 0 (the defaults)..5000");
        }
    }

    std::string to_string() const {
        std::ostringstream s;
        s << "serve: model=" << (model.empty() ? "(bundled)" : model) << " host=" << host << " port=" << port
          << " max_batch=" << max_batch << " batch_wait_ms=" << batch_wait_ms << " queue=" << queue
          << " max_wait_ms=" << max_wait_ms
          << " threads=" << threads << " device=" << device << " read_timeout_s=" << read_timeout_s
          << " http_threads=" << http_threads;
        return s.str();
    }
};

bool is_loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void run_serve(const ServeParams& params) {
    params.validate();
    // Ctrl-C and SIGTERM stop the server cleanly instead of killing the process.
    serve::catch_stop_signals();
    serve::ServerOptions options;
    options.model = params.model;
    options.device = core::parse_device(params.device);
    options.host = params.host;
    options.port = params.port;
    options.batcher.max_batch = params.max_batch;
    options.batcher.batch_wait = std::chrono::milliseconds(params.batch_wait_ms);
    options.batcher.max_queue = params.queue;
    options.batcher.max_wait = std::chrono::milliseconds(params.max_wait_ms);
    options.batcher.cpu_threads = params.threads;
    options.read_timeout_s = params.read_timeout_s;
    options.http_threads = params.http_threads;
    options.detector = params.detector;
    options.no_detector = params.no_detector;
    options.no_projection = params.no_projection;
    options.projection_steps = params.projection_steps;
    options.directions = params.directions;
    core::set_cpu_threads(params.threads);
    std::fprintf(stderr, "%s\n", params.to_string().c_str());

    serve::Server server(options);
    server.bind();
    const model::GeneratorConfig& config = server.session().config();
    std::fprintf(stderr, "serve: model %s (%lldx%lld, psi %g) from '%s' on %s, %d CPU thread(s)\n",
                 server.session().metadata().model_id.c_str(), static_cast<long long>(config.resolution),
                 static_cast<long long>(config.resolution), server.session().recommended_truncation_psi(),
                 server.session().model_path().c_str(), options.device.str().c_str(), core::cpu_threads());
    if (!is_loopback(params.host)) {
        std::fprintf(stderr, "serve: warning: listening on %s, beyond this machine; there is no authentication "
                             "and no TLS: put a reverse proxy in front\n", params.host.c_str());
    }
    // The URL is the command's result (stdout): scripts and tests read the port from it.
    std::printf("%s\n", server.url().c_str());
    std::fflush(stdout);
    server.listen_until_signal();
    std::fprintf(stderr, "serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
    auto params = std::make_shared<ServeParams>();
    CLI::App* cmd = app.add_subcommand(
        "serve", "Serve the \"this person does not exist\" page and the /v1 REST API (docs/serve.md)");
    cmd->add_option("--model", params->model,
                    "Model file (.safetensors); default: $FACEGEN_MODEL, else the bundled model");
    cmd->add_option("--host", params->host, "Address to listen on (loopback by default)")->capture_default_str();
    cmd->add_option("--port", params->port, "Port (0 = any free port; the URL is printed)")->capture_default_str();
    cmd->add_option("--max-batch", params->max_batch, "Images per forward pass at most (1 = no batching)")
        ->capture_default_str();
    cmd->add_option("--batch-wait-ms", params->batch_wait_ms,
                    "After the first waiting request, how long to wait for more before a pass")
        ->capture_default_str();
    cmd->add_option("--queue", params->queue, "Requests that may wait; beyond, 503 with Retry-After")
        ->capture_default_str();
    cmd->add_option("--max-wait-ms", params->max_wait_ms,
                    "Refuse (503, Retry-After) a request that would wait longer before its pass starts, "
                    "at the recent images per second (0 = no bound)")
        ->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads for generating (0 = all cores)")->capture_default_str();
    cmd->add_option("--device", params->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--read-timeout-s", params->read_timeout_s,
                    "Seconds a connection may stay silent before it is closed")
        ->capture_default_str();
    cmd->add_option("--detector", params->detector,
                    "Detector for POST /v1/detect; default: $FACEGEN_DETECTOR, else the shipped one");
    cmd->add_flag("--no-detector", params->no_detector, "POST /v1/detect judges by metadata label and watermark only");
    cmd->add_flag("--no-projection", params->no_projection,
                  "Leave out POST /v1/project (the page's 'your photo'), and the networks it loads");
    cmd->add_option("--projection-steps", params->projection_steps,
                    "Optimisation steps of POST /v1/project (0 = 40 after the model's encoder, 200 without one)")
        ->capture_default_str();
    cmd->add_option("--directions", params->directions,
                    "Attribute directions for edit= (default: <model>.directions.safetensors beside the model)");
    cmd->add_option("--http-threads", params->http_threads,
                    "Connections answered at once; beyond, requests for images get 503 at once "
                    "(0 = queue + max-batch + 8)")
        ->capture_default_str();
    cmd->callback([params] { run_serve(*params); });
}

}  // namespace facegen::app
