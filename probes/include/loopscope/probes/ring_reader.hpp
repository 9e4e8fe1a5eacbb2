// RingReader: reads the words of an EventRing back as the plain events a trace holds.
//
// The loop records some events in the ring-only forms of event.hpp, which the collector
// undoes through a RingReader per ring:
//   - a kStep event becomes the task_resumed it stands for, then the event itself;
//   - a kFolded event gets its extension back from `time` and the records that follow;
//   - a kUntimed event gets a timestamp. The step ends (task_suspended, task_finished) of a
//     run of untimed events share the time up to the timed event that closes the run
//     evenly, each ending at its share: a step's task_resumed is at the end of the step
//     before. When the closing event is itself a step end it takes one share; otherwise the
//     last untimed step ended at its time. The other untimed events (a spawn, a to_thread
//     submission: things that happen inside a step) take the time their step began;
//   - a kTimeMark event gives its time to the untimed events before it and is dropped;
//   - a kSiteRef task_created gets the coroutine and spawn site of the numbered one before,
//     and, when it is not folded, the task of the step it is in as its parent; a run of them
//     (kSpawnRun) becomes one task_created for each of its tasks;
//   - a task_suspended waiting on an object (an address tagged with kObjectAddressTag) gets
//     the object's number instead: 1, 2, ... in the order objects first appear in the ring.
// Counts are exact; a step's busy time is exact when the loop timed it and spread evenly
// over its window otherwise (see Loop::run_ready_traced for how windows are sized).
//
// Untimed events wait here until the timed event that closes their run arrives (the loop
// publishes right after one, so a run is seldom split between two reads). finish() hands out
// the ones still waiting, at the last time known, when the ring's producer is done.
//
// Thread-safety: one reader per ring, used by the ring's consumer only.
#pragma once

#include <loopscope/probes/event.hpp>
#include <loopscope/probes/ring.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loopscope::probes {

class RingReader {
 public:
  // Calls on_event(const Event&, std::span<const EventExt>) for each event of `words` that
  // can be placed in time, in order. The Event's ext holds the record count only.
  template <class F>
  void read(const EventRing::Readable& words, F&& on_event) {
    const std::size_t n = words.size();
    std::size_t i = 0;
    while (i < n) {
      const Event first = unpack_header(words[i]);
      if ((first.ext & kUntimed) == 0 && pending_.empty()) [[likely]] {
        // A timed event with nothing waiting for it: straight through.
        const std::size_t size = word_count(first);
        if (i + size > n) [[unlikely]] {
          return;
        }
        emit_timed(words, i, event_at(words, i), on_event);
        i += size;
        continue;
      }
      // The run of untimed events from i, and the timed event that closes it.
      std::size_t end = i;
      std::uint64_t steps = 0;
      while (end < n) {
        const Event e = unpack_header(words[end]);
        if ((e.ext & kUntimed) == 0) {
          break;
        }
        steps += ends_step(e.kind) ? 1 : 0;
        end += word_count(e);
      }
      if (end >= n || !pending_.empty()) {
        // No closing event yet, or an older run waits: go through the waiting list.
        for (std::size_t k = i; k < std::min(end, n);) {
          Item item = item_at(words, k);
          k += word_count(item.event);
          accept_untimed(item, on_event);
        }
        if (end >= n) {
          return;
        }
      } else if (end > i) {
        place_run(words, i, end, steps, on_event);
      }
      Item closing = item_at(words, end);
      end += word_count(closing.event);
      if (end > n) [[unlikely]] {
        return;  // never published half-written; stop rather than read past the end
      }
      accept_timed(closing, on_event);
      i = end;
    }
  }

  // The ring's producer is done: hands out the untimed events still waiting.
  template <class F>
  void finish(F&& on_event) {
    flush(last_, false, on_event);
  }

