// The part of the C++ exception ABI Debian's wasm32 libc++abi leaves out
// (it is built without exception support: no __cxa_throw, no personality
// routine), written on clang's wasm exception builtin. A throw records the
// object and its type; handlers are `catch (...)`, which need only
// __cxa_begin_catch/__cxa_end_catch, and look at the type themselves.
#pragma once
#include <new>
#include <typeinfo>

extern "C" {
void* __cxa_allocate_exception(unsigned long size) noexcept;
[[noreturn]] void kiln_throw_object(void* object, const std::type_info* type, void (*destroy)(void*));
void* kiln_current_exception() noexcept;
const std::type_info* kiln_current_exception_type() noexcept;
int kiln_live_exceptions() noexcept;
}

template <typename T>
[[noreturn]] void kiln_throw(T value) {
    void* object = __cxa_allocate_exception(sizeof(T));
    new (object) T(value);
    kiln_throw_object(object, &typeid(T), [](void* p) { static_cast<T*>(p)->~T(); });
}
