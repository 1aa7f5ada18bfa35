#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace facegen {

/// An error caused by the outside world (a file, a user option, the network), as opposed
/// to a broken contract inside facegen (TORCH_CHECK). Its message names the thing and
/// quotes the value, e.g. "read image 'in/face.png' failed: unsupported channel count 2".
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Builds an Error message from streamable parts: `throw make_error("bad psi '", s, "'")`.
template <typename... Parts>
Error make_error(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return Error(out.str());
}

}  // namespace facegen
