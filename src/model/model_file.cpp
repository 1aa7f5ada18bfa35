#include "model/model_file.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "core/error.h"
#include "core/safetensors.h"
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
                            torch::Dtype storage_dtype) {
    TORCH_CHECK(storage_dtype == torch::kFloat32 || storage_dtype == torch::kFloat16 || storage_dtype == torch::kBFloat16,
                "save_model_file: storage dtype must be float32, float16 or bfloat16, got ", c10::toString(storage_dtype));
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [name, tensor] : state_of(*generator)) {
        tensors[name] = tensor.detach().to(torch::kCPU, storage_dtype).contiguous();
    }
    if (metadata.provenance_json.empty()) metadata.provenance_json = "{}";
    if (!nlohmann::json::accept(metadata.provenance_json))
        throw make_error("save model '", path.string(), "': provenance is not valid JSON: ", metadata.provenance_json);
    metadata.model_id = model_content_hash(tensors);
    metadata.created = utc_now_iso();
    metadata.facegen_version = kVersion;
    const std::map<std::string, std::string> header = {
        {"format", kModelFormat},
        {"format_version", std::to_string(kModelFormatVersion)},
        {"generator_config", to_json(generator->config())},
        {"model_id", metadata.model_id},
        {"license", metadata.license},
        {"provenance", metadata.provenance_json},
        {"description", metadata.description},
        {"created", metadata.created},
        {"facegen_version", metadata.facegen_version},
    };
    core::write_safetensors(path, tensors, header);
    return metadata.model_id;
}

LoadedModel load_model_file(const std::filesystem::path& path, torch::Device device) {
    core::SafetensorsFile file = core::read_safetensors(path);
    const auto& meta = file.metadata;
    if (metadata_value(meta, "format") != kModelFormat)
        throw model_error(path, "not a facegen model file (its metadata has no format \"", kModelFormat,
                          "\"; convert official pickles with scripts/convert_official.py)");
    int format_version = 0;
    const std::string version_text = metadata_value(meta, "format_version");
    try {
        size_t used = 0;
        format_version = std::stoi(version_text, &used);
        if (used != version_text.size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
        throw model_error(path, "bad format_version '", version_text, "'");
    }
    if (format_version < 1 || format_version > kModelFormatVersion)
        throw model_error(path, "format_version ", format_version, " is not supported (this facegen reads up to ",
                          kModelFormatVersion, "; written by a newer facegen?)");
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

    torch::NoGradGuard no_grad;
    Generator generator(config);
    auto state = state_of(*generator);
    for (const auto& [name, tensor] : file.tensors) {
        if (is_derived_constant(name)) continue;
        if (!state.count(name))
            throw model_error(path, "unknown tensor '", name, "' for the declared config (wrong config or not a generator?)");
    }
    for (auto& [name, target] : state) {
        auto it = file.tensors.find(name);
        if (it == file.tensors.end()) throw model_error(path, "tensor '", name, "' is missing");
        const torch::Tensor& source = it->second;
        const auto dtype = source.scalar_type();
        if (dtype != torch::kFloat32 && dtype != torch::kFloat16 && dtype != torch::kBFloat16)
            throw model_error(path, "tensor '", name, "' has dtype ", core::safetensors_dtype_name(dtype),
                              ", expected F32, F16 or BF16");
        if (source.sizes() != target.sizes())
            throw model_error(path, "tensor '", name, "' has shape ", shape_string(source.sizes()), ", expected ",
                              shape_string(target.sizes()), " for the declared config");
        target.copy_(source.to(torch::kFloat32));
    }
    generator->to(device);
    generator->eval();

    LoadedModel loaded{generator, config, {}, format_version};
    loaded.metadata.model_id = metadata_value(meta, "model_id");
    loaded.metadata.license = metadata_value(meta, "license");
    loaded.metadata.provenance_json = provenance;
    loaded.metadata.description = metadata_value(meta, "description");
    loaded.metadata.created = metadata_value(meta, "created");
    loaded.metadata.facegen_version = metadata_value(meta, "facegen_version");
    return loaded;
}

}  // namespace facegen::model
