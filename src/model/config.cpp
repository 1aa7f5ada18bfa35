#include "model/config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "core/error.h"

namespace facegen::model {
namespace {

bool is_power_of_two(int64_t value) { return value > 0 && (value & (value - 1)) == 0; }

void check_resolution(const char* what, int64_t resolution) {
    if (!is_power_of_two(resolution) || resolution < GeneratorConfig::kMinResolution ||
        resolution > GeneratorConfig::kMaxResolution) {
        throw make_error(what, " resolution ", resolution, " is not supported: expected a power of two from ",
                         GeneratorConfig::kMinResolution, " to ", GeneratorConfig::kMaxResolution);
    }
}

void check_positive(const char* what, const char* field, int64_t value) {
    if (value <= 0) throw make_error(what, " ", field, " must be positive, got ", value);
}

void check_non_negative(const char* what, const char* field, int64_t value) {
    if (value < 0) throw make_error(what, " ", field, " must be >= 0, got ", value);
}

void check_clamp(const char* what, double conv_clamp) {
    if (!(conv_clamp >= 0) || !std::isfinite(conv_clamp))
        throw make_error(what, " conv_clamp must be >= 0 (0 = none), got ", conv_clamp);
}

int64_t channels_for(int64_t base, int64_t max, int64_t res) { return std::min(base / res, max); }

template <typename T>
void read_field(const nlohmann::json& json, const char* what, const char* name, T& value, std::set<std::string>& seen) {
    seen.insert(name);
    auto it = json.find(name);
    if (it == json.end()) return;  // missing fields keep their defaults
    try {
        value = it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw make_error(what, " field '", name, "' has a bad value ", it->dump());
    }
}

nlohmann::json parse_object(const std::string& text, const char* what) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw make_error(what, " is not valid JSON: ", e.what());
    }
    if (!json.is_object()) throw make_error(what, " must be a JSON object, got ", json.dump());
    return json;
}

void reject_unknown(const nlohmann::json& json, const char* what, const std::set<std::string>& seen) {
    for (const auto& item : json.items()) {
        if (!seen.count(item.key())) throw make_error(what, " has an unknown field '", item.key(), "'");
    }
}

}  // namespace

NoiseMode parse_noise_mode(const std::string& text) {
    if (text == "const") return NoiseMode::Const;
    if (text == "random") return NoiseMode::Random;
    if (text == "none") return NoiseMode::None;
    throw make_error("unknown noise mode '", text, "': expected const, random or none");
}

std::string to_string(NoiseMode mode) {
    switch (mode) {
        case NoiseMode::Const: return "const";
        case NoiseMode::Random: return "random";
        case NoiseMode::None: return "none";
    }
    return "unknown";
}

void GeneratorConfig::validate() const {
    const char* what = "generator config:";
    check_resolution(what, resolution);
    check_positive(what, "z_dim", z_dim);
    check_non_negative(what, "c_dim", c_dim);
    check_positive(what, "w_dim", w_dim);
    check_positive(what, "img_channels", img_channels);
    check_positive(what, "channel_max", channel_max);
    check_positive(what, "n_mapping_layers", n_mapping_layers);
    if (channels_at(resolution) < 1)
        throw make_error(what, " channel_base ", channel_base, " gives no channels at resolution ", resolution,
                         " (needs channel_base >= resolution)");
    if (!(mapping_lr_multiplier > 0) || !std::isfinite(mapping_lr_multiplier))
        throw make_error(what, " mapping_lr_multiplier must be positive, got ", mapping_lr_multiplier);
    if (!(w_avg_beta > 0 && w_avg_beta < 1))
        throw make_error(what, " w_avg_beta must be in (0, 1), got ", w_avg_beta);
    check_clamp(what, conv_clamp);
}

int64_t GeneratorConfig::num_ws() const {
    int64_t log2 = 0;
    while ((int64_t{1} << (log2 + 1)) <= resolution) ++log2;
    return 2 * log2 - 2;
}

int64_t GeneratorConfig::channels_at(int64_t res) const { return channels_for(channel_base, channel_max, res); }

std::vector<int64_t> GeneratorConfig::block_resolutions() const {
    std::vector<int64_t> result;
    for (int64_t res = 4; res <= resolution; res *= 2) result.push_back(res);
    return result;
}

bool GeneratorConfig::operator==(const GeneratorConfig& o) const {
    return z_dim == o.z_dim && c_dim == o.c_dim && w_dim == o.w_dim && resolution == o.resolution &&
           img_channels == o.img_channels && channel_base == o.channel_base && channel_max == o.channel_max &&
           n_mapping_layers == o.n_mapping_layers && mapping_lr_multiplier == o.mapping_lr_multiplier &&
           w_avg_beta == o.w_avg_beta && conv_clamp == o.conv_clamp;
}

