#include "detect/training.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/random_stream.h"
#include "facenet/calibration.h"
#include "facenet/optimizer.h"
#include "facenet/photo_augment.h"
#include "generate/session.h"
#include "metrics/image_sets.h"

namespace facegen::detect {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

/// Seeds of measured faces start here, far from the training seeds 0, 1, 2, ...
constexpr uint32_t kEvalSeedBase = 2'000'000'000u;

/// Images as uint8 [N, H, W, 3] (NHWC, what the augmentations take).
torch::Tensor read_real_faces(const std::filesystem::path& dataset, const std::string& split, int64_t max_images,
                              uint64_t seed, const std::function<void(const TrainingProgress&)>& report) {
    metrics::DatasetImagesOptions select;
    select.split = split;
    select.max_images = max_images;
    select.seed = seed;
    const metrics::ImageSet set = metrics::dataset_images(dataset, select);
    if (set.channels != 3) throw make_error("real dataset '", dataset.string(), "' is not RGB");
    if (set.resolution < facenet::kFaceInputSide) {
        throw make_error("real dataset '", dataset.string(), "' is ", set.resolution,
                         " px; the detector reads at least ", facenet::kFaceInputSide);
    }
    torch::Tensor out = torch::empty({set.n_images, set.resolution, set.resolution, 3}, torch::kUInt8);
    constexpr int64_t kChunk = 512;
    for (int64_t begin = 0; begin < set.n_images; begin += kChunk) {
        const int64_t n = std::min(kChunk, set.n_images - begin);
        out.narrow(0, begin, n).copy_(metrics::read_images(set, begin, n).cpu().permute({0, 2, 3, 1}));
        if (report) report({"reading real faces (" + split + ")", begin + n, set.n_images, 0});
    }
    return out;
}

torch::Tensor generate_faces(const FakeSource& source, uint32_t first_seed, int64_t count,
                             const std::function<void(const TrainingProgress&)>& report) {
    generate::Session session(source.model);
    if (session.config().img_channels != 3 || session.config().resolution < facenet::kFaceInputSide) {
        throw make_error("fake source '", source.name, "': model '", source.model.string(),
                         "' does not make RGB images of at least ", facenet::kFaceInputSide, " px");
    }
    generate::Request request;
    for (int64_t i = 0; i < count; ++i) request.seeds.push_back(first_seed + static_cast<uint32_t>(i));
    request.truncation_psi = source.truncation_psi;
    request.batch = 32;
    const int64_t side = session.config().resolution;
    torch::Tensor out = torch::empty({count, side, side, 3}, torch::kUInt8);
    session.run_each(request, [&](generate::GeneratedImage&& image, int64_t index) {
        out[index].copy_(image.pixels);  // the raw pixels: a detector must not learn the watermark
        if (report && (index + 1) % 256 == 0) report({"generating " + source.name, index + 1, count, 0});
    });
    return out;
}

/// Every other image (even rows calibrate, odd rows measure), so both halves see the same mix.
torch::Tensor half(const torch::Tensor& images, int64_t parity) {
    return images.index({torch::indexing::Slice(parity, torch::indexing::None, 2)});
}

torch::Tensor attacked(const torch::Tensor& images, const std::string& condition) {
    if (condition == "clean") return images;
    torch::Tensor out = torch::empty_like(images);
    for (int64_t i = 0; i < images.size(0); ++i) {
        out[i].copy_(condition == "jpeg75" ? facenet::jpeg_round_trip(images[i], 75) : facenet::resize_round_trip(images[i], 0.5));
    }
    return out;
}

void append(std::vector<double>& scores, std::vector<int>& labels, const std::vector<double>& more, int label) {
    scores.insert(scores.end(), more.begin(), more.end());
    labels.insert(labels.end(), more.size(), label);
}

double share_at_or_above(const std::vector<double>& probabilities, double threshold) {
    if (probabilities.empty()) return 0;
    const auto n = std::count_if(probabilities.begin(), probabilities.end(), [&](double p) { return p >= threshold; });
    return static_cast<double>(n) / static_cast<double>(probabilities.size());
}

std::vector<double> probabilities_of(const Calibration& calibration, const std::vector<double>& logits) {
    std::vector<double> out;
    out.reserve(logits.size());
    for (double logit : logits) out.push_back(calibration.probability(logit));
    return out;
}

/// Figures of one set of generated faces against the real test faces.
json versus_real(const std::vector<double>& real_logits, const std::vector<double>& fake_logits,
                 const Calibration& calibration, double threshold) {
    std::vector<double> scores;
    std::vector<int> labels;
    append(scores, labels, real_logits, 0);
    append(scores, labels, fake_logits, 1);
    const std::vector<double> probabilities = probabilities_of(calibration, scores);
    const double tpr = share_at_or_above(probabilities_of(calibration, fake_logits), threshold);
    const double fpr = share_at_or_above(probabilities_of(calibration, real_logits), threshold);
    return {{"auc", facenet::roc_auc(scores, labels)},
            {"average_precision", facenet::average_precision(scores, labels)},
            {"accuracy", facenet::accuracy_at(probabilities, labels, threshold)},
            {"balanced_accuracy", (tpr + 1.0 - fpr) / 2.0},
            {"generated_flagged", tpr},
            {"real_flagged", fpr},
            {"ece", facenet::expected_calibration_error(probabilities, labels)},
            {"n_real", real_logits.size()},
            {"n_generated", fake_logits.size()}};
}

}  // namespace

