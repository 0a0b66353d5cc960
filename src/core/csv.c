/*
 * csv.c — CSV text to a labelled data set (see mlwb/core/csv.h).
 *
 * Design: one pass over the text, one record at a time.  A record's fields are slices
 * of the input, except quoted fields with doubled quotes, which are unescaped into a
 * scratch buffer.  Features are parsed straight into a growing float array with a
 * locale-free number parser; labels are interned in a small open-addressing table and
 * renumbered at the end in a stable order (numeric when every label is an integer,
 * byte order otherwise).  Every error carries source:line:column.
 *
 * Thread-safety: reentrant.
 */
#include "mlwb/core/csv.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct field {
    const char *p;
    size_t len;
    size_t line, col;  /* 1-based position of the field's first byte */
} field;

typedef struct parser {
    const char *buf, *end, *cur;
    const char *name;
    char sep;
    size_t line;        /* line of `cur` */
    const char *line_start;
    field *f;           /* fields of the current record */
    size_t nf, capf;
    char *scratch;      /* unescaped quoted fields */
    size_t scratch_len, scratch_cap;
} parser;

static mlwb_status grow(void **p, size_t *cap, size_t need, size_t elem, char **err)
{
    if (need <= *cap)
        return MLWB_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory (%zu bytes)", n * elem);
    *p = q;
    *cap = n;
    return MLWB_OK;
}

/* Read one record into ps->f.  Returns 1 when a record was read, 0 at the end, -1 on
 * error.  Blank lines are skipped. */
static int next_record(parser *ps, char **err)
{
    ps->nf = 0;
    ps->scratch_len = 0;
    /* skip blank lines */
    while (ps->cur < ps->end && (*ps->cur == '\n' || *ps->cur == '\r')) {
        if (*ps->cur == '\n') {
            ps->line++;
            ps->line_start = ps->cur + 1;
        }
        ps->cur++;
    }
    if (ps->cur >= ps->end)
        return 0;
    /* Offsets into scratch are recorded first and turned into pointers at the end,
     * because scratch may move while it grows. */
    size_t *soff = NULL, ns = 0, caps = 0;
    int rc = 1;
    for (;;) {
        if (grow((void **)&ps->f, &ps->capf, ps->nf + 1, sizeof(field), err)) {
            rc = -1;
            break;
        }
        field *fl = &ps->f[ps->nf];
        fl->line = ps->line;
        fl->col = (size_t)(ps->cur - ps->line_start) + 1;
        if (ps->cur < ps->end && *ps->cur == '"') {
            size_t qline = ps->line, qcol = fl->col;
            size_t start = ps->scratch_len;
            ps->cur++;
            for (;;) {
                if (ps->cur >= ps->end) {
                    err_set(err, MLWB_ERR_PARSE, "%s:%zu:%zu: unterminated quoted field (the quote opened here is never closed)",
                            ps->name, qline, qcol);
                    rc = -1;
                    goto out;
                }
                char ch = *ps->cur++;
                if (ch == '"') {
                    if (ps->cur < ps->end && *ps->cur == '"') {
                        ps->cur++;
                    } else {
                        break;
                    }
                } else if (ch == '\n') {
                    ps->line++;
                    ps->line_start = ps->cur;
                }
                if (grow((void **)&ps->scratch, &ps->scratch_cap, ps->scratch_len + 1, 1, err)) {
                    rc = -1;
                    goto out;
                }
                ps->scratch[ps->scratch_len++] = ch;
            }
            if (ps->cur < ps->end && *ps->cur != ps->sep && *ps->cur != '\n' && *ps->cur != '\r') {
                err_set(err, MLWB_ERR_PARSE, "%s:%zu:%zu: unexpected '%c' after a closing quote",
                        ps->name, ps->line, (size_t)(ps->cur - ps->line_start) + 1, *ps->cur);
                rc = -1;
                goto out;
            }
            if (grow((void **)&soff, &caps, ns + 1, sizeof *soff, err)) {
                rc = -1;
                goto out;
            }
            soff[ns++] = ps->nf;
            fl->p = (const char *)(uintptr_t)start;  /* an offset for now */
            fl->len = ps->scratch_len - start;
        } else {
            const char *s = ps->cur;
            while (ps->cur < ps->end && *ps->cur != ps->sep && *ps->cur != '\n' && *ps->cur != '\r')
                ps->cur++;
            fl->p = s;
            fl->len = (size_t)(ps->cur - s);
        }
        ps->nf++;
        if (ps->cur < ps->end && *ps->cur == ps->sep) {
            ps->cur++;
            continue;
        }
        /* end of record */
        if (ps->cur < ps->end && *ps->cur == '\r')
            ps->cur++;
        if (ps->cur < ps->end && *ps->cur == '\n') {
            ps->cur++;
            ps->line++;
            ps->line_start = ps->cur;
        }
        break;
    }
    for (size_t i = 0; i < ns; i++) {
        field *fl = &ps->f[soff[i]];
        fl->p = ps->scratch + (size_t)(uintptr_t)fl->p;
    }
out:
    free(soff);
    return rc;
}

