// Crash attribution: if a plugin crashes the process, the last words on stderr name the
// plugin, its version and the method that was running, instead of a bare "Segmentation fault".
#pragma once

#include <string>

namespace moss {

// Describes where plugin code is entered; formatted once, read by the signal handler.
class PluginCallSite {
 public:
  PluginCallSite(const std::string& instance, const std::string& version, const std::string& file);
  const char* text() const { return text_; }

 private:
  char text_[384] = {};
};

// Marks the current thread as running plugin code for its lifetime. Costs two thread-local
// stores; safe to nest.
class PluginCallScope {
 public:
  PluginCallScope(const PluginCallSite& site, const char* method) noexcept;
  ~PluginCallScope();
  PluginCallScope(const PluginCallScope&) = delete;
  PluginCallScope& operator=(const PluginCallScope&) = delete;

 private:
  const PluginCallSite* previous_site_;
  const char* previous_method_;
};

// Installs handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT that report the plugin
// call in flight, then re-raise the signal with its default action (so exit status and core
// dumps are unchanged). Idempotent.
void install_crash_reporter();

}  // namespace moss
