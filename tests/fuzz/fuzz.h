/*
 * fuzz.h — what the libFuzzer targets in tests/fuzz/ share: the entry point's
 * prototype (the project warns on missing prototypes), an invariant check that aborts
 * with a message libFuzzer shows, and input helpers.
 *
 * A failed FUZZ_CHECK is a crash: libFuzzer saves the input to the artifact directory.
 */
#ifndef MLWB_TESTS_FUZZ_H
#define MLWB_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                           \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* The input as a NUL-terminated string (cut at its first NUL, as a C API sees it);
 * free() it.  NULL only when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* The input as an exactly sized heap copy (so ASan sees any read past its end); free()
 * it.  A zero-length input gives a 1-byte buffer. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (s && size)
        memcpy(s, data, size);
    return s;
}

#endif