static const double pow10tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parse a decimal number (C locale: [+-]digits[.digits][e[+-]digits], surrounding
 * spaces allowed).  Returns 0 on success.  inf, nan and hex are rejected. */
static int parse_number(const char *p, size_t len, double *out)
{
    const char *e = p + len;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (p == e)
        return -1;
    int neg = 0;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    uint64_t mant = 0;
    int exp10 = 0, digits = 0, sig = 0;
    while (p < e && *p >= '0' && *p <= '9') {
        if (sig < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant)
                sig++;
        } else {
            exp10++;
        }
        p++;
        digits++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9') {
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant)
                    sig++;
                exp10--;
            }
            p++;
            digits++;
        }
    }
    if (!digits)
        return -1;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, ed = 0, ev = 0;
        if (p < e && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        while (p < e && *p >= '0' && *p <= '9') {
            if (ev < 100000)
                ev = ev * 10 + (*p - '0');
            p++;
            ed++;
        }
        if (!ed)
            return -1;
        exp10 += eneg ? -ev : ev;
    }
    if (p != e)
        return -1;
    double v;
    if (mant == 0) {
        v = 0;
    } else if (mant < (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        v = exp10 >= 0 ? (double)mant * pow10tab[exp10] : (double)mant / pow10tab[-exp10];
    } else {
        /* rare: fall back to a locale-independent textual rebuild */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%llue%d", (unsigned long long)mant, exp10);
        v = strtod(tmp, NULL);  /* only digits and 'e': no locale-dependent characters */
    }
    if (!isfinite(v) || fabs(v) > 3.4028234663852886e38)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* --- label interning ---------------------------------------------------------- */

typedef struct labels {
    char **names;       /* distinct labels in order of first appearance */
    size_t n, cap;
    int32_t *slots;     /* open addressing: index+1, 0 = empty */
    size_t nslots;
} labels;

static uint64_t str_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static int32_t label_intern(labels *L, const char *p, size_t len, char **err)
{
    if (L->n * 2 >= L->nslots) {
        size_t ns = L->nslots ? L->nslots * 2 : 64;
        int32_t *s = calloc(ns, sizeof *s);
        if (!s) {
            err_set(err, MLWB_ERR_NOMEM, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < L->n; i++) {
            size_t h = str_hash(L->names[i], strlen(L->names[i])) & (ns - 1);
            while (s[h])
                h = (h + 1) & (ns - 1);
            s[h] = (int32_t)i + 1;
        }
        free(L->slots);
        L->slots = s;
        L->nslots = ns;
    }
    size_t h = str_hash(p, len) & (L->nslots - 1);
    while (L->slots[h]) {
        const char *nm = L->names[L->slots[h] - 1];
        if (strlen(nm) == len && memcmp(nm, p, len) == 0)
            return L->slots[h] - 1;
        h = (h + 1) & (L->nslots - 1);
    }
    if (grow((void **)&L->names, &L->cap, L->n + 1, sizeof(char *), err))
        return -1;
    char *s = malloc(len + 1);
    if (!s) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return -1;
    }
    memcpy(s, p, len);
    s[len] = 0;
    L->names[L->n] = s;
    L->slots[h] = (int32_t)L->n + 1;
    return (int32_t)L->n++;
}

static int is_integer_text(const char *s, long long *v)
{
    char *end;
    if (!*s)
        return 0;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && *end == 0;
}

typedef struct label_key {
    const char *s;
    long long v;
    int32_t idx;
} label_key;

static int cmp_numeric(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

/* Sort the distinct labels and return old->new index map (malloc'd). */
static int32_t *label_order(labels *L, char **err)
{
    label_key *keys = malloc((L->n ? L->n : 1) * sizeof *keys);
    int32_t *map = malloc((L->n ? L->n : 1) * sizeof *map);
    char **sorted = malloc((L->n ? L->n : 1) * sizeof *sorted);
    if (!keys || !map || !sorted) {
        free(keys);
        free(map);
        free(sorted);
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int numeric = 1;
    for (size_t i = 0; i < L->n; i++) {
        keys[i] = (label_key){L->names[i], 0, (int32_t)i};
        if (!is_integer_text(L->names[i], &keys[i].v))
            numeric = 0;
    }
    qsort(keys, L->n, sizeof *keys, numeric ? cmp_numeric : cmp_text);
    for (size_t i = 0; i < L->n; i++) {
        map[keys[i].idx] = (int32_t)i;
        sorted[i] = L->names[keys[i].idx];
    }
    free(L->names);
    L->names = sorted;
    free(keys);
    return map;
}

/* --- the parse ------------------------------------------------------------------ */

static char detect_sep(const char *p, const char *end)
{
    size_t comma = 0, semi = 0, tab = 0;
    int inq = 0;
    for (; p < end && (inq || (*p != '\n' && *p != '\r')); p++) {
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

static char *dup_field(const field *f)
{
    char *s = malloc(f->len + 1);
    if (s) {
        memcpy(s, f->p, f->len);
        s[f->len] = 0;
    }
    return s;
}

static int is_missing(const field *f)
{
    static const char *const marks[] = {"", "NA", "NaN", "nan", "N/A", "?", "null", "NULL"};
    const char *p = f->p;
    size_t n = f->len;
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strlen(marks[i]) == n && memcmp(marks[i], p, n) == 0)
            return 1;
    return 0;
}

mlwb_status csv_parse(const char *buf, size_t len, const char *name, const csv_opts *o,
                      ds **out, char **err)
{
    *out = NULL;
    parser ps = {.buf = buf, .end = buf + len, .cur = buf, .name = name, .line = 1};
    labels L = {0};
    float *x = NULL;
    int32_t *y = NULL;
    size_t capx = 0, capy = 0, rows = 0;
    char **header = NULL;
    size_t ncols = 0;
    mlwb_status st = MLWB_OK;
    int32_t *map = NULL;
    ds *d = NULL;

    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        ps.cur += 3;
    ps.line_start = ps.cur;
    ps.sep = o && o->sep ? o->sep : detect_sep(ps.cur, ps.end);

    int r = next_record(&ps, err);
    if (r < 0) {
        st = MLWB_ERR_PARSE;
        goto fail;
    }
    if (r == 0) {
        st = err_set(err, MLWB_ERR_PARSE, "%s: empty file (expected a header row)", name);
        goto fail;
    }
    ncols = ps.nf;
    if (ncols < 2) {
        st = err_set(err, MLWB_ERR_PARSE,
                     "%s:1: the header has %zu column; need at least one feature and a label",
                     name, ncols);
        goto fail;
    }
    header = calloc(ncols, sizeof *header);
    if (!header) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < ncols; j++)
        if (!(header[j] = dup_field(&ps.f[j]))) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto fail;
        }

    /* the label column */
    size_t lab = ncols - 1;
    if (o && o->label && *o->label) {
        size_t k;
        for (k = 0; k < ncols; k++)
            if (strcmp(header[k], o->label) == 0)
                break;
        if (k == ncols) {
            char *end;
            long idx = strtol(o->label, &end, 10);
            if (*end == 0 && idx >= 1 && (size_t)idx <= ncols) {
                k = (size_t)idx - 1;
            } else {
                char cols[512] = "";
                for (size_t j = 0; j < ncols && strlen(cols) < 400; j++) {
                    strncat(cols, j ? ", " : "", sizeof cols - strlen(cols) - 1);
                    strncat(cols, header[j], sizeof cols - strlen(cols) - 1);
                }
                st = err_set(err, MLWB_ERR_NOTFOUND,
                             "%s: label column '%s' does not exist (columns: %s)", name,
                             o->label, cols);
                goto fail;
            }
        }
        lab = k;
    }
    size_t nfeat = ncols - 1;

    while ((r = next_record(&ps, err)) > 0) {
        if (ps.nf != ncols) {
            st = err_set(err, MLWB_ERR_PARSE, "%s:%zu: %zu field%s, expected %zu", name,
                         ps.f[0].line, ps.nf, ps.nf == 1 ? "" : "s", ncols);
            goto fail;
        }
        if (grow((void **)&x, &capx, (rows + 1) * nfeat, sizeof(float), err) ||
            grow((void **)&y, &capy, rows + 1, sizeof(int32_t), err)) {
            st = MLWB_ERR_NOMEM;
            goto fail;
        }
        float *row = x + rows * nfeat;
        size_t fj = 0;
        for (size_t j = 0; j < ncols; j++) {
            const field *f = &ps.f[j];
            if (j == lab) {
                if (is_missing(f)) {
                    st = err_set(err, MLWB_ERR_PARSE, "%s:%zu:%zu: missing label in column '%s'",
                                 name, f->line, f->col, header[j]);
                    goto fail;
                }
                int32_t c = label_intern(&L, f->p, f->len, err);
                if (c < 0) {
                    st = MLWB_ERR_NOMEM;
                    goto fail;
                }
                y[rows] = c;
                continue;
            }
            double v;
            if (parse_number(f->p, f->len, &v) != 0) {
                if (is_missing(f))
                    st = err_set(err, MLWB_ERR_PARSE,
                                 "%s:%zu:%zu: missing value in column '%s'", name, f->line,
                                 f->col, header[j]);
                else
                    st = err_set(err, MLWB_ERR_PARSE,
                                 "%s:%zu:%zu: bad number '%.*s' in column '%s'", name, f->line,
                                 f->col, (int)(f->len > 40 ? 40 : f->len), f->p, header[j]);
                goto fail;
            }
            row[fj++] = (float)v;
        }
        rows++;
    }
    if (r < 0) {
        st = MLWB_ERR_PARSE;
        goto fail;
    }
    if (rows == 0) {
        st = err_set(err, MLWB_ERR_PARSE, "%s: no data rows after the header", name);
        goto fail;
    }

    if (!(map = label_order(&L, err))) {
        st = MLWB_ERR_NOMEM;
        goto fail;
    }
    if ((st = ds_new(0, nfeat, 1, &d, err)) != MLWB_OK)
        goto fail;
    free(d->x);
    free(d->y);
    d->rows = rows;
    d->x = x;
    d->y = y;
    x = NULL;
    y = NULL;
    for (size_t i = 0; i < rows; i++)
        d->y[i] = map[d->y[i]];
    d->nclasses = L.n;
    d->class_names = L.names;
    L.names = NULL;
    L.n = 0;
    for (size_t j = 0, fj = 0; j < ncols; j++) {
        if (j == lab) {
            d->label_name = header[j];
        } else {
            d->feature_names[fj++] = header[j];
        }
        header[j] = NULL;
    }
    d->source = malloc(strlen(name) + 5);
    if (d->source)
        sprintf(d->source, "csv %s", name);
    ds_finish(d);
    *out = d;
    d = NULL;

fail:
    ds_release(&d);
    if (header)
        for (size_t j = 0; j < ncols; j++)
            free(header[j]);
    free(header);
    for (size_t i = 0; i < L.n; i++)
        free(L.names[i]);
    free(L.names);
    free(L.slots);
    free(map);
    free(x);
    free(y);
    free(ps.f);
    free(ps.scratch);
    return st;
}

mlwb_status csv_load_file(const char *path, const csv_opts *o, ds **out, char **err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, errno == ENOENT ? MLWB_ERR_NOTFOUND : MLWB_ERR_IO,
                       "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return err_set(err, MLWB_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return err_set(err, MLWB_ERR_NOMEM, "%s: file of %zu bytes does not fit in memory",
                       path, size);
    }
    size_t got = fread(buf, 1, size, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || got != size) {
        free(buf);
        return err_set(err, MLWB_ERR_IO, "%s: read error", path);
    }
    mlwb_status st = csv_parse(buf, size, path, o, out, err);
    free(buf);
    return st;
}
