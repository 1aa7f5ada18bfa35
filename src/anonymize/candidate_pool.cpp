#include "anonymize/candidate_pool.h"

#include <algorithm>
#include <numeric>

#include "attributes/catalogue.h"

namespace facegen::anonymize {
namespace {

/// An attribute that a replacement keeps, and the difference that counts as one unit.
struct KeptAttribute {
    int64_t index;
    double unit;
};

const std::vector<KeptAttribute>& kept_attributes() {
    static const std::vector<KeptAttribute> kept = [] {
        const std::vector<std::pair<const char*, double>> named = {
            {"age", 8.0},           {"gender", 0.25},         {"ethnicity_white", 0.35}, {"ethnicity_black", 0.35},
            {"ethnicity_asian", 0.35}, {"ethnicity_indian", 0.35}, {"ethnicity_other", 0.5}, {"smiling", 0.35},
            {"mouth_open", 0.5},    {"eyeglasses", 0.5},      {"brightness", 0.2},      {"light_direction", 0.25},
            {"yaw", 10.0},          {"pitch", 10.0}};
        std::vector<KeptAttribute> out;
        for (const auto& [name, unit] : named) out.push_back({attributes::attribute_index(name), unit});
        return out;
    }();
    return kept;
}

/// The scores of a face seen in a mirror: turned and lit the other way, otherwise alike.
attributes::AttributeScores mirrored_scores(attributes::AttributeScores scores) {
    for (const char* name : {"yaw", "light_direction"}) {
        const auto i = static_cast<size_t>(attributes::attribute_index(name));
        scores[i] = -scores[i];
    }
    return scores;
}

}  // namespace

double attribute_mismatch(const attributes::AttributeScores& a, const attributes::AttributeScores& b) {
    double sum = 0;
    for (const KeptAttribute& kept : kept_attributes()) {
        const auto i = static_cast<size_t>(kept.index);
        const double d = (a.at(i) - b.at(i)) / kept.unit;
        sum += d * d;
    }
    return sum;
}

CandidatePool::CandidatePool(generate::Session& session, attributes::AttributeClassifier& classifier,
                             const AnonymizeOptions& options, const core::ProgressCallback& progress) {
    generate::Request request;
    request.seeds.resize(static_cast<size_t>(options.pool_size));
    std::iota(request.seeds.begin(), request.seeds.end(), options.pool_first_seed);
    request.truncation_psi = options.truncation_psi;
    request.watermark = false;  // pixels only; the photo they end in is labelled as a whole
    request.batch = 32;
    std::vector<torch::Tensor> images;
    session.run_each(request, [&](generate::GeneratedImage&& image, int64_t index) {
        images.push_back(image.pixels);
        if (progress) progress({"face", static_cast<double>(index + 1), static_cast<double>(options.pool_size), {}});
    });
    const torch::Tensor batch = torch::stack(images);
    const std::vector<attributes::AttributeScores> scores = classifier.score(batch);
    candidates_.reserve(images.size() * 2);
    for (size_t i = 0; i < images.size(); ++i) {
        candidates_.push_back({request.seeds[i], false, images[i], scores[i]});
        candidates_.push_back({request.seeds[i], true, images[i].flip({1}).contiguous(), mirrored_scores(scores[i])});
    }
    descriptors_.resize(candidates_.size());
}

std::vector<int64_t> CandidatePool::nearest(const attributes::AttributeScores& target, int64_t count) const {
    std::vector<std::pair<double, int64_t>> ranked;
    ranked.reserve(candidates_.size());
    for (size_t i = 0; i < candidates_.size(); ++i) {
        ranked.emplace_back(attribute_mismatch(target, candidates_[i].scores), static_cast<int64_t>(i));
    }
    const auto n = static_cast<size_t>(std::clamp<int64_t>(count, 0, size()));
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end());
    std::vector<int64_t> out;
    for (size_t i = 0; i < n; ++i) out.push_back(ranked[i].second);
    return out;
}

torch::Tensor CandidatePool::descriptor(int64_t index, identity::FaceRecognitionNet& net, double crop_scale) {
    torch::Tensor& cached = descriptors_.at(static_cast<size_t>(index));
    if (!cached.defined()) {
        torch::InferenceMode inference;
        const torch::Tensor image = at(index).pixels.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32) / 127.5 - 1.0;
        cached = identity::embed_aligned_faces(net, image, crop_scale).clone();
    }
    return cached;
}

}  // namespace facegen::anonymize
