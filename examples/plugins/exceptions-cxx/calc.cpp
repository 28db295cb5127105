// A calculator that reports errors with C++ exceptions: a recursive-descent
// parser throws from deep inside the grammar, RAII guards on the way out
// run their destructors while the exception passes, and `main` catches.
// Built with clang's -fwasm-exceptions (see ../build.sh); the throw side of
// the C++ ABI is in abi.cpp.

#include <cstdio>
#include <cstring>
#include <typeinfo>

#include "abi.h"

namespace {

int live_guards = 0;  // constructed minus destroyed: 0 after every unwind
int max_depth = 0;

struct Guard {
    int depth;
    explicit Guard(int d) : depth(d) {
        ++live_guards;
        if (d > max_depth) max_depth = d;
    }
    ~Guard() { --live_guards; }
};

struct ParseError {
    const char* what;
    int at;
};

struct DivideByZero {
    long long numerator;
};

struct Parser {
    const char* s;
    int pos = 0;
    int depth = 0;

    [[noreturn]] void fail(const char* what) { kiln_throw(ParseError{what, pos}); }

    void skip() {
        while (s[pos] == ' ') ++pos;
    }

    long long number() {
        skip();
        if (s[pos] < '0' || s[pos] > '9') fail("expected a number");
        long long v = 0;
        while (s[pos] >= '0' && s[pos] <= '9') v = v * 10 + (s[pos++] - '0');
        return v;
    }

    long long atom() {
        Guard g(++depth);
        skip();
        long long v;
        if (s[pos] == '(') {
            ++pos;
            v = sum();
            skip();
            if (s[pos] != ')') fail("expected `)`");
            ++pos;
        } else if (s[pos] == '-') {
            ++pos;
            v = -atom();
        } else {
            v = number();
        }
        --depth;
        return v;
    }

    long long product() {
        Guard g(depth);
        long long v = atom();
        for (;;) {
            skip();
            char op = s[pos];
            if (op != '*' && op != '/') return v;
            ++pos;
            long long r = atom();
            if (op == '/') {
                if (r == 0) kiln_throw(DivideByZero{v});
                v /= r;
            } else {
                v *= r;
            }
        }
    }

    long long sum() {
        Guard g(depth);
        long long v = product();
        for (;;) {
            skip();
            char op = s[pos];
            if (op != '+' && op != '-') return v;
            ++pos;
            long long r = product();
            v = op == '+' ? v + r : v - r;
        }
    }

    long long parse() {
        long long v = sum();
        skip();
        if (s[pos] != '\0') fail("unexpected input");
        return v;
    }
};

// Nest `n` parentheses around `inner`.
void nested(char* out, int n, const char* inner) {
    int at = 0;
    for (int i = 0; i < n; ++i) out[at++] = '(';
    for (int i = 0; inner[i]; ++i) out[at++] = inner[i];
    for (int i = 0; i < n; ++i) out[at++] = ')';
    out[at] = '\0';
}

void evaluate(const char* text) {
    Parser p{text};
    try {
        long long v = p.parse();
        printf("%-24.24s = %lld\n", text, v);
    } catch (...) {
        // `catch (...)` and the type the throw recorded: see abi.h.
        const std::type_info* type = kiln_current_exception_type();
        void* object = kiln_current_exception();
        if (type && *type == typeid(ParseError)) {
            auto* e = static_cast<ParseError*>(object);
            printf("%-24.24s : parse error at %d: %s\n", text, e->at, e->what);
        } else if (type && *type == typeid(DivideByZero)) {
            auto* e = static_cast<DivideByZero*>(object);
            printf("%-24.24s : division of %lld by zero\n", text, e->numerator);
        } else {
            printf("%-24.24s : unknown exception\n", text);
        }
    }
}

}  // namespace

int main() {
    const char* inputs[] = {
        "1 + 2 * 3",
        "(1 + 2) * 3",
        "-(4 - 10) / 2",
        "2 * (3 + 4",
        "8 / (2 - 2)",
        "1 + + 1",
        "12 34",
    };
    for (const char* in : inputs) evaluate(in);

    // Thrown 300 parentheses (900 frames) deep: every frame between the
    // throw and the catch is unwound, and every guard on the way destroyed.
    static char deep[300 * 2 + 64];
    nested(deep, 300, "1 / 0");
    max_depth = 0;
    evaluate(deep);
    printf("deepest frame: %d, guards alive after unwinding: %d\n", max_depth, live_guards);
    nested(deep, 300, "7 * ");
    evaluate(deep);

    // Many throws: exception objects do not accumulate.
    int caught = 0;
    for (int i = 0; i < 100000; ++i) {
        try {
            Parser p{"(1 + x)"};
            p.parse();
        } catch (...) {
            ++caught;
        }
    }
    printf("caught %d of 100000, guards alive: %d, exception objects alive: %d\n", caught, live_guards,
           kiln_live_exceptions());
    return live_guards == 0 && caught == 100000 ? 0 : 1;
}
