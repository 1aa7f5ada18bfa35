#pragma once

#include <torch/arg.h>

#include <string>
#include <vector>

namespace facegen::train {

/// Options of the ADA augmentation pipeline (Karras et al. 2020, "Training Generative
/// Adversarial Networks with Limited Data", Appendix B). Every transformation is off by
/// default; its multiplier times the pipeline's overall p is its per-sample probability.
/// Defaults of the strengths are those of the official StyleGAN2-ADA (training/augment.py).
struct AugmentOptions {
    // Pixel blitting.
    /// Probability multiplier of the horizontal flip. Default: 0
    TORCH_ARG(double, xflip) = 0;
    /// Probability multiplier of rotations by a multiple of 90 degrees. Default: 0
    TORCH_ARG(double, rotate90) = 0;
    /// Probability multiplier of the integer translation. Default: 0
    TORCH_ARG(double, xint) = 0;
    /// Range of the integer translation, relative to the image size. Default: 0.125
    TORCH_ARG(double, xint_max) = 0.125;

    // General geometric transformations.
    /// Probability multiplier of the isotropic scaling. Default: 0
    TORCH_ARG(double, scale) = 0;
    /// Probability multiplier of the arbitrary rotation (applied before and after the
    /// anisotropic scaling, each with 1 - sqrt(1 - rotate * p)). Default: 0
    TORCH_ARG(double, rotate) = 0;
    /// Probability multiplier of the anisotropic scaling. Default: 0
    TORCH_ARG(double, aniso) = 0;
    /// Probability multiplier of the fractional translation. Default: 0
    TORCH_ARG(double, xfrac) = 0;
    /// Log2 standard deviation of the isotropic scaling. Default: 0.2
    TORCH_ARG(double, scale_std) = 0.2;
    /// Range of the arbitrary rotation, 1 = full circle. Default: 1
    TORCH_ARG(double, rotate_max) = 1;
    /// Log2 standard deviation of the anisotropic scaling. Default: 0.2
    TORCH_ARG(double, aniso_std) = 0.2;
    /// Standard deviation of the fractional translation, relative to the image size. Default: 0.125
    TORCH_ARG(double, xfrac_std) = 0.125;

    // Colour transformations.
    /// Probability multiplier of the brightness offset. Default: 0
    TORCH_ARG(double, brightness) = 0;
    /// Probability multiplier of the contrast scaling. Default: 0
    TORCH_ARG(double, contrast) = 0;
    /// Probability multiplier of the luma flip (reflection along the luma axis). Default: 0
    TORCH_ARG(double, lumaflip) = 0;
    /// Probability multiplier of the hue rotation (around the luma axis). Default: 0
    TORCH_ARG(double, hue) = 0;
    /// Probability multiplier of the saturation scaling. Default: 0
    TORCH_ARG(double, saturation) = 0;
    /// Standard deviation of the brightness offset. Default: 0.2
    TORCH_ARG(double, brightness_std) = 0.2;
    /// Log2 standard deviation of the contrast scaling. Default: 0.5
    TORCH_ARG(double, contrast_std) = 0.5;
    /// Range of the hue rotation, 1 = full circle. Default: 1
    TORCH_ARG(double, hue_max) = 1;
    /// Log2 standard deviation of the saturation scaling. Default: 1
    TORCH_ARG(double, saturation_std) = 1;

    // Image-space filtering.
    /// Probability multiplier of the image-space filtering. Default: 0
    TORCH_ARG(double, imgfilter) = 0;
    /// Probability multipliers of the 4 frequency bands (low to high). Default: {1, 1, 1, 1}
    TORCH_ARG(std::vector<double>, imgfilter_bands) = std::vector<double>{1, 1, 1, 1};
    /// Log2 standard deviation of a band's amplification. Default: 1
    TORCH_ARG(double, imgfilter_std) = 1;

    // Image-space corruptions.
    /// Probability multiplier of the additive RGB noise. Default: 0
    TORCH_ARG(double, noise) = 0;
    /// Probability multiplier of the cutout. Default: 0
    TORCH_ARG(double, cutout) = 0;
    /// Standard deviation scale of the additive noise (sigma = |N(0,1)| * noise_std). Default: 0.1
    TORCH_ARG(double, noise_std) = 0.1;
    /// Side of the cutout square, relative to the image size. Default: 0.5
    TORCH_ARG(double, cutout_size) = 0.5;

public:
    /// Throws facegen::Error naming the field and value when an option is out of range
    /// (negative multiplier or strength, imgfilter_bands not of length 4).
    void validate() const;

    bool any_geometric() const;
    bool any_color() const;
};

/// The official augmentation presets (StyleGAN2-ADA train.py --augpipe): b = blit,
/// g = geom, c = color, f = filter, n = noise, c = cutout.
enum class AugmentPreset { Blit, Geom, Color, Filter, Noise, Cutout, BG, BGC, BGCF, BGCFN, BGCFNC };

/// "blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn", "bgcfnc".
std::string to_string(AugmentPreset preset);
/// Inverse of to_string; throws facegen::Error quoting the name and listing the valid ones.
AugmentPreset parse_augment_preset(const std::string& name);

/// The preset's multipliers set to 1, every strength at its default.
AugmentOptions augment_preset(AugmentPreset preset);
/// Same, by name; throws facegen::Error for an unknown name.
AugmentOptions augment_preset(const std::string& name);

/// Parses a pipeline specification: an optional preset name followed by comma-separated
/// `key=value` overrides, e.g. "bgc", "bgc,hue=0.5,noise=1", "xflip=1,rotate90=1".
/// Keys are the option names above; imgfilter_bands takes colon-separated values
/// ("imgfilter_bands=1:1:0:0"). "" and "none" give the all-off pipeline. The result is
/// validated. Throws facegen::Error quoting an unknown key, a bad value or a bad preset.
AugmentOptions parse_augment_options(const std::string& spec);

/// All options as "key=value" joined by commas (every field, so a log line reproduces the
/// pipeline); parse_augment_options(to_string(o)) == o.
std::string to_string(const AugmentOptions& options);

bool operator==(const AugmentOptions& a, const AugmentOptions& b);
inline bool operator!=(const AugmentOptions& a, const AugmentOptions& b) { return !(a == b); }

}  // namespace facegen::train
