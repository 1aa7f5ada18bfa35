#include "model/model_file.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/versioned_safetensors.h"
#include "facegen/core/version.h"

namespace facegen::model {
namespace {

std::string shape_string(torch::IntArrayRef shape) {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << "]";
    return out.str();
}

std::string utc_now_iso() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

constexpr const char* kTruncationPsiKey = "truncation_psi";

const core::FileFormat kModelFileFormat{kModelFormat, "model file", /*oldest_version=*/1, kModelFormatVersion,
                                        "convert official pickles with scripts/convert_official.py"};

// Psi is a blend weight towards the average face: 0 gives the average itself, above 1
// exaggerates; beyond 2 images fall apart, so such a value in a file is an error.
constexpr double kMaxTruncationPsi = 2.0;

bool is_valid_truncation_psi(double psi) { return std::isfinite(psi) && psi >= 0.0 && psi <= kMaxTruncationPsi; }

std::string format_psi(double psi) {
    std::ostringstream out;
    out.precision(10);
    out << psi;
    return out.str();
}

std::optional<double> parse_psi(const std::string& text) {
    try {
        size_t used = 0;
        const double psi = std::stod(text, &used);
        if (used == text.size() && is_valid_truncation_psi(psi)) return psi;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::map<std::string, torch::Tensor> state_of(const torch::nn::Module& module) {
    std::map<std::string, torch::Tensor> state;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) state[item.key()] = item.value();
    for (const auto& item : module.named_buffers(/*recurse=*/true)) state[item.key()] = item.value();
    return state;
}

// Official checkpoints carry the FIR filters as buffers; they are constants here.
bool is_derived_constant(const std::string& name) {
    const std::string suffix = "resample_filter";
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

template <typename... Parts>
Error model_error(const std::filesystem::path& path, Parts&&... parts) {
    return make_error("model '", path.string(), "': ", std::forward<Parts>(parts)...);
}

std::string metadata_value(const std::map<std::string, std::string>& metadata, const std::string& key) {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
}

// Copies `source` tensors (names relative to the module) into the module's `state`,
// refusing unknown, missing, wrongly typed and wrongly shaped tensors. `what` names the
// network in messages ("generator", "discriminator"), `prefix` the names' prefix in the file.
void copy_checked_state(const std::filesystem::path& path, const std::string& what, const std::string& prefix,
                        std::map<std::string, torch::Tensor>& state, const std::map<std::string, torch::Tensor>& source) {
    for (const auto& [name, tensor] : source) {
        if (is_derived_constant(name)) continue;
        if (!state.count(name))
            throw model_error(path, "unknown tensor '", prefix, name, "' for the declared config (wrong config or not a ",
                              what, "?)");
    }
    for (auto& [name, target] : state) {
        auto it = source.find(name);
        if (it == source.end()) throw model_error(path, "tensor '", prefix, name, "' is missing");
        const torch::Tensor& tensor = it->second;
        const auto dtype = tensor.scalar_type();
        if (dtype != torch::kFloat32 && dtype != torch::kFloat16 && dtype != torch::kBFloat16)
            throw model_error(path, "tensor '", prefix, name, "' has dtype ", core::safetensors_dtype_name(dtype),
                              ", expected F32, F16 or BF16");
        if (tensor.sizes() != target.sizes())
            throw model_error(path, "tensor '", prefix, name, "' has shape ", shape_string(tensor.sizes()), ", expected ",
                              shape_string(target.sizes()), " for the declared config");
        target.copy_(tensor.to(torch::kFloat32));
    }
}

}  // namespace

std::string model_content_hash(const std::map<std::string, torch::Tensor>& tensors) {
    uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64-bit offset basis
    const auto feed = [&hash](const unsigned char* data, size_t size) {
        for (size_t i = 0; i < size; ++i) {
            hash ^= data[i];
            hash *= 0x100000001b3ull;  // FNV-1a 64-bit prime
        }
    };
    for (const auto& [name, tensor] : tensors) {
        feed(reinterpret_cast<const unsigned char*>(name.data()), name.size());
        const torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();
        feed(static_cast<const unsigned char*>(data.data_ptr()), data.nbytes());
    }
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

std::map<std::string, std::vector<int64_t>> expected_model_tensors(const GeneratorConfig& config) {
    torch::NoGradGuard no_grad;
    Generator generator(config);
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& [name, tensor] : state_of(*generator)) shapes[name] = tensor.sizes().vec();
    return shapes;
}

std::string save_model_file(const std::filesystem::path& path, Generator& generator, ModelMetadata metadata,
                            torch::Dtype storage_dtype, Discriminator* discriminator) {
    TORCH_CHECK(storage_dtype == torch::kFloat32 || storage_dtype == torch::kFloat16 || storage_dtype == torch::kBFloat16,
                "save_model_file: storage dtype must be float32, float16 or bfloat16, got ", c10::toString(storage_dtype));
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [name, tensor] : state_of(*generator)) {
        tensors[name] = tensor.detach().to(torch::kCPU, storage_dtype).contiguous();
    }
    if (metadata.provenance_json.empty()) metadata.provenance_json = "{}";
    if (!nlohmann::json::accept(metadata.provenance_json))
        throw make_error("save model '", path.string(), "': provenance is not valid JSON: ", metadata.provenance_json);
    metadata.model_id = model_content_hash(tensors);  // before the discriminator joins
    metadata.created = utc_now_iso();
    metadata.facegen_version = kVersion;
    std::map<std::string, std::string> header = core::format_metadata(kModelFileFormat, discriminator ? 2 : 1);
    header.insert({
        {"generator_config", to_json(generator->config())},
        {"model_id", metadata.model_id},
        {"license", metadata.license},
        {"provenance", metadata.provenance_json},
        {"description", metadata.description},
        {"created", metadata.created},
        {"facegen_version", metadata.facegen_version},
    });
    if (metadata.truncation_psi) {
        if (!is_valid_truncation_psi(*metadata.truncation_psi))
            throw make_error("save model '", path.string(), "': truncation psi ", *metadata.truncation_psi,
                             " is not in 0..", kMaxTruncationPsi);
        header[kTruncationPsiKey] = format_psi(*metadata.truncation_psi);
    }
    if (discriminator) {
        header["discriminator_config"] = to_json((*discriminator)->config());
        for (const auto& [name, tensor] : state_of(**discriminator))
            tensors[kDiscriminatorPrefix + name] = tensor.detach().to(torch::kCPU, storage_dtype).contiguous();
    }
    core::write_safetensors(path, tensors, header);
    return metadata.model_id;
}

LoadedModel load_model_file(const std::filesystem::path& path, torch::Device device, bool with_discriminator) {
    auto [file, format_version] = core::read_versioned_safetensors(path, kModelFileFormat);
    const auto& meta = file.metadata;
    if (!meta.count("generator_config")) throw model_error(path, "metadata lacks generator_config");
    GeneratorConfig config;
    try {
        config = generator_config_from_json(meta.at("generator_config"));
        config.validate();
    } catch (const Error& e) {
        throw model_error(path, e.what());
    }
    const std::string provenance = metadata_value(meta, "provenance");
    if (!provenance.empty() && !nlohmann::json::accept(provenance))
        throw model_error(path, "provenance metadata is not valid JSON");

    std::optional<DiscriminatorConfig> d_config;
    if (meta.count("discriminator_config")) {
        try {
            d_config = discriminator_config_from_json(meta.at("discriminator_config"));
            d_config->validate();
        } catch (const Error& e) {
            throw model_error(path, e.what());
        }
    }
    // The discriminator's tensors carry a prefix; everything else belongs to the generator.
    const std::string d_prefix = kDiscriminatorPrefix;
    std::map<std::string, torch::Tensor> g_source, d_source;
    for (const auto& [name, tensor] : file.tensors) {
        if (name.rfind(d_prefix, 0) != 0) {
            g_source[name] = tensor;
        } else if (!d_config) {
            throw model_error(path, "tensor '", name, "' belongs to a discriminator but the metadata has no "
                              "discriminator_config");
        } else {
            d_source[name.substr(d_prefix.size())] = tensor;
        }
    }

    torch::NoGradGuard no_grad;
    Generator generator(config);
    auto state = state_of(*generator);
    copy_checked_state(path, "generator", "", state, g_source);
    generator->to(device);
    generator->eval();

    Discriminator discriminator{nullptr};
    if (with_discriminator && d_config) {
        discriminator = Discriminator(*d_config);
        auto d_state = state_of(*discriminator);
        copy_checked_state(path, "discriminator", d_prefix, d_state, d_source);
        discriminator->to(device);
    }

    LoadedModel loaded{generator, config, {}, format_version, d_config, discriminator};
    loaded.metadata.model_id = metadata_value(meta, "model_id");
    loaded.metadata.license = metadata_value(meta, "license");
    loaded.metadata.provenance_json = provenance;
    loaded.metadata.description = metadata_value(meta, "description");
    loaded.metadata.created = metadata_value(meta, "created");
    loaded.metadata.facegen_version = metadata_value(meta, "facegen_version");
    if (meta.count(kTruncationPsiKey)) {
        loaded.metadata.truncation_psi = parse_psi(meta.at(kTruncationPsiKey));
        if (!loaded.metadata.truncation_psi)
            throw model_error(path, "bad truncation_psi '", meta.at(kTruncationPsiKey), "' (expected a number in 0..",
                              kMaxTruncationPsi, ")");
    }
    return loaded;
}

double recommended_truncation_psi(const ModelMetadata& metadata) { return metadata.truncation_psi.value_or(1.0); }

void set_model_truncation_psi(const std::filesystem::path& path, double psi) {
    if (!is_valid_truncation_psi(psi))
        throw model_error(path, "truncation psi ", psi, " is not in 0..", kMaxTruncationPsi);
    load_model_file(path);  // refuses anything that is not a sound model file before it is rewritten
    core::SafetensorsFile file = core::read_safetensors(path);
    file.metadata[kTruncationPsiKey] = format_psi(psi);
    core::write_safetensors(path, file.tensors, file.metadata);
}

}  // namespace facegen::model
