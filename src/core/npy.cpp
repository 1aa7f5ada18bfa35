#include "core/npy.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <regex>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"

#ifdef FACEGEN_HAVE_LIBZIP
#include <zip.h>
#endif

namespace facegen::core {
namespace {

const std::string kNpyMagic = "\x93NUMPY";

struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
    size_t data_offset = 0;
};

uint32_t read_le(const std::string& bytes, size_t offset, size_t n_bytes) {
    uint32_t value = 0;
    for (size_t i = 0; i < n_bytes; ++i) {
        value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
    }
    return value;
}

// The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 512), }
NpyHeader parse_header(const std::string& bytes, const std::string& name) {
    if (bytes.size() < 10 || bytes.compare(0, kNpyMagic.size(), kNpyMagic) != 0) {
        throw make_error("read '", name, "' failed: not a .npy file (bad magic)");
    }
    const int major = static_cast<unsigned char>(bytes[6]);
    if (major < 1 || major > 3) throw make_error("read '", name, "' failed: unsupported .npy format version ", major);
    const size_t len_bytes = major == 1 ? 2 : 4;
    if (bytes.size() < 8 + len_bytes) throw make_error("read '", name, "' failed: truncated .npy header");
    const size_t header_len = read_le(bytes, 8, len_bytes);
    NpyHeader header;
    header.data_offset = 8 + len_bytes + header_len;
    if (bytes.size() < header.data_offset) throw make_error("read '", name, "' failed: truncated .npy header");
    const std::string dict = bytes.substr(8 + len_bytes, header_len);

    std::smatch match;
    if (!std::regex_search(dict, match, std::regex(R"('descr'\s*:\s*'([^']*)')"))) {
        throw make_error("read '", name, "' failed: .npy header has no 'descr' (structured arrays are not supported)");
    }
    header.descr = match[1];
    if (!std::regex_search(dict, match, std::regex(R"('fortran_order'\s*:\s*(True|False))"))) {
        throw make_error("read '", name, "' failed: .npy header has no 'fortran_order'");
    }
    header.fortran_order = match[1] == "True";
    if (!std::regex_search(dict, match, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) {
        throw make_error("read '", name, "' failed: .npy header has no 'shape'");
    }
    const std::string dims = match[1];
    const std::regex number(R"(\d+)");
    for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it) {
        header.shape.push_back(std::stoll(it->str()));
    }
    return header;
}

torch::ScalarType dtype_of(const std::string& descr, const std::string& name) {
    if (descr == "<f4" || descr == "=f4") return torch::kFloat32;
    if (descr == "<f8" || descr == "=f8") return torch::kFloat64;
    throw make_error("read '", name, "' failed: unsupported array dtype '", descr,
                     "': expected little-endian float32 ('<f4') or float64 ('<f8')");
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string text = "(";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + ")";
}

}  // namespace

torch::Tensor parse_npy(const std::string& bytes, const std::string& name) {
    const NpyHeader header = parse_header(bytes, name);
    const torch::ScalarType dtype = dtype_of(header.descr, name);
    if (header.fortran_order && header.shape.size() > 1) {
        throw make_error("read '", name, "' failed: array is in Fortran order; save it in C order ",
                         "(np.ascontiguousarray) first");
    }
    int64_t n_elements = 1;
    for (int64_t dim : header.shape) {
        if (dim > (int64_t{1} << 40) / std::max<int64_t>(n_elements, 1)) {
            throw make_error("read '", name, "' failed: array shape ", shape_text(header.shape), " is too large");
        }
        n_elements *= dim;
    }
    const size_t n_bytes = static_cast<size_t>(n_elements) * c10::elementSize(dtype);
    const size_t available = bytes.size() - header.data_offset;
    if (available < n_bytes) {
        throw make_error("read '", name, "' failed: truncated: shape ", shape_text(header.shape), " needs ", n_bytes,
                         " bytes of data, file has ", available);
    }
    torch::Tensor tensor = torch::empty(header.shape, torch::TensorOptions().dtype(dtype));
    if (n_bytes > 0) std::memcpy(tensor.data_ptr(), bytes.data() + header.data_offset, n_bytes);
    return tensor;
}

torch::Tensor read_npy(const std::filesystem::path& path) { return parse_npy(read_file(path), path.string()); }

