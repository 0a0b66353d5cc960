/*
 * num.c — shortest round-trip decimals for float32 (see mlwb/core/num.h).
 *
 * num_f32_text is on the prediction path (every input of every logged prediction and
 * every confidence): printf("%.*g") + strtof per candidate precision cost about 1 µs a
 * number, a tenth of a listener thread's time.  For the range inputs and confidences
 * live in it finds the same text exactly, with integer arithmetic: for p = 1, 2, ...
 * digits, v rounded to p significant digits (half to even, as glibc's printf rounds the
 * exact binary value) is D x 10^(E-p+1); it is the answer when it lies inside the
 * interval of reals that read back as v — between the midpoints to v's neighbours,
 * the ends included when v's mantissa is even (strtof rounds ties to even).  All of it
 * is exact in 128-bit integers for 2^-20 <= |v| < 2^40; outside that range, and for
 * zero, the printf loop does it.
 */
#include "mlwb/core/num.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

/* 10^n for 0 <= n <= 19 (this file needs at most 10^15). */
static const uint64_t k_pow10[20] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
    1000000000u, 10000000000u, 100000000000u, 1000000000000u, 10000000000000u,
    100000000000000u, 1000000000000000u, 10000000000000000u, 100000000000000000u,
    1000000000000000000u, 10000000000000000000u,
};

static u128 pow10_u128(int n)
{
    return k_pow10[n];
}

/* The "%.{p}g" text of sign, the p digits of D (D in [10^(p-1), 10^p)) and exponent X,
 * without "%g"'s trailing zeros; returns its length. */
static size_t g_text(char *out, int neg, uint64_t d, int p, int x)
{
    char dig[20];
    for (int i = p - 1; i >= 0; i--) {
        dig[i] = (char)('0' + d % 10);
        d /= 10;
    }
    int nd = p;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char *o = out;
    if (neg)
        *o++ = '-';
    if (x < -4 || x >= p) {  /* d.ddde±XX */
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100)
            *o++ = (char)('0' + ax / 100);
        *o++ = (char)('0' + ax / 10 % 10);
        *o++ = (char)('0' + ax % 10);
    } else if (x >= 0) {    /* ddd.ddd: x + 1 <= p integer digits */
        memcpy(o, dig, (size_t)x + 1);
        o += x + 1;
        if (nd > x + 1) {
            *o++ = '.';
            memcpy(o, dig + x + 1, (size_t)(nd - x - 1));
            o += nd - x - 1;
        }
    } else {                /* 0.000ddd */
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > x; i--)
            *o++ = '0';
        memcpy(o, dig, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* The exact path; 0 when v is outside its range. */
static size_t shortest_exact(float v, char *out)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    int neg = (int)(bits >> 31);
    int be = (int)((bits >> 23) & 0xff);
    /* normal, 2^-20 <= |v| < 2^40 */
    if (be < 127 - 20 || be >= 127 + 40)
        return 0;
    uint64_t m = (bits & 0x7fffffu) | 0x800000u;
    int e = be - 150;                         /* |v| = m * 2^e */
    /* The interval that reads back as v, in units of 2^(e-2): [lo, hi] around 4m. */
    uint64_t hi = 4 * m + 2;
    uint64_t lo = m == 0x800000u ? 4 * m - 1 : 4 * m - 2;  /* a power of two: the gap below is half */
    int inclusive = (m & 1) == 0;
    int f = e - 2;

    /* the decimal exponent, from log2|v| taken as the exponent plus the mantissa's
     * fraction (low by at most 0.086): may be one too low near a power of ten, which
     * the loop fixes (log10 itself cost more than the rest) */
    double log2v = (be - 127) + (double)(bits & 0x7fffffu) / 8388608.0;
    int x = (int)floor(log2v * 0.30102999566398120);
    for (int p = 1; p <= 9; p++) {
        for (int tries = 0; tries < 3; tries++) {
            int s = p - 1 - x;                    /* D ~ |v| * 10^s */
            u128 num = (u128)m << (e > 0 ? e : 0);
            num *= pow10_u128(s > 0 ? s : 0);
            u128 den = (u128)1 << (e < 0 ? -e : 0);
            den *= pow10_u128(s < 0 ? -s : 0);
            u128 d, rem;
            if ((num >> 64) == 0 && (den >> 64) == 0) {  /* the usual case: 64-bit division */
                d = (uint64_t)num / (uint64_t)den;
                rem = (uint64_t)num % (uint64_t)den;
            } else {
                d = num / den;
                rem = num % den;
            }
            u128 lowp = pow10_u128(p - 1), highp = lowp * 10;
            if (d >= highp) {
                x++;
                continue;
            }
            if (d < lowp) {
                x--;
                continue;
            }
            if (2 * rem > den || (2 * rem == den && (d & 1)))
                d++;
            int xx = x;
            if (d == highp) {                     /* 9.99 -> 10.0 */
                d = lowp;
                xx++;
            }
            /* Does D * 10^(xx-p+1) read back as v?  Compare D * 10^-s2 with
             * lo/hi * 2^f, both sides scaled to integers. */
            int s2 = p - 1 - xx;
            u128 left = d * pow10_u128(s2 < 0 ? -s2 : 0);
            left <<= (f < 0 ? -f : 0);
            u128 scale = pow10_u128(s2 > 0 ? s2 : 0) << (f > 0 ? f : 0);
            u128 rh = (u128)hi * scale, rl = (u128)lo * scale;
            int in = inclusive ? (left >= rl && left <= rh) : (left > rl && left < rh);
            if (in)
                return g_text(out, neg, (uint64_t)d, p, xx);
            break;
        }
    }
    return 0;  /* not reached for a float: 9 digits always read back */
}

