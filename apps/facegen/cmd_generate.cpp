// facegen generate: images from seeds (z drawn exactly as the official generate.py) or from
// a file of z / w / ws latents, as PNGs labelled AI-generated, and/or one grid PNG.
// Flags are parsed and checked here; the images come from generate::Session.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "commands.h"
#include "output_paths.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "core/progress.h"
#include "generate/seed_list.h"
#include "generate/session.h"
#include "provenance/labelled_png.h"
#ifdef FACEGEN_HAVE_EDIT
#include "character_sheets.h"
#include "edit_setup.h"
#endif

namespace facegen::app {
namespace {

namespace fs = std::filesystem;

struct GenerateParams {
    std::string model;        // "" = the bundled model
    std::string seeds;        // "1-8,42"
    int64_t count = 0;        // 0 = not given; else seeds 0..count-1
    std::string latents;      // .npy / .npz of z, w or ws
    double truncation_psi = 1.0;
    bool truncation_psi_given = false;  // else the model's recommended psi (z) or none (w, ws)
    int64_t truncation_cutoff = -1;  // -1 = truncate every layer
    std::string noise_mode = "const";
    std::string out;          // folder for one PNG per image
    std::string grid;         // one PNG with all images
    int64_t grid_columns = 0; // 0 = near-square
    int64_t batch = 8;
    std::string device = "cpu";
    int threads = 0;          // 0 = all logical cores
    bool no_watermark = false;
    std::string edit;         // "age=+20,smiling=+1"
    std::string set;          // "age=70"
    std::string directions;   // "" = beside the model
    std::string classifier;   // "" = the shipped one (for --set)
    std::string variations;   // "pose,expression,lighting,age": a character sheet per seed
    bool variations_given = false;
    int64_t variation_steps = 5;

