// The eval worker's body, and the async-signal-safe reporting of the faults that end it
// (a fatal signal, a failed allocation) through the same result pipe.
#include "evaluation/worker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <new>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "evaluation/conformance.hpp"
#include "evaluation/evaluator.hpp"
#include "loader/loader.hpp"
#include "util/fatal_signals.hpp"
#include "util/json_schema.hpp"

namespace moss {
namespace {

namespace po = boost::program_options;
using nlohmann::json;

// --- Fault reporting. The handlers only read these and call write(2). ---

volatile sig_atomic_t g_result_fd = -1;  // -1 once a document is written
char g_in_flight[320] = "\"start\"";     // a JSON string literal
int g_statm_fd = -1;                     // /proc/self/statm, opened in advance
long g_page_size = 4096;

void append(char* buffer, std::size_t& used, std::size_t capacity, const char* text) {
  for (; *text != '\0' && used + 1 < capacity; ++text)
    buffer[used++] = *text;
  buffer[used] = '\0';
}

void append_number(char* buffer, std::size_t& used, std::size_t capacity, long long value) {
  char digits[24];
  int count = 0;
  bool negative = value < 0;
  unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(value)
                                          : static_cast<unsigned long long>(value);
  do {
    digits[count++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) digits[count++] = '-';
  char text[24];
  for (int i = 0; i < count; ++i)
    text[i] = digits[count - 1 - i];
  text[count] = '\0';
  append(buffer, used, capacity, text);
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// The process's virtual size (what RLIMIT_AS limits), or -1.
long long address_space_bytes() {
  char text[128];
  ssize_t n = g_statm_fd >= 0 ? ::pread(g_statm_fd, text, sizeof text - 1, 0) : -1;
  if (n <= 0) return -1;
  long long pages = 0;
  for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; ++i)
    pages = pages * 10 + (text[i] - '0');
  return pages * g_page_size;
}

// Writes the fault document, once. Async-signal-safe.
void report_fault(const char* outcome, int signal_number) {
  int fd = g_result_fd;
  if (fd < 0) return;
  g_result_fd = -1;
  char note[512];
  std::size_t used = 0;
  append(note, used, sizeof note, "{\"outcome\":\"");
  append(note, used, sizeof note, outcome);
  append(note, used, sizeof note, "\",\"signal\":");
  append_number(note, used, sizeof note, signal_number);
  append(note, used, sizeof note, ",\"in_flight\":");
  append(note, used, sizeof note, g_in_flight);
  append(note, used, sizeof note, ",\"address_space_bytes\":");
  append_number(note, used, sizeof note, address_space_bytes());
  append(note, used, sizeof note, "}");
  write_all(fd, note, used);
}

void on_fatal_signal(int signal_number) {
  report_fault("crashed", signal_number);
  // SA_RESETHAND restored the default action: a fault re-executes and kills, a raised
  // signal stays pending until this handler returns and then kills.
  ::raise(signal_number);
}

void on_allocation_failure() {
  report_fault("memory_limit", 0);
  ::_exit(kWorkerExitOutOfMemory);
}

void install_fault_reporting(int result_fd) {
  g_page_size = ::sysconf(_SC_PAGESIZE);
  g_statm_fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  // On their own stack, so that a stack overflow is reported too.
  install_fatal_signal_handlers(on_fatal_signal,
                                {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS});
  // Without this, std::bad_alloc would reach the SDK glue and become a per-case
  // resource_exhausted error: a candidate that exhausts memory must be rejected as such.
  std::set_new_handler(on_allocation_failure);
  g_result_fd = result_fd;
}

void set_in_flight(const std::string& what) {
  // Ids are cut so that the escaped text always fits.
  std::string text = json(what.substr(0, 100)).dump(-1, ' ', true, json::error_handler_t::replace);
  std::size_t size = std::min(text.size(), sizeof g_in_flight - 1);
  std::memcpy(g_in_flight, text.data(), size);
  g_in_flight[size] = '\0';
}

// Writes the worker's one document.
bool write_document(const json& document) {
  int fd = g_result_fd;
  if (fd < 0) return false;
  std::string text = document.dump(-1, ' ', false, json::error_handler_t::replace);
  bool written = write_all(fd, text.data(), text.size());
  g_result_fd = -1;
  ::close(fd);
  return written;
}

// Writes one line of a streamed result; the pipe stays open for the next.
bool write_line(const json& line) {
  int fd = g_result_fd;
  if (fd < 0) return false;
  std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return write_all(fd, text.data(), text.size());
}

int finish(const char* outcome, const std::string& detail) {
  if (write_document({{"outcome", outcome}, {"detail", detail}})) return kWorkerExitOk;
  std::cerr << "moss eval-worker: cannot write the result: " << std::strerror(errno) << "\n";
  return kWorkerExitNoResult;
}

// --- What the plugin receives at init. ---

class WorkerLogger final : public sdk::Logger {
 public:
  void log(sdk::LogLevel level, std::string_view message) noexcept override {
    static constexpr const char* kNames[] = {"", "trace", "debug", "info", "warn", "error"};
    auto index = static_cast<std::size_t>(level);
    const char* name = index < std::size(kNames) ? kNames[index] : "log";
    try {
      std::cerr << "[plugin " << name << "] " << message << "\n";
    } catch (...) {
    }
  }
  bool enabled(sdk::LogLevel) const noexcept override { return true; }
};

class WorkerHostServices final : public sdk::HostServices {
 public:
  sdk::Result<sdk::ChatResponse> chat(const sdk::ChatRequest&) noexcept override {
    return sdk::Status(sdk::Code::unavailable, "the eval worker has no LLM backend");
  }
  std::int64_t now_ms() const noexcept override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Makes `result_fd` close-on-exec; false (with a message) if it is not an open descriptor.
bool claim_result_fd(int result_fd, const char* worker) {
  if (result_fd >= 0 && ::fcntl(result_fd, F_SETFD, FD_CLOEXEC) == 0) return true;
  std::cerr << "moss " << worker << ": --result-fd " << result_fd << " is not an open descriptor\n";
  return false;
}

std::string read_settings_option(const po::variables_map& options) {
  std::string settings = options["settings"].as<std::string>();
  if (settings == "-") {
    settings.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  return settings;
}

}  // namespace

Result<std::string> resolve_worker_settings(const std::string& settings_json,
                                            const PluginManifest& manifest,
                                            const std::string& instance) {
  json settings = json::parse(settings_json, nullptr, /*allow_exceptions=*/false);
  if (!settings.is_object()) {
    return make_error(Code::invalid_argument,
                      "settings for '" + instance + "' are not a JSON object: " + settings_json);
  }
  auto schema = JsonSchema::compile(manifest.config_schema_json,
                                    "plugin '" + manifest.name + "' config schema");
  if (!schema.ok()) return schema.status();
  schema->apply_defaults(settings);
  std::string problems;
  for (const SchemaViolation& v : schema->validate(settings)) {
    problems += (problems.empty() ? "" : "; ") + (v.path.empty() ? "" : v.path + ": ") + v.message;
  }
  if (!problems.empty()) {
    return make_error(Code::invalid_argument, "settings for '" + instance + "': " + problems);
  }
  return settings.dump();
}

std::vector<std::string> worker_arguments(const EvalTarget& target, int result_fd) {
  // --name=value keeps values that start with '-' from reading as options.
  std::vector<std::string> arguments = {
      "eval-worker", "--plugin=" + target.plugin_file.string(), "--suite=" + target.suite.string(),
      "--settings=" + target.settings_json, "--result-fd=" + std::to_string(result_fd)};
  if (!target.instance.empty()) arguments.push_back("--instance=" + target.instance);
  return arguments;
}

void add_worker_options(po::options_description& options) {
  options.add_options()("plugin", po::value<std::string>()->required(), "plugin .so file")(
      "suite", po::value<std::string>()->required(), "eval/ folder or .jsonl file")(
      "settings", po::value<std::string>()->default_value("{}"),
      "the instance's settings as a JSON object, or - to read them from standard input")(
      "instance", po::value<std::string>(), "instance name given to init (default: plugin name)")(
      "result-fd", po::value<int>()->required(), "file descriptor to write the result to");
}

int run_eval_worker(const po::variables_map& options) {
  EvalTarget target;
  target.plugin_file = options["plugin"].as<std::string>();
  target.suite = options["suite"].as<std::string>();
  target.settings_json = read_settings_option(options);
  if (options.count("instance")) target.instance = options["instance"].as<std::string>();
  return run_eval_worker(target, options["result-fd"].as<int>());
}

int run_eval_worker(const EvalTarget& target, int result_fd) {
  if (!claim_result_fd(result_fd, "eval-worker")) return kWorkerExitUsage;
  auto suite = load_suite(target.suite);
  if (!suite.ok()) {
    std::cerr << "moss eval-worker: " << suite.status().message() << "\n";
    return kWorkerExitUsage;
  }
  install_fault_reporting(result_fd);

  set_in_flight("load");
  auto library = Library::load(target.plugin_file);
  if (!library.ok()) return finish("load_failed", library.status().message());
  const PluginManifest& manifest = library.value()->manifest();
  if (Status evaluable = check_evaluable(manifest); !evaluable.ok()) {
    return finish("load_failed", evaluable.message());
  }

  set_in_flight("init");
  static WorkerLogger logger;
  static WorkerHostServices host;
  sdk::InitContext context;
  context.instance_name = target.instance.empty() ? manifest.name : target.instance;
  auto settings = resolve_worker_settings(target.settings_json, manifest, context.instance_name);
  if (!settings.ok()) return finish("init_failed", settings.status().message());
  context.config_json = settings.value();
  context.logger = &logger;
  context.host = &host;
  auto tool = create_object<sdk::Tool>(library.value(), context);
  if (!tool.ok()) {
    // The SDK glue reports a throwing constructor or init as plugin_exception.
    bool threw = tool.status().code() == Code::plugin_exception;
    return finish(threw ? "threw" : "init_failed", tool.status().message());
  }

  EvalHooks hooks;
  hooks.before_case = [](const EvalCase& c) { set_in_flight("case '" + c.id + "'"); };
  EvalReport report = evaluate_tool(*tool.value(), suite.value(), hooks);
  set_in_flight("teardown");
  if (!write_document({{"outcome", "ok"}, {"report", report_to_json(report)}})) {
    std::cerr << "moss eval-worker: cannot write the result: " << std::strerror(errno) << "\n";
    return kWorkerExitNoResult;
  }
  // Destroying the object and unloading the library run plugin code too; a crash here is
  // seen by the parent as a signal after a complete report.
  tool.value().reset();
  library.value().reset();
  return kWorkerExitOk;
}

std::vector<std::string> conformance_worker_arguments(const ConformanceJob& job, int result_fd) {
  std::vector<std::string> arguments = {
      "conformance-worker", "--plugin=" + job.plugin_file.string(),
      "--settings=" + job.settings_json, "--from=" + std::to_string(job.from),
      "--result-fd=" + std::to_string(result_fd)};
  if (!job.suite.empty()) arguments.push_back("--suite=" + job.suite.string());
  return arguments;
}

void add_conformance_worker_options(po::options_description& options) {
  options.add_options()("plugin", po::value<std::string>()->required(), "plugin .so file")(
      "settings", po::value<std::string>()->default_value("{}"),
      "settings as a JSON object, or - to read them from standard input")(
      "suite", po::value<std::string>(), "eval suite whose inputs the Tool checks use")(
      "from", po::value<std::size_t>()->default_value(0), "index of the first check to run")(
      "result-fd", po::value<int>()->required(), "file descriptor to write the results to");
}

int run_conformance_worker(const po::variables_map& options) {
  ConformanceJob job;
  job.plugin_file = options["plugin"].as<std::string>();
  job.settings_json = read_settings_option(options);
  if (options.count("suite")) job.suite = options["suite"].as<std::string>();
  job.from = options["from"].as<std::size_t>();
  return run_conformance_worker(job, options["result-fd"].as<int>());
}

int run_conformance_worker(const ConformanceJob& job, int result_fd) {
  if (!claim_result_fd(result_fd, "conformance-worker")) return kWorkerExitUsage;
  std::vector<json> sample_inputs;
  if (!job.suite.empty()) {
    auto suite = load_suite(job.suite);
    if (!suite.ok()) {
      std::cerr << "moss conformance-worker: " << suite.status().message() << "\n";
      return kWorkerExitUsage;
    }
    for (const EvalCase& c : suite->cases) {
      if (!c.expected_error && c.input.is_object()) sample_inputs.push_back(c.input);
    }
  }
  install_fault_reporting(result_fd);

  set_in_flight("load");
  auto library = Library::load(job.plugin_file);
  if (!library.ok()) return finish("load_failed", library.status().message());
  static WorkerLogger logger;
  static WorkerHostServices host;
  CheckContext context{
      library.value(), job.settings_json,       library.value()->manifest().name, &logger,
      &host,           std::move(sample_inputs)};
  std::vector<ConformanceCheck> checks = conformance_checks(library.value()->manifest());
  for (std::size_t i = job.from; i < checks.size(); ++i) {
    set_in_flight("check '" + checks[i].id + "'");
    CheckResult result = checks[i].run(context);
    if (!write_line({{"check", check_to_json(result)}})) return kWorkerExitNoResult;
  }
  set_in_flight("teardown");
  if (!write_document({{"outcome", "ok"}})) return kWorkerExitNoResult;
  context.library.reset();
  library.value().reset();
  return kWorkerExitOk;
}

int eval_worker_main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  if (!arguments.empty() && arguments.front() == "eval-worker") arguments.erase(arguments.begin());
  po::options_description options("eval-worker options");
  add_worker_options(options);
  po::variables_map parsed;
  try {
    po::store(po::command_line_parser(arguments).options(options).run(), parsed);
    po::notify(parsed);
  } catch (const po::error& e) {
    std::cerr << "moss eval-worker: " << e.what() << "\n" << options << "\n";
    return kWorkerExitUsage;
  }
  return run_eval_worker(parsed);
}

}  // namespace moss
