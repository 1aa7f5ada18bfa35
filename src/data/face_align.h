#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace dlib {
class shape_predictor;
}

namespace facegen::data {

struct Point2 {
    double x = 0;
    double y = 0;
};

enum class AlignMode { kFFHQ, kCenterCrop, kNone };
std::string to_string(AlignMode mode);
AlignMode parse_align_mode(const std::string& text);  // "ffhq" | "center-crop" | "none"

enum class FacePolicy { kLargest, kAll, kSkip };
std::string to_string(FacePolicy policy);
FacePolicy parse_face_policy(const std::string& text);  // "largest" | "all" | "skip"

/// The FFHQ crop square of one face, from its 68 landmarks (iBUG 300-W order): the
/// oriented square `corners` (upper-left, lower-left, lower-right, upper-right, in source
/// pixel coordinates) centred at `center`, with half-axes `x` (towards the image's right)
/// and `y` (down). Rule of the FFHQ dataset scripts (Karras et al. 2019, ffhq-dataset
/// recreate_aligned_images): eyes and mouth define the orientation; the size is the
/// larger of 2x the eye distance and 1.8x the eye-to-mouth distance (half-axis lengths).
/// `crop_scale` scales the square about its centre (1 = the FFHQ rule; < 1 frames the face
/// tighter, so tight source crops such as UTKFace need less synthesised border): canonical
/// landmark positions move away from the crop centre by the factor 1 / crop_scale.
struct FFHQQuad {
    Point2 eye_left, eye_right, eye_avg, eye_to_eye, mouth_avg, eye_to_mouth;
    Point2 center, x, y;
    std::array<Point2, 4> corners;
    double qsize = 0;  // side length of the square, source pixels
};
FFHQQuad ffhq_quad(const std::vector<Point2>& landmarks, double crop_scale = 1.0);

/// Where source point `p` lands in the aligned output of side `resolution`.
Point2 ffhq_project(const FFHQQuad& quad, Point2 p, int64_t resolution);

struct CropReport {
    /// Share of output pixels that lie outside the source photo and were synthesised by
    /// reflection padding (0 = all real pixels).
    double pad_fraction = 0;
    /// Source pixels per output pixel (< 1: the face was upsampled).
    double source_scale = 0;
};

/// Crops the FFHQ square to resolution x resolution: shrink (area filter) when the face is
/// more than 2x larger than the output, crop with a border, reflect-pad where the square
/// leaves the photo (padding blurred and faded to the median colour, as in FFHQ), then
/// resample the oriented square with 4x4 supersampled bilinear taps (an area filter).
RgbImage ffhq_crop(const RgbImage& source, const FFHQQuad& quad, int64_t resolution, CropReport* report = nullptr);

/// Area-averaging resize (box filter over each output pixel's footprint; exact for
/// integer factors, bilinear when enlarging).
RgbImage resize_area(const RgbImage& source, int64_t width, int64_t height);
/// Central square of the image resized to resolution x resolution.
RgbImage center_crop(const RgbImage& source, int64_t resolution);

struct FaceDetection {
    double left = 0, top = 0, right = 0, bottom = 0;  // detector box, source pixels
    double score = 0;                                  // dlib HOG detector confidence
    std::vector<Point2> landmarks;                     // 68 points
    double area() const { return (right - left) * (bottom - top); }
};

/// dlib's 68-point shape predictor alone: the landmarks of a face in a box the caller knows
/// (aligned faces need no detection, and the predictor is a hundred times faster than the
/// detector). Prediction changes nothing, so one predictor serves many threads.
class LandmarkPredictor {
public:
    /// Throws facegen::Error naming the file when it is missing, unreadable or not 68 points.
    explicit LandmarkPredictor(const std::string& path);
    ~LandmarkPredictor();
    std::vector<Point2> landmarks_in(const RgbImage& image, double left, double top, double right, double bottom) const;

private:
    friend class FaceDetector;
    std::shared_ptr<const dlib::shape_predictor> predictor_;
};

/// dlib's HOG frontal face detector + 68-point shape predictor. Not thread-safe: make
/// one per thread with clone() (the predictor model is shared, the detector copied).
class FaceDetector {
public:
    /// Throws facegen::Error when the predictor file is missing or unreadable.
    FaceDetector(const std::string& predictor_path, int upsample);
    ~FaceDetector();
    std::unique_ptr<FaceDetector> clone() const;
    /// Faces sorted by box area, largest first. When none is found in the image, it tries
    /// again on the image with a mirrored border (tight crops cut the detector's window).
    std::vector<FaceDetection> detect(const RgbImage& image);

private:
    struct Impl;
    explicit FaceDetector(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

inline constexpr const char* kDefaultPredictorPath = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

}  // namespace facegen::data
