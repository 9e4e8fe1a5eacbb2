#include "creation_stacks.hpp"

#include "debug_state.hpp"
#include <loopscope/detail/promise.hpp>
#include <loopscope/probes/stack.hpp>

#include <algorithm>
#include <array>

namespace loopscope::detail {

namespace {

std::uint64_t hash_frames(std::span<const std::uintptr_t> frames) noexcept {
  std::uint64_t h = frames.size();
  for (const std::uintptr_t address : frames) {
    h = hash_mix(h, address);
  }
  return h;
}

}  // namespace

StackTable::KeyEntry& StackTable::entry(std::uintptr_t site, std::uintptr_t caller) {
  if (last_entry_ != nullptr && site == last_site_ && caller == last_caller_) {
    return *last_entry_;  // the common case: many frames created by one line in a row
  }
  // Entries of an unordered_map do not move when it grows: the pointer stays valid.
  KeyEntry& found = by_key_[hash_mix(hash_mix(0, site), caller)];
  last_site_ = site;
  last_caller_ = caller;
  last_entry_ = &found;
  return found;
}

std::uint32_t StackTable::intern(std::span<const std::uintptr_t> stack) {
  const std::uint64_t hash = hash_frames(stack);
  if (const auto it = by_hash_.find(hash); it != by_hash_.end()) {
    const std::span<const std::uintptr_t> known = get(it->second);
    if (std::equal(known.begin(), known.end(), stack.begin(), stack.end())) {
      return it->second;
    }
    // Two stacks with one hash: store the newcomer without an index entry.
  }
  if (ends_.size() >= kMaxStacks) {
    return 0;
  }
  frames_.insert(frames_.end(), stack.begin(), stack.end());
  ends_.push_back(static_cast<std::uint32_t>(frames_.size()));
  const auto id = static_cast<std::uint32_t>(ends_.size());
  by_hash_.emplace(hash, id);
  return id;
}

std::span<const std::uintptr_t> StackTable::get(std::uint32_t id) const noexcept {
  if (id == 0 || id > ends_.size()) {
    return {};
  }
  const std::uint32_t begin = id == 1 ? 0 : ends_[id - 2];
  return std::span<const std::uintptr_t>(frames_).subspan(begin, ends_[id - 1] - begin);
}

std::uint32_t OriginTable::intern_new(std::uint32_t stack, const SourceLocation& site,
                                      std::uintptr_t code) {
  SpawnSite* spawn_site = site_entry(site, code);
  if (spawn_site == nullptr) {
    return 0;
  }
  const std::uint64_t key =
      hash_mix(hash_mix(0, stack), reinterpret_cast<std::uintptr_t>(spawn_site));
  std::uint32_t origin = 0;
  if (const auto it = origin_ids_.find(key); it != origin_ids_.end()) {
    origin = it->second;
  } else {
    if (origins_.size() >= kMaxOrigins) {
      return 0;
    }
    origins_.push_back(Origin{stack, spawn_site});
    origin = static_cast<std::uint32_t>(origins_.size()) | kOriginBit;
    origin_ids_.emplace(key, origin);
  }
  last_file_ = site.file;
  last_line_ = site.line;
  last_code_ = code;
  last_stack_ = stack;
  last_origin_ = origin;
  last_site_ = spawn_site;
  return origin;
}

SpawnSite* OriginTable::site_entry(const SourceLocation& site, std::uintptr_t code) {
  // The file is a string literal: its address names it (one per translation unit).
  const std::uint64_t key =
      hash_mix(hash_mix(hash_mix(0, reinterpret_cast<std::uintptr_t>(site.file)), site.line), code);
  if (const auto it = site_ids_.find(key); it != site_ids_.end()) {
    return it->second;
  }
  if (sites_.size() >= kMaxOrigins) {
    return nullptr;
  }
  SpawnSite* entry = &sites_.emplace_back(SpawnSite{site.file, site.line, code});
  site_ids_.emplace(key, entry);
  return entry;
}

std::uint32_t OriginTable::stack_of(std::uint32_t origin) const noexcept {
  const std::uint32_t index = origin & ~kOriginBit;
  if ((origin & kOriginBit) == 0 || index == 0 || index > origins_.size()) {
    return 0;
  }
  return origins_[index - 1].stack;
}

std::uint32_t note_coroutine_created(std::uintptr_t caller) noexcept {
  // Called from the promise's constructor, always inlined into the coroutine's ramp (or
  // further, into the ramp's caller): this return address is in that function, `caller`
  // where that function returns to. Past this function's own frame, the walk gives the same
  // two addresses first.
  const auto site = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  constexpr std::size_t kSkip = 1;  // note_coroutine_created itself
  try {
    StackTable& table = t_debug_state->stacks;
    StackTable::KeyEntry& key = table.entry(site, caller);
    if (key.id != 0 && !key.ambiguous) {
      if (!StackTable::must_verify(key)) [[likely]] {
        return key.id;
      }
      std::array<std::uintptr_t, StackTable::kKeyFrames> check{};
      const std::size_t n = probes::capture_stack(check, kSkip);
      const std::span<const std::uintptr_t> known = table.get(key.id);
      if (std::equal(check.begin(), check.begin() + static_cast<std::ptrdiff_t>(n), known.begin(),
                     known.begin() + static_cast<std::ptrdiff_t>(std::min(n, known.size())))) {
        return key.id;
      }
      key.ambiguous = true;  // another path shares the key: walk every time from now on
    }
    std::array<std::uintptr_t, StackTable::kMaxFrames> full{};
    const std::size_t n = probes::capture_stack(full, kSkip);
    const std::uint32_t id = table.intern(std::span<const std::uintptr_t>(full).first(n));
    if (key.id == 0) {
      key.id = id;
    }
    return id;
  } catch (...) {
    return 0;  // out of memory: this frame goes without a creation stack
  }
}

std::span<const std::uintptr_t> creation_stack(const PromiseBase& task) noexcept {
  const DebugState* debug = t_debug_state;
  return debug != nullptr ? debug->creation_stack(task) : std::span<const std::uintptr_t>{};
}

std::span<const std::uintptr_t> DebugState::stack_of(std::uint32_t debug_id) const noexcept {
  if ((debug_id & OriginTable::kOriginBit) != 0) {
    debug_id = origins.stack_of(debug_id);
  }
  return stacks.get(debug_id);
}

std::span<const std::uintptr_t> DebugState::creation_stack(const PromiseBase& task) const noexcept {
  // A task of another loop (on this thread, an earlier run()) names another table's ids.
  if (task.loop_ != nullptr && task.loop_ != &loop) {
    return {};
  }
  return stack_of(task.debug_id_);
}

}  // namespace loopscope::detail
