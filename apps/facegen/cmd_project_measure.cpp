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
#include "project/photo_folder.h"
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
    int64_t baseline_steps = 1000;
    std::string grid;
    int64_t grid_faces = 6;
    std::string edits = "age=-20,age=+20,smiling=+2";
    std::string directions;
    int threads = 0;
};

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
    const project::ProjectionFigures figures = project::measure_projection(session, out.projection, identity);
    out.reconstructions = figures.reconstructions;
    out.figures = {{"loss", project::to_string(out.projection.loss)},
                   {"space", project::to_string(options.projection.mode)},
                   {"start_latent", out.projection.start},
                   {"steps", out.projection.photos.front().steps},
                   {"psnr_db", summary(figures.psnr_db)},
                   {"ssim", summary(figures.ssim)},
                   {"identity_distance", summary(figures.identity_distance)},
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
    if (params.baseline == "average") {
        // Today's projection without an encoder: the chosen loss from the average face.
        baseline.use_encoder = false;
        baseline.projection.steps = params.baseline_steps;
    } else {
        baseline.loss = params.baseline;
        baseline.projection.mode = project::LatentMode::kW;
        baseline.projection.optimize_noise = false;
    }
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
    const project::UsablePhotos usable =
        project::usable_photos(project::image_files(params.photos), params.count, session.config().resolution,
                               options.crop_scale, data::kDefaultPredictorPath);
    const std::vector<std::string>& photos = usable.files;
    const int64_t skipped = usable.skipped;
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
    if (params.baseline == "average") {
        project::PhotoProjectionOptions single_baseline = baseline;
        single_baseline.batch = 1;
        base.figures["seconds_per_photo_alone"] =
            project::project_photos(session.model_path(), session.device(), {photos[0]}, single_baseline).seconds;
    }

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
        info.edit = "rows: photo | baseline (" + params.baseline + ") | projection | " + params.edits;
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
    cmd->add_option("--baseline", params->baseline,
                    "The baseline: a loss (w only, as the chosen start and steps), or 'average': the chosen loss "
                    "from the average face, without the encoder")
        ->capture_default_str();
    cmd->add_option("--baseline-steps", params->baseline_steps, "Steps of the 'average' baseline")->capture_default_str();
    cmd->add_option("--grid", params->grid, "PNG: photo | baseline | projection | edits, a row per photo");
    cmd->add_option("--grid-faces", params->grid_faces, "Rows of the grid")->capture_default_str();
    cmd->add_option("--edits", params->edits, "Edits shown in the grid, one column each")->capture_default_str();
    cmd->add_option("--directions", params->directions, "Directions file (default: beside the model)");
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->callback([params] { run_measure(*params); });
}

}  // namespace facegen::app
