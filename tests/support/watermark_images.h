#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "watermark_attacks.h"

// Images to mark and to search for marks in: generated faces, synthetic natural-looking
// images (no model needed) and real photos.
namespace facegen::test {

/// A smooth, natural-looking RGB image from `seed`: a lit background gradient, a skin-toned
/// ellipse with darker features, random soft blobs and a little grain. Deterministic on every
/// platform (own generator).
Image8 synthetic_image(uint64_t seed, int64_t width, int64_t height);

/// Faces from a facegen model file, one per seed, as `facegen generate --seeds` makes them
/// (generate::Session: z from the seed, the model's psi, constant noise). `model_id` receives the file's model
/// id when not null.
std::vector<Image8> generate_faces(const std::filesystem::path& model, const std::vector<uint32_t>& seeds,
                                   std::string* model_id = nullptr);

/// True when photos can be decoded (the dataset tools were built).
bool photo_decoding_available();
/// JPEG, PNG or WebP files under `folder` (recursive), sorted by path.
std::vector<std::filesystem::path> list_photos(const std::filesystem::path& folder);
/// Decodes a photo to RGB. Throws facegen::Error when it cannot.
Image8 load_photo(const std::filesystem::path& path);

}  // namespace facegen::test
