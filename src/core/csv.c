/*
 * csv.c — CSV text to a labelled data set, in parallel (see mlwb/core/csv.h).
 *
 * Design.  The input is consumed as a stream of windows of about 4 MiB: slices of the
 * caller's buffer for csv_parse, or read(2) into two alternating buffers for
 * csv_load_file (the whole file is never in memory, and a file rewritten in place
 * during a load cannot crash us as a mapping could).  The header record is read first,
 * serially, and gives the column plan (feature index, label or ignored per column).
 * Then, per window:
 *
 *  1. Cut: the window ends at its last record boundary, a '\n' outside quotes.  Quote
 *     parity decides "outside"; the parser refuses every input on which parity and its
 *     own reading could disagree (a quote inside an unquoted field, text after a closing
 *     quote), so every cut before the first error is a true record boundary.  A window
 *     without a boundary grows (up to RECORD_MAX).
 *  2. Split: the cut window is split at record boundaries near equal byte offsets into
 *     pieces: 3 per thread, so that a slow piece does not hold the others up.
 *  3. Parse: par_for parses the pieces at once, and one more item reads the next window
 *     (the unparsed tail first, then read(2), then its quotes are counted) meanwhile.
 *     Each piece owns its output rows (float32 features, local label ids), its label
 *     table, its scratch for unescaped quoted fields, its missing counts, its line count
 *     and its first error.  The hot loop converts a number straight from the text
 *     (digits eight at a time; no per-field copy or allocation) and leaves quoted,
 *     blank, missing and bad cells to a general field reader.
 *  4. Merge, in file order: the first piece with an error gives the error (its line is
 *     the window's first line plus the lines of the pieces before it, so line numbers
 *     hold across pieces, windows, CRLF and quoted newlines); new local labels get
 *     global ids; the matrix grows (realloc, which glibc does with mremap for big
 *     blocks; the first window's bytes per row reserve the rest at once) and par_for
 *     copies every piece's rows to their place.
 *
 * At the end, missing=mean cells (NaN until then) get their column means, summed in row
 * order; the classes are sorted (numeric when every label is an integer, else byte
 * order, ties by bytes) and the labels renumbered.  Nothing depends on where windows and
 * pieces were cut, so results are identical for every thread count and chunk size; the
 * unit tests check it down to one-byte chunks.
 *
 * Memory: the matrix and labels, two I/O windows, and one window's rows in the pieces;
 * nothing per field outlives its record.  A matrix that cannot be allocated, or would
 * not fit in RAM, is MLWB_ERR_NOMEM with a message.
 *
 * Thread-safety: reentrant, no global state; threads live only inside par_for calls.
 */
#define _GNU_SOURCE  /* memrchr, asprintf */
#include "mlwb/core/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlwb/core/parfor.h"

#define CHUNK_DEFAULT ((size_t)4 << 20)
#define RECORD_MAX ((size_t)64 << 20)   /* a longer record is refused */
#define TEXT_MAX 40                       /* bytes of a bad cell quoted in a message */

enum { COL_LABEL = -1, COL_IGNORE = -2 };

/* --- numbers ---------------------------------------------------------------------- */

static const double pow10tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define FLOAT32_MAX 3.4028234663852886e38

/* Scale a decimal mantissa.  Exact (one rounding) when m < 2^53 and |e| <= 22; within
 * an ulp of double otherwise, which float32 cannot see.  Returns 0, or -2 when the
 * value is outside the float32 range. */
static int num_value(uint64_t m, int e, int neg, double *out)
{
    double v;
    if (m == 0) {
        v = 0;
    } else if (e >= -22 && e <= 22) {
        v = e >= 0 ? (double)m * pow10tab[e] : (double)m / pow10tab[-e];
    } else {
        /* rare: digits and 'e' only, so strtod reads it the same in every locale */
        char tmp[48];
        snprintf(tmp, sizeof tmp, "%llue%d", (unsigned long long)m, e);
        v = strtod(tmp, NULL);
    }
    if (!(v <= FLOAT32_MAX))
        return -2;
    *out = neg ? -v : v;
    return 0;
}

/* Scan [+-]digits[.digits][e[+-]digits] at p.  Returns the end of the number, or NULL
 * when there is none; *range is set when it is out of the float32 range. */
static inline const char *num_scan(const char *p, const char *e, double *out, int *range)
{
    int neg = 0;
    if (p < e && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    uint64_t m = 0;
    int exp10 = 0, digits = 0;
    unsigned d;
    while (p < e && (d = (unsigned)(unsigned char)*p - '0') < 10) {
        if (m < 100000000000000000ull)
            m = m * 10 + d;
        else
            exp10++;
        p++;
        digits++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && (d = (unsigned)(unsigned char)*p - '0') < 10) {
            if (m < 100000000000000000ull) {
                m = m * 10 + d;
                exp10--;
            }
            p++;
            digits++;
        }
    }
    if (!digits)
        return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, ed = 0, ev = 0;
        if (p < e && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        while (p < e && (d = (unsigned)(unsigned char)*p - '0') < 10) {
            if (ev < 100000)
                ev = ev * 10 + (int)d;
            p++;
            ed++;
        }
        if (!ed)
            return NULL;
        exp10 += eneg ? -ev : ev;
    }
    *range = num_value(m, exp10, neg, out) != 0;
    return p;
}

static const double inv10[] = {1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7};

