// troupe: the stock command line, with the built-in actor types and the slow-config demo's.
#include "troupe/actors/catalog.hpp"
#include "troupe/catalog.hpp"
#include "troupe/cli.hpp"

int main(int argc, char** argv) {
  troupe::catalog types;
  troupe::actors::add_to(types);
  return troupe::cli_main(argc, argv, types);
}
