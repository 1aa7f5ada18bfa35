#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/random_stream.h"

// Faces from the world for the patch detector: a folder written by
// scripts/prepare_detector_data.sh (images under <source>/, manifest.tsv naming each one's
// source, label and generator family), read into memory, and the re-encoding that every
// image of both classes goes through, so that size, JPEG quality and framing tell the
// classes nothing.
namespace facegen::detect {

struct WorldImage {
    std::string path;    // relative to the folder
    std::string source;  // e.g. "sdfd-sd21", "utkface"
    int label = 0;       // 1 = generated
    std::string family;  // generated: "stylegan", "diffusion", ...; real: "photo"
};

/// Reads FOLDER/manifest.tsv (header path, source, label, family; label "real" or
/// "generated"). Throws facegen::Error naming the file and line for a malformed one.
std::vector<WorldImage> read_world_manifest(const std::filesystem::path& folder);

/// Which half of a source an image belongs to, from its path alone (a hash), so that the
/// same image is always on the same side whatever else is selected: 0 or 1.
int world_half(const std::string& path);

/// At most `per_source` images of each source in `images`, chosen by a hash of the path.
std::vector<WorldImage> cap_per_source(const std::vector<WorldImage>& images, int64_t per_source);

/// A decoded image kept for re-encoding: its centred square, box-reduced by a whole factor
/// to no less than 2 * kPatchWorkingSide a side, uint8 [S, S, 3].
struct LoadedImage {
    WorldImage meta;
    torch::Tensor square;
    int64_t original_width = 0;
    int64_t original_height = 0;
};

/// Decodes every image (in the folder); files that do not decode are reported through
/// `on_skip` and left out.
std::vector<LoadedImage> load_world_images(const std::filesystem::path& folder, const std::vector<WorldImage>& images,
                                           const std::function<void(int64_t done, int64_t total)>& on_progress = {},
                                           const std::function<void(const std::string&)>& on_skip = {});

/// The re-encoding applied alike to both classes. First the source scale: an image whose
/// side is over `source_max_side` is reduced (area averaging) to a random side in
/// [source_min_side, source_max_side], the scale of the real photos (UTKFace 200 px, CelebA
/// 178 px), and every image, reduced or not, is saved as a JPEG there at a random quality
/// in [source_min_quality, source_max_quality] (the real photos were published as JPEG 75
/// at that scale). So every image, generated or real, enters the next steps from the same
/// scale with the same kind of JPEG history: without this the generated faces (256-1024
/// px) were reduced 2-6 times more than most real photos and lost their JPEG blocking, the
/// small real photos kept theirs, and a detector learnt those two differences. Then a
/// random square crop of 80-100% of the side, resized to a random side in [min_side,
/// max_side], JPEG at a random quality in [min_quality, max_quality]. source_max_side 0
/// leaves out the first step.
struct WildReencodeOptions {
    int64_t source_min_side = 176;
    int64_t source_max_side = 224;
    int source_min_quality = 70;
    int source_max_quality = 80;
    int64_t min_side = 112;
    int64_t max_side = 176;
    double min_crop = 0.8;
    int min_quality = 65;
    int max_quality = 95;
};

struct ReencodedImage {
    torch::Tensor pixels;  // uint8 [S, S, 3], decoded again
    int quality = 0;
    /// Sum of the luma quantisation table written: what a shortcut on JPEG tables would read.
    int64_t quantisation_sum = 0;
};

ReencodedImage reencode_like_the_wild(const torch::Tensor& square, core::RandomStream& stream,
                                      const WildReencodeOptions& options = {});

/// The first step of `reencode_like_the_wild`: a square over `source_max_side` reduced to a
/// random side in [source_min_side, source_max_side], smaller ones as they are, then every
/// one through a JPEG at a quality in [source_min_quality, source_max_quality]. With
/// source_max_side 0 the square as it is. Draws the same numbers from `stream` either way.
torch::Tensor to_source_scale(const torch::Tensor& square, core::RandomStream& stream,
                              const WildReencodeOptions& options = {});

/// Sum of the entries of the first quantisation table (DQT) of a JPEG, 0 when none.
int64_t jpeg_quantisation_sum(const std::string& jpeg);

}  // namespace facegen::detect