static const float pow10f[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                               1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

static const uint64_t pow10u[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                  100000000};

/* Read a run of decimal digits at *pp into *m (m = m*10^n + digits, wrapping when there
 * are more than 19: the caller refuses those).  Returns n and moves *pp past them.
 * Eight bytes at a time where the text allows it (SWAR: a digit mask finds the run's
 * length, three multiplies its value), so no branch depends on each digit. */
static inline __attribute__((always_inline)) size_t digit_run(const char **pp, const char *e,
                                                              uint64_t *m)
{
    const char *p = *pp;
    uint64_t acc = *m;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (e - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t x = w - 0x3030303030303030ull;
        uint64_t nd = (x | (x + 0x7676767676767676ull)) & 0x8080808080808080ull;
        unsigned n = nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
        if (n) {
            uint64_t v = n == 8 ? x : x << (8 * (8 - n));
            v = (v & 0x0F0F0F0F0F0F0F0Full) * 2561 >> 8;
            v = (v & 0x00FF00FF00FF00FFull) * 6553601 >> 16;
            v = (v & 0x0000FFFF0000FFFFull) * 42949672960001ull >> 32;
            acc = acc * pow10u[n] + v;
            p += n;
        }
        if (n < 8) {
            size_t cnt = (size_t)(p - *pp);
            *pp = p;
            *m = acc;
            return cnt;
        }
    }
#endif
    unsigned d;
    while (p < e && (d = (unsigned)(unsigned char)*p - '0') < 10) {
        acc = acc * 10 + d;
        p++;
    }
    size_t cnt = (size_t)(p - *pp);
    *pp = p;
    *m = acc;
    return cnt;
}

/* The hot path: a number as most files write it, [+-]digits[.digits][e[+-]digits] with
 * at most 19 digits, straight to float32.  Returns its end, or NULL to let the general
 * reader decide (more digits, blanks, quotes, missing, bad, out of range).  A mantissa
 * below 2^24 with at most 10 decimals and no exponent gives the correctly rounded
 * float32; longer ones go through double. */
static inline __attribute__((always_inline)) const char *num_fast(const char *p, const char *e,
                                                                  float *out)
{
    int neg = 0;
    if (p < e && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    uint64_t m = 0;
    size_t nd = digit_run(&p, e, &m), nfrac = 0;
    if (p < e && *p == '.') {
        p++;
        nfrac = digit_run(&p, e, &m);
        nd += nfrac;
    }
    if (nd - 1 >= 19)  /* no digit, or too many for m */
        return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        int eneg = 0, ev = 0, ed = 0;
        unsigned d;
        if (q < e && (*q == '+' || *q == '-')) {
            eneg = *q == '-';
            q++;
        }
        while (q < e && (d = (unsigned)(unsigned char)*q - '0') < 10 && ed < 6) {
            ev = ev * 10 + (int)d;
            q++;
            ed++;
        }
        if (!ed || (q < e && *q >= '0' && *q <= '9'))
            return NULL;
        double v;
        if (num_value(m, (eneg ? -ev : ev) - (int)nfrac, neg, &v))
            return NULL;
        *out = (float)v;
        return q;
    }
    if (m < (1u << 24) && nfrac <= 7) {
        /* the same float as the division below, without its latency: the product is
         * within 2^-52 of m/10^n, which is at least 2^-48 (relative) away from every
         * midpoint between two float32 values when m < 2^24 and n <= 7 */
        float f = (float)((double)m * inv10[nfrac]);
        *out = neg ? -f : f;
    } else if (m < (1u << 24) && nfrac <= 10) {
        float f = (float)m / pow10f[nfrac];
        *out = neg ? -f : f;
    } else {
        double v = nfrac <= 22 ? (double)m / pow10tab[nfrac] : 0;
        if (nfrac > 22 && num_value(m, -(int)nfrac, 0, &v))
            return NULL;
        *out = (float)(neg ? -v : v);
    }
    return p;
}

static int is_blank(char ch, char sep)
{
    return (ch == ' ' || ch == '\t') && ch != sep;
}

/* A whole cell as a number, blanks around it allowed.  0 ok, -1 not a number, -2 out
 * of the float32 range.  The hot path's conversion comes first, so a value reads the
 * same quoted or not. */
static int parse_number(const char *p, size_t len, float *out)
{
    const char *e = p + len;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (num_fast(p, e, out) == e)
        return 0;
    int range = 0;
    double v;
    const char *q = num_scan(p, e, &v, &range);
    if (!q || q != e)
        return -1;
    if (range)
        return -2;
    *out = (float)v;
    return 0;
}

static const char *const missing_marks[] = {"",     "NA",   "N/A",  "n/a", "NaN", "nan",
                                            "NAN",  "null", "NULL", "None", "?"};

static int is_missing(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 1;
    if (n > 4 || (*p != 'N' && *p != 'n' && *p != '?'))
        return 0;
    for (size_t i = 1; i < sizeof missing_marks / sizeof missing_marks[0]; i++)
        if (strlen(missing_marks[i]) == n && memcmp(missing_marks[i], p, n) == 0)
            return 1;
    return 0;
}

/* --- label tables ------------------------------------------------------------------- */

/* Distinct label texts, ids in order of first appearance.  Texts live NUL-terminated in
 * one arena; the index is open addressing over id+1. */
typedef struct ltab {
    char *arena;
    size_t alen, acap;
    size_t *off;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots;
    int32_t last;      /* the id found last (labels often repeat), -1 */
} ltab;

static uint64_t str_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static const char *ltab_str(const ltab *t, int32_t id)
{
    return t->arena + t->off[id];
}

static size_t ltab_len(const ltab *t, int32_t id)
{
    size_t end = (size_t)id + 1 < t->n ? t->off[id + 1] : t->alen;
    return end - t->off[id] - 1;
}

static int ltab_rehash(ltab *t)
{
    size_t ns = t->nslots ? t->nslots * 2 : 64;
    uint32_t *s = calloc(ns, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = str_hash(ltab_str(t, (int32_t)i), ltab_len(t, (int32_t)i)) & (ns - 1);
        while (s[h])
            h = (h + 1) & (ns - 1);
        s[h] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->nslots = ns;
    return 0;
}

/* The id of text p[0..len), added when new; -1 when out of memory. */
static int32_t ltab_intern(ltab *t, const char *p, size_t len)
{
    if (t->last >= 0 && ltab_len(t, t->last) == len && memcmp(ltab_str(t, t->last), p, len) == 0)
        return t->last;
    if ((t->n + 1) * 2 > t->nslots && ltab_rehash(t))
        return -1;
    size_t h = str_hash(p, len) & (t->nslots - 1);
    while (t->slots[h]) {
        int32_t id = (int32_t)t->slots[h] - 1;
        if (ltab_len(t, id) == len && memcmp(ltab_str(t, id), p, len) == 0)
            return t->last = id;
        h = (h + 1) & (t->nslots - 1);
    }
    if (t->n >= INT32_MAX - 1)
        return -1;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        size_t *o = realloc(t->off, nc * sizeof *o);
        if (!o)
            return -1;
        t->off = o;
        t->cap = nc;
    }
    if (t->alen + len + 1 > t->acap) {
        size_t nc = t->acap ? t->acap : 256;
        while (nc < t->alen + len + 1)
            nc *= 2;
        char *a = realloc(t->arena, nc);
        if (!a)
            return -1;
        t->arena = a;
        t->acap = nc;
    }
    t->off[t->n] = t->alen;
    memcpy(t->arena + t->alen, p, len);
    t->arena[t->alen + len] = 0;
    t->alen += len + 1;
    t->slots[h] = (uint32_t)t->n + 1;
    return t->last = (int32_t)t->n++;
}

static void ltab_free(ltab *t)
{
    free(t->arena);
    free(t->off);
    free(t->slots);
    memset(t, 0, sizeof *t);
    t->last = -1;
}

/* --- the column plan ------------------------------------------------------------------ */

typedef struct plan {
    const char *name;      /* source name for messages */
    char sep;
    csv_missing missing;
    size_t ncols, nfeat;
    int labelled;
    int32_t *cmap;         /* per column: feature index, COL_LABEL or COL_IGNORE */
    char **header;         /* ncols names */
    size_t *fcol;          /* per feature: its column */
    size_t hline;          /* the header's line */
} plan;

/* --- pieces ------------------------------------------------------------------------------ */

typedef struct piece {
    const char *beg, *end; /* text: whole records */
    int truncated;         /* the window was cut at RECORD_MAX, not at a boundary */
    /* results for this window */
    float *x;
    int32_t *y;            /* local label ids */
    size_t rows, caprows;
    size_t lines;          /* '\n' consumed */
    size_t dropped;
    size_t *miss;          /* per feature */
    /* kept across windows */
    ltab lab;
    int32_t *gmap;         /* local label id -> global id */
    size_t gmapped, gcap;
    char *scratch;
    size_t scap;
    /* the first error */
    mlwb_status st;
    size_t eline, ecol;    /* relative line (0 = first line of the piece); ecol 0 = none */
    char *emsg;
    char *emsg_first;      /* the message to give instead when the failing record turns
                            * out to be the file's first data record */
    int efirst;            /* no record before it in this piece */
} piece;

typedef struct cursor {
    const char *p, *end;
    size_t line;           /* '\n' consumed so far */
    const char *ls;        /* start of the current line */
} cursor;

/* Column of `at` on the line starting at ls: characters (UTF-8 lead bytes), 1-based. */
static size_t colno(const char *ls, const char *at)
{
    size_t c = 1;
    for (const char *q = ls; q < at; q++)
        c += ((unsigned char)*q & 0xC0) != 0x80;
    return c;
}

__attribute__((format(printf, 5, 6)))
static int piece_fail(piece *pc, mlwb_status st, size_t line, size_t col, const char *fmt, ...)
{
    if (pc->st)
        return -1;
    pc->st = st;
    pc->eline = line;
    pc->ecol = col;
    va_list ap;
    va_start(ap, fmt);
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) < 0)
        m = NULL;
    va_end(ap);
    pc->emsg = m;
    return -1;
}

