#include "synth/label_files.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "attributes/catalogue.h"
#include "core/atomic_file.h"
#include "core/npy.h"

namespace facegen::synth {

void write_labels_csv(const std::filesystem::path& path, const std::vector<ImageRecord>& records, const CellGrid& grid) {
    std::ostringstream csv;
    csv << "file,cell";
    for (const BalanceGroup& group : grid.groups()) csv << "," << group.name << (group.name == "age" ? "_band" : "");
    csv << ",age,seed,edited\n";
    const auto age = static_cast<size_t>(attributes::attribute_index("age"));
    for (const ImageRecord& r : records) {
        csv << r.file << "," << r.cell;
        const nlohmann::json classes = grid.describe(grid.index_of(r.cell));
        for (const BalanceGroup& group : grid.groups()) csv << "," << classes[group.name].get<std::string>();
        // The classifier's age is linear in its output and reads some babies below 0 years:
        // a label says 0 (labels.json keeps the score as read).
        csv << "," << std::max(0L, std::lround(r.scores[age])) << "," << r.seed << "," << (r.edit.empty() ? 0 : 1) << "\n";
    }
    core::write_file_atomically(path, csv.str());
}

void write_labels_json(const std::filesystem::path& path, const std::vector<ImageRecord>& records, const CellGrid& grid) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t row = 0; row < records.size(); ++row) {
        nlohmann::json j = records[row].to_json(/*with_latent=*/false);
        j["classes"] = grid.describe(grid.index_of(records[row].cell));
        j["latent_row"] = row;
        out.push_back(std::move(j));
    }
    core::write_file_atomically(path, out.dump(1) + "\n");
}

void write_latents_npy(const std::filesystem::path& path, const std::vector<ImageRecord>& records, int64_t num_ws) {
    const int64_t w_dim = records.empty() ? 0 : static_cast<int64_t>(records.front().w.size());
    torch::Tensor w = torch::empty({static_cast<int64_t>(records.size()), w_dim}, torch::kFloat32);
    for (size_t i = 0; i < records.size(); ++i) {
        TORCH_CHECK(static_cast<int64_t>(records[i].w.size()) == w_dim, "latent of ", records[i].file, " has another size");
        std::copy(records[i].w.begin(), records[i].w.end(), w[static_cast<int64_t>(i)].data_ptr<float>());
    }
    // Every layer used the same w: ws repeats it, and a rank-3 array is read as ws unambiguously.
    core::write_file_atomically(path, core::npy_bytes(w.unsqueeze(1).expand({-1, num_ws, -1}).contiguous()));
}

}  // namespace facegen::synth
