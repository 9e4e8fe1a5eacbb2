#include <loopscope/probes/recorder.hpp>

#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

namespace loopscope::probes {

Recorder::Recorder(std::uint32_t thread_index, std::string thread_name, std::size_t ring_words)
    : ring_(ring_words, kUncheckedWords),
      step_ticks_(read_ticks(tick_source())),
      tick_cost_(read_cost([source = tick_source()] { return read_ticks(source); })),
      source_(tick_source()),
      thread_index_(thread_index),
      os_tid_(static_cast<std::uint64_t>(syscall(SYS_gettid))),
      thread_name_(std::move(thread_name)) {
}

void Recorder::record_task_name(std::uint64_t task, std::string name) {
  if (fork_.in_child()) {
    return;  // the collector that would take it is gone, perhaps holding the lock
  }
  std::lock_guard lock(rare_mutex_);
  names_.push_back(TaskText{task, std::move(name)});
}

void Recorder::record_task_error(std::uint64_t task, std::string message) {
  if (fork_.in_child()) {
    return;
  }
  std::lock_guard lock(rare_mutex_);
  errors_.push_back(TaskText{task, std::move(message)});
}

void Recorder::record_warning(WarningEvent warning) {
  if (fork_.in_child()) {
    return;
  }
  std::lock_guard lock(rare_mutex_);
  warnings_.push_back(std::move(warning));
}

void Recorder::take_rare(std::vector<TaskText>& names, std::vector<TaskText>& errors,
                         std::vector<WarningEvent>& warnings) {
  std::lock_guard lock(rare_mutex_);
  names.insert(names.end(), std::make_move_iterator(names_.begin()),
               std::make_move_iterator(names_.end()));
  errors.insert(errors.end(), std::make_move_iterator(errors_.begin()),
                std::make_move_iterator(errors_.end()));
  warnings.insert(warnings.end(), std::make_move_iterator(warnings_.begin()),
                  std::make_move_iterator(warnings_.end()));
  names_.clear();
  errors_.clear();
  warnings_.clear();
}

}  // namespace loopscope::probes
