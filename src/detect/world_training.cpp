#include "detect/world_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "core/random_stream.h"
#include "facenet/calibration.h"
#include "facenet/photo_augment.h"

namespace facegen::detect {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Report = std::function<void(const TrainingProgress&)>;

/// Where an image serves: real photos are split by a hash of their path (two quarters to
/// learn from, one to calibrate, one to test); images of training families are learnt from
/// or calibrate; held-out families are only tested.
enum class Role { kFit, kCalibrate, kTest, kUnused };

int world_quarter(const std::string& path) {
    return static_cast<int>(core::splitmix64(std::hash<std::string>{}(path) ^ 0x9e3779b97f4a7c15ULL) >> 62);
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

Role role_of(const WorldImage& image, const WorldTrainingOptions& options) {
    const int quarter = world_quarter(image.path);
    if (image.label == 0) return quarter == 3 ? Role::kTest : quarter == 2 ? Role::kCalibrate : Role::kFit;
    if (contains(options.held_out_families, image.family)) return Role::kTest;
    const bool trained = options.train_families.empty() || contains(options.train_families, image.family);
    if (!trained) return Role::kUnused;
    return quarter == 2 ? Role::kCalibrate : Role::kFit;
}

std::vector<WorldImage> select(const std::vector<WorldImage>& all, const WorldTrainingOptions& options, Role role,
                               int64_t per_source) {
    std::vector<WorldImage> chosen;
    for (const WorldImage& image : all) {
        if (role_of(image, options) == role) chosen.push_back(image);
    }
    return cap_per_source(chosen, per_source);
}

std::vector<LoadedImage> load(const WorldTrainingOptions& options, const std::vector<WorldImage>& images,
                              const std::string& stage, const Report& report) {
    return load_world_images(options.folder, images, [&](int64_t done, int64_t total) {
        if (report) report({stage, done, total, 0});
    });
}

/// Per-image stream: the same image gets the same re-encoding in every run and condition.
core::RandomStream stream_for(const WorldImage& image, uint64_t seed, uint64_t draw) {
    return core::RandomStream(core::mix_seed(seed, std::hash<std::string>{}(image.path), draw));
}

torch::Tensor attacked(const torch::Tensor& image, const std::string& condition) {
    if (condition == "jpeg75") return facenet::jpeg_round_trip(image, 75);
    if (condition == "half") return facenet::resize_round_trip(image, 0.5);
    return image;
}

/// The image a condition measures: as published (its centred square), or re-encoded and then attacked.
torch::Tensor image_for(const LoadedImage& image, const std::string& condition, const WorldTrainingOptions& options) {
    if (condition == "as_published") return image.square;
    core::RandomStream stream = stream_for(image.meta, options.seed + 1, 0);
    return attacked(reencode_like_the_wild(image.square, stream, options.wild).pixels, condition);
}

double share(const std::vector<double>& probabilities, double lo, double hi) {
    if (probabilities.empty()) return 0;
    const auto n = std::count_if(probabilities.begin(), probabilities.end(), [&](double p) { return p >= lo && p < hi; });
    return static_cast<double>(n) / static_cast<double>(probabilities.size());
}

json verdict_shares(const std::vector<double>& probabilities, const DetectorInfo& info) {
    return {{"generated", share(probabilities, info.threshold, 2.0)},
            {"uncertain", share(probabilities, info.uncertain_below, info.threshold)},
            {"no_sign", share(probabilities, -1.0, info.uncertain_below)}};
}

json versus(const std::vector<double>& real_p, const std::vector<double>& fake_p, const std::vector<double>& real_l,
            const std::vector<double>& fake_l, const DetectorInfo& info) {
    std::vector<double> scores = real_l, probabilities = real_p;
    scores.insert(scores.end(), fake_l.begin(), fake_l.end());
    probabilities.insert(probabilities.end(), fake_p.begin(), fake_p.end());
    std::vector<int> labels(real_l.size(), 0);
    labels.resize(scores.size(), 1);
    return {{"n_real", real_l.size()},
            {"n_generated", fake_l.size()},
            {"auc", facenet::roc_auc(scores, labels)},
            {"ap", facenet::average_precision(scores, labels)},
            {"accuracy", facenet::accuracy_at(probabilities, labels, info.threshold)},
            {"ece", facenet::expected_calibration_error(probabilities, labels)},
            {"generated_verdicts", verdict_shares(fake_p, info)},
            {"real_verdicts", verdict_shares(real_p, info)}};
}

/// A logistic regression on a few image figures, fitted on one half of the images and
/// measured (AUC) on the other: what a classifier reading only those figures could do.
double trivial_classifier_auc(const torch::Tensor& figures, const std::vector<int>& labels, const std::vector<int>& half) {
    std::vector<int64_t> fit_rows, test_rows;
    for (size_t i = 0; i < half.size(); ++i) (half[i] == 0 ? fit_rows : test_rows).push_back(static_cast<int64_t>(i));
    const torch::Tensor y = torch::tensor(std::vector<float>(labels.begin(), labels.end()));
    const torch::Tensor fit_index = torch::tensor(fit_rows), test_index = torch::tensor(test_rows);
    const torch::Tensor x_fit = figures.index_select(0, fit_index), y_fit = y.index_select(0, fit_index);
    const torch::Tensor mean = x_fit.mean(0), std = x_fit.std(0).clamp_min(1e-6);
    // Quadratic terms too, so that a band of sizes or qualities (not only a direction) would show.
    const auto expand = [&](const torch::Tensor& x) {
        const torch::Tensor z = (x - mean) / std;
        return torch::cat({z, z * z}, 1);
    };
    const torch::Tensor z_fit = expand(x_fit);
    torch::Tensor w = torch::zeros({z_fit.size(1)}, torch::requires_grad()), b = torch::zeros({1}, torch::requires_grad());
    torch::optim::Adam optimiser({w, b}, torch::optim::AdamOptions(0.05));
    const float positive = y_fit.mean().item<float>();
    const torch::Tensor weights = torch::where(y_fit > 0.5, 0.5 / positive, 0.5 / (1 - positive));
    for (int step = 0; step < 300; ++step) {
        optimiser.zero_grad();
        const torch::Tensor loss = torch::binary_cross_entropy_with_logits(z_fit.matmul(w) + b, y_fit, weights);
        loss.backward();
        optimiser.step();
    }
    torch::NoGradGuard no_grad;
    const torch::Tensor scores = (expand(figures.index_select(0, test_index)).matmul(w) + b).to(torch::kFloat64);
    std::vector<double> s(scores.data_ptr<double>(), scores.data_ptr<double>() + scores.numel());
    std::vector<int> l;
    for (int64_t row : test_rows) l.push_back(labels[static_cast<size_t>(row)]);
    return facenet::roc_auc(s, l);
}

/// Size, JPEG tables, mean colour and contrast of every test image, as published and
/// re-encoded: a trivial classifier on them should reach chance after re-encoding.
json shortcut_check(const std::vector<LoadedImage>& images, const WorldTrainingOptions& options) {
    std::vector<float> published, reencoded;
    std::vector<int> labels, halves;
    for (const LoadedImage& image : images) {
        const auto colour = [](const torch::Tensor& pixels) {
            const torch::Tensor f = pixels.to(torch::kFloat32);
            const torch::Tensor mean = f.mean(std::vector<int64_t>{0, 1});
            return std::vector<float>{mean[0].item<float>(), mean[1].item<float>(), mean[2].item<float>(),
                                      f.mean(2).std().item<float>()};
        };
        std::vector<float> a = {static_cast<float>(image.original_width), static_cast<float>(image.original_height)};
        for (float v : colour(image.square)) a.push_back(v);
        core::RandomStream stream = stream_for(image.meta, options.seed + 1, 0);
        const ReencodedImage again = reencode_like_the_wild(image.square, stream, options.wild);
        std::vector<float> b = {static_cast<float>(again.pixels.size(0)), static_cast<float>(again.quantisation_sum)};
        for (float v : colour(again.pixels)) b.push_back(v);
        published.insert(published.end(), a.begin(), a.end());
        reencoded.insert(reencoded.end(), b.begin(), b.end());
        labels.push_back(image.meta.label);
        halves.push_back(world_half(image.meta.path));
    }
    const int64_t n = static_cast<int64_t>(labels.size());
    const torch::Tensor a = torch::tensor(published).reshape({n, -1}), b = torch::tensor(reencoded).reshape({n, -1});
    return {{"figures_as_published", "width, height, mean R, G, B, luma contrast"},
            {"figures_reencoded", "side, JPEG luma quantisation-table sum, mean R, G, B, luma contrast"},
            {"auc_as_published", trivial_classifier_auc(a, labels, halves)},
            {"auc_as_published_size_only", trivial_classifier_auc(a.narrow(1, 0, 2), labels, halves)},
            {"auc_reencoded", trivial_classifier_auc(b, labels, halves)},
            {"auc_reencoded_size_and_jpeg_only", trivial_classifier_auc(b.narrow(1, 0, 2), labels, halves)},
            {"auc_reencoded_colour_only", trivial_classifier_auc(b.narrow(1, 2, 4), labels, halves)}};
}

/// Patch features of `reencodings` re-encoded copies of each image, with the image's label
/// and a weight that gives every source the same total within its class.
struct PatchSet {
    torch::Tensor features;
    torch::Tensor labels;
    torch::Tensor weights;
};

PatchSet patch_set(const std::vector<LoadedImage>& images, const WorldTrainingOptions& options, const Report& report) {
    std::vector<torch::Tensor> features;
    std::vector<std::string> sources;
    std::vector<int> labels;
    std::vector<int64_t> counts;
    for (size_t i = 0; i < images.size(); ++i) {
        for (int64_t draw = 0; draw < options.reencodings; ++draw) {
            core::RandomStream stream = stream_for(images[i].meta, options.seed, static_cast<uint64_t>(draw) + 10);
            torch::Tensor pixels = reencode_like_the_wild(images[i].square, stream, options.wild).pixels;
            // A share of copies also goes through the measured attacks, so they are not news to the detector.
            const double attack = stream.next_uniform();
            if (attack < 0.15) pixels = facenet::jpeg_round_trip(pixels, 60 + static_cast<int>(stream.next_below(31)));
            else if (attack < 0.3) pixels = facenet::resize_round_trip(pixels, 0.5 + 0.4 * stream.next_uniform());
            const PatchGrid grid = patch_grid(pixels);
            features.push_back(spectral_features(grid.patches));
            sources.push_back(images[i].meta.source);
            labels.push_back(images[i].meta.label);
            counts.push_back(grid.patches.size(0));
        }
        if (report && ((i + 1) % 64 == 0 || i + 1 == images.size())) {
            report({"patch features", static_cast<int64_t>(i + 1), static_cast<int64_t>(images.size()), 0});
        }
    }
    const auto share_of = [&](const std::string& source) {
        const auto found = options.source_weights.find(source);
        return found == options.source_weights.end() ? 1.0 : found->second;
    };
    std::map<std::string, double> source_patches;
    std::map<int, std::set<std::string>> class_sources;
    for (size_t i = 0; i < sources.size(); ++i) {
        source_patches[sources[i]] += static_cast<double>(counts[i]);
        class_sources[labels[i]].insert(sources[i]);
    }
    std::map<int, double> class_shares;
    for (const auto& [label, names] : class_sources) {
        for (const std::string& source : names) class_shares[label] += share_of(source);
    }
    std::vector<float> label_rows, weight_rows;
    for (size_t i = 0; i < sources.size(); ++i) {
        const double weight = 0.5 / source_patches[sources[i]] * share_of(sources[i]) / class_shares[labels[i]];
        label_rows.insert(label_rows.end(), static_cast<size_t>(counts[i]), static_cast<float>(labels[i]));
        weight_rows.insert(weight_rows.end(), static_cast<size_t>(counts[i]), static_cast<float>(weight));
    }
    return {torch::cat(features), torch::tensor(label_rows), torch::tensor(weight_rows)};
}

json sources_of(const std::vector<LoadedImage>& images) {
    std::map<std::string, int64_t> counts;
    for (const LoadedImage& image : images) ++counts[image.meta.source];
    return counts;
}

}  // namespace

void WorldTrainingOptions::validate() const {
    if (folder.empty()) throw make_error("no data folder given (scripts/prepare_detector_data.sh makes one)");
    for (const std::string& family : held_out_families) {
        if (contains(train_families, family)) throw make_error("family '", family, "' is both trained on and held out");
    }
    if (train_per_source < 1 || calibrate_per_source < 1 || test_per_source < 1) {
        throw make_error("images per source must be at least 1");
    }
    if (reencodings < 1 || reencodings > 16) throw make_error("re-encoding count ", reencodings, " must be 1-16");
    for (const auto& [source, weight] : source_weights) {
        if (!(weight > 0) || !std::isfinite(weight)) throw make_error("weight ", weight, " of source '", source, "' must be > 0");
    }
    if (steps < 1) throw make_error("step count ", steps, " must be >= 1");
    if (!(learning_rate > 0)) throw make_error("learning rate ", learning_rate, " must be > 0");
    if (wild.min_side < kPatchSide || wild.max_side < wild.min_side) {
        throw make_error("re-encoded sides ", wild.min_side, "-", wild.max_side, " must be at least ", kPatchSide);
    }
    if (wild.source_max_side > 0 && (wild.source_min_side < kPatchSide || wild.source_max_side < wild.source_min_side)) {
        throw make_error("source-scale sides ", wild.source_min_side, "-", wild.source_max_side, " must be at least ",
                         kPatchSide, " (or the largest 0: no source scale)");
    }
    if (wild.source_max_side > 0 &&
        (wild.source_min_quality < 1 || wild.source_max_quality > 100 || wild.source_max_quality < wild.source_min_quality)) {
        throw make_error("source JPEG qualities ", wild.source_min_quality, "-", wild.source_max_quality, " must lie in 1-100");
    }
    if (wild.min_quality < 1 || wild.max_quality > 100 || wild.max_quality < wild.min_quality) {
        throw make_error("JPEG qualities ", wild.min_quality, "-", wild.max_quality, " must lie in 1-100");
    }
}

Detector train_world_detector(const WorldTrainingOptions& options, const Report& report) {
    options.validate();
    const auto started = Clock::now();
    const std::vector<WorldImage> all = read_world_manifest(options.folder);
    const std::vector<LoadedImage> fit_images =
        load(options, select(all, options, Role::kFit, options.train_per_source), "reading training images", report);
    if (fit_images.empty()) throw make_error("no training images in '", options.folder.string(), "'");
    PatchSet patches = patch_set(fit_images, options, report);

    DetectorInfo info;
    info.kind = DetectorKind::kSpectralPatches;
    info.spectral = options.net;
    Detector detector(info);
    torch::manual_seed(options.seed);
    SpectralPatchNet net(options.net);
    net->fit_standardisation(patches.features);
    net->train();
    torch::optim::Adam optimiser(net->parameters(),
                                 torch::optim::AdamOptions(options.learning_rate).weight_decay(options.weight_decay));
    double loss_value = 0;
    for (int64_t step = 0; step < options.steps; ++step) {
        optimiser.zero_grad();
        const torch::Tensor loss =
            (torch::binary_cross_entropy_with_logits(net->forward(patches.features), patches.labels, {}, {},
                                                     at::Reduction::None) *
             patches.weights)
                .sum();
        loss.backward();
        optimiser.step();
        loss_value = loss.item<double>();
        if (report && ((step + 1) % 20 == 0 || step + 1 == options.steps)) report({"training", step + 1, options.steps, loss_value});
    }
    {
        torch::NoGradGuard no_grad;
        auto target = detector.spectral_net()->named_parameters();
        for (const auto& item : net->named_parameters()) target[item.key()].copy_(item.value());
    }
    detector.spectral_net()->eval();

    // Calibration: images it did not learn from, clean and attacked mixed, as in measure_detector.
    const std::vector<LoadedImage> calibration_images = load(
        options, select(all, options, Role::kCalibrate, options.calibrate_per_source), "reading calibration images", report);
    std::vector<double> logits;
    std::vector<int> labels;
    for (const LoadedImage& image : calibration_images) {
        for (const char* condition : {"clean", "jpeg75", "half"}) {
            logits.push_back(detector.score(image_for(image, condition, options)).logit);
            labels.push_back(image.meta.label);
        }
    }
    detector.set_calibration(facenet::fit_platt(logits, labels), 0.5);
    detector.set_uncertain_below(0.2);

    json training = {{"data", "faces from the world (scripts/prepare_detector_data.sh)"},
                     {"train_families", options.train_families},
                     {"held_out_families", options.held_out_families},
                     {"fit_images_per_source", sources_of(fit_images)},
                     {"calibration_images_per_source", sources_of(calibration_images)},
                     {"patches", patches.features.size(0)},
                     {"reencodings", options.reencodings},
                     {"reencode", {{"source_side", {options.wild.source_min_side, options.wild.source_max_side}},
                                   {"source_jpeg_quality", {options.wild.source_min_quality, options.wild.source_max_quality}},
                                   {"side", {options.wild.min_side, options.wild.max_side}},
                                   {"crop", options.wild.min_crop},
                                   {"jpeg_quality", {options.wild.min_quality, options.wild.max_quality}}}},
                     {"source_weights", options.source_weights},
                     {"steps", options.steps},
                     {"learning_rate", options.learning_rate},
                     {"weight_decay", options.weight_decay},
                     {"hidden", options.net.hidden},
                     {"final_loss", loss_value},
                     {"seed", options.seed},
                     {"seconds", std::chrono::duration<double>(Clock::now() - started).count()}};
    json report_json = {{"training", training}};
    if (!options.held_out_families.empty()) report_json["held_out"] = measure_world_detector(detector, options, report);
    detector.set_report(report_json.dump());
    return detector;
}

json measure_world_detector(Detector& detector, const WorldTrainingOptions& options, const Report& report) {
    const std::vector<WorldImage> all = read_world_manifest(options.folder);
    const std::vector<LoadedImage> images =
        load(options, select(all, options, Role::kTest, options.test_per_source), "reading test images", report);
    const DetectorInfo& info = detector.info();
    std::set<std::string> families;
    for (const LoadedImage& image : images) {
        if (image.meta.label == 1) families.insert(image.meta.family);
    }
    if (families.empty()) throw make_error("no held-out generated images: no generator family is held out");

    json out = {{"detector_kind", to_string(info.kind)},
                {"threshold", info.threshold},
                {"uncertain_below", info.uncertain_below},
                {"test_images_per_source", sources_of(images)}};
    double scoring_seconds = 0;
    int64_t scored = 0;
    for (const std::string condition : {"as_published", "clean", "jpeg75", "half"}) {
        std::map<std::string, std::vector<double>> logits, probabilities;  // per source
        for (size_t i = 0; i < images.size(); ++i) {
            const torch::Tensor pixels = image_for(images[i], condition, options);
            const auto start = Clock::now();
            const double logit = detector.score(pixels).logit;
            if (condition == std::string("clean")) {
                scoring_seconds += std::chrono::duration<double>(Clock::now() - start).count();
                ++scored;
            }
            logits[images[i].meta.source].push_back(logit);
            probabilities[images[i].meta.source].push_back(detector.probability(logit));
            if (report && ((i + 1) % 64 == 0 || i + 1 == images.size())) {
                report({"measuring " + condition, static_cast<int64_t>(i + 1), static_cast<int64_t>(images.size()), 0});
            }
        }
        std::vector<double> real_l, real_p;
        json real_sources;
        std::map<std::string, std::string> family_of;
        std::map<std::string, int> label_of;
        for (const LoadedImage& image : images) {
            family_of[image.meta.source] = image.meta.family;
            label_of[image.meta.source] = image.meta.label;
        }
        for (const auto& [source, values] : logits) {
            if (label_of[source] != 0) continue;
            real_l.insert(real_l.end(), values.begin(), values.end());
            real_p.insert(real_p.end(), probabilities[source].begin(), probabilities[source].end());
            real_sources[source] = verdict_shares(probabilities[source], info);
        }
        json by_family, by_source;
        for (const std::string& family : families) {
            std::vector<double> fake_l, fake_p;
            for (const auto& [source, values] : logits) {
                if (label_of[source] != 1 || family_of[source] != family) continue;
                fake_l.insert(fake_l.end(), values.begin(), values.end());
                fake_p.insert(fake_p.end(), probabilities[source].begin(), probabilities[source].end());
                by_source[source] = versus(real_p, probabilities[source], real_l, values, info);
            }
            by_family[family] = versus(real_p, fake_p, real_l, fake_l, info);
        }
        out[condition] = {{"families", by_family}, {"generated_sources", by_source}, {"real_sources", real_sources}};
    }
    out["images_per_s"] = scoring_seconds > 0 ? static_cast<double>(scored) / scoring_seconds : 0.0;
    out["images_per_s_note"] = "detector alone on re-encoded images (112-176 px), one image at a time, after decoding";
    if (report) report({"shortcut check", 0, 1, 0});
    out["shortcut_check"] = shortcut_check(images, options);
    return out;
}

}  // namespace facegen::detect