 private:
  struct Item {
    Event event{};
    std::array<EventExt, 3> ext{};
    std::uint8_t count = 0;
    std::uint32_t run = 1;  // the events it stands for: tasks event.task, event.task + 1, ...
  };
  // A step nobody wrote down the end of for this long is unlikely; past it the waiting events
  // are handed out at the last time known, which keeps the reader's memory bounded.
  static constexpr std::size_t kMaxPending = std::size_t{1} << 16;

  // The event whose header is word i, with its second word as its time (0 if it has none,
  // or if that word is past the end).
  static Event event_at(const EventRing::Readable& r, std::size_t i) noexcept {
    Event e = unpack_header(r[i]);
    if (has_second_word(e.ext) && i + 1 < r.size()) {
      e.time = r[i + 1];
    }
    return e;
  }
  static bool ends_step(EventKind kind) noexcept {
    return kind == EventKind::kTaskSuspended || kind == EventKind::kTaskFinished;
  }
  // base + delta * k / n (rounded down) for k = 1, 2, ..., n in turn, without overflow and
  // with one division for the run, not two per step end (a division takes tens of cycles).
  class Shares {
   public:
    Shares(std::uint64_t base, std::uint64_t delta, std::uint64_t n) noexcept
        : value_(base),
          quotient_(n != 0 ? delta / n : 0),
          remainder_(n != 0 ? delta % n : 0),
          n_(n != 0 ? n : 1) {}
    std::uint64_t next() noexcept {
      value_ += quotient_;
      carry_ += remainder_;  // k * (delta % n) mod n, below n
      if (carry_ >= n_) {
        carry_ -= n_;
        ++value_;
      }
      return value_;
    }

   private:
    std::uint64_t value_;
    std::uint64_t quotient_;
    std::uint64_t remainder_;
    std::uint64_t n_;
    std::uint64_t carry_ = 0;
  };
  std::uint64_t object_number(std::uint64_t address) {
    const auto [it, added] = objects_.try_emplace(address, objects_.size() + 1);
    return it->second;
  }
  void number_object(Item& item) {
    if (item.event.kind == EventKind::kTaskSuspended && item.count > 0 &&
        (item.ext[0].a & kObjectAddressTag) != 0) {
      item.ext[0].a = object_number(item.ext[0].a);
    }
  }

