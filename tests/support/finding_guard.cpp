// Zero false findings: every test binary links this file, which fails the test during which
// a finding is reported that no testing::WarningRecorder expected.
//
// Tests that provoke findings on purpose hold a WarningRecorder, which takes the findings
// while it exists. Anything else that reaches the process-wide observer is a false finding
// (or a real bug the test exposed) and fails the running test with the finding's text. The
// same binaries run once more with LOOPSCOPE_DEBUG=1 (tests/runtime/CMakeLists.txt), so
// every debug check is exercised against the whole suite.
//
// Before each test the LOOPSCOPE_* environment is put back as the process started with it
// (a test of the environment settings may change it), and the once-per-site memory of
// reported findings is cleared, so that a finding of one test does not hide the same finding
// of a later test.

#include <loopscope/detail/report.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace loopscope::testing {
namespace {

constexpr std::array kEnvironment{"LOOPSCOPE_DEBUG", "LOOPSCOPE_SLOW_CALLBACK_MS",
                                  "LOOPSCOPE_TRACE", "LOOPSCOPE_LIVE", "LOOPSCOPE_FANOUT_LIMIT"};

std::string describe(const Warning& warning) {
  std::string text =
      "unexpected finding (hold a testing::WarningRecorder in a test that "
      "provokes it on purpose):\n  loopscope: warning: ";
  text.append(warning_kind_name(warning.kind)).append(": ").append(warning.message);
  for (const StackFrame& frame : warning.frames) {
    text.append("\n      at ").append(frame.function);
    if (!frame.file.empty()) {
      text.append(" (").append(frame.file).append(":").append(std::to_string(frame.line));
      text.append(")");
    }
  }
  return text;
}

// The tests run one after another on the main thread; setenv/getenv are only called here,
// between tests, so their lack of thread-safety does not matter.
// NOLINTBEGIN(concurrency-mt-unsafe)
class FindingGuard final : public ::testing::Environment {
 public:
  void SetUp() override {
    for (std::size_t i = 0; i < kEnvironment.size(); ++i) {
      if (const char* value = std::getenv(kEnvironment.at(i))) {
        saved_.at(i) = value;
      }
    }
    set_warning_observer([](const Warning& warning) { ADD_FAILURE() << describe(warning); });
    // The listener list owns what it is given; this object stays owned by the environment
    // list, so hand it a forwarding listener rather than `this`.
    ::testing::UnitTest::GetInstance()->listeners().Append(new Restorer(*this));
  }
  void TearDown() override { set_warning_observer(nullptr); }

 private:
  class Restorer final : public ::testing::EmptyTestEventListener {
   public:
    explicit Restorer(FindingGuard& guard) : guard_(guard) {}
    void OnTestStart(const ::testing::TestInfo& /*test*/) override { guard_.restore(); }

   private:
    FindingGuard& guard_;
  };

  void restore() const {
    for (std::size_t i = 0; i < kEnvironment.size(); ++i) {
      if (saved_.at(i)) {
        setenv(kEnvironment.at(i), saved_.at(i)->c_str(), 1);
      } else {
        unsetenv(kEnvironment.at(i));
      }
    }
    detail::reset_reported_sites();
  }

  std::array<std::optional<std::string>, kEnvironment.size()> saved_{};
};
// NOLINTEND(concurrency-mt-unsafe)

// gtest_main runs the environments registered before main(); gtest owns the object.
[[maybe_unused]] ::testing::Environment* const kFindingGuard =
    ::testing::AddGlobalTestEnvironment(new FindingGuard);

}  // namespace
}  // namespace loopscope::testing
