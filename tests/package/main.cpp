// Uses the installed package: the umbrella header, a spawned task and gather.
#include <loopscope/loopscope.hpp>

#include <cstdio>

namespace ls = loopscope;

namespace {

ls::Task<int> square(int x) {
  co_await ls::sleep(std::chrono::milliseconds(1));
  co_return x* x;
}

ls::Task<int> amain() {
  auto [a, b] = co_await ls::gather(square(3), ls::spawn(square(4)));
  co_return a + b;
}

}  // namespace

int main() {
  const int result = ls::run(amain());
  std::printf("package_test: %d\n", result);
  return result == 25 ? 0 : 1;
}
