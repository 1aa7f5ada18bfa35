#include "core/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"

namespace facegen::core {
namespace {

// A header larger than this is certainly not a real one (the reference implementation
// uses the same 100 MB bound) and would only make us allocate garbage sizes.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

struct DtypeEntry {
    const char* name;
    torch::Dtype dtype;
};
const DtypeEntry kDtypes[] = {{"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
                              {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},  {"I32", torch::kInt32},
                              {"I16", torch::kInt16},    {"I8", torch::kInt8},     {"U8", torch::kUInt8},
                              {"BOOL", torch::kBool}};

bool parse_dtype(const std::string& name, torch::Dtype& dtype) {
    for (const auto& entry : kDtypes) {
        if (name == entry.name) {
            dtype = entry.dtype;
            return true;
        }
    }
    return false;
}

bool host_is_little_endian() {
    const uint16_t probe = 1;
    uint8_t first = 0;
    std::memcpy(&first, &probe, 1);
    return first == 1;
}

struct Entry {
    std::string name;
    torch::Dtype dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
};

template <typename... Parts>
Error file_error(const std::filesystem::path& path, Parts&&... parts) {
    return make_error("safetensors file '", path.string(), "': ", std::forward<Parts>(parts)...);
}

Entry parse_entry(const std::filesystem::path& path, const std::string& name, const nlohmann::json& value) {
    Entry entry;
    entry.name = name;
    if (!value.is_object()) throw file_error(path, "tensor '", name, "' entry is not an object");
    const auto dtype = value.find("dtype");
    const auto shape = value.find("shape");
    const auto offsets = value.find("data_offsets");
    if (dtype == value.end() || shape == value.end() || offsets == value.end())
        throw file_error(path, "tensor '", name, "' lacks dtype, shape or data_offsets");
    if (!dtype->is_string() || !parse_dtype(dtype->get<std::string>(), entry.dtype))
        throw file_error(path, "tensor '", name, "' has unsupported dtype ", dtype->dump());
    if (!shape->is_array()) throw file_error(path, "tensor '", name, "' shape is not a list");
    uint64_t numel = 1;
    for (const auto& dim : *shape) {
        if (!dim.is_number_unsigned()) throw file_error(path, "tensor '", name, "' has a bad shape ", shape->dump());
        const uint64_t size = dim.get<uint64_t>();
        if (size > 0 && numel > std::numeric_limits<uint64_t>::max() / size / 8)
            throw file_error(path, "tensor '", name, "' shape ", shape->dump(), " is too large");
        numel *= size;
        entry.shape.push_back(static_cast<int64_t>(size));
    }
    if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned())
        throw file_error(path, "tensor '", name, "' has bad data_offsets ", offsets->dump());
    entry.begin = (*offsets)[0].get<uint64_t>();
    entry.end = (*offsets)[1].get<uint64_t>();
    const uint64_t expected_bytes = numel * c10::elementSize(entry.dtype);
    if (entry.end < entry.begin || entry.end - entry.begin != expected_bytes)
        throw file_error(path, "tensor '", name, "' data_offsets ", offsets->dump(), " hold ",
                         entry.end < entry.begin ? 0 : entry.end - entry.begin, " bytes, its shape ", shape->dump(),
                         " and dtype ", dtype->get<std::string>(), " need ", expected_bytes);
    return entry;
}

}  // namespace

std::string safetensors_dtype_name(torch::Dtype dtype) {
    for (const auto& entry : kDtypes) {
        if (entry.dtype == dtype) return entry.name;
    }
    throw make_error("safetensors: unsupported tensor dtype ", c10::toString(dtype));
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    TORCH_CHECK(host_is_little_endian(), "safetensors I/O needs a little-endian host");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        if (!std::filesystem::exists(path, ec)) throw file_error(path, "no such file");
        throw file_error(path, "not a regular file");
    }
    const uint64_t file_size = std::filesystem::file_size(path, ec);
    if (ec) throw file_error(path, "cannot get its size: ", ec.message());
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path, "cannot open");
    if (file_size < 8) throw file_error(path, "truncated or empty (", file_size, " bytes, no header)");

    unsigned char size_bytes[8];
    in.read(reinterpret_cast<char*>(size_bytes), 8);
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | size_bytes[i];
    if (header_size > kMaxHeaderBytes || header_size > file_size - 8)
        throw file_error(path, "header size ", header_size, " does not fit the file size ", file_size,
                         " (truncated or not a safetensors file)");
    std::string header_text(header_size, '\0');
    in.read(header_text.data(), static_cast<std::streamsize>(header_size));
    if (!in) throw file_error(path, "cannot read the header");

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_text);
    } catch (const nlohmann::json::exception&) {
        throw file_error(path, "header is not valid JSON (not a safetensors file?)");
    }
    if (!header.is_object()) throw file_error(path, "header is not a JSON object");

    SafetensorsFile result;
    std::vector<Entry> entries;
    for (const auto& item : header.items()) {
        if (item.key() == "__metadata__") {
            if (!item.value().is_object()) throw file_error(path, "__metadata__ is not an object");
            for (const auto& meta : item.value().items()) {
                if (!meta.value().is_string())
                    throw file_error(path, "metadata '", meta.key(), "' is not a string: ", meta.value().dump());
                result.metadata[meta.key()] = meta.value().get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(path, item.key(), item.value()));
    }

    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const uint64_t data_size = file_size - 8 - header_size;
    uint64_t cursor = 0;
    for (const auto& entry : entries) {
        if (entry.begin != cursor)
            throw file_error(path, "tensor '", entry.name, "' starts at byte ", entry.begin, " but the previous data ends at ",
                             cursor, " (offsets must be contiguous)");
        if (entry.end > data_size)
            throw file_error(path, "tensor '", entry.name, "' ends at byte ", entry.end, " beyond the data size ",
                             data_size, " (truncated file?)");
        cursor = entry.end;
    }
    if (cursor != data_size)
        throw file_error(path, "data section has ", data_size, " bytes but the tensors cover ", cursor);

    for (const auto& entry : entries) {
        torch::Tensor tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(entry.dtype));
        const uint64_t bytes = entry.end - entry.begin;
        if (bytes > 0) {
            in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(bytes));
            if (!in) throw file_error(path, "cannot read the data of tensor '", entry.name, "'");
        }
        result.tensors.emplace(entry.name, std::move(tensor));
    }
    return result;
}

