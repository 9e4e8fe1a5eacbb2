// Intrusive containers used by the scheduler: nothing here allocates.
//
// ReadyQueue is the loop's FIFO run queue (singly linked, O(1) push and pop).
// IntrusiveList<T, Tag> is a doubly linked list with O(1) removal of any element; an
// object can sit in several lists at once by deriving from ListNode<Tag> once per list.
// Lists do not count their elements (two words each); owners that need a count keep one.
#pragma once

#include <cstddef>

namespace loopscope::detail {

// A node of the run queue: a task step (the hot path, resumed directly by the loop) or a
// callback.
struct ReadyNode {
  ReadyNode* next_ready = nullptr;
  bool is_callback = false;
};

class ReadyQueue {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  // The node queued last (the probes tell from it which task a timer woke).
  [[nodiscard]] ReadyNode* back() const noexcept { return tail_; }

  void push(ReadyNode* node) noexcept {
    node->next_ready = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ready = node;
    } else {
      head_ = node;
    }
    tail_ = node;
  }

  ReadyNode* pop() noexcept {
    ReadyNode* node = head_;
    if (node != nullptr) {
      head_ = node->next_ready;
      if (head_ == nullptr) {
        tail_ = nullptr;
      }
    }
    return node;
  }

  // Unlinks every queued node and returns the first; the rest follow through next_ready,
  // the last has none. Read a node's next_ready before running it: a step may queue its
  // node again, which rewrites the link. (Handing back one pointer, not a head/tail pair,
  // also spares a 16-byte reload of the two fields the queue's pushes just stored.)
  ReadyNode* take_all() noexcept {
    ReadyNode* first = head_;
    head_ = nullptr;
    tail_ = nullptr;
    return first;
  }

 private:
  ReadyNode* head_ = nullptr;
  ReadyNode* tail_ = nullptr;
};

template <class Tag>
struct ListNode {
  ListNode* prev_node = nullptr;
  ListNode* next_node = nullptr;
};

// T must derive from ListNode<Tag>. Elements are not owned.
template <class T, class Tag = T>
class IntrusiveList {
  using Node = ListNode<Tag>;

 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;
  IntrusiveList(IntrusiveList&&) = delete;
  IntrusiveList& operator=(IntrusiveList&&) = delete;
  ~IntrusiveList() = default;

  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] T* front() const noexcept { return head_ ? as_t(head_) : nullptr; }
  [[nodiscard]] T* back() const noexcept { return tail_ ? as_t(tail_) : nullptr; }
  [[nodiscard]] static T* next(T* item) noexcept {
    Node* n = static_cast<Node*>(item)->next_node;
    return n ? as_t(n) : nullptr;
  }

  void push_back(T* item) noexcept {
    Node* n = static_cast<Node*>(item);
    n->prev_node = tail_;
    n->next_node = nullptr;
    if (tail_ != nullptr) {
      tail_->next_node = n;
    } else {
      head_ = n;
    }
    tail_ = n;
  }

  void remove(T* item) noexcept {
    Node* n = static_cast<Node*>(item);
    (n->prev_node ? n->prev_node->next_node : head_) = n->next_node;
    (n->next_node ? n->next_node->prev_node : tail_) = n->prev_node;
    n->prev_node = n->next_node = nullptr;
  }

  T* pop_front() noexcept {
    if (head_ == nullptr) {
      return nullptr;
    }
    T* item = as_t(head_);
    remove(item);
    return item;
  }

 private:
  static T* as_t(Node* n) noexcept { return static_cast<T*>(n); }

  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

}  // namespace loopscope::detail
