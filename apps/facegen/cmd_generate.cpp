// facegen generate: images from seeds (z drawn exactly as the official generate.py) or from
// a file of z / w / ws latents, as PNGs labelled AI-generated, and/or one grid PNG.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

#include "commands.h"
#include "output_paths.h"
#include "core/bundled_model.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "core/image_metadata.h"
#include "core/latents.h"
#include "core/numpy_rng.h"
#include "core/png_io.h"
#include "core/progress.h"
#include "core/seed_list.h"
#include "facegen/core/version.h"
#include "model/model_file.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;

struct GenerateParams {
    std::string model;        // "" = the bundled model
    std::string seeds;        // "1-8,42"
    int64_t count = 0;        // 0 = not given; else seeds 0..count-1
    std::string latents;      // .npy / .npz of z, w or ws
    double truncation_psi = core::kDefaultTruncationPsi;
    bool truncation_psi_given = false;  // the note on w latents is for an explicit psi only
    int64_t truncation_cutoff = -1;  // -1 = truncate every layer
    std::string noise_mode = "const";
    std::string out;          // folder for one PNG per image
    std::string grid;         // one PNG with all images
    int64_t grid_columns = 0; // 0 = near-square
    int64_t batch = 8;
    std::string device = "cpu";
    int threads = 0;          // 0 = all logical cores

    void validate() const {
        const int n_sources = !seeds.empty() + (count != 0) + !latents.empty();
        if (n_sources == 0) throw make_error("nothing to generate: give --seeds, --count or --latents");
        if (n_sources > 1) throw make_error("give only one of --seeds, --count and --latents");
        if (count != 0 && (count < 1 || count > core::kMaxSeedCount)) {
            throw make_error("bad --count ", count, ": expected 1..", core::kMaxSeedCount);
        }
        if (!std::isfinite(truncation_psi)) throw make_error("bad --truncation-psi ", truncation_psi, ": expected a finite number");
        if (truncation_cutoff < -1) {
            throw make_error("bad --truncation-cutoff ", truncation_cutoff, ": expected -1 (all layers) or a layer count >= 0");
        }
        if (out.empty() && grid.empty()) throw make_error("no output: give --out DIR and/or --grid FILE.png");
        if (grid_columns < 0) throw make_error("bad --grid-columns ", grid_columns, ": expected 0 (auto) or more");
        if (batch < 1) throw make_error("bad --batch ", batch, ": expected 1 or more");
        if (threads < 0) throw make_error("bad --threads ", threads, ": expected 0 (all cores) or more");
        model::parse_noise_mode(noise_mode);
    }

    std::string to_string() const {
        std::ostringstream s;
        s << "generate: model=" << (model.empty() ? "(bundled)" : model) << " seeds=" << seeds << " count=" << count
          << " latents=" << latents << " truncation_psi=" << truncation_psi << " truncation_cutoff=" << truncation_cutoff
          << " noise_mode=" << noise_mode << " out=" << out << " grid=" << grid << " grid_columns=" << grid_columns
          << " batch=" << batch << " device=" << device << " threads=" << threads;
        return s.str();
    }
};

/// Everything resolved and checked before the first image is made.
struct GenerationJob {
    fs::path model_path;
    std::optional<model::LoadedModel> loaded;  // optional: a Generator has no empty default
    std::vector<uint32_t> seeds;                 // seed mode
    std::optional<core::LatentFile> latents;     // latents mode
    model::NoiseMode noise_mode = model::NoiseMode::Const;
    std::optional<int64_t> truncation_cutoff;
    torch::Device device = torch::kCPU;

    int64_t n_images() const { return latents ? latents->values.size(0) : static_cast<int64_t>(seeds.size()); }
};

void check_outputs(const GenerateParams& params) {
    if (!params.out.empty()) {
        if (fs::exists(params.out) && !fs::is_directory(params.out)) {
            throw make_error("--out '", params.out, "' exists and is not a folder");
        }
        check_writable_folder(params.out, "--out folder");
    }
    if (!params.grid.empty()) check_output_file(params.grid, "--grid", "grid.png");
}

