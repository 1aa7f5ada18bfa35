#include "attributes/head_pose.h"

#include <ATen/Parallel.h>

#include <array>
#include <cstring>
#include <cmath>

#include "core/error.h"

namespace facegen::attributes {
namespace {

using Vec3 = std::array<double, 3>;

/// A generic adult face in millimetres, rounded from average proportions: origin at the nose
/// tip, x to the image's right, y up, z towards the camera. Outer eye corners 90 mm apart and
/// 35 mm behind the nose tip, mouth 50 mm wide, chin 70 mm below the tip.
struct ModelPoint {
    int landmark;  // iBUG 300-W index
    Vec3 position;
};
constexpr std::array<ModelPoint, 6> kGenericFace = {{
    {30, {0, 0, 0}},          // nose tip
    {8, {0, -70, -25}},       // chin
    {36, {-45, 33, -35}},     // outer corner of the eye on the image's left
    {45, {45, 33, -35}},      // outer corner of the eye on the image's right
    {48, {-25, -30, -28}},    // mouth corner, image left
    {54, {25, -30, -28}},     // mouth corner, image right
}};

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 scaled(const Vec3& a, double s) { return {a[0] * s, a[1] * s, a[2] * s}; }
Vec3 plus(const Vec3& a, const Vec3& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
Vec3 minus(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
Vec3 unit(const Vec3& a) { return scaled(a, 1.0 / std::sqrt(dot(a, a))); }

using Mat3 = std::array<Vec3, 3>;

Mat3 inverse(const Mat3& m) {
    const Vec3 c0 = cross(m[1], m[2]), c1 = cross(m[2], m[0]), c2 = cross(m[0], m[1]);
    const double det = dot(m[0], c0);
    // Columns of the inverse are the cross products over the determinant.
    return {{{c0[0] / det, c1[0] / det, c2[0] / det},
             {c0[1] / det, c1[1] / det, c2[1] / det},
             {c0[2] / det, c1[2] / det, c2[2] / det}}};
}

/// The box dlib's detector would draw around a face with these landmarks, as measured on 400
/// UTKFace photos: a square as wide as the jaw line (0 to 16; ratio 1.00, sd 0.13) centred
/// 0.14 eye-to-mouth distances above the middle of eyes and mouth (sd 0.11) and 0.06 to
/// the image's left (sd 0.12). The shape predictor was trained on such boxes.
std::array<double, 4> detector_box(const std::vector<data::Point2>& landmarks) {
    data::Point2 eyes, mouth;
    for (size_t k = 36; k < 48; ++k) eyes = {eyes.x + landmarks[k].x / 12, eyes.y + landmarks[k].y / 12};
    for (size_t k = 48; k < 68; ++k) mouth = {mouth.x + landmarks[k].x / 20, mouth.y + landmarks[k].y / 20};
    const double eye_to_mouth = std::hypot(mouth.x - eyes.x, mouth.y - eyes.y);
    const double down_x = (mouth.x - eyes.x) / eye_to_mouth, down_y = (mouth.y - eyes.y) / eye_to_mouth;
    const double right_x = down_y, right_y = -down_x;
    const double centre_x = 0.5 * (eyes.x + mouth.x) + eye_to_mouth * (-0.14 * down_x - 0.06 * right_x);
    const double centre_y = 0.5 * (eyes.y + mouth.y) + eye_to_mouth * (-0.14 * down_y - 0.06 * right_y);
    const double half = 0.5 * std::hypot(landmarks[16].x - landmarks[0].x, landmarks[16].y - landmarks[0].y);
    return {centre_x - half, centre_y - half, centre_x + half, centre_y + half};
}

/// One image as an RgbImage at kPoseImageSide: faces smaller than the detector's window grow.
data::RgbImage enlarged(const torch::Tensor& image_hwc) {
    const torch::Tensor pixels = image_hwc.contiguous();
    data::RgbImage image(pixels.size(1), pixels.size(0));
    std::memcpy(image.pixels.data(), pixels.data_ptr<uint8_t>(), image.pixels.size());
    return data::resize_area(image, HeadPoseReader::kPoseImageSide, HeadPoseReader::kPoseImageSide);
}

}  // namespace

HeadPose head_pose_from_landmarks(const std::vector<data::Point2>& landmarks) {
    if (landmarks.size() != 68) throw make_error("head pose needs 68 landmarks, got ", landmarks.size());
    // Centre both point sets; the image's y goes down, the model's up.
    Vec3 model_mean{0, 0, 0};
    double image_mean_x = 0, image_mean_y = 0;
    for (const ModelPoint& p : kGenericFace) {
        model_mean = plus(model_mean, scaled(p.position, 1.0 / kGenericFace.size()));
        image_mean_x += landmarks[static_cast<size_t>(p.landmark)].x / kGenericFace.size();
        image_mean_y -= landmarks[static_cast<size_t>(p.landmark)].y / kGenericFace.size();
    }
    // Least squares for the 2x3 projection M with image = M * model: M = P X^T (X X^T)^-1.
    Mat3 xxt{};
    Vec3 pxt_row0{0, 0, 0}, pxt_row1{0, 0, 0};
    for (const ModelPoint& p : kGenericFace) {
        const Vec3 x = minus(p.position, model_mean);
        const double u = landmarks[static_cast<size_t>(p.landmark)].x - image_mean_x;
        const double v = -landmarks[static_cast<size_t>(p.landmark)].y - image_mean_y;
        for (int r = 0; r < 3; ++r) xxt[r] = plus(xxt[r], scaled(x, x[r]));
        pxt_row0 = plus(pxt_row0, scaled(x, u));
        pxt_row1 = plus(pxt_row1, scaled(x, v));
    }
    const Mat3 xxt_inverse = inverse(xxt);  // the model's points span 3-D, so it exists
    const auto times_inverse = [&](const Vec3& row) {
        return Vec3{dot(row, {xxt_inverse[0][0], xxt_inverse[1][0], xxt_inverse[2][0]}),
                    dot(row, {xxt_inverse[0][1], xxt_inverse[1][1], xxt_inverse[2][1]}),
                    dot(row, {xxt_inverse[0][2], xxt_inverse[1][2], xxt_inverse[2][2]})};
    };
    const Vec3 row0 = times_inverse(pxt_row0), row1 = times_inverse(pxt_row1);
    if (!(dot(row0, row0) > 1e-12 && dot(row1, row1) > 1e-12)) {
        throw make_error("head pose: the landmarks span no face (all in one place)");
    }
    // The two rows are the rotation's first rows times the scale; make them orthonormal
    // symmetrically (neither wins), then the third row is their cross product.
    const Vec3 a = unit(row0), b = unit(row1);
    const Vec3 sum = unit(plus(a, b)), difference = unit(minus(a, b));
    const Vec3 right = scaled(plus(sum, difference), std::sqrt(0.5));
    const Vec3 up = scaled(minus(sum, difference), std::sqrt(0.5));
    const Vec3 towards_camera = cross(right, up);
    // Where the face's own forward axis (0, 0, 1) points in camera coordinates, with the roll
    // (the tilt of its left-right axis in the image) undone first, so that a tilted head
    // reads the same yaw and pitch: the rotation is taken as roll * yaw * pitch.
    // Rows of the rotation are right, up and towards_camera; columns are the face's axes.
    const double roll = std::atan2(up[0], right[0]);
    const double fx = right[2], fy = up[2];
    const Vec3 forward{fx * std::cos(roll) + fy * std::sin(roll), -fx * std::sin(roll) + fy * std::cos(roll),
                       towards_camera[2]};
    constexpr double kDegrees = 180.0 / M_PI;
    return {std::atan2(forward[0], forward[2]) * kDegrees,
            std::atan2(forward[1], std::hypot(forward[0], forward[2])) * kDegrees};
}

HeadPoseReader::HeadPoseReader(const std::string& landmark_model) : predictor_(landmark_model) {}

torch::Tensor HeadPoseReader::measure(const torch::Tensor& images_nhwc) const {
    TORCH_CHECK(images_nhwc.dim() == 4 && images_nhwc.size(3) == 3 && images_nhwc.scalar_type() == torch::kUInt8,
                "head pose: expected uint8 [N, H, W, 3], got ", images_nhwc.sizes());
    const torch::Tensor images = images_nhwc.to(torch::kCPU).contiguous();
    const int64_t n = images.size(0);
    torch::Tensor out = torch::empty({n, 2}, torch::kFloat64);
    double* values = out.data_ptr<double>();
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const data::RgbImage image = enlarged(images[i]);
            // An aligned face fills the middle of the image: start from a box there, then
            // move the box to where the detector would have put it around the landmarks
            // found, twice (the second move is a pixel or two).
            const double side = static_cast<double>(kPoseImageSide);
            std::array<double, 4> box = {0.2 * side, 0.25 * side, 0.8 * side, 0.85 * side};
            std::vector<data::Point2> landmarks;
            for (int round = 0; round < 3; ++round) {
                landmarks = predictor_.landmarks_in(image, box[0], box[1], box[2], box[3]);
                box = detector_box(landmarks);
            }
            const HeadPose pose = head_pose_from_landmarks(landmarks);
            values[i * 2] = pose.yaw_degrees;
            values[i * 2 + 1] = pose.pitch_degrees;
        }
    });
    return out;
}

}  // namespace facegen::attributes
