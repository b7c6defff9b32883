// llm-openai: HTTP POST over libcurl, with streaming of the body, and the process-wide libcurl
// set-up that keeps the plugin safe to unload.
#include "http_client.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <stdexcept>

#include <curl/curl.h>

// CURLOPT_PROTOCOLS_STR (7.85), CURLOPT_PREREQFUNCTION (7.80), CURL_WRITEFUNC_ERROR (7.87).
#if LIBCURL_VERSION_NUM < 0x075700
#error "llm-openai needs libcurl 7.87 or newer (Debian 12 has 7.88)"
#endif

namespace moss::plugins::openai {
namespace {

constexpr std::size_t kMaxIdleHandles = 8;

// libcurl is shared by every copy of this plugin in the process (the host keeps an old and a
// new version loaded during a hot swap, and both bind to the one libcurl.so.4), so it is set
// up once per process and pinned in memory (RTLD_NODELETE): unloading the plugin never
// unloads libcurl. That is what makes CURLOPT_QUICK_EXIT safe below. Without it, libcurl
// joins its resolver thread when a transfer ends, so a hanging DNS lookup would hold a call
// well past timeout_ms; with it, the thread is left to finish on its own, and it must still
// find libcurl's code mapped when it does (tests/llm_openai_unload_test.cpp shows both).
// curl_global_cleanup is never called: the process may still have users of libcurl.
bool pin_libcurl() noexcept {
  Dl_info curl_info{};
  if (::dladdr(reinterpret_cast<void*>(&curl_easy_init), &curl_info) == 0 ||
      curl_info.dli_fname == nullptr) {
    return false;
  }
  Dl_info self_info{};
  if (::dladdr(reinterpret_cast<void*>(&pin_libcurl), &self_info) == 0 ||
      self_info.dli_fbase == curl_info.dli_fbase) {
    return false;  // libcurl is linked into this plugin statically: it goes when we go
  }
  // The handle is deliberately never closed.
  return ::dlopen(curl_info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != nullptr;
}

CURLcode global_init_result = CURLE_FAILED_INIT;
bool libcurl_pinned = false;
std::once_flag global_init_once;

void ensure_curl() {
  std::call_once(global_init_once, [] {
    global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
    libcurl_pinned = pin_libcurl();
  });
  if (global_init_result != CURLE_OK) {
    throw std::runtime_error(std::string("libcurl failed to initialise: ") +
                             curl_easy_strerror(global_init_result));
  }
}

// State shared with the callbacks of one transfer.
struct Transfer {
  CURL* handle = nullptr;
  const HttpPost* post = nullptr;
  HttpReply* reply = nullptr;
  bool connected = false;
  bool aborted = false;
  bool too_large = false;
  std::exception_ptr error;
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  transfer->connected = true;
  if (line.starts_with("HTTP/")) {  // a new response (after a 1xx): forget the last headers
    transfer->reply->retry_after.clear();
    transfer->reply->retry_after_ms.clear();
    return size * count;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  if (equals_ignoring_case(name, "retry-after")) {
    transfer->reply->retry_after = std::string(value);
  } else if (equals_ignoring_case(name, "retry-after-ms")) {
    transfer->reply->retry_after_ms = std::string(value);
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  std::string& body = transfer->reply->body;
  if (body.size() + bytes > kMaxReplyBytes) {
    transfer->too_large = true;
    return CURL_WRITEFUNC_ERROR;
  }
  try {
    body.append(data, bytes);
    if (transfer->post->on_body) {
      long status = 0;
      curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
      if (status >= 200 && status < 300 &&
          !transfer->post->on_body(std::string_view(data, bytes))) {
        transfer->aborted = true;
        return CURL_WRITEFUNC_ERROR;
      }
    }
  } catch (...) {
    transfer->error = std::current_exception();  // exceptions must not unwind through curl
    return CURL_WRITEFUNC_ERROR;
  }
  return bytes;
}

// Called once a connection (new or reused) is ready, before the request is sent.
int on_connected(void* user, char*, char*, int, int) {
  static_cast<Transfer*>(user)->connected = true;
  return CURL_PREREQFUNC_OK;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

Transport transport_of(CURLcode code, const Transfer& transfer) {
  switch (code) {
    case CURLE_OK: return Transport::completed;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR: return Transport::connect_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return transfer.connected ? Transport::timed_out : Transport::connect_failed;
    case CURLE_WRITE_ERROR:
      if (transfer.too_large) return Transport::too_large;
      if (transfer.aborted) return Transport::aborted;
      return Transport::failed;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3: return Transport::connection_lost;
    default: return Transport::failed;
  }
}

}  // namespace

HttpClient::HttpClient() {
  ensure_curl();
}

HttpClient::~HttpClient() {
  for (void* handle : idle_)
    curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  CURL* handle = curl_easy_init();
  if (handle == nullptr) throw std::runtime_error("curl_easy_init failed");
  return handle;
}

void HttpClient::release(void* handle) {
  // Reset now so the pool never holds pointers into a finished call's buffers.
  curl_easy_reset(static_cast<CURL*>(handle));
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

HttpReply HttpClient::post(const HttpPost& post) {
  HttpReply reply;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& header : post.headers) {
    curl_slist* head = curl_slist_append(headers.get(), header.c_str());
    if (head == nullptr) throw std::bad_alloc();
    (void)headers.release();  // the same list, now one longer
    headers.reset(head);
  }
  char error_text[CURL_ERROR_SIZE] = {};
  Transfer transfer;
  transfer.post = &post;
  transfer.reply = &reply;

  // Declared last, so the handle goes back to the pool (reset) before the buffers it points
  // at are gone.
  struct Release {
    HttpClient* client;
    void operator()(void* handle) const { client->release(handle); }
  };
  std::unique_ptr<void, Release> owned(acquire(), Release{this});
  CURL* handle = static_cast<CURL*>(owned.get());
  transfer.handle = handle;

  curl_easy_setopt(handle, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, post.body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "moss-llm-openai/1.0");
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl decodes
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);         // required with threads
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);    // long generations on idle sockets
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(post.timeout_ms));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(post.connect_timeout_ms));
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_PREREQFUNCTION, &on_connected);
  curl_easy_setopt(handle, CURLOPT_PREREQDATA, &transfer);
  // Do not wait for a DNS lookup that outlived the timeout; see pin_libcurl.
  if (libcurl_pinned) curl_easy_setopt(handle, CURLOPT_QUICK_EXIT, 1L);

  CURLcode code = curl_easy_perform(handle);
  if (transfer.error) std::rethrow_exception(transfer.error);

  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  reply.status = static_cast<std::int32_t>(status);
  reply.transport = transport_of(code, transfer);
  if (reply.transport != Transport::completed) {
    reply.transport_error = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
  }
  return reply;
}

}  // namespace moss::plugins::openai
