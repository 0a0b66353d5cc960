/*
 * num.h — numbers as people read them.
 *
 * A float32 widened to double prints as 5.099999904632568; num_f32 gives the double
 * of the float's shortest decimal that reads back as the same float (5.1), so JSON and
 * logs show what the user typed.  Thread-safety: reentrant; needs LC_NUMERIC "C"
 * (main sets it).
 */
#ifndef MLWB_CORE_NUM_H
#define MLWB_CORE_NUM_H

#include <stdbool.h>
#include <stddef.h>

double num_f32(float f);

/* Room for any num_f32_text answer, with its NUL. */
#define NUM_F32_TEXT 32

/* The shortest decimal that reads back as f, written to out (NUM_F32_TEXT bytes) as
 * printf("%.*g") writes it at that precision ("5.1", "1e-05", "1.5e+10", "inf", "-0");
 * returns its length.  About 50 ns for most finite values. */
size_t num_f32_text(float f, char *out);

/* The double strtod reads from the decimal text [p, end) — an optional '-', digits, an
 * optional fraction and exponent, as JSON writes numbers — when it can be had exactly
 * without strtod: at most 19 significant digits, a mantissa of at most 2^53 and a power
 * of ten within 10^22 either way (one correctly rounded product or quotient of two exact
 * doubles).  Returns false for any other text: then strtod must do it.  "-0.0" is -0. */
bool num_decimal_exact(const char *p, const char *end, double *out);

#endif
