// facegen bench generate: generation throughput measured the way the peer script of
// bench/compare_generate.py times the official code, printed as one JSON line.
// `bench train` is added under `bench` by cmd_bench_train.cpp (training engineer).
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "facegen/core/version.h"
#include "model/flops.h"
#include "model/generator.h"
#include "model/model_file.h"

namespace facegen::app {
namespace {

struct BenchGenerateParams {
    // Defaults = the project's target config (64x64, as the peer script's defaults).
    int64_t resolution = 64;
    int64_t channel_base = 4096;
    int64_t channel_max = 128;
    int64_t map_layers = 2;
    int64_t z_dim = 512;      // w_dim = z_dim, as the yardstick builds it
    std::string model;        // instead of the architecture options: time this model file
    int64_t batch = 32;
    int threads = 2;
    std::string device = "cpu";
    double min_seconds = 3.0;
    int64_t min_calls = 5;

    void validate() const {
        if (batch < 1) throw make_error("bad --batch ", batch, ": expected 1 or more");
        if (threads < 0) throw make_error("bad --threads ", threads, ": expected 0 (all cores) or more");
        if (!std::isfinite(min_seconds) || min_seconds < 0) {
            throw make_error("bad --min-seconds ", min_seconds, ": expected a number >= 0");
        }
        if (min_calls < 1) throw make_error("bad --min-calls ", min_calls, ": expected 1 or more");
    }

    std::string to_string() const {
        std::ostringstream s;
        s << "bench generate: resolution=" << resolution << " channel_base=" << channel_base
          << " channel_max=" << channel_max << " map_layers=" << map_layers << " z_dim=" << z_dim
          << " model=" << model << " batch=" << batch << " threads=" << threads << " device=" << device
          << " min_seconds=" << min_seconds << " min_calls=" << min_calls;
        return s.str();
    }
};

constexpr double kBenchTruncationPsi = 0.7;  // what the yardstick times

/// Median seconds of one generator call on `n` latents (psi 0.7, const noise), after one
/// warm-up call, over repeated calls for at least `min_seconds` and `min_calls`: the
/// yardstick's method.
double median_call_seconds(model::Generator& generator, int64_t n, torch::Device device, double min_seconds,
                           int64_t min_calls) {
    torch::manual_seed(0);
    const torch::Tensor z = torch::randn({n, generator->config().z_dim}).to(device);
    model::SynthesisOptions options;
    options.noise_mode = model::NoiseMode::Const;
    auto call = [&] {
        torch::Tensor img = generator->forward(z, torch::Tensor(), kBenchTruncationPsi, std::nullopt, options);
        if (device.is_cuda()) torch::cuda::synchronize();
        return img;
    };
    using Clock = std::chrono::steady_clock;
    call();
    std::vector<double> times;
    const auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds ||
           static_cast<int64_t>(times.size()) < min_calls) {
        const auto t0 = Clock::now();
        call();
        times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

double round_to(double value, int digits) {
    const double scale = std::pow(10.0, digits);
    return std::round(value * scale) / scale;
}

void run_bench_generate(const BenchGenerateParams& params) {
    params.validate();
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    const torch::Device device = core::parse_device(params.device);
    core::set_cpu_threads(params.threads);

    model::Generator generator{nullptr};
    std::string model_id;
    if (!params.model.empty()) {
        model::LoadedModel loaded = model::load_model_file(params.model, device);
        generator = loaded.generator;
        model_id = loaded.metadata.model_id;
    } else {
        model::GeneratorConfig config;
        config.resolution = params.resolution;
        config.channel_base = params.channel_base;
        config.channel_max = params.channel_max;
        config.n_mapping_layers = params.map_layers;
        config.z_dim = params.z_dim;
        config.w_dim = params.z_dim;
        torch::manual_seed(0);
        generator = model::Generator(config);  // random weights: timing does not depend on them
        generator->to(device);
        generator->eval();
    }
    const model::GeneratorConfig& config = generator->config();
    int64_t n_parameters = 0;
    for (const auto& p : generator->parameters()) n_parameters += p.numel();

    torch::InferenceMode inference;
    std::fprintf(stderr, "bench generate: timing batch %lld ...\n", static_cast<long long>(params.batch));
    const double batched = median_call_seconds(generator, params.batch, device, params.min_seconds, params.min_calls);
    std::fprintf(stderr, "bench generate: timing batch 1 ...\n");
    const double single = median_call_seconds(generator, 1, device, params.min_seconds, params.min_calls);

    nlohmann::json result;
    result["system"] = "facegen";
    result["version"] = kVersion;
    result["torch"] = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                      std::to_string(TORCH_VERSION_PATCH);
    result["device"] = device.str();
    result["threads"] = core::cpu_threads();
    if (!model_id.empty()) result["model_id"] = model_id;
    result["resolution"] = config.resolution;
    result["channel_base"] = config.channel_base;
    result["channel_max"] = config.channel_max;
    result["map_layers"] = config.n_mapping_layers;
    result["z_dim"] = config.z_dim;
    result["batch"] = params.batch;
    result["params"] = n_parameters;
    result["G_params_M"] = round_to(n_parameters / 1e6, 3);
    result["generate_images_per_s_batched"] = round_to(params.batch / batched, 3);
    result["generate_ms_per_image_batch1"] = round_to(single * 1000, 2);
    result["peak_rss_MiB"] = round_to(peak_rss_mib(), 1);
    result["flops_per_image"] = std::round(model::generator_forward_flops(config));
    std::printf("%s\n", result.dump().c_str());
}

}  // namespace

void add_bench_command(CLI::App& app) {
    CLI::App* bench = app.add_subcommand("bench", "Benchmarks that print one JSON line of figures");
    bench->require_subcommand(1);

    auto params = std::make_shared<BenchGenerateParams>();
    CLI::App* cmd = bench->add_subcommand(
        "generate", "Time generation (warm-up, then the median of repeated calls; psi 0.7, const noise)");
    cmd->add_option("--resolution", params->resolution, "Output resolution (random weights)")->capture_default_str();
    cmd->add_option("--channel-base", params->channel_base, "Channels at resolution r = min(base / r, max)")
        ->capture_default_str();
    cmd->add_option("--channel-max", params->channel_max, "Largest channel count")->capture_default_str();
    cmd->add_option("--map-layers", params->map_layers, "Mapping network layers")->capture_default_str();
    cmd->add_option("--z-dim", params->z_dim, "z and w size")->capture_default_str();
    cmd->add_option("--model", params->model, "Time this model file instead of a random-weight architecture");
    cmd->add_option("--batch", params->batch, "Images per call for the batched figure")->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->add_option("--device", params->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--min-seconds", params->min_seconds, "Time each figure over at least this long")
        ->capture_default_str();
    cmd->add_option("--min-calls", params->min_calls, "...and over at least this many calls")->capture_default_str();
    cmd->callback([params] { run_bench_generate(*params); });
}

}  // namespace facegen::app
