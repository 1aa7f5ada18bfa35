// facegen anonymize: every face of a photo replaced by a person who does not exist.
// `anonymize photo.jpg --out anon.jpg` writes one photo (its report as JSON on stdout, or
// --report FILE); `anonymize --input DIR --out DIR` a folder, resumably, with a report per
// photo. Flags are parsed and checked here; the work is in src/anonymize.

#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "output_paths.h"
#include "anonymize/anonymizer.h"
#include "anonymize/labelled_photo.h"
#include "anonymize/photo_files.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"

namespace facegen::app {
namespace {

namespace fs = std::filesystem;

struct AnonymizeParams {
    std::string photo;   // positional: one photo
    std::string input;   // --input DIR
    std::string out;
    std::string report;
    std::string model;
    std::string classifier;
    std::string identity_network;
    std::string landmarks_model = data::kDefaultPredictorPath;
    std::string fallback = "blur";
    std::string format;
    anonymize::AnonymizeOptions options;
    anonymize::FileOptions files;
    int threads = 0;
};

std::unique_ptr<anonymize::Anonymizer> make_anonymizer(const AnonymizeParams& params) {
    anonymize::AnonymizerModels models;
    models.generator = params.model;
    models.classifier = params.classifier;
    models.face_recognition = params.identity_network;
    models.landmarks = params.landmarks_model;
    core::ProgressLine progress("anonymize: face pool");
    core::ProgressReport last;
    auto anonymizer = std::make_unique<anonymize::Anonymizer>(models, params.options, [&](const core::ProgressReport& report) {
        last = report;
        progress.update(report);
    });
    progress.finish(last);
    return anonymizer;
}

void run_anonymize(AnonymizeParams params) {
    if (params.photo.empty() == params.input.empty()) {
        throw make_error("give one photo or --input DIR (not both, not neither)");
    }
    if (params.out.empty()) throw make_error("no output: give --out FILE (a photo) or --out DIR (with --input)");
    params.options.fallback = anonymize::parse_fallback(params.fallback);
    params.options.validate();
    if (!params.format.empty() && params.format != "png" && params.format != "jpg") {
        throw make_error("bad --format '", params.format, "': expected png or jpg");
    }
    params.files.format = params.format;
    if (params.files.jpeg_quality < 1 || params.files.jpeg_quality > 100) {
        throw make_error("bad --jpeg-quality ", params.files.jpeg_quality, ": expected 1 .. 100");
    }
    if (!params.photo.empty()) {
        anonymize::format_for_path(params.out);
        check_output_file(params.out, "--out", "anon.jpg");
        if (!params.files.overwrite && fs::exists(params.out)) {
            throw make_error("output '", params.out, "' already exists: give --overwrite to replace it");
        }
        if (!params.report.empty()) check_output_file(params.report, "--report", "anon.json");
        if (!fs::is_regular_file(params.photo)) throw make_error("photo '", params.photo, "' is not a file");
    } else {
        check_writable_folder(params.out, "--out");
    }
    core::set_cpu_threads(params.threads);
    std::fprintf(stderr, "anonymize: %s\n", params.options.to_string().c_str());
    const std::unique_ptr<anonymize::Anonymizer> anonymizer = make_anonymizer(params);
    if (!params.photo.empty()) {
        create_output_folder(params.out);
        const nlohmann::json report =
            anonymize::anonymize_file(*anonymizer, params.photo, params.out, params.report, params.files);
        std::printf("%s\n", report.dump().c_str());
        return;
    }
    core::ProgressLine progress("anonymize");
    core::ProgressReport last;
    const anonymize::FolderSummary summary =
        anonymize::anonymize_folder(*anonymizer, params.input, params.out, params.files, [&](const core::ProgressReport& r) {
            last = r;
            progress.update(r);
        });
    progress.finish(last);
    std::printf("%s\n", anonymize::to_json(summary).dump().c_str());
    if (summary.n_failed > 0) {
        throw make_error(summary.n_failed, " of ", summary.n_photos, " photo(s) could not be anonymised (see their reports in '",
                         params.out, "')");
    }
}

}  // namespace

void add_anonymize_command(CLI::App& app) {
    auto params = std::make_shared<AnonymizeParams>();
    CLI::App* cmd = app.add_subcommand("anonymize", "Replace every face of a photo by a person who does not exist");
    cmd->add_option("photo", params->photo, "Photo (JPEG, PNG, WebP)");
    cmd->add_option("--input", params->input, "Or a folder of photos (resumable: finished photos are skipped)");
    cmd->add_option("--out", params->out, "Output photo (.png keeps every other pixel; .jpg re-encodes), or folder");
    cmd->add_option("--report", params->report, "JSON report of a single photo (default: stdout only)");
    cmd->add_flag("--overwrite", params->files.overwrite, "Replace outputs that exist");
    cmd->add_option("--format", params->format, "Output format of a folder run: png or jpg (default: the input's)");
    cmd->add_option("--jpeg-quality", params->files.jpeg_quality, "Quality of JPEG outputs")->capture_default_str();
    cmd->add_option("--fallback", params->fallback, "Faces too small or turned: blur or keep (with a warning)")
        ->capture_default_str();
    cmd->add_option("--pool", params->options.pool_size, "Generated faces to choose from (each also mirrored)")
        ->capture_default_str();
    cmd->add_option("--pool-first-seed", params->options.pool_first_seed, "First seed of the pool")->capture_default_str();
    cmd->add_option("--truncation-psi", params->options.truncation_psi, "Truncation of the pool's faces")
        ->capture_default_str();
    cmd->add_option("--min-identity-distance", params->options.min_identity_distance,
                    "Least identity distance of a replacement from the original, measured after pasting (same person under 0.6)")
        ->capture_default_str();
    cmd->add_option("--min-face-px", params->options.min_face_px, "Smaller faces fall back")->capture_default_str();
    cmd->add_option("--max-pose", params->options.max_pose_degrees, "Faces turned further (degrees) fall back")
        ->capture_default_str();
    cmd->add_option("--max-pixels", params->options.max_pixels, "Larger photos are refused")->capture_default_str();
    cmd->add_option("--crop-scale", params->options.crop_scale, "FFHQ crop scale of the model's training set")
        ->capture_default_str();
    cmd->add_flag("--verify", params->options.verify,
                  "Find the faces again in the result; report their identity distance and attributes there");
    cmd->add_flag("--watermark", params->options.watermark,
                  "Embed the invisible watermark (changes every pixel by a level or two)");
    cmd->add_option("--model", params->model, "Model file (default: $FACEGEN_MODEL, else the bundled model)");
    cmd->add_option("--classifier", params->classifier, "Attribute classifier (default: the shipped one)");
    cmd->add_option("--identity-network", params->identity_network, "Face-recognition network (default: the shipped one)");
    cmd->add_option("--landmarks-model", params->landmarks_model, "dlib's 68-landmark model")->capture_default_str();
    cmd->add_option("--threads", params->threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->callback([params] { run_anonymize(*params); });
}

}  // namespace facegen::app
