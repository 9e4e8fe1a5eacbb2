// Writes one of the test traces to a file, for the tests that run `loopscope` and read its
// exports back with other tools (check_exports.py):
//
//   write_test_trace program|program-slow|synthetic OUT
#include "program_trace.hpp"
#include "synthetic_trace.hpp"

#include <cstdio>
#include <fstream>
#include <string_view>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: write_test_trace program|program-slow|synthetic OUT\n");
    return 2;
  }
  const std::string_view which = argv[1];
  loopscope::probes::format::Bytes bytes;
  if (which == "program") {
    bytes = loopscope::testing::program_trace();
  } else if (which == "program-slow") {
    bytes = loopscope::testing::program_trace({.slow_ns = 200'000, .lag_scale = 2});
  } else if (which == "synthetic") {
    bytes = loopscope::testing::synthetic_trace();
  } else {
    std::fprintf(stderr, "write_test_trace: unknown trace '%s'\n", argv[1]);
    return 2;
  }
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return out ? 0 : 1;
}
