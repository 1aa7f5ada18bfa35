#pragma once

#include <cstdint>
#include <string>

// An invisible, robust watermark for the images facegen makes.
//
// embed_watermark() writes 40 bits into an 8-bit image in place; read_watermark() finds them
// again after JPEG (quality 75), resizing to half and back, crops of a few pixels off any edge
// (resized back or not), brightness and contrast changes, mirroring and rotations of a few
// degrees (watermark_hypotheses.h), about 4 in 10 marks after half size then JPEG 75 (a
// 32 px image; soft decisions weighted by the image's noise, watermark_code.h), and
// essentially never reports a mark on an image that has none (a stated false-alarm bound, checked on real photos by
// bench/watermark_robustness). How: dither modulation of gain-normalised low/mid-frequency
// DCT coefficients of a 64x64 analysis image, a convolutional code, and a search over crops,
// mirroring, contrast curves and rotations;
// watermark_layout.h, watermark_code.h and watermark_analysis.h say why each choice was made.
//
// Standard C++ only: the module needs no LibTorch and no image library.
namespace facegen::provenance {

inline constexpr int kWatermarkPayloadBits = 40;
/// The low 8 payload bits are a check byte: kWatermarkVersion XOR CRC-8(model prefix). The
/// reader requires it to match, which serves twice: an unmarked image passes with probability
/// 2^-8 (part of the false-alarm test), and a damaged mark decoded to a wrong prefix is caught
/// (a convolutional code's errors come in short bursts, and a CRC-8 detects every burst of up
/// to 8 bits of prefix-then-check, the order the code sends them in; with a fixed tag
/// instead, 1 in ~1500 marks found after x1.2 carried a wrong prefix).
inline constexpr int kWatermarkCheckBits = 8;
inline constexpr uint32_t kWatermarkVersion = 0xF1;
/// Smallest image side embed and read accept (facegen's images are 64 to 1024).
inline constexpr int64_t kWatermarkMinSide = 32;
inline constexpr int64_t kWatermarkMaxSide = 1 << 15;
/// read_watermark reports found only when the probability that an unmarked image passes its
/// test is at most 10^-kWatermarkMinScore (see WatermarkReading::score).
inline constexpr double kWatermarkMinScore = 6.0;

/// What the mark carries: a check byte and the first 32 bits of the model id.
struct WatermarkPayload {
    uint64_t bits = 0;  // bits 39-8: model prefix, bits 7-0: check byte

    uint32_t model_prefix() const { return static_cast<uint32_t>((bits >> 8) & 0xFFFFFFFFu); }
    uint32_t check() const { return static_cast<uint32_t>(bits & 0xFFu); }
    bool operator==(const WatermarkPayload& other) const { return bits == other.bits; }
    bool operator!=(const WatermarkPayload& other) const { return bits != other.bits; }
};

/// The payload carrying `model_prefix`, with its check byte.
WatermarkPayload watermark_payload(uint32_t model_prefix);

/// True when the payload's check byte matches its prefix (and no bit above 40 is set).
bool payload_checks(const WatermarkPayload& payload);

/// watermark_payload() of the first 8 hex digits of a model id (16 hex digits, as
/// model::save_model_file writes it). Throws facegen::Error naming a malformed id.
WatermarkPayload payload_for_model(const std::string& model_id_hex);

/// "1a2b3c4d:3c" (model prefix : check byte), for logs and JSON.
std::string to_string(const WatermarkPayload& payload);

/// Embeds `payload` in place into an 8-bit interleaved image (rows top to bottom, HWC;
/// 1, 3 or 4 channels, alpha untouched), any size from kWatermarkMinSide to
/// kWatermarkMaxSide per side. Deterministic: the same image and payload give the same bytes.
/// The change is the minimum-energy pattern that puts the coded bits in place, added
/// equally to the colour channels, in ~1.3 ms at 64x64 and ~1.9 ms at 128x128 (PSNR ~39 dB on 64x64 faces on average, lower on faces
/// with much detail, whose coefficients get larger steps). Throws
/// facegen::Error for a null image, a bad channel count or size, or a payload that does not
/// check (make it with watermark_payload or payload_for_model).
void embed_watermark(uint8_t* pixels, int64_t width, int64_t height, int64_t channels, WatermarkPayload payload);

struct WatermarkReading {
    /// A mark is present: the payload checks and score >= kWatermarkMinScore.
    bool found = false;
    /// The decoded payload of the best crop hypothesis (meaningful when found).
    WatermarkPayload payload;
    /// Hard decisions that differ from the decoded codeword (of 138 coded bits).
    int bit_errors = 0;
    /// -log10 of the false-alarm bound: the probability that an unmarked image passes the
    /// test, i.e. gives a checking codeword within bit_errors errors, or with a soft
    /// correlation as high, on any hypothesis tried (four tests: the image as it is with half
    /// of the budget; mirrored or under a contrast curve, the crops, the rotations with a sixth
    /// each; each split between the hard and the soft statistic; watermark_code.h). 6 means at
    /// most one false alarm in a million unmarked images; a clean marked image scores ~40-200.
    double score = 0;
    /// Hypotheses tried, all tests together (~750 at 64x64).
    int n_hypotheses = 0;
};

/// Looks for a mark in an 8-bit interleaved image (same layouts as embed_watermark). Throws
/// facegen::Error for a null image, a bad channel count or size.
WatermarkReading read_watermark(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels);

}  // namespace facegen::provenance
