#include <loopscope/viewer/trace_reader.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace loopscope::viewer {

namespace {

// Big reads keep system calls off the profile; the buffer grows only for a bigger chunk.
constexpr std::size_t kReadBuffer = std::size_t{4} << 20;

std::string_view type_name(std::uint8_t type) {
  return type < format::kChunkTypeNames.size() ? format::kChunkTypeNames[type] : "unknown";
}

// std::strerror is not thread-safe; the error_code message is.
std::string error_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string hex32(std::uint32_t v) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

TraceError chunk_error(std::uint64_t index, std::uint64_t offset, std::uint8_t type,
                       const std::string& what) {
  return {"chunk " + std::to_string(index) + " (" + std::string(type_name(type)) + ") at byte " +
              std::to_string(offset) + ": " + what,
          offset, index};
}

}  // namespace

TraceError::TraceError(const std::string& message, std::uint64_t offset,
                       std::optional<std::uint64_t> chunk_index)
    : std::runtime_error(message), offset_(offset), chunk_(chunk_index) {
}

TraceReader::TraceReader(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw TraceError("cannot open '" + path.string() + "': " + error_text(errno), 0);
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
    file_size_ = static_cast<std::uint64_t>(st.st_size);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  } else if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw TraceError("cannot read '" + path.string() + "': it is a directory", 0);
  }
}

TraceReader::TraceReader(std::span<const std::byte> bytes)
    : memory_(bytes), file_size_(bytes.size()), end_(bytes.size()) {
}

TraceReader::~TraceReader() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void TraceReader::rewind() {
  begin_ = 0;
  consumed_ = 0;
  chunk_index_ = 0;
  if (fd_ < 0) {
    end_ = memory_.size();
    return;
  }
  end_ = 0;
  eof_ = false;
  if (::lseek(fd_, 0, SEEK_SET) < 0 && errno != ESPIPE) {
    throw TraceError(std::string("cannot seek: ") + error_text(errno), 0);
  }
}

bool TraceReader::ensure(std::size_t n) {
  if (end_ - begin_ >= n) {
    return true;
  }
  if (fd_ < 0 || eof_ || (file_size_ && consumed_ + n > *file_size_)) {
    return false;
  }
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() < n) {
    buffer_.resize(std::max(n, kReadBuffer));
  }
  while (end_ < n && !eof_) {
    const ssize_t got = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      throw TraceError(std::string("read failed: ") + error_text(errno), consumed_);
    }
    eof_ = got == 0;
    end_ += static_cast<std::size_t>(got);
  }
  return end_ >= n;
}

std::span<const std::byte> TraceReader::view(std::size_t n) const noexcept {
  const std::byte* base = fd_ >= 0 ? buffer_.data() : memory_.data();
  return {base + begin_, n};
}

void TraceReader::advance(std::size_t n) noexcept {
  begin_ += n;
  consumed_ += n;
}

void TraceReader::read_header(TraceVisitor& visitor) {
  if (!ensure(format::kHeaderSize)) {
    const std::uint64_t have = file_size_ ? *file_size_ : end_ - begin_;
    if (have == 0) {
      throw TraceError("empty file: not a loopscope trace", 0);
    }
    throw TraceError("file too short for a trace header (" + std::to_string(have) + " of " +
                         std::to_string(format::kHeaderSize) + " bytes)",
                     0);
  }
  std::uint32_t header_size = 0;
  format::FileHeader header{};
  try {
    header = format::decode_header(view(format::kHeaderSize), header_size);
  } catch (const format::FormatError& e) {
    throw TraceError(
        std::string("file header at byte ") + std::to_string(e.offset()) + ": " + e.what(),
        e.offset());
  }
  if (!ensure(header_size)) {
    throw TraceError("file ends inside its " + std::to_string(header_size) + "-byte header", 0);
  }
  advance(header_size);
  visitor.on_header(header);
}

