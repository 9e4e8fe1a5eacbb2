#include <loopscope/probes/stack.hpp>
#include <loopscope/probes/symbolizer.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

namespace loopscope::probes {
namespace {

// Not inlined, so that each has a frame of its own on the stack.
[[gnu::noinline]] std::size_t capture_from_inner(std::span<std::uintptr_t> out, std::size_t skip) {
  const std::size_t n = capture_stack(out, skip);
  asm volatile("" ::: "memory");  // keeps the call from becoming a tail call
  return n;
}

[[gnu::noinline]] std::size_t capture_from_outer(std::span<std::uintptr_t> out, std::size_t skip) {
  const std::size_t n = capture_from_inner(out, skip);
  asm volatile("" ::: "memory");
  return n;
}

std::string function_of(std::uintptr_t return_address) {
  Symbolizer symbolizer;
  return symbolizer.symbolize(return_address - 1).function;
}

TEST(StackCapture, FirstFrameIsTheCallerOfCaptureStack) {
  std::array<std::uintptr_t, 8> frames{};
  const std::size_t n = capture_from_outer(frames, 0);
  ASSERT_GE(n, 2U);
  EXPECT_NE(function_of(frames[0]).find("capture_from_inner"), std::string::npos);
  EXPECT_NE(function_of(frames[1]).find("capture_from_outer"), std::string::npos);
}

TEST(StackCapture, SkipLeavesOutTheInnermostFrames) {
  std::array<std::uintptr_t, 8> frames{};
  const std::size_t n = capture_from_outer(frames, 1);
  ASSERT_GE(n, 1U);
  EXPECT_NE(function_of(frames[0]).find("capture_from_outer"), std::string::npos);
}

TEST(StackCapture, NeverWritesMoreThanTheBufferHolds) {
  std::array<std::uintptr_t, 4> frames{};
  frames.fill(0);
  EXPECT_EQ(capture_from_outer(std::span<std::uintptr_t>(frames).first(1), 0), 1U);
  EXPECT_NE(frames[0], 0U);
  EXPECT_EQ(frames[1], 0U);
  EXPECT_EQ(capture_from_outer(std::span<std::uintptr_t>(), 0), 0U);
}

}  // namespace
}  // namespace loopscope::probes
