#include "project/target_face.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/image_io.h"

namespace facegen::project {

TargetFace align_target_face(const data::RgbImage& photo, const std::string& name, int64_t resolution,
                             double crop_scale, data::FaceDetector& detector,
                             const data::LandmarkPredictor& predictor) {
    TargetFace target;
    target.photo_width = photo.width;
    target.photo_height = photo.height;

    // HOG detection on a 8000x8000 photo takes minutes and gigabytes; faces big enough to
    // matter are found as well on a copy at most kDetectionMaxSide across.
    const int64_t longer = std::max(photo.width, photo.height);
    const double reduction = longer > kDetectionMaxSide ? static_cast<double>(longer) / kDetectionMaxSide : 1.0;
    std::vector<data::FaceDetection> faces;
    if (reduction > 1.0) {
        const data::RgbImage reduced = data::resize_area(
            photo, std::max<int64_t>(1, std::lround(photo.width / reduction)),
            std::max<int64_t>(1, std::lround(photo.height / reduction)));
        faces = detector.detect(reduced);
    } else {
        faces = detector.detect(photo);
    }
    if (faces.empty()) throw make_error("no face found in '", name, "'");
    target.faces_found = static_cast<int>(faces.size());

    data::FaceDetection face = faces.front();  // largest first
    if (reduction > 1.0) {
        // Landmarks again on the full photo, in the detector's box scaled back up.
        face.landmarks = predictor.landmarks_in(photo, face.left * reduction, face.top * reduction,
                                                face.right * reduction, face.bottom * reduction);
    }
    const data::FFHQQuad quad = data::ffhq_quad(face.landmarks, crop_scale);
    target.face_size_px = quad.qsize;
    const double smallest = kMinFaceShareOfResolution * static_cast<double>(resolution);
    if (quad.qsize < smallest) {
        throw make_error("the face in '", name, "' is too small: ", std::lround(quad.qsize),
                         " px across, the model needs at least ", std::lround(smallest), " (half its ", resolution,
                         " px)");
    }
    data::CropReport crop;
    const data::RgbImage aligned = data::ffhq_crop(photo, quad, resolution, &crop);
    target.pad_fraction = crop.pad_fraction;
    target.pixels =
        torch::from_blob(const_cast<uint8_t*>(aligned.pixels.data()), {1, resolution, resolution, 3}, torch::kUInt8)
            .clone();
    return target;
}

TargetFace load_target_face(const std::string& path, int64_t resolution, double crop_scale,
                            data::FaceDetector& detector, const data::LandmarkPredictor& predictor) {
    const data::DecodedImage decoded = data::decode_image(core::read_file(path), path);
    return align_target_face(decoded.image, path, resolution, crop_scale, detector, predictor);
}

}  // namespace facegen::project
