/*
 * csv.h — reading a labelled data set from CSV text, fast and exactly.
 *
 * Format (RFC 4180 plus what real files do):
 * - The first non-blank record is the header; its names are kept.  Two columns with the
 *   same name are an error.  Blank lines are skipped everywhere.
 * - Fields may be quoted: "a,b", "say ""hi""", and quoted fields may span lines.  Blanks
 *   (spaces, tabs that are not the separator) may surround a quoted field.  A quote
 *   inside an unquoted field is an error (quote the field and double the quote).
 * - LF and CRLF line ends, a last line without one, and a UTF-8 BOM.  A lone CR is data.
 * - The separator is `sep`, or detected among , ; and tab from the header line (the most
 *   frequent outside quotes; a tie with the comma goes to the comma).
 * - Features are numbers read with C-locale rules whatever the process locale:
 *   [+-]digits[.digits][e[+-]digits], also `.5` and `5.`, blanks around them allowed.
 *   Values outside the float32 range, inf, hex and anything else are rejected.  They
 *   are stored as the nearest float32 (beyond 7 significant digits, through the
 *   nearest double).
 * - Missing cells: empty or blank, NA, N/A, n/a, NaN, nan, NAN, null, NULL, None, ?
 *   (exactly these texts, blanks around them allowed, quoted or not).
 * - The label column (name or 1-based index; default the last column; "none" for no
 *   label) may hold any text; its distinct values become classes, numbered numerically
 *   when every label is an integer, else in byte order (ties broken by bytes).
 *
 * Errors name the source, line and column (1-based, the column counted in characters)
 * and the reason, e.g. "data.csv:17: 5 fields, expected 4",
 * "data.csv:2:5: column 'colour' is not numeric ('red'); skip it with ignore=colour".
 * A text cell in the first data row means a non-numeric column (the message suggests
 * ignore=); later it is a bad number.  When a file has several problems, the first one
 * in file order is reported, whatever the threads and chunk size.
 *
 * Determinism: the result (values, labels, names, hash) is the same for every thread
 * count and chunk size.
 *
 * Memory: the float32 matrix and labels, two I/O chunks and one chunk's parsed rows;
 * csv_load_file never holds the whole text.  Records longer than 64 MB are refused.
 *
 * Thread-safety: reentrant; no global state.  One call parses with `threads` threads
 * through par_for and returns when they are done.
 */
#ifndef MLWB_CORE_CSV_H
#define MLWB_CORE_CSV_H

#include <stddef.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"

typedef enum csv_missing {
    CSV_MISSING_ERROR = 0, /* the first missing cell is an error naming it (default) */
    CSV_MISSING_DROP,      /* rows with a missing feature or label are left out */
    CSV_MISSING_MEAN       /* a missing feature becomes its column's mean over the present
                            * values; a missing label is still an error */
} csv_missing;

typedef struct csv_opts {
    const char *label;     /* column name, or a 1-based index as text (a name matches
                            * first); NULL or "" = the last column; "none" = no label
                            * column (y NULL, nclasses 0) */
    char sep;              /* field separator; 0 = detect among , ; and tab */
    csv_missing missing;   /* what a missing cell does; see csv_missing */
    const char *ignore;    /* comma-separated column names or 1-based indexes to skip;
                            * NULL = none.  An unknown name is an error. */
    int threads;           /* parsing threads, at most par_threads(); 0 = par_threads().
                            * With more than one, the next chunk is read meanwhile. */
    int (*cancelled)(void *ud);   /* polled between chunks; nonzero stops the parse with
                                   * MLWB_ERR_CANCELLED */
    void *cancel_ud;
    void (*progress)(void *ud, double fraction);  /* after each chunk: input done, 0..1 */
    void *progress_ud;
    size_t chunk_size;     /* for tests: bytes per chunk; 0 = the default (4 MiB).  Any
                            * value gives the same result, only slower when tiny. */
} csv_opts;

/* Parse `len` bytes of CSV text; `name` is used in error messages and as the source
 * ("csv NAME").  A NULL `o` means all defaults. */
mlwb_status csv_parse(const char *buf, size_t len, const char *name, const csv_opts *o,
                      ds **out, char **err);

/* Read and parse a file in chunks (the whole file is never held in memory).  The data
 * set's `source` is "csv PATH".  A missing file is MLWB_ERR_NOTFOUND; a directory or
 * another non-regular file, or a read failure, MLWB_ERR_IO; data that does not fit in
 * memory MLWB_ERR_NOMEM. */
mlwb_status csv_load_file(const char *path, const csv_opts *o, ds **out, char **err);

/* Option values as users write them.  "error" | "drop" | "mean"; returns 0 or -1. */
int csv_missing_parse(const char *text, csv_missing *out);
const char *csv_missing_name(csv_missing m);

/* A separator as users write it: one character (, ; | : space) or "tab", "\t",
 * "comma", "semicolon", "auto" (0).  Quotes and line ends are refused.  Returns 0 or -1. */
int csv_sep_parse(const char *text, char *out);

#endif
