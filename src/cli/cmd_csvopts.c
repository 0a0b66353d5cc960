/*
 * cmd_csvopts.c — the CSV options of `load` beyond sep=.
 */
#include "cmd_int.h"

cmd_status cmd_csv_extra(cmd_ctx *c, const cmd_args *a, csv_opts *o)
{
    if (cmd_opt(a, "missing") || cmd_opt(a, "ignore"))
        return cmd_error(c, "missing= and ignore= are not in this build");
    return CMD_OK;
}
