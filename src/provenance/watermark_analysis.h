#pragma once

#include <cstdint>
#include <vector>

#include "provenance/watermark_layout.h"

// The 64x64 analysis image and the crop search.
//
// Every image, whatever its size, is marked and read on one channel (mostly green, see
// analysis_channel) area-averaged to 64x64 (stretched if not square), so one mark serves
// facegen's 64 to 1024 pixel outputs alike. The quantised coefficients must be read at the
// geometry they were written at (shifted by half a pixel, ~40% of the coded bits flip), so
// the reader tries each plausible crop:
// along each axis, the received image shows original pixels [start, end) of an original
// `original_size` long, stretched over its width. Crops are whole original pixels, 0 to
// kMaxCropPixels off either end, with or without resizing back; facegen's sizes are powers of
// two, which tells a crop without resize (60 = 64 - 4) from an uncropped image. That is at
// most (25 + 5)^2 views, each a few microseconds thanks to the separable transform.
namespace facegen::provenance::detail {

inline constexpr int kMaxCropPixels = 4;  // per edge, in original pixels

/// Which original pixels a received axis shows.
struct AxisView {
    double original_size = 0;
    double visible_start = 0;
    double visible_end = 0;
};

/// Uncropped first, then every crop of 0..kMaxCropPixels original pixels per end: resized back
/// to `received_size`, or (when a power of two lies just above it) not resized.
std::vector<AxisView> axis_views(int64_t received_size);

/// The channel the mark is read from: mostly green. Not Rec. 601 luma, because a brightness
/// gain clips red first on skin (measured on generated faces: 22% of red values exceed 212,
/// and so clip at x1.2, against 4% of green and 3% of blue), and clipping destroys the mark
/// where it happens (x1.2, measured while tuning: 47/100 marks found with luma, 76/100 with
/// these weights); not green alone, because JPEG's coarser chroma then adds noise (quality
/// 75: 60/60 -> 47/60 found). The embedder adds the same change to R, G and B, so any
/// weights summing to 1 see all of it.
inline constexpr double kAnalysisWeightRed = 0.15;
inline constexpr double kAnalysisWeightGreen = 0.70;
inline constexpr double kAnalysisWeightBlue = 0.15;

/// The analysis channel of an 8-bit interleaved image (1, 3 or 4 channels), row-major.
std::vector<double> analysis_channel(const uint8_t* pixels, int64_t width, int64_t height, int64_t channels);

/// The analysis channel box-reduced by an integer factor per axis to 64-127 pixels (unchanged
/// when smaller), so the search costs the same at every size.
struct ReducedChannel {
    std::vector<double> values;  // height x width
    int64_t width = 0;
    int64_t height = 0;
    int64_t reduction_x = 1;
    int64_t reduction_y = 1;
};
ReducedChannel reduce_channel(const std::vector<double>& channel, int64_t width, int64_t height);

/// The variance of white noise on each layout coefficient of the analysis image made from
/// `channel` (0 on a clean image, ~150 after ImageMagick's Gaussian noise at 64 px), for the
/// reliability weights (watermark_layout.h). From the diagonal Haar detail of the reduced
/// channel, (a - b - c + d) / 2 over 2x2 blocks, whose median absolute value is 0.6745 sigma
/// for white noise (Donoho and Johnstone's estimate) and which faces leave small; scaled by
/// the analysis grid's magnification and the window's energy.
double coefficient_noise_variance(const MarkLayout& layout, const ReducedChannel& channel);

/// Area-average weights from a reduced axis to the 64 analysis pixels for `view`: analysis
/// pixel X averages the received span that shows original pixels [X, X+1) * size / 64
/// (clamped at the edges, where the window makes the fill irrelevant). Dense 64 x n_reduced.
std::vector<double> axis_map(const AxisView& view, int64_t received_size, int64_t reduction, int64_t reduced_size);

/// The analysis image of `channel` under the given axis maps: map_y * L * map_x^T (64x64).
std::vector<double> analysis_image(const ReducedChannel& channel, const std::vector<double>& map_x, const std::vector<double>& map_y);

/// Layout coefficients of the analysis image for many view pairs: the transform is separable,
/// so each x view and each y view is prepared once and a pair costs one dot product of
/// reduced-height length per coefficient.
class ViewEvaluator {
public:
    ViewEvaluator(const MarkLayout& layout, const ReducedChannel& channel);
    struct Columns {
        std::vector<double> values;  // n_freq x reduced_height
    };
    struct Rows {
        std::vector<double> values;  // n_freq x reduced_height
    };
    Columns prepare_x(const std::vector<double>& map_x) const;
    Rows prepare_y(const std::vector<double>& map_y) const;
    /// Same values as layout_coefficients(layout, analysis_image(channel, map_x, map_y)).
    std::vector<double> coefficients(const Columns& columns, const Rows& rows) const;

private:
    const MarkLayout& layout_;
    const ReducedChannel& channel_;
    int n_freq_ = 0;               // frequencies 0..n_freq-2, then the window itself (for the mean)
    std::vector<double> filters_;  // n_freq x 64: w * phi_k, last row w
    double window_sum_sq_ = 0;     // (sum w)^2
};

}  // namespace facegen::provenance::detail
