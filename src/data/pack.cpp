#include "data/pack.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace facegen::data {
namespace fs = std::filesystem;

std::string to_string(Split split) { return split == Split::kTrain ? "train" : "val"; }

Split parse_split(const std::string& text) {
    if (text == "train") return Split::kTrain;
    if (text == "val") return Split::kVal;
    throw make_error("bad split '", text, "' (expected train or val)");
}

std::string to_string(SplitSelection selection) {
    switch (selection) {
        case SplitSelection::kTrain: return "train";
        case SplitSelection::kVal: return "val";
        case SplitSelection::kAll: return "all";
    }
    return "?";
}

SplitSelection parse_split_selection(const std::string& text) {
    if (text == "train") return SplitSelection::kTrain;
    if (text == "val") return SplitSelection::kVal;
    if (text == "all") return SplitSelection::kAll;
    throw make_error("bad split '", text, "' (expected train, val or all)");
}

int64_t PackIndex::column_index(const std::string& name) const {
    for (size_t i = 0; i < label_columns.size(); ++i) {
        if (label_columns[i].name == name) return static_cast<int64_t>(i);
    }
    return -1;
}

std::vector<int64_t> PackIndex::select(SplitSelection selection) const {
    std::vector<int64_t> out;
    out.reserve(splits.size());
    for (size_t i = 0; i < splits.size(); ++i) {
        const bool keep = selection == SplitSelection::kAll ||
                          (selection == SplitSelection::kTrain && splits[i] == Split::kTrain) ||
                          (selection == SplitSelection::kVal && splits[i] == Split::kVal);
        if (keep) out.push_back(static_cast<int64_t>(i));
    }
    return out;
}

uint64_t fnv1a64(const uint8_t* data, size_t n, uint64_t state) {
    for (size_t i = 0; i < n; ++i) {
        state ^= data[i];
        state *= 0x100000001b3ULL;
    }
    return state;
}

nlohmann::json to_json(const PackIndex& index) {
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& column : index.label_columns) {
        columns.push_back({{"name", column.name}, {"classes", column.classes}});
    }
    std::string splits;
    splits.reserve(index.splits.size());
    for (Split s : index.splits) splits.push_back(s == Split::kTrain ? 't' : 'v');
    std::ostringstream checksum;
    checksum << std::hex << index.images_checksum;
    return {
        {"format", kFormatName},
        {"version", kFormatVersion},
        {"resolution", index.resolution},
        {"channels", index.channels},
        {"layout", "uint8 CHW"},
        {"n_images", index.size()},
        {"images_file", kImagesFileName},
        {"images_file_bytes", index.images_file_bytes},
        {"images_fnv1a64", checksum.str()},
        {"label_columns", columns},
        {"labels", index.labels},
        // One character per image ('t' train, 'v' validation) keeps the index small.
        {"splits", splits},
        {"build", index.build},
    };
}

PackIndex pack_index_from_json(const nlohmann::json& json, const std::string& where) {
    auto need = [&](const char* key) -> const nlohmann::json& {
        if (!json.contains(key)) throw make_error("dataset '", where, "' is invalid: index has no '", key, "'");
        return json.at(key);
    };
    if (!json.is_object() || json.value("format", std::string()) != kFormatName) {
        throw make_error("dataset '", where, "' is invalid: '", kIndexFileName, "' is not a ", kFormatName, " index");
    }
    const int version = need("version").get<int>();
    if (version != kFormatVersion) {
        throw make_error("dataset '", where, "' has format version ", version, "; this build reads version ",
                         kFormatVersion);
    }
    PackIndex index;
    try {
        index.resolution = need("resolution").get<int64_t>();
        index.channels = need("channels").get<int64_t>();
        index.images_file_bytes = need("images_file_bytes").get<int64_t>();
        index.images_checksum = std::stoull(need("images_fnv1a64").get<std::string>(), nullptr, 16);
        for (const auto& column : need("label_columns")) {
            index.label_columns.push_back({column.at("name").get<std::string>(),
                                           column.at("classes").get<std::vector<std::string>>()});
        }
        index.labels = need("labels").get<std::vector<std::vector<int64_t>>>();
        for (char c : need("splits").get<std::string>()) {
            if (c != 't' && c != 'v') throw make_error("bad split code '", c, "'");
            index.splits.push_back(c == 't' ? Split::kTrain : Split::kVal);
        }
        if (json.contains("build")) index.build = json.at("build");
    } catch (const nlohmann::json::exception& e) {
        throw make_error("dataset '", where, "' is invalid: ", e.what());
    } catch (const std::logic_error& e) {
        throw make_error("dataset '", where, "' is invalid: ", e.what());
    }
    const int64_t n = need("n_images").get<int64_t>();
    if (index.resolution <= 0 || (index.channels != 1 && index.channels != 3)) {
        throw make_error("dataset '", where, "' is invalid: resolution ", index.resolution, ", channels ",
                         index.channels);
    }
    if (index.size() != n || static_cast<int64_t>(index.labels.size()) != n) {
        throw make_error("dataset '", where, "' is invalid: n_images ", n, " but ", index.splits.size(),
                         " splits and ", index.labels.size(), " label rows");
    }
    for (const auto& row : index.labels) {
        if (row.size() != index.label_columns.size()) {
            throw make_error("dataset '", where, "' is invalid: a label row has ", row.size(), " values for ",
                             index.label_columns.size(), " columns");
        }
    }
    if (index.images_file_bytes != n * index.image_bytes()) {
        throw make_error("dataset '", where, "' is invalid: images_file_bytes ", index.images_file_bytes,
                         " != ", n, " images x ", index.image_bytes(), " bytes");
    }
    return index;
}

