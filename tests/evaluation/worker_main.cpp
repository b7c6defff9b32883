// `moss eval-worker` for the tests: the same worker entry, in a binary they can name.
#include "evaluation/worker.hpp"

int main(int argc, char** argv) {
  return moss::eval_worker_main(argc, argv);
}
