#include "train/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "facegen/core/version.h"
#include "model/flops.h"
#include "train/image_source.h"
#include "train/trainer.h"

namespace facegen::train {

double training_flops_per_image(const TrainOptions& options, int64_t n_steps, int64_t n_greg, int64_t n_dreg) {
    const double g = model::generator_forward_flops(options.generator_config());
    const double d = model::discriminator_forward_flops(options.discriminator_config());
    const double per_step = (3 * g + 2 * d) + (g + 6 * d);
    const double greg = 6 * g / double(options.pl_batch_shrink);
    const double dreg = 6 * d;
    return (double(n_steps) * per_step + double(n_greg) * greg + double(n_dreg) * dreg) / double(n_steps);
}

double measure_matmul_gflops(int64_t n, double min_seconds) {
    torch::NoGradGuard no_grad;
    const auto a = torch::randn({n, n});
    const auto b = torch::randn({n, n});
    auto c = torch::mm(a, b);
    std::vector<double> times;
    const auto start = std::chrono::steady_clock::now();
    while (times.size() < 5 || std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_seconds) {
        const auto t0 = std::chrono::steady_clock::now();
        torch::mm_out(c, a, b);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    return 2.0 * double(n) * double(n) * double(n) / times[times.size() / 2] / 1e9;
}

nlohmann::json run_train_benchmark(const BenchTrainOptions& bench) {
    torch::set_num_threads(bench.threads);
    TrainOptions options;
    options.resolution = bench.resolution;
    options.channel_base = bench.channel_base;
    options.channel_max = bench.channel_max;
    options.map_layers = bench.map_layers;
    options.z_dim = bench.z_dim;
    options.w_dim = bench.z_dim;
    options.batch = bench.batch;
    options.mbstd_group = bench.mbstd_group;
    options.aug = AugmentMode::None;
    options.ema_rampup = 0;
    options.precision = bench.precision;
    options.resolve(/*world_size=*/1, bench.device.is_cuda());
    auto images = torch::rand({bench.batch, 3, bench.resolution, bench.resolution}) * 2 - 1;
    auto data = std::make_shared<InMemoryImageSource>(images, bench.batch, /*seed=*/0, /*rank=*/0, /*world_size=*/1,
                                                      "bench: uniform noise");
    Trainer trainer(options, data, bench.device);
    for (int i = 0; i < 2; ++i) trainer.step();
    trainer.set_position(/*cur_nimg=*/0, /*batch_idx=*/0);
    int64_t n_greg = 0, n_dreg = 0;
    for (int64_t i = 0; i < bench.steps; ++i) {
        n_greg += i % options.g_reg_interval == 0;
        n_dreg += i % options.d_reg_interval == 0;
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < bench.steps; ++i) trainer.step();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double images_per_s = double(bench.steps * bench.batch) / seconds;
    const double flops_per_image = training_flops_per_image(options, bench.steps, n_greg, n_dreg);
    const double roofline_gflops = measure_matmul_gflops();
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const double achieved_gflops = images_per_s * flops_per_image / 1e9;
    return nlohmann::json{
        {"system", "facegen"},
        {"facegen_version", kVersion},
        {"device", bench.device.str()},
        {"threads", bench.threads},
        {"precision", options.precision},
        {"resolution", bench.resolution},
        {"channel_base", bench.channel_base},
        {"channel_max", bench.channel_max},
        {"map_layers", bench.map_layers},
        {"batch", bench.batch},
        {"timed_steps", bench.steps},
        {"greg_phases", n_greg},
        {"dreg_phases", n_dreg},
        {"train_images_per_s", images_per_s},
        {"peak_rss_MiB", double(usage.ru_maxrss) / 1024.0},
        {"flops_per_image", flops_per_image},
        {"flops_per_image_amortized",
         training_flops_per_image(options, 16, 16 / options.g_reg_interval, 16 / options.d_reg_interval)},
        {"achieved_gflops", achieved_gflops},
        {"matmul_roofline_gflops", roofline_gflops},
        {"roofline_fraction", achieved_gflops / roofline_gflops}};
}

}  // namespace facegen::train
