// expect: MOSS_PLUGIN: each kind must be given as moss::sdk::as_tool<T>
#include <moss/sdk/sdk.hpp>
struct Tool {};
MOSS_PLUGIN("raw", "1.0.0", moss::sdk::kNoConfig, Tool)
