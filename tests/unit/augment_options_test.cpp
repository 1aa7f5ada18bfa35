#include "train/augment/augment_pipe.h"

#include "core/error.h"

#include <gtest/gtest.h>

namespace facegen::train {
namespace {

template <typename F>
std::string error_message(F&& f) {
    try {
        f();
    } catch (const facegen::Error& e) {
        return e.what();
    }
    return "";
}

TEST(AugmentOptionsTest, DefaultsMatchOfficialStrengthsWithEverythingOff) {
    const AugmentOptions o;
    EXPECT_FALSE(o.any_geometric());
    EXPECT_FALSE(o.any_color());
    EXPECT_DOUBLE_EQ(o.xint_max(), 0.125);
    EXPECT_DOUBLE_EQ(o.scale_std(), 0.2);
    EXPECT_DOUBLE_EQ(o.rotate_max(), 1);
    EXPECT_DOUBLE_EQ(o.aniso_std(), 0.2);
    EXPECT_DOUBLE_EQ(o.xfrac_std(), 0.125);
    EXPECT_DOUBLE_EQ(o.brightness_std(), 0.2);
    EXPECT_DOUBLE_EQ(o.contrast_std(), 0.5);
    EXPECT_DOUBLE_EQ(o.hue_max(), 1);
    EXPECT_DOUBLE_EQ(o.saturation_std(), 1);
    EXPECT_EQ(o.imgfilter_bands(), (std::vector<double>{1, 1, 1, 1}));
    EXPECT_DOUBLE_EQ(o.imgfilter_std(), 1);
    EXPECT_DOUBLE_EQ(o.noise_std(), 0.1);
    EXPECT_DOUBLE_EQ(o.cutout_size(), 0.5);
}

TEST(AugmentOptionsTest, PresetBgcEnablesBlitGeomColorOnly) {
    const AugmentOptions o = augment_preset("bgc");
    for (double m : {o.xflip(), o.rotate90(), o.xint(), o.scale(), o.rotate(), o.aniso(), o.xfrac(), o.brightness(),
                     o.contrast(), o.lumaflip(), o.hue(), o.saturation()}) {
        EXPECT_EQ(m, 1);
    }
    EXPECT_EQ(o.imgfilter(), 0);
    EXPECT_EQ(o.noise(), 0);
    EXPECT_EQ(o.cutout(), 0);
}

TEST(AugmentOptionsTest, EveryPresetMatchesTheOfficialTable) {
    // train.py augpipe_specs, as {blit, geom, color, filter, noise, cutout}.
    const std::vector<std::pair<std::string, std::array<bool, 6>>> table = {
        {"blit", {1, 0, 0, 0, 0, 0}},   {"geom", {0, 1, 0, 0, 0, 0}},  {"color", {0, 0, 1, 0, 0, 0}},
        {"filter", {0, 0, 0, 1, 0, 0}}, {"noise", {0, 0, 0, 0, 1, 0}}, {"cutout", {0, 0, 0, 0, 0, 1}},
        {"bg", {1, 1, 0, 0, 0, 0}},     {"bgc", {1, 1, 1, 0, 0, 0}},   {"bgcf", {1, 1, 1, 1, 0, 0}},
        {"bgcfn", {1, 1, 1, 1, 1, 0}},  {"bgcfnc", {1, 1, 1, 1, 1, 1}},
    };
    for (const auto& [name, groups] : table) {
        const AugmentOptions o = augment_preset(name);
        EXPECT_EQ(o.xflip() == 1 && o.rotate90() == 1 && o.xint() == 1, groups[0]) << name;
        EXPECT_EQ(o.xflip() == 0 && o.rotate90() == 0 && o.xint() == 0, !groups[0]) << name;
        EXPECT_EQ(o.scale() == 1 && o.rotate() == 1 && o.aniso() == 1 && o.xfrac() == 1, groups[1]) << name;
        EXPECT_EQ(o.scale() == 0 && o.rotate() == 0 && o.aniso() == 0 && o.xfrac() == 0, !groups[1]) << name;
        EXPECT_EQ(o.brightness() == 1 && o.contrast() == 1 && o.lumaflip() == 1 && o.hue() == 1 && o.saturation() == 1,
                  groups[2])
            << name;
        EXPECT_EQ(o.any_color(), groups[2]) << name;
        EXPECT_EQ(o.imgfilter(), groups[3] ? 1 : 0) << name;
        EXPECT_EQ(o.noise(), groups[4] ? 1 : 0) << name;
        EXPECT_EQ(o.cutout(), groups[5] ? 1 : 0) << name;
        EXPECT_EQ(to_string(parse_augment_preset(name)), name);
    }
}

TEST(AugmentOptionsTest, UnknownPresetThrowsNamingItAndTheChoices) {
    const std::string message = error_message([] { augment_preset("bgcx"); });
    EXPECT_NE(message.find("unknown augmentation preset 'bgcx'"), std::string::npos) << message;
    EXPECT_NE(message.find("bgcfnc"), std::string::npos) << message;
}

TEST(AugmentOptionsTest, SpecParsesPresetAndOverrides) {
    const AugmentOptions o = parse_augment_options("bgc, hue=0.5,noise=1,imgfilter_bands=1:0:0:2");
    EXPECT_EQ(o.xflip(), 1);
    EXPECT_EQ(o.hue(), 0.5);
    EXPECT_EQ(o.noise(), 1);
    EXPECT_EQ(o.imgfilter_bands(), (std::vector<double>{1, 0, 0, 2}));
    EXPECT_EQ(parse_augment_options(""), AugmentOptions());
    EXPECT_EQ(parse_augment_options("none"), AugmentOptions());
    EXPECT_EQ(parse_augment_options("xflip=1").xflip(), 1);
}

TEST(AugmentOptionsTest, ToStringRoundTrips) {
    AugmentOptions o = augment_preset("bgcfnc");
    o.hue_max(0.3).xint_max(1.0 / 3).imgfilter_bands({1, 0.25, 0, 1});
    const std::string text = to_string(o);
    EXPECT_NE(text.find("xflip=1"), std::string::npos) << text;
    EXPECT_NE(text.find("hue_max=0.3"), std::string::npos) << text;
    EXPECT_EQ(parse_augment_options(text), o);
    EXPECT_NE(parse_augment_options(to_string(AugmentOptions())), o);
}

TEST(AugmentOptionsTest, UnknownKeyThrowsQuotingIt) {
    const std::string message = error_message([] { parse_augment_options("bgc,xflop=1"); });
    EXPECT_NE(message.find("unknown augmentation option 'xflop'"), std::string::npos) << message;
}

TEST(AugmentOptionsTest, BadValueThrowsQuotingIt) {
    const std::string message = error_message([] { parse_augment_options("hue=lots"); });
    EXPECT_NE(message.find("'hue': bad number 'lots'"), std::string::npos) << message;
}

TEST(AugmentOptionsTest, PresetAfterOverrideThrows) {
    const std::string message = error_message([] { parse_augment_options("xflip=1,bgc"); });
    EXPECT_NE(message.find("'bgc' is not key=value"), std::string::npos) << message;
}

TEST(AugmentOptionsTest, NegativeMultiplierThrows) {
    const std::string message = error_message([] { AugmentPipe pipe(AugmentOptions().xflip(-1)); });
    EXPECT_NE(message.find("'xflip' must be >= 0, got -1"), std::string::npos) << message;
}

TEST(AugmentOptionsTest, WrongBandCountThrows) {
    const std::string message = error_message([] { parse_augment_options("imgfilter_bands=1:1:1"); });
    EXPECT_NE(message.find("'imgfilter_bands' needs 4 values"), std::string::npos) << message;
}

}  // namespace
}  // namespace facegen::train