FakeSource parse_fake_source(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
        throw make_error("fake source '", text, "': expected NAME=MODEL or NAME=MODEL@PSI");
    }
    FakeSource source;
    source.name = text.substr(0, eq);
    std::string model = text.substr(eq + 1);
    const size_t at = model.rfind('@');
    if (at != std::string::npos) {
        const std::string psi = model.substr(at + 1);
        char* end = nullptr;
        source.truncation_psi = std::strtod(psi.c_str(), &end);
        if (psi.empty() || *end != '\0' || !std::isfinite(source.truncation_psi) || source.truncation_psi < 0 ||
            source.truncation_psi > 2) {
            throw make_error("fake source '", text, "': psi '", psi, "' is not a number in 0..2");
        }
        model = model.substr(0, at);
    }
    source.model = model;
    return source;
}

void DetectorTrainingOptions::validate() const {
    if (real_dataset.empty()) throw make_error("detector training: no real dataset");
    if (fakes.empty()) throw make_error("detector training: no fake sources");
    for (const auto& dataset : real_measure_only) {
        if (!std::filesystem::is_directory(dataset)) throw make_error("real dataset '", dataset.string(), "' is not a folder");
    }
    std::map<std::string, int> names;
    for (const FakeSource& fake : fakes) {
        if (++names[fake.name] > 1) throw make_error("detector training: fake source name '", fake.name, "' given twice");
        if (!std::filesystem::is_regular_file(fake.model)) {
            throw make_error("fake source '", fake.name, "': model '", fake.model.string(), "' is not a file");
        }
    }
    for (const std::string& name : held_out) {
        if (!names.count(name)) throw make_error("held-out source '", name, "' is not among the fake sources");
    }
    if (held_out.size() >= fakes.size()) throw make_error("detector training: every fake source is held out");
    if (train_per_source < 1) throw make_error("bad train_per_source ", train_per_source, ": expected 1 or more");
    if (real_train < 0) throw make_error("bad real_train ", real_train, ": expected 0 (auto) or more");
    if (eval_per_source < 2) throw make_error("bad eval_per_source ", eval_per_source, ": expected 2 or more");
    if (steps < 1) throw make_error("bad steps ", steps, ": expected 1 or more");
    if (batch < 2 || batch % 2 != 0) throw make_error("bad batch ", batch, ": expected an even number >= 2");
    if (!(learning_rate > 0 && learning_rate < 1)) throw make_error("bad learning_rate ", learning_rate);
    if (net.width < 4 || net.width > 256) throw make_error("bad width ", net.width, ": expected 4..256");
}

