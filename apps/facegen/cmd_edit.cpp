// facegen edit: faces across an attribute, or edited faces. `edit --seeds S --attribute age
// --range -30:30 --steps 7 --strip strip.png` shows each face (a row) at every step;
// `edit --target photo.jpg --edit age=-20 --out DIR` projects a photo's face (src/project)
// and writes it edited (seeds and latents files work too); `edit measure` edits
// held-out seeds attribute by attribute and re-scores them: how much the target moves, how
// much every other attribute moves (entanglement), how far the face moves otherwise, and
// what an edit costs in time. Flags are parsed and checked here; the work is in src/edit
// (edit_strip.h, edit_measurement.h).

#include <cmath>
#include <cstdio>

#include "commands.h"
#include "edit_setup.h"
#include "output_paths.h"
#include "projection_setup.h"
#include "attributes/catalogue.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "edit/edit_measurement.h"
#include "edit/edit_strip.h"
#include "generate/latents.h"
#include "generate/seed_list.h"
#include "project/photo_projection.h"
#include "project/projector.h"
#include "provenance/labelled_png.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct StripParams {
    std::string model;
    std::string seeds;
    std::string latents;
    std::vector<std::string> targets;  // photos, projected first
    ProjectionParams projection;
    std::string changes;               // --edit
    std::string set_targets;           // --set
    std::string out;
    std::string attribute;
    std::string range = "-2:2";
    int64_t steps = 7;          // --strip-steps (or --steps without --target): faces per row
    bool steps_given = false;        // --steps: refused where it could mean the projection's steps
    bool strip_steps_given = false;  // --strip-steps
    std::string strip;
    double truncation_psi = -1;  // < 0: the model's (seeds) or none (latents)
    std::string directions;
    std::string classifier;
    bool no_watermark = false;
    int threads = 0;
};

std::pair<double, double> parse_range(const std::string& text) {
    const size_t colon = text.find(':', 1);
    char* end = nullptr;
    const std::string lo_text = colon == std::string::npos ? "" : text.substr(0, colon);
    const std::string hi_text = colon == std::string::npos ? "" : text.substr(colon + 1);
    const double lo = std::strtod(lo_text.c_str(), &end);
    const bool lo_ok = !lo_text.empty() && *end == '\0';
    const double hi = std::strtod(hi_text.c_str(), &end);
    const bool hi_ok = !hi_text.empty() && *end == '\0';
    if (!lo_ok || !hi_ok || !std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
        throw make_error("bad --range '", text, "': expected LO:HI with LO < HI, e.g. -30:30");
    }
    return {lo, hi};
}

/// The faces to edit: seeds, a latents file, or photos projected now (their projection
/// files are written to --out when given).
generate::Request source_request(const StripParams& params, generate::Session& session,
                                 std::vector<std::string>* notes) {
    generate::Request request;
    if (!params.seeds.empty()) request.seeds = generate::parse_seed_list(params.seeds);
    const model::GeneratorConfig& config = session.config();
    if (!params.latents.empty()) {
        request.latents = generate::read_latent_file(params.latents, {config.z_dim, config.w_dim, config.num_ws()});
    }
    if (!params.targets.empty()) {
        if (params.projection.noise) throw make_error("--noise: edits start from w alone; leave --noise out");
        const project::PhotoProjectionOptions options = params.projection.options();
        core::ProgressLine line("project");
        core::ProgressReport last;
        const project::PhotoProjection projection = project::project_photos(
            session.model_path(), session.device(), params.targets, options, [&](const core::ProgressReport& report) {
                last = report;
                line.update(report);
            });
        line.finish(last);
        std::vector<torch::Tensor> ws;
        for (size_t i = 0; i < projection.photos.size(); ++i) {
            const project::ProjectedPhoto& photo = projection.photos[i];
            ws.push_back(photo.ws);
            notes->push_back(projection_note(photo, options));
            if (!params.out.empty()) {
                write_projection(projection_folder(params.out, params.targets, i), session, photo, options,
                                 !params.no_watermark);
            }
        }
        request.latents = generate::Latents{generate::LatentSpace::WS, torch::cat(ws), "w"};
    }
    if (params.truncation_psi >= 0) request.truncation_psi = params.truncation_psi;
    request.watermark = !params.no_watermark;
    session.check(request);
    return request;
}

