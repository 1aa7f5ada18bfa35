// facegen edit: faces across an attribute, or edited faces. `edit --seeds S --attribute age
// --range -30:30 --steps 7 --strip strip.png` shows each face (a row) at every step;
// `edit --target photo.jpg --edit age=-20 --out DIR` projects a photo's face (src/project)
// and writes it edited (seeds and latents files work too); `edit measure` edits
// held-out seeds attribute by attribute and re-scores them: how much the target moves, how
// much every other attribute moves (entanglement), how far the face moves otherwise, and
// what an edit costs in time. Flags are parsed and checked here; the work is in src/edit.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "commands.h"
#include "edit_setup.h"
#include "output_paths.h"
#include "projection_setup.h"
#include "attributes/catalogue.h"
#include "core/device.h"
#include "core/error.h"
#include "core/image_grid.h"
#include "core/progress.h"
#include "generate/latents.h"
#include "generate/seed_list.h"
#include "identity/face_recognition.h"
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
    const std::string range_text = edit::to_string(first) + ".." + edit::to_string(last);

    torch::InferenceMode inference;
    const int64_t rows = request.n_images(), side = session.config().resolution;
    torch::Tensor frames = torch::empty({rows * params.steps, side, side, session.config().img_channels}, torch::kUInt8);
    const torch::Tensor ws = session.ws_for(request, 0, rows);
    for (int64_t s = 0; s < params.steps; ++s) {
        const double value = lo + (hi - lo) * static_cast<double>(s) / static_cast<double>(params.steps - 1);
        const torch::Tensor edited = setup.editor().apply(session, ws, {{params.attribute, false, value}});
        const torch::Tensor images = session.synthesize(edited, model::NoiseMode::Const);
        for (int64_t r = 0; r < rows; ++r) frames[r * params.steps + s].copy_(images[r]);
    }
    provenance::ImageProvenance info = session.provenance_for(request);
    info.n_images = rows * params.steps;
    if (rows == 1 && !request.latents) info.seed = request.seeds[0];
    info.edit = "strip of " + std::to_string(params.steps) + " steps " +
                setup.editor().describe({first}).replace(0, edit::to_string(first).size(), range_text);
    for (const std::string& note : notes) info.edit += "; " + note;
    create_output_folder(params.strip);
    provenance::write_labelled_png(params.strip, core::make_image_grid(frames, params.steps), info);
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

/// The step `edit measure` takes for an attribute, in its edit units.
double measured_step(const attributes::AttributeSpec& spec) {
    if (spec.name == "age") return 10;
    if (spec.name == "brightness") return 0.05;
    if (spec.name == "light_direction") return 0.1;
    if (spec.name == "yaw") return 10;
    if (spec.name == "pitch") return 5;
    return 2;  // log-odds
}

torch::Tensor scores_tensor(const std::vector<attributes::AttributeScores>& scores) {
    torch::Tensor out = torch::empty({static_cast<int64_t>(scores.size()), static_cast<int64_t>(scores.front().size())},
                                     torch::kFloat64);
    for (size_t i = 0; i < scores.size(); ++i) {
        for (size_t a = 0; a < scores[i].size(); ++a) out[static_cast<int64_t>(i)][static_cast<int64_t>(a)] = scores[i][a];
    }
    return out;
}

/// A score in the unit its edits use: log-odds for probabilities.
torch::Tensor edit_units(const attributes::AttributeSpec& spec, const torch::Tensor& score) {
    if (spec.kind != attributes::AttributeKind::kProbability) return score;
    const torch::Tensor p = score.clamp(1e-4, 1 - 1e-4);
    return (p / (1 - p)).log();
}

/// Root-mean-square pixel difference per image pair, in 0..255.
torch::Tensor rms_difference(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).pow(2).mean({1, 2, 3}).sqrt();
}

