// The loader against real fixture .so files: every refusal names the file, what was expected
// and what was found, and nothing incompatible is ever dlopened.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>

#include <csignal>
#include <fstream>

#include "loader/elf.hpp"
#include "loader/loader.hpp"
#include "logging/logging.hpp"
#include "util/files.hpp"
#include "plugin_harness.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using moss::Library;
using moss::test::make_context;

namespace {

std::string fixture(const std::string& name) {
  return std::string(MOSS_FIXTURE_DIR) + "/" + name + ".so";
}

// True if the dynamic linker currently has `file` mapped.
bool is_mapped(const std::string& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);
  return true;
}

// Catch2 reports fatal signals from its own handlers; a child that is meant to die by a signal
// must die by it.
void restore_default_signals() {
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE})
    std::signal(sig, SIG_DFL);
}

std::string load_error(const std::string& file) {
  auto loaded = Library::load(file);
  REQUIRE_FALSE(loaded.ok());
  return loaded.status().message();
}

}  // namespace

TEST_CASE("a good plugin loads and its manifest matches its descriptor", "[loader]") {
  auto loaded = Library::load(fixture("fixture-good"));
  REQUIRE(loaded.ok());
  const auto& manifest = loaded.value()->manifest();
  CHECK(manifest.name == "fixture-good");
  CHECK(manifest.version == "1.0.0");
  CHECK(manifest.abi_major == moss::sdk::kAbiMajor);
  CHECK(manifest.implements(moss::sdk::Kind::tool));
  CHECK(manifest.implements(moss::sdk::Kind::guard));
  CHECK_FALSE(manifest.implements(moss::sdk::Kind::planner));
  CHECK(loaded.value()->sha256().size() == 64);
  CHECK_FALSE(loaded.value()->pinned_in_memory());
}