GenerationJob prepare(const GenerateParams& params) {
    params.validate();
    GenerationJob job;
    job.noise_mode = model::parse_noise_mode(params.noise_mode);
    if (!params.seeds.empty()) job.seeds = core::parse_seed_list(params.seeds);
    if (params.count != 0) job.seeds = core::first_seeds(params.count);
    job.device = core::parse_device(params.device);
    core::set_cpu_threads(params.threads);
    check_outputs(params);

    job.model_path = params.model.empty() ? core::find_bundled_model() : fs::path(params.model);
    if (!fs::exists(job.model_path)) throw make_error("model '", job.model_path.string(), "': no such file");
    job.loaded = model::load_model_file(job.model_path, job.device);
    const model::GeneratorConfig& config = job.loaded->config;
    if (config.c_dim != 0) {
        throw make_error("model '", job.model_path.string(), "' is class-conditional (c_dim ", config.c_dim,
                         "); generate supports unconditional models only");
    }
    if (params.truncation_cutoff >= 0) {
        if (params.truncation_cutoff > config.num_ws()) {
            throw make_error("bad --truncation-cutoff ", params.truncation_cutoff, ": this model has ", config.num_ws(),
                             " w layers");
        }
        job.truncation_cutoff = params.truncation_cutoff;
    }
    if (!params.latents.empty()) {
        job.latents = core::read_latent_file(params.latents, {config.z_dim, config.w_dim, config.num_ws()});
        if (job.latents->space != core::LatentSpace::Z && params.truncation_psi_given &&
            params.truncation_psi != 1.0) {
            std::fprintf(stderr, "generate: note: --truncation-psi applies to z latents only; '%s' holds %s vectors\n",
                         params.latents.c_str(), core::to_string(job.latents->space).c_str());
        }
    }
    return job;
}

std::string image_file_name(const GenerationJob& job, int64_t index) {
    char name[64];
    if (job.latents) {
        std::snprintf(name, sizeof(name), "latent%04lld.png", static_cast<long long>(index));
    } else {
        std::snprintf(name, sizeof(name), "seed%04u.png", job.seeds[static_cast<size_t>(index)]);
    }
    return name;
}

core::GeneratedImageInfo image_info(const GenerationJob& job, const GenerateParams& params) {
    core::GeneratedImageInfo info;
    info.model_id = job.loaded->metadata.model_id;
    info.license = job.loaded->metadata.license;
    info.latent_space = job.latents ? core::to_string(job.latents->space) : "z";
    info.truncation_psi = params.truncation_psi;
    info.truncation_cutoff = job.truncation_cutoff;
    info.noise_mode = model::to_string(job.noise_mode);
    info.software_version = kVersion;
    return info;
}

/// ws [B, num_ws, w_dim] for images [begin, begin + n).
torch::Tensor batch_ws(GenerationJob& job, const GenerateParams& params, int64_t begin, int64_t n) {
    const model::GeneratorConfig& config = job.loaded->config;
    torch::Tensor z;
    if (job.latents) {
        const torch::Tensor rows = job.latents->values.narrow(0, begin, n);
        switch (job.latents->space) {
            case core::LatentSpace::WS: return rows.to(job.device);
            case core::LatentSpace::W: return rows.unsqueeze(1).repeat({1, config.num_ws(), 1}).to(job.device);
            case core::LatentSpace::Z: z = rows; break;
        }
    } else {
        // float64 like numpy, then float32 as the official mapping network's first cast.
        z = torch::empty({n, config.z_dim}, torch::kFloat64);
        for (int64_t i = 0; i < n; ++i) {
            const std::vector<double> values = core::latent_from_seed(job.seeds[static_cast<size_t>(begin + i)], config.z_dim);
            std::memcpy(z[i].data_ptr<double>(), values.data(), values.size() * sizeof(double));
        }
        z = z.to(torch::kFloat32);
    }
    return job.loaded->generator->map(z.to(job.device), torch::Tensor(), params.truncation_psi, job.truncation_cutoff);
}

std::vector<uint64_t> batch_noise_seeds(const GenerationJob& job, int64_t begin, int64_t n) {
    std::vector<uint64_t> seeds(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        seeds[static_cast<size_t>(i)] = job.latents ? static_cast<uint64_t>(begin + i) : job.seeds[static_cast<size_t>(begin + i)];
    }
    return seeds;
}

