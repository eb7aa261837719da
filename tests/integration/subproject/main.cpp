#include "troupe/troupe.hpp"

int main(int argc, char** argv) {
  return troupe::cli_main(argc, argv, troupe::catalog{});
}
