#include "data/sources.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>

#include "core/atomic_file.h"
#include "core/error.h"

namespace facegen::data {
namespace fs = std::filesystem;

std::string SourceItem::base_name() const {
    const std::string& name = member.empty() ? path : member;
    const auto slash = name.find_last_of('/');
    return slash == std::string::npos ? name : name.substr(slash + 1);
}

bool is_archive_name(const fs::path& path) {
    std::string name = path.filename().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto ends_with = [&](const std::string& suffix) {
        return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends_with(".zip") || ends_with(".tar") || ends_with(".tar.gz") || ends_with(".tgz") ||
           ends_with(".tar.bz2") || ends_with(".tar.xz");
}

struct SourceWalker::ArchiveReader {
    std::string path;
    archive* handle = nullptr;
    ~ArchiveReader() {
        if (handle != nullptr) archive_read_free(handle);
    }
};

SourceWalker::SourceWalker(std::vector<fs::path> inputs) {
    for (const auto& input : inputs) {
        if (fs::is_directory(input)) {
            std::vector<fs::path> found;
            for (const auto& entry : fs::recursive_directory_iterator(
                     input, fs::directory_options::follow_directory_symlink |
                                fs::directory_options::skip_permission_denied)) {
                if (entry.is_regular_file()) found.push_back(entry.path());
            }
            std::sort(found.begin(), found.end());
            files_.insert(files_.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(input)) {
            files_.push_back(input);
        } else {
            throw make_error("input '", input.string(), "' not found (no such file or folder)");
        }
    }
}

SourceWalker::~SourceWalker() = default;

bool SourceWalker::next(SourceItem& item, std::string& error) {
    error.clear();
    while (true) {
        if (archive_) {
            archive_entry* entry = nullptr;
            const int rc = archive_read_next_header(archive_->handle, &entry);
            if (rc == ARCHIVE_EOF) {
                archive_.reset();
                continue;
            }
            item = SourceItem{archive_->path, "", ""};
            if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
                item.member = "?";
                error = std::string("broken archive: ") + archive_error_string(archive_->handle);
                archive_.reset();
                return true;
            }
            if (archive_entry_filetype(entry) != AE_IFREG) continue;
            item.member = archive_entry_pathname(entry);
            const la_int64_t size = archive_entry_size(entry);
            if (size > (la_int64_t{1} << 31)) {
                error = "archive member too large";
                archive_read_data_skip(archive_->handle);
                return true;
            }
            item.bytes.resize(static_cast<size_t>(std::max<la_int64_t>(size, 0)));
            size_t got = 0;
            while (true) {
                if (got == item.bytes.size()) item.bytes.resize(std::max<size_t>(item.bytes.size() * 2, 65536));
                const la_ssize_t n = archive_read_data(archive_->handle, item.bytes.data() + got, item.bytes.size() - got);
                if (n < 0) {
                    error = std::string("broken archive member: ") + archive_error_string(archive_->handle);
                    break;
                }
                if (n == 0) break;
                got += static_cast<size_t>(n);
            }
            item.bytes.resize(got);
            return true;
        }
        if (next_file_ >= files_.size()) return false;
        const fs::path path = files_[next_file_++];
        if (is_archive_name(path)) {
            archive_ = std::make_unique<ArchiveReader>();
            archive_->path = path.string();
            archive_->handle = archive_read_new();
            archive_read_support_format_zip(archive_->handle);
            archive_read_support_format_tar(archive_->handle);
            archive_read_support_format_gnutar(archive_->handle);
            archive_read_support_filter_all(archive_->handle);
            if (archive_read_open_filename(archive_->handle, path.c_str(), 1 << 16) != ARCHIVE_OK) {
                item = SourceItem{path.string(), "", ""};
                error = std::string("cannot open archive: ") + archive_error_string(archive_->handle);
                archive_.reset();
                return true;
            }
            continue;
        }
        item = SourceItem{path.string(), "", ""};
        try {
            item.bytes = core::read_file(path);
        } catch (const Error& e) {
            error = e.what();
        }
        return true;
    }
}

}  // namespace facegen::data