void run_generate(const GenerateParams& params) {
    GenerationJob job = prepare(params);  // every check before the first image or folder is made
    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    const int64_t n_images = job.n_images();
    const model::GeneratorConfig& config = job.loaded->config;
    std::fprintf(stderr, "generate: %lld image(s) of %lldx%lld from '%s' (model %s) on %s, %d CPU thread(s)\n",
                 static_cast<long long>(n_images), static_cast<long long>(config.resolution),
                 static_cast<long long>(config.resolution), job.model_path.c_str(), job.loaded->metadata.model_id.c_str(),
                 job.device.str().c_str(), core::cpu_threads());
    if (!params.out.empty()) fs::create_directories(params.out);

    const core::GeneratedImageInfo base_info = image_info(job, params);
    torch::Tensor grid_images;
    if (!params.grid.empty()) {
        grid_images = torch::empty({n_images, config.resolution, config.resolution, config.img_channels}, torch::kUInt8);
    }
    torch::InferenceMode inference;
    core::ProgressLine progress("generate");
    core::ProgressReport report{"img", 0, static_cast<double>(n_images), {}};
    for (int64_t begin = 0; begin < n_images; begin += params.batch) {
        const int64_t n = std::min(params.batch, n_images - begin);
        model::SynthesisOptions options;
        options.noise_mode = job.noise_mode;
        if (job.noise_mode == model::NoiseMode::Random) options.noise_seeds = batch_noise_seeds(job, begin, n);
        torch::Tensor ws = batch_ws(job, params, begin, n);
        if (n == 1) {
            // oneDNN picks other convolution kernels for a batch of exactly one, whose sums
            // differ in the last bits (enough to flip a rounded pixel); with the sample run
            // twice every batch size takes the same kernels and a seed's image is identical
            // whatever --batch is (test SameSeedSameImageWhateverTheBatch).
            ws = ws.expand({2, -1, -1});
            if (!options.noise_seeds.empty()) options.noise_seeds.push_back(options.noise_seeds.front());
        }
        const torch::Tensor images =
            core::images_to_uint8(job.loaded->generator->synthesize(ws, options).narrow(0, 0, n));
        for (int64_t i = 0; i < n; ++i) {
            const torch::Tensor image = images[i];
            if (grid_images.defined()) grid_images[begin + i].copy_(image);
            if (params.out.empty()) continue;
            core::GeneratedImageInfo info = base_info;
            if (job.latents) {
                info.latent_index = begin + i;
            } else {
                info.seed = job.seeds[static_cast<size_t>(begin + i)];
            }
            const fs::path path = fs::path(params.out) / image_file_name(job, begin + i);
            core::write_png(path, image.data_ptr<uint8_t>(), config.resolution, config.resolution, config.img_channels,
                            core::png_text_for_generated_image(info));
            std::printf("%s\n", path.c_str());
            std::fflush(stdout);
        }
        report.done = static_cast<double>(begin + n);
        progress.update(report);
    }
    if (grid_images.defined()) {
        const torch::Tensor grid = core::make_image_grid(grid_images, params.grid_columns);
        core::GeneratedImageInfo info = base_info;
        info.n_images = n_images;
        if (n_images == 1 && !job.latents) info.seed = job.seeds[0];
        create_output_folder(params.grid);
        core::write_png(params.grid, grid.data_ptr<uint8_t>(), grid.size(1), grid.size(0), grid.size(2),
                        core::png_text_for_generated_image(info));
        std::printf("%s\n", params.grid.c_str());
    }
    progress.finish(report);
}

}  // namespace

void add_generate_command(CLI::App& app) {
    auto params = std::make_shared<GenerateParams>();
    CLI::App* cmd = app.add_subcommand(
        "generate",
        "Generate face images from seeds (z drawn exactly as the official generate.py) or from a latents file");
    cmd->add_option("--model", params->model,
                    "Model file (.safetensors); default: $FACEGEN_MODEL, else the bundled model");
    cmd->add_option("--seeds", params->seeds, "Seeds, e.g. 1-8,42 (each 0..4294967295; one image per seed)");
    cmd->add_option("--count", params->count, "Generate seeds 0..N-1 (instead of --seeds)");
    cmd->add_option("--latents", params->latents,
                    "A .npy/.npz of z [N, z_dim], w [N, w_dim] or ws [N, num_ws, w_dim] (instead of seeds); see docs/cli.md");
    auto* truncation_psi =
        cmd->add_option("--truncation-psi", params->truncation_psi,
                        "Truncation psi (1 = none; lower = more typical faces); z latents only")
            ->capture_default_str();
    cmd->add_option("--truncation-cutoff", params->truncation_cutoff,
                    "Truncate only the first N w layers (-1 = all)")
        ->capture_default_str();
    cmd->add_option("--noise-mode", params->noise_mode, "Per-pixel noise: const, random (seeded per image) or none")
        ->capture_default_str();
    cmd->add_option("--out", params->out, "Folder for one PNG per image (seed0042.png, latent0000.png)");
    cmd->add_option("--grid", params->grid, "Also (or only) write all images as one grid PNG to this file");
    cmd->add_option("--grid-columns", params->grid_columns, "Grid columns (0 = near-square)")->capture_default_str();
    cmd->add_option("--batch", params->batch, "Images per forward pass (results do not depend on it)")
        ->capture_default_str();
    cmd->add_option("--device", params->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->callback([params, truncation_psi] {
        params->truncation_psi_given = truncation_psi->count() > 0;
        run_generate(*params);
    });
}

}  // namespace facegen::app
