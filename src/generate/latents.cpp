#include "generate/latents.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/npy.h"

namespace facegen::generate {
namespace {

std::string expected_shapes(const LatentDims& dims) {
    std::ostringstream out;
    out << "expected z [N, " << dims.z_dim << "], w [N, " << dims.w_dim << "] or ws [N, " << dims.num_ws << ", "
        << dims.w_dim << "]";
    return out.str();
}

std::string shape_text(const torch::Tensor& t) {
    std::ostringstream out;
    out << t.sizes();
    return out.str();
}

bool is_npz(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    in.read(magic, sizeof(magic));
    return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K';
}

}  // namespace

std::string to_string(LatentSpace space) {
    switch (space) {
        case LatentSpace::Z: return "z";
        case LatentSpace::W: return "w";
        case LatentSpace::WS: return "ws";
    }
    return "?";
}

Latents classify_latents(const torch::Tensor& array, const std::string& key, const LatentDims& dims,
                            const std::string& name) {
    const std::string where = key.empty() ? "'" + name + "'" : "'" + name + "' key '" + key + "'";
    Latents file;
    file.key = key;
    const bool z_name = key == "z";
    const bool w_name = key == "w" || key == "ws";
    if (array.dim() == 3 && !z_name && array.size(1) == dims.num_ws && array.size(2) == dims.w_dim) {
        file.space = LatentSpace::WS;
    } else if (array.dim() == 2 && !w_name && array.size(1) == dims.z_dim) {
        file.space = LatentSpace::Z;
    } else if (array.dim() == 2 && !z_name && array.size(1) == dims.w_dim) {
        file.space = LatentSpace::W;
    } else {
        throw make_error("latents ", where, " have shape ", shape_text(array), ": ", expected_shapes(dims));
    }
    if (array.size(0) == 0) throw make_error("latents ", where, " hold no vectors (N = 0)");
    file.values = array.to(torch::kFloat32).contiguous();
    if (!torch::isfinite(file.values).all().item<bool>()) {
        throw make_error("latents ", where, " contain NaN or infinite values");
    }
    return file;
}

Latents read_latent_file(const std::filesystem::path& path, const LatentDims& dims) {
    if (!std::filesystem::exists(path)) throw make_error("read latents '", path.string(), "' failed: no such file");
    const std::string name = path.string();
    if (!is_npz(path)) return classify_latents(core::read_npy(path), "", dims, name);

    const std::map<std::string, torch::Tensor> arrays = core::read_npz(path);
    for (const char* key : {"ws", "w", "z"}) {
        auto it = arrays.find(key);
        if (it != arrays.end()) return classify_latents(it->second, key, dims, name);
    }
    if (arrays.size() == 1) return classify_latents(arrays.begin()->second, arrays.begin()->first, dims, name);
    std::string keys;
    for (const auto& entry : arrays) keys += (keys.empty() ? "" : ", ") + entry.first;
    throw make_error("latents '", name, "' have no array named z, w or ws (found: ", keys.empty() ? "none" : keys, ")");
}

}  // namespace facegen::generate
