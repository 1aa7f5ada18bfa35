#include "train/augment/augment_options.h"

#include "core/error.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <utility>

namespace facegen::train {
namespace {

struct ScalarField {
    const char* name;
    std::function<double&(AugmentOptions&)> ref;
    bool is_multiplier;
};

#define FACEGEN_AUGMENT_FIELD(name, is_multiplier) \
    ScalarField { #name, [](AugmentOptions& o) -> double& { return o.name(); }, is_multiplier }

const std::vector<ScalarField>& scalar_fields() {
    static const std::vector<ScalarField> fields = {
        FACEGEN_AUGMENT_FIELD(xflip, true),          FACEGEN_AUGMENT_FIELD(rotate90, true),
        FACEGEN_AUGMENT_FIELD(xint, true),           FACEGEN_AUGMENT_FIELD(xint_max, false),
        FACEGEN_AUGMENT_FIELD(scale, true),          FACEGEN_AUGMENT_FIELD(rotate, true),
        FACEGEN_AUGMENT_FIELD(aniso, true),          FACEGEN_AUGMENT_FIELD(xfrac, true),
        FACEGEN_AUGMENT_FIELD(scale_std, false),     FACEGEN_AUGMENT_FIELD(rotate_max, false),
        FACEGEN_AUGMENT_FIELD(aniso_std, false),     FACEGEN_AUGMENT_FIELD(xfrac_std, false),
        FACEGEN_AUGMENT_FIELD(brightness, true),     FACEGEN_AUGMENT_FIELD(contrast, true),
        FACEGEN_AUGMENT_FIELD(lumaflip, true),       FACEGEN_AUGMENT_FIELD(hue, true),
        FACEGEN_AUGMENT_FIELD(saturation, true),     FACEGEN_AUGMENT_FIELD(brightness_std, false),
        FACEGEN_AUGMENT_FIELD(contrast_std, false),  FACEGEN_AUGMENT_FIELD(hue_max, false),
        FACEGEN_AUGMENT_FIELD(saturation_std, false), FACEGEN_AUGMENT_FIELD(imgfilter, true),
        FACEGEN_AUGMENT_FIELD(imgfilter_std, false), FACEGEN_AUGMENT_FIELD(noise, true),
        FACEGEN_AUGMENT_FIELD(cutout, true),         FACEGEN_AUGMENT_FIELD(noise_std, false),
        FACEGEN_AUGMENT_FIELD(cutout_size, false),
    };
    return fields;
}
#undef FACEGEN_AUGMENT_FIELD

constexpr const char* kBandsName = "imgfilter_bands";

constexpr std::array<std::pair<AugmentPreset, const char*>, 11> kPresetNames = {{
    {AugmentPreset::Blit, "blit"},
    {AugmentPreset::Geom, "geom"},
    {AugmentPreset::Color, "color"},
    {AugmentPreset::Filter, "filter"},
    {AugmentPreset::Noise, "noise"},
    {AugmentPreset::Cutout, "cutout"},
    {AugmentPreset::BG, "bg"},
    {AugmentPreset::BGC, "bgc"},
    {AugmentPreset::BGCF, "bgcf"},
    {AugmentPreset::BGCFN, "bgcfn"},
    {AugmentPreset::BGCFNC, "bgcfnc"},
}};

std::string preset_list() {
    std::string out;
    for (const auto& entry : kPresetNames) out += (out.empty() ? "" : ", ") + std::string(entry.second);
    return out;
}

// Shortest decimal text that reads back as the same double.
std::string format_double(double value) {
    for (int precision : {6, 10, 15, 17}) {
        std::ostringstream out;
        out.precision(precision);
        out << value;
        if (std::strtod(out.str().c_str(), nullptr) == value) return out.str();
    }
    return std::to_string(value);
}

double parse_double(const std::string& key, const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
        throw make_error("augmentation option '", key, "': bad number '", text, "'");
    }
    return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) parts.push_back(part);
    if (!text.empty() && text.back() == separator) parts.emplace_back();
    return parts;
}

std::string trim(const std::string& text) {
    const auto begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos) return "";
    const auto end = text.find_last_not_of(" \t");
    return text.substr(begin, end - begin + 1);
}

}  // namespace

void AugmentOptions::validate() const {
    AugmentOptions copy = *this;
    for (const auto& field : scalar_fields()) {
        const double value = field.ref(copy);
        if (!(value >= 0)) {
            throw make_error("augmentation option '", field.name, "' must be >= 0, got ", format_double(value));
        }
    }
    if (imgfilter_bands_.size() != 4) {
        throw make_error("augmentation option '", kBandsName, "' needs 4 values (one per frequency band), got ",
                         imgfilter_bands_.size());
    }
    for (double band : imgfilter_bands_) {
        if (!(band >= 0)) {
            throw make_error("augmentation option '", kBandsName, "' values must be >= 0, got ", format_double(band));
        }
    }
}

