#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "data/face_align.h"

// Head pose has no label in UTKFace or CelebA, so it is measured: dlib's 68 landmarks, and a
// generic three-dimensional face fitted to six of them (nose tip, chin, outer eye corners,
// mouth corners) under scaled orthographic projection. The pose is where that face points.
namespace facegen::attributes {

struct HeadPose {
    double yaw_degrees = 0;    // + = the face turns towards the image's right
    double pitch_degrees = 0;  // + = the face looks up
};

/// The pose of 68 landmarks (iBUG 300-W order, image pixels, y down). Throws facegen::Error
/// for another number of points or points that span no face (all in one place).
HeadPose head_pose_from_landmarks(const std::vector<data::Point2>& landmarks);

/// Reads the pose of aligned face images (a face filling the middle of the image, as facegen's
/// datasets and models have them) with dlib's landmark model. No face detection: the
/// landmark box starts in the middle and follows the landmarks found (the detector costs
/// ~80 ms an image, the predictor under 1 ms). Faces are enlarged to kPoseImageSide first,
/// since facegen's models and crops are often only 64 pixels.
class HeadPoseReader {
public:
    static constexpr int64_t kPoseImageSide = 256;
    /// Throws facegen::Error naming the landmark model when it is missing or unreadable.
    explicit HeadPoseReader(const std::string& landmark_model = data::kDefaultPredictorPath);

    /// uint8 [N, H, W, 3] -> float64 [N, 2]: yaw and pitch in degrees. Images are read in
    /// parallel. An image with no face in its middle reads the pose of whatever is there.
    torch::Tensor measure(const torch::Tensor& images_nhwc) const;

private:
    data::LandmarkPredictor predictor_;
};

}  // namespace facegen::attributes