size_t num_f32_text(float f, char *out)
{
    if (isfinite(f) && f != 0) {
        size_t n = shortest_exact(f, out);
        if (n)
            return n;
    }
    for (int prec = 1; prec < 9; prec++) {
        int n = snprintf(out, NUM_F32_TEXT, "%.*g", prec, (double)f);
        if (strtof(out, NULL) == f)
            return (size_t)n;
    }
    return (size_t)snprintf(out, NUM_F32_TEXT, "%.9g", (double)f);
}

double num_f32(float f)
{
    if (!isfinite(f))
        return (double)f;
    char buf[NUM_F32_TEXT];
    num_f32_text(f, buf);
    return strtod(buf, NULL);
}

/* --- decimal text to double --------------------------------------------------------- */

/* 10^n for 0 <= n <= 22: every one is exact in a double. */
static const double k_pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits at *pp into *m: false past 19 significant ones (leading zeros are not). */
static bool take_digits(const char **pp, const char *end, uint64_t *m, int *sig, int *count)
{
    const char *p = *pp;
    for (; p < end && is_digit(*p); p++) {
        if ((*m || *p != '0') && ++*sig > 19)
            return false;
        *m = *m * 10 + (uint64_t)(*p - '0');
        ++*count;
    }
    *pp = p;
    return true;
}

bool num_decimal_exact(const char *p, const char *end, double *out)
{
    bool neg = p < end && *p == '-';
    p += neg;
    uint64_t m = 0;
    int sig = 0, whole = 0, frac = 0;
    if (!take_digits(&p, end, &m, &sig, &whole) || whole == 0)
        return false;
    if (p < end && *p == '.') {
        p++;
        if (!take_digits(&p, end, &m, &sig, &frac) || frac == 0)
            return false;
    }
    long scale = -frac;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = p < end && *p == '-';
        p += p < end && (*p == '-' || *p == '+');
        long e = 0;
        int edigits = 0;
        for (; p < end && is_digit(*p); p++, edigits++) {
            if (e > 100000)
                return false;
            e = e * 10 + (*p - '0');
        }
        if (edigits == 0)
            return false;
        scale += eneg ? -e : e;
    }
    if (p != end || m > (UINT64_C(1) << 53))
        return false;
    double v = (double)m;  /* exact */
    if (m != 0) {
        if (scale < -22 || scale > 22)
            return false;
        v = scale < 0 ? v / k_pow10_exact[-scale] : v * k_pow10_exact[scale];
    }
    *out = neg ? -v : v;
    return true;
}

