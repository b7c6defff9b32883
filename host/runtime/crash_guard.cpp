// Fatal-signal reporting. The handler uses only async-signal-safe calls (write, raise) and
// reads only data formatted before the call started.
#include "runtime/crash_guard.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace moss {
namespace {

thread_local const PluginCallSite* t_site = nullptr;
thread_local const char* t_method = nullptr;

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
  if (t_site != nullptr) {
    write_text(" in plugin ");
    write_text(t_site->text());
    write_text(" during ");
    write_text(t_method != nullptr ? t_method : "a call");
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

PluginCallScope::PluginCallScope(const PluginCallSite& site, const char* method) noexcept
    : previous_site_(t_site), previous_method_(t_method) {
  t_site = &site;
  t_method = method;
}

PluginCallScope::~PluginCallScope() {
  t_site = previous_site_;
  t_method = previous_method_;
}

void install_crash_reporter() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  // An alternate stack, so a plugin's stack overflow is still reported.
  static char alternate_stack[64 * 1024];
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof alternate_stack;
  ::sigaltstack(&stack, nullptr);

  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  action.sa_flags = SA_ONSTACK | SA_RESETHAND;
  ::sigemptyset(&action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
    ::sigaction(sig, &action, nullptr);
}

}  // namespace moss
