#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>
#include <webp/encode.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/build.h"
#include "data/dedup_split.h"
#include "data/face_align.h"
#include "data/image_io.h"
#include "data/labels.h"
#include "data/pack.h"
#include "data/sources.h"
#include "test_support.h"

namespace facegen::data {
namespace {

namespace fs = std::filesystem;

// A colourful test picture: red rises left to right, green top to bottom, blue is `seed`.
RgbImage gradient(int64_t w, int64_t h, int seed = 0) {
    RgbImage image(w, h);
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            uint8_t* p = image.at(x, y);
            p[0] = static_cast<uint8_t>(x * 255 / std::max<int64_t>(w - 1, 1));
            p[1] = static_cast<uint8_t>(y * 255 / std::max<int64_t>(h - 1, 1));
            p[2] = static_cast<uint8_t>(seed);
        }
    }
    return image;
}

RgbImage noise(int64_t w, int64_t h, unsigned seed) {
    std::mt19937 rng(seed);
    RgbImage image(w, h);
    // Blocky noise so a pHash (32x32 luma) sees structure.
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            std::mt19937 cell(seed * 1000003u + static_cast<unsigned>((y / 8) * 97 + x / 8));
            const auto v = static_cast<uint8_t>(cell() % 256);
            image.at(x, y)[0] = image.at(x, y)[1] = image.at(x, y)[2] = v;
        }
    }
    (void)rng;
    return image;
}

std::string exif_orientation_block(int orientation) {
    ExifData* exif = exif_data_new();
    exif_data_set_byte_order(exif, EXIF_BYTE_ORDER_INTEL);
    ExifEntry* entry = exif_entry_new();
    exif_content_add_entry(exif->ifd[EXIF_IFD_0], entry);
    exif_entry_initialize(entry, EXIF_TAG_ORIENTATION);
    exif_set_short(entry->data, EXIF_BYTE_ORDER_INTEL, static_cast<ExifShort>(orientation));
    unsigned char* data = nullptr;
    unsigned int size = 0;
    exif_data_save_data(exif, &data, &size);
    std::string out(reinterpret_cast<char*>(data), size);
    std::free(data);
    exif_entry_unref(entry);
    exif_data_unref(exif);
    return out;
}

// JPEG writer for exotic inputs: `components` 1 (grayscale), 3 (RGB) or 4 (CMYK, Adobe-inverted).
std::string write_jpeg(const std::vector<uint8_t>& pixels, int w, int h, int components, const std::string& app1 = "") {
    jpeg_compress_struct cinfo;
    jpeg_error_mgr error;
    cinfo.err = jpeg_std_error(&error);
    jpeg_create_compress(&cinfo);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = static_cast<JDIMENSION>(w);
    cinfo.image_height = static_cast<JDIMENSION>(h);
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 98, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    if (!app1.empty()) {
        jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(app1.data()), static_cast<unsigned>(app1.size()));
    }
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + static_cast<size_t>(cinfo.next_scanline) * w * components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::string out(reinterpret_cast<char*>(buffer), size);
    std::free(buffer);
    return out;
}

std::string write_png(const void* pixels, int w, int h, png_uint_32 format, const void* colormap = nullptr, int n_colors = 0) {
    png_image png;
    std::memset(&png, 0, sizeof(png));
    png.version = PNG_IMAGE_VERSION;
    png.width = static_cast<png_uint_32>(w);
    png.height = static_cast<png_uint_32>(h);
    png.format = format;
    png.colormap_entries = static_cast<png_uint_32>(n_colors);
    png_alloc_size_t size = 0;
    EXPECT_TRUE(png_image_write_to_memory(&png, nullptr, &size, 0, pixels, 0, colormap));
    std::string out(size, '\0');
    EXPECT_TRUE(png_image_write_to_memory(&png, out.data(), &size, 0, pixels, 0, colormap));
    out.resize(size);
    return out;
}

void write_file(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void write_archive(const fs::path& path, bool zip, const std::vector<std::pair<std::string, std::string>>& files) {
    archive* a = archive_write_new();
    if (zip) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
    }
    ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
    for (const auto& [name, bytes] : files) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, name.c_str());
        archive_entry_set_size(entry, static_cast<la_int64_t>(bytes.size()));
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_write_header(a, entry);
        archive_write_data(a, bytes.data(), bytes.size());
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
}

std::vector<Point2> landmarks_with(Point2 eye_left, Point2 eye_right, Point2 mouth_left, Point2 mouth_right) {
    std::vector<Point2> lm(68, Point2{0, 0});
    for (int i = 36; i < 42; ++i) lm[static_cast<size_t>(i)] = eye_left;
    for (int i = 42; i < 48; ++i) lm[static_cast<size_t>(i)] = eye_right;
    lm[48] = mouth_left;
    lm[54] = mouth_right;
    return lm;
}

