// Compiled only when the dataset library (facegen_data_io) is built; otherwise
// dataset_images_stub.cpp provides dataset_images().
#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>

#include "core/error.h"
#include "data/pack.h"
#include "metrics/image_sets.h"
#include "core/random_stream.h"

namespace facegen::metrics {

ImageSet dataset_images(const std::filesystem::path& dir, const DatasetImagesOptions& options) {
    if (!std::filesystem::exists(dir)) throw make_error("dataset '", dir.string(), "' not found");
    data::SplitSelection selection;
    try {
        selection = data::parse_split_selection(options.split);
    } catch (const Error&) {
        throw make_error("unknown dataset split '", options.split, "' (expected train, val or all)");
    }
    auto dataset = std::make_shared<const data::PackedDataset>(dir);
    std::vector<int64_t> indices = dataset->index().select(selection);
    if (indices.empty())
        throw make_error("dataset '", dir.string(), "' has no images in split '", options.split, "'");
    const int64_t available = static_cast<int64_t>(indices.size());
    if (options.max_images > 0 && options.max_images < available) {
        core::RandomStream stream(core::mix_seed(options.seed, 0x64617461, 0));
        const auto chosen = core::sample_without_replacement(available, options.max_images, stream);
        std::vector<int64_t> subset;
        for (int64_t i = 0; i < options.max_images; ++i) subset.push_back(indices[chosen[i].item<int64_t>()]);
        // Read in file order: sequential access through the memory map.
        std::sort(subset.begin(), subset.end());
        indices = std::move(subset);
    }
    ImageSet set;
    std::ostringstream description;
    description << "dataset '" << dir.string() << "' (" << options.split << " split, " << indices.size() << " of "
                << available << " images)";
    set.description = description.str();
    set.n_images = static_cast<int64_t>(indices.size());
    set.channels = dataset->channels();
    set.resolution = dataset->resolution();
    set.read = [dataset, indices](int64_t begin, int64_t count) {
        TORCH_CHECK(begin >= 0 && count >= 1 && begin + count <= static_cast<int64_t>(indices.size()),
                    "dataset_images: range ", begin, " + ", count, " outside ", indices.size(), " images");
        const int64_t r = dataset->resolution(), c = dataset->channels();
        auto out = torch::empty({count, c, r, r}, torch::kUInt8);
        const int64_t bytes = c * r * r;
        for (int64_t i = 0; i < count; ++i)
            std::memcpy(out.data_ptr<uint8_t>() + i * bytes, dataset->image(indices[begin + i]), bytes);
        return out;
    };
    return set;
}

}  // namespace facegen::metrics