void write_safetensors(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    TORCH_CHECK(host_is_little_endian(), "safetensors I/O needs a little-endian host");
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        TORCH_CHECK(name != "__metadata__", "write_safetensors: '__metadata__' is not a valid tensor name");
        TORCH_CHECK(tensor.defined(), "write_safetensors: tensor '", name, "' is undefined");
        const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
        header[name] = {{"dtype", safetensors_dtype_name(tensor.scalar_type())},
                        {"shape", tensor.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string header_text = header.dump();
    // Pad with spaces so the data starts 8-byte aligned (recommended by the format).
    header_text.append((8 - header_text.size() % 8) % 8, ' ');
    const uint64_t header_size = header_text.size();

    write_atomically(path, [&](const std::filesystem::path& tmp) {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw make_error("write '", path.string(), "' failed: cannot create file in '",
                                   path.parent_path().string(), "'");
        char size_bytes[8];
        for (int i = 0; i < 8; ++i) size_bytes[i] = static_cast<char>((header_size >> (8 * i)) & 0xff);
        out.write(size_bytes, 8);
        out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
        for (const auto& [name, tensor] : tensors) {
            const torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();
            out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
        }
        out.flush();
        if (!out) throw make_error("write '", path.string(), "' failed: disk full or I/O error");
    });
}

}  // namespace facegen::core
