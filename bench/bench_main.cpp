#include "bench_main.h"

#include <cstdio>
#include <exception>
#include <filesystem>

namespace facegen::bench {

int run_bench_main(CLI::App& app, int argc, char** argv, const std::function<void(const std::string& command_line)>& run) {
    CLI11_PARSE(app, argc, argv);
    std::string command_line;
    for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
    try {
        run(command_line);
    } catch (const std::exception& e) {
        const std::string program = std::filesystem::path(argv[0]).filename().string();
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
        return 1;
    }
    return 0;
}

}  // namespace facegen::bench
