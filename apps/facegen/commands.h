#pragma once

#include <CLI/CLI.hpp>

#include <vector>

// Each sub-command lives in its own cmd_<name>.cpp and adds itself to the app here.
// A command's callback throws facegen::Error for bad input; main() turns that into one
// line on stderr and exit code 1.
namespace facegen::app {

void add_generate_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);       // creates `bench` with `bench generate`
#ifdef FACEGEN_HAVE_TRAIN
void add_train_command(CLI::App& app);
void add_bench_train_command(CLI::App& bench);  // adds `bench train` under `bench`
#endif
#ifdef FACEGEN_HAVE_METRICS
void add_metrics_command(CLI::App& app);
#endif
#ifdef FACEGEN_HAVE_DATASET
void add_dataset_command(CLI::App& app);
#endif
#ifdef FACEGEN_HAVE_DETECT
void add_detect_command(CLI::App& app);  // `detect` and `detect train`
std::vector<CLI::App*> add_detect_world_commands(CLI::App& detect);  // `detect train-world`, `measure-world`
#endif
#ifdef FACEGEN_HAVE_ATTRIBUTES
void add_attributes_command(CLI::App& app);  // `attributes score|list|train`
#endif
#ifdef FACEGEN_HAVE_EDIT
void add_edit_command(CLI::App& app);  // `edit` (strips) and `edit measure`
#endif
#ifdef FACEGEN_HAVE_PROJECT
void add_project_command(CLI::App& app);          // `project`, with `project measure`
void add_project_measure_command(CLI::App& project);  // cmd_project_measure.cpp
void add_encoder_command(CLI::App& app);          // `encoder train` (cmd_encoder.cpp)
#endif
#ifdef FACEGEN_HAVE_ANONYMIZE
void add_anonymize_command(CLI::App& app);
#endif
#ifdef FACEGEN_HAVE_SERVE
void add_serve_command(CLI::App& app);
#endif

}  // namespace facegen::app
