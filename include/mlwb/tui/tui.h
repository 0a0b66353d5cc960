/*
 * tui.h — the full-screen workbench: ncurses panels and a readline prompt.
 *
 * The TUI does no work itself: it runs commands through the cli (which submits jobs
 * without waiting) and draws the engine's snapshots and events.  Only the thread that
 * calls tui_run touches ncurses or readline.
 */
#ifndef MLWB_TUI_TUI_H
#define MLWB_TUI_TUI_H

#include "mlwb/cli/cmd.h"

typedef struct tui_opts {
    const char *startup_script;  /* run before the prompt opens (e.g. demo.mlwb), or NULL */
    int ascii;                   /* no Unicode line drawing */
} tui_opts;

/* Run until quit / Ctrl-D; restores the terminal.  Returns the exit status. */
int tui_run(cli *c, const tui_opts *o);

#endif