void check_source(const StripParams& params) {
    const int sources = !params.seeds.empty() + !params.latents.empty() + !params.targets.empty();
    if (sources != 1) throw make_error("give exactly one of --seeds, --latents and --target");
    for (const std::string& target : params.targets) {
        if (!fs::is_regular_file(target)) throw make_error("--target '", target, "' is not a file");
    }
    if (!params.targets.empty()) params.projection.options();
}

/// edit --edit/--set --out: each face edited, written as generate writes it.
void run_edit_images(const StripParams& params) {
    check_source(params);
    if (!params.attribute.empty() || !params.strip.empty()) {
        throw make_error("--attribute/--strip make a strip; --edit/--set with --out write edited faces: choose one");
    }
    if (params.steps_given || params.strip_steps_given) {
        throw make_error(params.steps_given ? "--steps" : "--strip-steps", " counts a strip's faces per row, and --edit/--set write no strip",
                         params.targets.empty() ? "" : "; a --target's optimisation steps are --projection-steps N");
    }
    if (params.out.empty()) throw make_error("no output folder: give --out DIR");
    check_writable_folder(params.out, "--out");
    core::set_cpu_threads(params.threads);
    generate::Session session(params.model);
    // The edits are checked before any projection starts.
    EditSetup setup(session, params.changes, params.set_targets, params.directions, params.classifier);
    std::vector<std::string> notes;
    generate::Request request = source_request(params, session, &notes);
    setup.attach(session, request);
    const std::string edit_note = request.adjustment;
    fs::create_directories(params.out);
    session.run_each(request, [&](generate::GeneratedImage&& image, int64_t index) {
        fs::path file = params.out / fs::path(generate::image_file_name(request, index));
        if (!params.targets.empty()) {
            image.provenance.edit = edit_note + "; " + notes[static_cast<size_t>(index)];
            file = projection_folder(params.out, params.targets, static_cast<size_t>(index)) / "edited.png";
        }
        const std::string limits = setup.limits_of(index);
        if (!limits.empty()) image.provenance.edit += "; " + limits;
        provenance::write_labelled_png(file, image.pixels, image.provenance);
        std::printf("%s\n", file.string().c_str());
    });
    setup.warn_about_limits();
}

void run_strip(const StripParams& params) {
    if (!params.changes.empty() || !params.set_targets.empty()) {
        run_edit_images(params);
        return;
    }
    if (params.attribute.empty()) {
        throw make_error("no attribute: give --attribute NAME (facegen attributes list), or --edit/--set with --out");
    }
    attributes::find_attribute(params.attribute);
    const auto [lo, hi] = parse_range(params.range);
    if (params.steps_given && !params.targets.empty()) {
        throw make_error("--steps is ambiguous with --target: give --strip-steps N for the strip's faces per row and ",
                         "--projection-steps N for the projection's optimisation steps");
    }
    if (params.steps < 2 || params.steps > 64) throw make_error("bad --strip-steps ", params.steps, ": expected 2..64");
    check_source(params);
    if (params.strip.empty()) throw make_error("no output: give --strip FILE.png");
    check_output_file(params.strip, "--strip", "strip.png");
    if (!params.out.empty()) check_writable_folder(params.out, "--out");
    core::set_cpu_threads(params.threads);

    generate::Session session(params.model);
    // The strip's ends are checked as edits before anything is projected or made.
    const edit::AttributeEdit first{params.attribute, false, lo}, last{params.attribute, false, hi};
    EditSetup setup(session, edit::to_string(std::vector<edit::AttributeEdit>{first}), "", params.directions,
                    params.classifier);
    edit::parse_edits(edit::to_string(last), false);
    std::vector<std::string> notes;
    const generate::Request request = source_request(params, session, &notes);
    if (request.n_images() > 64) throw make_error("a strip shows at most 64 faces; ", request.n_images(), " given");
    const edit::StripSpec spec{params.attribute, lo, hi, params.steps};
    torch::Tensor grid;
    {
        torch::InferenceMode inference;
        grid = edit::render_strip(session, setup.editor(), session.ws_for(request, 0, request.n_images()), spec);
    }
    provenance::ImageProvenance info = session.provenance_for(request);
    info.n_images = request.n_images() * params.steps;
    if (request.n_images() == 1 && !request.latents) info.seed = request.seeds[0];
    info.edit = edit::describe_strip(setup.editor(), spec);
    for (const std::string& note : notes) info.edit += "; " + note;
    create_output_folder(params.strip);
    provenance::write_labelled_png(params.strip, grid, info);
    std::printf("%s\n", params.strip.c_str());
}

