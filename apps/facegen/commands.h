#pragma once

#include <CLI/CLI.hpp>

// Each sub-command lives in its own cmd_<name>.cpp and adds itself to the app here.
// A command's callback throws facegen::Error for bad input; main() turns that into one
// line on stderr and exit code 1.
namespace facegen::app {

void add_generate_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace facegen::app
