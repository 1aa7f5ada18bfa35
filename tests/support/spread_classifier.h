#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "attributes/catalogue.h"
#include "attributes/classifier.h"
#include "facenet/face_cnn.h"
#include "generate/session.h"

namespace facegen::test {

/// Sets the head of `classifier` (its features left untrained) so that its readings spread
/// over the faces `session` draws at psi 1: learned output k reads the k-th principal
/// direction of the network's features over `n_faces` faces (seeds from 100000), centred
/// on that projection's median and scaled by its spread. Each yes/no attribute (gender
/// included) then reads about half of the faces as yes, ethnicity's five groups about a
/// fifth each, age about 35 +- 15 years, and the readings are uncorrelated over those
/// faces, so every cell of a few groups is drawn. An untrained head, however scaled, reads
/// every tiny-model face as one gender: its logits vary far less over the faces than their
/// offset from 0.
inline void spread_readings_over_faces(attributes::AttributeClassifier& classifier, generate::Session& session,
                                       int64_t n_faces = 256) {
    torch::NoGradGuard no_grad;
    generate::Request request;
    request.truncation_psi = 1.0;
    for (int64_t i = 0; i < n_faces; ++i) request.seeds.push_back(static_cast<uint32_t>(100000 + i));
    const torch::Tensor pixels = session.synthesize(session.ws_for(request, 0, n_faces), model::NoiseMode::Const);
    facenet::FaceCnn& net = classifier.net();
    net->eval();
    auto* features = net->named_children()["features"]->as<torch::nn::Sequential>();
    const torch::Tensor f = features->forward(facenet::face_cnn_input(pixels)).mean({2, 3}).to(torch::kFloat64);  // [N, D]
    const torch::Tensor mean = f.mean(0);
    const torch::Tensor v = std::get<2>(torch::svd(f - mean));  // [D, D], columns by falling variance
    const int64_t n_out = attributes::learned_attribute_count();
    TORCH_CHECK(n_out <= v.size(1), "spread_readings_over_faces: ", v.size(1), " features for ", n_out, " outputs");
    torch::Tensor weight = torch::zeros({n_out, f.size(1)}, torch::kFloat64);
    torch::Tensor bias = torch::zeros({n_out}, torch::kFloat64);
    for (int64_t k = 0; k < n_out; ++k) {
        const torch::Tensor direction = v.select(1, k);
        const torch::Tensor projection = (f - mean).matmul(direction);
        const double spread = projection.std().item<double>();
        TORCH_CHECK(spread > 1e-9, "spread_readings_over_faces: the faces do not vary along direction ", k);
        // Logits of +-3 per spread for probabilities; age's output is in units of 20 years.
        const bool years = attributes::attribute_catalogue()[static_cast<size_t>(k)].kind == attributes::AttributeKind::kYears;
        const double scale = (years ? 0.75 : 3.0) / spread;
        weight[k] = direction * scale;
        bias[k] = -(mean.dot(direction) + projection.median()) * scale;
    }
    for (auto& item : net->named_parameters()) {
        if (item.key() == "head.weight") item.value().copy_(weight);
        if (item.key() == "head.bias") item.value().copy_(bias);
    }
}

}  // namespace facegen::test
