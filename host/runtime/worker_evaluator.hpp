// The production VersionEvaluator: each version runs its instance's eval suite in the
// isolated worker (a child `moss eval-worker` under the [evaluation] limits).
#pragma once

#include <filesystem>

#include "config/config.hpp"
#include "evaluation/isolated.hpp"
#include "runtime/version_control.hpp"

namespace moss {

// The eval and conformance workers' limits from the config's [evaluation] table.
WorkerLimits worker_limits(const Config& config);

class PluginManager;

// `worker_binary` is the moss executable to run as the worker (tests name it; moss itself
// re-executes /proc/self/exe).
VersionEvaluator make_worker_evaluator(
    const Config& config, const PluginManager& plugins,
    const std::filesystem::path& worker_binary = "/proc/self/exe");

}  // namespace moss