ReadResult TraceReader::read(TraceVisitor& visitor) {
  rewind();
  read_header(visitor);
  ReadResult result;
  const auto truncated = [&](std::string reason) {
    visitor.on_truncated(consumed_, reason);
    result.truncation = Truncation{consumed_, std::move(reason)};
  };
  for (;;) {
    const std::uint64_t offset = consumed_;
    if (!ensure(1)) {
      truncated("the trace ends without an end chunk (cut short)");
      break;
    }
    if (!ensure(format::kChunkHeaderSize)) {
      truncated("the file ends inside the header of chunk " + std::to_string(chunk_index_));
      break;
    }
    const format::ChunkHeader header =
        format::decode_chunk_header(view(format::kChunkHeaderSize).first<12>());
    if (header.length > format::kMaxChunkPayload) {
      throw chunk_error(chunk_index_, offset, header.type,
                        "length " + std::to_string(header.length) + " exceeds the 64 MiB limit");
    }
    const std::size_t total = format::kChunkHeaderSize + header.length;
    if (!ensure(total)) {
      truncated("chunk " + std::to_string(chunk_index_) + " runs past the end of the file (" +
                std::to_string(header.length) + " payload bytes declared)");
      break;
    }
    const std::span<const std::byte> bytes = view(total);
    const std::span<const std::byte> payload = bytes.subspan(format::kChunkHeaderSize);
    const std::uint32_t crc = format::chunk_crc(bytes, payload);
    if (crc != header.crc) {
      throw chunk_error(
          chunk_index_, offset, header.type,
          "CRC mismatch (stored " + hex32(header.crc) + ", computed " + hex32(crc) + ")");
    }
    read_chunk(header, payload, visitor, result);
    advance(total);
    ++chunk_index_;
    ++result.chunks;
    if (header.type == static_cast<std::uint8_t>(format::ChunkType::kEnd)) {
      result.complete = true;
      result.trailing_bytes = file_size_ ? *file_size_ - consumed_ : end_ - begin_;
      break;
    }
  }
  result.bytes = consumed_;
  return result;
}

void TraceReader::read_chunk(const format::ChunkHeader& header, std::span<const std::byte> payload,
                             TraceVisitor& visitor, ReadResult& result) {
  using format::ChunkType;
  const std::uint64_t offset = consumed_;
  if (header.flags != 0 || header.reserved != 0) {
    throw chunk_error(chunk_index_, offset, header.type, "unsupported flags");
  }
  try {
    switch (static_cast<ChunkType>(header.type)) {
      case ChunkType::kClockSync:
        format::decode_clock_sync(payload, sync_scratch_);
        visitor.on_clock_sync(sync_scratch_);
        break;
      case ChunkType::kThread:
        visitor.on_thread(format::decode_thread(payload));
        break;
      case ChunkType::kString:
        format::decode_strings(
            payload, [&](std::uint64_t id, std::string_view text) { visitor.on_string(id, text); });
        break;
      case ChunkType::kLocation:
        format::decode_locations(payload,
                                 [&](const format::Location& loc) { visitor.on_location(loc); });
        break;
      case ChunkType::kEvents:
        read_events(payload, visitor, result);
        break;
      case ChunkType::kDrops:
        visitor.on_drops(format::decode_drops(payload));
        break;
      case ChunkType::kWarning:
        format::decode_warning(payload, warning_scratch_);
        visitor.on_warning(warning_scratch_);
        break;
      case ChunkType::kTaskName:
        visitor.on_task_name(format::decode_task_name(payload));
        break;
      case ChunkType::kTaskError:
        visitor.on_task_error(format::decode_task_error(payload));
        break;
      case ChunkType::kEnd:
        visitor.on_end(format::decode_end(payload));
        break;
      default:
        throw chunk_error(chunk_index_, offset, header.type,
                          "unknown chunk type " + std::to_string(header.type));
    }
  } catch (const format::FormatError& e) {
    throw chunk_error(chunk_index_, offset, header.type,
                      std::string(e.what()) + " (payload byte " + std::to_string(e.offset()) + ")");
  }
}

// Decodes into one reusable buffer and hands it over a batch at a time: no allocation and
// one virtual call per batch, not per event.
void TraceReader::read_events(std::span<const std::byte> payload, TraceVisitor& visitor,
                              ReadResult& result) {
  format::EventDecoder decoder(payload);
  if (!visitor.on_events_chunk(decoder.thread(), decoder.count(), decoder.base_ticks())) {
    result.events_skipped += decoder.count();
    return;
  }
  event_batch_.resize(kEventBatch);
  while (const std::size_t n = decoder.next(event_batch_)) {
    visitor.on_events(decoder.thread(), std::span<const format::Record>(event_batch_).first(n));
    result.events += n;
  }
}

}  // namespace loopscope::viewer
