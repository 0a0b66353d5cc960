#!/usr/bin/env bash
# test_tui.sh — the full-screen workbench, driven like a user through a private tmux server.
#
# mlwb runs in a detached tmux session (its own server socket, -L, killed at the end; no
# user tmux.conf; no status line, so the pane is exactly the window size).  Keys go in
# with send-keys; every check reads the screen back with capture-pane and asserts what
# is drawn there: the prompt, the panel boxes and what is inside them, the log, the help
# overlay, the layout after a resize, and a clean exit (status 0) on quit and on Ctrl-D.
#
# Panels are read by their box: box TITLE prints the inside of the box whose top border
# carries " TITLE ", found from its corners, so checks do not depend on exact columns.
# Bash substrings count characters in a UTF-8 locale, hence LC_ALL below.

. tests/tools/lib.sh
scratch
export LC_ALL=C.UTF-8

case $MLWB in /*) ;; *) MLWB=$PWD/$MLWB ;; esac
if [ ! -x "$MLWB" ]; then
    not_ok start "no executable at $MLWB (build it with make)"
    exit 1
fi
if ! command -v tmux >/dev/null 2>&1; then
    not_ok start "tmux is not installed (make deps)"
    exit 1
fi

SOCK=mlwbtest$$
tm() { tmux -L "$SOCK" -f "$SCRATCH/tmux.conf" "$@"; }
SOCKFILE=${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK
trap 'tm kill-server >/dev/null 2>&1; rm -f "$SOCKFILE"; rm -rf "$SCRATCH"' EXIT
cat > "$SCRATCH/tmux.conf" <<'EOF'
set -g status off
set -g remain-on-exit on
set -g default-terminal screen
EOF

# start SESSION WIDTH HEIGHT [OPTION...]: mlwb on a fresh store in a new detached session.
start() {
    local cmd name=$1 w=$2 h=$3
    shift 3
    cmd=$(printf 'cd %q && env LC_ALL=C.UTF-8 %q --db %q' "$SCRATCH" "$MLWB" "$SCRATCH/$name.db")
    [ $# -gt 0 ] && cmd="$cmd $(printf ' %q' "$@")"
    # The shell reports mlwb's exit status on the (restored) screen and exits with it:
    # tmux's own #{pane_dead_status} is not always filled in (e.g. under ASan).
    cmd="$cmd; s=\$?; echo \"[mlwb exit status \$s]\"; exit \$s"
    tm new-session -d -s "$name" -x "$w" -y "$h" "$cmd"
}

SESSION=main
SCREEN=
snap() { SCREEN=$(tm capture-pane -p -t "$SESSION"); }
keys() { tm send-keys -t "$SESSION" -l "$1"; }       # literal text
key() { tm send-keys -t "$SESSION" "$@"; }           # named keys: Enter, PPage, F1 ...
typeln() { keys "$1"; key Enter; }
squeeze() { tr -s ' '; }

# wait_until SECONDS PREDICATE...: refresh SCREEN until PREDICATE succeeds.
wait_until() {
    local n=$(( $1 * 10 )); shift
    while :; do
        snap
        "$@" && return 0
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.1
    done
}

# box TITLE: the inside of the box titled TITLE on $SCREEN, one line per row.
box() {
    local title=" $1 " line pre tmp post left=-1 width=0 top=-1 i c
    local -a rows
    mapfile -t rows <<<"$SCREEN"
    for ((i = 0; i < ${#rows[@]}; i++)); do
        line=${rows[i]}
        [[ $line == *"$title"* ]] || continue
        pre=${line%%"$title"*}
        [[ $pre == *[┌+]* ]] || continue
        tmp=${pre%[┌+]*}
        left=${#tmp}
        post=${line:left+1}
        tmp=${post%%[┐+]*}
        width=${#tmp}
        top=$i
        break
    done
    [ $top -ge 0 ] || return 1
    for ((i = top + 1; i < ${#rows[@]}; i++)); do
        c=${rows[i]:left:1}
        [[ $c == [└+] ]] && break
        printf '%s\n' "${rows[i]:left+1:width}"
    done
}

last_line() { printf '%s\n' "$SCREEN" | sed '/^[[:space:]]*$/d' | tail -n 1; }
prompt_shown() { case $(last_line) in "mlwb>"*) return 0 ;; esac; return 1; }
box_has() { box "$1" | squeeze | grep -qF -- "$2"; }
has_box() { box "$1" >/dev/null; }
# after_echo COMMAND TEXT: a log line after the echo of COMMAND contains TEXT.
after_echo() { box Log | squeeze | grep -A3 -F "mlwb> $1" | tail -n +2 | grep -qF -- "$2"; }
has() { case $SCREEN in *"$1"*) return 0 ;; esac; return 1; }
lacks() { ! has "$1"; }

# expect NAME SECONDS PREDICATE...: ok when PREDICATE holds within SECONDS.
expect() {
    local name=$1 secs=$2; shift 2
    if wait_until "$secs" "$@"; then ok "$name"; else
        not_ok "$name" "$* never held; screen was:
$(printf '%s\n' "$SCREEN" | sed 's/[[:space:]]*$//' | sed '/^$/d' | head -40)"
    fi
}

pane() { tm display-message -p -t "$SESSION" "$1" 2>/dev/null; }
pane_dead() { [ "$(pane '#{pane_dead}')" = 1 ]; }
exit_status_0() { has "[mlwb exit status 0]" || [ "$(pane '#{pane_dead_status}')" = 0 ]; }
size_is() { [ "$(pane '#{pane_width}x#{pane_height}')" = "$1" ]; }

# ---- start-up ------------------------------------------------------------------------
start main 120 40 || { not_ok start "tmux new-session failed"; exit 1; }
expect prompt 10 prompt_shown
expect title_bar 2 eval 'printf "%s\n" "$SCREEN" | head -n 1 | grep -q "mlwb.*$SCRATCH/main.db"'
for p in Data Model Server Jobs Log; do
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
expect too_small 5 has "terminal too small: need at least 60x16"
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
