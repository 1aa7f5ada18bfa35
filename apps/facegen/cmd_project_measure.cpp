// facegen project measure: held-out photos projected twice, with the chosen loss and with
// the pixel-only w baseline, side by side: PSNR, SSIM, identity distance (face-recognition
// descriptors) and seconds per photo, as JSON; --grid shows target | baseline | projection
// | edits for a few of them.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "edit_setup.h"
#include "output_paths.h"
#include "projection_setup.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "core/progress.h"
#include "core/summary.h"
#include "edit/editor.h"
#include "provenance/labelled_png.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct MeasureParams {
    std::string model;
    std::string photos;
    int64_t count = 100;
    ProjectionParams projection;
    std::string baseline = "pixel";
    std::string grid;
    int64_t grid_faces = 6;
    std::string edits = "age=-20,age=+20,smiling=+2";
    std::string directions;
    int threads = 0;
};

/// Image files of a folder in name order.
std::vector<std::string> image_files(const fs::path& folder) {
    if (!fs::is_directory(folder)) throw make_error("--photos '", folder.string(), "' is not a folder");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(folder)) {
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp")) {
            files.push_back(entry.path().string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

/// The first `count` photos in which a face big enough is found (others are skipped, and counted).
std::vector<std::string> usable_photos(const std::vector<std::string>& files, int64_t count, int64_t resolution,
                                       double crop_scale, int64_t* skipped) {
    data::FaceDetector detector(data::kDefaultPredictorPath, 1);
    const data::LandmarkPredictor predictor(data::kDefaultPredictorPath);
    std::vector<std::string> usable;
    for (const std::string& file : files) {
        if (static_cast<int64_t>(usable.size()) == count) break;
        try {
            project::load_target_face(file, resolution, crop_scale, detector, predictor);
            usable.push_back(file);
        } catch (const Error&) {
            ++*skipped;
        }
    }
    return usable;
}

json summary(const std::vector<double>& values) {
    if (values.empty()) return nullptr;
    const core::Summary s = core::summarize(values);
    return {{"mean", s.mean}, {"median", s.median}, {"min", s.min}, {"max", s.max}};
}

struct MethodFigures {
    json figures;
    std::vector<torch::Tensor> reconstructions;  // uint8 [R, R, 3] per photo
    project::PhotoProjection projection;
};

MethodFigures measure_method(generate::Session& session, const std::vector<std::string>& photos,
                             const project::PhotoProjectionOptions& options, const project::IdentityEmbedder& identity,
                             const std::string& label) {
    core::ProgressLine line("project measure (" + label + ")");
    core::ProgressReport last;
    MethodFigures out;
    out.projection = project::project_photos(session.model_path(), session.device(), photos, options,
                                             [&](const core::ProgressReport& report) {
                                                 last = report;
                                                 line.update(report);
                                             });
    line.finish(last);
    std::vector<double> psnr, ssim, identity_distance;
    torch::InferenceMode inference;
    for (const project::ProjectedPhoto& photo : out.projection.photos) {
        const torch::Tensor reconstruction = reconstruct(session, photo);
        out.reconstructions.push_back(reconstruction);
        const torch::Tensor a = photo.target.pixels, b = reconstruction.unsqueeze(0);
        const ReconstructionQuality quality = reconstruction_quality(a, b);
        psnr.push_back(quality.psnr_db);
        ssim.push_back(quality.ssim);
        if (identity) {
            const torch::Tensor e = identity(torch::cat({project::to_generator_range(a), project::to_generator_range(b)}));
            identity_distance.push_back((e[0] - e[1]).norm().item<double>());
        }
    }
    out.figures = {{"loss", project::to_string(out.projection.loss)},
                   {"space", project::to_string(options.projection.mode)},
                   {"steps", options.projection.steps},
                   {"psnr_db", summary(psnr)},
                   {"ssim", summary(ssim)},
                   {"identity_distance", summary(identity_distance)},
                   {"seconds_per_photo_batched", out.projection.seconds / static_cast<double>(photos.size())},
                   {"batch", options.batch}};
    return out;
}

void run_measure(const MeasureParams& params) {
    if (params.photos.empty()) throw make_error("no photos: give --photos DIR (held-out faces the model never saw)");
    if (params.count < 1) throw make_error("bad --count ", params.count, ": expected >= 1");
    if (params.grid_faces < 1 || params.grid_faces > 32) throw make_error("bad --grid-faces ", params.grid_faces, ": expected 1..32");
    if (!params.grid.empty()) check_output_file(params.grid, "--grid", "grid.png");
    project::PhotoProjectionOptions options = params.projection.options();
    project::PhotoProjectionOptions baseline = options;
    baseline.loss = params.baseline;
    baseline.projection.mode = project::LatentMode::kW;
    baseline.projection.optimize_noise = false;
    core::set_cpu_threads(params.threads);

    generate::Session session(params.model);
    std::unique_ptr<edit::Editor> editor;
    std::vector<edit::AttributeEdit> edits;
    if (!params.grid.empty() && !params.edits.empty()) {
        editor = std::make_unique<edit::Editor>(load_directions_for(session, params.directions), nullptr);
        // One column per item: the same attribute may appear twice (age=-20,age=+20).
        std::stringstream items(params.edits);
        std::string item;
        while (std::getline(items, item, ',')) edits.push_back(edit::parse_edits(item, false).front());
        editor->check(edits);
    }
    int64_t skipped = 0;
    const std::vector<std::string> photos = usable_photos(image_files(params.photos), params.count,
                                                          session.config().resolution, options.crop_scale, &skipped);
    if (photos.empty()) throw make_error("no photo in '", params.photos, "' has a face the model can take");
    const project::IdentityEmbedder identity =
        project::load_identity_embedder(options.identity_network, session.device(), options.crop_scale);

    MethodFigures chosen = measure_method(session, photos, options, identity, "chosen");
    MethodFigures base = measure_method(session, photos, baseline, identity, "baseline");

    // Seconds for one photo alone, as a user projecting one photo waits.
    project::PhotoProjectionOptions single = options;
    single.batch = 1;
    const project::PhotoProjection one = project::project_photos(session.model_path(), session.device(), {photos[0]}, single);

    // How far unrelated people are, on the same scale: each target against the next.
    std::vector<double> unrelated;
    if (identity && photos.size() > 1) {
        torch::InferenceMode inference;
        for (size_t i = 0; i + 1 < photos.size(); ++i) {
            const torch::Tensor e = identity(torch::cat({project::to_generator_range(chosen.projection.photos[i].target.pixels),
                                                         project::to_generator_range(chosen.projection.photos[i + 1].target.pixels)}));
            unrelated.push_back((e[0] - e[1]).norm().item<double>());
        }
    }
    chosen.figures["seconds_per_photo_alone"] = one.seconds;

    if (!params.grid.empty()) {
        torch::InferenceMode inference;
        const int64_t rows = std::min<int64_t>(params.grid_faces, static_cast<int64_t>(photos.size()));
        const int64_t columns = 3 + static_cast<int64_t>(edits.size());
        std::vector<torch::Tensor> cells;
        for (int64_t r = 0; r < rows; ++r) {
            const project::ProjectedPhoto& photo = chosen.projection.photos[static_cast<size_t>(r)];
            cells.push_back(photo.target.pixels[0]);
            cells.push_back(base.reconstructions[static_cast<size_t>(r)]);
            cells.push_back(chosen.reconstructions[static_cast<size_t>(r)]);
            for (const edit::AttributeEdit& change : edits) {
                const torch::Tensor ws = editor->apply_changes(photo.ws.to(session.device()), {change});
                cells.push_back(session.synthesize(ws, model::NoiseMode::Const)[0]);
            }
        }
        generate::Request request;
        request.latents = generate::Latents{generate::LatentSpace::WS, chosen.projection.photos[0].ws, "w"};
        provenance::ImageProvenance info = session.provenance_for(request);
        info.n_images = rows * columns;
        info.edit = "rows: photo | pixel-loss projection | projection | " + params.edits;
        create_output_folder(params.grid);
        provenance::write_labelled_png(params.grid, core::make_image_grid(torch::stack(cells), columns), info);
    }

    const json out = {{"photos", params.photos},
                      {"projected", photos.size()},
                      {"skipped_no_usable_face", skipped},
                      {"model_id", session.metadata().model_id},
                      {"identity_network", static_cast<bool>(identity)},
                      {"identity_distance_unrelated_targets", summary(unrelated)},
                      {"chosen", chosen.figures},
                      {"baseline", base.figures},
                      {"threads", torch::get_num_threads()}};
    std::printf("%s\n", out.dump(1).c_str());
}

}  // namespace

void add_project_measure_command(CLI::App& project) {
    auto params = std::make_shared<MeasureParams>();
    CLI::App* cmd = project.add_subcommand(
        "measure", "Project held-out photos with the chosen loss and the pixel-only baseline; figures as JSON");
    cmd->add_option("--model", params->model, "Model file (default: the bundled model)");
    cmd->add_option("--photos", params->photos, "Folder of photos the model never saw (name order)");
    cmd->add_option("--count", params->count, "Photos to project (those without a usable face are skipped)")
        ->capture_default_str();
    add_projection_options(cmd, params->projection);
    cmd->add_option("--baseline", params->baseline, "Loss of the baseline (w only)")->capture_default_str();
    cmd->add_option("--grid", params->grid, "PNG: photo | baseline | projection | edits, a row per photo");
    cmd->add_option("--grid-faces", params->grid_faces, "Rows of the grid")->capture_default_str();
    cmd->add_option("--edits", params->edits, "Edits shown in the grid, one column each")->capture_default_str();
    cmd->add_option("--directions", params->directions, "Directions file (default: beside the model)");
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->callback([params] { run_measure(*params); });
}

}  // namespace facegen::app
