#!/usr/bin/env bash
# test_tui.sh — the full-screen workbench, driven like a user through a private tmux server.
#
# mlwb runs in a detached tmux session (its own server socket, -L, killed at the end; no
# user tmux.conf; no status line, so the pane is exactly the window size).  Keys go in
# with send-keys; every check reads the screen back with capture-pane and asserts what
# is drawn there: the prompt, the panel boxes and what is inside them, the log, the help
# overlay, the layout after a resize, and a clean exit (status 0) on quit and on Ctrl-D.
#
# The helpers (start, keys, box, expect, ...) are in lib_tmux.bash; test_tui_panels.sh
# checks the chart panels, focus and zoom, history and completion.

. tests/tools/lib.sh
scratch
. tests/tui/lib_tmux.bash

# ---- start-up ------------------------------------------------------------------------
start main 120 40 || { not_ok start "tmux new-session failed"; exit 1; }
expect prompt 10 prompt_shown
expect title_bar 2 eval 'printf "%s\n" "$SCREEN" | head -n 1 | grep -q "mlwb.*$SCRATCH/main.db"'
for p in Data Model Curve Quality Server Jobs Log; do
    expect "panel_$p" 2 has_box "$p"
done
expect data_empty 2 box_has Data "no data loaded"
expect model_empty 2 box_has Model "no active model"
expect server_idle 2 box_has Server "not serving"
expect jobs_idle 2 box_has Jobs "idle"

# ---- load, train, predict --------------------------------------------------------------
typeln 'load sample iris'
expect log_echo 5 box_has Log "mlwb> load sample iris"
expect data_rows 10 box_has Data "150 rows"
expect data_columns 2 box_has Data "4 columns"
expect data_classes 2 box_has Data "setosa 50"
expect data_source 2 box_has Data "iris"

typeln 'train knn k=5'
expect model_version 10 box_has Model "version 1 (active)"
expect model_knn 2 box_has Model "knn"
expect model_k 2 box_has Model "k=5"
expect model_accuracy 2 box_has Model "accuracy 0."
expect jobs_last 5 box_has Jobs "train knn k=5: done"

typeln 'predict 5.1 3.5 1.4 0.2'
expect predict_setosa 10 after_echo 'predict 5.1 3.5 1.4 0.2' setosa

typeln 'predict 1 2'
expect error_in_log 5 after_echo 'predict 1 2' 'expects 4 features'
expect prompt_after_commands 2 prompt_shown

# ---- the listener's panel ---------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
    typeln 'serve 127.0.0.1:0'
    expect server_listen 5 box_has Server "listen http://127.0.0.1:"
    port=$(box Server | grep -o 'http://127.0.0.1:[0-9]*' | head -n 1 | sed 's/.*://')
    for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port/v1/predict?x=5.1,3.5,1.4,0.2"; done
    curl -s -o /dev/null "http://127.0.0.1:$port/no-such-route"
    expect server_requests 5 box_has Server "requests 4"
    expect server_errors 2 box_has Server "errors 1"
    typeln 'serve stop'
    expect server_stopped 5 box_has Server "not serving"
fi

# ---- completion, help overlay, log scrolling --------------------------------------------
keys 'tra'
key Tab
expect complete_command 5 eval '[[ $(last_line) == "mlwb> train"* ]]'
key C-u
expect line_cleared 3 eval '[ "$(last_line)" = "mlwb>" ]'

key F1
expect help_f1 5 box_has Help "load"
keys x
expect help_closes 5 eval '! has_box Help && [ "$(last_line)" = "mlwb>" ]'
keys '?'
expect help_question 5 box_has Help "predict"
key Enter
expect help_closes_again 5 eval '! has_box Help'

for i in 1 2 3 4 5 6; do typeln 'help'; done
# the log now ends with help's last line (its first lines have scrolled past the pane)
expect log_filled 5 box_has Log "quit leave mlwb"
key PPage
expect log_pgup 5 eval 'has "Log ─ scrolled up" || has "Log - scrolled up"'
key NPage
key NPage
expect log_pgdn 5 eval 'has_box Log && lacks "scrolled up"'

# ---- resize --------------------------------------------------------------------------
tm resize-window -t main -x 80 -y 24
expect resized 5 size_is 80x24
expect resize_data 5 box_has Data "150 rows"
expect resize_model 5 box_has Model "version 1 (active)"
expect resize_log 5 has_box Log
expect resize_prompt 5 prompt_shown
expect resize_width 5 eval '[ "$(printf "%s\n" "$SCREEN" | sed -n 2p | wc -m)" -eq 81 ]'
tm resize-window -t main -x 50 -y 12
expect too_small 5 has "terminal too small: need at least 60x20"
expect too_small_prompt 2 prompt_shown
tm resize-window -t main -x 100 -y 30
expect resize_back 5 box_has Data "150 rows"
keys 'data'
expect typing_after_resize 5 eval '[ "$(last_line)" = "mlwb> data" ]'
key C-u

# ---- quit -----------------------------------------------------------------------------
typeln 'quit'
expect quit_exits 10 pane_dead
expect quit_status_0 5 exit_status_0
expect screen_restored 2 lacks "Data ─"

# Ctrl-D on an empty line leaves too (a second session on its own store, drawn --ascii).
SESSION=eof
start eof 100 30 --ascii || not_ok ctrl_d "tmux new-session failed"
expect eof_prompt 10 prompt_shown
expect ascii_boxes 2 eval 'has "+- Data -" && box_has Model "no active model" && lacks "┌"'
key C-d
expect ctrl_d_exits 10 pane_dead
expect ctrl_d_status_0 5 exit_status_0