Point2 transform(Point2 p, double angle_deg, double scale, Point2 shift) {
    const double a = angle_deg * M_PI / 180.0;
    return {scale * (std::cos(a) * p.x - std::sin(a) * p.y) + shift.x, scale * (std::sin(a) * p.x + std::cos(a) * p.y) + shift.y};
}

class DataToolsTest : public ::testing::Test {
protected:
    void SetUp() override {}
    test::TempDir tmp_;
};

TEST_F(DataToolsTest, DecodesGrayscaleJpegToRgb) {
    std::vector<uint8_t> gray(16 * 8, 200);
    const DecodedImage d = decode_image(write_jpeg(gray, 16, 8, 1), "g.jpg");
    EXPECT_EQ(d.image.width, 16);
    EXPECT_NEAR(d.image.at(3, 3)[0], 200, 2);
    EXPECT_EQ(d.image.at(3, 3)[0], d.image.at(3, 3)[2]);
    EXPECT_EQ(d.notes, std::vector<std::string>{"grayscale"});
}

TEST_F(DataToolsTest, DecodesCmykJpeg) {
    // libjpeg marks CMYK files with an Adobe segment, whose convention is inverted ink
    // (0 = full): this is pure cyan without black, as Photoshop would store it.
    std::vector<uint8_t> cmyk;
    for (int i = 0; i < 16 * 16; ++i) cmyk.insert(cmyk.end(), {0, 255, 255, 255});
    const DecodedImage d = decode_image(write_jpeg(cmyk, 16, 16, 4), "c.jpg");
    EXPECT_EQ(d.notes, std::vector<std::string>{"cmyk"});
    EXPECT_NEAR(d.image.at(8, 8)[0], 0, 3);    // cyan ink absorbs red
    EXPECT_NEAR(d.image.at(8, 8)[1], 255, 3);
    EXPECT_NEAR(d.image.at(8, 8)[2], 255, 3);
}

TEST_F(DataToolsTest, AppliesExifOrientation) {
    // 4 wide x 2 high, left half black, right half white; orientation 6 = rotate 90 clockwise.
    std::vector<uint8_t> rgb;
    for (int y = 0; y < 2; ++y) {
        for (int x = 0; x < 32; ++x) rgb.insert(rgb.end(), 3, static_cast<uint8_t>(x < 16 ? 0 : 255));
    }
    const DecodedImage d = decode_image(write_jpeg(rgb, 32, 2, 3, exif_orientation_block(6)), "r.jpg");
    EXPECT_EQ(d.exif_orientation, 6);
    ASSERT_EQ(d.image.width, 2);
    ASSERT_EQ(d.image.height, 32);
    EXPECT_LT(d.image.at(0, 2)[0], 40);     // the left (black) half is now on top
    EXPECT_GT(d.image.at(1, 29)[0], 215);   // the white half at the bottom
}

TEST_F(DataToolsTest, Decodes16BitAlphaAndPalettePng) {
    std::vector<uint16_t> deep = {0, 0, 0, 65535, 65535, 65535};
    const DecodedImage d16 = decode_image(write_png(deep.data(), 2, 1, PNG_FORMAT_LINEAR_RGB), "d.png");
    EXPECT_EQ(d16.image.at(0, 0)[0], 0);
    EXPECT_EQ(d16.image.at(1, 0)[1], 255);
    EXPECT_NE(std::find(d16.notes.begin(), d16.notes.end(), "16-bit"), d16.notes.end());

    std::vector<uint8_t> rgba = {255, 0, 0, 255, 255, 0, 0, 0};  // opaque red, transparent red
    const DecodedImage da = decode_image(write_png(rgba.data(), 2, 1, PNG_FORMAT_RGBA), "a.png");
    EXPECT_EQ(da.image.at(0, 0)[1], 0);
    EXPECT_EQ(da.image.at(1, 0)[1], 255);  // composited on white

    const uint8_t colormap[] = {0, 0, 255, 0, 255, 0};
    const uint8_t indices[] = {1, 0, 0, 1};
    const DecodedImage dp = decode_image(write_png(indices, 2, 2, PNG_FORMAT_RGB_COLORMAP, colormap, 2), "p.png");
    EXPECT_EQ(dp.image.at(0, 0)[1], 255);
    EXPECT_EQ(dp.image.at(1, 0)[2], 255);
}

TEST_F(DataToolsTest, DecodesWebp) {
    const RgbImage image = gradient(9, 5, 77);
    uint8_t* out = nullptr;
    const size_t size = WebPEncodeLosslessRGB(image.pixels.data(), 9, 5, 27, &out);
    const std::string bytes(reinterpret_cast<char*>(out), size);
    WebPFree(out);
    const DecodedImage d = decode_image(bytes, "w.webp");
    EXPECT_EQ(d.format, ImageFormat::kWebP);
    EXPECT_EQ(d.image.pixels, image.pixels);
}