TEST_CASE("a tool created from a plugin runs with its config", "[loader]") {
  auto library = Library::load(fixture("fixture-good"));
  REQUIRE(library.ok());
  moss::PluginLogger logger("test");
  auto tool = moss::create_object<moss::sdk::Tool>(library.value(),
                                                   make_context(R"({"prefix":"#"})", &logger));
  REQUIRE(tool.ok());
  auto result = tool.value()->invoke(R"({"x":1})");
  REQUIRE(result.ok());
  CHECK(result.value() == R"({"prefix":"#","args":{"x":1}})");
}

TEST_CASE("an object keeps its library loaded until it is destroyed", "[loader]") {
  const std::string file = fixture("fixture-good");
  REQUIRE_FALSE(is_mapped(file));
  moss::PluginLogger logger("test");
  std::shared_ptr<moss::sdk::Tool> tool;
  {
    auto library = Library::load(file);
    REQUIRE(library.ok());
    auto created =
        moss::create_object<moss::sdk::Tool>(library.value(), make_context("{}", &logger));
    REQUIRE(created.ok());
    tool = created.value();
  }
  CHECK(is_mapped(file));  // the Library handle is gone, the object still pins it
  CHECK(tool->invoke("{}").ok());
  tool.reset();
  CHECK_FALSE(is_mapped(file));  // last object gone: unloaded
}

TEST_CASE("never_unload keeps the library mapped after its last object", "[loader]") {
  moss::test::TempDir dir;
  // A private copy: RTLD_NODELETE would otherwise pin the shared fixture for other tests.
  auto copy = dir / "pinned.so";
  std::filesystem::copy_file(fixture("fixture-good"), copy);
  {
    auto library = Library::load(copy, moss::LoadOptions{.never_unload = true});
    REQUIRE(library.ok());
    CHECK(library.value()->pinned_in_memory());
  }
  CHECK(is_mapped(copy.string()));
}

TEST_CASE("a plugin does not offer a kind it does not implement", "[loader]") {
  auto library = Library::load(fixture("fixture-good"));
  REQUIRE(library.ok());
  auto planner = library.value()->create(moss::sdk::Kind::planner);
  REQUIRE_FALSE(planner.ok());
  CHECK(planner.status().code() == moss::sdk::Code::not_found);
  CHECK_THAT(planner.status().message(),
             Contains("does not implement kind 'planner' (it implements tool,guard)"));
}

TEST_CASE("a wrong ABI major is refused before the file is loaded", "[loader][abi]") {
  const std::string file = fixture("fixture-abi-major");
  std::string error = load_error(file);
  CHECK_THAT(error, Contains(file));
  CHECK_THAT(error, Contains("built for moss SDK ABI 2.0, but this host supports ABI 1.0"));
  CHECK_THAT(error, Contains("expected 1, found 2"));
  CHECK_FALSE(is_mapped(file));
}

TEST_CASE("a newer ABI minor is refused with both versions named", "[loader][abi]") {
  const std::string file = fixture("fixture-abi-minor");
  std::string error = load_error(file);
  CHECK_THAT(error, Contains(file));
  CHECK_THAT(error, Contains("ABI 1.99, newer than this host's ABI 1.0"));
  CHECK_THAT(error, Contains("expected minor <= 0, found 99"));
  CHECK_FALSE(is_mapped(file));
}

TEST_CASE("a plugin built with another std::string ABI is refused", "[loader][abi]") {
  std::string error = load_error(fixture("fixture-toolchain"));
  CHECK_THAT(error, Contains("incompatible toolchain"));
  CHECK_THAT(error, Contains("found 'itanium/libstdc++-cow/"));
}

TEST_CASE("a library without the entry symbol is refused", "[loader]") {
  const std::string file = fixture("fixture-no-entry");
  std::string error = load_error(file);
  CHECK_THAT(error, Contains(file + ": not a moss plugin: expected the exported symbol "
                                    "'moss_plugin_entry'"));
  CHECK_FALSE(is_mapped(file));
}

TEST_CASE("a truncated plugin file is refused", "[loader]") {
  std::string error = load_error(fixture("fixture-truncated"));
  CHECK_THAT(error,
             Contains("truncated or corrupt ELF file: the section header table spans bytes"));
  CHECK_THAT(error, Contains("expected it within the file's"));
}

TEST_CASE("a file that is not ELF is refused", "[loader]") {
  std::string error = load_error(fixture("fixture-not-elf"));
  CHECK_THAT(error,
             Contains("not an ELF file: expected magic bytes 7f 45 4c 46, found 23 21 2f 62"));
}

TEST_CASE("an empty file and a missing file are refused", "[loader]") {
  moss::test::TempDir dir;
  auto empty = dir / "empty.so";
  std::ofstream(empty).close();
  CHECK_THAT(load_error(empty.string()), Contains("found an empty file"));
  CHECK_THAT(load_error((dir / "missing.so").string()), Contains("no such plugin file"));
  CHECK_THAT(load_error(dir.path().string()), Contains("no such plugin file"));
}

// A copy of the good fixture with a 16-bit ELF header field overwritten.
std::filesystem::path patched_copy(const moss::test::TempDir& dir, std::size_t offset,
                                   std::uint16_t value) {
  auto copy = dir / "patched.so";
  std::filesystem::copy_file(fixture("fixture-good"), copy);
  std::fstream file(copy, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(reinterpret_cast<const char*>(&value), sizeof value);
  return copy;
}

TEST_CASE("an ELF file that is not a shared object is refused", "[loader]") {
  moss::test::TempDir dir;
  auto file = patched_copy(dir, 16, 2);  // e_type = ET_EXEC
  CHECK_THAT(load_error(file.string()),
             Contains("not a shared library: expected a shared object (ET_DYN), found an "
                      "executable (ET_EXEC)"));
}

TEST_CASE("a plugin built for another machine is refused", "[loader]") {
  moss::test::TempDir dir;
  auto file = patched_copy(dir, 18, 40);  // e_machine = EM_ARM
  CHECK_THAT(load_error(file.string()),
             Contains("built for another machine: expected x86-64, found ARM"));
}

TEST_CASE("inspection reads a plugin's metadata without running its code", "[loader][inspect]") {
  // dlopen-ing this fixture would abort() the test process.
  auto inspection = moss::inspect_plugin_file(fixture("fixture-static-abort"));
  REQUIRE(inspection.ok());
  CHECK(inspection->manifest.name == "fixture-static-abort");
  CHECK(inspection->manifest.version == "6.6.6");
  CHECK(inspection->manifest.config_schema_json ==
        R"({"properties":{"level":{"default":3,"type":"integer"}},"type":"object"})");
}

TEST_CASE("loading a plugin whose static initialiser aborts kills only a child", "[loader]") {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    restore_default_signals();
    (void)Library::load(fixture("fixture-static-abort"));
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("every method that throws returns an error instead", "[loader][thrower]") {
  auto library = Library::load(fixture("fixture-thrower"));
  REQUIRE(library.ok());
  moss::PluginLogger logger("thrower");
  auto ctx = make_context("{}", &logger);
  auto is_exception = [](const moss::sdk::Status& s, const std::string& where) {
    INFO(s.to_string());
    CHECK(s.code() == moss::sdk::Code::plugin_exception);
    CHECK_THAT(s.message(), Contains(where));
  };

  auto tool = moss::create_object<moss::sdk::Tool>(library.value(), ctx);
  REQUIRE(tool.ok());
  is_exception(tool.value()->info().status(), "Tool::info threw: boom in info");
  is_exception(tool.value()->invoke("{}").status(), "Tool::invoke threw a non-standard exception");

  auto backend = moss::create_object<moss::sdk::LLMBackend>(library.value(), ctx);
  REQUIRE(backend.ok());
  is_exception(backend.value()->info().status(), "LLMBackend::info");
  is_exception(backend.value()->chat({}, nullptr).status(), "boom in chat");
  is_exception(backend.value()->submit_fine_tune("", "").status(), "boom in fine_tune");

  auto evolver = moss::create_object<moss::sdk::Evolver>(library.value(), ctx);
  REQUIRE(evolver.ok());
  is_exception(evolver.value()->analyze({}).status(), "boom in analyze");
  is_exception(evolver.value()->propose({}, {}, "").status(), "boom in propose");

  auto guard = moss::create_object<moss::sdk::Guard>(library.value(), ctx);
  REQUIRE(guard.ok());
  is_exception(guard.value()->record({}).status(), "boom in record");
  is_exception(guard.value()->pre_check({}).status(), "boom in pre_check");
  is_exception(guard.value()->post_check({}, {}).status(), "boom in post_check");
  is_exception(guard.value()->stats().status(), "boom in stats");
  is_exception(guard.value()->reset({}), "boom in reset");
  is_exception(guard.value()->export_state().status(), "boom in export_state");
  is_exception(guard.value()->import_state("{}"), "boom in import_state");

  auto compiler = moss::create_object<moss::sdk::Compiler>(library.value(), ctx);
  REQUIRE(compiler.ok());
  is_exception(compiler.value()->extract_pairs({}, 0.9).status(), "boom in extract_pairs");
  is_exception(compiler.value()->compile({}, {}).status(), "boom in compile");
  is_exception(compiler.value()->render({}, "", "").status(), "boom in render");
  is_exception(compiler.value()->estimate_complexity("", "").status(), "boom in estimate");

  auto planner = moss::create_object<moss::sdk::Planner>(library.value(), ctx);
  REQUIRE(planner.ok());
  is_exception(planner.value()->learn({}), "boom in learn");
  is_exception(planner.value()->predict({}, 3, 0.5).status(), "boom in predict");
  is_exception(planner.value()->stats().status(), "boom in stats");
  is_exception(planner.value()->export_state().status(), "boom in export_state");
  is_exception(planner.value()->import_state("{}"), "boom in import_state");
}

TEST_CASE("an init that throws fails object creation with the reason", "[loader][thrower]") {
  auto library = Library::load(fixture("fixture-thrower"));
  REQUIRE(library.ok());
  moss::PluginLogger logger("thrower");
  auto tool = moss::create_object<moss::sdk::Tool>(
      library.value(), make_context(R"({"throw_in_init":true})", &logger));
  REQUIRE_FALSE(tool.ok());
  CHECK_THAT(tool.status().message(), Contains("tool init failed: init threw: boom in init"));
}

TEST_CASE("a constructor that throws fails object creation with the reason", "[loader]") {
  auto library = Library::load(fixture("fixture-ctor-throws"));
  REQUIRE(library.ok());
  auto object = library.value()->create(moss::sdk::Kind::tool);
  REQUIRE_FALSE(object.ok());
  CHECK_THAT(object.status().message(),
             Contains("failed to create its tool: constructor threw: cannot construct"));
}

TEST_CASE("a plugin that crashes in a method takes down only the process calling it",
          "[loader][crash]") {
  auto library = Library::load(fixture("fixture-crasher"));
  REQUIRE(library.ok());
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    restore_default_signals();
    auto object = library.value()->create(moss::sdk::Kind::tool);
    if (object.ok()) static_cast<moss::sdk::Tool*>(object.value().get())->invoke("{}");
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
}

TEST_CASE("every plugin built with moss_add_plugin exports only its entry and can be unloaded",
          "[loader][sdk]") {
  std::vector<std::filesystem::path> files = {fixture("fixture-good")};
  for (const auto& entry : std::filesystem::directory_iterator(MOSS_PLUGINS_DIR)) {
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  }
  REQUIRE(files.size() > 1);
  for (const auto& file : files) {
    INFO(file.string());
    auto bytes = moss::read_file(file);
    REQUIRE(bytes.ok());
    auto image = moss::parse_elf(file, bytes.value(), moss::sdk::kManifestSection);
    REQUIRE(image.ok());
    REQUIRE(image->dynamic_symbols.size() == 1);
    CHECK(image->dynamic_symbols[0].name == moss::sdk::kEntrySymbol);
    CHECK_FALSE(image->dynamic_symbols[0].unique);
  }
}
