// TOML to JSON conversion for plugin settings.
#include "config/toml_json.hpp"

#include <sstream>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

namespace moss {
namespace {

nlohmann::json to_json(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: {
      nlohmann::json object = nlohmann::json::object();
      for (auto&& [key, value] : *node.as_table())
        object[std::string(key.str())] = to_json(value);
      return object;
    }
    case toml::node_type::array: {
      nlohmann::json array = nlohmann::json::array();
      for (const toml::node& item : *node.as_array())
        array.push_back(to_json(item));
      return array;
    }
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    default: {
      // Dates and times: toml++ prints them in RFC 3339 form.
      std::ostringstream text;
      node.visit([&](auto&& value) { text << value; });
      return text.str();
    }
  }
}

}  // namespace

std::string toml_to_json(const toml::table& table) {
  return to_json(table).dump();
}

}  // namespace moss
