#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"

namespace facegen::core {
namespace {

std::filesystem::path temporary_sibling(const std::filesystem::path& path) {
    std::random_device device;
    std::ostringstream name;
    name << "." << path.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << device();
    return path.parent_path() / name.str();
}

// rename() is atomic, but only a flushed file survives a power cut with its contents.
void flush_to_disk(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw make_error("write '", path.string(), "' failed: ", std::strerror(errno));
    int rc = ::fsync(fd);
    int fsync_errno = errno;
    ::close(fd);
    if (rc != 0) throw make_error("write '", path.string(), "' failed: ", std::strerror(fsync_errno));
}

}  // namespace

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp_path)>& write) {
    const std::filesystem::path tmp = temporary_sibling(path);
    try {
        write(tmp);
        flush_to_disk(tmp);
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) throw make_error("write '", path.string(), "' failed: ", ec.message());
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw;
    }
}

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
    write_atomically(path, [&](const std::filesystem::path& tmp) {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw make_error("write '", path.string(), "' failed: cannot create file in '",
                                   path.parent_path().string(), "'");
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) throw make_error("write '", path.string(), "' failed: disk full or I/O error");
    });
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path)) throw make_error("read '", path.string(), "' failed: no such file");
        throw make_error("read '", path.string(), "' failed: cannot open");
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) throw make_error("read '", path.string(), "' failed: I/O error");
    return contents.str();
}

}  // namespace facegen::core
