#include "anonymize/labelled_photo.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/error.h"
#include "provenance/labelled_png.h"

namespace facegen::anonymize {
namespace {

std::string segment(uint8_t marker, const std::string& payload) {
    if (payload.size() + 2 > 0xFFFF) throw make_error("JPEG segment of ", payload.size(), " bytes is over the 65533-byte limit");
    const size_t length = payload.size() + 2;
    std::string out = {'\xFF', static_cast<char>(marker), static_cast<char>(length >> 8), static_cast<char>(length & 0xFF)};
    return out + payload;
}

std::string description_from(const std::string& xmp) {
    // The dc:description text of make_xmp_packet (one language alternative).
    const std::string open = "<rdf:li xml:lang=\"x-default\">";
    const size_t begin = xmp.find(open);
    if (begin == std::string::npos) return {};
    const size_t end = xmp.find("</rdf:li>", begin);
    return xmp.substr(begin + open.size(), end - begin - open.size());
}

}  // namespace

PhotoFormat format_for_path(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".png") return PhotoFormat::kPNG;
    if (ext == ".jpg" || ext == ".jpeg") return PhotoFormat::kJPEG;
    throw make_error("output '", path.string(), "' has extension '", ext, "': expected .png, .jpg or .jpeg");
}

std::string insert_jpeg_xmp(const std::string& jpeg, const std::string& xmp_packet, const std::string& comment) {
    if (jpeg.size() < 4 || static_cast<uint8_t>(jpeg[0]) != 0xFF || static_cast<uint8_t>(jpeg[1]) != 0xD8) {
        throw make_error("cannot label JPEG bytes: no SOI marker");
    }
    // XMP in JPEG (XMP specification part 3, 1.1.3): APP1 with this namespace and a NUL first.
    std::string xmp_payload = "http://ns.adobe.com/xap/1.0/";
    xmp_payload.push_back('\0');
    xmp_payload += xmp_packet;
    return jpeg.substr(0, 2) + segment(0xE1, xmp_payload) + (comment.empty() ? "" : segment(0xFE, comment)) + jpeg.substr(2);
}

std::string encode_labelled_photo(const data::RgbImage& image, PhotoFormat format,
                                  const provenance::ImageProvenance& info, int jpeg_quality) {
    const torch::Tensor pixels =
        torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, torch::kUInt8);
    if (format == PhotoFormat::kPNG) return provenance::encode_labelled_png(pixels, info);
    data::RgbImage marked = image;
    if (info.watermark) {
        const torch::Tensor labelled = provenance::labelled_pixels(pixels, info).contiguous();
        std::memcpy(marked.pixels.data(), labelled.data_ptr<uint8_t>(), marked.pixels.size());
    }
    const std::string xmp = provenance::make_xmp_packet(info);
    return insert_jpeg_xmp(data::encode_jpeg(marked, jpeg_quality), xmp, description_from(xmp));
}

}  // namespace facegen::anonymize
