#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

namespace facegen::train {

/// Where an image stream is: item `position` of this rank's share of epoch `epoch`
/// (the same meaning as data::LoaderState). Saved in checkpoints.
struct SourceState {
    int64_t epoch = 0;
    int64_t position = 0;
    bool operator==(const SourceState& o) const { return epoch == o.epoch && position == o.position; }
};

/// The trainer's view of a dataset: an endless deterministic stream of this rank's
/// batches. Sharding convention (the data::Loader's): each epoch has one order of the
/// dataset's items; rank r of W sees items r, r + W, r + 2W, ... of it. So the k-th item
/// of a rank's batch at step s is item (s * batch_per_rank + k) * W + r of the global stream.
class ImageSource {
public:
    virtual ~ImageSource() = default;
    /// The next batch_per_rank images, float32 in [-1, 1], [N, C, R, R], on the CPU.
    virtual torch::Tensor next_batch() = 0;
    virtual SourceState state() const = 0;
    virtual void restore(const SourceState& state) = 0;
    virtual int64_t resolution() const = 0;
    virtual int64_t channels() const = 0;
    virtual int64_t size() const = 0;
    /// Where the images come from (a path, "synthetic:blobs:256"); goes into provenance.
    virtual std::string description() const = 0;
    /// The dataset's licence text, empty when it has none.
    virtual std::string license() const { return {}; }
};

/// Images held in memory, served with the Loader's sharding convention and a per-epoch
/// shuffle drawn from (seed, epoch).
class InMemoryImageSource : public ImageSource {
public:
    InMemoryImageSource(torch::Tensor images, int64_t batch_per_rank, uint64_t seed, int64_t rank, int64_t world_size,
                        std::string description, bool shuffle = true);
    torch::Tensor next_batch() override;
    SourceState state() const override { return state_; }
    void restore(const SourceState& state) override { state_ = state; }
    int64_t resolution() const override { return images_.size(2); }
    int64_t channels() const override { return images_.size(1); }
    int64_t size() const override { return images_.size(0); }
    std::string description() const override { return description_; }

private:
    torch::Tensor epoch_order(int64_t epoch) const;
    torch::Tensor images_;
    int64_t batch_per_rank_, rank_, world_size_, epoch_size_;
    uint64_t seed_;
    std::string description_;
    bool shuffle_;
    SourceState state_;
    mutable int64_t cached_epoch_ = -1;
    mutable torch::Tensor cached_order_;
};

/// Synthetic data with obvious structure, for tests and benchmarks: a dark background
/// with one soft blob of a saturated colour (red, green or blue) at a random place.
/// -> [n, channels, resolution, resolution] in [-1, 1], deterministic in `seed`.
torch::Tensor make_blob_images(int64_t n, int64_t resolution, int64_t channels, uint64_t seed);

/// Opens a data source from a spec: "synthetic:blobs:N" (N blob images at `resolution`)
/// or the path of a packed dataset folder (needs the data library; x_flip mirrors as the
/// official --mirror). Throws facegen::Error naming the spec when it cannot.
std::unique_ptr<ImageSource> open_image_source(const std::string& spec, int64_t resolution, int64_t batch_per_rank,
                                               uint64_t seed, int64_t rank, int64_t world_size, bool x_flip);

/// The resolution and channel count of the images `spec` (see open_image_source) yields;
/// `resolution` is used for synthetic data. Throws facegen::Error naming the spec.
std::pair<int64_t, int64_t> probe_image_source(const std::string& spec, int64_t resolution);

}  // namespace facegen::train
