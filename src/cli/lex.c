/*
 * lex.c — splitting a command line into words (see cmd_split in mlwb/cli/cmd.h).
 *
 * Rules: words are separated by blanks; "..." groups with \" and \\ escapes; '...'
 * groups literally; an unquoted ';' ends the command; an unquoted '#' at the start of a
 * word starts a comment to the end of the line.  Quotes may be glued to other text
 * (label="a b" is one word, label=a b); a word with a quote before its first '=' is
 * never taken as a key=value option, so "a=b.csv" is a file name.
 */
#include <stdlib.h>
#include <string.h>

#include "mlwb/cli/cmd.h"

int cmd_split(const char *line, char **argv, unsigned char *quoted, int max, const char **rest,
              char **err)
{
    const char *p = line;
    int argc = 0;
    *rest = NULL;
    size_t cap = strlen(line) + 1;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            break;
        if (*p == ';') {
            *rest = p + 1;
            break;
        }
        if (argc == max) {
            err_set(err, MLWB_ERR_PARSE, "too many words (at most %d)", max);
            goto fail;
        }
        char *w = malloc(cap);
        if (!w) {
            err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto fail;
        }
        size_t n = 0;
        int had_quote = 0, seen_eq = 0;  /* a quote before any unquoted '=' */
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != ';') {
            if (*p == '"') {
                had_quote |= !seen_eq;
                const char *open = p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    w[n++] = *p++;
                }
                if (!*p) {
                    free(w);
                    err_set(err, MLWB_ERR_PARSE, "column %d: unterminated \" quote",
                            (int)(open - line) + 1);
                    goto fail;
                }
                p++;
            } else if (*p == '\'') {
                had_quote |= !seen_eq;
                const char *open = p++;
                while (*p && *p != '\'')
                    w[n++] = *p++;
                if (!*p) {
                    free(w);
                    err_set(err, MLWB_ERR_PARSE, "column %d: unterminated ' quote",
                            (int)(open - line) + 1);
                    goto fail;
                }
                p++;
            } else {
                seen_eq |= *p == '=';
                w[n++] = *p++;
            }
        }
        w[n] = 0;
        if (quoted)
            quoted[argc] = (unsigned char)had_quote;
        argv[argc++] = w;
    }
    return argc;
fail:
    while (argc > 0)
        free(argv[--argc]);
    return -1;
}
