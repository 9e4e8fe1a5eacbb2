// Creation stacks and spawn origins: where debug mode says a coroutine came from.
//
// In debug mode every coroutine frame (Task, AsyncGenerator) records the stack it was
// created with, so that a finding about it names the user's line that made it, as asyncio's
// debug mode does with its "created at" traceback. W1 creates 100,000 tasks from one line,
// and a libunwind walk costs ~100 ns (several times a spawn), so the walk must be rare:
//
// - Stacks are interned: each distinct stack is stored once, and a frame keeps a 32-bit id
//   in its promise (PromiseBase::debug_id_, which fills what was padding).
// - A creation is keyed, for free, by two return addresses: where the promise constructor
//   (always inlined) calls note_coroutine_created(), and where the function containing it
//   returns to (__builtin_return_address in the inlined constructor). These are the two
//   innermost frames of the stack: the coroutine's ramp and its caller, or, when the ramp
//   was inlined, the calling line and the loop's step. A key seen before reuses its stack.
//   Below a coroutine body the stack is always the loop's step (the runtime resumes through
//   a trampoline, never nested in an awaiter), and below that the stack of a loop is the same
//   for its whole life (its phases, run(), and whoever called run()); so the key decides the
//   stack, except when a plain (non-coroutine) function creating the frame is called from
//   several places. To catch that, the first kVerifiedHits reuses of each key, and one in
//   kVerifyEvery after that, walk kKeyFrames frames and compare them with the stored stack;
//   a key that disagrees is walked in full at every creation from then on. A creation of the
//   unverified kind may thus show the stack of an earlier creation with the same two
//   innermost frames. The table lives as long as the loop's DebugState.
// - When a task is spawned its id becomes an *origin* id (kOriginBit set): a creation
//   stack together with a spawn site, which the fan-out check counts live tasks by.
#pragma once

#include <loopscope/source_location.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>
#include <vector>

namespace loopscope::detail {

// Distinct stacks, each stored once and named by an id (1, 2, ...; 0 is "none").
class StackTable {
 public:
  static constexpr std::size_t kKeyFrames = 3;
  static constexpr std::size_t kMaxFrames = 16;
  static constexpr std::uint32_t kVerifiedHits = 8;
  static constexpr std::uint32_t kVerifyEvery = 64;

  // What is known of a key (see above).
  struct KeyEntry {
    std::uint32_t id = 0;    // the stack created with it; 0 until captured
    std::uint32_t hits = 0;  // reuses so far
    bool ambiguous = false;  // several stacks share the key: walk each time
  };

  // The entry of key (site, caller), added empty if new. The reference stays valid.
  KeyEntry& entry(std::uintptr_t site, std::uintptr_t caller);
  // True if a reuse of `entry` must be checked against a fresh walk.
  static bool must_verify(KeyEntry& entry) noexcept {
    const std::uint32_t hit = ++entry.hits;
    return hit <= kVerifiedHits || hit % kVerifyEvery == 0;
  }
  // Interns `stack`; returns its id, 0 if the table is full.
  std::uint32_t intern(std::span<const std::uintptr_t> stack);
  // The stack with that id; empty for 0 or an id this table never gave.
  [[nodiscard]] std::span<const std::uintptr_t> get(std::uint32_t id) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return ends_.size(); }

 private:
  // Enough for any program's distinct creation sites; past it frames get no stack.
  static constexpr std::size_t kMaxStacks = std::size_t{1} << 20;

  std::vector<std::uintptr_t> frames_;  // every stack, back to back
  std::vector<std::uint32_t> ends_;     // stack id i ends at frames_[ends_[i - 1]]
  std::unordered_map<std::uint64_t, std::uint32_t> by_hash_;  // of the whole stack
  std::unordered_map<std::uint64_t, KeyEntry> by_key_;
  // The last key, which the next creation usually repeats (a spawn in a loop).
  std::uintptr_t last_site_ = 0;
  std::uintptr_t last_caller_ = 0;
  KeyEntry* last_entry_ = nullptr;
};

// Where tasks were spawned: the spawn() call (its SourceLocation) and the coroutine.
struct SpawnSite {
  const char* file = "";
  std::uint32_t line = 0;
  std::uintptr_t code = 0;  // the coroutine's resume function
  std::size_t live = 0;     // tasks spawned here that have not finished
  bool reported = false;    // the fan-out finding was made
};

// Origins: (creation stack, spawn site) pairs, named by ids with kOriginBit set.
class OriginTable {
 public:
  static constexpr std::uint32_t kOriginBit = std::uint32_t{1} << 31;

  // The origin of a task created with stack `stack` and spawned at `site`; 0 if full.
  std::uint32_t intern(std::uint32_t stack, const SourceLocation& site, std::uintptr_t code) {
    if (last_origin_ != 0 && site.file == last_file_ && site.line == last_line_ &&
        code == last_code_ && stack == last_stack_) [[likely]] {
      return last_origin_;  // the common case: a spawn in a loop
    }
    return intern_new(stack, site, code);
  }
  // The creation stack id of an origin (0 if unknown).
  [[nodiscard]] std::uint32_t stack_of(std::uint32_t origin) const noexcept;
  // The spawn site of an origin (null if unknown).
  [[nodiscard]] SpawnSite* site_of(std::uint32_t origin) const noexcept {
    const std::uint32_t index = origin & ~kOriginBit;
    if ((origin & kOriginBit) == 0 || index == 0 || index > origins_.size()) {
      return nullptr;
    }
    return origins_[index - 1].site;
  }
  // The spawn site of the origin intern() returned last.
  [[nodiscard]] SpawnSite* last_site() const noexcept { return last_site_; }

 private:
  struct Origin {
    std::uint32_t stack;
    SpawnSite* site;  // in sites_, a deque: it does not move
  };
  static constexpr std::size_t kMaxOrigins = std::size_t{1} << 20;

  std::uint32_t intern_new(std::uint32_t stack, const SourceLocation& site, std::uintptr_t code);
  SpawnSite* site_entry(const SourceLocation& site, std::uintptr_t code);

  std::deque<SpawnSite> sites_;  // a deque: last_site_ stays valid as it grows
  std::vector<Origin> origins_;
  std::unordered_map<std::uint64_t, SpawnSite*> site_ids_;
  std::unordered_map<std::uint64_t, std::uint32_t> origin_ids_;
  // The last spawn, which the next one usually repeats (a spawn in a loop).
  const char* last_file_ = nullptr;
  std::uint32_t last_line_ = 0;
  std::uintptr_t last_code_ = 0;
  std::uint32_t last_stack_ = 0;
  std::uint32_t last_origin_ = 0;
  SpawnSite* last_site_ = nullptr;
};

// Mixes `value` into the hash `h` (a multiply-xorshift step: cheap and well spread).
constexpr std::uint64_t hash_mix(std::uint64_t h, std::uint64_t value) noexcept {
  h = (h ^ value) * 0x9E3779B97F4A7C15ULL;
  return h ^ (h >> 29);
}

}  // namespace loopscope::detail
