#include <fstream>
#include <sstream>

#include "core/error.h"
#include "train/image_source.h"

#ifdef FACEGEN_HAVE_DATA
#include "data/loader.h"
#include "data/pack.h"
#endif

namespace facegen::train {

#ifdef FACEGEN_HAVE_DATA
namespace {

class LoaderImageSource : public ImageSource {
public:
    LoaderImageSource(const std::filesystem::path& dir, int64_t batch_per_rank, uint64_t seed, int64_t rank,
                      int64_t world_size, bool x_flip)
        : dataset_(std::make_shared<data::PackedDataset>(dir)),
          loader_(dataset_, data::LoaderOptions()
                                .batch_size(batch_per_rank)
                                .split(data::SplitSelection::kTrain)
                                .x_flip(x_flip)
                                .seed(seed)
                                .rank(rank)
                                .world_size(world_size)),
          license_(dataset_->license()) {}
    torch::Tensor next_batch() override { return loader_.next().images; }
    SourceState state() const override {
        const auto s = loader_.state();
        return {s.epoch, s.position};
    }
    void restore(const SourceState& state) override { loader_.reset(data::LoaderState{state.epoch, state.position}); }
    int64_t resolution() const override { return dataset_->resolution(); }
    int64_t channels() const override { return dataset_->channels(); }
    int64_t size() const override { return dataset_->size(); }
    std::string description() const override { return dataset_->dir().string(); }
    std::string license() const override { return license_; }

private:
    std::shared_ptr<data::PackedDataset> dataset_;
    data::Loader loader_;
    std::string license_;
};

}  // namespace
#endif

std::unique_ptr<ImageSource> open_image_source(const std::string& spec, int64_t resolution, int64_t batch_per_rank,
                                               uint64_t seed, int64_t rank, int64_t world_size, bool x_flip) {
    const std::string synthetic = "synthetic:blobs:";
    if (spec.rfind(synthetic, 0) == 0) {
        int64_t n = 0;
        try {
            n = std::stoll(spec.substr(synthetic.size()));
        } catch (const std::exception&) {
            throw make_error("bad data spec '", spec, "': expected synthetic:blobs:<count>");
        }
        if (n < 1) throw make_error("bad data spec '", spec, "': the count must be >= 1");
        if (resolution <= 0)
            throw make_error("data '", spec, "' has no resolution of its own: give a resolution");
        auto images = make_blob_images(n, resolution, /*channels=*/3, /*seed=*/12345);
        if (x_flip) images = torch::cat({images, images.flip({3})});
        return std::make_unique<InMemoryImageSource>(images, batch_per_rank, seed, rank, world_size, spec);
    }
#ifdef FACEGEN_HAVE_DATA
    if (!std::filesystem::is_directory(spec))
        throw make_error("dataset '", spec, "' is not a folder (expected a packed dataset made by `facegen dataset`)");
    return std::make_unique<LoaderImageSource>(spec, batch_per_rank, seed, rank, world_size, x_flip);
#else
    throw make_error("dataset '", spec, "': this build has no dataset support (built without the data library); ",
                     "use synthetic:blobs:<count>");
#endif
}

std::pair<int64_t, int64_t> probe_image_source(const std::string& spec, int64_t resolution) {
    if (spec.rfind("synthetic:", 0) == 0) {
        if (resolution <= 0) throw make_error("data '", spec, "' has no resolution of its own: give a resolution");
        return {resolution, 3};
    }
#ifdef FACEGEN_HAVE_DATA
    if (!std::filesystem::is_directory(spec))
        throw make_error("dataset '", spec, "' is not a folder (expected a packed dataset made by `facegen dataset`)");
    const data::PackedDataset dataset(spec);
    return {dataset.resolution(), dataset.channels()};
#else
    (void)resolution;
    throw make_error("dataset '", spec, "': this build has no dataset support (built without the data library); ",
                     "use synthetic:blobs:<count>");
#endif
}

}  // namespace facegen::train
