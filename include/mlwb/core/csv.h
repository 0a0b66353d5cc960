/*
 * csv.h — reading a labelled data set from CSV text.
 *
 * The first row is the header.  Fields may be quoted ("a,b", "say ""hi""", embedded
 * newlines); LF and CRLF line ends; a UTF-8 BOM is skipped.  Features are parsed with
 * C-locale rules whatever the process locale is.  The label column (by name or 1-based
 * index; default the last column) may hold any text; its distinct values become classes.
 *
 * Errors name the source, the line and the column: "iris.csv:17:3: bad number 'x1'".
 * Thread-safety: reentrant; no global state.
 */
#ifndef MLWB_CORE_CSV_H
#define MLWB_CORE_CSV_H

#include <stddef.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"

typedef struct csv_opts {
    const char *label;   /* column name, or a 1-based index as text; NULL = last column */
    char sep;            /* field separator; 0 = detect among , ; and tab */
} csv_opts;

/* Parse `len` bytes of CSV text; `name` is used in error messages. */
mlwb_status csv_parse(const char *buf, size_t len, const char *name, const csv_opts *o,
                      ds **out, char **err);

/* Read and parse a file.  The data set's `source` is "csv PATH". */
mlwb_status csv_load_file(const char *path, const csv_opts *o, ds **out, char **err);

#endif