std::string npy_bytes(const torch::Tensor& array) {
    const torch::Tensor values = array.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    std::string shape;
    for (int64_t i = 0; i < values.dim(); ++i) shape += (i > 0 ? ", " : "") + std::to_string(values.size(i));
    if (values.dim() == 1) shape += ",";  // NumPy's one-element tuple: (5,)
    shape = "(" + shape + ")";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    // The magic, version and length take 10 bytes; the header is padded with spaces to a
    // multiple of 64 and ends with a newline, as NumPy writes it.
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\x00';
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>((header.size() >> 8) & 0xff);
    bytes += header;
    static_assert(sizeof(float) == 4);
    bytes.append(static_cast<const char*>(values.data_ptr()), static_cast<size_t>(values.numel()) * sizeof(float));
    return bytes;
}

#ifdef FACEGEN_HAVE_LIBZIP

bool npz_supported() { return true; }

void write_npz(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& arrays) {
    const std::filesystem::path temporary = path.string() + ".partial";
    int error_code = 0;
    zip_t* archive = zip_open(temporary.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error_code);
    if (archive == nullptr) throw make_error("write '", path.string(), "' failed: cannot create ", temporary.string());
    std::vector<std::string> members;  // libzip reads the buffers at zip_close
    members.reserve(arrays.size());
    for (const auto& [key, array] : arrays) {
        members.push_back(npy_bytes(array));
        zip_source_t* source = zip_source_buffer(archive, members.back().data(), members.back().size(), 0);
        if (source == nullptr || zip_file_add(archive, (key + ".npy").c_str(), source, ZIP_FL_OVERWRITE) < 0) {
            if (source != nullptr) zip_source_free(source);
            const std::string message = zip_strerror(archive);
            zip_discard(archive);
            std::filesystem::remove(temporary);
            throw make_error("write '", path.string(), "' failed: ", message);
        }
    }
    if (zip_close(archive) != 0) {
        const std::string message = zip_strerror(archive);
        zip_discard(archive);
        std::filesystem::remove(temporary);
        throw make_error("write '", path.string(), "' failed: ", message);
    }
    std::error_code rename_error;
    std::filesystem::rename(temporary, path, rename_error);
    if (rename_error) {
        std::filesystem::remove(temporary);
        throw make_error("write '", path.string(), "' failed: ", rename_error.message());
    }
}

std::map<std::string, torch::Tensor> read_npz(const std::filesystem::path& path) {
    int error_code = 0;
    std::unique_ptr<zip_t, decltype(&zip_discard)> archive(zip_open(path.c_str(), ZIP_RDONLY, &error_code),
                                                           &zip_discard);
    if (!archive) {
        if (!std::filesystem::exists(path)) throw make_error("read '", path.string(), "' failed: no such file");
        zip_error_t error;
        zip_error_init_with_code(&error, error_code);
        const std::string message = zip_error_strerror(&error);
        zip_error_fini(&error);
        throw make_error("read '", path.string(), "' failed: not a readable .npz (zip) archive: ", message);
    }
    std::map<std::string, torch::Tensor> arrays;
    const zip_int64_t n_entries = zip_get_num_entries(archive.get(), 0);
    for (zip_int64_t i = 0; i < n_entries; ++i) {
        zip_stat_t stat;
        if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0) {
            throw make_error("read '", path.string(), "' failed: ", zip_strerror(archive.get()));
        }
        std::string entry = stat.name;
        const std::string member_name = path.string() + ":" + entry;
        std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0),
                                                                &zip_fclose);
        if (!file) throw make_error("read '", member_name, "' failed: ", zip_strerror(archive.get()));
        std::string bytes(static_cast<size_t>(stat.size), '\0');
        const zip_int64_t n_read = zip_fread(file.get(), bytes.data(), stat.size);
        if (n_read < 0 || static_cast<zip_uint64_t>(n_read) != stat.size) {
            throw make_error("read '", member_name, "' failed: truncated or corrupt archive member");
        }
        const std::string suffix = ".npy";
        if (entry.size() > suffix.size() && entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) == 0) {
            entry.resize(entry.size() - suffix.size());
        }
        arrays[entry] = parse_npy(bytes, member_name);
    }
    return arrays;
}

#else

bool npz_supported() { return false; }

std::map<std::string, torch::Tensor> read_npz(const std::filesystem::path& path) {
    throw make_error("read '", path.string(), "' failed: this facegen was built without npz support ",
                     "(libzip); convert it to .npy or rebuild with libzip-dev installed");
}

void write_npz(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>&) {
    throw make_error("write '", path.string(), "' failed: this facegen was built without npz support ",
                     "(libzip); rebuild with libzip-dev installed");
}

#endif

}  // namespace facegen::core
