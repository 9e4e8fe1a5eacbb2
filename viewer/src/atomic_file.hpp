// AtomicFile: an output file that appears complete or not at all. It writes to
// "<path>.tmp" and renames that to `path` in commit(); if the object goes away without a
// commit (an error was thrown), the temporary file is removed and `path` stays as it was.
//
// A path that exists and is not a regular file (/dev/null, a FIFO, a terminal) is written
// directly: renaming over it would replace the device or pipe with a file.
#pragma once

#include <fstream>
#include <memory>
#include <string>

namespace loopscope::viewer::detail {

class AtomicFile {
 public:
  // Throws std::runtime_error if the temporary file cannot be created.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile(AtomicFile&&) = delete;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  std::ostream& stream() { return out_; }
  // Flushes, closes and renames; throws std::runtime_error if any of it fails.
  void commit();

 private:
  std::string path_, temp_;         // temp_ empty: writing to path_ directly
  std::unique_ptr<char[]> buffer_;  // NOLINT(modernize-avoid-c-arrays): the stream's buffer
  std::ofstream out_;
  bool done_ = false;
};

}  // namespace loopscope::viewer::detail