TEST_F(DataToolsTest, BrokenFilesAndNonImagesThrowWithReason) {
    std::string jpeg = encode_jpeg(gradient(32, 32));
    jpeg.resize(jpeg.size() / 3);
    jpeg[200] = '\x00';
    auto reason = [](const std::string& bytes) {
        try {
            decode_image(bytes, "x");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    // A truncated JPEG decodes with a warning in libjpeg (grey fill); a garbled header does not.
    EXPECT_NE(reason(std::string("\xFF\xD8\xFF\xE0garbage", 11)).find("broken JPEG"), std::string::npos);
    EXPECT_NE(reason("hello, world").find("not an image"), std::string::npos);
    EXPECT_NE(reason(std::string("\x89PNG\r\n\x1a\n\0\0", 10)).find("broken PNG"), std::string::npos);
    EXPECT_NE(reason("RIFF\x10\0\0\0WEBPVP8 ").find("WebP"), std::string::npos);
}

TEST_F(DataToolsTest, WalksFoldersZipAndTarInOrder) {
    fs::create_directories(tmp_ / "in" / "sub");
    write_file(tmp_ / "in" / "b.png", encode_png(gradient(4, 4)));
    write_file(tmp_ / "in" / "sub" / "a.png", encode_png(gradient(4, 4)));
    write_archive(tmp_ / "in" / "c.zip", true, {{"x/1.png", encode_png(gradient(4, 4))}, {"2.txt", "text"}});
    write_archive(tmp_ / "in" / "d.tar", false, {{"3.jpg", encode_jpeg(gradient(8, 8))}});
    SourceWalker walker({tmp_ / "in"});
    std::vector<std::string> seen;
    SourceItem item;
    std::string error;
    while (walker.next(item, error)) {
        EXPECT_TRUE(error.empty()) << error;
        seen.push_back(item.member.empty() ? fs::path(item.path).filename().string() : item.member);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"b.png", "x/1.png", "2.txt", "3.jpg", "a.png"}));
}

TEST_F(DataToolsTest, ParsesUTKFaceNames) {
    auto n = parse_utkface_name("26_1_2_20170116174525125.jpg.chip.jpg");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->age, 26);
    EXPECT_EQ(n->gender, 1);
    EXPECT_EQ(n->race, 2);
    n = parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg");  // no race field
    ASSERT_TRUE(n);
    EXPECT_EQ(n->race, kUnknownLabel);
    EXPECT_TRUE(parse_utkface_name("55_0_0_20170116232725357jpg.chip.jpg"));  // damaged names in the set
    EXPECT_TRUE(parse_utkface_name("24_0_1_20170116220224657 .jpg.chip.jpg"));
    EXPECT_FALSE(parse_utkface_name("abc_1_2_20170116174525125.jpg"));
    EXPECT_FALSE(parse_utkface_name("26_3_2_20170116174525125.jpg"));  // gender 3
    EXPECT_FALSE(parse_utkface_name("26_1_2.jpg"));
    EXPECT_FALSE(parse_utkface_name("000002.jpg"));
}

