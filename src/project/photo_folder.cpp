#include "project/photo_folder.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace facegen::project {

std::vector<std::string> image_files(const std::filesystem::path& folder) {
    if (!std::filesystem::is_directory(folder)) throw make_error("photos '", folder.string(), "' is not a folder");
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp")) {
            files.push_back(entry.path().string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

UsablePhotos usable_photos(const std::vector<std::string>& files, int64_t count, int64_t resolution,
                           double crop_scale, const std::string& predictor_path, int64_t skip_first) {
    data::FaceDetector detector(predictor_path, /*upsample=*/1);
    const data::LandmarkPredictor predictor(predictor_path);
    UsablePhotos out;
    int64_t passed_over = 0;
    for (const std::string& file : files) {
        if (static_cast<int64_t>(out.files.size()) == count) break;
        try {
            TargetFace face = load_target_face(file, resolution, crop_scale, detector, predictor);
            if (passed_over < skip_first) {
                ++passed_over;
                continue;
            }
            out.files.push_back(file);
            out.faces.push_back(std::move(face));
        } catch (const Error&) {
            ++out.skipped;
        }
    }
    return out;
}

}  // namespace facegen::project
