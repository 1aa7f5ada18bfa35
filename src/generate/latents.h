#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>

namespace facegen::generate {

/// Which latent space a user-supplied array lives in.
enum class LatentSpace { Z, W, WS };
std::string to_string(LatentSpace space);

/// Latent vectors read from a file, as float32 on the CPU.
struct Latents {
    LatentSpace space = LatentSpace::Z;
    /// Z: [N, z_dim]; W: [N, w_dim]; WS: [N, num_ws, w_dim].
    torch::Tensor values;
    /// The npz key it came from ("" for .npy).
    std::string key;
};

/// Sizes of the model the latents are for.
struct LatentDims {
    int64_t z_dim = 0;
    int64_t w_dim = 0;
    int64_t num_ws = 0;
};

/// Reads z, w or ws vectors from a .npy or .npz file (float32 or float64, C order) and
/// decides their space:
///  - .npz: key "z" is z; key "w" or "ws" is w ([N, w_dim]) or ws ([N, num_ws, w_dim]),
///    by rank (the official projector writes projected_w.npz with w [1, num_ws, w_dim]);
///    an archive with one array of another name is treated like a .npy.
///  - .npy: rank 3 [N, num_ws, w_dim] is ws; rank 2 [N, z_dim] is z and [N, w_dim] is w;
///    when z_dim == w_dim a rank-2 array is z (store w vectors under key "w" in an .npz).
/// Throws facegen::Error naming the file and the shape it found versus those expected,
/// and for non-finite values or N == 0.
Latents read_latent_file(const std::filesystem::path& path, const LatentDims& dims);

/// Classifies an array already read (see read_latent_file); `key` may be "".
Latents classify_latents(const torch::Tensor& array, const std::string& key, const LatentDims& dims,
                            const std::string& name);

}  // namespace facegen::generate
