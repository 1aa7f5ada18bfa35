#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "output_paths.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "core/png_io.h"
#include "core/progress.h"
#include "metrics/metrics.h"
#include "model/model_file.h"

namespace facegen::app {
namespace {

struct MetricsParams {
    std::string metric = "swd";
    std::string model;
    std::string data;
    std::string split = "all";
    bool real_vs_real = false;
    std::string data_b;
    std::string split_a = "train";
    std::string split_b = "val";
    int64_t num = 10000;
    int64_t num_real = 0;
    double truncation_psi = 1.0;
    std::string inception;
    int64_t feature_dim = 2048;
    int64_t kid_subsets = 100;      // official kernel_inception_distance.py
    int64_t kid_subset_size = 1000;
    std::string pairs;         // nearest: PNG of the closest candidates beside their matches
    int64_t pairs_count = 16;
    int64_t batch = 32;
    int64_t threads = 0;
    std::string device = "cpu";
    uint64_t seed = 0;

    void validate() const {
        const auto kind = metrics::parse_metric_kind(metric);
        if (data.empty()) throw make_error("--data is required (a packed dataset folder)");
        if (real_vs_real && !model.empty()) throw make_error("--real-vs-real compares datasets; drop --model");
        if (!real_vs_real && model.empty()) throw make_error("--model is required (or --real-vs-real)");
        if (!real_vs_real && !data_b.empty()) throw make_error("--data-b is only used with --real-vs-real");
        if (num < 2) throw make_error("--num must be >= 2, got ", num);
        if (num_real < 0) throw make_error("--num-real must be >= 0, got ", num_real);
        if (kind == metrics::MetricKind::SWD && num_real != 0 && num_real != num)
            throw make_error("SWD compares sets of equal size: --num-real ", num_real, " must equal --num ", num,
                             " (or be left out)");
        const bool needs_inception = kind == metrics::MetricKind::FID || kind == metrics::MetricKind::KID;
        if (needs_inception && inception.empty())
            throw make_error(metric, " needs the Inception network: --inception inception-2015-12-05.pt ",
                             "(see docs/metrics.md)");
        if (!(truncation_psi >= 0 && truncation_psi <= 2))
            throw make_error("--truncation-psi must be in [0, 2], got ", truncation_psi);
        if (batch < 1) throw make_error("--batch must be >= 1, got ", batch);
        if (threads < 0) throw make_error("--threads must be >= 0, got ", threads);
        if (feature_dim < 0) throw make_error("--feature-dim must be >= 0, got ", feature_dim);
        if (!pairs.empty() && kind != metrics::MetricKind::Nearest)
            throw make_error("--pairs is only written by --metric nearest");
        if (pairs_count < 1) throw make_error("--pairs-count must be >= 1, got ", pairs_count);
        if (!pairs.empty()) check_output_file(pairs, "--pairs", "pairs.png");
    }