namespace {

fs::path temporary_dir_for(const fs::path& dir) {
    std::random_device device;
    std::ostringstream name;
    name << "." << dir.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << device();
    return dir.parent_path() / name.str();
}

void fsync_path(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

PackWriter::PackWriter(fs::path dir, int64_t resolution, int64_t channels, bool overwrite)
    : dir_(fs::absolute(std::move(dir)).lexically_normal()),
      resolution_(resolution),
      channels_(channels),
      overwrite_(overwrite),
      checksum_(fnv1a64(nullptr, 0)) {
    TORCH_CHECK(resolution > 0 && (channels == 1 || channels == 3), "PackWriter: resolution ", resolution,
                ", channels ", channels);
    if (dir_.filename().empty()) dir_ = dir_.parent_path();
    if (fs::exists(dir_) && !overwrite_) {
        throw make_error("output '", dir_.string(), "' already exists (replaced only when overwriting is asked for)");
    }
    if (fs::exists(dir_) && !fs::exists(dir_ / kIndexFileName)) {
        throw make_error("output '", dir_.string(), "' exists and is not a facegen dataset; refusing to replace it");
    }
    std::error_code ec;
    fs::create_directories(dir_.parent_path(), ec);
    tmp_dir_ = temporary_dir_for(dir_);
    if (!fs::create_directory(tmp_dir_, ec)) {
        throw make_error("create '", tmp_dir_.string(), "' failed: ", ec ? ec.message() : "exists");
    }
    images_.open(tmp_dir_ / kImagesFileName, std::ios::binary | std::ios::trunc);
    provenance_.open(tmp_dir_ / kProvenanceFileName, std::ios::trunc);
    if (!images_ || !provenance_) throw make_error("create files in '", tmp_dir_.string(), "' failed");
}

PackWriter::~PackWriter() {
    if (committed_) return;
    images_.close();
    provenance_.close();
    std::error_code ignored;
    fs::remove_all(tmp_dir_, ignored);
}

int64_t PackWriter::append(const uint8_t* chw, const nlohmann::json& provenance) {
    TORCH_CHECK(!committed_, "PackWriter::append after commit");
    const auto n_bytes = static_cast<size_t>(channels_ * resolution_ * resolution_);
    images_.write(reinterpret_cast<const char*>(chw), static_cast<std::streamsize>(n_bytes));
    checksum_ = fnv1a64(chw, n_bytes, checksum_);
    provenance_ << provenance.dump() << '\n';
    if (!images_ || !provenance_) throw make_error("write '", tmp_dir_.string(), "' failed: disk full or I/O error");
    return n_images_++;
}

void PackWriter::commit(PackIndex index) {
    TORCH_CHECK(!committed_, "PackWriter::commit called twice");
    TORCH_CHECK(index.size() == n_images_ && static_cast<int64_t>(index.labels.size()) == n_images_,
                "PackWriter::commit: index has ", index.size(), " splits and ", index.labels.size(),
                " label rows for ", n_images_, " images");
    index.resolution = resolution_;
    index.channels = channels_;
    index.images_file_bytes = n_images_ * channels_ * resolution_ * resolution_;
    index.images_checksum = checksum_;
    images_.flush();
    provenance_.flush();
    if (!images_ || !provenance_) throw make_error("write '", tmp_dir_.string(), "' failed: disk full or I/O error");
    images_.close();
    provenance_.close();
    fsync_path(tmp_dir_ / kImagesFileName);
    fsync_path(tmp_dir_ / kProvenanceFileName);
    core::write_file_atomically(tmp_dir_ / kIndexFileName, to_json(index).dump() + "\n");

    // A folder cannot be renamed over a non-empty one: move the old dataset aside first,
    // so at every instant the real name holds either the old or the new complete dataset.
    fs::path old_aside;
    std::error_code ec;
    if (fs::exists(dir_)) {
        old_aside = temporary_dir_for(dir_).string() + "-old";
        fs::rename(dir_, old_aside, ec);
        if (ec) throw make_error("replace '", dir_.string(), "' failed: ", ec.message());
    }
    fs::rename(tmp_dir_, dir_, ec);
    if (ec) {
        if (!old_aside.empty()) fs::rename(old_aside, dir_, ec);
        throw make_error("rename '", tmp_dir_.string(), "' to '", dir_.string(), "' failed: ", ec.message());
    }
    committed_ = true;
    fsync_path(dir_.parent_path());
    if (!old_aside.empty()) fs::remove_all(old_aside, ec);
}

PackedDataset::PackedDataset(const fs::path& dir) : dir_(dir) {
    if (!fs::is_directory(dir_)) throw make_error("dataset '", dir_.string(), "' not found (no such folder)");
    const fs::path index_path = dir_ / kIndexFileName;
    if (!fs::exists(index_path)) {
        throw make_error("dataset '", dir_.string(), "' is invalid: no '", kIndexFileName, "'");
    }
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(core::read_file(index_path));
    } catch (const nlohmann::json::exception& e) {
        throw make_error("dataset '", dir_.string(), "' is invalid: '", kIndexFileName, "' does not parse: ", e.what());
    }
    index_ = pack_index_from_json(json, dir_.string());

    const fs::path images_path = dir_ / kImagesFileName;
    const int fd = ::open(images_path.c_str(), O_RDONLY);
    if (fd < 0) throw make_error("dataset '", dir_.string(), "' is invalid: cannot open '", kImagesFileName, "'");
    struct stat info {};
    ::fstat(fd, &info);
    if (info.st_size != index_.images_file_bytes) {
        ::close(fd);
        throw make_error("dataset '", dir_.string(), "' is truncated or corrupt: '", kImagesFileName, "' has ",
                         info.st_size, " bytes, index says ", index_.images_file_bytes);
    }
    mapped_bytes_ = static_cast<size_t>(info.st_size);
    if (mapped_bytes_ > 0) {
        void* data = ::mmap(nullptr, mapped_bytes_, PROT_READ, MAP_SHARED, fd, 0);
        if (data == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw make_error("dataset '", dir_.string(), "': mmap of '", kImagesFileName, "' failed: ", std::strerror(err));
        }
        data_ = static_cast<const uint8_t*>(data);
    }
    ::close(fd);
}

PackedDataset::~PackedDataset() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), mapped_bytes_);
}

