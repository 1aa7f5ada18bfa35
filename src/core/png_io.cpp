#include "core/png_io.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"

#ifdef FACEGEN_HAVE_PNG
#include <png.h>
#endif

namespace facegen::core {

#ifdef FACEGEN_HAVE_PNG
namespace {

// libpng reports errors by longjmp; these plain-C helpers keep every object with a
// destructor out of the setjmp scope and hand back the message instead.
struct PngErrorBuffer {
    char message[256] = {};
};

void on_png_error(png_structp png, png_const_charp message) {
    auto* buffer = static_cast<PngErrorBuffer*>(png_get_error_ptr(png));
    std::snprintf(buffer->message, sizeof(buffer->message), "%s", message);
    png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

bool is_ascii(const std::string& text) {
    for (unsigned char ch : text) {
        if (ch >= 0x80) return false;
    }
    return true;
}

void append_to_string(png_structp png, png_bytep data, png_size_t length) {
    static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), length);
}

void no_flush(png_structp) {}

bool encode_png_bytes(std::string* out, const uint8_t* pixels, int width, int height, int color_type,
                      size_t row_bytes, png_text* texts, int n_texts, PngErrorBuffer* error) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, on_png_error, on_png_warning);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, out, append_to_string, no_flush);
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (n_texts > 0) png_set_text(png, info, texts, n_texts);
    png_write_info(png, info);
    for (int y = 0; y < height; ++y) {
        png_write_row(png, const_cast<png_bytep>(pixels + static_cast<size_t>(y) * row_bytes));
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

struct RawRead {
    png_uint_32 width = 0, height = 0;
    int channels = 0;
};

bool read_png_file(FILE* file, RawRead* raw, std::vector<uint8_t>* pixels, std::vector<PngText>* texts,
                   PngErrorBuffer* error) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, on_png_error, on_png_warning);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        return false;
    }
    png_init_io(png, file);
    png_read_png(png, info, PNG_TRANSFORM_EXPAND | PNG_TRANSFORM_STRIP_16 | PNG_TRANSFORM_PACKING, nullptr);
    raw->width = png_get_image_width(png, info);
    raw->height = png_get_image_height(png, info);
    raw->channels = png_get_channels(png, info);
    png_bytepp rows = png_get_rows(png, info);
    const size_t row_bytes = static_cast<size_t>(raw->width) * static_cast<size_t>(raw->channels);
    pixels->resize(row_bytes * raw->height);
    for (png_uint_32 y = 0; y < raw->height; ++y) std::memcpy(pixels->data() + y * row_bytes, rows[y], row_bytes);
    png_textp text_chunks = nullptr;
    int n_texts = 0;
    png_get_text(png, info, &text_chunks, &n_texts);
    for (int i = 0; i < n_texts; ++i) {
        const size_t length = text_chunks[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text_chunks[i].itxt_length
                                                                                      : text_chunks[i].text_length;
        texts->push_back({text_chunks[i].key, std::string(text_chunks[i].text ? text_chunks[i].text : "", length),
                          text_chunks[i].compression >= PNG_ITXT_COMPRESSION_NONE});
    }
    png_destroy_read_struct(&png, &info, nullptr);
    return true;
}

}  // namespace

bool png_supported() { return true; }

std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels,
                       const std::vector<PngText>& texts) {
    if (width < 1 || height < 1 || width > 65535 || height > 65535 || channels < 1 || channels > 4) {
        throw make_error("encode PNG failed: bad image size ", width, "x", height, "x", channels);
    }
    static const int kColorTypes[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                      PNG_COLOR_TYPE_RGB_ALPHA};
    std::vector<png_text> chunks(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        const PngText& t = texts[i];
        if (t.keyword.empty() || t.keyword.size() > 79) {
            throw make_error("encode PNG failed: bad PNG text keyword '", t.keyword, "'");
        }
        std::memset(&chunks[i], 0, sizeof(png_text));
        const bool itxt = t.force_itxt || !is_ascii(t.text);
        chunks[i].compression = itxt ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
        chunks[i].key = const_cast<char*>(t.keyword.c_str());
        chunks[i].text = const_cast<char*>(t.text.c_str());
        if (itxt) {
            chunks[i].itxt_length = t.text.size();
            chunks[i].lang = const_cast<char*>("");
            chunks[i].lang_key = const_cast<char*>("");
        } else {
            chunks[i].text_length = t.text.size();
        }
    }
    std::string bytes;
    PngErrorBuffer error;
    if (!encode_png_bytes(&bytes, pixels, static_cast<int>(width), static_cast<int>(height), kColorTypes[channels - 1],
                          static_cast<size_t>(width * channels), chunks.data(), static_cast<int>(chunks.size()),
                          &error)) {
        throw make_error("encode PNG failed: libpng: ", error.message);
    }
    return bytes;
}

void write_png(const std::filesystem::path& path, const uint8_t* pixels, int64_t width, int64_t height,
               int64_t channels, const std::vector<PngText>& texts) {
    std::string bytes;
    try {
        bytes = encode_png(pixels, width, height, channels, texts);
    } catch (const Error& e) {
        throw make_error("write '", path.string(), "' failed: ", e.what());
    }
    write_file_atomically(path, bytes);
}

PngImage read_png(const std::filesystem::path& path) {
    FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) throw make_error("read image '", path.string(), "' failed: ", std::strerror(errno));
    unsigned char signature[8] = {};
    const bool is_png = std::fread(signature, 1, 8, file) == 8 && png_sig_cmp(signature, 0, 8) == 0;
    std::rewind(file);
    PngImage image;
    RawRead raw;
    PngErrorBuffer error;
    const bool ok = is_png && read_png_file(file, &raw, &image.pixels, &image.texts, &error);
    std::fclose(file);
    if (!is_png) throw make_error("read image '", path.string(), "' failed: not a PNG file");
    if (!ok) throw make_error("read image '", path.string(), "' failed: libpng: ", error.message);
    image.width = raw.width;
    image.height = raw.height;
    image.channels = raw.channels;
    return image;
}

#else  // built without libpng

bool png_supported() { return false; }

std::string encode_png(const uint8_t*, int64_t, int64_t, int64_t, const std::vector<PngText>&) {
    throw make_error("encode PNG failed: this facegen was built without libpng (install libpng-dev and rebuild)");
}

void write_png(const std::filesystem::path& path, const uint8_t*, int64_t, int64_t, int64_t,
               const std::vector<PngText>&) {
    throw make_error("write '", path.string(), "' failed: this facegen was built without libpng (install libpng-dev and rebuild)");
}

PngImage read_png(const std::filesystem::path& path) {
    throw make_error("read image '", path.string(), "' failed: this facegen was built without libpng");
}

#endif

}  // namespace facegen::core
