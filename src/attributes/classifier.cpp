#include "attributes/classifier.h"

#include <cstdlib>

#include "attributes/catalogue.h"
#include "core/error.h"
#include "facenet/net_file.h"
#include "generate/bundled_model.h"

namespace facegen::attributes {
namespace {

/// "age,gender,...": the learned attributes in output order, as the file names them.
std::string output_names() {
    std::string out;
    for (const AttributeSpec& spec : attribute_catalogue()) {
        if (spec.kind == AttributeKind::kMeasured) continue;
        out += (out.empty() ? "" : ",") + spec.name;
    }
    return out;
}

/// Columns [first, first + count) of the ethnicity softmax group.
std::pair<int64_t, int64_t> softmax_group_span() {
    const auto& all = attribute_catalogue();
    int64_t first = -1, count = 0;
    for (size_t i = 0; i < all.size(); ++i) {
        if (all[i].softmax_group.empty()) continue;
        if (first < 0) first = static_cast<int64_t>(i);
        ++count;
    }
    return {first, count};
}

}  // namespace

AttributeClassifier::AttributeClassifier(int64_t width, std::string report_json)
    : net_(facenet::FaceCnnOptions{width, learned_attribute_count()}), report_json_(std::move(report_json)) {
    net_->eval();
}

AttributeClassifier AttributeClassifier::load(const std::filesystem::path& path) {
    const facenet::NetFile file(path, "attribute classifier", kClassifierFormat, kClassifierFormatVersion);
    if (file.text("outputs") != output_names()) {
        throw make_error(file.where(), " scores [", file.text("outputs"), "]; this facegen expects [", output_names(),
                         "]: train it again with facegen attributes train");
    }
    const int64_t width = file.whole_number("width", 1, 1024);
    const std::string& report = file.text("report");
    if (!nlohmann::json::accept(report)) throw make_error(file.where(), ": report is not JSON");
    AttributeClassifier classifier(width, report);
    file.load_into(*classifier.net_);
    return classifier;
}

void AttributeClassifier::save(const std::filesystem::path& path) const {
    facenet::save_net_file(path, *net_,
                           {{"format", kClassifierFormat},
                            {"format_version", std::to_string(kClassifierFormatVersion)},
                            {"width", std::to_string(net_->options().width)},
                            {"input_side", std::to_string(facenet::kFaceInputSide)},
                            {"outputs", output_names()},
                            {"age_years", "35 + 20 * output"},
                            {"report", report_json_}});
}

std::vector<AttributeScores> AttributeClassifier::score(const torch::Tensor& images_nhwc) {
    torch::InferenceMode inference;
    net_->eval();
    const int64_t n_learned = learned_attribute_count();
    const auto n_measured = static_cast<int64_t>(attribute_catalogue().size()) - n_learned;
    if (!pose_reader_) pose_reader_ = std::make_shared<const HeadPoseReader>();
    std::vector<AttributeScores> out;
    out.reserve(static_cast<size_t>(images_nhwc.size(0)));
    constexpr int64_t kBatch = 64;
    for (int64_t begin = 0; begin < images_nhwc.size(0); begin += kBatch) {
        const int64_t n = std::min(kBatch, images_nhwc.size(0) - begin);
        const torch::Tensor images = images_nhwc.narrow(0, begin, n);
        const torch::Tensor learned =
            outputs_to_values(net_->forward(facenet::face_cnn_input(images))).to(torch::kFloat64).contiguous();
        const torch::Tensor measured = torch::cat({measure_lighting(images), pose_reader_->measure(images)}, 1);
        for (int64_t i = 0; i < n; ++i) {
            AttributeScores scores(learned[i].data_ptr<double>(), learned[i].data_ptr<double>() + n_learned);
            scores.insert(scores.end(), measured[i].data_ptr<double>(), measured[i].data_ptr<double>() + n_measured);
            out.push_back(std::move(scores));
        }
    }
    return out;
}

torch::Tensor outputs_to_values(const torch::Tensor& outputs) {
    TORCH_CHECK(outputs.dim() == 2 && outputs.size(1) == learned_attribute_count(),
                "outputs_to_values: expected [N, ", learned_attribute_count(), "], got ", outputs.sizes());
    torch::Tensor values = torch::sigmoid(outputs);
    const auto& all = attribute_catalogue();
    for (int64_t i = 0; i < outputs.size(1); ++i) {
        if (all[static_cast<size_t>(i)].kind == AttributeKind::kYears) {
            values.select(1, i).copy_(kAgeCentre + kAgeSpread * outputs.select(1, i));
        }
    }
    const auto [first, count] = softmax_group_span();
    if (count > 0) values.narrow(1, first, count).copy_(torch::softmax(outputs.narrow(1, first, count), 1));
    return values;
}

torch::Tensor measure_lighting(const torch::Tensor& images_nhwc) {
    TORCH_CHECK(images_nhwc.dim() == 4 && images_nhwc.size(3) == 3 && images_nhwc.size(1) >= 4 &&
                    images_nhwc.size(2) >= 4,
                "measure_lighting: expected uint8 [N, H, W, 3], got ", images_nhwc.sizes());
    const int64_t h = images_nhwc.size(1), w = images_nhwc.size(2);
    const torch::Tensor weights = torch::tensor({0.299, 0.587, 0.114}, torch::kFloat64);
    const torch::Tensor luma = (images_nhwc.to(torch::kFloat64) * weights).sum(3) / 255.0;  // [N, H, W]
    const int64_t top = h * 3 / 10, bottom = h * 8 / 10, left = w / 4, right = w * 3 / 4, mid = w / 2;
    const torch::Tensor box = luma.narrow(1, top, bottom - top);
    const torch::Tensor left_half = box.narrow(2, left, mid - left).mean({1, 2});
    const torch::Tensor right_half = box.narrow(2, mid, right - mid).mean({1, 2});
    const torch::Tensor brightness = box.narrow(2, left, right - left).mean({1, 2});
    // A black face has no direction: the small floor keeps it 0 rather than NaN.
    const torch::Tensor direction = (right_half - left_half) / (right_half + left_half).clamp_min(1e-6);
    return torch::stack({brightness, direction}, 1);
}

nlohmann::json to_json(const AttributeScores& scores) {
    const auto& all = attribute_catalogue();
    TORCH_CHECK(scores.size() == all.size(), "attribute scores: expected ", all.size(), " values, got ", scores.size());
    nlohmann::json out = nlohmann::json::object();
    for (size_t i = 0; i < all.size(); ++i) out[all[i].name] = scores[i];
    return out;
}

std::optional<std::filesystem::path> default_classifier_path() {
    if (const char* env = std::getenv("FACEGEN_ATTRIBUTES"); env && *env) {
        if (!std::filesystem::is_regular_file(env)) {
            throw make_error("FACEGEN_ATTRIBUTES='", env, "' names no attribute classifier file");
        }
        return std::filesystem::path(env);
    }
    return generate::find_shipped_file(kBundledClassifierFileName);
}

}  // namespace facegen::attributes