  static std::size_t word_count(const Event& e) noexcept { return ring_words(e.ext); }
  // The event at word i with its extension records, unfolded.
  Item item_at(const EventRing::Readable& words, std::size_t i) {
    Item item = unfolded_at(words, i);
    note_step(item.event);
    if (item.event.kind == EventKind::kTaskCreated && item.event.arg != 0) [[unlikely]] {
      if (is_spawn_run(item.event)) {
        // `task` spawns, from the id in its second word on: from here on a folded kSiteRef
        // task_created (as many words), with the step's task as its parent, standing for
        // them all.
        item.run = item.event.task;
        item.event.task = static_cast<std::uint32_t>(item.ext[0].a);
        item.event.ext = static_cast<std::uint8_t>(item.event.ext & ~kStep);
        item.ext[0].a = step_task_;
      }
      spawn_site(item);
    }
    return item;
  }
  // Follows which task's step the ring is in: its task_resumed begins it, its end ends it.
  void note_step(const Event& e) noexcept {
    if (e.kind == EventKind::kTaskResumed) {
      step_task_ = e.task;
    } else if (ends_step(e.kind)) {
      step_task_ = 0;
    }
  }
  // A numbered spawn site (kSiteRef): its first task_created defines the number, the later
  // ones get their extension back from it. A number whose definition was dropped with a
  // full ring leaves the coroutine and site unknown (0).
  void spawn_site(Item& item) {
    const std::size_t number = item.event.arg;
    if (sites_.size() <= number) {
      sites_.resize(number + 1);
    }
    std::array<std::uint64_t, 5>& site = sites_[number];
    if ((item.event.ext & kSiteRef) != 0) {
      if ((item.event.ext & kFolded) == 0) {
        item.ext[0].a = step_task_;  // the parent is the task of the step it is in
      }
      item.ext[0].b = site[0];
      item.ext[1] = EventExt{site[1], site[2]};
      item.ext[2] = EventExt{site[3], site[4]};
      item.count = 3;
    } else if (item.count == 3) {
      site = {item.ext[0].b, item.ext[1].a, item.ext[1].b, item.ext[2].a, item.ext[2].b};
    }
    item.event.arg = 0;
    item.event.ext = static_cast<std::uint8_t>(item.event.ext & ~kSiteRef);
  }
  static Item unfolded_at(const EventRing::Readable& words, std::size_t i) noexcept {
    Item item;
    item.event = event_at(words, i);
    const std::size_t declared = item.event.ext & kExtCountMask;
    const std::size_t at = i + (has_second_word(item.event.ext) ? 2 : 1);
    const std::size_t available = words.size() > at ? (words.size() - at) / 2 : 0;
    const std::size_t count = std::min({declared, available, item.ext.size()});
    for (std::size_t k = 0; k < count; ++k) {
      item.ext[k] = EventExt{words[at + 2 * k], words[at + 2 * k + 1]};
    }
    item.count = static_cast<std::uint8_t>(count);
    if ((item.event.ext & kFolded) != 0 && count < item.ext.size()) {
      // Words time, r0.a, r0.b, r1.a, ... regrouped in pairs.
      std::uint64_t carry = item.event.time;
      for (std::size_t k = 0; k <= count; ++k) {
        const std::uint64_t next = item.ext[k].b;
        item.ext[k] = EventExt{carry, item.ext[k].a};
        carry = next;
      }
      item.ext[count].b = 0;
      item.count = static_cast<std::uint8_t>(count + 1);
    }
    return item;
  }

  template <class F>
  void emit_timed(const EventRing::Readable& words, std::size_t i, Event event, F& on_event) {
    if (!have_time_) {
      have_time_ = true;
      last_ = event.time;
    }
    const std::uint64_t begin = last_;
    last_ = std::max(event.time, last_);
    if (event.kind == kTimeMark) {
      return;
    }
    const std::size_t count = event.ext & kExtCountMask;
    std::array<EventExt, 3> ext;  // NOLINT(cppcoreguidelines-pro-type-member-init): copied
    const std::size_t copied = std::min(count, ext.size());
    if (copied != 0) {
      // After the header and the time. Bounded by the array, not by `copied` alone: gcc 12's
      // -O3 otherwise unrolls the loop past the array's end and warns (-Wstringop-overflow).
      const std::size_t at = i + 2;
      const bool contiguous = at + 2 * copied <= words.first.size() || at >= words.first.size();
      if (contiguous) {
        const std::uint64_t* from = at < words.first.size()
                                        ? words.first.data() + at
                                        : words.second.data() + (at - words.first.size());
        std::memcpy(ext.data(), from, copied * sizeof(EventExt));
      } else {
        for (std::size_t k = 0; k < ext.size() && k < copied; ++k) {
          ext[k] = EventExt{words[at + 2 * k], words[at + 2 * k + 1]};
        }
      }
      if (event.kind == EventKind::kTaskSuspended && (ext[0].a & kObjectAddressTag) != 0) {
        ext[0].a = object_number(ext[0].a);
      }
    }
    note_step(event);
    if ((event.ext & kStep) != 0) {
      const Event resumed{begin, event.task, 0, EventKind::kTaskResumed, 0};
      on_event(resumed, std::span<const EventExt>());
    }
    event.time = last_;
    event.ext = static_cast<std::uint8_t>(copied);
    on_event(std::as_const(event), std::span<const EventExt>(ext.data(), copied));
  }

  template <class F>
  void accept_untimed(Item& item, F& on_event) {
    number_object(item);
    pending_steps_ += ends_step(item.event.kind) ? 1 : 0;
    pending_.push_back(item);
    if (pending_.size() >= kMaxPending) [[unlikely]] {
      flush(last_, false, on_event);
    }
  }

