#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/error.h"
#include "core/heap_tuning.h"
#include "facegen/core/version.h"

int main(int argc, char** argv) {
    // Before the first tensor: large activations are then reused, not page-faulted anew (see heap_tuning.h).
    facegen::core::keep_freed_memory_for_reuse();
    CLI::App app{"facegen: photorealistic faces of people who do not exist (StyleGAN2 in C++)"};
    app.set_version_flag("--version", std::string("facegen ") + facegen::kVersion);
    app.require_subcommand(1);
    facegen::app::add_generate_command(app);
    facegen::app::add_info_command(app);
    facegen::app::add_bench_command(app);
#ifdef FACEGEN_HAVE_TRAIN
    facegen::app::add_train_command(app);
    facegen::app::add_bench_train_command(*app.get_subcommand("bench"));
#endif
#ifdef FACEGEN_HAVE_METRICS
    facegen::app::add_metrics_command(app);
#endif
#ifdef FACEGEN_HAVE_DATASET
    facegen::app::add_dataset_command(app);
#endif
#ifdef FACEGEN_HAVE_DETECT
    facegen::app::add_detect_command(app);
#endif
#ifdef FACEGEN_HAVE_ATTRIBUTES
    facegen::app::add_attributes_command(app);
#endif
#ifdef FACEGEN_HAVE_EDIT
    facegen::app::add_edit_command(app);
#endif
#ifdef FACEGEN_HAVE_PROJECT
    facegen::app::add_project_command(app);
    facegen::app::add_encoder_command(app);
#endif
#ifdef FACEGEN_HAVE_ANONYMIZE
    facegen::app::add_anonymize_command(app);
#endif
#ifdef FACEGEN_HAVE_SERVE
    facegen::app::add_serve_command(app);
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const facegen::Error& e) {
        std::fprintf(stderr, "facegen: error: %s\n", e.what());
        return 1;
    } catch (const c10::Error& e) {
        std::fprintf(stderr, "facegen: error: %s\n", e.what_without_backtrace());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "facegen: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
