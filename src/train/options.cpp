#include "train/options.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"

namespace facegen::train {

AugmentMode parse_augment_mode(const std::string& text) {
    if (text == "ada") return AugmentMode::ADA;
    if (text == "fixed") return AugmentMode::Fixed;
    if (text == "noaug") return AugmentMode::None;
    throw make_error("unknown augmentation mode '", text, "' (expected ada, fixed or noaug)");
}

std::string to_string(AugmentMode mode) {
    switch (mode) {
        case AugmentMode::ADA: return "ada";
        case AugmentMode::Fixed: return "fixed";
        case AugmentMode::None: return "noaug";
    }
    return "?";
}

void TrainOptions::resolve(int64_t world_size, bool on_cuda) {
    if (world_size < 1) throw make_error("world size must be >= 1, got ", world_size);
    if (resolution < 4 || (resolution & (resolution - 1)) != 0)
        throw make_error("training resolution must be a power of two >= 4, got ", resolution);
    // Official train.py, cfg_specs['auto'] ("populated dynamically based on resolution and GPU count").
    if (batch < 0) batch = std::max<int64_t>(std::min<int64_t>(world_size * std::min<int64_t>(4096 / resolution, 32), 64), world_size);
    if (batch_gpu == 0 && batch > 0) batch_gpu = batch / world_size;
    if (mbstd_group < 0) mbstd_group = std::min<int64_t>(batch / world_size, 4);
    if (channel_base < 0) channel_base = resolution >= 512 ? 32768 : 16384;
    if (g_lr < 0) g_lr = resolution >= 1024 ? 0.002 : 0.0025;
    if (d_lr < 0) d_lr = resolution >= 1024 ? 0.002 : 0.0025;
    if (gamma < 0) gamma = 0.0002 * double(resolution * resolution) / double(batch);
    if (ema_kimg < 0) ema_kimg = double(batch) * 10.0 / 32.0;
    // Official train.py: float16 in the 4 highest resolutions with conv_clamp 256 unless --fp32.
    // On a CPU reduced precision only slows training down, so auto is fp32 there.
    if (precision == "auto") precision = on_cuda ? "fp16" : "fp32";
    if (conv_clamp < 0) conv_clamp = precision != "fp32" && low_precision_res > 0 ? 256 : 0;
    validate(world_size);
}

void TrainOptions::validate(int64_t world_size) const {
    auto need = [](bool ok, const char* field, auto value, const std::string& rule) {
        if (!ok) throw make_error("bad training option ", field, " = ", value, ": ", rule);
    };
    need(batch >= 1, "batch", batch, "must be >= 1");
    need(batch % world_size == 0, "batch", batch, "must be divisible by the number of processes");
    need(batch_gpu >= 1 && (batch / world_size) % batch_gpu == 0, "batch_gpu", batch_gpu,
         "must divide the per-process batch (batch / processes)");
    need(mbstd_group >= 0, "mbstd_group", mbstd_group, "must be >= 0");
    need(mbstd_group == 0 || batch_gpu % mbstd_group == 0 || mbstd_group >= batch_gpu, "mbstd_group", mbstd_group,
         "must divide batch_gpu " + std::to_string(batch_gpu));
    need(z_dim >= 1, "z_dim", z_dim, "must be >= 1");
    need(w_dim >= 1, "w_dim", w_dim, "must be >= 1");
    need(map_layers >= 1, "map_layers", map_layers, "must be >= 1");
    need(channel_base >= 1, "channel_base", channel_base, "must be >= 1");
    need(channel_max >= 1, "channel_max", channel_max, "must be >= 1");
    need(g_lr > 0, "g_lr", g_lr, "must be > 0");
    need(d_lr > 0, "d_lr", d_lr, "must be > 0");
    need(adam_beta1 >= 0 && adam_beta1 < 1, "adam_beta1", adam_beta1, "must be in [0, 1)");
    need(adam_beta2 >= 0 && adam_beta2 < 1, "adam_beta2", adam_beta2, "must be in [0, 1)");
    need(gamma >= 0, "gamma", gamma, "must be >= 0");
    need(g_reg_interval >= 0, "g_reg_interval", g_reg_interval, "must be >= 0");
    need(d_reg_interval >= 0, "d_reg_interval", d_reg_interval, "must be >= 0");
    need(pl_weight >= 0, "pl_weight", pl_weight, "must be >= 0");
    need(pl_decay >= 0 && pl_decay <= 1, "pl_decay", pl_decay, "must be in [0, 1]");
    need(pl_batch_shrink >= 1, "pl_batch_shrink", pl_batch_shrink, "must be >= 1");
    need(style_mixing >= 0 && style_mixing <= 1, "style_mixing", style_mixing, "must be in [0, 1]");
    need(ema_kimg >= 0, "ema_kimg", ema_kimg, "must be >= 0");
    need(ema_rampup >= 0, "ema_rampup", ema_rampup, "must be >= 0");
    need(target > 0 && target < 1, "target", target, "must be in (0, 1)");
    need(aug_p >= 0 && aug_p <= 1, "aug_p", aug_p, "must be in [0, 1]");
    need(ada_interval >= 1, "ada_interval", ada_interval, "must be >= 1");
    need(ada_kimg > 0, "ada_kimg", ada_kimg, "must be > 0");
    need(kimg > 0, "kimg", kimg, "must be > 0");
    need(tick_kimg > 0, "tick_kimg", tick_kimg, "must be > 0");
    need(snap_kimg >= 0, "snap_kimg", snap_kimg, "must be >= 0");
    need(snap_minutes >= 0, "snap_minutes", snap_minutes, "must be >= 0");
    need(image_kimg >= 0, "image_kimg", image_kimg, "must be >= 0");
    need(metrics_kimg >= 0, "metrics_kimg", metrics_kimg, "must be >= 0");
    need(keep_checkpoints >= 1, "keep_checkpoints", keep_checkpoints, "must be >= 1");
    need(img_channels >= 1, "img_channels", img_channels, "must be >= 1");
    need(conv_clamp >= 0, "conv_clamp", conv_clamp, "must be >= 0 (0 = no clamp)");
    need(low_precision_res >= 0, "low_precision_res", low_precision_res, "must be >= 0");
    need(precision == "fp32" || precision == "fp16" || precision == "bf16", "precision", precision,
         "must be fp32, fp16, bf16 or auto");
    generator_config().validate();
    discriminator_config().validate();
}

model::GeneratorConfig TrainOptions::generator_config() const {
    model::GeneratorConfig config;
    config.z_dim = z_dim;
    config.w_dim = w_dim;
    config.resolution = resolution;
    config.img_channels = img_channels;
    config.channel_base = channel_base;
    config.channel_max = channel_max;
    config.n_mapping_layers = map_layers;
    config.conv_clamp = conv_clamp;
    return config;
}

model::MixedPrecision TrainOptions::mixed_precision() const {
    model::MixedPrecision mixed;
    mixed.dtype = model::parse_compute_dtype(precision);
    mixed.num_res = low_precision_res;
    return mixed;
}

model::DiscriminatorConfig TrainOptions::discriminator_config() const {
    model::DiscriminatorConfig config;
    config.resolution = resolution;
    config.img_channels = img_channels;
    config.channel_base = channel_base;
    config.channel_max = channel_max;
    config.mbstd_group_size = mbstd_group;
    config.conv_clamp = conv_clamp;
    return config;
}

namespace {

// JSON of one field: numbers keep their C++ type (integer, unsigned, float), so that a
// written file reads back the same; the augmentation mode is its name.
nlohmann::json field_json(AugmentMode mode) { return to_string(mode); }
template <typename T>
nlohmann::json field_json(const T& value) {
    return value;
}

void read_field(const nlohmann::json& value, const char* name, AugmentMode& field) {
    if (!value.is_string()) throw make_error("training option ", name, " = ", value.dump(), ": expected a name");
    field = parse_augment_mode(value.get<std::string>());
}
void read_field(const nlohmann::json& value, const char* name, std::string& field) {
    if (!value.is_string()) throw make_error("training option ", name, " = ", value.dump(), ": expected a string");
    field = value.get<std::string>();
}
void read_field(const nlohmann::json& value, const char* name, double& field) {
    if (!value.is_number()) throw make_error("training option ", name, " = ", value.dump(), ": expected a number");
    field = value.get<double>();
}
void read_field(const nlohmann::json& value, const char* name, int64_t& field) {
    if (!value.is_number_integer()) {
        throw make_error("training option ", name, " = ", value.dump(), ": expected a whole number");
    }
    field = value.get<int64_t>();
}
void read_field(const nlohmann::json& value, const char* name, uint64_t& field) {
    if (!value.is_number_unsigned()) {
        throw make_error("training option ", name, " = ", value.dump(), ": expected a whole number >= 0");
    }
    field = value.get<uint64_t>();
}

}  // namespace

nlohmann::json to_json(const TrainOptions& options) {
    nlohmann::json out = nlohmann::json::object();
    for_each_train_option(options, [&out](const char* name, const auto& field, const char*) { out[name] = field_json(field); });
    return out;
}

TrainOptions train_options_from_json(const nlohmann::json& json, TrainOptions defaults) {
    if (!json.is_object()) throw make_error("training options ", json.dump(), ": expected a JSON object");
    size_t known = 0;
    for_each_train_option(defaults, [&](const char* name, auto& field, const char*) {
        const auto it = json.find(name);
        if (it == json.end()) return;
        read_field(*it, name, field);
        ++known;
    });
    if (known != json.size()) {
        const nlohmann::json names = to_json(defaults);
        for (const auto& [key, value] : json.items()) {
            if (!names.contains(key)) throw make_error("unknown training option '", key, "' = ", value.dump());
        }
    }
    return defaults;
}

std::string to_string(const TrainOptions& options) {
    std::ostringstream out;
    // Named: a range-for over `to_json(options).items()` would iterate a destroyed temporary.
    const nlohmann::json fields = to_json(options);
    for (const auto& [key, value] : fields.items()) out << "  " << key << " = " << value.dump() << "\n";
    return out.str();
}

}  // namespace facegen::train
