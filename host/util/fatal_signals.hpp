// Handlers for the signals that end a process because of a fault (SIGSEGV, SIGABRT, ...),
// run on an alternate stack so that a stack overflow is reported too.
#pragma once

#include <initializer_list>

namespace moss {

// Installs `handler` once-only (SA_RESETHAND: a second fault takes the default action) for
// each of `signals`, on a process-wide alternate stack for the calling thread.
void install_fatal_signal_handlers(void (*handler)(int), std::initializer_list<int> signals);

}  // namespace moss
