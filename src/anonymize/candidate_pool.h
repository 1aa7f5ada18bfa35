#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "anonymize/options.h"
#include "attributes/classifier.h"
#include "core/progress.h"
#include "generate/session.h"
#include "identity/face_recognition.h"

// The people who do not exist that replace real faces: a pool of generated faces, scored
// once by the attribute classifier, from which each real face takes the one nearest in
// age, gender, skin tone, expression, pose and lighting.
namespace facegen::anonymize {

/// One generated face of the pool (mirrored faces are candidates of their own: the same
/// person turned and lit the other way).
struct Candidate {
    uint32_t seed = 0;
    bool mirrored = false;
    torch::Tensor pixels;  // uint8 [R, R, 3], aligned like the model's training faces
    attributes::AttributeScores scores;
};

/// How unlike two faces look in what a replacement must keep (0 = alike): a weighted sum
/// of squares of the attribute differences, each divided by the difference that matters
/// (8 years of age, 0.25 of gender, 10 degrees of yaw or pitch, ...).
double attribute_mismatch(const attributes::AttributeScores& a, const attributes::AttributeScores& b);

class CandidatePool {
public:
    /// Generates and scores options.pool_size faces with `session` (seeds from
    /// options.pool_first_seed, psi options.truncation_psi), adding the mirror of each.
    CandidatePool(generate::Session& session, attributes::AttributeClassifier& classifier,
                  const AnonymizeOptions& options, const core::ProgressCallback& progress = {});

    int64_t size() const { return static_cast<int64_t>(candidates_.size()); }
    const Candidate& at(int64_t index) const { return candidates_.at(static_cast<size_t>(index)); }
    /// Indices of the `count` candidates nearest to `target` (attribute_mismatch), nearest first.
    std::vector<int64_t> nearest(const attributes::AttributeScores& target, int64_t count) const;
    /// The candidate's identity descriptor [1, 128], computed when first asked for.
    torch::Tensor descriptor(int64_t index, identity::FaceRecognitionNet& net, double crop_scale);

private:
    std::vector<Candidate> candidates_;
    std::vector<torch::Tensor> descriptors_;  // undefined until asked for
};

}  // namespace facegen::anonymize
