// facegen info MODEL: the model's options and metadata as JSON on stdout.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "model/model_file.h"

namespace facegen::app {
namespace {

struct InfoParams {
    std::string model;
    std::optional<double> set_truncation_psi;  // absent = leave the file alone

    void validate() const {
        if (model.empty()) throw make_error("give a model file: facegen info MODEL.safetensors");
    }
    std::string to_string() const { return "info: model=" + model; }
};

// Storage dtypes straight from the safetensors header (load_model_file converts to float32).
std::set<std::string> stored_dtypes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char size_bytes[8] = {};
    in.read(reinterpret_cast<char*>(size_bytes), sizeof(size_bytes));
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | size_bytes[i];
    std::string header(static_cast<size_t>(header_size), '\0');
    in.read(header.data(), static_cast<std::streamsize>(header.size()));
    if (!in) throw make_error("model '", path.string(), "': cannot read the safetensors header");
    const nlohmann::json entries = nlohmann::json::parse(header);
    std::set<std::string> dtypes;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (it.key() != "__metadata__" && it.value().contains("dtype")) dtypes.insert(it.value().at("dtype").get<std::string>());
    }
    return dtypes;
}

nlohmann::json json_or_string(const std::string& text) {
    if (text.empty()) return nullptr;
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

void run_info(const InfoParams& params) {
    params.validate();
    const std::filesystem::path path(params.model);
    if (!std::filesystem::exists(path)) throw make_error("model '", params.model, "': no such file");
    if (params.set_truncation_psi) model::set_model_truncation_psi(path, *params.set_truncation_psi);
    model::LoadedModel loaded = model::load_model_file(path, torch::kCPU, /*with_discriminator=*/true);  // validates everything
    int64_t n_parameters = 0, n_buffer_values = 0;
    for (const auto& p : loaded.generator->parameters()) n_parameters += p.numel();
    for (const auto& b : loaded.generator->buffers()) n_buffer_values += b.numel();
    const std::set<std::string> dtypes = stored_dtypes(path);

    nlohmann::json info;
    info["file"] = params.model;
    info["file_bytes"] = std::filesystem::file_size(path);
    info["format"] = model::kModelFormat;
    info["format_version"] = loaded.format_version;
    info["model_id"] = loaded.metadata.model_id;
    info["license"] = loaded.metadata.license;
    info["description"] = loaded.metadata.description;
    info["provenance"] = json_or_string(loaded.metadata.provenance_json);
    info["created"] = loaded.metadata.created;
    info["written_by_facegen"] = loaded.metadata.facegen_version;
    info["truncation_psi"] = model::recommended_truncation_psi(loaded.metadata);
    info["config"] = nlohmann::json::parse(model::to_json(loaded.config));
    info["num_ws"] = loaded.config.num_ws();
    info["parameters"] = n_parameters;
    info["buffer_values"] = n_buffer_values;
    if (loaded.discriminator) {
        int64_t d_parameters = 0;
        for (const auto& p : loaded.discriminator->parameters()) d_parameters += p.numel();
        info["discriminator"] = {{"config", nlohmann::json::parse(model::to_json(*loaded.discriminator_config))},
                                 {"parameters", d_parameters}};
    } else {
        info["discriminator"] = nullptr;  // generator only: --init-from starts a fresh D
    }
    info["file_dtype"] = dtypes.size() == 1 ? nlohmann::json(*dtypes.begin()) : nlohmann::json(dtypes);
    std::printf("%s\n", info.dump(2).c_str());
}

}  // namespace

void add_info_command(CLI::App& app) {
    auto params = std::make_shared<InfoParams>();
    CLI::App* cmd = app.add_subcommand("info", "Print a model file's options and metadata as JSON");
    cmd->add_option("model", params->model, "Model file (.safetensors)")->required();
    cmd->add_option_function<double>(
        "--set-truncation-psi", [params](const double& psi) { params->set_truncation_psi = psi; },
        "First record this psi (0..2) as the model's recommended truncation, the default of generate "
        "(metadata only: weights and model id stay)");
    cmd->callback([params] { run_info(*params); });
}

}  // namespace facegen::app
