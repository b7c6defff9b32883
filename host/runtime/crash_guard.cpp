// Fatal-signal reporting. The handler uses only async-signal-safe calls (write, raise) and
// reads only data formatted before the call started (the lease stack, the version's text).
#include "runtime/crash_guard.hpp"

#include "runtime/lease.hpp"
#include "runtime/loaded_version.hpp"
#include "util/fatal_signals.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace moss {
namespace {

void write_text(const char* text) {
  size_t length = ::strlen(text);
  while (length > 0) {
    ssize_t n = ::write(STDERR_FILENO, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<size_t>(n);
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
  }
}

void on_fatal_signal(int sig) {
  write_text("moss: fatal signal ");
  write_text(signal_name(sig));
  const char* method = nullptr;
  const LoadedVersion* version = current_call_version(&method);
  if (version != nullptr) {
    write_text(" in plugin ");
    write_text(version->call_site().text());
    write_text(" during ");
    write_text(method != nullptr ? method : "a call");
  } else {
    write_text(" outside any plugin call");
  }
  write_text("\n");
  // SA_RESETHAND restored the default action; the re-raised signal is delivered when this
  // handler returns (a faulting instruction would also fault again).
  ::raise(sig);
}

}  // namespace

PluginCallSite::PluginCallSite(const std::string& instance, const std::string& version,
                               const std::string& file) {
  std::snprintf(text_, sizeof text_, "'%s' (version %.12s, file %s)", instance.c_str(),
                version.c_str(), file.c_str());
}

void install_crash_reporter() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  install_fatal_signal_handlers(on_fatal_signal, {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT});
}

}  // namespace moss