struct MeasureParams {
    std::string model;
    std::string seeds = "1000000-1000199";
    double truncation_psi = -1;
    std::string directions;
    std::string classifier;
    std::vector<std::string> changes;            // --edit, each measured on its own; none: one step per attribute
    std::vector<std::string> targets = {"age=60"};  // --set, each measured on its own
    int threads = 0;
};

void run_measure(const MeasureParams& params) {
    core::set_cpu_threads(params.threads);
    generate::Session session(params.model);
    generate::Request request;
    request.seeds = generate::parse_seed_list(params.seeds);
    if (request.seeds.size() < 2) throw make_error("edit measure needs at least 2 seeds");
    if (params.truncation_psi >= 0) request.truncation_psi = params.truncation_psi;
    session.check(request);
    edit::EditMeasurementOptions options;
    for (const std::string& text : params.changes) options.changes.push_back(edit::parse_edits(text, false));
    for (const std::string& text : params.targets) options.targets.push_back(edit::parse_edits(text, true));
    std::optional<fs::path> classifier_path =
        params.classifier.empty() ? attributes::default_classifier_path() : fs::path(params.classifier);
    if (!classifier_path) throw make_error("edit measure needs the attribute classifier: give --classifier FILE");
    EditSetup setup(session, "", "", params.directions, classifier_path->string());
    attributes::AttributeClassifier classifier = attributes::AttributeClassifier::load(*classifier_path);
    const project::IdentityEmbedder identity = project::load_identity_embedder(
        "", session.device(), project::PhotoProjectionOptions{}.crop_scale);  // faces framed as the bundled model's
    edit::FaceDescriptors descriptors;
    if (identity) descriptors = [&](const torch::Tensor& faces) { return identity(project::to_generator_range(faces)); };

    core::ProgressLine line("edit measure");
    core::ProgressReport last{"edit", 0, 0, {}};
    json out = edit::measure_edits(session, request, setup.editor(), classifier, descriptors, options,
                                   [&](const core::ProgressReport& report) {
                                       last = report;
                                       line.update(report);
                                   });
    line.finish(last);
    out["seeds"] = params.seeds;
    std::printf("%s\n", out.dump(1).c_str());
}

}  // namespace

