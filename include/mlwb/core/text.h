/*
 * text.h — text that is safe to put in JSON.
 *
 * Paths and cell texts come from users and may not be valid UTF-8; JSON must be.
 * Thread-safety: reentrant.
 */
#ifndef MLWB_CORE_TEXT_H
#define MLWB_CORE_TEXT_H

#include <stddef.h>

/* 1 when s is valid UTF-8 (no overlongs, no surrogates). */
int text_is_utf8(const char *s);

/* A malloc'd copy of s with every invalid byte replaced by U+FFFD; NULL when out of
 * memory. */
char *text_utf8(const char *s);

#endif
