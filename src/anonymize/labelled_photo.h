#pragma once

#include <filesystem>
#include <string>

#include "data/image_io.h"
#include "provenance/image_provenance.h"

// Writing an anonymised photo: labelled as a real photo with generated faces (IPTC digital
// source type compositeWithTrainedAlgorithmicMedia, facegen's text labels), atomically.
namespace facegen::anonymize {

enum class PhotoFormat { kPNG, kJPEG };
/// The format named by a file's extension (.png, .jpg, .jpeg; any case); facegen::Error otherwise.
PhotoFormat format_for_path(const std::filesystem::path& path);

/// Bytes of `image` in `format` carrying the labels of `info`. PNG: provenance's text chunks
/// and XMP packet (lossless, so pixels outside the faces keep their values). JPEG: the XMP
/// packet in an APP1 segment and the description in a COM segment; the pixels are
/// re-encoded at `jpeg_quality`, so a JPEG output differs from its input everywhere by the
/// compression's error. With info.watermark the invisible mark is embedded over the whole image.
std::string encode_labelled_photo(const data::RgbImage& image, PhotoFormat format,
                                  const provenance::ImageProvenance& info, int jpeg_quality = 95);

/// `jpeg` with an APP1 XMP segment (and a COM segment holding `comment`) after its SOI
/// marker. Throws facegen::Error when the bytes are not a JPEG or the packet is over 64 KiB.
std::string insert_jpeg_xmp(const std::string& jpeg, const std::string& xmp_packet, const std::string& comment);

}  // namespace facegen::anonymize
