// Timing harness of the generator (label `slow`, excluded from CI): prints figures, asserts
// only that the outputs are sane. Compare with the official code in the same time window:
//   /usr/bin/python3 ../shared/tools/peer_stylegan2_ada.py --official OFFICIAL_CHECKOUT --steps 0
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "model/generator.h"

namespace facegen::model {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The comparison config: 64x64, channel_base 4096, channel_max 128, 2 mapping layers.
GeneratorConfig bench_config_64() {
    GeneratorConfig config;
    config.resolution = 64;
    config.channel_base = 4096;
    config.channel_max = 128;
    config.n_mapping_layers = 2;
    return config;
}

class ModelSpeedTest : public ::testing::Test {
protected:
    void SetUp() override {
        torch::manual_seed(0);
        torch::set_num_threads(2);
    }

    // Median seconds of one generate call (mapping with psi 0.7 + synthesis, const noise).
    double time_generate(Generator& g, int64_t batch, int repeats) {
        torch::InferenceMode guard;
        const SynthesisOptions options{NoiseMode::Const, {}};
        const torch::Tensor z = torch::randn({batch, g->config().z_dim});
        torch::Tensor img = g->forward(z, {}, 0.7, std::nullopt, options);  // warm-up
        std::vector<double> times;
        for (int i = 0; i < repeats; ++i) {
            const auto start = std::chrono::steady_clock::now();
            img = g->forward(z, {}, 0.7, std::nullopt, options);
            times.push_back(seconds_since(start));
        }
        EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
        std::sort(times.begin(), times.end());
        return times[times.size() / 2];
    }
};

TEST_F(ModelSpeedTest, Generate64Batched) {
    Generator g(bench_config_64());
    g->eval();
    const double seconds = time_generate(g, /*batch=*/32, /*repeats=*/5);
    std::printf("facegen 64x64 (base 4096, max 128), 2 threads, batch 32: %.1f img/s\n", 32.0 / seconds);
}

TEST_F(ModelSpeedTest, Generate64Batch1Latency) {
    Generator g(bench_config_64());
    g->eval();
    const double seconds = time_generate(g, /*batch=*/1, /*repeats=*/30);
    std::printf("facegen 64x64 (base 4096, max 128), 2 threads, batch 1: %.2f ms/img\n", seconds * 1e3);
}

TEST_F(ModelSpeedTest, Generate1024ConfigF) {
    Generator g(GeneratorConfig{});
    g->eval();
    const double seconds = time_generate(g, /*batch=*/1, /*repeats=*/2);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("facegen 1024x1024 config F, 2 threads, batch 1: %.2f s/img, peak RSS %.0f MiB\n", seconds,
                usage.ru_maxrss / 1024.0);
}

}  // namespace
}  // namespace facegen::model