TEST_F(DataToolsTest, ReadsCelebAAttributeAndIdentityFiles) {
    write_file(tmp_ / "attr.txt", "2\nSmiling Male\n000001.jpg  1 -1\n000002.jpg -1  1\n");
    write_file(tmp_ / "id.txt", "000001.jpg 17\n000002.jpg 4\n");
    const auto labels = make_celeba_labels(tmp_ / "attr.txt", tmp_ / "id.txt");
    ASSERT_EQ(labels->columns().size(), 3u);
    EXPECT_EQ(labels->columns()[2].name, "identity");
    EXPECT_EQ(*labels->lookup("000001.jpg", ""), (std::vector<int64_t>{1, 0, 17}));
    EXPECT_EQ(*labels->lookup("000002.jpg", ""), (std::vector<int64_t>{0, 1, 4}));
    EXPECT_FALSE(labels->lookup("000003.jpg", ""));
    write_file(tmp_ / "bad.txt", "1\nSmiling Male\n000001.jpg 1 2\n");
    try {
        make_celeba_labels(tmp_ / "bad.txt", {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
}

TEST_F(DataToolsTest, ReadsCsvAndJsonSidecars) {
    write_file(tmp_ / "l.csv", "file,age,mood\na.jpg,31,happy\nsub/b.jpg,,sad\n");
    const auto csv = make_csv_labels(tmp_ / "l.csv");
    EXPECT_EQ(csv->columns()[1].classes, (std::vector<std::string>{"happy", "sad"}));
    EXPECT_EQ(*csv->lookup("a.jpg", ""), (std::vector<int64_t>{31, 0}));
    EXPECT_EQ(*csv->lookup("b.jpg", ""), (std::vector<int64_t>{kUnknownLabel, 1}));
    write_file(tmp_ / "l.json", R"({"a.jpg": {"smile": true, "age": 4}, "c.jpg": {"age": 9}})");
    const auto json = make_json_labels(tmp_ / "l.json");
    EXPECT_EQ(*json->lookup("a.jpg", ""), (std::vector<int64_t>{4, 1}));
    EXPECT_EQ(*json->lookup("c.jpg", ""), (std::vector<int64_t>{9, kUnknownLabel}));
    write_file(tmp_ / "bad.csv", "name,age\na.jpg,3\n");
    EXPECT_THROW(make_csv_labels(tmp_ / "bad.csv"), Error);
    EXPECT_THROW(parse_label_spec("xml:foo"), Error);
}

TEST_F(DataToolsTest, PerceptualHashMatchesNearDuplicatesOnly) {
    auto chw = [](const RgbImage& image) {
        std::vector<uint8_t> out(image.pixels.size());
        const size_t plane = image.pixels.size() / 3;
        for (size_t i = 0; i < plane; ++i) {
            for (size_t c = 0; c < 3; ++c) out[c * plane + i] = image.pixels[i * 3 + c];
        }
        return out;
    };
    const RgbImage a = noise(64, 64, 1);
    const RgbImage a_jpeg = decode_image(encode_jpeg(a, 70), "a").image;
    RgbImage a_bright = a;
    for (auto& v : a_bright.pixels) v = static_cast<uint8_t>(std::min(255, v + 10));
    const RgbImage b = noise(64, 64, 2);
    const uint64_t ha = perceptual_hash(chw(a).data(), 3, 64);
    EXPECT_LE(hamming_distance(ha, perceptual_hash(chw(a_jpeg).data(), 3, 64)), 4);
    EXPECT_LE(hamming_distance(ha, perceptual_hash(chw(a_bright).data(), 3, 64)), 4);
    EXPECT_GT(hamming_distance(ha, perceptual_hash(chw(b).data(), 3, 64)), 12);
    DuplicateFinder finder(4);
    EXPECT_FALSE(finder.check_and_add(ha, 0));
    ASSERT_TRUE(finder.check_and_add(perceptual_hash(chw(a_jpeg).data(), 3, 64), 1));
}

TEST_F(DataToolsTest, SplitKeepsEachIdentityOnOneSideAndIsSeeded) {
    std::vector<int64_t> identities;
    for (int64_t i = 0; i < 200; ++i) identities.push_back(i % 23);
    const auto split = make_split(200, identities, 0.2, 5);
    EXPECT_EQ(split, make_split(200, identities, 0.2, 5));
    EXPECT_NE(split, make_split(200, identities, 0.2, 6));
    std::map<int64_t, std::set<Split>> sides;
    int64_t n_val = 0;
    for (size_t i = 0; i < split.size(); ++i) {
        sides[identities[i]].insert(split[i]);
        n_val += split[i] == Split::kVal;
    }
    for (const auto& [id, s] : sides) EXPECT_EQ(s.size(), 1u) << "identity " << id << " in both splits";
    EXPECT_GE(n_val, 40);
    EXPECT_LT(n_val, 40 + 10);
    const auto plain = make_split(100, {}, 0.05, 0);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), Split::kVal), 5);
}

TEST_F(DataToolsTest, FFHQQuadMatchesHandComputedValues) {
    // Eyes 40 px apart, mouth 40 px below their midpoint: x = (40,0) + (40,0) -> unit (1,0),
    // scaled by max(2 * 40, 1.8 * 40) = 80; centre = eye_avg + 0.1 * (0, 40).
    const FFHQQuad q = ffhq_quad(landmarks_with({80, 100}, {120, 100}, {90, 140}, {110, 140}));
    EXPECT_DOUBLE_EQ(q.x.x, 80);
    EXPECT_NEAR(q.x.y, 0, 1e-12);
    EXPECT_DOUBLE_EQ(q.y.y, 80);
    EXPECT_DOUBLE_EQ(q.center.y, 104);
    EXPECT_DOUBLE_EQ(q.qsize, 160);
    EXPECT_DOUBLE_EQ(q.corners[0].x, 20);   // upper-left = c - x - y
    EXPECT_DOUBLE_EQ(q.corners[0].y, 24);
    const Point2 eye = ffhq_project(q, q.eye_left, 64);
    EXPECT_NEAR(eye.x, 64 * (80.0 - 20) / 160 - 0.5, 1e-9);
    EXPECT_NEAR(eye.y, 64 * (100.0 - 24) / 160 - 0.5, 1e-9);
}

