// moss plugin new (not yet written).
#include "cli/common.hpp"

namespace moss::cli {

std::vector<Command> plugin_new_commands() { return {}; }

}  // namespace moss::cli
