#include "detect/world_data.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "data/image_io.h"
#include "detect/spectral_patches.h"

namespace facegen::detect {
namespace {

namespace F = torch::nn::functional;

uint64_t path_hash(const std::string& path) {
    uint64_t hash = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char ch : path) hash = (hash ^ ch) * 1099511628211ULL;
    return core::splitmix64(hash);
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, '\t')) fields.push_back(field);
    return fields;
}

torch::Tensor resized(const torch::Tensor& image_hwc, int64_t side) {
    const torch::Tensor nchw = image_hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{side, side});
    const bool shrinking = side < image_hwc.size(0);
    const torch::Tensor out = shrinking ? F::interpolate(nchw, options.mode(torch::kArea))
                                        : F::interpolate(nchw, options.mode(torch::kBilinear).align_corners(false));
    return out.squeeze(0).permute({1, 2, 0}).round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

torch::Tensor jpeg_round_trip(const torch::Tensor& image_hwc, int quality) {
    const torch::Tensor pixels = image_hwc.contiguous();
    data::RgbImage image(pixels.size(1), pixels.size(0));
    std::memcpy(image.pixels.data(), pixels.data_ptr<uint8_t>(), image.pixels.size());
    const data::RgbImage decoded = data::decode_image(data::encode_jpeg(image, quality), "re-encoded image").image;
    return torch::from_blob(const_cast<uint8_t*>(decoded.pixels.data()), {decoded.height, decoded.width, 3},
                            torch::kUInt8)
        .clone();
}

}  // namespace

std::vector<WorldImage> read_world_manifest(const std::filesystem::path& folder) {
    const std::filesystem::path path = folder / "manifest.tsv";
    std::ifstream in(path);
    if (!in) throw make_error("cannot read '", path.string(), "' (run scripts/prepare_detector_data.sh)");
    std::string line;
    std::getline(in, line);
    if (line != "path\tsource\tlabel\tfamily") {
        throw make_error("'", path.string(), "' does not start with the header path, source, label, family");
    }
    std::vector<WorldImage> images;
    for (int64_t number = 2; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        const std::vector<std::string> fields = split_tabs(line);
        if (fields.size() != 4 || (fields[2] != "real" && fields[2] != "generated")) {
            throw make_error("'", path.string(), "' line ", number, ": expected path, source, real|generated, family");
        }
        images.push_back({fields[0], fields[1], fields[2] == "generated" ? 1 : 0, fields[3]});
    }
    if (images.empty()) throw make_error("'", path.string(), "' lists no images");
    return images;
}

int world_half(const std::string& path) { return static_cast<int>(path_hash(path) >> 63); }

std::vector<WorldImage> cap_per_source(const std::vector<WorldImage>& images, int64_t per_source) {
    std::map<std::string, std::vector<std::pair<uint64_t, const WorldImage*>>> by_source;
    for (const WorldImage& image : images) by_source[image.source].emplace_back(path_hash("pick:" + image.path), &image);
    std::vector<WorldImage> out;
    for (auto& [source, list] : by_source) {
        std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        const size_t keep = std::min(list.size(), static_cast<size_t>(per_source));
        for (size_t i = 0; i < keep; ++i) out.push_back(*list[i].second);
    }
    return out;
}

std::vector<LoadedImage> load_world_images(const std::filesystem::path& folder, const std::vector<WorldImage>& images,
                                           const std::function<void(int64_t, int64_t)>& on_progress,
                                           const std::function<void(const std::string&)>& on_skip) {
    std::vector<LoadedImage> out;
    out.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        const WorldImage& meta = images[i];
        try {
            const std::filesystem::path path = folder / meta.path;
            std::ifstream in(path, std::ios::binary);
            if (!in) throw make_error("cannot read '", path.string(), "'");
            const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const data::RgbImage image = data::decode_image(bytes, path.string()).image;
            const int64_t side = std::min(image.width, image.height);
            if (side < kPatchSide) throw make_error("'", path.string(), "' is under ", kPatchSide, " px");
            data::RgbImage square(side, side);
            const int64_t x0 = (image.width - side) / 2, y0 = (image.height - side) / 2;
            for (int64_t y = 0; y < side; ++y) std::copy_n(image.at(x0, y0 + y), side * 3, square.at(0, y));
            const int64_t factor = std::max<int64_t>(1, side / (2 * kPatchWorkingSide));
            torch::Tensor tensor = torch::from_blob(square.pixels.data(), {side, side, 3}, torch::kUInt8);
            if (factor > 1) {
                const int64_t reduced = side / factor;
                tensor = tensor.narrow(0, 0, reduced * factor)
                             .narrow(1, 0, reduced * factor)
                             .to(torch::kFloat32)
                             .reshape({reduced, factor, reduced, factor, 3})
                             .mean({1, 3})
                             .round()
                             .to(torch::kUInt8);
            }
            out.push_back({meta, tensor.clone(), image.width, image.height});
        } catch (const Error& e) {
            if (on_skip) on_skip(e.what());
        }
        if (on_progress && ((i + 1) % 64 == 0 || i + 1 == images.size())) {
            on_progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(images.size()));
        }
    }
    return out;
}

