#include "metrics/nearest.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace facegen::metrics {
namespace {

// uint8 images [N, C, R, R] -> float32 rows [N, C*R*R] centred on 128: centring keeps the
// squared norms of the |a|^2 + |b|^2 - 2ab expansion small next to float32's precision.
torch::Tensor centred_rows(const torch::Tensor& images) {
    return (images.to(torch::kCPU, torch::kFloat32) - 128).reshape({images.size(0), -1});
}

}  // namespace

std::vector<std::pair<std::string, double>> NearestNeighbours::figures() const {
    TORCH_CHECK(distance.defined() && distance.numel() > 0, "NearestNeighbours::figures: no distances");
    return {{"nn_rms_min", distance.min().item<double>()},
            {"nn_rms_p05", torch::quantile(distance, 0.05).item<double>()},
            {"nn_rms_median", torch::quantile(distance, 0.5).item<double>()},
            {"nn_rms_mean", distance.mean().item<double>()}};
}

NearestNeighbours find_nearest(const ImageSet& reference, const ImageSet& candidates, const NearestOptions& options,
                               const std::function<void(int64_t done)>& progress) {
    if (reference.resolution != candidates.resolution || reference.channels != candidates.channels)
        throw make_error("nearest-neighbour search compares images of one size: '", reference.description, "' is ",
                         reference.channels, "x", reference.resolution, "x", reference.resolution, ", '",
                         candidates.description, "' is ", candidates.channels, "x", candidates.resolution, "x",
                         candidates.resolution);
    if (reference.n_images < 1 || candidates.n_images < 1)
        throw make_error("nearest-neighbour search needs images on both sides: '", reference.description, "' has ",
                         reference.n_images, ", '", candidates.description, "' has ", candidates.n_images);
    TORCH_CHECK(options.reference_batch >= 1 && options.candidate_batch >= 1,
                "NearestOptions: batch sizes must be >= 1");
    torch::NoGradGuard no_grad;

    const int64_t n = candidates.n_images;
    int64_t done = 0;
    std::vector<torch::Tensor> candidate_rows;
    for (int64_t begin = 0; begin < n; begin += options.candidate_batch) {
        const int64_t count = std::min(options.candidate_batch, n - begin);
        candidate_rows.push_back(centred_rows(read_images(candidates, begin, count)));
        done += count;
        if (progress) progress(done);
    }
    const auto cand = torch::cat(candidate_rows);
    candidate_rows.clear();
    const auto cand_squared = cand.pow(2).sum(1, /*keepdim=*/true);
    const auto cand_exact = cand.to(torch::kFloat64);

    NearestNeighbours result;
    auto best_squared = torch::full({n}, std::numeric_limits<double>::infinity(), torch::kFloat64);
    result.index = torch::zeros({n}, torch::kInt64);
    result.mirrored = torch::zeros({n}, torch::kBool);
    for (int64_t begin = 0; begin < reference.n_images; begin += options.reference_batch) {
        const int64_t count = std::min(options.reference_batch, reference.n_images - begin);
        auto images = read_images(reference, begin, count);
        // Rows 0..count-1 are the images, count..2*count-1 their mirrors (flipped width).
        if (options.include_mirrored) images = torch::cat({images, images.flip({3})});
        const auto rows = centred_rows(images);
        const auto squared = cand_squared + rows.pow(2).sum(1).unsqueeze(0) - 2 * cand.matmul(rows.t());
        const auto nearest_row = std::get<1>(squared.min(1));
        // The float32 expansion only picks the winner; its distance is recomputed exactly, so a
        // copied image scores 0 rather than round-off.
        const auto exact = (cand_exact - rows.index_select(0, nearest_row).to(torch::kFloat64)).pow(2).sum(1);
        const auto better = exact < best_squared;
        best_squared = torch::where(better, exact, best_squared);
        result.index = torch::where(better, begin + nearest_row.remainder(count), result.index);
        result.mirrored = torch::where(better, nearest_row >= count, result.mirrored);
        done += count;
        if (progress) progress(done);
    }
    result.distance = (best_squared / static_cast<double>(cand.size(1))).sqrt();
    return result;
}

}  // namespace facegen::metrics
