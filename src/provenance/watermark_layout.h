#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

// Where the watermark lives: which coefficients of the 64x64 analysis image carry the coded
// bits, with which quantiser step and key-seeded dither, and what normalises them.
//
// The mark is dither modulation (quantisation index modulation, Chen & Wornell 2001): each
// coded bit moves one coefficient onto the lattice step*(Z + bit/2) + dither. It is used
// instead of additive spread spectrum because, on 64x64 faces at ~40 dB PSNR, the face
// itself drowns a blind spread-spectrum mark: measured on 64x64 CelebA crops (whose spectrum
// matches the generated faces'), a pseudo-random carrier per coded bit, even read with local
// whitening, correlates at only ~0.5 sigma of the face's own projection on it (a channel
// capacity of ~20 bits for the whole image), whereas a quantised coefficient is read without
// interference from the face ("host interference rejection").
//
// Choices, each measured on generated faces and UTKFace/CelebA photos (bench/):
// - Coefficients: the orthonormal 2-D DCT-II of the analysis channel at radial index
//   sqrt(ky^2 + kx^2) in [3, 20], i.e. periods of 6.4-43 analysis pixels; 138 of the ~300
//   in that band carry the coded bits. Resizing to half and back keeps them (once
//   normalised its low-pass error stays within the quantiser's tolerance up to radius ~20;
//   with the band up to 22, 80 of 100 faces survive instead of 98), JPEG quality 75 changes
//   them by ~2 units against steps of ~20-60 units, and below radius 3 the face's own
//   energy makes every step expensive in PSNR. A wider band also leaves the windowed
//   carriers more room, which lowers the energy the minimum-norm embedding needs.
// - Window: the image is multiplied by a separable taper (sin^2 over kWindowTaper pixels at
//   each border) before the transform, so pixels cropped off an edge carry little weight.
//   Without it, 13 of 60 marks survived 4 pixels cropped off one edge (60 of 60 with it).
//   A wider taper costs capacity and makes resizing worse, since a blur does not commute
//   with the window (taper 16: 15 of 60 survived a resize to half and back, taper 8: 52).
// - Mean removal: the windowed mean is subtracted, so adding a constant (brightness +-20)
//   changes no coefficient (the window's own spectrum would otherwise leak it in).
// - Gain normalisation: each carrier is divided by the RMS of the *unmarked* coefficients at
//   nearly the same radius (+-2), plus kImageNormShare times the RMS of all references. A
//   brightness gain (x0.8, x1.2) or a resize's low-pass scales carrier and references alike.
//   Only unmarked references: normalising by marked coefficients makes some targets
//   unreachable. The image-wide share keeps the steps of smooth images (little energy in the
//   band, so tiny steps that JPEG's ~2 units of noise would swamp) as large as their overall
//   contrast warrants, and is gain-invariant too; at equal PSNR it changes nothing on faces.
// - Steps grow with frequency (step = kStepAt10 * radius / 10, in normalised units): low
//   frequencies hold more of the face's energy, so a fixed normalised step would spend most
//   of the PSNR budget there, while the attacks disturb them least.
// - Carriers and dithers come from a fixed key (splitmix64), so nothing about the mark
//   depends on the image and unmarked images give coin-flip bits (the false-alarm model).
namespace facegen::provenance::detail {

inline constexpr int kAnalysisSize = 64;
inline constexpr int kWindowTaper = 8;                 // analysis pixels per border
inline constexpr double kCarrierRadiusMin = 3.0;
inline constexpr double kCarrierRadiusMax = 20.0;
inline constexpr double kReferenceRadiusSpan = 2.0;    // references within +-2 of the carrier's radius
inline constexpr double kStepAt10 = 0.33;              // quantiser step at radius 10, normalised units
inline constexpr double kImageNormShare = 0.1;         // of the RMS of all references
inline constexpr double kNormaliserFloor = 1.0;        // keeps flat images finite (coefficient units)
inline constexpr uint64_t kWatermarkKey = 0x666163656d61726bull;  // "facemark"

/// A DCT coefficient of the analysis image: vertical index ky, horizontal index kx.
struct Coefficient {
    int ky = 0;
    int kx = 0;
};

struct MarkLayout {
    std::array<double, kAnalysisSize> window{};                 // per-axis taper
    std::vector<double> dct;                                    // [k * 64 + i]: basis k at pixel i
    std::vector<Coefficient> coefficients;                      // carriers first, then references
    int n_carriers = 0;
    std::vector<double> step;                                   // per carrier, normalised units
    std::vector<double> dither;                                 // per carrier, in [0, step)
    /// Per carrier: its references, coefficients[begin, end) (they follow the carriers,
    /// sorted by radius).
    std::vector<std::pair<int, int>> references;
    std::vector<double> mean_response;                          // per coefficient: <w phi, 1> / <w, 1>
    /// Embedding: carrier i responds to the pixel pattern w phi_i - mean_response[i] w (64x64,
    /// see add_carrier_patterns); gram_cholesky is the lower Cholesky factor of the patterns'
    /// Gram matrix, for the minimum-energy change.
    std::vector<double> gram_cholesky;
};

/// The layout for kWatermarkKey, built once (thread-safe).
const MarkLayout& mark_layout();

/// Windowed, mean-removed coefficients (layout.coefficients order) of a 64x64 analysis
/// image (row-major).
std::vector<double> layout_coefficients(const MarkLayout& layout, const std::vector<double>& analysis);

/// Per carrier: RMS of its references + kImageNormShare * RMS of all references +
/// kNormaliserFloor.
std::vector<double> carrier_norms(const MarkLayout& layout, const std::vector<double>& coefficients);

/// Carrier values in normalised units (coefficient / normaliser).
std::vector<double> normalised_carriers(const MarkLayout& layout, const std::vector<double>& coefficients);

/// Soft decision per carrier in [-1, 1]: cos(2 pi phase) where phase is the position between
/// the 0-lattice (phase 0, +1) and the 1-lattice (phase 1/2, -1).
std::vector<double> soft_bits(const MarkLayout& layout, const std::vector<double>& normalised);

/// Per carrier, how much its soft value can be trusted under white noise of
/// `noise_variance` per coefficient (watermark_analysis.h): exp(-2 pi^2 sigma^2 / step^2)
/// with the step in coefficient units, the expected cos(2 pi phase) of a mark under Gaussian
/// noise, hence near the log-likelihood ratio's scale at low signal-to-noise. Carriers with
/// small steps (flat regions, low radius in normalised units) count less once noise drowns
/// them. kNoiseWeightGain scales the estimate: the Haar detail's median underestimates the
/// noise the carriers see (measured after half size + JPEG 75 at 64 px: gain 1, 2, 4 found
/// 11, 14, 11 of 30 marks).
inline constexpr double kNoiseWeightGain = 2.0;
std::vector<double> reliability_weights(const MarkLayout& layout, const std::vector<double>& coefficients, double noise_variance);

/// change += sum_i amounts[i] * pattern[i], through the patterns' separable form (windowed
/// DCT basis products less their mean response): ~10x fewer operations than the sum over
/// 64x64 patterns, which took most of embed_watermark's time.
void add_carrier_patterns(const MarkLayout& layout, const std::vector<double>& amounts, std::vector<double>& change);

/// The lattice point of `bit` nearest to normalised value `value` for carrier `i`.
double quantise(const MarkLayout& layout, int i, double value, int bit);

}  // namespace facegen::provenance::detail
