#pragma once

#include <torch/types.h>

#include <filesystem>
#include <map>
#include <string>

namespace facegen::core {

/// Parses the bytes of a NumPy .npy file (format versions 1-3) holding a little-endian
/// float32 ('<f4') or float64 ('<f8') array in C order. Returns a CPU tensor of that dtype
/// and shape. `name` is used in error messages. Anything else (Fortran order, other
/// dtypes, big-endian, object arrays, a truncated file) throws facegen::Error.
torch::Tensor parse_npy(const std::string& bytes, const std::string& name);

/// Reads a .npy file (see parse_npy).
torch::Tensor read_npy(const std::filesystem::path& path);

/// True when this facegen was built with libzip and can read .npz files.
bool npz_supported();

/// Reads every array of a .npz archive (np.savez or np.savez_compressed), keyed by the
/// array's name without the ".npy" suffix. Throws facegen::Error when facegen was built
/// without libzip ("built without npz support") or the archive is unreadable.
std::map<std::string, torch::Tensor> read_npz(const std::filesystem::path& path);

/// The bytes of a .npy file (format 1.0, C order) holding `array` as little-endian float32
/// ('<f4'), whatever its floating dtype or device.
std::string npy_bytes(const torch::Tensor& array);

/// Writes arrays as an uncompressed .npz archive (as np.savez), each under "<key>.npy",
/// atomically (a temporary file beside `path`, then renamed): an existing file is replaced
/// only by a complete archive. Throws facegen::Error naming the file when it cannot be
/// written, or when facegen was built without libzip.
void write_npz(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& arrays);

}  // namespace facegen::core
