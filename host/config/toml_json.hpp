// Converts TOML values to JSON text, for the plugin settings passed to init().
#pragma once

#include <string>

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace moss {

// Tables become objects, arrays arrays, dates and times ISO 8601 strings.
std::string toml_to_json(const toml::table& table);

}  // namespace moss
