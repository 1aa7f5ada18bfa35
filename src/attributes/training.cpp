#include "attributes/training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "core/random_stream.h"
#include "data/pack.h"
#include "facenet/calibration.h"
#include "facenet/optimizer.h"

namespace facegen::attributes {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

enum class DatasetKind { kUTKFace, kCelebA };

/// Faces of one split with what their labels teach: targets and which of them are known.
struct LabelledFaces {
    torch::Tensor images;   // uint8 [N, S, S, 3]
    torch::Tensor targets;  // float [N, learned]: scaled years, 0/1
    torch::Tensor known;    // bool [N, learned]
    int64_t size() const { return images.size(0); }
};

LabelledFaces read_labelled_faces(const std::filesystem::path& dir, DatasetKind kind, data::SplitSelection split) {
    const data::PackedDataset dataset(dir);
    const data::PackIndex& index = dataset.index();
    const std::string kind_name = kind == DatasetKind::kUTKFace ? "UTKFace" : "CelebA";
    if (dataset.channels() != 3 || dataset.resolution() < facenet::kFaceInputSide) {
        throw make_error(kind_name, " dataset '", dir.string(), "' is not RGB of at least ", facenet::kFaceInputSide,
                         " px");
    }
    const auto& all = attribute_catalogue();
    const int64_t n_learned = learned_attribute_count();
    std::vector<int64_t> columns(static_cast<size_t>(n_learned), -1);
    int64_t used_columns = 0;
    for (int64_t a = 0; a < n_learned; ++a) {
        const AttributeSpec& spec = all[static_cast<size_t>(a)];
        const std::string& column = kind == DatasetKind::kUTKFace ? spec.utkface_column : spec.celeba_column;
        if (column.empty()) continue;
        columns[static_cast<size_t>(a)] = index.column_index(column);
        if (columns[static_cast<size_t>(a)] >= 0) ++used_columns;
    }
    if (used_columns == 0) {
        throw make_error(kind_name, " dataset '", dir.string(), "' has none of the label columns the classifier learns",
                         " (a dataset built with the label source '",
                         kind == DatasetKind::kUTKFace ? "utkface" : "celeba", "' has them)");
    }
    const std::vector<int64_t> rows = index.select(split);
    if (rows.empty()) throw make_error(kind_name, " dataset '", dir.string(), "' has no ", data::to_string(split), " images");
    const int64_t n = static_cast<int64_t>(rows.size()), side = dataset.resolution();
    LabelledFaces out{torch::empty({n, side, side, 3}, torch::kUInt8), torch::zeros({n, n_learned}),
                      torch::zeros({n, n_learned}, torch::kBool)};
    auto targets = out.targets.accessor<float, 2>();
    auto known = out.known.accessor<bool, 2>();
    for (int64_t r = 0; r < n; ++r) {
        const int64_t i = rows[static_cast<size_t>(r)];
        const torch::Tensor chw = torch::from_blob(const_cast<uint8_t*>(dataset.image(i)), {3, side, side}, torch::kUInt8);
        out.images[r].copy_(chw.permute({1, 2, 0}));
        const std::vector<int64_t>& labels = index.labels[static_cast<size_t>(i)];
        for (int64_t a = 0; a < n_learned; ++a) {
            const int64_t column = columns[static_cast<size_t>(a)];
            if (column < 0) continue;
            const int64_t value = labels[static_cast<size_t>(column)];
            if (value == data::kUnknownLabel) continue;
            const AttributeSpec& spec = all[static_cast<size_t>(a)];
            const LabelRule rule = kind == DatasetKind::kUTKFace ? spec.utkface_rule : spec.celeba_rule;
            float target = 0;
            switch (rule) {
                case LabelRule::kYears: target = static_cast<float>((value - kAgeCentre) / kAgeSpread); break;
                case LabelRule::kYes: target = value == 1 ? 1.0f : 0.0f; break;
                case LabelRule::kNo: target = value == 0 ? 1.0f : 0.0f; break;
                case LabelRule::kClass: target = value == spec.class_index ? 1.0f : 0.0f; break;
                case LabelRule::kNone: continue;
            }
            targets[r][a] = target;
            known[r][a] = true;
        }
    }
    return out;
}

/// Masked multi-task loss: Huber on the age, cross-entropy over the ethnicity group, binary
/// cross-entropy on the rest; each term the mean over the images whose label is known.
torch::Tensor classifier_loss(const torch::Tensor& outputs, const torch::Tensor& targets, const torch::Tensor& known) {
    const auto& all = attribute_catalogue();
    torch::Tensor total = torch::zeros({});
    int64_t group_first = -1, group_count = 0;
    for (int64_t a = 0; a < outputs.size(1); ++a) {
        const AttributeSpec& spec = all[static_cast<size_t>(a)];
        if (!spec.softmax_group.empty()) {
            if (group_first < 0) group_first = a;
            ++group_count;
            continue;
        }
        const torch::Tensor mask = known.select(1, a);
        if (!mask.any().item<bool>()) continue;
        const torch::Tensor out = outputs.select(1, a).masked_select(mask);
        const torch::Tensor target = targets.select(1, a).masked_select(mask);
        total = total + (spec.kind == AttributeKind::kYears ? torch::smooth_l1_loss(out, target, at::Reduction::Mean, 0.25)
                                                            : torch::binary_cross_entropy_with_logits(out, target));
    }
    if (group_count > 0) {
        const torch::Tensor mask = known.select(1, group_first);
        if (mask.any().item<bool>()) {
            const torch::Tensor logits = outputs.narrow(1, group_first, group_count).index({mask});
            const torch::Tensor target = targets.narrow(1, group_first, group_count).index({mask});
            total = total - (target * torch::log_softmax(logits, 1)).sum(1).mean();
        }
    }
    return total;
}

/// Values in catalogue units [N, learned] (float64) for a set of faces.
torch::Tensor learned_values(AttributeClassifier& classifier, const torch::Tensor& images) {
    const std::vector<AttributeScores> scores = classifier.score(images);
    const int64_t n_learned = learned_attribute_count();
    torch::Tensor out = torch::empty({static_cast<int64_t>(scores.size()), n_learned}, torch::kFloat64);
    for (size_t i = 0; i < scores.size(); ++i) {
        for (int64_t a = 0; a < n_learned; ++a) out[static_cast<int64_t>(i)][a] = scores[i][static_cast<size_t>(a)];
    }
    return out;
}

json binary_figures(const torch::Tensor& probabilities, const torch::Tensor& targets) {
    std::vector<double> scores;
    std::vector<int> labels;
    int64_t positives = 0;
    for (int64_t i = 0; i < probabilities.size(0); ++i) {
        scores.push_back(probabilities[i].item<double>());
        labels.push_back(targets[i].item<double>() > 0.5 ? 1 : 0);
        positives += labels.back();
    }
    const auto n = static_cast<int64_t>(labels.size());
    json out = {{"n", n}, {"positives", positives},
                {"accuracy", facenet::accuracy_at(scores, labels, 0.5)},
                {"majority_baseline", static_cast<double>(std::max(positives, n - positives)) / static_cast<double>(n)}};
    if (positives > 0 && positives < n) {
        double tp = 0, tn = 0;
        for (size_t i = 0; i < labels.size(); ++i) {
            if (labels[i] == 1 && scores[i] >= 0.5) ++tp;
            if (labels[i] == 0 && scores[i] < 0.5) ++tn;
        }
        out["balanced_accuracy"] = (tp / static_cast<double>(positives) + tn / static_cast<double>(n - positives)) / 2;
        out["auc"] = facenet::roc_auc(scores, labels);
    }
    return out;
}

json measure_split(AttributeClassifier& classifier, const LabelledFaces& faces) {
    const auto& all = attribute_catalogue();
    const torch::Tensor values = learned_values(classifier, faces.images);
    json out = {{"n", faces.size()}};
    int64_t group_first = -1, group_count = 0;
    for (int64_t a = 0; a < values.size(1); ++a) {
        const AttributeSpec& spec = all[static_cast<size_t>(a)];
        const torch::Tensor mask = faces.known.select(1, a);
        if (!mask.any().item<bool>()) continue;
        if (!spec.softmax_group.empty()) {
            if (group_first < 0) group_first = a;
            ++group_count;
            continue;
        }
        const torch::Tensor value = values.select(1, a).masked_select(mask);
        const torch::Tensor target = faces.targets.select(1, a).masked_select(mask).to(torch::kFloat64);
        if (spec.kind == AttributeKind::kYears) {
            const torch::Tensor years = kAgeCentre + kAgeSpread * target;
            const torch::Tensor error = (value - years).abs();
            json by_decade;
            for (int decade = 0; decade <= 80; decade += 10) {
                const torch::Tensor in = decade == 80 ? years >= 80 : (years >= decade) & (years < decade + 10);
                if (!in.any().item<bool>()) continue;
                const std::string band = decade == 80 ? "80+" : std::to_string(decade) + "-" + std::to_string(decade + 9);
                by_decade[band] = {{"n", in.sum().item<int64_t>()},
                                   {"mae_years", error.masked_select(in).mean().item<double>()}};
            }
            out[spec.name] = {{"n", value.size(0)},
                              {"mae_years", error.mean().item<double>()},
                              {"median_error_years", error.median().item<double>()},
                              {"by_decade", by_decade}};
        } else {
            out[spec.name] = binary_figures(value, target);
        }
    }
    if (group_count > 0) {
        const torch::Tensor mask = faces.known.select(1, group_first);
        const torch::Tensor predicted = values.narrow(1, group_first, group_count).index({mask}).argmax(1);
        const torch::Tensor truth = faces.targets.narrow(1, group_first, group_count).index({mask}).argmax(1);
        json recall;
        for (int64_t g = 0; g < group_count; ++g) {
            const torch::Tensor in = truth == g;
            if (!in.any().item<bool>()) continue;
            recall[all[static_cast<size_t>(group_first + g)].name] = {
                {"n", in.sum().item<int64_t>()},
                {"recall", (predicted.masked_select(in) == g).to(torch::kFloat64).mean().item<double>()}};
        }
        out[all[static_cast<size_t>(group_first)].softmax_group] = {
            {"n", predicted.size(0)},
            {"accuracy", (predicted == truth).to(torch::kFloat64).mean().item<double>()},
            {"recall_by_group", recall}};
    }
    return out;
}

}  // namespace

