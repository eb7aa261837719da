#include "counter.hpp"

int main(int argc, char** argv) {
  troupe::catalog types;
  counter_app::add_types(types);
  return troupe::cli_main(argc, argv, types);
}