TEST_F(DataToolsTest, RotatedAndScaledFacesMapEyesToTheSameCanonicalSpot) {
    const auto base = landmarks_with({80, 100}, {120, 100}, {90, 140}, {110, 140});
    const FFHQQuad q0 = ffhq_quad(base);
    for (const double angle : {-35.0, 12.0, 90.0}) {
        for (const double scale : {0.5, 3.0}) {
            std::vector<Point2> moved;
            for (const auto& p : base) moved.push_back(transform(p, angle, scale, {300, 200}));
            const FFHQQuad q = ffhq_quad(moved);
            for (const auto& [a, b] : {std::make_pair(q0.eye_left, q.eye_left), std::make_pair(q0.eye_right, q.eye_right),
                                       std::make_pair(q0.mouth_avg, q.mouth_avg)}) {
                const Point2 pa = ffhq_project(q0, a, 256), pb = ffhq_project(q, b, 256);
                EXPECT_NEAR(pa.x, pb.x, 1e-6) << "angle " << angle << " scale " << scale;
                EXPECT_NEAR(pa.y, pb.y, 1e-6) << "angle " << angle << " scale " << scale;
            }
        }
    }
}

TEST_F(DataToolsTest, FFHQCropPutsARotatedEyeWhereTheMathSays) {
    // A grey photo with one white dot at the (rotated) left eye; the crop must show the dot
    // at the canonical left-eye position, and the part of the square outside the photo is padding.
    const auto base = landmarks_with({80, 100}, {120, 100}, {90, 140}, {110, 140});
    std::vector<Point2> lm;
    for (const auto& p : base) lm.push_back(transform(p, 25, 2.0, {157, -23}));  // square centred in the photo
    RgbImage photo(500, 500);
    std::fill(photo.pixels.begin(), photo.pixels.end(), 60);
    const Point2 eye = lm[36];
    for (int64_t y = -4; y <= 4; ++y) {
        for (int64_t x = -4; x <= 4; ++x) {
            uint8_t* p = photo.at(static_cast<int64_t>(std::lround(eye.x)) + x, static_cast<int64_t>(std::lround(eye.y)) + y);
            p[0] = p[1] = p[2] = 255;
        }
    }
    const FFHQQuad q = ffhq_quad(lm);
    CropReport report;
    const RgbImage out = ffhq_crop(photo, q, 64, &report);
    int64_t best_x = 0, best_y = 0, best = -1;
    for (int64_t y = 0; y < 64; ++y) {
        for (int64_t x = 0; x < 64; ++x) {
            if (out.at(x, y)[0] > best) best = out.at(x, y)[0], best_x = x, best_y = y;
        }
    }
    const Point2 expected = ffhq_project(q, eye, 64);
    EXPECT_GT(best, 150);
    EXPECT_NEAR(static_cast<double>(best_x), expected.x, 1.5);
    EXPECT_NEAR(static_cast<double>(best_y), expected.y, 1.5);
    EXPECT_NEAR(report.source_scale, 320.0 / 64, 1e-9);
    EXPECT_EQ(report.pad_fraction, 0);  // the square lies inside the photo
}

TEST_F(DataToolsTest, CropScaleMovesCanonicalPointsOutwardByItsInverse) {
    // Same face as FFHQQuadMatchesHandComputedValues: at scale 0.5 the half-axes are 40 px,
    // so the square spans (60, 64)-(140, 144) around the unchanged centre (100, 104).
    const auto lm = landmarks_with({80, 100}, {120, 100}, {90, 140}, {110, 140});
    const FFHQQuad q1 = ffhq_quad(lm), q_default = ffhq_quad(lm, 1.0), q_half = ffhq_quad(lm, 0.5);
    for (size_t k = 0; k < 4; ++k) {
        EXPECT_EQ(q_default.corners[k].x, q1.corners[k].x);
        EXPECT_EQ(q_default.corners[k].y, q1.corners[k].y);
    }
    EXPECT_DOUBLE_EQ(q_half.qsize, 80);
    EXPECT_DOUBLE_EQ(q_half.center.x, 100);
    EXPECT_DOUBLE_EQ(q_half.center.y, 104);
    EXPECT_DOUBLE_EQ(q_half.corners[0].x, 60);
    EXPECT_DOUBLE_EQ(q_half.corners[0].y, 64);
    // Left eye (80, 100): at scale 1 it sits at (0.375, 0.475) of the side, at 0.5 at
    // (0.25, 0.45); its offset from the crop centre (0.5, 0.5) doubles.
    const Point2 eye1 = ffhq_project(q1, q1.eye_left, 64), eye_half = ffhq_project(q_half, q_half.eye_left, 64);
    EXPECT_NEAR(eye_half.x, 64 * 0.25 - 0.5, 1e-9);
    EXPECT_NEAR(eye_half.y, 64 * 0.45 - 0.5, 1e-9);
    EXPECT_NEAR(eye_half.x + 0.5 - 32, 2 * (eye1.x + 0.5 - 32), 1e-9);
    EXPECT_NEAR(eye_half.y + 0.5 - 32, 2 * (eye1.y + 0.5 - 32), 1e-9);
    const Point2 mouth1 = ffhq_project(q1, q1.mouth_avg, 64), mouth_half = ffhq_project(q_half, q_half.mouth_avg, 64);
    EXPECT_NEAR(mouth_half.y + 0.5 - 32, 2 * (mouth1.y + 0.5 - 32), 1e-9);
}

