#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace facegen::core {

/// One PNG text chunk. ASCII text is written as tEXt, anything else as UTF-8 iTXt;
/// `force_itxt` writes iTXt even for ASCII (XMP must be an uncompressed iTXt chunk).
struct PngText {
    std::string keyword;  // 1-79 Latin-1 characters, e.g. "Software", "XML:com.adobe.xmp"
    std::string text;
    bool force_itxt = false;
};

/// A decoded PNG: 8-bit samples, rows top to bottom, channels interleaved (HWC).
struct PngImage {
    int64_t width = 0;
    int64_t height = 0;
    int64_t channels = 0;  // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    std::vector<uint8_t> pixels;
    std::vector<PngText> texts;  // tEXt, zTXt and iTXt chunks in file order
};

/// True when this facegen was built with libpng.
bool png_supported();

/// Encodes an 8-bit image (HWC, `channels` 1-4) with text chunks as PNG file bytes.
/// Throws facegen::Error for a bad size or keyword.
std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels,
                       const std::vector<PngText>& texts = {});

/// Writes an 8-bit image (HWC, `channels` 1-4) with text chunks to `path` atomically
/// (core::write_atomically). Throws facegen::Error naming the path on failure.
void write_png(const std::filesystem::path& path, const uint8_t* pixels, int64_t width, int64_t height,
               int64_t channels, const std::vector<PngText>& texts = {});

/// Reads a PNG (any bit depth/colour type is expanded to 8-bit samples); throws
/// facegen::Error naming the path on failure.
PngImage read_png(const std::filesystem::path& path);

}  // namespace facegen::core
