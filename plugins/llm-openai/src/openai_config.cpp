// llm-openai: parsing and checking the plugin's config table.
#include "openai_config.hpp"

#include <array>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

namespace moss::plugins::openai {
namespace {

using nlohmann::json;
using sdk::Code;
using sdk::Status;

Status invalid(const std::string& message) {
  return Status(Code::invalid_argument, message);
}

Status read_string(const json& doc, const char* key, std::string& out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status();
  if (!it->is_string()) return invalid(std::string(key) + ": must be a string");
  out = it->get<std::string>();
  return Status();
}

template <class Int>
Status read_integer(const json& doc, const char* key, std::int64_t min, std::int64_t max,
                    Int& out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status();
  // TOML and JSON integers arrive as integers; 5000.0 is accepted as the integer it is.
  double value = 0.0;
  if (it->is_number_integer()) {
    value = static_cast<double>(it->get<std::int64_t>());
  } else if (it->is_number_float() && std::trunc(it->get<double>()) == it->get<double>()) {
    value = it->get<double>();
  } else {
    return invalid(std::string(key) + ": must be an integer");
  }
  if (value < static_cast<double>(min) || value > static_cast<double>(max)) {
    return invalid(std::string(key) + ": must be between " + std::to_string(min) + " and " +
                   std::to_string(max) + " (found " + it->dump() + ")");
  }
  out = static_cast<Int>(value);
  return Status();
}

Status read_price(const json& doc, const char* key, double& out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status();
  if (!it->is_number() || !(it->get<double>() >= 0.0) || !std::isfinite(it->get<double>())) {
    return invalid(std::string(key) + ": must be a number >= 0");
  }
  out = it->get<double>();
  return Status();
}

bool starts_with_scheme(std::string_view url, std::string_view scheme) {
  if (url.size() < scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != scheme[i]) return false;
  }
  return true;
}

Status check_base_url(std::string& url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  std::size_t host_start = 0;
  if (starts_with_scheme(url, "http://")) {
    host_start = 7;
  } else if (starts_with_scheme(url, "https://")) {
    host_start = 8;
  } else {
    return invalid("base_url: must start with http:// or https:// (found \"" + redact_url(url) +
                   "\")");
  }
  if (url.size() == host_start || url[host_start] == '/') {
    return invalid("base_url: names no host (found \"" + redact_url(url) + "\")");
  }
  if (url.find_first_of(" \t\r\n?#") != std::string::npos) {
    return invalid("base_url: must be a plain URL without spaces, query or fragment (found \"" +
                   redact_url(url) + "\")");
  }
  return Status();
}

bool is_env_name(std::string_view name) {
  if (name.empty()) return true;
  if (std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

sdk::Result<OpenAiConfig> parse_openai_config(std::string_view config_json) {
  json doc = json::parse(config_json.empty() ? std::string_view("{}") : config_json, nullptr,
                         /*allow_exceptions=*/false);
  if (!doc.is_object()) return invalid("config must be a JSON object");

  static constexpr std::array<std::string_view, 10> kKeys = {"base_url",
                                                             "model",
                                                             "api_key_env",
                                                             "timeout_ms",
                                                             "connect_timeout_ms",
                                                             "max_retries",
                                                             "retry_backoff_ms",
                                                             "price_per_1k_prompt",
                                                             "price_per_1k_completion",
                                                             "stream"};
  for (const auto& [key, value] : doc.items()) {
    if (key == "api_key") {
      return invalid(
          "api_key: the API key is never read from the config; put it in an environment "
          "variable and name that variable in api_key_env");
    }
    bool known = false;
    for (std::string_view name : kKeys)
      known = known || key == name;
    if (!known) return invalid("unknown key '" + key + "'");
  }

  OpenAiConfig config;
  Status s = read_string(doc, "base_url", config.base_url);
  if (s.ok()) s = check_base_url(config.base_url);
  if (s.ok()) s = read_string(doc, "model", config.model);
  if (s.ok()) s = read_string(doc, "api_key_env", config.api_key_env);
  if (s.ok() && !is_env_name(config.api_key_env)) {
    s = invalid(
        "api_key_env: must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*)"
        ", not the key itself");
  }
  if (s.ok()) s = read_integer(doc, "timeout_ms", 1, kMaxTimeoutMs, config.timeout_ms);
  if (s.ok()) {
    s = read_integer(doc, "connect_timeout_ms", 1, kMaxConnectTimeoutMs, config.connect_timeout_ms);
  }
  if (s.ok()) s = read_integer(doc, "max_retries", 0, kMaxRetries, config.max_retries);
  if (s.ok()) {
    s = read_integer(doc, "retry_backoff_ms", 0, kMaxRetryBackoffMs, config.retry_backoff_ms);
  }
  if (s.ok()) s = read_price(doc, "price_per_1k_prompt", config.price_per_1k_prompt);
  if (s.ok()) s = read_price(doc, "price_per_1k_completion", config.price_per_1k_completion);
  if (s.ok()) {
    if (auto it = doc.find("stream"); it != doc.end()) {
      if (!it->is_boolean()) {
        s = invalid("stream: must be true or false");
      } else {
        config.stream = it->get<bool>();
      }
    }
  }
  if (!s.ok()) return s;
  return config;
}

std::string redact_url(std::string_view url) {
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::size_t authority = scheme_end + 3;
  std::size_t path = url.find('/', authority);
  std::string_view host_part = url.substr(
      authority, path == std::string_view::npos ? std::string_view::npos : path - authority);
  std::size_t at = host_part.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, authority)) + std::string(url.substr(authority + at + 1));
}

}  // namespace moss::plugins::openai
