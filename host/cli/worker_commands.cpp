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
  commands.push_back(
      {{"conformance-worker"},
       "OPTIONS",
       "(internal) Run conformance checks on one plugin file; used by `moss plugin test`",
       "Loads the --plugin file and runs the conformance checks from index --from, writing one\n"
       "JSON line per check to the descriptor --result-fd. Run by `moss plugin test` in a\n"
       "child process under resource limits; not meant to be run by hand.",
       [](po::options_description& o, po::positional_options_description&) {
         add_conformance_worker_options(o);
       },
       [](Context& context) { return run_conformance_worker(context.options); },
       /*hidden=*/true});
  return commands;
}

}  // namespace moss::cli
