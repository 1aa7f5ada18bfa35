#include "train/image_source.h"

#include <cmath>

#include "core/error.h"

namespace facegen::train {

InMemoryImageSource::InMemoryImageSource(torch::Tensor images, int64_t batch_per_rank, uint64_t seed, int64_t rank,
                                         int64_t world_size, std::string description, bool shuffle)
    : images_(std::move(images)),
      batch_per_rank_(batch_per_rank),
      rank_(rank),
      world_size_(world_size),
      seed_(seed),
      description_(std::move(description)),
      shuffle_(shuffle) {
    TORCH_CHECK(images_.dim() == 4 && images_.size(2) == images_.size(3),
                "InMemoryImageSource: expected images [N, C, R, R], got ", images_.sizes());
    TORCH_CHECK(rank_ >= 0 && rank_ < world_size_, "InMemoryImageSource: rank ", rank_, " of ", world_size_);
    epoch_size_ = images_.size(0) / world_size_;
    if (epoch_size_ < 1)
        throw make_error("dataset '", description_, "' has ", images_.size(0), " images, fewer than the ", world_size_,
                         " processes");
    images_ = images_.to(torch::kFloat32).contiguous();
}

torch::Tensor InMemoryImageSource::epoch_order(int64_t epoch) const {
    if (cached_epoch_ != epoch) {
        if (shuffle_) {
            auto generator = at::detail::createCPUGenerator(seed_ * 1000003ULL + uint64_t(epoch));
            cached_order_ = torch::randperm(images_.size(0), generator, torch::kInt64);
        } else {
            cached_order_ = torch::arange(images_.size(0), torch::kInt64);
        }
        cached_epoch_ = epoch;
    }
    return cached_order_;
}

torch::Tensor InMemoryImageSource::next_batch() {
    std::vector<int64_t> picks;
    picks.reserve(batch_per_rank_);
    while (int64_t(picks.size()) < batch_per_rank_) {
        if (state_.position >= epoch_size_) {
            state_.epoch += 1;
            state_.position = 0;
        }
        const auto order = epoch_order(state_.epoch);
        picks.push_back(order[state_.position * world_size_ + rank_].item<int64_t>());
        state_.position += 1;
    }
    return images_.index_select(0, torch::tensor(picks, torch::kInt64));
}

torch::Tensor make_blob_images(int64_t n, int64_t resolution, int64_t channels, uint64_t seed) {
    auto generator = at::detail::createCPUGenerator(seed);
    const auto coords = torch::arange(resolution, torch::kFloat32).add_(0.5).div_(double(resolution));
    const auto ys = coords.view({1, resolution, 1});
    const auto xs = coords.view({1, 1, resolution});
    auto centers = torch::rand({n, 2}, generator).mul_(0.6).add_(0.2);
    auto radii = torch::rand({n}, generator).mul_(0.1).add_(0.12);
    auto colour_ids = torch::randint(0, 3, {n}, generator, torch::kInt64);
    auto images = torch::full({n, channels, resolution, resolution}, -0.8, torch::kFloat32);
    for (int64_t i = 0; i < n; ++i) {
        const double cy = centers[i][0].item<double>(), cx = centers[i][1].item<double>();
        const double r = radii[i].item<double>();
        const auto blob = torch::exp(-((ys - cy).square() + (xs - cx).square()) / (2 * r * r)).squeeze(0);
        const int64_t colour = colour_ids[i].item<int64_t>() % channels;
        images[i][colour].add_(blob * 1.7);
    }
    return images.clamp_(-1, 1);
}

}  // namespace facegen::train
