# lib_tmux.bash — drive the full-screen workbench through a private tmux server.  Source it
# from a tests/tui/test_*.sh script (after tests/tools/lib.sh and `scratch`); it is not
# named *.sh, so the tier runner (tests/tui/*.sh) does not run it as a test.
#
# mlwb runs in detached tmux sessions on their own server socket (-L, killed at the end;
# no user tmux.conf; no status line, so the pane is exactly the window size).  Keys go in
# with send-keys; every check reads the screen back with capture-pane.  Each session gets
# a fresh store (--db) and XDG_STATE_HOME under the scratch directory, so the readline
# history of the tests never lands in the user's home.
#
# Panels are read by their box: box TITLE prints the inside of the box whose top border
# carries " TITLE ", found from its corners, so checks do not depend on exact columns.
# Bash substrings count characters in a UTF-8 locale, hence LC_ALL below.

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
cat > "$SCRATCH/tmux.conf" <<'CONF'
set -g status off
set -g remain-on-exit on
set -g default-terminal screen
CONF

# start SESSION WIDTH HEIGHT [OPTION...]: mlwb on a fresh store in a new detached session.
# START_UNSET (names, e.g. "HOME XDG_STATE_HOME") are removed from its environment and
# START_ENV (NAME=VALUE words, e.g. "LC_ALL=C") added to it.
START_UNSET=
START_ENV=
start() {
    local cmd name=$1 w=$2 h=$3 v env=env xdg=1
    shift 3
    for v in $START_UNSET; do
        env="$env -u $v"
        [ "$v" = XDG_STATE_HOME ] && xdg=
    done
    env="$env LC_ALL=C.UTF-8"
    [ -n "$xdg" ] && env="$env XDG_STATE_HOME=$(printf %q "$SCRATCH/state")"
    cmd=$(printf 'cd %q && %s %s %q --db %q' "$SCRATCH" "$env" "$START_ENV" "$MLWB" \
        "$SCRATCH/$name.db")
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
# box_top TITLE: the top border of the box titled TITLE, corner to corner (the title,
# the focus mark before it, the note after it).
box_top() {
    local title=" $1 " line pre tmp post left
    while IFS= read -r line; do
        [[ $line == *"$title"* ]] || continue
        pre=${line%%"$title"*}
        [[ $pre == *[┌+]* ]] || continue
        tmp=${pre%[┌+]*}
        left=${#tmp}
        post=${line:left+1}
        tmp=${post%%[┐+]*}
        printf '%s\n' "${line:left:${#tmp}+2}"
        return 0
    done <<<"$SCREEN"
    return 1
}
# box_width TITLE: the inner width of the box, in characters.
box_width() {
    local l
    l=$(box "$1" | head -n 1)
    echo "${#l}"
}
# braille_in TEXT: TEXT holds a braille cell (U+2801..U+28FF, UTF-8 e2 a0..a3 xx).
braille_in() { printf '%s' "$1" | LC_ALL=C grep -q $'\xe2[\xa0-\xa3]'; }
# braille_count TEXT: how many braille cells TEXT holds.
braille_count() { printf '%s' "$1" | LC_ALL=C grep -o $'\xe2[\xa0-\xa3][\x80-\xbf]' | wc -l; }

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
