#include "train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "core/error.h"
#include "core/safetensors.h"
#include "core/versioned_safetensors.h"
#include "facegen/core/version.h"
#include "model/model_file.h"

namespace facegen::train {

namespace {

const core::FileFormat kCheckpointFormat{"facegen-train-checkpoint", "training checkpoint", /*oldest_version=*/1,
                                         /*newest_version=*/1, ""};

}  // namespace

void write_checkpoint_file(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                           const nlohmann::json& state, const TrainOptions& options) {
    std::map<std::string, std::string> metadata = core::format_metadata(kCheckpointFormat, kCheckpointFormat.newest_version);
    metadata.insert({{"state", state.dump()},
                     {"options", to_json(options).dump()},
                     {"generator_config", model::to_json(options.generator_config())},
                     {"discriminator_config", model::to_json(options.discriminator_config())},
                     {"facegen_version", kVersion}});
    // safetensors has no checksum: without one a damaged byte in the weights would load
    // silently and poison the rest of the run.
    metadata["content_hash"] = model::model_content_hash(tensors);
    std::filesystem::create_directories(path.parent_path().empty() ? "." : path.parent_path());
    core::write_safetensors(path, tensors, metadata);
}

CheckpointFile read_checkpoint_file(const std::filesystem::path& path, const TrainOptions& options) {
    core::SafetensorsFile file = core::read_versioned_safetensors(path, kCheckpointFormat).file;
    auto meta = [&](const std::string& key) -> const std::string& {
        const auto it = file.metadata.find(key);
        if (it == file.metadata.end())
            throw make_error("checkpoint '", path.string(), "' is not a facegen training checkpoint (no '", key,
                             "' in its metadata)");
        return it->second;
    };
    if (const auto it = file.metadata.find("content_hash"); it != file.metadata.end()) {
        const std::string actual = model::model_content_hash(file.tensors);
        if (actual != it->second)
            throw make_error("checkpoint '", path.string(), "' is corrupted: its tensors hash to ", actual,
                             " but it was written with ", it->second,
                             " (a damaged or altered byte); resume from an earlier checkpoint");
    }
    const auto g_config = model::generator_config_from_json(meta("generator_config"));
    const auto d_config = model::discriminator_config_from_json(meta("discriminator_config"));
    if (g_config != options.generator_config() || d_config != options.discriminator_config())
        throw make_error("checkpoint '", path.string(), "' is for another architecture: generator ",
                         meta("generator_config"), ", discriminator ", meta("discriminator_config"),
                         "; this run has generator ", model::to_json(options.generator_config()), ", discriminator ",
                         model::to_json(options.discriminator_config()));
    CheckpointFile out;
    try {
        out.state = nlohmann::json::parse(meta("state"));
        (void)out.state.at("cur_nimg").get<int64_t>();
        (void)out.state.at("batch_idx").get<int64_t>();
        (void)out.state.at("data").at("epoch").get<int64_t>();
    } catch (const std::exception& e) {
        throw make_error("checkpoint '", path.string(), "' has a malformed state record: ", e.what());
    }
    out.tensors = std::move(file.tensors);
    return out;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& out_dir, int64_t cur_nimg) {
    char name[64];
    std::snprintf(name, sizeof(name), "checkpoint-%09lld.safetensors", static_cast<long long>(cur_nimg));
    return out_dir / "checkpoints" / name;
}

std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& out_dir) {
    std::vector<std::filesystem::path> out;
    const auto dir = out_dir / "checkpoints";
    if (!std::filesystem::is_directory(dir)) return out;
    static const std::regex pattern("checkpoint-[0-9]{9,}\\.safetensors");
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file() && std::regex_match(entry.path().filename().string(), pattern))
            out.push_back(entry.path());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        const auto sa = a.filename().string(), sb = b.filename().string();
        return sa.size() != sb.size() ? sa.size() < sb.size() : sa < sb;
    });
    return out;
}

std::filesystem::path resolve_resume(const std::string& spec, const std::filesystem::path& out_dir) {
    if (spec != "latest") {
        if (!std::filesystem::is_regular_file(spec)) throw make_error("resume checkpoint '", spec, "': no such file");
        return spec;
    }
    const auto all = list_checkpoints(out_dir);
    if (all.empty())
        throw make_error("resume 'latest': no checkpoint in '", (out_dir / "checkpoints").string(), "'");
    return all.back();
}

void prune_checkpoints(const std::filesystem::path& out_dir, int64_t keep) {
    auto all = list_checkpoints(out_dir);
    for (int64_t i = 0; i + keep < int64_t(all.size()); ++i) {
        std::error_code ignored;
        std::filesystem::remove(all[i], ignored);
    }
}

// ---------------------------------------------------------------------------------------
// The run

}  // namespace facegen::train