    void validate() const {
        const int n_sources = !seeds.empty() + (count != 0) + !latents.empty();
        if (n_sources == 0) throw make_error("nothing to generate: give --seeds, --count or --latents");
        if (n_sources > 1) throw make_error("give only one of --seeds, --count and --latents");
        if (count != 0 && (count < 1 || count > generate::kMaxSeedCount)) {
            throw make_error("bad --count ", count, ": expected 1..", generate::kMaxSeedCount);
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
        if (variations_given) {
            if (grid.empty()) throw make_error("--variations writes a character sheet: give --grid FILE.png");
            if (!out.empty()) throw make_error("--variations writes sheets to --grid, not to --out: give one of them");
            if (!latents.empty()) throw make_error("--variations makes sheets of seeds: give --seeds or --count");
            if (!edit.empty() || !set.empty()) throw make_error("give --variations or --edit/--set, not both");
        }
    }

    std::string to_string() const {
        std::ostringstream s;
        s << "generate: model=" << (model.empty() ? "(bundled)" : model) << " seeds=" << seeds << " count=" << count
          << " latents=" << latents << " truncation_psi=" << (truncation_psi_given ? std::to_string(truncation_psi) : "(model's)")
          << " truncation_cutoff=" << truncation_cutoff << " noise_mode=" << noise_mode << " out=" << out
          << " grid=" << grid << " grid_columns=" << grid_columns << " batch=" << batch << " device=" << device
          << " threads=" << threads << " watermark=" << (no_watermark ? "off" : "on");
        if (!edit.empty()) s << " edit=" << edit;
        if (!set.empty()) s << " set=" << set;
        if (variations_given) s << " variations=" << variations << " variation_steps=" << variation_steps;
        return s.str();
    }
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

/// The request the flags describe, but for latents, which are read against the model.
generate::Request make_request(const GenerateParams& params) {
    generate::Request request;
    if (!params.seeds.empty()) request.seeds = generate::parse_seed_list(params.seeds);
    if (params.count != 0) request.seeds = generate::first_seeds(params.count);
    if (params.truncation_psi_given) request.truncation_psi = params.truncation_psi;
    if (params.truncation_cutoff >= 0) request.truncation_cutoff = params.truncation_cutoff;
    request.noise_mode = model::parse_noise_mode(params.noise_mode);
    request.batch = params.batch;
    request.watermark = !params.no_watermark;
    return request;
}

void run_generate(const GenerateParams& params) {
    // Every check before the first image or folder is made.
    params.validate();
    const torch::Device device = core::parse_device(params.device);
    core::set_cpu_threads(params.threads);
    check_outputs(params);
#ifdef FACEGEN_HAVE_EDIT
    const CharacterSheetFlags sheet_flags{params.variations, params.variation_steps, params.grid, params.directions,
                                          params.classifier};
    if (params.variations_given) check_character_sheet_flags(sheet_flags);
#endif
    generate::Request request = make_request(params);
    generate::Session session(params.model, device);
    if (!params.latents.empty()) {
        const model::GeneratorConfig& config = session.config();
        request.latents = generate::read_latent_file(params.latents, {config.z_dim, config.w_dim, config.num_ws()});
    }
    session.check(request);
#ifdef FACEGEN_HAVE_EDIT
    if (params.variations_given) {
        std::fprintf(stderr, "%s\n", params.to_string().c_str());
        write_character_sheets(session, request, sheet_flags);
        return;
    }
    std::optional<EditSetup> edits;
    if (!params.edit.empty() || !params.set.empty()) {
        edits.emplace(session, params.edit, params.set, params.directions, params.classifier);
        edits->attach(session, request);
    }
#endif

    std::fprintf(stderr, "%s\n", params.to_string().c_str());
    const int64_t n_images = request.n_images();
    const model::GeneratorConfig& config = session.config();
    std::fprintf(stderr, "generate: %lld image(s) of %lldx%lld from '%s' (model %s, psi %g) on %s, %d CPU thread(s)\n",
                 static_cast<long long>(n_images), static_cast<long long>(config.resolution),
                 static_cast<long long>(config.resolution), session.model_path().c_str(),
                 session.metadata().model_id.c_str(), session.truncation_psi_for(request), device.str().c_str(),
                 core::cpu_threads());
    if (!params.out.empty()) fs::create_directories(params.out);

    torch::Tensor grid_images;
    if (!params.grid.empty()) {
        grid_images = torch::empty({n_images, config.resolution, config.resolution, config.img_channels}, torch::kUInt8);
    }
    core::ProgressLine progress("generate");
    core::ProgressReport report{"img", 0, static_cast<double>(n_images), {}};
    session.run_each(request, [&](generate::GeneratedImage&& image, int64_t index) {
#ifdef FACEGEN_HAVE_EDIT
        if (edits && !edits->limits_of(index).empty()) image.provenance.edit += "; " + edits->limits_of(index);
#endif
        if (grid_images.defined()) grid_images[index].copy_(image.pixels);
        if (!params.out.empty()) {
            const fs::path path = fs::path(params.out) / generate::image_file_name(request, index);
            provenance::write_labelled_png(path, image.pixels, image.provenance);
            std::printf("%s\n", path.c_str());
            std::fflush(stdout);
        }
        report.done = static_cast<double>(index + 1);
        progress.update(report);
    });
    if (grid_images.defined()) {
        provenance::ImageProvenance info = session.provenance_for(request);
        info.n_images = n_images;
        if (n_images == 1 && !request.latents) info.seed = request.seeds[0];
        create_output_folder(params.grid);
        provenance::write_labelled_png(params.grid, core::make_image_grid(grid_images, params.grid_columns), info);
        std::printf("%s\n", params.grid.c_str());
    }
    progress.finish(report);
#ifdef FACEGEN_HAVE_EDIT
    if (edits) edits->warn_about_limits();
#endif
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
    auto* truncation_psi = cmd->add_option(
        "--truncation-psi", params->truncation_psi,
        "Truncation psi (1 = none; lower = more typical faces); default: the model's recommended psi for seeds and "
        "z latents (facegen info shows it), none for w/ws latents");
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
    cmd->add_flag("--no-watermark", params->no_watermark,
                  "Leave out the invisible watermark (carrying the model id) that every image gets by default; "
                  "the metadata labels stay");
#ifdef FACEGEN_HAVE_EDIT
    cmd->add_option("--edit", params->edit,
                    "Attribute changes, e.g. age=+20,smiling=+2 (years for age, log-odds for probabilities; "
                    "facegen attributes list)");
    cmd->add_option("--set", params->set, "Attribute targets, e.g. age=70,smiling=0.9 (needs the classifier)");
    cmd->add_option("--directions", params->directions,
                    "Attribute directions file (default: <model>.directions.safetensors beside the model)");
    cmd->add_option("--classifier", params->classifier,
                    "Attribute classifier for --set (default: $FACEGEN_ATTRIBUTES, else the shipped one)");
    cmd->add_option(
        "--variations", params->variations,
        "Character sheet per seed into --grid: one row per variation, e.g. pose,expression,lighting,age (also yaw, "
        "pitch, smiling, mouth_open, brightness, light_direction), every face kept the same person; see docs/cli.md")
        ->each([params](const std::string&) { params->variations_given = true; });
    cmd->add_option("--variation-steps", params->variation_steps,
                    "Faces per row of a character sheet, odd, the original in the middle (3..15)")
        ->capture_default_str();
#endif
    cmd->callback([params, truncation_psi] {
        params->truncation_psi_given = truncation_psi->count() > 0;
        run_generate(*params);
    });
}

}  // namespace facegen::app