Detector train_detector(const DetectorTrainingOptions& options,
                        const std::function<void(const TrainingProgress&)>& on_progress) {
    options.validate();
    const auto started = Clock::now();
    const auto is_held_out = [&](const FakeSource& source) {
        return std::find(options.held_out.begin(), options.held_out.end(), source.name) != options.held_out.end();
    };

    // Images: generated training faces per training source, real training faces as many.
    std::vector<torch::Tensor> train_fakes;
    for (const FakeSource& source : options.fakes) {
        if (is_held_out(source)) continue;  // measured only, by measure_detector
        train_fakes.push_back(generate_faces(source, 0, options.train_per_source, on_progress));
    }
    const int64_t n_train_fakes = options.train_per_source * static_cast<int64_t>(train_fakes.size());
    const torch::Tensor train_reals = read_real_faces(
        options.real_dataset, "train", options.real_train ? options.real_train : n_train_fakes, options.seed, on_progress);

    // Training: half real, half generated (a training source at random) in every batch.
    torch::manual_seed(options.seed);
    Detector detector(DetectorInfo{options.net, {}, 0.5, "{}"});
    facenet::FaceCnn& net = detector.net();
    net->train();
    torch::optim::Adam optimizer = facenet::make_optimizer(*net, options.learning_rate);
    core::RandomStream stream(core::mix_seed(options.seed, 0xde7ec7, 0));
    const int64_t half_batch = options.batch / 2;
    facenet::RecentLoss recent_loss;
    const auto train_started = Clock::now();
    for (int64_t step = 0; step < options.steps; ++step) {
        facenet::set_cosine_learning_rate(optimizer, options.learning_rate, step, options.steps);
        std::vector<torch::Tensor> images;
        for (int64_t i = 0; i < half_batch; ++i) {
            const auto r = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(train_reals.size(0))));
            images.push_back(facenet::augment_for_training(train_reals[r], stream, options.augment));
        }
        for (int64_t i = 0; i < half_batch; ++i) {
            const torch::Tensor& source = train_fakes[stream.next_below(train_fakes.size())];
            const auto f = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(source.size(0))));
            images.push_back(facenet::augment_for_training(source[f], stream, options.augment));
        }
        const torch::Tensor labels = torch::cat({torch::zeros({half_batch}), torch::ones({half_batch})});
        const torch::Tensor logits = net->forward(facenet::face_cnn_input(torch::stack(images))).select(1, 0);
        const torch::Tensor loss = torch::binary_cross_entropy_with_logits(logits, labels);
        recent_loss.add(facenet::descend(optimizer, loss));
        if (on_progress && ((step + 1) % 10 == 0 || step + 1 == options.steps)) {
            on_progress({"training", step + 1, options.steps, recent_loss.value()});
        }
    }
    const double train_seconds = std::chrono::duration<double>(Clock::now() - train_started).count();

    net->eval();
    json report = measure_detector(detector, options.measure_options(), /*calibrate=*/true, on_progress);
    report["trained"] = {{"steps", options.steps},
                         {"batch", options.batch},
                         {"learning_rate", options.learning_rate},
                         {"width", options.net.width},
                         {"seed", options.seed},
                         {"final_loss", recent_loss.value()},
                         {"train_seconds", train_seconds},
                         {"real_dataset", options.real_dataset.filename().string()},
                         {"real_train_images", train_reals.size(0)},
                         {"generated_train_images_per_source", options.train_per_source},
                         {"augment", facenet::to_json(options.augment)}};
    report["total_seconds"] = std::chrono::duration<double>(Clock::now() - started).count();
    detector.set_report(report.dump());
    return detector;
}

DetectorMeasureOptions DetectorTrainingOptions::measure_options() const {
    DetectorMeasureOptions out;
    out.real_dataset = real_dataset;
    out.real_measure_only = real_measure_only;
    out.fakes = fakes;
    out.held_out = held_out;
    out.eval_per_source = eval_per_source;
    out.seed = seed;
    return out;
}