void DiscriminatorConfig::validate() const {
    const char* what = "discriminator config:";
    check_resolution(what, resolution);
    check_non_negative(what, "c_dim", c_dim);
    check_positive(what, "img_channels", img_channels);
    check_positive(what, "channel_max", channel_max);
    if (channels_at(resolution) < 1)
        throw make_error(what, " channel_base ", channel_base, " gives no channels at resolution ", resolution,
                         " (needs channel_base >= resolution)");
    check_non_negative(what, "mbstd_group_size", mbstd_group_size);
    check_non_negative(what, "mbstd_num_channels", mbstd_num_channels);
    if (mbstd_num_channels > 0 && channels_at(4) % mbstd_num_channels != 0)
        throw make_error(what, " mbstd_num_channels ", mbstd_num_channels, " must divide the 4x4 channel count ",
                         channels_at(4));
    check_clamp(what, conv_clamp);
    check_positive(what, "n_mapping_layers", n_mapping_layers);
    check_non_negative(what, "cmap_dim", cmap_dim);
    if (!(mapping_lr_multiplier > 0) || !std::isfinite(mapping_lr_multiplier))
        throw make_error(what, " mapping_lr_multiplier must be positive, got ", mapping_lr_multiplier);
}

int64_t DiscriminatorConfig::channels_at(int64_t res) const { return channels_for(channel_base, channel_max, res); }

int64_t DiscriminatorConfig::effective_cmap_dim() const {
    if (c_dim == 0) return 0;
    return cmap_dim > 0 ? cmap_dim : channels_at(4);
}

bool DiscriminatorConfig::operator==(const DiscriminatorConfig& o) const {
    return c_dim == o.c_dim && resolution == o.resolution && img_channels == o.img_channels &&
           channel_base == o.channel_base && channel_max == o.channel_max &&
           mbstd_group_size == o.mbstd_group_size && mbstd_num_channels == o.mbstd_num_channels &&
           conv_clamp == o.conv_clamp && n_mapping_layers == o.n_mapping_layers && cmap_dim == o.cmap_dim &&
           mapping_lr_multiplier == o.mapping_lr_multiplier;
}

std::string to_json(const GeneratorConfig& c) {
    nlohmann::json json = {{"z_dim", c.z_dim},
                           {"c_dim", c.c_dim},
                           {"w_dim", c.w_dim},
                           {"resolution", c.resolution},
                           {"img_channels", c.img_channels},
                           {"channel_base", c.channel_base},
                           {"channel_max", c.channel_max},
                           {"n_mapping_layers", c.n_mapping_layers},
                           {"mapping_lr_multiplier", c.mapping_lr_multiplier},
                           {"w_avg_beta", c.w_avg_beta},
                           {"conv_clamp", c.conv_clamp}};
    return json.dump();
}

GeneratorConfig generator_config_from_json(const std::string& text) {
    const char* what = "generator config";
    const nlohmann::json json = parse_object(text, what);
    GeneratorConfig c;
    std::set<std::string> seen;
    read_field(json, what, "z_dim", c.z_dim, seen);
    read_field(json, what, "c_dim", c.c_dim, seen);
    read_field(json, what, "w_dim", c.w_dim, seen);
    read_field(json, what, "resolution", c.resolution, seen);
    read_field(json, what, "img_channels", c.img_channels, seen);
    read_field(json, what, "channel_base", c.channel_base, seen);
    read_field(json, what, "channel_max", c.channel_max, seen);
    read_field(json, what, "n_mapping_layers", c.n_mapping_layers, seen);
    read_field(json, what, "mapping_lr_multiplier", c.mapping_lr_multiplier, seen);
    read_field(json, what, "w_avg_beta", c.w_avg_beta, seen);
    read_field(json, what, "conv_clamp", c.conv_clamp, seen);
    reject_unknown(json, what, seen);
    return c;
}

std::string to_json(const DiscriminatorConfig& c) {
    nlohmann::json json = {{"c_dim", c.c_dim},
                           {"resolution", c.resolution},
                           {"img_channels", c.img_channels},
                           {"channel_base", c.channel_base},
                           {"channel_max", c.channel_max},
                           {"mbstd_group_size", c.mbstd_group_size},
                           {"mbstd_num_channels", c.mbstd_num_channels},
                           {"conv_clamp", c.conv_clamp},
                           {"n_mapping_layers", c.n_mapping_layers},
                           {"cmap_dim", c.cmap_dim},
                           {"mapping_lr_multiplier", c.mapping_lr_multiplier}};
    return json.dump();
}

DiscriminatorConfig discriminator_config_from_json(const std::string& text) {
    const char* what = "discriminator config";
    const nlohmann::json json = parse_object(text, what);
    DiscriminatorConfig c;
    std::set<std::string> seen;
    read_field(json, what, "c_dim", c.c_dim, seen);
    read_field(json, what, "resolution", c.resolution, seen);
    read_field(json, what, "img_channels", c.img_channels, seen);
    read_field(json, what, "channel_base", c.channel_base, seen);
    read_field(json, what, "channel_max", c.channel_max, seen);
    read_field(json, what, "mbstd_group_size", c.mbstd_group_size, seen);
    read_field(json, what, "mbstd_num_channels", c.mbstd_num_channels, seen);
    read_field(json, what, "conv_clamp", c.conv_clamp, seen);
    read_field(json, what, "n_mapping_layers", c.n_mapping_layers, seen);
    read_field(json, what, "cmap_dim", c.cmap_dim, seen);
    read_field(json, what, "mapping_lr_multiplier", c.mapping_lr_multiplier, seen);
    reject_unknown(json, what, seen);
    return c;
}

}  // namespace facegen::model