  template <class F>
  void accept_timed(Item& item, F& on_event) {
    number_object(item);
    const std::uint64_t t = item.event.time;
    if (!have_time_) {
      have_time_ = true;
      last_ = t;
    }
    const std::uint64_t begin = flush(t, ends_step(item.event.kind), on_event);
    last_ = std::max(t, last_);
    if (item.event.kind != kTimeMark) {
      emit(item, begin, last_, on_event);
    }
  }

  // Places the untimed events in words [i, end), which hold `steps` step ends, before the
  // timed event at `end`, straight from the ring (the common case: nothing waits).
  template <class F>
  void place_run(const EventRing::Readable& words, std::size_t i, std::size_t end,
                 std::uint64_t steps, F& on_event) {
    const Event closing = event_at(words, end);
    if (!have_time_) {
      have_time_ = true;
      last_ = closing.time;
    }
    const std::uint64_t base = last_;
    const std::uint64_t delta = closing.time > base ? closing.time - base : 0;
    Shares shares(base, delta, steps + (ends_step(closing.kind) ? 1 : 0));
    std::uint64_t begin = base;
    while (i < end) {
      Item item = item_at(words, i);
      i += word_count(item.event);
      number_object(item);
      if (ends_step(item.event.kind)) {
        const std::uint64_t stop = shares.next();
        emit(item, begin, stop, on_event);
        begin = stop;
      } else {
        emit(item, begin, begin, on_event);
      }
    }
    last_ = begin;
  }

  // Places the waiting untimed events before a timed event at `t` (itself a step end when
  // `closing_step`); returns the time the step after them began.
  template <class F>
  std::uint64_t flush(std::uint64_t t, bool closing_step, F& on_event) {
    if (pending_.empty()) {
      return last_;
    }
    const std::uint64_t base = last_;
    const std::uint64_t delta = t > base ? t - base : 0;
    Shares shares(base, delta, pending_steps_ + (closing_step ? 1 : 0));
    std::uint64_t begin = base;
    for (Item& item : pending_) {
      if (ends_step(item.event.kind)) {
        const std::uint64_t end = shares.next();
        emit(item, begin, end, on_event);
        begin = end;
      } else {
        emit(item, begin, begin, on_event);
      }
    }
    pending_.clear();
    pending_steps_ = 0;
    last_ = begin;
    return begin;
  }

  // Hands out `item` at `time`, after the task_resumed it stands for (at `begin`).
  template <class F>
  static void emit(Item& item, std::uint64_t begin, std::uint64_t time, F& on_event) {
    if ((item.event.ext & kStep) != 0) {
      const Event resumed{begin, item.event.task, 0, EventKind::kTaskResumed, 0};
      on_event(resumed, std::span<const EventExt>());
    }
    item.event.time = time;
    item.event.ext = item.count;
    const std::span<const EventExt> ext(item.ext.data(), item.count);
    if (item.run == 1) [[likely]] {
      on_event(std::as_const(item.event), ext);
      return;
    }
    for (std::uint32_t k = 0; k < item.run; ++k) {  // a run of spawns: ids that follow on
      on_event(std::as_const(item.event), ext);
      ++item.event.task;
    }
  }

  std::vector<Item> pending_;
  std::uint64_t pending_steps_ = 0;
  std::uint64_t last_ = 0;  // the time of the latest event handed out
  bool have_time_ = false;
  std::unordered_map<std::uint64_t, std::uint64_t> objects_;
  // By spawn-site number: coroutine, file, line, function, 0 (the words of a task_created
  // after its parent).
  std::vector<std::array<std::uint64_t, 5>> sites_;
  std::uint32_t step_task_ = 0;  // the task whose step the ring is in, 0 between steps
};

}  // namespace loopscope::probes
