#include "watermark_images.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/image_grid.h"
#include "core/random_stream.h"
#include "generate/session.h"
#include "model/model_file.h"

#ifdef FACEGEN_HAVE_DATA_TOOLS
#include "data/image_io.h"
#endif

namespace facegen::test {
namespace {

/// SplitMix64 (core::RandomStream): portable, so synthetic images are identical everywhere.
class Stream {
public:
    explicit Stream(uint64_t seed) : stream_(seed) {}
    double uniform() { return static_cast<double>(stream_.next_u64() >> 11) * 0x1.0p-53; }
    double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }

private:
    core::RandomStream stream_;
};

}  // namespace

Image8 synthetic_image(uint64_t seed, int64_t width, int64_t height) {
    Stream s(seed * 0x2545f4914f6cdd1dull + 1);
    const double w = static_cast<double>(width), h = static_cast<double>(height);
    double background[3], skin[3];
    for (double& v : background) v = s.between(40, 220);
    const double tone = s.between(0.35, 0.95);
    skin[0] = 90 + 150 * tone;
    skin[1] = 60 + 120 * tone;
    skin[2] = 45 + 100 * tone;
    const double gradient_x = s.between(-60, 60), gradient_y = s.between(-60, 60);
    const double cx = w * s.between(0.4, 0.6), cy = h * s.between(0.42, 0.58);
    const double rx = w * s.between(0.22, 0.32), ry = h * s.between(0.3, 0.4);
    struct Blob { double x, y, r, amount[3]; };
    std::vector<Blob> blobs;
    for (int i = 0; i < 14; ++i) {
        Blob b{w * s.uniform(), h * s.uniform(), w * s.between(0.03, 0.18), {}};
        const double dark = s.between(-70, 50);
        for (double& a : b.amount) a = dark + s.between(-15, 15);
        blobs.push_back(b);
    }
    Image8 image(width, height, 3);
    for (int64_t y = 0; y < height; ++y) {
        for (int64_t x = 0; x < width; ++x) {
            const double px = (x + 0.5), py = (y + 0.5);
            const double e = std::pow((px - cx) / rx, 2) + std::pow((py - cy) / ry, 2);
            const double face = 1 / (1 + std::exp((e - 1) * 12));  // soft-edged ellipse
            for (int c = 0; c < 3; ++c) {
                double v = background[c] + gradient_x * (px / w - 0.5) + gradient_y * (py / h - 0.5);
                v = (1 - face) * v + face * skin[c];
                for (const Blob& b : blobs) {
                    const double d2 = (std::pow(px - b.x, 2) + std::pow(py - b.y, 2)) / (b.r * b.r);
                    v += b.amount[c] * std::exp(-d2);
                }
                v += s.between(-3, 3);  // grain
                image.pixels[static_cast<size_t>((y * width + x) * 3 + c)] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
            }
        }
    }
    return image;
}

std::vector<Image8> generate_faces(const std::filesystem::path& model, const std::vector<uint32_t>& seeds, std::string* model_id) {
    generate::Session session(model);
    if (model_id != nullptr) *model_id = session.metadata().model_id;
    generate::Request request;
    request.seeds = seeds;
    std::vector<Image8> faces;
    for (const generate::GeneratedImage& generated : session.run(request)) {
        const torch::Tensor image = generated.pixels.contiguous();
        Image8 face(image.size(1), image.size(0), image.size(2));
        std::memcpy(face.pixels.data(), image.data_ptr<uint8_t>(), face.pixels.size());
        faces.push_back(std::move(face));
    }
    return faces;
}

bool photo_decoding_available() {
#ifdef FACEGEN_HAVE_DATA_TOOLS
    return true;
#else
    return false;
#endif
}

std::vector<std::filesystem::path> list_photos(const std::filesystem::path& folder) {
    std::vector<std::filesystem::path> photos;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
        if (!entry.is_regular_file()) continue;
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp") photos.push_back(entry.path());
    }
    std::sort(photos.begin(), photos.end());
    return photos;
}

Image8 load_photo(const std::filesystem::path& path) {
#ifdef FACEGEN_HAVE_DATA_TOOLS
    std::ifstream in(path, std::ios::binary);
    if (!in) throw make_error("read photo '", path.string(), "' failed: cannot open");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    const data::DecodedImage decoded = data::decode_image(bytes.str(), path.string());
    Image8 image(decoded.image.width, decoded.image.height, 3);
    image.pixels = decoded.image.pixels;
    return image;
#else
    throw make_error("read photo '", path.string(), "' failed: built without the dataset tools");
#endif
}

}  // namespace facegen::test