json measure_detector(Detector& detector, const DetectorMeasureOptions& options, bool calibrate,
                      const std::function<void(const TrainingProgress&)>& on_progress) {
    if (options.fakes.empty()) throw make_error("measuring a detector: no fake sources");
    if (options.eval_per_source < 2) throw make_error("bad eval_per_source ", options.eval_per_source, ": expected 2 or more");
    const auto is_held_out = [&](const FakeSource& source) {
        return std::find(options.held_out.begin(), options.held_out.end(), source.name) != options.held_out.end();
    };
    // The real validation split and new seeds of every source (held-out ones too); even
    // rows calibrate, odd rows are the test set.
    const torch::Tensor eval_reals = read_real_faces(options.real_dataset, "val", 0, options.seed, on_progress);
    std::vector<torch::Tensor> other_reals;
    for (const auto& dataset : options.real_measure_only) {
        other_reals.push_back(read_real_faces(dataset, "all", 0, options.seed, on_progress));
    }
    std::vector<torch::Tensor> eval_fakes;
    for (const FakeSource& source : options.fakes) {
        eval_fakes.push_back(generate_faces(source, kEvalSeedBase, options.eval_per_source, on_progress));
    }
    const std::vector<std::string> conditions = {"clean", "jpeg75", "resize_half"};
    std::map<std::string, std::vector<double>> real_logits;                      // condition -> test logits
    std::map<std::string, std::vector<std::vector<double>>> other_real_logits;   // condition -> set -> logits
    std::map<std::string, std::map<std::string, std::vector<double>>> fake_logits;  // condition -> source -> logits
    std::vector<double> calibration_scores;
    std::vector<int> calibration_labels;
    double inference_seconds = 0;
    int64_t inference_images = 0;
    const auto score = [&](const torch::Tensor& images) {
        const auto t0 = Clock::now();
        std::vector<double> logits = detector.logits(images);
        inference_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        inference_images += images.size(0);
        return logits;
    };
    for (const std::string& condition : conditions) {
        if (on_progress) on_progress({"measuring " + condition, 0, 1, 0});
        const torch::Tensor reals = attacked(eval_reals, condition);
        if (calibrate) append(calibration_scores, calibration_labels, score(half(reals, 0)), 0);
        real_logits[condition] = score(half(reals, 1));
        for (size_t s = 0; s < options.fakes.size(); ++s) {
            const torch::Tensor fakes = attacked(eval_fakes[s], condition);
            if (calibrate && !is_held_out(options.fakes[s])) {
                append(calibration_scores, calibration_labels, score(half(fakes, 0)), 1);
            }
            fake_logits[condition][options.fakes[s].name] = score(half(fakes, 1));
        }
        for (const torch::Tensor& others : other_reals) {
            other_real_logits[condition].push_back(score(attacked(others, condition)));
        }
    }
    json report;
    if (calibrate) {
        // One calibration for the mix of clean and re-saved images users will bring.
        detector.set_calibration(facenet::fit_platt(calibration_scores, calibration_labels), 0.5);
        report["calibration"] = {{"method", "Platt scaling on half of the held-out images (clean, JPEG 75, half size)"},
                                 {"n", calibration_scores.size()}};
    } else {
        report["calibration"] = {{"method", "as stored in the detector file"}};
    }
    const Calibration& calibration = detector.info().calibration;
    const double threshold = detector.info().threshold;
    report["calibration"]["scale"] = calibration.scale;
    report["calibration"]["offset"] = calibration.offset;
    report["calibration"]["threshold"] = threshold;

    json sources = json::array();
    for (const FakeSource& source : options.fakes) {
        sources.push_back({{"name", source.name},
                           {"model", source.model.filename().string()},
                           {"truncation_psi", source.truncation_psi},
                           {"held_out", is_held_out(source)}});
    }
    report["sources"] = sources;
    report["real_test_images"] = real_logits["clean"].size();
    for (const std::string& condition : conditions) {
        std::vector<double> training_fakes;
        json per_source;
        for (const FakeSource& source : options.fakes) {
            const std::vector<double>& logits = fake_logits[condition][source.name];
            per_source[source.name] = versus_real(real_logits[condition], logits, calibration, threshold);
            if (!is_held_out(source)) training_fakes.insert(training_fakes.end(), logits.begin(), logits.end());
        }
        if (!training_fakes.empty()) {
            report["test"][condition]["training_generators"] =
                versus_real(real_logits[condition], training_fakes, calibration, threshold);
        }
        report["test"][condition]["per_source"] = per_source;
        for (size_t i = 0; i < options.real_measure_only.size(); ++i) {
            const std::vector<double>& logits = other_real_logits[condition][i];
            report["test"][condition]["other_real"][options.real_measure_only[i].filename().string()] = {
                {"real_flagged", share_at_or_above(probabilities_of(calibration, logits), threshold)},
                {"n_real", logits.size()}};
        }
    }
    report["speed"] = {{"images_per_s", inference_seconds > 0 ? inference_images / inference_seconds : 0.0},
                       {"batch", 64},
                       {"threads", torch::get_num_threads()}};
    return report;
}

}  // namespace facegen::detect
