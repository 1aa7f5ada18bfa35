#pragma once

#include <torch/torch.h>

#include <vector>

#include "generate/session.h"
#include "project/losses.h"
#include "project/photo_projection.h"

// How good projections are: the reconstruction of a projected photo as generate makes it,
// and its PSNR, SSIM and identity distance (face-recognition descriptors, same person under
// 0.6) to the aligned photo. `facegen project`, `project measure` and `edit --target` share it.
namespace facegen::project {

/// The image of a projected photo as generate makes it from projected_w.npz (const noise),
/// or with its optimised noise: uint8 [R, R, 3].
torch::Tensor reconstruct(generate::Session& session, const ProjectedPhoto& photo);

/// How close a reconstruction is to its target (both uint8 [1, R, R, 3]).
struct ReconstructionQuality {
    double psnr_db = 0;
    double ssim = 0;
};
ReconstructionQuality reconstruction_quality(const torch::Tensor& target, const torch::Tensor& reconstruction);

/// Identity distance of two aligned faces uint8 [1, R, R, 3].
double identity_distance(const IdentityEmbedder& identity, const torch::Tensor& a, const torch::Tensor& b);

/// Per-photo figures of a projection of several photos (identity empty without a network).
struct ProjectionFigures {
    std::vector<torch::Tensor> reconstructions;  // uint8 [R, R, 3] per photo
    std::vector<double> psnr_db, ssim, identity_distance;
};
ProjectionFigures measure_projection(generate::Session& session, const PhotoProjection& projection,
                                     const IdentityEmbedder& identity);

}  // namespace facegen::project
