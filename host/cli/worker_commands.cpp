// `moss eval-worker`: the internal subcommand the isolated evaluator re-executes moss as.
#include "cli/common.hpp"
#include "evaluation/worker.hpp"

namespace moss::cli {

std::vector<Command> worker_commands() {
  std::vector<Command> commands;
  commands.push_back(
      {{"eval-worker"},
       "OPTIONS",
       "(internal) Evaluate one plugin file in this process; used by `moss evaluate`",
       "Loads the --plugin file, creates and initialises its tool with --settings, runs the\n"
       "--suite and writes one JSON document to the descriptor --result-fd (never to stdout).\n"
       "The host runs this in a child process under resource limits (host/evaluation/README.md);\n"
       "it is not meant to be run by hand.",
       [](po::options_description& o, po::positional_options_description&) {
         add_worker_options(o);
       },
       [](Context& context) { return run_eval_worker(context.options); },
       /*hidden=*/true});
  return commands;
}

}  // namespace moss::cli
