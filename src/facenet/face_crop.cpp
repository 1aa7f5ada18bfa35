#include "facenet/face_crop.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "facenet/face_cnn.h"

namespace facegen::facenet {

torch::Tensor centre_square(const data::RgbImage& image) {
    const int64_t side = std::min(image.width, image.height);
    const int64_t x0 = (image.width - side) / 2, y0 = (image.height - side) / 2;
    const int64_t factor = std::max<int64_t>(1, side / (4 * kFaceInputSide));
    const int64_t out_side = side / factor;
    torch::Tensor out = torch::empty({1, out_side, out_side, 3}, torch::kUInt8);
    uint8_t* dst = out.data_ptr<uint8_t>();
    std::vector<uint32_t> sums(static_cast<size_t>(out_side) * 3);
    for (int64_t oy = 0; oy < out_side; ++oy) {
        std::fill(sums.begin(), sums.end(), 0u);
        for (int64_t y = oy * factor; y < (oy + 1) * factor; ++y) {
            const uint8_t* row = image.at(x0, y0 + y);
            for (int64_t x = 0; x < out_side * factor; ++x) {
                for (int64_t c = 0; c < 3; ++c) sums[static_cast<size_t>((x / factor) * 3 + c)] += row[x * 3 + c];
            }
        }
        const uint32_t area = static_cast<uint32_t>(factor * factor);
        for (size_t i = 0; i < sums.size(); ++i) {
            dst[oy * out_side * 3 + static_cast<int64_t>(i)] = static_cast<uint8_t>((sums[i] + area / 2) / area);
        }
    }
    return out;
}

torch::Tensor aligned_face(const data::RgbImage& image, const std::string& name, data::FaceDetector& detector,
                           double crop_scale, int64_t side, data::FaceDetection* found) {
    const std::vector<data::FaceDetection> faces = detector.detect(image);
    if (faces.empty()) throw make_error("no face found in '", name, "'");
    const data::RgbImage aligned = data::ffhq_crop(image, data::ffhq_quad(faces.front().landmarks, crop_scale), side);
    if (found != nullptr) *found = faces.front();
    return torch::from_blob(const_cast<uint8_t*>(aligned.pixels.data()), {1, side, side, 3}, torch::kUInt8).clone();
}

}  // namespace facegen::facenet
