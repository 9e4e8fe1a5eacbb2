// Allocation of coroutine frames.
//
// Every task is one coroutine frame, so frame allocation is on the spawn hot path. Frames
// come from per-thread free lists by size class (16-byte steps up to 1 KiB), refilled from
// chunks that are mapped with their pages populated up front: a burst of 100,000 spawns
// then costs a few mmap calls instead of one page fault per 4 KiB of frames, and a freed
// frame is reused by the next spawn of the same size without touching malloc. Larger
// frames go to ::operator new.
//
// A frame may be freed on another thread than the one that allocated it (a Task created on
// one thread and run on another); it then joins that thread's free list. Chunks are never
// unmapped, so memory stays at the high-water mark of live frames.
#pragma once

#include <cstddef>
#include <cstdint>

namespace loopscope::detail {

void* allocate_frame(std::size_t size);
void deallocate_frame(void* frame, std::size_t size) noexcept;

// Counters of the calling thread's pool (for tests and statistics).
struct FrameStats {
  std::uint64_t allocations = 0;  // frames handed out, pooled or not
  std::uint64_t chunks = 0;       // chunks mapped
};
FrameStats frame_stats() noexcept;

}  // namespace loopscope::detail