void ClassifierTrainingOptions::validate() const {
    if (utkface.empty() && celeba.empty()) throw make_error("attribute training: no dataset (UTKFace and/or CelebA)");
    for (const auto& dir : {utkface, celeba}) {
        if (!dir.empty() && !std::filesystem::is_directory(dir)) {
            throw make_error("attribute training: dataset '", dir.string(), "' is not a folder");
        }
    }
    if (steps < 1) throw make_error("bad steps ", steps, ": expected 1 or more");
    if (batch < 2 || batch % 2 != 0) throw make_error("bad batch ", batch, ": expected an even number >= 2");
    if (!(learning_rate > 0 && learning_rate < 1)) throw make_error("bad learning_rate ", learning_rate);
    if (width < 4 || width > 256) throw make_error("bad width ", width, ": expected 4..256");
}

AttributeClassifier train_classifier(const ClassifierTrainingOptions& options,
                                     const std::function<void(const ClassifierProgress&)>& on_progress) {
    options.validate();
    const auto started = Clock::now();
    std::vector<LabelledFaces> sets;
    if (!options.utkface.empty()) {
        if (on_progress) on_progress({"reading UTKFace", 0, 1, 0});
        sets.push_back(read_labelled_faces(options.utkface, DatasetKind::kUTKFace, data::SplitSelection::kTrain));
    }
    if (!options.celeba.empty()) {
        if (on_progress) on_progress({"reading CelebA", 0, 1, 0});
        sets.push_back(read_labelled_faces(options.celeba, DatasetKind::kCelebA, data::SplitSelection::kTrain));
    }

    torch::manual_seed(options.seed);
    AttributeClassifier classifier(options.width);
    facenet::FaceCnn& net = classifier.net();
    net->train();
    torch::optim::Adam optimizer = facenet::make_optimizer(*net, options.learning_rate);
    core::RandomStream stream(core::mix_seed(options.seed, 0xa77b, 0));
    const int64_t per_set = options.batch / static_cast<int64_t>(sets.size());
    facenet::RecentLoss recent_loss;
    const auto train_started = Clock::now();
    for (int64_t step = 0; step < options.steps; ++step) {
        facenet::set_cosine_learning_rate(optimizer, options.learning_rate, step, options.steps);
        std::vector<torch::Tensor> images;
        std::vector<torch::Tensor> targets, known;
        for (const LabelledFaces& set : sets) {
            for (int64_t i = 0; i < per_set; ++i) {
                const auto r = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(set.size())));
                images.push_back(facenet::augment_for_training(set.images[r], stream, options.augment));
                targets.push_back(set.targets[r]);
                known.push_back(set.known[r]);
            }
        }
        const torch::Tensor outputs = net->forward(facenet::face_cnn_input(torch::stack(images)));
        const torch::Tensor loss = classifier_loss(outputs, torch::stack(targets), torch::stack(known));
        recent_loss.add(facenet::descend(optimizer, loss));
        if (on_progress && ((step + 1) % 10 == 0 || step + 1 == options.steps)) {
            on_progress({"training", step + 1, options.steps, recent_loss.value()});
        }
    }
    net->eval();
    const double train_seconds = std::chrono::duration<double>(Clock::now() - train_started).count();
    if (on_progress) on_progress({"measuring", 0, 1, recent_loss.value()});
    json report = measure_classifier(classifier, options.utkface, options.celeba);
    report["trained"] = {{"steps", options.steps},
                         {"batch", options.batch},
                         {"learning_rate", options.learning_rate},
                         {"width", options.width},
                         {"seed", options.seed},
                         {"final_loss", recent_loss.value()},
                         {"train_seconds", train_seconds},
                         {"utkface", options.utkface.filename().string()},
                         {"celeba", options.celeba.filename().string()},
                         {"train_images", sets.empty() ? 0 : sets.front().size() + (sets.size() > 1 ? sets[1].size() : 0)},
                         {"augment", facenet::to_json(options.augment)}};
    report["total_seconds"] = std::chrono::duration<double>(Clock::now() - started).count();
    classifier.set_report(report.dump());
    return classifier;
}

json measure_classifier(AttributeClassifier& classifier, const std::filesystem::path& utkface,
                        const std::filesystem::path& celeba) {
    json report;
    if (!utkface.empty()) {
        report["utkface_val"] =
            measure_split(classifier, read_labelled_faces(utkface, DatasetKind::kUTKFace, data::SplitSelection::kVal));
    }
    if (!celeba.empty()) {
        report["celeba_val"] =
            measure_split(classifier, read_labelled_faces(celeba, DatasetKind::kCelebA, data::SplitSelection::kVal));
    }
    return report;
}

}  // namespace facegen::attributes
