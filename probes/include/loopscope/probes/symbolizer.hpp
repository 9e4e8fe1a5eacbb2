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
#include <vector>

namespace loopscope::probes {

// A function and a place in it.
struct SourceFrame {
  std::string function;
  std::string file;
  std::uint32_t line = 0;
};

struct Symbol {
  std::string function;  // the symbol table's function at the address; empty if unknown
  std::string file;      // the innermost source line's; empty if unknown
  std::uint32_t line = 0;
  // When the address is in code the compiler inlined: the inlined functions, innermost
  // first, each with the line it is at, ending with `function` at the line of the outermost
  // inlined call (what eu-addr2line -i prints). Empty otherwise.
  std::vector<SourceFrame> inlined{};
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