void run_measure(const MeasureParams& params) {
    core::set_cpu_threads(params.threads);
    generate::Session session(params.model);
    generate::Request request;
    request.seeds = generate::parse_seed_list(params.seeds);
    if (request.seeds.size() < 2) throw make_error("edit measure needs at least 2 seeds");
    if (params.truncation_psi >= 0) request.truncation_psi = params.truncation_psi;
    session.check(request);
    std::vector<std::vector<edit::AttributeEdit>> changes;
    for (const std::string& text : params.changes) changes.push_back(edit::parse_edits(text, false));
    if (changes.empty()) {
        for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
            changes.push_back({{spec.name, false, measured_step(spec)}});
        }
    }
    std::vector<std::vector<edit::AttributeEdit>> targets;
    for (const std::string& text : params.targets) targets.push_back(edit::parse_edits(text, true));
    std::optional<fs::path> classifier_path =
        params.classifier.empty() ? attributes::default_classifier_path() : fs::path(params.classifier);
    if (!classifier_path) throw make_error("edit measure needs the attribute classifier: give --classifier FILE");
    EditSetup setup(session, "", "", params.directions, classifier_path->string());
    attributes::AttributeClassifier classifier = attributes::AttributeClassifier::load(*classifier_path);
    edit::Editor unconditioned(setup.editor().directions(), nullptr, {});
    const project::IdentityEmbedder identity = project::load_identity_embedder(
        "", session.device(), project::PhotoProjectionOptions{}.crop_scale);  // faces framed as the bundled model's

    torch::InferenceMode inference;
    const int64_t n = request.n_images();
    constexpr int64_t kBatch = 32;
    using Clock = std::chrono::steady_clock;
    const torch::Tensor ws = session.ws_for(request, 0, n);
    unconditioned.set_reach(edit::LatentReach::sample(session));
    session.synthesize(ws.narrow(0, 0, std::min(kBatch, n)), model::NoiseMode::Const);  // warm-up, not timed
    const auto t0 = Clock::now();
    std::vector<torch::Tensor> chunks;
    for (int64_t begin = 0; begin < n; begin += kBatch) {
        chunks.push_back(session.synthesize(ws.narrow(0, begin, std::min(kBatch, n - begin)), model::NoiseMode::Const));
    }
    const torch::Tensor originals = torch::cat(chunks);
    const double plain_ms = 1000 * std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(n);
    const torch::Tensor before = scores_tensor(classifier.score(originals));
    // Unrelated faces: each face against the next one, the scale of "someone else".
    const double unrelated = rms_difference(originals, originals.roll(1, 0)).mean().item<double>();
    const auto descriptors = [&](const torch::Tensor& images) {
        std::vector<torch::Tensor> parts;
        for (int64_t begin = 0; begin < n; begin += kBatch) {
            parts.push_back(identity(project::to_generator_range(images.narrow(0, begin, std::min(kBatch, n - begin)))));
        }
        return torch::cat(parts).to(torch::kCPU, torch::kFloat64);
    };
    const torch::Tensor original_descriptors = identity ? descriptors(originals) : torch::Tensor();
    const double unrelated_identity =
        identity ? identity::descriptor_distance(original_descriptors, original_descriptors.roll(1, 0)).mean().item<double>()
                 : 0;

    const auto& catalogue = attributes::attribute_catalogue();
    const auto edited_images = [&](edit::Editor& editor, const std::vector<edit::AttributeEdit>& edits,
                                   std::vector<std::vector<edit::EditOutcome>>* outcomes) {
        std::vector<torch::Tensor> parts;
        if (outcomes) outcomes->clear();
        for (int64_t begin = 0; begin < n; begin += kBatch) {
            const torch::Tensor part = ws.narrow(0, begin, std::min(kBatch, n - begin));
            std::vector<std::vector<edit::EditOutcome>> batch;
            parts.push_back(session.synthesize(editor.apply(session, part, edits, &batch), model::NoiseMode::Const));
            if (outcomes) outcomes->insert(outcomes->end(), batch.begin(), batch.end());
        }
        return torch::cat(parts);
    };
    const auto limited_share = [&](const std::vector<std::vector<edit::EditOutcome>>& outcomes) {
        double limited = 0;
        for (const auto& face : outcomes) {
            limited += std::any_of(face.begin(), face.end(), [](const edit::EditOutcome& o) { return o.limited; });
        }
        return limited / static_cast<double>(n);
    };
    /// How far the edited faces are from the originals: pixels and the identity network.
    const auto distances = [&](const torch::Tensor& images) {
        json out = {{"pixel_rms_change", rms_difference(images, originals).mean().item<double>()},
                    {"pixel_distance", rms_difference(images, originals).mean().item<double>() / unrelated}};
        if (identity) {
            const torch::Tensor d = identity::descriptor_distance(descriptors(images), original_descriptors);
            out["identity_distance"] = d.mean().item<double>();
            out["identity_distance_max"] = d.max().item<double>();
            out["same_person_share"] = (d < identity::kSamePersonDistance).to(torch::kFloat64).mean().item<double>();
        }
        return out;
    };

    json table = json::object();
    core::ProgressLine progress("edit measure");
    core::ProgressReport report{"edit", 0, static_cast<double>(changes.size() + targets.size()), {}};
    for (const std::vector<edit::AttributeEdit>& edits : changes) {
        const attributes::AttributeSpec& spec = attributes::find_attribute(edits.front().attribute);
        const auto a = static_cast<int64_t>(attributes::attribute_index(spec.name));
        json row = {{"edit", edit::to_string(edits)},
                    {"edit_unit", spec.kind == attributes::AttributeKind::kProbability ? "log-odds" : spec.unit},
                    {"score_unit", spec.unit}};
        for (const bool conditioned : {true, false}) {
            std::vector<std::vector<edit::EditOutcome>> outcomes;
            const torch::Tensor images = edited_images(conditioned ? setup.editor() : unconditioned, edits, &outcomes);
            const torch::Tensor after = scores_tensor(classifier.score(images));
            const torch::Tensor change = (after - before).mean(0);
            const torch::Tensor change_in_edit_units =
                (edit_units(spec, after.select(1, a)) - edit_units(spec, before.select(1, a))).mean();
            json others = json::object();
            for (size_t b = 0; b < catalogue.size(); ++b) {
                if (static_cast<int64_t>(b) != a) others[catalogue[b].name] = change[static_cast<int64_t>(b)].item<double>();
            }
            json figures = {{"target_change", change[a].item<double>()},
                            {"target_change_in_edit_units", change_in_edit_units.item<double>()},
                            {"other_changes", others},
                            {"limited_share", limited_share(outcomes)}};
            figures.update(distances(images));
            row[conditioned ? "conditioned" : "unconditioned"] = figures;
        }
        table[edit::to_string(edits)] = row;
        report.done += 1;
        progress.update(report);
    }

    // Targets: where the faces land, and how many say they cannot get there.
    json target_rows = json::array();
    double target_ms = 0;
    for (const std::vector<edit::AttributeEdit>& edits : targets) {
        const edit::AttributeEdit& goal = edits.front();
        const attributes::AttributeSpec& spec = attributes::find_attribute(goal.attribute);
        const auto a = static_cast<int64_t>(attributes::attribute_index(spec.name));
        std::vector<std::vector<edit::EditOutcome>> outcomes;
        const auto t2 = Clock::now();
        const torch::Tensor images = edited_images(setup.editor(), edits, &outcomes);
        target_ms = 1000 * std::chrono::duration<double>(Clock::now() - t2).count() / static_cast<double>(n);
        const torch::Tensor reached = scores_tensor(classifier.score(images)).select(1, a);
        const torch::Tensor error = (reached - goal.value).abs();
        // "Close": within 7 years of age, 0.1 of a probability, 10% of another unit's range.
        const auto [lo, hi] = edit::allowed_range(spec.name, true);
        const double close = spec.name == "age" ? 7.0 : spec.kind == attributes::AttributeKind::kProbability ? 0.1 : 0.1 * (hi - lo);
        torch::Tensor limited = torch::zeros({n}, torch::kBool);
        for (int64_t i = 0; i < n; ++i) {
            for (const edit::EditOutcome& o : outcomes[static_cast<size_t>(i)]) {
                if (o.edit.attribute == spec.name && o.limited) limited[i] = true;
            }
        }
        const torch::Tensor told = (error <= close) | limited;
        json row = {{"set", edit::to_string(edits)},
                    {"mean_reading", reached.mean().item<double>()},
                    {"mean_abs_error", error.mean().item<double>()},
                    {"close_within", close},
                    {"close_share", (error <= close).to(torch::kFloat64).mean().item<double>()},
                    {"limited_share", limited.to(torch::kFloat64).mean().item<double>()},
                    {"close_or_said_share", told.to(torch::kFloat64).mean().item<double>()},
                    {"ms_per_image", target_ms}};
        if (limited.any().item<bool>()) {
            const torch::Tensor stopped = reached.masked_select(limited);
            row["limited_reached_min"] = stopped.min().item<double>();
            row["limited_reached_max"] = stopped.max().item<double>();
        }
        row.update(distances(images));
        target_rows.push_back(row);
        report.done += 1;
        progress.update(report);
    }
    progress.finish(report);

    // Speed of a change next to plain generation of the same faces.
    const auto t3 = Clock::now();
    edited_images(setup.editor(), {{"age", false, 10}}, nullptr);
    const double change_ms = 1000 * std::chrono::duration<double>(Clock::now() - t3).count() / static_cast<double>(n);
    const json out = {{"model_id", session.metadata().model_id},
                      {"directions_model_id", setup.editor().directions().model_id()},
                      {"seeds", params.seeds},
                      {"faces", n},
                      {"truncation_psi", session.truncation_psi_for(request)},
                      {"kept_when_conditioned", edit::default_kept_attributes()},
                      {"pixel_distance_means", "pixel RMS change / RMS difference between unrelated faces"},
                      {"identity_distance_means",
                       identity ? "face-recognition descriptor distance to the original face (same person below 0.6)"
                                : "no identity network found"},
                      {"unrelated_faces_pixel_rms", unrelated},
                      {"unrelated_faces_identity_distance", unrelated_identity},
                      {"edits", table},
                      {"targets", target_rows},
                      {"speed_ms_per_image",
                       {{"plain", plain_ms}, {"change", change_ms}, {"target", target_ms}, {"batch", kBatch},
                        {"threads", torch::get_num_threads()}}}};
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
