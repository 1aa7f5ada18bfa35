#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "project/target_face.h"

// Folders of photos for measuring projections and training encoders: the images in name
// order, and the first ones whose face the model can take (the others skipped and counted).
namespace facegen::project {

/// JPEG, PNG and WebP files of `folder` in name order. Throws facegen::Error when it is not
/// a folder.
std::vector<std::string> image_files(const std::filesystem::path& folder);

struct UsablePhotos {
    std::vector<std::string> files;
    std::vector<TargetFace> faces;  // aligned, one per file
    int64_t skipped = 0;            // no face, a face too small, unreadable
};

/// The first `count` of `files` (in the order given) with a face big enough, aligned as
/// projection aligns them; `skip_first` usable photos are passed over first (so that two
/// calls can take disjoint photos of one folder).
UsablePhotos usable_photos(const std::vector<std::string>& files, int64_t count, int64_t resolution,
                           double crop_scale, const std::string& predictor_path, int64_t skip_first = 0);

}  // namespace facegen::project
