#include "data/image_io.h"

#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>
#include <webp/decode.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/png_io.h"

namespace facegen::data {

std::string to_string(ImageFormat format) {
    switch (format) {
        case ImageFormat::kJPEG: return "jpeg";
        case ImageFormat::kPNG: return "png";
        case ImageFormat::kWebP: return "webp";
        case ImageFormat::kUnknown: break;
    }
    return "unknown";
}

ImageFormat sniff_image_format(const std::string& bytes) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    if (bytes.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::kJPEG;
    if (bytes.size() >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return ImageFormat::kPNG;
    if (bytes.size() >= 12 && std::memcmp(b, "RIFF", 4) == 0 && std::memcmp(b + 8, "WEBP", 4) == 0) {
        return ImageFormat::kWebP;
    }
    return ImageFormat::kUnknown;
}

namespace {

// libjpeg reports fatal errors through error_exit, which must not return: jump back to
// the decoder's setjmp point and turn it into an exception there.
struct JpegErrorManager {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
    auto* manager = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, manager->message);
    std::longjmp(manager->jump, 1);
}

void jpeg_silent_output(j_common_ptr) {}

int read_exif_orientation(const std::string& bytes) {
    ExifData* exif = exif_data_new_from_data(reinterpret_cast<const unsigned char*>(bytes.data()),
                                             static_cast<unsigned int>(bytes.size()));
    if (exif == nullptr) return 1;
    int orientation = 1;
    if (ExifEntry* entry = exif_data_get_entry(exif, EXIF_TAG_ORIENTATION)) {
        if (entry->format == EXIF_FORMAT_SHORT && entry->components >= 1) {
            orientation = exif_get_short(entry->data, exif_data_get_byte_order(exif));
        }
    }
    exif_data_unref(exif);
    return orientation >= 1 && orientation <= 8 ? orientation : 1;
}

// Decoding happens in a function without C++ objects that own memory across setjmp, so a
// longjmp never skips a destructor; the caller owns `pixels`.
bool decode_jpeg_raw(const std::string& bytes, std::vector<uint8_t>& pixels, int& width, int& height,
                     int& components, J_COLOR_SPACE& space, bool& adobe, char* error) {
    jpeg_decompress_struct cinfo;
    JpegErrorManager manager;
    cinfo.err = jpeg_std_error(&manager.base);
    manager.base.error_exit = jpeg_error_exit;
    manager.base.output_message = jpeg_silent_output;
    if (setjmp(manager.jump)) {
        std::strncpy(error, manager.message, JMSG_LENGTH_MAX);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    if (static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height > kMaxDecodedPixels) {
        std::snprintf(error, JMSG_LENGTH_MAX, "JPEG of %ux%u is too large (more than %llu pixels)", cinfo.image_width,
                      cinfo.image_height, static_cast<unsigned long long>(kMaxDecodedPixels));
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    space = cinfo.jpeg_color_space;
    adobe = cinfo.saw_Adobe_marker;
    if (space == JCS_CMYK || space == JCS_YCCK) {
        cinfo.out_color_space = JCS_CMYK;
    } else {
        cinfo.out_color_space = JCS_RGB;
    }
    jpeg_start_decompress(&cinfo);
    width = static_cast<int>(cinfo.output_width);
    height = static_cast<int>(cinfo.output_height);
    components = cinfo.output_components;
    pixels.resize(static_cast<size_t>(width) * height * components);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels.data() + static_cast<size_t>(cinfo.output_scanline) * width * components;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return true;
}

DecodedImage decode_jpeg(const std::string& bytes, const std::string& name) {
    std::vector<uint8_t> raw;
    int width = 0, height = 0, components = 0;
    J_COLOR_SPACE space = JCS_UNKNOWN;
    bool adobe = false;
    char error[JMSG_LENGTH_MAX] = {0};
    if (!decode_jpeg_raw(bytes, raw, width, height, components, space, adobe, error)) {
        const std::string reason = error;
        if (reason.find("too large") != std::string::npos) throw make_error("decode '", name, "' failed: ", reason);
        throw make_error("decode '", name, "' failed: broken JPEG (", reason, ")");
    }
    DecodedImage out;
    out.format = ImageFormat::kJPEG;
    RgbImage image(width, height);
    if (components == 4) {
        // Photoshop writes Adobe CMYK inverted (0 = full ink); plain CMYK is not.
        out.notes.push_back(space == JCS_YCCK ? "ycck" : "cmyk");
        for (size_t i = 0; i < static_cast<size_t>(width) * height; ++i) {
            int c = raw[i * 4], m = raw[i * 4 + 1], y = raw[i * 4 + 2], k = raw[i * 4 + 3];
            if (!adobe) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
            image.pixels[i * 3] = static_cast<uint8_t>((c * k + 127) / 255);
            image.pixels[i * 3 + 1] = static_cast<uint8_t>((m * k + 127) / 255);
            image.pixels[i * 3 + 2] = static_cast<uint8_t>((y * k + 127) / 255);
        }
    } else if (components == 3) {
        if (space == JCS_GRAYSCALE) out.notes.push_back("grayscale");
        image.pixels = std::move(raw);
    } else {
        throw make_error("decode '", name, "' failed: unsupported JPEG channel count ", components);
    }
    out.exif_orientation = read_exif_orientation(bytes);
    out.image = out.exif_orientation == 1 ? std::move(image) : apply_exif_orientation(image, out.exif_orientation);
    return out;
}

DecodedImage decode_png(const std::string& bytes, const std::string& name) {
    png_image png;
    std::memset(&png, 0, sizeof(png));
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
        throw make_error("decode '", name, "' failed: broken PNG (", png.message, ")");
    }
    DecodedImage out;
    out.format = ImageFormat::kPNG;
    if (png.format & PNG_FORMAT_FLAG_ALPHA) out.notes.push_back("alpha");
    if (png.format & PNG_FORMAT_FLAG_COLORMAP) out.notes.push_back("palette");
    if (!(png.format & PNG_FORMAT_FLAG_COLOR)) out.notes.push_back("grayscale");
    if (png.format & PNG_FORMAT_FLAG_LINEAR) out.notes.push_back("16-bit");
    if (static_cast<uint64_t>(png.width) * png.height > kMaxDecodedPixels) {
        png_image_free(&png);
        throw make_error("decode '", name, "' failed: PNG of ", png.width, "x", png.height, " is too large (more than ",
                         kMaxDecodedPixels, " pixels)");
    }
    png.format = PNG_FORMAT_RGB;
    RgbImage image(png.width, png.height);
    const png_color white{255, 255, 255};
    if (!png_image_finish_read(&png, &white, image.pixels.data(), 0, nullptr)) {
        const std::string message = png.message;
        png_image_free(&png);
        throw make_error("decode '", name, "' failed: broken PNG (", message, ")");
    }
    out.image = std::move(image);
    return out;
}

DecodedImage decode_webp(const std::string& bytes, const std::string& name) {
    int width = 0, height = 0;
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(data, bytes.size(), &features) != VP8_STATUS_OK) {
        throw make_error("decode '", name, "' failed: broken WebP header");
    }
    if (static_cast<uint64_t>(features.width) * static_cast<uint64_t>(features.height) > kMaxDecodedPixels) {
        throw make_error("decode '", name, "' failed: WebP of ", features.width, "x", features.height,
                         " is too large (more than ", kMaxDecodedPixels, " pixels)");
    }
    uint8_t* rgba = WebPDecodeRGBA(data, bytes.size(), &width, &height);
    if (rgba == nullptr) throw make_error("decode '", name, "' failed: broken WebP data");
    DecodedImage out;
    out.format = ImageFormat::kWebP;
    if (features.has_alpha) out.notes.push_back("alpha");
    RgbImage image(width, height);
    for (size_t i = 0; i < static_cast<size_t>(width) * height; ++i) {
        const int a = rgba[i * 4 + 3];
        for (int ch = 0; ch < 3; ++ch) {
            image.pixels[i * 3 + ch] = static_cast<uint8_t>((rgba[i * 4 + ch] * a + 255 * (255 - a) + 127) / 255);
        }
    }
    WebPFree(rgba);
    out.image = std::move(image);
    return out;
}

}  // namespace

RgbImage apply_exif_orientation(const RgbImage& image, int orientation) {
    if (orientation <= 1 || orientation > 8) return image;
    const bool transpose = orientation >= 5;
    RgbImage out(transpose ? image.height : image.width, transpose ? image.width : image.height);
    const int64_t w = image.width, h = image.height;
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            int64_t ox = x, oy = y;
            switch (orientation) {
                case 2: ox = w - 1 - x; break;                       // mirror horizontal
                case 3: ox = w - 1 - x; oy = h - 1 - y; break;       // rotate 180
                case 4: oy = h - 1 - y; break;                       // mirror vertical
                case 5: ox = y; oy = x; break;                       // transpose
                case 6: ox = h - 1 - y; oy = x; break;               // rotate 90 clockwise
                case 7: ox = h - 1 - y; oy = w - 1 - x; break;       // transverse
                case 8: ox = y; oy = w - 1 - x; break;               // rotate 90 counter-clockwise
                default: break;
            }
            std::memcpy(out.at(ox, oy), image.at(x, y), 3);
        }
    }
    return out;
}

DecodedImage decode_image(const std::string& bytes, const std::string& name) {
    switch (sniff_image_format(bytes)) {
        case ImageFormat::kJPEG: return decode_jpeg(bytes, name);
        case ImageFormat::kPNG: return decode_png(bytes, name);
        case ImageFormat::kWebP: return decode_webp(bytes, name);
        case ImageFormat::kUnknown: break;
    }
    throw make_error("decode '", name, "' failed: not an image (not JPEG, PNG or WebP)");
}

std::string encode_png(const RgbImage& image) {
    return core::encode_png(image.pixels.data(), image.width, image.height, /*channels=*/3);
}

std::string encode_jpeg(const RgbImage& image, int quality) {
    jpeg_compress_struct cinfo;
    jpeg_error_mgr error;
    cinfo.err = jpeg_std_error(&error);
    jpeg_create_compress(&cinfo);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = static_cast<JDIMENSION>(image.width);
    cinfo.image_height = static_cast<JDIMENSION>(image.height);
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<uint8_t*>(image.at(0, cinfo.next_scanline));
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::string out(reinterpret_cast<const char*>(buffer), size);
    std::free(buffer);
    return out;
}

}  // namespace facegen::data