static int nomem(piece *pc)
{
    pc->st = MLWB_ERR_NOMEM;
    pc->ecol = 0;
    return -1;
}

/* The length of a cell's text to quote in a message: at most TEXT_MAX bytes, not cut
 * inside a UTF-8 character. */
static int text_len(const char *p, size_t n)
{
    if (n <= TEXT_MAX)
        return (int)n;
    n = TEXT_MAX;
    while (n && ((unsigned char)p[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static int at_record_end(const cursor *c)
{
    return c->p == c->end || *c->p == '\n' ||
           (*c->p == '\r' && (c->p + 1 == c->end || c->p[1] == '\n'));
}

/* Read one field at c->p.  Unquoted fields are slices of the text; quoted ones are
 * unescaped into pc->scratch.  On return c->p is at the separator, at the record's end
 * ('\n', the '\r' of "\r\n", or the end), and *f, *n hold the text.  -1 on error. */
static int read_field(const plan *pl, piece *pc, cursor *c, const char **f, size_t *n)
{
    const char sep = pl->sep;
    const char *s = c->p, *q = s;
    while (q < c->end && is_blank(*q, sep))
        q++;
    if (q == c->end || *q != '"') {
        q = s;
        while (q < c->end && *q != sep && *q != '\n' && *q != '"')
            q++;
        if (q < c->end && *q == '"')
            return piece_fail(pc, MLWB_ERR_PARSE, c->line, colno(c->ls, q),
                              "a quote inside an unquoted field (quote the whole field "
                              "and double its quotes: \"5\"\" tall\")");
        const char *fe = q;
        if (fe > s && fe[-1] == '\r' && (fe == c->end || *fe == '\n'))
            fe--;
        *f = s;
        *n = (size_t)(fe - s);
        c->p = fe;
        return 0;
    }
    /* quoted */
    size_t qline = c->line, qcol = colno(c->ls, q);
    size_t len = 0;
    q++;
    for (;;) {
        const char *dq = memchr(q, '"', (size_t)(c->end - q));
        const char *segend = dq ? dq : c->end;
        size_t seg = (size_t)(segend - q);
        if (len + seg + 1 > pc->scap) {
            size_t nc = pc->scap ? pc->scap : 256;
            while (nc < len + seg + 1)
                nc *= 2;
            char *ns = realloc(pc->scratch, nc);
            if (!ns)
                return nomem(pc);
            pc->scratch = ns;
            pc->scap = nc;
        }
        memcpy(pc->scratch + len, q, seg);
        len += seg;
        for (const char *nl = q; (nl = memchr(nl, '\n', (size_t)(segend - nl))) != NULL;) {
            c->line++;
            c->ls = ++nl;
        }
        if (!dq) {
            if (pc->truncated)
                return piece_fail(pc, MLWB_ERR_PARSE, qline, qcol,
                                  "a quoted field longer than %zu MB (is the quote opened "
                                  "here ever closed?)", RECORD_MAX >> 20);
            return piece_fail(pc, MLWB_ERR_PARSE, qline, qcol,
                              "unterminated quoted field (the quote opened here is never "
                              "closed)");
        }
        q = dq + 1;
        if (q < c->end && *q == '"') {
            pc->scratch[len++] = '"';
            q++;
            continue;
        }
        break;
    }
    while (q < c->end && is_blank(*q, sep))
        q++;
    c->p = q;
    if (q < c->end && *q != sep && !at_record_end(c)) {
        unsigned char ch = (unsigned char)*q;
        if (ch >= 0x20 && ch < 0x7f)
            return piece_fail(pc, MLWB_ERR_PARSE, c->line, colno(c->ls, q),
                              "unexpected '%c' after a closing quote", ch);
        return piece_fail(pc, MLWB_ERR_PARSE, c->line, colno(c->ls, q),
                          "unexpected byte 0x%02x after a closing quote", ch);
    }
    pc->scratch[len] = 0;
    *f = pc->scratch;
    *n = len;
    return 0;
}

/* Past the end of a record: "\r\n", "\n", or nothing at the end of the text. */
static void end_record(cursor *c)
{
    if (c->p < c->end && *c->p == '\r')
        c->p++;
    if (c->p < c->end && *c->p == '\n') {
        c->p++;
        c->line++;
        c->ls = c->p;
    }
}

/* How many fields the rest of a record holds (c->p just after a separator). */
static size_t count_rest(const plan *pl, piece *pc, cursor *c)
{
    size_t n = 1;
    const char *f;
    size_t len;
    mlwb_status saved = pc->st;
    while (read_field(pl, pc, c, &f, &len) == 0 && c->p < c->end && *c->p == pl->sep) {
        c->p++;
        n++;
    }
    if (!saved && pc->st) {  /* only counting: forget an error met on the way */
        free(pc->emsg);
        pc->emsg = NULL;
        pc->st = MLWB_OK;
    }
    return n;
}

static int grow_rows(piece *pc, const plan *pl)
{
    size_t nc = pc->caprows ? pc->caprows * 2 : 1024;
    float *x = realloc(pc->x, nc * (pl->nfeat ? pl->nfeat : 1) * sizeof *x);
    if (!x)
        return nomem(pc);
    pc->x = x;
    if (pl->labelled) {
        int32_t *y = realloc(pc->y, nc * sizeof *y);
        if (!y)
            return nomem(pc);
        pc->y = y;
    }
    pc->caprows = nc;
    return 0;
}

/* A simple column name can be written as ignore=NAME; others by their index. */
static int simple_name(const char *s)
{
    if (!*s || strcmp(s, "none") == 0)
        return 0;
    for (; *s; s++)
        if (strchr(",;=\"' \t\r\n#", *s))
            return 0;
    return 1;
}

static int has_digit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= '0' && p[i] <= '9')
            return 1;
    return 0;
}

static int is_inf_text(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n && (*p == '+' || *p == '-')) {
        p++;
        n--;
    }
    return (n == 3 && strncasecmp(p, "inf", 3) == 0) ||
           (n == 8 && strncasecmp(p, "infinity", 8) == 0);
}

/* A feature cell the fast path did not take: quoted, blank, missing or bad. */
static int slow_feature(const plan *pl, piece *pc, cursor *c, size_t j, float *row, int *drop)
{
    int32_t k = pl->cmap[j];
    size_t fline = c->line;
    const char *fstart = c->p, *fls = c->ls;
    const char *f;
    size_t n;
    if (read_field(pl, pc, c, &f, &n))
        return -1;
    int r = parse_number(f, n, &row[k]);
    if (r == 0)
        return 0;
    const char *cn = pl->header[j];
    size_t fcol = colno(fls, fstart);
    if (is_missing(f, n)) {
        pc->miss[k]++;
        switch (pl->missing) {
        case CSV_MISSING_DROP:
            *drop = 1;
            row[k] = 0;
            return 0;
        case CSV_MISSING_MEAN:
            row[k] = NAN;
            return 0;
        case CSV_MISSING_ERROR:
            break;
        }
        return piece_fail(pc, MLWB_ERR_PARSE, fline, fcol,
                          "missing value in column '%s' (accept missing values with "
                          "missing=drop or missing=mean)", cn);
    }
    int tl = text_len(f, n);
    if (r == -2)
        return piece_fail(pc, MLWB_ERR_PARSE, fline, fcol,
                          "bad number '%.*s' in column '%s' (outside the float32 range)",
                          tl, f, cn);
    piece_fail(pc, MLWB_ERR_PARSE, fline, fcol, "bad number '%.*s' in column '%s'", tl, f, cn);
    if (!has_digit(f, n) && !is_inf_text(f, n)) {
        /* text in the file's first data row: the column is not numeric at all */
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", j + 1);
        pc->efirst = pc->rows == 0 && pc->dropped == 0;
        if (asprintf(&pc->emsg_first, "column '%s' is not numeric ('%.*s'); skip it with "
                     "ignore=%s", cn, tl, f, simple_name(cn) ? cn : idx) < 0)
            pc->emsg_first = NULL;
    }
    return -1;
}

/* Parse one piece: whole records from pc->beg to pc->end. */
static void parse_piece(const plan *pl, piece *pc)
{
    cursor c = {pc->beg, pc->end, 0, pc->beg};
    const char sep = pl->sep;
    const size_t ncols = pl->ncols, nfeat = pl->nfeat;
    const int32_t *cmap = pl->cmap;
    pc->rows = 0;
    pc->dropped = 0;
    pc->lines = 0;
    memset(pc->miss, 0, (nfeat ? nfeat : 1) * sizeof *pc->miss);
    while (c.p < c.end) {
        char ch = *c.p;
        if (ch == '\n') {  /* blank line */
            c.p++;
            c.line++;
            c.ls = c.p;
            continue;
        }
        if (ch == '\r' && (c.p + 1 == c.end || c.p[1] == '\n')) {
            c.p++;
            continue;
        }
        if (pc->rows == pc->caprows && grow_rows(pc, pl))
            return;
        float *row = pc->x + pc->rows * nfeat;
        size_t rline = c.line;
        int drop = 0;
        int32_t lab = 0;
        for (size_t j = 0;; j++) {
            int32_t k = cmap[j];
            if (k >= 0) {
                const char *q = num_fast(c.p, c.end, &row[k]);
                if (q && (q == c.end || *q == sep || *q == '\n' ||
                          (*q == '\r' && (q + 1 == c.end || q[1] == '\n')))) {
                    c.p = q;
                } else if (slow_feature(pl, pc, &c, j, row, &drop)) {
                    return;
                }
            } else {
                size_t fline = c.line;
                const char *fstart = c.p, *fls = c.ls;
                const char *f;
                size_t n;
                if (read_field(pl, pc, &c, &f, &n))
                    return;
                if (k == COL_LABEL) {
                    if (is_missing(f, n)) {
                        if (pl->missing != CSV_MISSING_DROP) {
                            piece_fail(pc, MLWB_ERR_PARSE, fline, colno(fls, fstart),
                                       "missing label in column '%s' (missing=drop "
                                       "leaves such rows out)", pl->header[j]);
                            return;
                        }
                        drop = 1;
                    } else if ((lab = ltab_intern(&pc->lab, f, n)) < 0) {
                        nomem(pc);
                        return;
                    }
                }
            }
            if (c.p < c.end && *c.p == sep) {
                c.p++;
                if (j + 1 == ncols) {
                    size_t nf = ncols + count_rest(pl, pc, &c);
                    piece_fail(pc, MLWB_ERR_PARSE, rline, 0, "%zu fields, expected %zu", nf,
                               ncols);
                    return;
                }
                continue;
            }
            if (j + 1 != ncols) {
                piece_fail(pc, MLWB_ERR_PARSE, rline, 0, "%zu field%s, expected %zu", j + 1,
                           j ? "s" : "", ncols);
                return;
            }
            end_record(&c);
            break;
        }
        if (drop) {
            pc->dropped++;
            continue;
        }
        if (pl->labelled)
            pc->y[pc->rows] = lab;
        pc->rows++;
    }
    if (pc->truncated && !pc->st)
        piece_fail(pc, MLWB_ERR_PARSE, c.line, 0,
                   "a record longer than %zu MB (no line end found)", RECORD_MAX >> 20);
    pc->lines = c.line;
}

static void piece_free(piece *pc)
{
    free(pc->x);
    free(pc->y);
    free(pc->miss);
    ltab_free(&pc->lab);
    free(pc->gmap);
    free(pc->scratch);
    free(pc->emsg);
    free(pc->emsg_first);
}

/* Ask for transparent huge pages on a big block (a hint: with 4 KiB pages, filling a
 * 64 MB matrix costs 16,000 page faults, a good part of the whole parse). */
static void hint_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + n) & ~(huge - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* --- the input: windows over a buffer or a file ----------------------------------------- */

typedef struct source {
    int fd;                /* -1: the text is mem[0..memlen) */
    const char *mem;
    size_t memlen;
    size_t total;          /* input size (for progress and the row estimate) */
    size_t done;           /* bytes consumed */
    const char *name;
} source;

/* A window: the next unparsed bytes of the input.  For a file they live in `buf`, which
 * the window owns; for a buffer they are a slice of it. */
typedef struct window {
    char *buf;
    size_t cap;
    const char *p;
    size_t len;
    int eof;               /* the window reaches the end of the input */
    size_t quotes;         /* '"' in p[0..len) */
    mlwb_status st;        /* of the last fill, when it ran on a worker */
    char *err;
} window;

static size_t count_quotes(const char *p, const char *e)
{
    size_t n = 0;
    while (p < e && (p = memchr(p, '"', (size_t)(e - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* Read into w->buf[w->len..want) (growing it) until it holds `want` bytes or the file
 * ends. */
static mlwb_status src_read(source *s, window *w, size_t want, char **err)
{
    if (want > w->cap) {
        char *b = realloc(w->buf, want);
        if (!b)
            return err_set(err, MLWB_ERR_NOMEM, "%s: out of memory for a %zu MB read buffer",
                           s->name, want >> 20);
        w->buf = b;
        w->cap = want;
        w->p = b;
        hint_huge(b, want);
    }
    while (w->len < want && !w->eof) {
        ssize_t r = read(s->fd, w->buf + w->len, want - w->len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return err_set(err, MLWB_ERR_IO, "%s: read error: %s", s->name, strerror(errno));
        }
        if (r == 0)
            w->eof = 1;
        w->len += (size_t)r;
    }
    return MLWB_OK;
}

/* Make w the window that starts with tail[0..tlen) (the unparsed end of the previous
 * window, or the start of the input) and holds `want` bytes, or all that is left. */
static mlwb_status src_fill(source *s, window *w, const char *tail, size_t tlen, size_t want,
                            char **err)
{
    if (s->fd < 0) {
        size_t left = s->memlen - (size_t)(tail - s->mem);
        w->p = tail;
        w->len = want < left ? want : left;
        w->eof = w->len == left;
        w->quotes = count_quotes(w->p, w->p + w->len);
        return MLWB_OK;
    }
    if (want < tlen)
        want = tlen;
    if (want > w->cap) {  /* no realloc: the old bytes are not needed */
        free(w->buf);
        w->cap = 0;
        if (!(w->buf = malloc(want)))
            return err_set(err, MLWB_ERR_NOMEM, "%s: out of memory for a %zu MB read buffer",
                           s->name, want >> 20);
        w->cap = want;
        hint_huge(w->buf, want);
    }
    if (tlen)
        memcpy(w->buf, tail, tlen);
    w->p = w->buf;
    w->len = tlen;
    w->eof = 0;
    mlwb_status st = src_read(s, w, want, err);
    w->quotes = count_quotes(w->p, w->p + w->len);
    return st;
}

/* Grow the current window to `want` bytes (a record longer than the window). */
static mlwb_status src_more(source *s, window *w, size_t want, char **err)
{
    if (s->fd < 0)
        return src_fill(s, w, w->p, 0, want, err);
    if (w->p != w->buf) {
        memmove(w->buf, w->p, w->len);
        w->p = w->buf;
    }
    size_t had = w->len;
    mlwb_status st = src_read(s, w, want, err);
    w->quotes += count_quotes(w->p + had, w->p + w->len);
    return st;
}

/* The first n bytes of the window are parsed. */
static void src_consume(source *s, window *w, size_t n, size_t quotes)
{
    s->done += n;
    w->p += n;
    w->len -= n;
    w->quotes -= quotes;
}

/* The last record boundary in w[0..n): just after a '\n' outside quotes; 0 if none.
 * `quotes` is the number of quotes in w[0..n). */
static size_t last_boundary(const char *w, size_t n, size_t quotes)
{
    const char *e = w + n, *scan = e;
    size_t after = 0;
    const char *nl;
    while (scan > w && (nl = memrchr(w, '\n', (size_t)(scan - w))) != NULL) {
        if (quotes)
            after += count_quotes(nl + 1, scan);
        if (((quotes - after) & 1) == 0)
            return (size_t)(nl + 1 - w);
        scan = nl;
    }
    return 0;
}

/* The first record boundary at or after `from` and before `e` (position just after a
 * '\n' outside quotes), where *parity is the quote parity at `from`; updates it.
 * Returns e when there is none. */
static const char *next_boundary(const char *from, const char *e, int quoted, size_t *parity)
{
    const char *p = from;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl) {
            if (quoted)
                *parity += count_quotes(p, e);
            return e;
        }
        if (quoted)
            *parity += count_quotes(p, nl);
        if ((*parity & 1) == 0)
            return nl + 1;
        p = nl + 1;
    }
    return e;
}

/* --- the whole parse --------------------------------------------------------------------- */

static char *column_list(char *const *names, size_t n)
{
    size_t cap = 512, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = 0;
    for (size_t j = 0; j < n; j++) {
        size_t l = strlen(names[j]);
        if (len + l + 8 > 400) {
            strcpy(s + len, ", ...");
            break;
        }
        if (j)
            s[len++] = ',', s[len++] = ' ';
        memcpy(s + len, names[j], l + 1);
        len += l;
    }
    return s;
}

/* Column index for `text`: a header name, else a 1-based index; -1 if neither. */
static long find_column(char *const *header, size_t ncols, const char *text, size_t len)
{
    for (size_t j = 0; j < ncols; j++)
        if (strlen(header[j]) == len && memcmp(header[j], text, len) == 0)
            return (long)j;
    if (len == 0 || len > 18)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v >= 1 && (size_t)v <= ncols ? v - 1 : -1;
}

typedef struct name_ref {
    const char *s;
    size_t j;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->j > y->j) - (x->j < y->j);
}

/* Build the column plan from the header names (taken over by the plan). */
static mlwb_status make_plan(plan *pl, const csv_opts *o, char **err)
{
    const char *name = pl->name;
    size_t ncols = pl->ncols;
    char **h = pl->header;
    mlwb_status st = MLWB_OK;
    char *cols = NULL;
    name_ref *refs = malloc(ncols * sizeof *refs);
    if (!refs)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < ncols; j++)
        refs[j] = (name_ref){h[j], j};
    qsort(refs, ncols, sizeof *refs, cmp_name_ref);
    size_t da = 0, db = 0;  /* the duplicate whose second column comes first */
    for (size_t i = 1; i < ncols; i++)
        if (strcmp(refs[i].s, refs[i - 1].s) == 0 && (!db || refs[i].j < db)) {
            size_t first = i - 1;
            while (first > 0 && strcmp(refs[first - 1].s, refs[i].s) == 0)
                first--;
            da = refs[first].j;
            db = refs[i].j;
        }
    free(refs);
    if (db) {
        return err_set(err, MLWB_ERR_PARSE,
                       "%s:%zu: duplicate column name '%s' (columns %zu and %zu); rename one",
                       name, pl->hline, h[da], da + 1, db + 1);
    }
    if (!(cols = column_list(h, ncols)))
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    pl->cmap = calloc(ncols, sizeof *pl->cmap);
    if (!pl->cmap) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    long lab = (long)ncols - 1;
    const char *ltext = o && o->label && *o->label ? o->label : NULL;
    if (ltext && strcmp(ltext, "none") == 0) {
        lab = -1;
    } else if (ltext && (lab = find_column(h, ncols, ltext, strlen(ltext))) < 0) {
        st = err_set(err, MLWB_ERR_NOTFOUND, "%s: label column '%s' does not exist (columns: %s)",
                     name, ltext, cols);
        goto out;
    }
    if (lab >= 0)
        pl->cmap[lab] = COL_LABEL;
    pl->labelled = lab >= 0;
    for (const char *p = o && o->ignore ? o->ignore : ""; *p;) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a < b) {
            long j = find_column(h, ncols, a, (size_t)(b - a));
            if (j < 0) {
                st = err_set(err, MLWB_ERR_NOTFOUND,
                             "%s: ignore: column '%.*s' does not exist (columns: %s)", name,
                             (int)(b - a), a, cols);
                goto out;
            }
            if (j == lab) {
                st = err_set(err, MLWB_ERR_INVALID,
                             "%s: ignore: column '%s' is the label; choose another with "
                             "label= or label=none", name, h[j]);
                goto out;
            }
            pl->cmap[j] = COL_IGNORE;
        }
        p = *e ? e + 1 : e;
    }
    size_t nf = 0;
    for (size_t j = 0; j < ncols; j++)
        if (pl->cmap[j] == 0)
            pl->cmap[j] = (int32_t)nf++;
    if (nf == 0) {
        if (ncols == 1 && pl->labelled)
            st = err_set(err, MLWB_ERR_PARSE,
                         "%s:%zu: the header has 1 column; need at least one feature and a "
                         "label (or label=none)", name, pl->hline);
        else
            st = err_set(err, MLWB_ERR_PARSE,
                         "%s: no feature column left after the label and ignore= (columns: %s)",
                         name, cols);
        goto out;
    }
    pl->nfeat = nf;
    pl->fcol = malloc(nf * sizeof *pl->fcol);
    if (!pl->fcol) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < ncols; j++)
        if (pl->cmap[j] >= 0)
            pl->fcol[pl->cmap[j]] = j;
