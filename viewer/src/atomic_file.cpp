#include "atomic_file.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace loopscope::viewer::detail {

namespace {

constexpr std::size_t kBuffer = std::size_t{1} << 20;

std::string error_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

}  // namespace

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)),
      buffer_(std::make_unique<char[]>(kBuffer)) {  // NOLINT(modernize-avoid-c-arrays)
  std::error_code ec;
  const auto status = std::filesystem::status(path_, ec);
  const bool special = !ec && std::filesystem::exists(status) &&
                       !std::filesystem::is_regular_file(status) &&
                       !std::filesystem::is_directory(status);
  if (!special) {
    temp_ = path_ + ".tmp";
  }
  const std::string& target = special ? path_ : temp_;
  out_.rdbuf()->pubsetbuf(buffer_.get(), kBuffer);
  errno = 0;
  out_.open(target, std::ios::binary | std::ios::trunc);
  if (!out_) {
    throw std::runtime_error("cannot write '" + target +
                             "': " + (errno != 0 ? error_text(errno) : "open failed"));
  }
}

AtomicFile::~AtomicFile() {
  if (!done_) {
    out_.close();
    if (!temp_.empty()) {
      std::remove(temp_.c_str());
    }
  }
}

void AtomicFile::commit() {
  errno = 0;
  out_.flush();
  out_.close();
  const std::string& target = temp_.empty() ? path_ : temp_;
  if (!out_) {
    throw std::runtime_error("writing '" + target +
                             "' failed: " + (errno != 0 ? error_text(errno) : "write error"));
  }
  if (!temp_.empty() && std::rename(temp_.c_str(), path_.c_str()) != 0) {
    throw std::runtime_error("cannot rename '" + temp_ + "' to '" + path_ +
                             "': " + error_text(errno));
  }
  done_ = true;
}

}  // namespace loopscope::viewer::detail
