// moss: the command-line entry point.
#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return moss::cli::run(argc, argv);
}
