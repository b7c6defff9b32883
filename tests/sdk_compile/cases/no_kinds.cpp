// expect: MOSS_PLUGIN: list at least one kind
#include <moss/sdk/sdk.hpp>
MOSS_PLUGIN("empty", "1.0.0", moss::sdk::kNoConfig)