TEST_F(DataToolsTest, TighterCropScaleNeedsLessPadding) {
    // In a 170x170 photo the scale-1 square (20, 24)-(180, 184) pokes out by 10 px right and
    // 14 px below: the synthesised share is 1 - (150/160) * (146/160) = 0.1445. The
    // scale-0.5 square (60, 64)-(140, 144) lies inside the photo.
    const auto lm = landmarks_with({80, 100}, {120, 100}, {90, 140}, {110, 140});
    const RgbImage photo = noise(170, 170, 3);
    CropReport full, half;
    ffhq_crop(photo, ffhq_quad(lm), 64, &full);
    const RgbImage tight = ffhq_crop(photo, ffhq_quad(lm, 0.5), 64, &half);
    EXPECT_NEAR(full.pad_fraction, 1 - (150.0 / 160) * (146.0 / 160), 0.02);
    EXPECT_EQ(half.pad_fraction, 0);
    EXPECT_NEAR(half.source_scale, 80.0 / 64, 1e-9);
    // Output pixel (0, 0) of the tight crop is the photo around source (60.6, 64.6).
    EXPECT_NEAR(tight.at(0, 0)[0], photo.at(60, 64)[0], 2);
}

TEST_F(DataToolsTest, BadCropScaleNamesTheOption) {
    BuildOptions options;
    options.inputs = {tmp_.path()};
    options.out = tmp_ / "x";
    options.crop_scale = 0.3;
    try {
        options.validate();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("crop scale 0.3"), std::string::npos) << e.what();
    }
    options.crop_scale = 0.8;
    options.align = AlignMode::kCenterCrop;
    EXPECT_THROW(options.validate(), Error);  // framing applies to ffhq only
}

// A tiny ffhq-style dataset written directly: three photos (two files, one zip member) with
// known landmarks in their provenance, labels and a split, as `dataset build` would store them.
struct TinyAlignedSet {
    std::vector<RgbImage> photos;
    std::vector<std::vector<Point2>> landmarks;
};

TinyAlignedSet write_tiny_aligned_set(const fs::path& root, const fs::path& dataset) {
    TinyAlignedSet set;
    fs::create_directories(root / "photos");
    PackWriter writer(dataset, /*resolution=*/16, /*channels=*/3);
    const auto base = landmarks_with({80, 100}, {120, 100}, {90, 140}, {110, 140});
    for (int i = 0; i < 3; ++i) {
        set.photos.push_back(noise(180 + 10 * i, 170, static_cast<unsigned>(40 + i)));
        std::vector<Point2> lm;
        for (const auto& p : base) lm.push_back(transform(p, 10.0 * i - 10, 0.9, {5.0 * i, 3}));
        set.landmarks.push_back(lm);
        nlohmann::json record = {{"source_size", {set.photos.back().width, set.photos.back().height}}, {"format", "png"}};
        if (i == 2) {
            write_archive(root / "photos" / "more.zip", true, {{"c.png", encode_png(set.photos.back())}});
            record["source"] = (root / "photos" / "more.zip").string();
            record["member"] = "c.png";
        } else {
            const fs::path file = root / "photos" / ("p" + std::to_string(i) + ".png");
            write_file(file, encode_png(set.photos.back()));
            record["source"] = file.string();
        }
        nlohmann::json points = nlohmann::json::array();
        for (const auto& p : lm) points.push_back({p.x, p.y});
        record["landmarks"] = points;
        record["quality"] = {{"roll_deg", 10.0 * i - 10}, {"pad_fraction", 0.5}};
        const std::vector<uint8_t> blank(3 * 16 * 16, 0);
        writer.append(blank.data(), record);
    }
    PackIndex index;
    index.label_columns = {{"kind", {"a", "b"}}};
    index.labels = {{1}, {0}, {kUnknownLabel}};
    index.splits = {Split::kTrain, Split::kVal, Split::kTrain};
    index.build = {{"labels", "csv"}, {"params", {{"resolution", 16}, {"align", "ffhq"}}}};
    writer.commit(index);
    return set;
}