const uint8_t* PackedDataset::image(int64_t i) const {
    TORCH_CHECK(i >= 0 && i < size(), "PackedDataset::image: index ", i, " out of range [0, ", size(), ")");
    return data_ + static_cast<size_t>(i) * static_cast<size_t>(index_.image_bytes());
}

void PackedDataset::verify() const {
    const uint64_t checksum = fnv1a64(data_, mapped_bytes_);
    if (checksum != index_.images_checksum) {
        std::ostringstream got, want;
        got << std::hex << checksum;
        want << std::hex << index_.images_checksum;
        throw make_error("dataset '", dir_.string(), "' is corrupt: '", kImagesFileName, "' checksum ", got.str(),
                         ", index says ", want.str());
    }
}

std::string PackedDataset::license() const {
    for (const char* name : {"LICENSE", "LICENSE.txt", "license.txt"}) {
        const auto path = dir_ / name;
        if (std::filesystem::is_regular_file(path)) return core::read_file(path);
    }
    const auto& build = index_.build;
    if (build.is_object() && build.contains("license") && build["license"].is_string())
        return build["license"].get<std::string>();
    return {};
}

std::vector<nlohmann::json> PackedDataset::read_provenance() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_ / kProvenanceFileName);
    if (in) {
        std::string line;
        while (std::getline(in, line)) {
            try {
                out.push_back(nlohmann::json::parse(line));
            } catch (const nlohmann::json::exception& e) {
                throw make_error("dataset '", dir_.string(), "': '", kProvenanceFileName, "' line ", out.size() + 1,
                                 " does not parse: ", e.what());
            }
        }
    }
    out.resize(static_cast<size_t>(size()), nlohmann::json::object());
    return out;
}

}  // namespace facegen::data
