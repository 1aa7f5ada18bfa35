#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "metrics/image_sets.h"

namespace facegen::metrics {

/// Nearest-neighbour search of candidate images among reference images: the memorisation
/// check of a generator ("are these faces copies of training faces?"). Distance is the RMS
/// pixel difference in uint8 units (0 = identical, 255 = black vs white), so figures read the
/// same at every resolution. docs/metrics.md, "Nearest: memorisation check".
struct NearestOptions {
    /// Also match every reference image mirrored left-right: a model trained with --mirror
    /// has seen both, so a copy of either counts.
    bool include_mirrored = true;
    /// Reference images compared per matrix product (memory: 2 x this x C x R x R floats).
    int64_t reference_batch = 1024;
    /// Candidate images read (or generated) at a time.
    int64_t candidate_batch = 32;
};

/// For each candidate i: distance[i] to its nearest reference image, index[i] of that image in
/// the reference set, mirrored[i] when the match was the mirrored image.
struct NearestNeighbours {
    torch::Tensor distance;  // float64 [n_candidates]
    torch::Tensor index;     // int64 [n_candidates]
    torch::Tensor mirrored;  // bool [n_candidates]

    /// {"nn_rms_min", ...}, {"nn_rms_p05", ...}, {"nn_rms_median", ...}, {"nn_rms_mean", ...}.
    std::vector<std::pair<std::string, double>> figures() const;
};

/// Holds every candidate in memory (float32, C x R x R each) and streams the reference set
/// through `read` in reference_batch chunks. Both sets must have one image size; throws
/// facegen::Error naming the sets otherwise. `progress(done)` is called after every batch with
/// the images read so far: the candidates first, then the reference images.
NearestNeighbours find_nearest(const ImageSet& reference, const ImageSet& candidates,
                               const NearestOptions& options = {},
                               const std::function<void(int64_t done)>& progress = {});

}  // namespace facegen::metrics
