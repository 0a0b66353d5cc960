/*
 * cmd_csvopts.c — the CSV options of `load`: sep=, missing=, ignore=.
 */
#include <string.h>

#include "cmd_int.h"

cmd_status cmd_csv_opts(cmd_ctx *c, const cmd_args *a, csv_opts *o)
{
    const char *sep = cmd_opt(a, "sep");
    if (sep && csv_sep_parse(sep, &o->sep) != 0)
        return cmd_error(c, "sep=%s: expected one character, or tab, comma, semicolon, auto",
                         sep);
    const char *m = cmd_opt(a, "missing");
    if (m && csv_missing_parse(m, &o->missing) != 0)
        return cmd_error(c, "missing=%s: expected error, drop or mean", m);
    const char *ig = cmd_opt(a, "ignore");
    if (ig) {
        if (!*ig)
            return cmd_error(c, "ignore= needs column names or 1-based indexes");
        o->ignore = ig;
    }
    return CMD_OK;
}