int64_t jpeg_quantisation_sum(const std::string& jpeg) {
    for (size_t at = 2; at + 4 < jpeg.size();) {
        if (static_cast<unsigned char>(jpeg[at]) != 0xFF) return 0;
        const unsigned char marker = static_cast<unsigned char>(jpeg[at + 1]);
        const size_t length = (static_cast<unsigned char>(jpeg[at + 2]) << 8) | static_cast<unsigned char>(jpeg[at + 3]);
        if (marker == 0xDB) {
            const bool sixteen_bit = (static_cast<unsigned char>(jpeg[at + 4]) >> 4) != 0;
            int64_t sum = 0;
            for (size_t i = 0; i < 64 && at + 5 + i * (sixteen_bit ? 2 : 1) < jpeg.size(); ++i) {
                sum += static_cast<unsigned char>(jpeg[at + 5 + i * (sixteen_bit ? 2 : 1)]);
            }
            return sum;
        }
        if (marker == 0xDA) return 0;
        at += 2 + length;
    }
    return 0;
}

namespace {

/// The re-encoding after the source scale: crop, resize, JPEG, decode.
ReencodedImage crop_resize_jpeg(const torch::Tensor& square, core::RandomStream& stream,
                                const WildReencodeOptions& options) {
    const int64_t side = square.size(0);
    const double crop_share = options.min_crop + (1.0 - options.min_crop) * stream.next_uniform();
    const int64_t crop = std::max<int64_t>(kPatchSide, std::llround(side * crop_share));
    const int64_t x = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(side - crop + 1)));
    const int64_t y = static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(side - crop + 1)));
    const int64_t target =
        options.min_side + static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(options.max_side - options.min_side + 1)));
    const torch::Tensor cropped = resized(square.narrow(0, y, crop).narrow(1, x, crop), target);
    ReencodedImage out;
    out.quality = options.min_quality +
                  static_cast<int>(stream.next_below(static_cast<uint64_t>(options.max_quality - options.min_quality + 1)));
    data::RgbImage image(target, target);
    std::memcpy(image.pixels.data(), cropped.data_ptr<uint8_t>(), image.pixels.size());
    const std::string jpeg = data::encode_jpeg(image, out.quality);
    out.quantisation_sum = jpeg_quantisation_sum(jpeg);
    const data::RgbImage decoded = data::decode_image(jpeg, "re-encoded image").image;
    out.pixels = torch::from_blob(const_cast<uint8_t*>(decoded.pixels.data()), {decoded.height, decoded.width, 3},
                                  torch::kUInt8)
                     .clone();
    return out;
}

}  // namespace

ReencodedImage reencode_like_the_wild(const torch::Tensor& square, core::RandomStream& stream,
                                      const WildReencodeOptions& options) {
    TORCH_CHECK(square.dim() == 3 && square.size(0) == square.size(1) && square.size(2) == 3,
                "expected a square uint8 image [S, S, 3], got ", square.sizes());
    return crop_resize_jpeg(to_source_scale(square, stream, options), stream, options);
}

torch::Tensor to_source_scale(const torch::Tensor& square, core::RandomStream& stream, const WildReencodeOptions& options) {
    // Drawn for every image, reduced or not, so that both classes consume the stream alike.
    const int64_t span = std::max<int64_t>(0, options.source_max_side - options.source_min_side);
    const int64_t side = options.source_min_side + static_cast<int64_t>(stream.next_below(static_cast<uint64_t>(span + 1)));
    const int quality_span = std::max(0, options.source_max_quality - options.source_min_quality);
    const int quality = options.source_min_quality + static_cast<int>(stream.next_below(static_cast<uint64_t>(quality_span + 1)));
    if (options.source_max_side <= 0) return square;
    return jpeg_round_trip(square.size(0) > options.source_max_side ? resized(square, side) : square, quality);
}

}  // namespace facegen::detect
