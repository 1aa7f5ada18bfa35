// facegen project: a photo's face into the model. `project --target photo.jpg --out DIR`
// aligns the face as the training set was aligned, finds the latent that reproduces it and
// writes target.png, proj.png, side_by_side.png, projected_w.npz and projection.json.
// `project measure` projects held-out photos with the chosen loss and with the pixel-only
// baseline and reports reconstruction and identity figures. The work is in src/project.

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "input_files.h"
#include "output_paths.h"
#include "projection_setup.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "core/progress.h"
#include "data/sources.h"
#include "provenance/labelled_png.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct ProjectCommandParams {
    std::string model;
    std::vector<std::string> targets;
    std::string out;
    ProjectionParams projection;
    bool no_watermark = false;
    int threads = 0;
    std::string device = "cpu";
};

void run_project(const ProjectCommandParams& params) {
    if (params.targets.empty()) throw make_error("no photo: give --target PHOTO (JPEG, PNG or WebP)");
    if (params.out.empty()) throw make_error("no output folder: give --out DIR");
    for (const std::string& target : params.targets) {
        if (!fs::is_regular_file(target)) throw make_error("--target '", target, "' is not a file");
    }
    check_writable_folder(params.out, "--out");
    const project::PhotoProjectionOptions options = params.projection.options();
    core::set_cpu_threads(params.threads);
    const torch::Device device = core::parse_device(params.device);

    core::ProgressLine line("project");
    core::ProgressReport last;
    const project::PhotoProjection projection =
        project::project_photos(params.model, device, params.targets, options, [&](const core::ProgressReport& report) {
            last = report;
            line.update(report);
        });
    line.finish(last);

    generate::Session session(params.model, device);
    for (size_t i = 0; i < projection.photos.size(); ++i) {
        const project::ProjectedPhoto& photo = projection.photos[i];
        if (photo.target.faces_found > 1) {
            std::fprintf(stderr, "project: %d faces in '%s': projected the largest\n", photo.target.faces_found,
                         photo.photo.c_str());
        }
        const fs::path folder = projection_folder(params.out, params.targets, i);
        json figures = write_projection(folder, session, photo, options, !params.no_watermark);
        figures["loss_weights"] = project::to_string(projection.loss);
        figures["seconds_per_photo"] = projection.seconds / static_cast<double>(projection.photos.size());
        std::printf("%s\n", figures.dump().c_str());
    }
}

}  // namespace

void add_project_command(CLI::App& app) {
    auto params = std::make_shared<ProjectCommandParams>();
    CLI::App* cmd = app.add_subcommand("project", "Find the latent that reproduces the face of a photo");
    cmd->add_option("--model", params->model, "Model file (default: $FACEGEN_MODEL, else the bundled model)");
    cmd->add_option("--target", params->targets, "Photo(s) with a face (the largest face is used)");
    cmd->add_option("--out", params->out, "Output folder (one subfolder per photo when several)");
    add_projection_options(cmd, params->projection);
    cmd->add_flag("--no-watermark", params->no_watermark, "Leave out the invisible watermark");
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->add_option("--device", params->device, "cpu, cuda or cuda:N")->capture_default_str();
    add_project_measure_command(*cmd);
    cmd->callback([params, cmd] {
        if (cmd->get_subcommand("measure")->parsed()) return;
        run_project(*params);
    });
}

}  // namespace facegen::app