void add_edit_command(CLI::App& app) {
    auto strip = std::make_shared<StripParams>();
    CLI::App* cmd = app.add_subcommand("edit", "Faces across an attribute (a strip), or measure edits (edit measure)");
    cmd->add_option("--model", strip->model, "Model file (default: $FACEGEN_MODEL, else the bundled model)");
    cmd->add_option("--seeds", strip->seeds, "Seeds, one row each (e.g. 1-4)");
    cmd->add_option("--latents", strip->latents, "Or a .npy/.npz of z / w / ws latents (e.g. projected_w.npz)");
    cmd->add_option("--target", strip->targets, "Or photo(s): the face is projected first (as facegen project)");
    cmd->add_option("--edit", strip->changes, "Changes, e.g. age=-20,smiling=+1: write the edited faces to --out");
    cmd->add_option("--set", strip->set_targets, "Targets, e.g. age=70 (as generate --set)");
    cmd->add_option("--out", strip->out, "Folder for edited faces (and a projection's files)");
    cmd->add_option("--attribute", strip->attribute, "Attribute to vary (facegen attributes list)");
    cmd->add_option("--range", strip->range, "LO:HI change (years for age, log-odds for probabilities)")
        ->capture_default_str();
    auto* strip_steps = cmd->add_option("--strip-steps", strip->steps, "Faces per row of a strip, LO to HI")
                            ->capture_default_str()
                            ->each([strip](const std::string&) { strip->strip_steps_given = true; });
    cmd->add_option("--steps", strip->steps, "Same as --strip-steps; refused with --target (use --strip-steps and "
                                             "--projection-steps) and without a strip")
        ->excludes(strip_steps)
        ->each([strip](const std::string&) { strip->steps_given = true; });
    cmd->add_option("--projection-steps", strip->projection.steps,
                    "Optimisation steps of --target's projection (default: " +
                        std::to_string(project::kStepsAfterEncoder) +
                        " after the model's encoder, 1000 from the average face without one)");
    add_encoder_options(cmd, strip->projection);
    cmd->add_option("--space", strip->projection.space, "Latent a --target is projected to: w or w+")
        ->capture_default_str();
    cmd->add_option("--loss", strip->projection.loss, "Loss of a --target's projection (as facegen project)")
        ->capture_default_str();
    cmd->add_option("--crop-scale", strip->projection.crop_scale, "FFHQ crop scale of the model's training set")
        ->capture_default_str();
    cmd->add_option("--strip", strip->strip, "PNG to write (rows = faces, columns = steps)");
    cmd->add_option("--truncation-psi", strip->truncation_psi, "Truncation psi (default: the model's for seeds)");
    cmd->add_option("--directions", strip->directions, "Directions file (default: beside the model)");
    cmd->add_option("--classifier", strip->classifier, "Attribute classifier (default: the shipped one)");
    cmd->add_flag("--no-watermark", strip->no_watermark, "Leave out the invisible watermark");
    cmd->add_option("--threads", strip->threads, "CPU threads (0 = all cores)")->capture_default_str();

    auto measure = std::make_shared<MeasureParams>();
    CLI::App* measure_cmd = cmd->add_subcommand("measure", "Entanglement, identity and speed of every attribute's edit (JSON)");
    measure_cmd->add_option("--model", measure->model, "Model file (default: the bundled model)");
    measure_cmd->add_option("--seeds", measure->seeds, "Held-out seeds to edit")->capture_default_str();
    measure_cmd->add_option("--truncation-psi", measure->truncation_psi, "Truncation psi (default: the model's)");
    measure_cmd->add_option("--directions", measure->directions, "Directions file (default: beside the model)");
    measure_cmd->add_option("--classifier", measure->classifier, "Attribute classifier (default: the shipped one)");
    measure_cmd->add_option("--edit", measure->changes,
                            "A change to measure, e.g. age=+20 (repeat for several; default: one step per attribute)");
    measure_cmd->add_option("--set", measure->targets, "A target to measure, e.g. age=70 (repeat for several)")
        ->capture_default_str();
    measure_cmd->add_option("--threads", measure->threads, "CPU threads (0 = all cores)")->capture_default_str();
    measure_cmd->callback([measure] { run_measure(*measure); });

    cmd->callback([strip, measure_cmd] {
        if (measure_cmd->parsed()) return;
        run_strip(*strip);
    });
}

}  // namespace facegen::app
