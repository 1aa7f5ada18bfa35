#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace facegen::data {

/// One file found in the inputs: a file on disk, or a member of a zip/tar archive.
struct SourceItem {
    std::string path;    // file on disk (the archive, for a member)
    std::string member;  // path inside the archive; empty for a plain file
    std::string bytes;   // whole content
    /// "path" or "path:member".
    std::string display() const { return member.empty() ? path : path + ":" + member; }
    /// File name without folders (the key for label look-ups).
    std::string base_name() const;
};

/// True when `path`'s name says zip/tar(.gz|.bz2|.xz)/tgz.
bool is_archive_name(const std::filesystem::path& path);

/// Walks inputs in a fixed order: each input in turn; folders recursively with entries
/// sorted by name; archives (zip, tar, compressed tar) member by member in stored order.
/// Unreadable files are returned with `error` set rather than thrown, so a build can
/// report and skip them.
class SourceWalker {
public:
    explicit SourceWalker(std::vector<std::filesystem::path> inputs);
    ~SourceWalker();
    SourceWalker(const SourceWalker&) = delete;
    SourceWalker& operator=(const SourceWalker&) = delete;
    /// Fills `item` with the next file; false at the end. `error` is empty or says why the
    /// item's bytes could not be read.
    bool next(SourceItem& item, std::string& error);
    /// The files (plain files and archives) the walk visits, in order.
    const std::vector<std::filesystem::path>& files() const { return files_; }

private:
    struct ArchiveReader;
    std::vector<std::filesystem::path> files_;  // expanded, sorted file list
    size_t next_file_ = 0;
    std::unique_ptr<ArchiveReader> archive_;
};

}  // namespace facegen::data
