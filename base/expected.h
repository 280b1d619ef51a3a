// The one error type that leaves compiler/ (and runtime/): a message a user can act on. LLVM's
// llvm::Error and exceptions are converted to this at the boundary.
#pragma once

#include <cassert>
#include <fmt/format.h>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace chronus {

struct Error {
    std::string message;
};

template <class... Args>
Error makeError(fmt::format_string<Args...> f, Args&&... args) {
    return Error{fmt::format(f, std::forward<Args>(args)...)};
}

/// A value or an Error.
template <class T>
class Expected {
public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Error e) : v_(std::move(e)) {}
    explicit operator bool() const { return v_.index() == 0; }
    bool ok() const { return v_.index() == 0; }
    T& operator*() { return std::get<0>(v_); }
    const T& operator*() const { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }
    T take() { return std::move(std::get<0>(v_)); }

private:
    std::variant<T, Error> v_;
};

/// Success or an Error.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error e) : e_(std::move(e)) {}
    explicit operator bool() const { return !e_; }
    bool ok() const { return !e_; }
    const Error& error() const { return *e_; }
    const std::string& message() const { return e_->message; }

private:
    std::optional<Error> e_;
};

} // namespace chronus
