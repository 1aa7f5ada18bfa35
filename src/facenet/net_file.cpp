#include "facenet/net_file.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/versioned_safetensors.h"

namespace facegen::facenet {

NetFile::NetFile(const std::filesystem::path& path, const std::string& what, const std::string& format, int version)
    : NetFile(path, what, format, version, version) {}

NetFile::NetFile(const std::filesystem::path& path, const std::string& what, const std::string& format,
                 int min_version, int max_version)
    : path_(path), what_(what), file_(core::read_safetensors(path)) {
    version_ = core::check_file_format(file_, path, {format, what, min_version, max_version, ""});
}

std::string NetFile::where() const { return what_ + " '" + path_.string() + "'"; }

const std::string& NetFile::text(const std::string& key) const {
    const auto it = file_.metadata.find(key);
    if (it == file_.metadata.end()) throw make_error(where(), ": metadata has no '", key, "'");
    return it->second;
}

double NetFile::number(const std::string& key) const {
    const std::string& value_text = text(key);
    char* end = nullptr;
    const double value = std::strtod(value_text.c_str(), &end);
    if (value_text.empty() || *end != '\0' || !std::isfinite(value)) {
        throw make_error(where(), ": metadata '", key, "' = '", value_text, "' is not a finite number");
    }
    return value;
}

int64_t NetFile::whole_number(const std::string& key, int64_t lo, int64_t hi) const {
    const double value = number(key);
    if (value < static_cast<double>(lo) || value > static_cast<double>(hi) || value != std::floor(value)) {
        throw make_error(where(), ": ", key, " ", value, " is not a whole number in ", lo, "..", hi);
    }
    return static_cast<int64_t>(value);
}

void NetFile::load_into(torch::nn::Module& module) const {
    torch::NoGradGuard no_grad;
    size_t used = 0;
    for (auto& item : module.named_parameters()) {
        const auto it = file_.tensors.find(item.key());
        if (it == file_.tensors.end()) throw make_error(where(), " lacks tensor '", item.key(), "'");
        if (it->second.sizes() != item.value().sizes() || it->second.scalar_type() != torch::kFloat32) {
            throw make_error(where(), ": tensor '", item.key(), "' is ", it->second.scalar_type(), " ",
                             it->second.sizes(), ", expected float ", item.value().sizes());
        }
        if (!torch::isfinite(it->second).all().item<bool>()) {
            throw make_error(where(), ": tensor '", item.key(), "' holds NaN or infinity");
        }
        item.value().copy_(it->second);
        ++used;
    }
    if (used != file_.tensors.size()) {
        throw make_error(where(), " holds ", file_.tensors.size() - used, " tensor(s) its network lacks");
    }
}

void save_net_file(const std::filesystem::path& path, const torch::nn::Module& module,
                   const std::map<std::string, std::string>& metadata) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& item : module.named_parameters()) tensors[item.key()] = item.value().detach().cpu();
    core::write_safetensors(path, tensors, metadata);
}

std::string number_text(double value) {
    std::ostringstream out;
    out.precision(17);
    out << value;
    return out.str();
}

}  // namespace facegen::facenet
