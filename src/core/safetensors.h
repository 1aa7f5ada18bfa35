#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

// Generic safetensors reader/writer (https://github.com/huggingface/safetensors format:
// u64 little-endian header size, JSON header {name: {dtype, shape, data_offsets}, and an
// optional "__metadata__" of string values}, then the raw little-endian tensor bytes).
namespace facegen::core {

struct SafetensorsFile {
    std::map<std::string, torch::Tensor> tensors;    // CPU, dtype as stored
    std::map<std::string, std::string> metadata;
};

/// Reads and validates a whole file (header size vs file size, JSON, dtypes, shapes vs
/// byte ranges, offsets contiguous and in bounds). Every problem is a facegen::Error
/// naming the file. Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
SafetensorsFile read_safetensors(const std::filesystem::path& path);

/// Writes tensors (any device, contiguous or not; stored as their dtype) in name order,
/// streaming tensor by tensor (no whole-file buffer), atomically via write_atomically.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// safetensors dtype name ("F32", ...) <-> torch dtype; parse throws facegen::Error.
std::string safetensors_dtype_name(torch::Dtype dtype);

}  // namespace facegen::core
