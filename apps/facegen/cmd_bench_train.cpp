#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "train/bench.h"

namespace facegen::app {

void add_bench_train_command(CLI::App& bench) {
    auto params = std::make_shared<train::BenchTrainOptions>();
    auto device = std::make_shared<std::string>("cpu");
    CLI::App* cmd = bench.add_subcommand(
        "train", "Time training minibatches (the official loop's phases) and print one JSON line");
    cmd->add_option("--resolution", params->resolution, "Image size")->capture_default_str();
    cmd->add_option("--channel-base", params->channel_base, "Channel base")->capture_default_str();
    cmd->add_option("--channel-max", params->channel_max, "Most channels per layer")->capture_default_str();
    cmd->add_option("--map-layers", params->map_layers, "Mapping layers")->capture_default_str();
    cmd->add_option("--z-dim", params->z_dim, "Latent size (= w size)")->capture_default_str();
    cmd->add_option("--batch", params->batch, "Minibatch")->capture_default_str();
    cmd->add_option("--mbstd-group", params->mbstd_group, "Minibatch-stddev group")->capture_default_str();
    cmd->add_option("--steps", params->steps, "Timed minibatches after 2 warm-up ones")->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads")->capture_default_str();
    cmd->add_option("--device", *device, "cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--precision", params->precision, "auto | fp32 | fp16 | bf16 (as facegen train)")->capture_default_str();
    cmd->callback([params, device] {
        if (params->steps < 1) throw make_error("--steps ", params->steps, " must be >= 1");
        if (params->threads < 1) throw make_error("--threads ", params->threads, " must be >= 1");
        params->device = core::parse_device(*device);
        std::printf("%s\n", train::run_train_benchmark(*params).dump().c_str());
    });
}

}  // namespace facegen::app