out:
    free(cols);
    return st;
}

/* Separator from the header line: the most frequent of , ; tab outside quotes. */
static char detect_sep(const char *p, const char *end)
{
    size_t comma = 0, semi = 0, tab = 0;
    int inq = 0;
    for (; p < end && (inq || *p != '\n'); p++) {
        if (*p == '"')
            inq = !inq;
        else if (!inq) {
            comma += *p == ',';
            semi += *p == ';';
            tab += *p == '\t';
        }
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

/* Read the header record at the start of window w (grown when the header is longer).
 * Returns the bytes it took (with the BOM and blank lines before it), or 0 with *st
 * set; *lines gets the '\n' in those bytes. */
static size_t read_header(plan *pl, source *src, window *w, const csv_opts *o, size_t *lines,
                          mlwb_status *st, char **err)
{
    const char *name = pl->name;
    for (;;) {
        const char *p = w->p, *e = w->p + w->len;
        if (w->len >= 2 && (memcmp(p, "\xFF\xFE", 2) == 0 || memcmp(p, "\xFE\xFF", 2) == 0)) {
            *st = err_set(err, MLWB_ERR_PARSE,
                          "%s: the file is UTF-16 text; save it as UTF-8 (or ASCII)", name);
            return 0;
        }
        if (w->len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3;
        size_t blank = 0;
        while (p < e && (*p == '\n' || *p == '\r')) {
            if (*p == '\n')
                blank++;
            else if (!(p + 1 == e || p[1] == '\n'))
                break;
            p++;
        }
        if (p == e && w->eof) {
            *st = err_set(err, MLWB_ERR_PARSE, "%s: empty file (expected a header row)", name);
            return 0;
        }
        size_t parity = 0;
        const char *hb = next_boundary(p, e, 1, &parity);
        if (hb == e && !w->eof) {
            if (w->len >= RECORD_MAX) {
                *st = err_set(err, MLWB_ERR_PARSE,
                              "%s:1: a header longer than %zu MB (an unclosed quote?)", name,
                              RECORD_MAX >> 20);
                return 0;
            }
            if ((*st = src_more(src, w, w->len * 2, err)) != MLWB_OK)
                return 0;
            continue;
        }
        pl->sep = o && o->sep ? o->sep : detect_sep(p, hb);
        piece hp = {.beg = p, .end = hb};
        cursor c = {p, hb, blank, p};
        size_t cap = 0;
        for (;;) {
            const char *f;
            size_t len;
            if (read_field(pl, &hp, &c, &f, &len)) {
                if (hp.st == MLWB_ERR_NOMEM)
                    *st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
                else
                    *st = err_set(err, hp.st, "%s:%zu:%zu: %s", name, hp.eline + 1, hp.ecol,
                                  hp.emsg ? hp.emsg : "parse error");
                piece_free(&hp);
                return 0;
            }
            if (pl->ncols == cap) {
                size_t nc = cap ? cap * 2 : 16;
                char **nh = realloc(pl->header, nc * sizeof *nh);
                if (!nh)
                    break;
                pl->header = nh;
                cap = nc;
            }
            if (memchr(f, 0, len)) {
                *st = err_set(err, MLWB_ERR_PARSE,
                              "%s:%zu: a NUL byte in the header (is this a binary file?)", name,
                              blank + 1);
                piece_free(&hp);
                return 0;
            }
            char *s = malloc(len + 1);
            if (!s)
                break;
            memcpy(s, f, len);
            s[len] = 0;
            pl->header[pl->ncols++] = s;
            if (c.p < c.end && *c.p == pl->sep) {
                c.p++;
                continue;
            }
            end_record(&c);
            piece_free(&hp);
            pl->hline = blank + 1;
            *lines = c.line;
            *st = MLWB_OK;
            return (size_t)(c.p - w->p);
        }
        piece_free(&hp);
        *st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
}

static int64_t phys_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : INT64_MAX;
}

/* The output matrix, grown as windows are merged. */
typedef struct matrix {
    float *x;
    int32_t *y;
    size_t rows, cap;
} matrix;

static mlwb_status mat_reserve(matrix *m, const plan *pl, size_t need, size_t hint, char **err)
{
    if (need <= m->cap)
        return MLWB_OK;
    size_t rowb = pl->nfeat * sizeof(float) + (pl->labelled ? sizeof(int32_t) : 0);
    size_t nc = m->cap + m->cap / 2;
    if (nc < need)
        nc = need;
    if (hint > nc)
        nc = hint;
    if (nc < 1024)
        nc = 1024;
    double ram = (double)phys_bytes();
    if ((double)need * (double)rowb > ram)
        return err_set(err, MLWB_ERR_NOMEM,
                       "%s: the data does not fit in memory: %zu rows x %zu features need "
                       "more than the %.0f MB of RAM of this machine",
                       pl->name, need, pl->nfeat, ram / 1e6);
    if ((double)hint * (double)rowb > ram)  /* say so now, not after filling the RAM */
        return err_set(err, MLWB_ERR_NOMEM,
                       "%s: the data does not fit in memory: at its first rows' size, the "
                       "file holds about %zu rows x %zu features (%.0f MB in memory), more "
                       "than the %.0f MB of RAM of this machine",
                       pl->name, hint, pl->nfeat, (double)hint * (double)rowb / 1e6, ram / 1e6);
    if ((double)nc * (double)rowb > ram)
        nc = need;
    float *x = realloc(m->x, nc * pl->nfeat * sizeof *x);
    if (x)
        m->x = x;
    int32_t *y = NULL;
    if (x && pl->labelled && (y = realloc(m->y, nc * sizeof *y)) != NULL)
        m->y = y;
    if (!x || (pl->labelled && !y))
        return err_set(err, MLWB_ERR_NOMEM,
                       "%s: out of memory after %zu rows (%zu rows x %zu features need %.1f MB)",
                       pl->name, m->rows, nc, pl->nfeat, (double)nc * (double)rowb / 1e6);
    m->cap = nc;
    hint_huge(m->x, nc * pl->nfeat * sizeof *x);
    if (pl->labelled)
        hint_huge(m->y, nc * sizeof *y);
    return MLWB_OK;
}

/* Classes in their stable order into d; renumber the rows' labels. */
static mlwb_status finish_labels(ds *d, ltab *g, const char *name, char **err)
{
    size_t n = g->n;
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    int32_t *order = malloc((n ? n : 1) * sizeof *order);
    int32_t *map = malloc((n ? n : 1) * sizeof *map);
    char **names = calloc(n ? n : 1, sizeof *names);
    mlwb_status st = MLWB_OK;
    if (!texts || !order || !map || !names) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        texts[i] = ltab_str(g, (int32_t)i);
        if (strlen(texts[i]) != ltab_len(g, (int32_t)i)) {
            st = err_set(err, MLWB_ERR_PARSE, "%s: a label holds a NUL byte (is this a binary "
                         "file?)", name);
            goto out;
        }
    }
    if ((st = ds_label_order(texts, n, order, err)) != MLWB_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        map[order[i]] = (int32_t)i;
        if (!(names[i] = strdup(texts[order[i]]))) {
            for (size_t k = 0; k < i; k++)
                free(names[k]);
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < d->rows; i++)
        d->y[i] = map[d->y[i]];
    d->class_names = names;
    d->nclasses = n;
    names = NULL;
out:
    free(texts);
    free(order);
    free(map);
    free(names);
    return st;
}

/* Fill missing=mean cells (NaN) with their column means, summed in row order. */
static mlwb_status fill_means(ds *d, const plan *pl, char **err)
{
    size_t nf = d->cols;
    double *sum = calloc(nf, sizeof *sum);
    size_t *cnt = calloc(nf, sizeof *cnt);
    mlwb_status st = MLWB_OK;
    if (!sum || !cnt) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->rows; i++) {
        const float *r = d->x + i * nf;
        for (size_t k = 0; k < nf; k++)
            if (d->col_missing[k] && !isnan(r[k])) {
                sum[k] += r[k];
                cnt[k]++;
            }
    }
    for (size_t k = 0; k < nf; k++)
        if (d->col_missing[k] && cnt[k] == 0) {
            st = err_set(err, MLWB_ERR_PARSE,
                         "%s: column '%s' has no values at all, so no mean to fill in "
                         "(skip it with ignore=)", pl->name, d->feature_names[k]);
            goto out;
        }
    for (size_t k = 0; k < nf; k++)
        if (cnt[k])
            sum[k] = (double)(float)(sum[k] / (double)cnt[k]);
    for (size_t i = 0; i < d->rows; i++) {
        float *r = d->x + i * nf;
        for (size_t k = 0; k < nf; k++)
            if (isnan(r[k]))
                r[k] = (float)sum[k];
    }
out:
    free(sum);
    free(cnt);
    return st;
}

/* One window's work for par_for: item 0 may be the read-ahead of the next window, the
 * others parse pieces; then a second pass copies the pieces' rows into the matrix. */
typedef struct work {
    const plan *pl;
    piece *pieces;
    int fill;              /* item 0 fills `next` */
    source *src;
    window *next;
    const char *tail;
    size_t tlen, want;
    matrix *m;
    size_t *dst;           /* per piece: its first row in the matrix */
    char *touch;           /* matrix pages this window's rows will likely fill: item 0
                            * faults them in while the pieces parse */
    size_t touch_len;
} work;

/* Fault in (and so have the kernel zero) pages the copy will write, off the critical
 * path: page faults on a fresh 64 MB matrix are a good part of a load. */
static void prefault(char *p, size_t n)
{
    const size_t page = 4096;
    if (!p || !n)  /* nothing to touch (no matrix yet): p + n would be UB on NULL */
        return;
    char *e = p + n;
    for (p = (char *)(((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1)); p < e; p += page)
        *(volatile char *)p = 0;
}

static void work_parse(void *ctx, size_t i, int tid)
{
    work *wk = ctx;
    if (wk->fill) {
        if (i == 0) {
            window *n = wk->next;
            n->st = src_fill(wk->src, n, wk->tail, wk->tlen, wk->want, &n->err);
            prefault(wk->touch, wk->touch_len);
            return;
        }
        i--;
    }
    parse_piece(wk->pl, &wk->pieces[i]);
}

static void work_copy(void *ctx, size_t i, int tid)
{
    work *wk = ctx;
    const piece *pc = &wk->pieces[i];
    size_t nf = wk->pl->nfeat, at = wk->dst[i];
    if (!pc->rows)
        return;
    memcpy(wk->m->x + at * nf, pc->x, pc->rows * nf * sizeof(float));
    if (wk->pl->labelled) {
        int32_t *y = wk->m->y + at;
        for (size_t r = 0; r < pc->rows; r++)
            y[r] = pc->gmap[pc->y[r]];
    }
}

static void run_items(size_t n, par_fn fn, void *ctx)
{
    if (n == 1)
        fn(ctx, 0, 0);
    else
        par_for(n, fn, ctx);
}

static mlwb_status parse_source(source *src, const char *name, const csv_opts *o, ds **out,
                                char **err)
{
    *out = NULL;
    plan pl = {.name = name, .missing = o ? o->missing : CSV_MISSING_ERROR};
    size_t chunk = o && o->chunk_size ? o->chunk_size : CHUNK_DEFAULT;
    int nt = o && o->threads > 0 ? o->threads : par_threads();
    if (nt > 64)
        nt = 64;
    /* More pieces than threads balance the load, but par_for runs par_threads() threads
     * for as many items: only when that does not exceed the threads asked for. */
    int np = nt == 1 ? 1 : nt >= par_threads() ? 3 * nt : nt;
    piece *pieces = NULL;
    size_t *dst = NULL;
    window win[2] = {{0}};
    int cw = 0;
    ltab glab = {.last = -1};
    matrix m = {0};
    size_t *miss = NULL, dropped = 0;
    ds *d = NULL;
    mlwb_status st = MLWB_OK;

    if (o && (o->missing < CSV_MISSING_ERROR || o->missing > CSV_MISSING_MEAN))
        return err_set(err, MLWB_ERR_INVALID, "%s: unknown missing= mode", name);
    if (o && (o->sep == '"' || o->sep == '\n' || o->sep == '\r'))
        return err_set(err, MLWB_ERR_INVALID,
                       "%s: the separator cannot be a quote or a line end", name);
    if (o && o->cancelled && o->cancelled(o->cancel_ud))
        return err_set(err, MLWB_ERR_CANCELLED, "%s: cancelled", name);

    if ((st = src_fill(src, &win[0], src->mem, 0, chunk, err)) != MLWB_OK)
        goto out;
    size_t hlines = 0;
    size_t hbytes = read_header(&pl, src, &win[0], o, &hlines, &st, err);
    if (st)
        goto out;
    src_consume(src, &win[0], hbytes, count_quotes(win[0].p, win[0].p + hbytes));
    if ((st = make_plan(&pl, o, err)) != MLWB_OK)
        goto out;

    pieces = calloc((size_t)np, sizeof *pieces);
    dst = calloc((size_t)np, sizeof *dst);
    miss = calloc(pl.nfeat, sizeof *miss);
    if (!pieces || !dst || !miss) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int t = 0; t < np; t++) {
        pieces[t].lab.last = -1;
        if (!(pieces[t].miss = calloc(pl.nfeat, sizeof *pieces[t].miss))) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }

    size_t line_base = 1 + hlines;  /* line number of the window's first line */
    int first = 1;
    for (;;) {
        window *w = &win[cw];
        if (w->len == 0)
            break;
        size_t cut = w->eof ? w->len : last_boundary(w->p, w->len, w->quotes);
        int truncated = 0;
        if (cut == 0) {
            if (w->len < RECORD_MAX) {
                if ((st = src_more(src, w, w->len * 2 > chunk ? w->len * 2 : chunk, err)))
                    goto out;
                continue;
            }
            cut = w->len;
            truncated = 1;
        }
        size_t cutq = cut == w->len ? w->quotes : w->quotes ? count_quotes(w->p, w->p + cut) : 0;

        /* split at record boundaries near equal offsets */
        int n = truncated ? 1 : np;
        const char *pos = w->p, *wend = w->p + cut;
        size_t parity = 0;
        for (int t = 0; t < n; t++) {
            const char *pe = wend;
            if (t + 1 < n) {
                const char *target = w->p + cut / (size_t)n * (size_t)(t + 1);
                if (target < pos)
                    target = pos;
                if (cutq)
                    parity += count_quotes(pos, target);
                pe = next_boundary(target, wend, cutq != 0, &parity);
            }
            pieces[t].beg = pos;
            pieces[t].end = pe;
            pieces[t].truncated = truncated;
            pos = pe;
        }
        int more = !w->eof && !truncated;
        window *nw = &win[1 - cw];
        work wk = {.pl = &pl, .pieces = pieces, .fill = more, .src = src, .next = nw,
                   .tail = w->p + cut, .tlen = w->len - cut, .m = &m, .dst = dst};
        wk.want = wk.tlen > chunk / 2 ? wk.tlen + chunk : chunk;
        if (more && m.rows && m.cap > m.rows) {
            /* this window's rows, at the bytes per row seen so far, plus 10% */
            size_t est = (size_t)((double)cut * (double)(m.rows + dropped) /
                                  (double)(src->done - hbytes) * 1.1) + 1;
            size_t end = m.rows + est < m.cap ? m.rows + est : m.cap;
            wk.touch = (char *)(m.x + m.rows * pl.nfeat);
            wk.touch_len = (end - m.rows) * pl.nfeat * sizeof(float);
        }
        if (nt == 1)
            for (int i = 0; i < n + more; i++)
                work_parse(&wk, (size_t)i, 0);
        else
            run_items((size_t)(n + more), work_parse, &wk);

        /* merge in file order: the first error, labels, rows */
        size_t lines = line_base, add = 0, before = m.rows + dropped;
        for (int t = 0; t < n; t++) {
            piece *pc = &pieces[t];
            if (pc->st) {
                if (pc->emsg_first && pc->efirst && before == 0) {
                    free(pc->emsg);
                    pc->emsg = pc->emsg_first;
                    pc->emsg_first = NULL;
                }
                if (pc->st == MLWB_ERR_NOMEM)
                    st = err_set(err, MLWB_ERR_NOMEM, "%s: out of memory while parsing", name);
                else if (pc->ecol)
                    st = err_set(err, pc->st, "%s:%zu:%zu: %s", name, lines + pc->eline,
                                 pc->ecol, pc->emsg ? pc->emsg : "parse error");
                else
                    st = err_set(err, pc->st, "%s:%zu: %s", name, lines + pc->eline,
                                 pc->emsg ? pc->emsg : "parse error");
                goto out;
            }
            lines += pc->lines;
            dst[t] = m.rows + add;
            add += pc->rows;
            before += pc->rows + pc->dropped;
        }
        if (more && nw->st) {
            st = nw->st;
            if (err) {
                free(*err);
                *err = nw->err;
                nw->err = NULL;
            }
            goto out;
        }
        for (int t = 0; t < n && pl.labelled; t++) {
            piece *pc = &pieces[t];
            if (pc->lab.n > pc->gcap) {
                size_t nc = pc->gcap ? pc->gcap : 16;
                while (nc < pc->lab.n)
                    nc *= 2;
                int32_t *g = realloc(pc->gmap, nc * sizeof *g);
                if (!g) {
                    st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
                    goto out;
                }
                pc->gmap = g;
                pc->gcap = nc;
            }
            for (; pc->gmapped < pc->lab.n; pc->gmapped++) {
                int32_t id = (int32_t)pc->gmapped;
                int32_t g = ltab_intern(&glab, ltab_str(&pc->lab, id), ltab_len(&pc->lab, id));
                if (g < 0) {
                    st = err_set(err, MLWB_ERR_NOMEM, "out of memory for labels");
                    goto out;
                }
                pc->gmap[id] = g;
            }
        }
        size_t hint = 0;
        if (first && add && more && src->total > src->done + cut) {
            /* reserve for the whole input at this window's bytes per row, plus 5% */
            double per = (double)cut / (double)add;
            hint = m.rows + add + (size_t)((double)(src->total - src->done - cut) / per * 1.05);
        }
        first = 0;
        if ((st = mat_reserve(&m, &pl, m.rows + add, hint, err)) != MLWB_OK)
            goto out;
        run_items((size_t)n, work_copy, &wk);
        m.rows += add;
        for (int t = 0; t < n; t++) {
            dropped += pieces[t].dropped;
            for (size_t k = 0; k < pl.nfeat; k++)
                miss[k] += pieces[t].miss[k];
        }
        line_base = lines;
        src->done += cut;
        if (o && o->progress && src->total)
            o->progress(o->progress_ud, (double)src->done / (double)src->total);
        if (!more)
            break;
        cw = 1 - cw;
        if (o && o->cancelled && o->cancelled(o->cancel_ud)) {
            st = err_set(err, MLWB_ERR_CANCELLED, "%s: cancelled", name);
            goto out;
        }
    }

    if (m.rows == 0) {
        if (dropped)
            st = err_set(err, MLWB_ERR_PARSE,
                         "%s: all %zu data rows have missing values (missing=drop left none)",
                         name, dropped);
        else
            st = err_set(err, MLWB_ERR_PARSE, "%s: no data rows after the header", name);
        goto out;
    }

    if ((st = ds_new(0, pl.nfeat, 0, &d, err)) != MLWB_OK)
        goto out;
    free(d->x);
    d->x = m.rows < m.cap ? realloc(m.x, m.rows * pl.nfeat * sizeof(float)) : m.x;
    if (!d->x)
        d->x = m.x;
    m.x = NULL;
    if (pl.labelled) {
        d->y = m.rows < m.cap ? realloc(m.y, m.rows * sizeof(int32_t)) : m.y;
        if (!d->y)
            d->y = m.y;
        m.y = NULL;
    }
    d->rows = m.rows;
    for (size_t k = 0; k < pl.nfeat; k++) {
        d->feature_names[k] = pl.header[pl.fcol[k]];
        pl.header[pl.fcol[k]] = NULL;
    }
    for (size_t j = 0; j < pl.ncols; j++)
        if (pl.cmap[j] == COL_LABEL) {
            d->label_name = pl.header[j];
            pl.header[j] = NULL;
        }
    for (size_t k = 0; k < pl.nfeat; k++)
        if (miss[k]) {
            d->col_missing = miss;
            miss = NULL;
            break;
        }
    d->rows_dropped = dropped;
    if (pl.labelled && (st = finish_labels(d, &glab, name, err)) != MLWB_OK)
        goto out;
    if (d->col_missing && pl.missing == CSV_MISSING_MEAN && (st = fill_means(d, &pl, err)))
        goto out;
    if (asprintf(&d->source, "csv %s", name) < 0) {
        d->source = NULL;
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    ds_finish(d);
    *out = d;
    d = NULL;

out:
    ds_release(&d);
    if (pieces)
        for (int t = 0; t < np; t++)
            piece_free(&pieces[t]);
    free(pieces);
    free(dst);
    for (int i = 0; i < 2; i++) {
        if (src->fd >= 0)
            free(win[i].buf);
        free(win[i].err);
    }
    ltab_free(&glab);
    free(m.x);
    free(m.y);
    free(miss);
    if (pl.header)
        for (size_t j = 0; j < pl.ncols; j++)
            free(pl.header[j]);
    free(pl.header);
    free(pl.cmap);
    free(pl.fcol);
    return st;
}

mlwb_status csv_parse(const char *buf, size_t len, const char *name, const csv_opts *o,
                      ds **out, char **err)
{
    source src = {.fd = -1, .mem = buf, .memlen = len, .total = len, .name = name};
    return parse_source(&src, name, o, out, err);
}

mlwb_status csv_load_file(const char *path, const csv_opts *o, ds **out, char **err)
{
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno == ENOENT ? MLWB_ERR_NOTFOUND : MLWB_ERR_IO,
                       "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        mlwb_status st = err_set(err, MLWB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return err_set(err, MLWB_ERR_IO, "%s: %s", path,
                       S_ISDIR(sb.st_mode) ? "is a directory, not a CSV file"
                                           : "not a regular file");
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    source src = {.fd = fd, .total = (size_t)sb.st_size, .name = path};
    mlwb_status st = parse_source(&src, path, o, out, err);
    close(fd);
    return st;
}

/* --- option values ----------------------------------------------------------------------- */

int csv_missing_parse(const char *text, csv_missing *out)
{
    static const char *const names[] = {"error", "drop", "mean"};
    for (int i = 0; i < 3; i++)
        if (text && strcmp(text, names[i]) == 0) {
            *out = (csv_missing)i;
            return 0;
        }
    return -1;
}

const char *csv_missing_name(csv_missing m)
{
    switch (m) {
    case CSV_MISSING_ERROR: return "error";
    case CSV_MISSING_DROP: return "drop";
    case CSV_MISSING_MEAN: return "mean";
    }
    return "?";
}

int csv_sep_parse(const char *text, char *out)
{
    static const struct {
        const char *name;
        char sep;
    } words[] = {{"auto", 0},  {"tab", '\t'},      {"\\t", '\t'},  {"comma", ','},
                 {"semicolon", ';'}, {"space", ' '}, {"pipe", '|'}};
    if (!text)
        return -1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(text, words[i].name) == 0) {
            *out = words[i].sep;
            return 0;
        }
    if (strlen(text) == 1 && text[0] != '"' && text[0] != '\n' && text[0] != '\r') {
        *out = text[0];
        return 0;
    }
    return -1;
}
