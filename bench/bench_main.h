#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

// The main of every bench program in this folder: flags parsed by CLI11 (help and bad flags
// answered as CLI11 answers them), the command line kept for the JSON document, and a
// failure reported as one line "<program>: <message>" with exit code 1.
namespace facegen::bench {

/// Parses argv with `app`, then calls run(command_line), where command_line is argv joined
/// by spaces. Returns main's exit code.
int run_bench_main(CLI::App& app, int argc, char** argv, const std::function<void(const std::string& command_line)>& run);

}  // namespace facegen::bench
