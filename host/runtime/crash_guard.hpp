// Crash attribution: if a plugin crashes the process, the last words on stderr name the
// plugin, its version and the method that was running, instead of a bare "Segmentation fault".
// What was running comes from the calling thread's lease stack (runtime/lease.hpp).
#pragma once

#include <string>

namespace moss {

// A plugin version's description, formatted once when it is loaded, because the signal
// handler may not allocate.
class PluginCallSite {
 public:
  PluginCallSite(const std::string& instance, const std::string& version, const std::string& file);
  const char* text() const { return text_; }

 private:
  char text_[384] = {};
};

// Installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT that report the plugin
// call in flight, then re-raise the signal with its default action (so exit status and core
// dumps are unchanged). Idempotent.
void install_crash_reporter();

}  // namespace moss
