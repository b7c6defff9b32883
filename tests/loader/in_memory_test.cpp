// The loader's in-memory path (no dlopen), for unit tests of host logic: a plugin compiled
// into this test binary with the same MOSS_PLUGIN macro.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include "loader/loader.hpp"

namespace {

struct Counter {
  moss::sdk::ToolInfo info() const {
    return {"counter", "Counts calls", R"({"type":"object"})", false};
  }
  moss::sdk::Result<std::string> invoke(std::string_view) { return std::to_string(++calls_); }
  int calls_ = 0;
};

}  // namespace

MOSS_PLUGIN("in-memory", "0.0.1", moss::sdk::kNoConfig, moss::sdk::as_tool<Counter>)

TEST_CASE("a descriptor in memory is checked and used like a loaded file", "[loader][memory]") {
  auto library = moss::Library::from_descriptor(moss_plugin_generated::entry(), "<in-memory>");
  REQUIRE(library.ok());
  CHECK_FALSE(library.value()->is_loaded_from_file());
  CHECK(library.value()->manifest().name == "in-memory");
  auto object = library.value()->create(moss::sdk::Kind::tool);
  REQUIRE(object.ok());
  auto* tool = static_cast<moss::sdk::Tool*>(object.value().get());
  CHECK(tool->invoke("{}").value() == "1");
  CHECK(tool->invoke("{}").value() == "2");
}

TEST_CASE("a descriptor that disagrees with its manifest is refused", "[loader][memory]") {
  moss::sdk::PluginDescriptor forged = *moss_plugin_generated::entry();
  forged.kinds |= static_cast<std::uint32_t>(moss::sdk::Kind::planner);
  auto library = moss::Library::from_descriptor(&forged, "<forged>");
  REQUIRE_FALSE(library.ok());
  CHECK_THAT(library.status().message(),
             Catch::Matchers::Contains("descriptor disagrees with the manifest on the kinds "
                                       "(expected 'tool', found 'tool,planner')"));
}

TEST_CASE("a descriptor smaller than ABI 1.0's is refused", "[loader][memory]") {
  moss::sdk::PluginDescriptor small = *moss_plugin_generated::entry();
  small.struct_size = 16;
  auto library = moss::Library::from_descriptor(&small, "<small>");
  REQUIRE_FALSE(library.ok());
  CHECK_THAT(library.status().message(),
             Catch::Matchers::Contains("descriptor too small (expected at least"));
}
