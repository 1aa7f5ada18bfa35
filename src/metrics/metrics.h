#pragma once

// Front door of facegen::metrics: SWD and the nearest-neighbour memorisation check (built
// in), FID and KID (with a user-supplied TorchScript Inception network) between two image
// sets, and the SWD reference the trainer keeps for periodic evaluation. Definitions and interpretation: docs/metrics.md.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/progress.h"
#include "metrics/feature_network.h"
#include "metrics/feature_stats.h"
#include "metrics/fid_kid.h"
#include "metrics/image_sets.h"
#include "metrics/nearest.h"
#include "metrics/swd.h"
#include "model/generator.h"

namespace facegen::metrics {

enum class MetricKind { SWD, FID, KID, Nearest };
std::string to_string(MetricKind kind);
/// "swd" | "fid" | "kid" | "nearest"; throws facegen::Error quoting the bad name.
MetricKind parse_metric_kind(const std::string& text);

/// How images are streamed through a metric.
struct StreamOptions {
    int64_t batch_size = 32;
    /// Called after every batch with {unit "img", done, total}.
    core::ProgressCallback progress;
};

/// SWD descriptors of every image of `images` (read batch by batch).
SWDDescriptors swd_descriptors(const ImageSet& images, const SWDOptions& options = {}, uint64_t seed = 0,
                               const StreamOptions& stream = {});

/// Descriptors of N real images, built once and compared against many generator snapshots
/// (the trainer's periodic evaluation). Holds N x 75 KB per pyramid level (RGB, defaults).
struct SWDReference {
    SWDDescriptors descriptors;
    SWDOptions options;
    uint64_t seed = 0;
    std::string description;
    int64_t n_images() const { return descriptors.n_images; }
};
SWDReference build_swd_reference(const ImageSet& reals, const SWDOptions& options = {}, uint64_t seed = 0,
                                 const StreamOptions& stream = {});

/// SWD of `generator` against `reference` from reference.n_images() generated images
/// (SWD compares equal-size sets). The generator must make images of the reference's
/// resolution and channel count. Neighbourhood positions of the fakes use `seed`
/// (independent of the reference's), the images generator_images(seed).
SWDResult evaluate_swd(model::Generator generator, const SWDReference& reference, double truncation_psi = 1.0,
                       uint64_t seed = 0, const StreamOptions& stream = {});

/// Inception features of every image of `images` (float64 mean/cov + all rows).
FeatureStats compute_features(FeatureNetwork& network, const ImageSet& images, const StreamOptions& stream = {});

/// All parameters of one metric run between two image sets.
struct MetricOptions {
    MetricKind metric = MetricKind::SWD;
    SWDOptions swd;
    KIDOptions kid;
    NearestOptions nearest;  // candidate_batch comes from stream.batch_size
    /// FID/KID only: the TorchScript feature network.
    std::filesystem::path inception;
    int64_t feature_dim = 2048;  // expected feature size; 0 = any
    torch::Device device = torch::kCPU;
    uint64_t seed = 0;
    StreamOptions stream;
};

/// What a metric run measured: named figures, e.g. {"swd_64", 7.1}, ..., {"swd_avg", 6.0},
/// or {"fid", 12.3}, or {"kid", 0.004}, or {"nn_rms_min", 21.0}, ..., {"nn_rms_mean", 38.2}.
struct MetricReport {
    MetricKind metric = MetricKind::SWD;
    std::vector<std::pair<std::string, double>> figures;
    int64_t n_images_a = 0;
    int64_t n_images_b = 0;
    int64_t feature_dim = 0;  // FID/KID
    double seconds = 0;
    /// Nearest only: each candidate's nearest reference image.
    std::optional<NearestNeighbours> nearest;
    /// The headline figure: swd_avg, fid, kid or nn_rms_median.
    double value() const;
};

/// Runs one metric between two image sets (a = reference / reals, b = candidates / fakes).
/// SWD needs equal set sizes and equal resolution and channels; FID/KID any sizes >= 2;
/// nearest any sizes >= 1 of one resolution.
MetricReport compute_metric(const ImageSet& a, const ImageSet& b, const MetricOptions& options);

}  // namespace facegen::metrics
