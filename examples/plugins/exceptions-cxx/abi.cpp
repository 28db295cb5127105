// See abi.h. The exception object sits after a header; the pointer thrown
// with the C++ tag (`__cpp_exception`, index 0 for clang) is the header,
// which is what a landing pad hands to __cxa_begin_catch.

#include <cstdlib>
#include <cstring>

#include "abi.h"

namespace {

struct Header {
    const std::type_info* type;
    void (*destroy)(void*);
    Header* next_caught;  // the stack of exceptions being handled
    alignas(16) unsigned char object[];
};

Header* caught = nullptr;
int live = 0;

Header* header_of(void* object) {
    return reinterpret_cast<Header*>(static_cast<unsigned char*>(object) - offsetof(Header, object));
}

}  // namespace

extern "C" {

void* __cxa_allocate_exception(unsigned long size) noexcept {
    auto* h = static_cast<Header*>(calloc(1, sizeof(Header) + size));
    if (!h) abort();
    ++live;
    return h->object;
}

void kiln_throw_object(void* object, const std::type_info* type, void (*destroy)(void*)) {
    Header* h = header_of(object);
    h->type = type;
    h->destroy = destroy;
    __builtin_wasm_throw(0, h);
}

void* __cxa_begin_catch(void* thrown) noexcept {
    auto* h = static_cast<Header*>(thrown);
    h->next_caught = caught;
    caught = h;
    return h->object;
}

void __cxa_end_catch() noexcept {
    Header* h = caught;
    if (!h) return;
    caught = h->next_caught;
    if (h->destroy) h->destroy(h->object);
    free(h);
    --live;
}

void* kiln_current_exception() noexcept { return caught ? caught->object : nullptr; }

const std::type_info* kiln_current_exception_type() noexcept { return caught ? caught->type : nullptr; }

int kiln_live_exceptions() noexcept { return live; }
}