TEST_F(DataToolsTest, RealignRecropsFromStoredLandmarksKeepingLabelsSplitAndProvenance) {
    const TinyAlignedSet set = write_tiny_aligned_set(tmp_.path(), tmp_ / "src");
    RealignOptions options;
    options.source = tmp_ / "src";
    options.out = tmp_ / "tight";
    options.resolution = 32;
    options.crop_scale = 0.7;
    const BuildReport report = realign_dataset(options);
    EXPECT_EQ(report.n_images, 3);
    EXPECT_EQ(report.n_train, 2);
    const PackedDataset source(tmp_ / "src"), realigned(tmp_ / "tight");
    ASSERT_EQ(realigned.size(), 3);
    EXPECT_EQ(realigned.resolution(), 32);
    EXPECT_EQ(realigned.index().labels, source.index().labels);
    EXPECT_EQ(realigned.index().splits, source.index().splits);
    EXPECT_EQ(realigned.index().label_columns[0].classes, source.index().label_columns[0].classes);
    const auto provenance = realigned.read_provenance();
    double pad_sum = 0;
    for (int64_t i = 0; i < 3; ++i) {
        CropReport crop;
        const RgbImage expected = ffhq_crop(set.photos[static_cast<size_t>(i)],
                                            ffhq_quad(set.landmarks[static_cast<size_t>(i)], 0.7), 32, &crop);
        const uint8_t* chw = realigned.image(i);
        int64_t n_diff = 0;
        for (int64_t p = 0; p < 32 * 32; ++p) {
            for (int64_t c = 0; c < 3; ++c) n_diff += chw[c * 32 * 32 + p] != expected.pixels[static_cast<size_t>(p * 3 + c)];
        }
        EXPECT_EQ(n_diff, 0) << "image " << i;
        const auto& record = provenance[static_cast<size_t>(i)];
        EXPECT_EQ(record["quality"]["crop_scale"], 0.7);
        EXPECT_NEAR(record["quality"]["pad_fraction"].get<double>(), crop.pad_fraction, 1e-4);
        EXPECT_EQ(record["quality"]["roll_deg"], 10.0 * static_cast<double>(i) - 10);  // carried over
        EXPECT_TRUE(record.contains("phash"));
        pad_sum += crop.pad_fraction;
    }
    EXPECT_EQ(provenance[2]["member"], "c.png");
    EXPECT_NEAR(report.mean_pad_fraction, pad_sum / 3, 1e-12);
    const nlohmann::json& build = realigned.index().build;
    EXPECT_EQ(build["params"]["crop_scale"], 0.7);
    EXPECT_EQ(build["params"]["resolution"], 32);
    EXPECT_EQ(build["realigned_from"]["resolution"], 16);
    EXPECT_EQ(build["realigned_from"]["path"], fs::absolute(tmp_ / "src").string());
}

TEST_F(DataToolsTest, DerivedDatasetsKeepTheSourceLicence) {
    // Training writes a dataset's licence into the model file; realign and resize must not lose it.
    write_tiny_aligned_set(tmp_.path(), tmp_ / "src");
    write_file(tmp_ / "src" / "LICENSE", "non-commercial research only");
    RealignOptions options;
    options.source = tmp_ / "src";
    options.out = tmp_ / "tight";
    options.resolution = 32;
    options.crop_scale = 0.7;
    realign_dataset(options);
    EXPECT_EQ(PackedDataset(tmp_ / "tight").license(), "non-commercial research only");
    resize_dataset(tmp_ / "tight", tmp_ / "small", 16, /*overwrite=*/false);
    EXPECT_EQ(PackedDataset(tmp_ / "small").license(), "non-commercial research only");
}

TEST_F(DataToolsTest, RealignNamesAMissingSourceBeforeWriting) {
    write_tiny_aligned_set(tmp_.path(), tmp_ / "src");
    fs::remove(tmp_ / "photos" / "p1.png");
    RealignOptions options;
    options.source = tmp_ / "src";
    options.out = tmp_ / "out";
    try {
        realign_dataset(options);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find((tmp_ / "photos" / "p1.png").string()), std::string::npos) << message;
        EXPECT_NE(message.find("not found"), std::string::npos) << message;
        EXPECT_NE(message.find("1 of 3"), std::string::npos) << message;
    }
    EXPECT_FALSE(fs::exists(tmp_ / "out"));
}

TEST_F(DataToolsTest, RealignRefusesDatasetsWithoutLandmarks) {
    fs::create_directories(tmp_ / "in");
    write_file(tmp_ / "in" / "a.png", encode_png(noise(40, 40, 1)));
    BuildOptions build;
    build.inputs = {tmp_ / "in"};
    build.out = tmp_ / "cc";
    build.resolution = 16;
    build.align = AlignMode::kCenterCrop;
    build.val_fraction = 0;
    build_dataset(build);
    RealignOptions options;
    options.source = tmp_ / "cc";
    options.out = tmp_ / "out";
    try {
        realign_dataset(options);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("ffhq alignment"), std::string::npos) << e.what();
    }
    options.out = tmp_ / "cc";
    EXPECT_THROW(options.validate(), Error);  // never realigns a dataset onto itself
}

