// The whole moss plugin SDK. A plugin source usually includes only this header.
#pragma once

#include "moss/sdk/compiler.hpp"
#include "moss/sdk/evolver.hpp"
#include "moss/sdk/guard.hpp"
#include "moss/sdk/llm_backend.hpp"
#include "moss/sdk/object.hpp"
#include "moss/sdk/planner.hpp"
#include "moss/sdk/plugin.hpp"
#include "moss/sdk/status.hpp"
#include "moss/sdk/tool.hpp"
#include "moss/sdk/types.hpp"
#include "moss/sdk/version.hpp"
