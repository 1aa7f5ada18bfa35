#include "metrics/metrics.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/error.h"
#include "core/random_stream.h"

namespace facegen::metrics {
namespace {

// Reads `images` batch by batch, calling `consume` on each, and reports progress as
// done_before + images so far of `total`.
template <typename Consume>
void for_each_batch(const ImageSet& images, const StreamOptions& stream, int64_t done_before, int64_t total,
                    Consume&& consume) {
    TORCH_CHECK(stream.batch_size >= 1, "batch_size must be >= 1, got ", stream.batch_size);
    for (int64_t begin = 0; begin < images.n_images; begin += stream.batch_size) {
        const int64_t count = std::min(stream.batch_size, images.n_images - begin);
        consume(read_images(images, begin, count));
        if (stream.progress) {
            core::ProgressReport report;
            report.unit = "img";
            report.done = static_cast<double>(done_before + begin + count);
            report.total = static_cast<double>(total);
            stream.progress(report);
        }
    }
}

SWDDescriptors descriptors_of(const ImageSet& images, const SWDOptions& options, uint64_t seed,
                              const StreamOptions& stream, int64_t done_before, int64_t total) {
    SWDDescriptorAccumulator accumulator(images.resolution, images.channels, options, seed);
    for_each_batch(images, stream, done_before, total, [&](const torch::Tensor& batch) { accumulator.add(batch); });
    return accumulator.finalize();
}

FeatureStats features_of(FeatureNetwork& network, const ImageSet& images, const StreamOptions& stream,
                         int64_t done_before, int64_t total) {
    if (images.channels != 1 && images.channels != 3)
        throw make_error("FID/KID need 1- or 3-channel images, '", images.description, "' has ", images.channels);
    FeatureStats stats(/*capture_all=*/true, /*capture_mean_cov=*/true);
    for_each_batch(images, stream, done_before, total,
                   [&](const torch::Tensor& batch) { stats.append(network.features(batch)); });
    return stats;
}

void check_swd_compatible(const ImageSet& a, const ImageSet& b) {
    if (a.resolution != b.resolution || a.channels != b.channels)
        throw make_error("SWD compares images of one size: '", a.description, "' is ", a.channels, "x", a.resolution,
                         "x", a.resolution, ", '", b.description, "' is ", b.channels, "x", b.resolution, "x",
                         b.resolution);
    if (a.n_images != b.n_images)
        throw make_error("SWD compares sets of equal size: '", a.description, "' has ", a.n_images, " images, '",
                         b.description, "' has ", b.n_images);
}

}  // namespace

std::string to_string(MetricKind kind) {
    switch (kind) {
        case MetricKind::SWD: return "swd";
        case MetricKind::FID: return "fid";
        case MetricKind::KID: return "kid";
        case MetricKind::Nearest: return "nearest";
    }
    return "?";
}

MetricKind parse_metric_kind(const std::string& text) {
    if (text == "swd") return MetricKind::SWD;
    if (text == "fid") return MetricKind::FID;
    if (text == "kid") return MetricKind::KID;
    if (text == "nearest") return MetricKind::Nearest;
    throw make_error("unknown metric '", text, "' (expected swd, fid, kid or nearest)");
}

SWDDescriptors swd_descriptors(const ImageSet& images, const SWDOptions& options, uint64_t seed,
                               const StreamOptions& stream) {
    return descriptors_of(images, options, seed, stream, 0, images.n_images);
}

SWDReference build_swd_reference(const ImageSet& reals, const SWDOptions& options, uint64_t seed,
                                 const StreamOptions& stream) {
    SWDReference reference;
    reference.options = options;
    reference.seed = seed;
    reference.description = reals.description;
    reference.descriptors = swd_descriptors(reals, options, seed, stream);
    return reference;
}

SWDResult evaluate_swd(model::Generator generator, const SWDReference& reference, double truncation_psi,
                       uint64_t seed, const StreamOptions& stream) {
    GeneratorImagesOptions fake_options;
    fake_options.truncation_psi = truncation_psi;
    fake_options.seed = seed;
    const auto fakes = generator_images(generator, reference.n_images(), fake_options);
    if (fakes.resolution != reference.descriptors.resolutions.front() ||
        fakes.channels != reference.descriptors.channels)
        throw make_error("SWD reference '", reference.description, "' is ", reference.descriptors.channels, "x",
                         reference.descriptors.resolutions.front(), " but the generator makes ", fakes.channels, "x",
                         fakes.resolution, " images");
    // The fakes' neighbourhood positions use a stream apart from the reals'.
    const auto descriptors = swd_descriptors(fakes, reference.options, core::mix_seed(seed, 0xfa4e, 0), stream);
    return compare_swd(reference.descriptors, descriptors, reference.options, reference.seed);
}

FeatureStats compute_features(FeatureNetwork& network, const ImageSet& images, const StreamOptions& stream) {
    return features_of(network, images, stream, 0, images.n_images);
}

double MetricReport::value() const {
    const std::string headline = metric == MetricKind::SWD       ? "swd_avg"
                                 : metric == MetricKind::Nearest ? "nn_rms_median"
                                                                 : to_string(metric);
    for (const auto& [name, v] : figures)
        if (name == headline) return v;
    return std::numeric_limits<double>::quiet_NaN();
}

MetricReport compute_metric(const ImageSet& a, const ImageSet& b, const MetricOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    MetricReport report;
    report.metric = options.metric;
    report.n_images_a = a.n_images;
    report.n_images_b = b.n_images;
    const int64_t total = a.n_images + b.n_images;
    if (options.metric == MetricKind::SWD) {
        options.swd.validate();
        check_swd_compatible(a, b);
        const auto descriptors_a = descriptors_of(a, options.swd, options.seed, options.stream, 0, total);
        const auto descriptors_b =
            descriptors_of(b, options.swd, core::mix_seed(options.seed, 0xfa4e, 0), options.stream, a.n_images, total);
        report.figures = compare_swd(descriptors_a, descriptors_b, options.swd, options.seed).figures();
    } else if (options.metric == MetricKind::Nearest) {
        NearestOptions nearest = options.nearest;
        nearest.candidate_batch = options.stream.batch_size;
        // find_nearest reads the candidates (b) first; progress counts in this order.
        report.nearest = find_nearest(a, b, nearest, [&](int64_t done) {
            if (!options.stream.progress) return;
            core::ProgressReport progress;
            progress.unit = "img";
            progress.done = static_cast<double>(done);
            progress.total = static_cast<double>(total);
            options.stream.progress(progress);
        });
        report.figures = report.nearest->figures();
    } else {
        if (options.metric == MetricKind::KID) options.kid.validate();
        if (options.inception.empty())
            throw make_error(to_string(options.metric), " needs the Inception network and none was given: ",
                             "inception-2015-12-05.pt (see docs/metrics.md)");
        auto network = FeatureNetwork::load(options.inception, options.feature_dim, options.device);
        const auto stats_a = features_of(network, a, options.stream, 0, total);
        const auto stats_b = features_of(network, b, options.stream, a.n_images, total);
        report.feature_dim = network.feature_dim();
        if (options.metric == MetricKind::FID) {
            report.figures = {{"fid", frechet_distance(stats_a.mean(), stats_a.covariance(), stats_b.mean(),
                                                       stats_b.covariance())}};
        } else {
            report.figures = {{"kid", kernel_inception_distance(stats_b.all(), stats_a.all(), options.kid,
                                                                options.seed)}};
        }
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace facegen::metrics