TEST_F(DataToolsTest, BuildSkipsBrokenFilesDedupsAndSplits) {
    const fs::path in = tmp_ / "photos";
    fs::create_directories(in);
    for (unsigned i = 0; i < 4; ++i) write_file(in / ("img" + std::to_string(i) + ".png"), encode_png(noise(48, 40, i + 10)));
    write_file(in / "img0_copy.jpg", encode_jpeg(noise(48, 40, 10), 90));
    write_file(in / "notes.txt", "not a picture");
    write_file(in / "broken.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF garbage", 16));
    write_archive(in / "more.zip", true, {{"z.png", encode_png(noise(40, 40, 99))}});
    write_file(tmp_ / "labels.csv", "file,kind\nimg0.png,a\nimg1.png,b\nz.png,a\n");
    BuildOptions options;
    options.inputs = {in};
    options.out = tmp_ / "ds";
    options.resolution = 32;
    options.align = AlignMode::kCenterCrop;
    options.labels = parse_label_spec("csv:" + (tmp_ / "labels.csv").string());
    options.val_fraction = 0.2;
    options.license = "research only";
    const BuildReport report = build_dataset(options);
    EXPECT_EQ(report.n_inputs, 8);
    EXPECT_EQ(report.n_images, 5);
    ASSERT_EQ(report.duplicates.size(), 1u);
    EXPECT_NE(report.duplicates[0].source.find("img0_copy.jpg"), std::string::npos);
    ASSERT_EQ(report.skipped.size(), 2u);
    EXPECT_NE(report.skipped[0].reason.find("broken JPEG"), std::string::npos) << report.skipped[0].reason;
    EXPECT_NE(report.skipped[1].reason.find("not an image"), std::string::npos) << report.skipped[1].reason;
    const PackedDataset dataset(tmp_ / "ds");
    EXPECT_EQ(dataset.size(), 5);
    EXPECT_EQ(dataset.resolution(), 32);
    EXPECT_EQ(dataset.index().select(SplitSelection::kVal).size(), 1u);
    EXPECT_EQ(dataset.index().labels[0], std::vector<int64_t>{0});  // img0.png -> "a"
    const auto provenance = dataset.read_provenance();
    EXPECT_EQ(provenance[4]["member"], "z.png");
    EXPECT_EQ(dataset.license(), "research only");
    options.overwrite = false;
    EXPECT_THROW(build_dataset(options), Error);  // never replaces a dataset silently
}

TEST_F(DataToolsTest, BadBuildOptionsNameTheOption) {
    BuildOptions options;
    options.inputs = {tmp_.path()};
    options.out = tmp_ / "x";
    options.resolution = 100;
    try {
        options.validate();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("resolution 100"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_align_mode("mtcnn"), Error);
    EXPECT_THROW(parse_face_policy("biggest"), Error);
}

TEST_F(DataToolsTest, RealPhotosDetectAndAlign) {
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("utkface");
    FACEGEN_SKIP_WITHOUT_SHARED_DATA("celeba-6k");
    const fs::path data = test::shared_data_dir();
    if (!fs::exists(kDefaultPredictorPath)) GTEST_SKIP() << kDefaultPredictorPath << " not installed";
    FaceDetector detector(kDefaultPredictorPath, /*upsample=*/0);
    int n_found = 0;
    for (const char* name : {"utkface/26_1_2_20161219204400164.jpg.chip.jpg", "celeba-6k/000002.jpg"}) {
        const fs::path path = data / name;
        if (!fs::exists(path)) continue;
        const DecodedImage decoded = decode_image(core::read_file(path), path.string());
        const auto faces = detector.detect(decoded.image);
        if (faces.empty()) continue;
        ++n_found;
        ASSERT_EQ(faces[0].landmarks.size(), 68u);
        const FFHQQuad q = ffhq_quad(faces[0].landmarks);
        const RgbImage aligned = ffhq_crop(decoded.image, q, 64);
        EXPECT_EQ(aligned.width, 64);
        // Eyes land in the upper middle of an FFHQ crop, level within a pixel.
        const Point2 left = ffhq_project(q, q.eye_left, 64), right = ffhq_project(q, q.eye_right, 64);
        EXPECT_NEAR(left.y, right.y, 1.0) << name;
        EXPECT_GT(left.y, 16);
        EXPECT_LT(left.y, 36);
        EXPECT_LT(left.x, 32);
        EXPECT_GT(right.x, 32);
    }
    EXPECT_GE(n_found, 1);
}

}  // namespace
}  // namespace facegen::data
