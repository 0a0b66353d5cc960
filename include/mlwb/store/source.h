/*
 * source.h — reading a data set from another SQLite file (`load sqlite PATH "SELECT …"`).
 *
 * The file is opened read-only (it is never modified, and no journal or WAL is
 * created next to it); the query runs as given.  Every result column but the label is
 * a feature and must hold numbers (INTEGER or REAL; text that is a number is taken too);
 * the label column (by name, default the last column) may hold anything; its values
 * become classes.  NULL features follow the same rule as CSV's missing=error.
 * Thread-safety: reentrant; its own connection per call.
 */
#ifndef MLWB_STORE_SOURCE_H
#define MLWB_STORE_SOURCE_H

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"

/* cancelled (may be NULL) is polled every few thousand rows. */
mlwb_status store_query_dataset(const char *path, const char *sql, const char *label,
                                int (*cancelled)(void *), void *cancel_ud, ds **out,
                                char **err);

#endif
