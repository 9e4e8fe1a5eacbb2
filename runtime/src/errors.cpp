#include <loopscope/errors.hpp>

#include <cstdlib>
#include <cxxabi.h>
#include <memory>
#include <string>
#include <typeinfo>

namespace loopscope {

namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

std::string summarize(const std::vector<std::exception_ptr>& exceptions) {
  std::string text = "TaskGroup: " + std::to_string(exceptions.size()) + " task(s) failed";
  for (const auto& e : exceptions) {
    text += "; ";
    text += detail::describe_exception(e);
  }
  return text;
}

}  // namespace

TaskGroupError::TaskGroupError(std::vector<std::exception_ptr> exceptions)
    : Error(summarize(exceptions)), exceptions_(std::move(exceptions)) {
}

namespace detail {

std::string describe_exception(const std::exception_ptr& e) {
  if (!e) {
    return "no exception";
  }
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return "loopscope::CancelledError";
  } catch (const std::exception& ex) {
    return demangle(typeid(ex).name()) + ": " + ex.what();
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr ? demangle(type->name()) : std::string("unknown exception");
  }
}

std::string exception_message(const std::exception_ptr& e) {
  if (!e) {
    return {};
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return {};
  }
}

}  // namespace detail
}  // namespace loopscope
