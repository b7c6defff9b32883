// sigaltstack + sigaction, shared by the host's crash reporter and the eval worker.
#include "util/fatal_signals.hpp"

#include <signal.h>

namespace moss {

void install_fatal_signal_handlers(void (*handler)(int), std::initializer_list<int> signals) {
  static char alternate_stack[64 * 1024];
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof alternate_stack;
  ::sigaltstack(&stack, nullptr);
  struct sigaction action {};
  action.sa_handler = handler;
  action.sa_flags = SA_ONSTACK | SA_RESETHAND;
  ::sigemptyset(&action.sa_mask);
  for (int signal_number : signals)
    ::sigaction(signal_number, &action, nullptr);
}

}  // namespace moss
