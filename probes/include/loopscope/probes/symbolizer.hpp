// Symbolizer: code address -> function name, file and line.
//
// Uses elfutils libdw (DWARF line tables and the ELF symbol tables of every module mapped
// into the process), so functions are named even in executables linked without -rdynamic and
// file:line is known for code built with -g. Names are demangled. Expensive: the collector
// symbolizes each distinct address once, off the loop threads.
//
// Thread-safety: one Symbolizer per thread (the collector owns one).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace loopscope::probes {

struct Symbol {
  std::string function;  // empty if unknown
  std::string file;      // empty if unknown
  std::uint32_t line = 0;
};

class Symbolizer {
 public:
  Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;
  Symbolizer(Symbolizer&&) = delete;
  Symbolizer& operator=(Symbolizer&&) = delete;
  ~Symbolizer();

  [[nodiscard]] Symbol symbolize(std::uintptr_t address);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// "_ZN3foo3barEv" -> "foo::bar()"; GCC's " [clone .actor]" suffixes of coroutine bodies
// are removed. Returns the input if it is not a mangled name.
std::string demangle(const char* name);

}  // namespace loopscope::probes
