// Used when facegen is built without the dataset library (FACEGEN_WITH_DATA=OFF).
#include "core/error.h"
#include "metrics/image_sets.h"

namespace facegen::metrics {

ImageSet dataset_images(const std::filesystem::path& dir, const DatasetImagesOptions&) {
    throw make_error("cannot read dataset '", dir.string(),
                     "': this facegen was built without the dataset library (FACEGEN_WITH_DATA=OFF)");
}

}  // namespace facegen::metrics