    std::string to_string() const {
        std::ostringstream out;
        out << "metrics: metric=" << metric << (real_vs_real ? " real-vs-real" : "") << " model=" << model
            << " data=" << data;
        if (real_vs_real)
            out << " split-a=" << split_a << " data-b=" << (data_b.empty() ? data : data_b) << " split-b=" << split_b;
        else
            out << " split=" << split << " truncation-psi=" << truncation_psi;
        out << " num=" << num << " num-real=" << num_real << " inception=" << inception
            << " feature-dim=" << feature_dim << " kid-subsets=" << kid_subsets
            << " kid-subset-size=" << kid_subset_size << " pairs=" << pairs << " pairs-count=" << pairs_count
            << " batch=" << batch << " threads=" << threads
            << " device=" << device << " seed=" << seed;
        return out.str();
    }
};

// The `count` candidates closest to the reference, each followed by its nearest reference
// image (mirrored when the mirror was the match), four pairs a row, so that a person can judge
// whether a close match is a copy. Candidates are re-read one at a time (a generator
// regenerates image i from the same seed).
void write_nearest_pairs(const std::string& path, const metrics::ImageSet& reference,
                         const metrics::ImageSet& candidates, const metrics::NearestNeighbours& nearest,
                         int64_t count) {
    const int64_t n = std::min(count, nearest.distance.size(0));
    const auto closest_first = nearest.distance.argsort().narrow(0, 0, n);
    std::vector<torch::Tensor> tiles;  // [H, W, C] uint8 each
    for (int64_t k = 0; k < n; ++k) {
        const int64_t i = closest_first[k].item<int64_t>();
        auto match = reference.read(nearest.index[i].item<int64_t>(), 1)[0].to(torch::kCPU);
        if (nearest.mirrored[i].item<bool>()) match = match.flip({2});
        tiles.push_back(candidates.read(i, 1)[0].to(torch::kCPU).permute({1, 2, 0}));
        tiles.push_back(match.permute({1, 2, 0}));
    }
    const auto grid = core::make_image_grid(torch::stack(tiles), /*n_columns=*/8).contiguous();
    const std::vector<core::PngText> texts = {
        {"Description", "facegen metrics --metric nearest: pairs of (candidate, its nearest reference image), "
                        "closest first. Candidates: " + candidates.description + ". References: " +
                            reference.description + "."}};
    create_output_folder(path);
    core::write_png(path, grid.data_ptr<uint8_t>(), grid.size(1), grid.size(0), grid.size(2), texts);
}

void run_metrics(const MetricsParams& params) {
    params.validate();
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    core::set_cpu_threads(static_cast<int>(params.threads));
    const auto kind = metrics::parse_metric_kind(params.metric);
    const auto device = core::parse_device(params.device);
    const bool swd = kind == metrics::MetricKind::SWD;

    nlohmann::ordered_json out;
    out["metric"] = params.metric;
    metrics::ImageSet set_a, set_b;
    if (params.real_vs_real) {
        // SWD needs equal sizes: both sides get min(num, |a|, |b|) images.
        const std::string data_b = params.data_b.empty() ? params.data : params.data_b;
        if (data_b == params.data && params.split_a == params.split_b)
            throw make_error("--real-vs-real would compare split '", params.split_a, "' of '", params.data,
                             "' with itself: pick another --split-b or a --data-b");
        metrics::DatasetImagesOptions a_options{params.split_a, 0, params.seed};
        metrics::DatasetImagesOptions b_options{params.split_b, 0, params.seed + 1};
        const auto full_a = metrics::dataset_images(params.data, a_options);
        const auto full_b = metrics::dataset_images(data_b, b_options);
        const int64_t n = std::min({params.num, full_a.n_images, full_b.n_images});
        a_options.max_images = swd ? n : (params.num_real > 0 ? params.num_real : 0);
        b_options.max_images = swd ? n : params.num;
        set_a = metrics::dataset_images(params.data, a_options);
        set_b = metrics::dataset_images(data_b, b_options);
        out["mode"] = "real-vs-real";
        out["data"] = params.data;
        out["split_a"] = params.split_a;
        out["data_b"] = data_b;
        out["split_b"] = params.split_b;
    } else {
        auto loaded = model::load_model_file(params.model, device);
        metrics::DatasetImagesOptions real_options{params.split, 0, params.seed};
        const auto full = metrics::dataset_images(params.data, real_options);
        int64_t n_fake = params.num;
        if (swd) {
            n_fake = std::min(params.num, full.n_images);
            if (n_fake < params.num)
                std::fprintf(stderr, "metrics: the %s split has %lld images; SWD uses %lld of each\n",
                             params.split.c_str(), static_cast<long long>(full.n_images),
                             static_cast<long long>(n_fake));
            real_options.max_images = n_fake;
        } else {
            real_options.max_images = params.num_real;
        }
        set_a = metrics::dataset_images(params.data, real_options);
        if (set_a.resolution != loaded.config.resolution || set_a.channels != loaded.config.img_channels)
            std::fprintf(stderr, "metrics: warning: dataset is %lldx%lld, model makes %lldx%lld images\n",
                         static_cast<long long>(set_a.channels), static_cast<long long>(set_a.resolution),
                         static_cast<long long>(loaded.config.img_channels),
                         static_cast<long long>(loaded.config.resolution));
        metrics::GeneratorImagesOptions fake_options;
        fake_options.truncation_psi = params.truncation_psi;
        fake_options.seed = params.seed;
        set_b = metrics::generator_images(loaded.generator, n_fake, fake_options);
        out["mode"] = "model-vs-data";
        out["model"] = params.model;
        out["model_id"] = loaded.metadata.model_id;
        out["data"] = params.data;
        out["split"] = params.split;
        out["truncation_psi"] = params.truncation_psi;
    }
    std::fprintf(stderr, "metrics: a = %s\nmetrics: b = %s\n", set_a.description.c_str(), set_b.description.c_str());

    metrics::MetricOptions options;
    options.metric = kind;
    options.inception = params.inception;
    options.feature_dim = params.feature_dim;
    options.kid.num_subsets = params.kid_subsets;
    options.kid.max_subset_size = params.kid_subset_size;
    options.device = device;
    options.seed = params.seed;
    options.stream.batch_size = params.batch;
    core::ProgressLine progress("metrics " + params.metric);
    core::ProgressReport last;
    options.stream.progress = [&](const core::ProgressReport& report) {
        last = report;
        progress.update(report);
    };
    const auto report = metrics::compute_metric(set_a, set_b, options);
    progress.finish(last);
    if (!params.pairs.empty()) write_nearest_pairs(params.pairs, set_a, set_b, *report.nearest, params.pairs_count);

    nlohmann::ordered_json figures = nlohmann::ordered_json::object();
    for (const auto& [name, value] : report.figures) figures[name] = value;
    out["value"] = report.value();
    out["figures"] = figures;
    out["num_images_a"] = report.n_images_a;
    out["num_images_b"] = report.n_images_b;
    if (kind == metrics::MetricKind::Nearest) {
        out["distance"] = "rms uint8, mirrored references included";
        if (!params.pairs.empty()) out["pairs"] = params.pairs;
    } else if (!swd) {
        out["inception"] = params.inception;
        out["feature_dim"] = report.feature_dim;
    }
    out["seed"] = params.seed;
    out["seconds"] = report.seconds;
    std::cout << out.dump() << std::endl;
}

}  // namespace

void add_metrics_command(CLI::App& app) {
    auto params = std::make_shared<MetricsParams>();
    CLI::App* command = app.add_subcommand(
        "metrics", "Quality metrics of a model against a dataset (SWD and the nearest-neighbour memorisation "
                   "check built in; FID/KID with a supplied Inception network), or of two real sets "
                   "(--real-vs-real). One JSON line on stdout.");
    command->add_option("--metric", params->metric,
                        "swd | fid | kid | nearest (each generated image's distance to its nearest real image)")
        ->capture_default_str();
    command->add_option("--model", params->model, "model file (.safetensors) whose images are measured");
    command->add_option("--data", params->data, "packed dataset folder: the real images");
    command->add_option("--split", params->split, "split of --data used as reals: train | val | all")
        ->capture_default_str();
    command->add_flag("--real-vs-real", params->real_vs_real,
                      "compare two real sets (--data --split-a vs --data-b --split-b): the metric's floor");
    command->add_option("--data-b", params->data_b, "second dataset for --real-vs-real (default: --data)");
    command->add_option("--split-a", params->split_a, "--real-vs-real: split of --data")->capture_default_str();
    command->add_option("--split-b", params->split_b, "--real-vs-real: split of --data-b")->capture_default_str();
    command->add_option("--num", params->num,
                        "generated images (SWD: images per set, capped by the dataset split)")
        ->capture_default_str();
    command->add_option("--num-real", params->num_real,
                        "FID/KID/nearest: real images, random subset (0 = the whole split)")
        ->capture_default_str();
    command->add_option("--truncation-psi", params->truncation_psi, "truncation (official metrics use 1)")
        ->capture_default_str();
    command->add_option("--inception", params->inception, "FID/KID: TorchScript inception-2015-12-05.pt");
    command->add_option("--feature-dim", params->feature_dim, "FID/KID: expected feature size (0 = any)")
        ->capture_default_str();
    command->add_option("--kid-subsets", params->kid_subsets, "KID: number of subsets")->capture_default_str();
    command->add_option("--kid-subset-size", params->kid_subset_size, "KID: maximum subset size")
        ->capture_default_str();
    command->add_option("--pairs", params->pairs,
                        "nearest: write the closest images beside their nearest real images to this PNG");
    command->add_option("--pairs-count", params->pairs_count, "nearest: pairs in --pairs, closest first")
        ->capture_default_str();
    command->add_option("--batch", params->batch, "images per batch")->capture_default_str();
    command->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    command->add_option("--device", params->device, "cpu | cuda | cuda:N")->capture_default_str();
    command->add_option("--seed", params->seed, "seed of every random choice (latents, noise, subsets)")
        ->capture_default_str();
    command->callback([params] { run_metrics(*params); });
}

}  // namespace facegen::app
