// facegen attributes: what a face shows. `attributes score IMAGE...` prints one JSON line per
// image (every attribute in its unit; --align finds and aligns the face of a photo first); `attributes list` the attributes and their units;
// `attributes train` trains the classifier on labelled real faces. Flags are parsed and
// checked here; the work is in src/attributes.

#include <cstdio>
#include <memory>

#include "commands.h"
#include "input_files.h"
#include "output_paths.h"
#include "attributes/audit.h"
#include "attributes/catalogue.h"
#include "attributes/classifier.h"
#include "attributes/training.h"
#include "core/atomic_file.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/image_io.h"
#include "facenet/face_cnn.h"
#include "facenet/face_crop.h"
#include "generate/session.h"
#ifdef FACEGEN_HAVE_EDIT
#include "edit/directions.h"
#endif

namespace facegen::app {
namespace {

namespace fs = std::filesystem;

attributes::AttributeClassifier load_classifier(const std::string& given) {
    const std::optional<fs::path> path = given.empty() ? attributes::default_classifier_path() : fs::path(given);
    if (!path) {
        throw make_error("no attribute classifier given and none is shipped (models/",
                         attributes::kBundledClassifierFileName, "): give --classifier FILE");
    }
    return attributes::AttributeClassifier::load(*path);
}

struct ScoreParams {
    std::vector<std::string> images;
    std::string classifier;
    bool align = false;
    double crop_scale = 0.7;  // the classifier's training sets: dataset build --crop-scale 0.7
    std::string landmarks_model = data::kDefaultPredictorPath;
    int threads = 0;
};

/// Side of an aligned photo: the classifier reads 64, head pose is read better from more.
constexpr int64_t kAlignedSide = 256;

/// One image's line: its scores, or the error that kept it from being scored.
nlohmann::json score_one(attributes::AttributeClassifier& classifier, data::FaceDetector* aligner,
                         const ScoreParams& params, const std::string& name) {
    const data::DecodedImage decoded = data::decode_image(read_image_file(name), name);
    const data::RgbImage& image = decoded.image;
    if (std::min(image.width, image.height) < facenet::kFaceInputSide) {
        throw make_error("image '", name, "' is ", image.width, "x", image.height, "; the classifier reads at least ",
                         facenet::kFaceInputSide, "x", facenet::kFaceInputSide);
    }
    nlohmann::json line = {
        {"file", name},
        {"image", {{"width", image.width}, {"height", image.height}, {"format", data::to_string(decoded.format)}}}};
    torch::Tensor face;
    if (aligner != nullptr) {
        data::FaceDetection found;
        face = facenet::aligned_face(image, name, *aligner, params.crop_scale, kAlignedSide, &found);
        line["face"] = {{"box", {found.left, found.top, found.right, found.bottom}},
                        {"detector_score", found.score},
                        {"alignment", "ffhq"},
                        {"crop_scale", params.crop_scale}};
    } else {
        face = facenet::centre_square(image);
    }
    line["attributes"] = attributes::to_json(classifier.score(face).front());
    return line;
}

void run_score(const ScoreParams& params) {
    if (params.images.empty()) throw make_error("no images: give one or more image files");
    if (!(params.crop_scale >= 0.3 && params.crop_scale <= 2.0)) {
        throw make_error("bad --crop-scale ", params.crop_scale, ": expected 0.3 .. 2 (0.7 = the classifier's training crops)");
    }
    core::set_cpu_threads(params.threads);
    attributes::AttributeClassifier classifier = load_classifier(params.classifier);
    std::unique_ptr<data::FaceDetector> aligner;
    if (params.align) aligner = std::make_unique<data::FaceDetector>(params.landmarks_model, /*upsample=*/1);
    int64_t errors = 0;
    for (const std::string& name : params.images) {
        nlohmann::json line;
        try {
            line = score_one(classifier, aligner.get(), params, name);
        } catch (const std::exception& e) {
            line = {{"file", name}, {"error", e.what()}};
            ++errors;
        }
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
    }
    if (errors > 0) throw make_error(errors, " of ", params.images.size(), " image(s) could not be scored (see their lines)");
}

void run_list() {
    for (const attributes::AttributeSpec& spec : attributes::attribute_catalogue()) {
        std::printf("%s\n", nlohmann::json({{"name", spec.name},
                                            {"kind", attributes::to_string(spec.kind)},
                                            {"unit", spec.unit},
                                            {"description", spec.description}})
                                .dump()
                                .c_str());
    }
}

struct TrainParams {
    attributes::ClassifierTrainingOptions options;
    std::string out;
    int threads = 0;
};

void run_train(const TrainParams& params) {
    params.options.validate();
    if (params.out.empty()) throw make_error("no output: give --out FILE.safetensors");
    check_output_file(params.out, "--out", "attributes.safetensors");
    core::set_cpu_threads(params.threads);
    std::unique_ptr<core::ProgressLine> progress;
    std::string phase;
    core::ProgressReport last;
    attributes::AttributeClassifier classifier =
        attributes::train_classifier(params.options, [&](const attributes::ClassifierProgress& p) {
            if (p.phase != phase) {
                if (progress) progress->finish(last);
                progress = std::make_unique<core::ProgressLine>("attributes train: " + p.phase);
                phase = p.phase;
            }
            last = {"step", static_cast<double>(p.done), static_cast<double>(p.total), {}};
            if (p.phase == "training") last.figures = {{"loss", p.loss}};
            progress->update(last);
        });
    if (progress) progress->finish(last);
    create_output_folder(params.out);
    classifier.save(params.out);
    std::printf("%s\n", classifier.report_json().c_str());
    std::fprintf(stderr, "attributes train: wrote %s\n", params.out.c_str());
}

struct AuditParams {
    std::string model;
    std::string classifier;
    std::string data;
    std::string chart;
    attributes::AuditOptions options;
    double truncation_psi = -1;
    int threads = 0;
};

void run_audit(AuditParams params) {
    if (!params.chart.empty()) check_output_file(params.chart, "--chart", "audit.svg");
    if (!params.data.empty() && !fs::is_directory(params.data)) throw make_error("--data '", params.data, "' is not a folder");
    if (params.truncation_psi >= 0) params.options.truncation_psi = params.truncation_psi;
    core::set_cpu_threads(params.threads);
    generate::Session session(params.model);
    attributes::AttributeClassifier classifier = load_classifier(params.classifier);
    core::ProgressLine progress("attributes audit");
    core::ProgressReport last{"img", 0, 0, {}};
    const nlohmann::json audit =
        attributes::audit_outputs(session, classifier, params.data, params.options, [&](int64_t done, int64_t total) {
            last.done = static_cast<double>(done);
            last.total = static_cast<double>(total);
            progress.update(last);
        });
    progress.finish(last);
    if (!params.chart.empty()) {
        create_output_folder(params.chart);
        core::write_file_atomically(params.chart, attributes::audit_chart_svg(audit));
        std::fprintf(stderr, "attributes audit: wrote %s\n", params.chart.c_str());
    }
    std::printf("%s\n", audit.dump(1).c_str());
}

#ifdef FACEGEN_HAVE_EDIT
struct DirectionsParams {
    std::string model;
    std::string classifier;
    std::string out;  // "" = beside the model
    std::string reuse_fits;  // a directions file whose linear models are kept
    bool gradient_steps = false;
    edit::DirectionFitOptions options;
    int threads = 0;
};

void run_directions(const DirectionsParams& params) {
    core::set_cpu_threads(params.threads);
    generate::Session session(params.model);
    const fs::path out = params.out.empty() ? edit::directions_path_for(session.model_path()) : fs::path(params.out);
    check_output_file(out, "--out", "model.directions.safetensors");
    attributes::AttributeClassifier classifier = load_classifier(params.classifier);
    std::optional<edit::AttributeDirections> reused;
    edit::DirectionFitOptions options = params.options;
    options.covariance_steps = !params.gradient_steps;
    if (!params.reuse_fits.empty()) {
        reused.emplace(edit::AttributeDirections::load(params.reuse_fits, session.metadata().model_id));
        options.reuse_fits = &*reused;
    }
    core::ProgressLine progress("attributes directions");
    core::ProgressReport last{"img", 0, static_cast<double>(params.options.samples), {}};
    const edit::AttributeDirections directions =
        edit::AttributeDirections::fit(session, classifier, options, [&](int64_t done, int64_t total) {
            last.done = static_cast<double>(done);
            last.total = static_cast<double>(total);
            progress.update(last);
        });
    progress.finish(last);
    create_output_folder(out);
    directions.save(out);
    std::printf("%s\n", directions.report().dump().c_str());
    std::fprintf(stderr, "attributes directions: wrote %s (for model %s)\n", out.c_str(), directions.model_id().c_str());
}
#endif

}  // namespace

void add_attributes_command(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("attributes", "What faces show: score images, list attributes, train the classifier");
    cmd->require_subcommand(1);

    auto score = std::make_shared<ScoreParams>();
    CLI::App* score_cmd = cmd->add_subcommand("score", "Score face images (JSON line per image)");
    score_cmd->add_option("images", score->images,
                          "Image files (JPEG, PNG, WebP): face crops framed like facegen's, or photos with --align");
    score_cmd->add_option("--classifier", score->classifier,
                          "Classifier file (default: $FACEGEN_ATTRIBUTES, else the shipped one)");
    score_cmd->add_flag("--align", score->align,
                        "Find the largest face (dlib) and align it as facegen's training sets are, first");
    score_cmd->add_option("--crop-scale", score->crop_scale, "With --align: the FFHQ crop's scale")->capture_default_str();
    score_cmd->add_option("--landmarks-model", score->landmarks_model, "With --align: dlib's 68-landmark model")
        ->capture_default_str();
    score_cmd->add_option("--threads", score->threads, "CPU threads (0 = all cores)")->capture_default_str();
    score_cmd->callback([score] { run_score(*score); });

    CLI::App* list_cmd = cmd->add_subcommand("list", "The attributes and their units (JSON line each)");
    list_cmd->callback([] { run_list(); });

    auto train = std::make_shared<TrainParams>();
    CLI::App* train_cmd = cmd->add_subcommand("train", "Train the attribute classifier on labelled real faces");
    train_cmd->add_option("--utkface", train->options.utkface, "Packed dataset built with --labels utkface");
    train_cmd->add_option("--celeba", train->options.celeba, "Packed dataset built with --labels celeba");
    train_cmd->add_option("--out", train->out, "Classifier file to write (.safetensors)")->required();
    train_cmd->add_option("--steps", train->options.steps, "Training steps")->capture_default_str();
    train_cmd->add_option("--batch", train->options.batch, "Images per step, half from each dataset")
        ->capture_default_str();
    train_cmd->add_option("--lr", train->options.learning_rate, "Adam learning rate (cosine decay)")
        ->capture_default_str();
    train_cmd->add_option("--width", train->options.width, "Channels of the first layer")->capture_default_str();
    train_cmd->add_option("--seed", train->options.seed, "Seed of the initial weights and the batches")
        ->capture_default_str();
    train_cmd->add_option("--threads", train->threads, "CPU threads (0 = all cores)")->capture_default_str();
    train_cmd->callback([train] { run_train(*train); });

    auto audit = std::make_shared<AuditParams>();
    CLI::App* audit_cmd = cmd->add_subcommand(
        "audit", "Bias audit: age bands, gender and ethnicity of generated faces beside the training set's (JSON)");
    audit_cmd->add_option("--model", audit->model, "Model file (default: the bundled model)");
    audit_cmd->add_option("--classifier", audit->classifier, "Classifier file (default: the shipped one)");
    audit_cmd->add_option("--data", audit->data, "The model's training set (packed dataset) to compare with");
    audit_cmd->add_option("--count", audit->options.count, "Generated faces")->capture_default_str();
    audit_cmd->add_option("--first-seed", audit->options.first_seed, "First seed")->capture_default_str();
    audit_cmd->add_option("--dataset-images", audit->options.dataset_images, "Training images the classifier reads")
        ->capture_default_str();
    audit_cmd->add_option("--truncation-psi", audit->truncation_psi, "psi (default: the model's)");
    audit_cmd->add_option("--chart", audit->chart, "Also write a bar chart (SVG)");
    audit_cmd->add_option("--threads", audit->threads, "CPU threads (0 = all cores)")->capture_default_str();
    audit_cmd->callback([audit] { run_audit(*audit); });

#ifdef FACEGEN_HAVE_EDIT
    auto directions = std::make_shared<DirectionsParams>();
    CLI::App* directions_cmd =
        cmd->add_subcommand("directions", "Fit every attribute's direction in a model's W space (for edits)");
    directions_cmd->add_option("--model", directions->model, "Model file (default: the bundled model)");
    directions_cmd->add_option("--classifier", directions->classifier, "Classifier file (default: the shipped one)");
    directions_cmd->add_option("--out", directions->out,
                               "Directions file (default: <model>.directions.safetensors beside the model)");
    directions_cmd->add_option("--samples", directions->options.samples, "Faces sampled and scored")
        ->capture_default_str();
    directions_cmd->add_option("--first-seed", directions->options.first_seed, "First seed of the samples")
        ->capture_default_str();
    directions_cmd->add_option("--truncation-psi", directions->options.truncation_psi, "psi of the sampled faces")
        ->capture_default_str();
    directions_cmd->add_option("--reuse-fits", directions->reuse_fits,
                               "Keep this directions file's linear models (same --samples, --first-seed and psi); "
                               "measure only the w covariance, the age steps and the responses anew");
    directions_cmd->add_option("--age-step-samples", directions->options.age_step_samples,
                               "Age's steps from means of the first N faces within gender and ethnicity strata "
                               "(scored also with --reuse-fits; 0: none, age steps along its gradient)")
        ->capture_default_str();
    directions_cmd->add_flag("--gradient-steps", directions->gradient_steps,
                             "Store no w covariance: other attributes step along their conditioned gradient "
                             "(the steps of format 1 files)");
    directions_cmd->add_option("--threads", directions->threads, "CPU threads (0 = all cores)")->capture_default_str();
    directions_cmd->callback([directions] { run_directions(*directions); });
#endif
}

}  // namespace facegen::app
