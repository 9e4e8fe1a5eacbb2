#include <loopscope/detail/frame_allocator.hpp>

#include <array>
#include <cstdint>
#include <new>
#include <sys/mman.h>

namespace loopscope::detail {

namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxPooled = 1024;
constexpr std::size_t kClasses = kMaxPooled / kGranule;
constexpr std::size_t kFirstChunk = std::size_t{64} << 10;
constexpr std::size_t kMaxChunk = std::size_t{4} << 20;

struct FreeBlock {
  FreeBlock* next;
};

class FramePool {
 public:
  void* allocate(std::size_t cls) {
    ++stats_.allocations;
    FreeBlock*& head = free_[cls];
    if (head != nullptr) {
      FreeBlock* block = head;
      head = block->next;
      return block;
    }
    const std::size_t bytes = (cls + 1) * kGranule;
    if (static_cast<std::size_t>(end_ - cursor_) < bytes) {
      refill();
    }
    void* block = cursor_;
    cursor_ += bytes;
    return block;
  }

  void deallocate(void* p, std::size_t cls) noexcept {
    auto* block = static_cast<FreeBlock*>(p);
    block->next = free_[cls];
    free_[cls] = block;
  }

  [[nodiscard]] FrameStats& stats() noexcept { return stats_; }

 private:
  void refill() {
    // The tail of the old chunk is abandoned (at most one frame's worth). MAP_POPULATE
    // allocates the pages in one call rather than one page fault each. (Transparent huge
    // pages were tried: fewer page allocations, but compaction stalls of tens of ms.)
    void* raw = mmap(nullptr, chunk_size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (raw == MAP_FAILED) {
      throw std::bad_alloc();
    }
    auto* chunk = static_cast<std::byte*>(raw);
    ++stats_.chunks;
    cursor_ = chunk;
    end_ = cursor_ + chunk_size_;
    if (chunk_size_ < kMaxChunk) {
      chunk_size_ *= 2;
    }
  }

  std::array<FreeBlock*, kClasses> free_{};
  FrameStats stats_{};
  std::byte* cursor_ = nullptr;
  std::byte* end_ = nullptr;
  std::size_t chunk_size_ = kFirstChunk;
};

// Trivially destructible, so it needs no TLS destructor; its chunks live as long as the
// process (see the header).
constinit thread_local FramePool t_pool;

constexpr std::size_t size_class(std::size_t size) noexcept {
  return (size + kGranule - 1) / kGranule - 1;
}

}  // namespace

void* allocate_frame(std::size_t size) {
  if (size == 0 || size > kMaxPooled) {
    ++t_pool.stats().allocations;
    return ::operator new(size);
  }
  return t_pool.allocate(size_class(size));
}

void deallocate_frame(void* frame, std::size_t size) noexcept {
  if (size == 0 || size > kMaxPooled) {
    ::operator delete(frame);
    return;
  }
  t_pool.deallocate(frame, size_class(size));
}

}  // namespace loopscope::detail

namespace loopscope::detail {
FrameStats frame_stats() noexcept {
  return t_pool.stats();
}
}  // namespace loopscope::detail
