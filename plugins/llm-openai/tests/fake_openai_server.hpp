// A real HTTP server on 127.0.0.1 (cpp-httplib) that stands in for an OpenAI-compatible LLM
// endpoint in llm-openai's tests: each test says how it answers, and it records what it got.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace moss::test {

struct RecordedRequest {
  std::string path;
  std::string body;
  std::string authorization;  // the Authorization header, "" if none
  std::string accept;
  int remote_port = 0;  // the client's port: the same for requests on one kept-alive connection
};

class FakeOpenAi {
 public:
  // Answers request number `n` (0-based, in arrival order) at POST /v1/chat/completions.
  using Handler = std::function<void(std::size_t n, const httplib::Request&, httplib::Response&)>;

  explicit FakeOpenAi(Handler handler) : handler_(std::move(handler)) {
    // A proxy from the environment must not stand between the tests and 127.0.0.1.
    static const bool no_proxy_set = [] {
      ::setenv("no_proxy", "127.0.0.1,localhost", 0);
      ::setenv("NO_PROXY", "127.0.0.1,localhost", 0);
      return true;
    }();
    (void)no_proxy_set;
    server_.set_keep_alive_timeout(1);  // bounds how long stop() waits for idle connections
    server_.Post("/v1/chat/completions", [this](const httplib::Request& request,
                                                httplib::Response& response) {
      std::size_t n = 0;
      {
        std::lock_guard lock(mutex_);
        n = requests_.size();
        requests_.push_back({request.path, request.body, request.get_header_value("Authorization"),
                             request.get_header_value("Accept")});
      }
      handler_(n, request, response);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a port on 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs, so wait for it.
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~FakeOpenAi() {
    release();
    server_.stop();
    thread_.join();
  }

  FakeOpenAi(const FakeOpenAi&) = delete;
  FakeOpenAi& operator=(const FakeOpenAi&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  // The body of request `n`, parsed.
  nlohmann::json request_json(std::size_t n) const {
    std::lock_guard lock(mutex_);
    return nlohmann::json::parse(requests_.at(n).body);
  }

  // For handlers that must outlast the client's timeout: blocks until release() (called by
  // the destructor) or until `limit` passes, so the server can always stop.
  void hold(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    released_cv_.wait_for(lock, limit, [this] { return released_; });
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    released_cv_.notify_all();
  }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::condition_variable released_cv_;
  bool released_ = false;
};

// A non-streamed chat.completion reply.
inline std::string completion_json(const std::string& content, std::int64_t prompt_tokens = 0,
                                   std::int64_t completion_tokens = 0,
                                   const std::string& finish_reason = "stop",
                                   const std::string& model = "test-model") {
  nlohmann::json reply = {{"id", "chatcmpl-1"},
                          {"object", "chat.completion"},
                          {"model", model},
                          {"choices",
                           {{{"index", 0},
                             {"message", {{"role", "assistant"}, {"content", content}}},
                             {"finish_reason", finish_reason}}}},
                          {"usage",
                           {{"prompt_tokens", prompt_tokens},
                            {"completion_tokens", completion_tokens},
                            {"total_tokens", prompt_tokens + completion_tokens}}}};
  return reply.dump();
}

// One streamed chunk with a delta for choice 0.
inline std::string delta_chunk(const nlohmann::json& delta,
                               const nlohmann::json& finish_reason = nullptr) {
  nlohmann::json chunk = {
      {"id", "chatcmpl-1"},
      {"object", "chat.completion.chunk"},
      {"model", "test-model"},
      {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}}}};
  return chunk.dump();
}

// "data: <chunk>\n\n" for each chunk, then "data: [DONE]\n\n".
inline std::string sse_body(const std::vector<std::string>& chunks) {
  std::string body;
  for (const std::string& chunk : chunks)
    body += "data: " + chunk + "\n\n";
  return body + "data: [DONE]\n\n";
}

// Sends `pieces` as separate HTTP chunks with a short pause between them, so they tend to
// reach the client in separate reads (the tests never depend on the exact split). If
// `then_break` is set, the connection is dropped after the last piece instead of ending the
// reply properly.
inline void send_in_pieces(httplib::Response& response, std::vector<std::string> pieces,
                           bool then_break = false,
                           const std::string& content_type = "text/event-stream") {
  response.set_chunked_content_provider(
      content_type, [pieces = std::move(pieces), then_break](std::size_t, httplib::DataSink& sink) {
        for (const std::string& piece : pieces) {
          if (!sink.write(piece.data(), piece.size())) return false;
          std::this_thread::sleep_for(std::chrono::milliseconds(3));
        }
        if (then_break) return false;  // httplib closes the connection mid-reply
        sink.done();
        return true;
      });
}

// A port on 127.0.0.1 that nothing listens on (bound, read, and released again).
inline int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace moss::test