bool AugmentOptions::any_geometric() const {
    return xflip_ > 0 || rotate90_ > 0 || xint_ > 0 || scale_ > 0 || rotate_ > 0 || aniso_ > 0 || xfrac_ > 0;
}

bool AugmentOptions::any_color() const {
    return brightness_ > 0 || contrast_ > 0 || lumaflip_ > 0 || hue_ > 0 || saturation_ > 0;
}

std::string to_string(AugmentPreset preset) {
    for (const auto& entry : kPresetNames) {
        if (entry.first == preset) return entry.second;
    }
    TORCH_CHECK(false, "unknown AugmentPreset value ", static_cast<int>(preset));
}

AugmentPreset parse_augment_preset(const std::string& name) {
    for (const auto& entry : kPresetNames) {
        if (name == entry.second) return entry.first;
    }
    throw make_error("unknown augmentation preset '", name, "' (expected one of: ", preset_list(), ")");
}

AugmentOptions augment_preset(AugmentPreset preset) {
    // train.py augpipe_specs: the combined presets are unions of the single ones.
    const std::string name = to_string(preset);
    const bool blit = name == "blit" || name.rfind("bg", 0) == 0;
    const bool geom = name == "geom" || name.rfind("bg", 0) == 0;
    const bool color = name == "color" || name.rfind("bgc", 0) == 0;
    const bool filter = name == "filter" || name.rfind("bgcf", 0) == 0;
    const bool noise = name == "noise" || name.rfind("bgcfn", 0) == 0;
    const bool cutout = name == "cutout" || name == "bgcfnc";
    AugmentOptions options;
    if (blit) options.xflip(1).rotate90(1).xint(1);
    if (geom) options.scale(1).rotate(1).aniso(1).xfrac(1);
    if (color) options.brightness(1).contrast(1).lumaflip(1).hue(1).saturation(1);
    if (filter) options.imgfilter(1);
    if (noise) options.noise(1);
    if (cutout) options.cutout(1);
    return options;
}

AugmentOptions augment_preset(const std::string& name) { return augment_preset(parse_augment_preset(name)); }

AugmentOptions parse_augment_options(const std::string& spec) {
    AugmentOptions options;
    const std::vector<std::string> items = split(spec, ',');
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string item = trim(items[i]);
        const auto equals = item.find('=');
        if (equals == std::string::npos) {
            if (i != 0) {
                throw make_error("augmentation spec '", spec, "': '", item,
                                 "' is not key=value (a preset name may only come first)");
            }
            if (item.empty() || item == "none") continue;
            options = augment_preset(item);
            continue;
        }
        const std::string key = trim(item.substr(0, equals));
        const std::string value = trim(item.substr(equals + 1));
        if (key == kBandsName) {
            std::vector<double> bands;
            for (const auto& band : split(value, ':')) bands.push_back(parse_double(key, trim(band)));
            options.imgfilter_bands(bands);
            continue;
        }
        bool found = false;
        for (const auto& field : scalar_fields()) {
            if (key == field.name) {
                field.ref(options) = parse_double(key, value);
                found = true;
                break;
            }
        }
        if (!found) {
            std::string names;
            for (const auto& field : scalar_fields()) names += std::string(field.name) + ", ";
            throw make_error("unknown augmentation option '", key, "' in '", spec, "' (expected a preset or one of: ",
                             names, kBandsName, ")");
        }
    }
    options.validate();
    return options;
}

std::string to_string(const AugmentOptions& options) {
    AugmentOptions copy = options;
    std::string out;
    for (const auto& field : scalar_fields()) {
        out += (out.empty() ? "" : ",") + std::string(field.name) + "=" + format_double(field.ref(copy));
    }
    out += std::string(",") + kBandsName + "=";
    for (size_t i = 0; i < options.imgfilter_bands().size(); ++i) {
        out += (i == 0 ? "" : ":") + format_double(options.imgfilter_bands()[i]);
    }
    return out;
}

bool operator==(const AugmentOptions& a, const AugmentOptions& b) {
    AugmentOptions ca = a;
    AugmentOptions cb = b;
    for (const auto& field : scalar_fields()) {
        if (field.ref(ca) != field.ref(cb)) return false;
    }
    return a.imgfilter_bands() == b.imgfilter_bands();
}

}  // namespace facegen::train
