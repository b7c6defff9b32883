// llm-openai is loaded, used and unloaded repeatedly, as the host does on hot swaps. This
// program does not link libcurl, like the moss host: the plugin brings libcurl in, pins it
// (see http_client.cpp), and must itself unload every time.
#include <catch2/catch.hpp>
#include <moss/sdk/sdk.hpp>
#include <nlohmann/json.hpp>

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "fake_openai_server.hpp"
#include "plugin_harness.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using moss::sdk::Code;
using moss::sdk::LLMBackend;
using moss::test::completion_json;
using moss::test::FakeOpenAi;
using moss::test::load_plugin;
using moss::test::try_create;
using nlohmann::json;

namespace {

moss::sdk::ChatRequest ask(const std::string& text) {
  moss::sdk::ChatRequest request;
  request.messages.push_back({"user", text, {}, "", ""});
  return request;
}

// True if the shared object at `file` (or with that soname) is mapped in this process.
bool is_loaded(const std::string& file) {
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);
  return true;
}

// One load, init, chat and release cycle of the plugin at `file`.
void use_once(const std::string& file, const FakeOpenAi& server, const std::string& text) {
  auto backend =
      try_create<LLMBackend>(load_plugin(file), json{{"base_url", server.base_url()}}.dump());
  INFO(backend.status().to_string());
  REQUIRE(backend.ok());
  auto reply = backend.value()->chat(ask(text), nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "echo " + text);
}

FakeOpenAi::Handler echo() {
  return [](std::size_t, const httplib::Request& request, httplib::Response& response) {
    auto body = json::parse(request.body);
    response.set_content(
        completion_json("echo " + body.at("messages")[0].at("content").get<std::string>()),
        "application/json");
  };
}

}  // namespace

TEST_CASE("the plugin unloads after each of twenty load-chat-release cycles", "[openai][unload]") {
  FakeOpenAi server(echo());
  const bool curl_linked_in = is_loaded("libcurl.so.4");
  INFO("libcurl was " << (curl_linked_in ? "" : "not ") << "loaded before the plugin");
  for (int i = 0; i < 20; ++i) {
    use_once(MOSS_PLUGIN_FILE, server, "cycle " + std::to_string(i));
    INFO("cycle " << i);
    REQUIRE_FALSE(is_loaded(MOSS_PLUGIN_FILE));
  }
  CHECK(server.request_count() == 20);
  // libcurl stays, pinned, so threads it may have left (resolver) never lose their code.
  CHECK(is_loaded("libcurl.so.4"));
}

TEST_CASE("two loaded copies share libcurl, and unloading one leaves the other working",
          "[openai][unload]") {
  FakeOpenAi server(echo());
  moss::test::TempDir dir;
  // Two files, so the loader maps two separate copies, as during a hot swap.
  std::filesystem::copy_file(MOSS_PLUGIN_FILE, dir / "old.so");
  std::filesystem::copy_file(MOSS_PLUGIN_FILE, dir / "new.so");
  auto old_version = try_create<LLMBackend>(load_plugin(dir / "old.so"),
                                            json{{"base_url", server.base_url()}}.dump());
  auto new_version = try_create<LLMBackend>(load_plugin(dir / "new.so"),
                                            json{{"base_url", server.base_url()}}.dump());
  REQUIRE(old_version.ok());
  REQUIRE(new_version.ok());
  CHECK(old_version.value()->chat(ask("a"), nullptr).ok());
  CHECK(new_version.value()->chat(ask("b"), nullptr).ok());

  old_version = moss::sdk::Status(Code::not_found, "released");
  CHECK_FALSE(is_loaded((dir / "old.so").string()));
  auto reply = new_version.value()->chat(ask("after the old copy is gone"), nullptr);
  INFO(reply.status().to_string());
  REQUIRE(reply.ok());
  CHECK(reply.value().message.content == "echo after the old copy is gone");
}

TEST_CASE("the plugin unloads cleanly right after a timed-out call", "[openai][unload]") {
  FakeOpenAi* self = nullptr;
  FakeOpenAi server([&](std::size_t, const httplib::Request&, httplib::Response& response) {
    self->hold();
    response.set_content(completion_json("late"), "application/json");
  });
  self = &server;
  {
    auto backend = try_create<LLMBackend>(
        load_plugin(MOSS_PLUGIN_FILE),
        json{{"base_url", server.base_url()}, {"timeout_ms", 100}, {"stream", true}}.dump());
    REQUIRE(backend.ok());
    auto reply = backend.value()->chat(ask("slow"), nullptr);
    CHECK(reply.status().code() == Code::deadline_exceeded);
  }
  CHECK_FALSE(is_loaded(MOSS_PLUGIN_FILE));
}

// Runs in a child process with slow_dns_shim preloaded (see the next test): a call whose DNS
// lookup hangs times out, the plugin is unloaded while libcurl's resolver thread is still in
// getaddrinfo, and the process must survive that thread's return into libcurl.
TEST_CASE("child: a resolver thread outlives the unloaded plugin", "[.][slow_dns_child]") {
  auto* in_flight =
      static_cast<std::atomic<int>*>(::dlsym(RTLD_DEFAULT, "moss_slow_dns_in_flight"));
  REQUIRE(in_flight != nullptr);  // run with LD_PRELOAD=<slow_dns_shim>
  {
    auto backend = try_create<LLMBackend>(load_plugin(MOSS_PLUGIN_FILE),
                                          json{{"base_url", "http://moss-slow-dns.invalid:1/v1"},
                                               {"timeout_ms", 100},
                                               {"connect_timeout_ms", 100},
                                               {"max_retries", 0}}
                                              .dump());
    REQUIRE(backend.ok());
    auto reply = backend.value()->chat(ask("hi"), nullptr);
    INFO(reply.status().to_string());
    CHECK(reply.status().code() == Code::unavailable);
  }
  REQUIRE_FALSE(is_loaded(MOSS_PLUGIN_FILE));
  // The call did not wait for the lookup: it is still running, in a thread libcurl detached.
  CHECK(in_flight->load() == 1);
  for (int i = 0; i < 1000 && in_flight->load() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Let the thread return into libcurl, clean up and exit.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(in_flight->load() == 0);
  CHECK(is_loaded("libcurl.so.4"));
}

TEST_CASE("unloading the plugin while a DNS lookup it started still runs is safe",
          "[openai][unload]") {
  std::string asan_options = "verify_asan_link_order=0";  // the shim is preloaded before ASan
  if (const char* existing = std::getenv("ASAN_OPTIONS")) {
    asan_options = std::string(existing) + ":" + asan_options;
  }
  auto child = moss::test::run_process(
      {std::filesystem::read_symlink("/proc/self/exe").string(), "[slow_dns_child]"},
      {std::string("LD_PRELOAD=") + MOSS_SLOW_DNS_SHIM, "ASAN_OPTIONS=" + asan_options}, {}, 60000);
  INFO("stdout:\n" << child.out << "\nstderr:\n" << child.err);
  CHECK(child.signal == 0);
  CHECK_FALSE(child.timed_out);
  CHECK(child.exit_code == 0);
  CHECK_THAT(child.out, Catch::Matchers::Contains("All tests passed"));
}
