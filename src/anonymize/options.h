#pragma once

#include <cstdint>
#include <string>

// How faces in a photo are replaced: the options of an anonymisation, with their defaults.
namespace facegen::anonymize {

/// What becomes of a face that cannot be replaced well (too small, too turned, no
/// candidate far enough from its identity).
enum class Fallback { kBlur, kKeep };
std::string to_string(Fallback fallback);
Fallback parse_fallback(const std::string& text);  // "blur" | "keep"

struct AnonymizeOptions {
    /// Generated faces to choose from (seeds pool_first_seed .. + pool_size - 1, each also
    /// mirrored). More gives nearer matches in age, pose and lighting; each costs ~15 ms once.
    int64_t pool_size = 512;
    uint32_t pool_first_seed = 1000000;
    /// Truncation of the pool's faces: lower is cleaner but less varied. 0.8 keeps the rare
    /// ages and poses that photos need.
    double truncation_psi = 0.8;
    /// FFHQ crop scale of the model's training set (the bundled model: 0.7).
    double crop_scale = 0.7;
    /// A replacement must be at least this far from the original's identity descriptor,
    /// measured on the pasted result in the original's crop. dlib's same-person threshold is
    /// 0.6; the 0.05 margin covers the crop moving when the face is found again in the output
    /// (measured: 0.604 pasted, 0.589 re-detected on one CelebA photo).
    double min_identity_distance = 0.65;
    /// Faces whose FFHQ square is smaller than this (photo pixels) are not replaced.
    double min_face_px = 40;
    /// Faces turned further than this (yaw or pitch, degrees) are not replaced: the pool's
    /// faces are nearly frontal, and dlib's landmarks follow the outline beyond ~45 degrees.
    double max_pose_degrees = 40;
    Fallback fallback = Fallback::kBlur;
    /// Photos with more pixels than this are refused before faces are searched (memory);
    /// faces are searched on a copy at most kDetectionMaxSide across in any case.
    int64_t max_pixels = 100'000'000;
    /// Candidates tried (nearest first) before a face falls back.
    int64_t max_tries = 6;
    /// After replacing, search the result for faces again and measure each replaced face's
    /// identity distance and attributes there (what `--verify` reports; ~0.1 s a photo).
    bool verify = false;
    /// Embed the invisible watermark over the whole output (changes every pixel by a level or
    /// two, so pixels outside the faces are then no longer identical to the input's).
    bool watermark = false;

    /// Throws facegen::Error naming the value that is out of range.
    void validate() const;
    std::string to_string() const;
};

}  // namespace facegen::anonymize
