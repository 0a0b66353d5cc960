#!/usr/bin/env bash
# tui_run.sh — what the full-screen workbench costs when idle, and how fast it echoes a
# key while training saturates the cores.  Run from the top of the tree after `make`:
#     bash tests/bench/tui_run.sh
# Results go to stdout (a small table); docs/BENCHMARKS.md records them.
#
# mlwb runs in a detached tmux session on a private server socket (120x40, TERM=screen,
# a scratch store and XDG_STATE_HOME), started with `exec` so that the pane's process is
# mlwb itself.
#
# (a) Idle CPU: utime + stime of the whole mlwb process (every thread: the UI, the idle
#     job workers, the scheduler, the prediction-log writer, the listener's threads),
#     from /proc/PID/stat, over IDLE seconds (default 30), and the UI thread's own share
#     from /proc/PID/task/PID/stat:
#       - after `load sample iris` and `train knn k=auto`, nothing running;
#       - the same with an idle `serve 127.0.0.1:0` listener (the UI samples its counters).
# (b) Key latency: the time from `tmux send-keys -l C` (one character) to the character
#     appearing on the prompt line in `capture-pane` (only the last row is captured,
#     polled every ~1 ms; bash's $EPOCHREALTIME), for KEYS keys (default 20), one every
#     ~150 ms:
#       - with nothing running;
#       - while two jobs on `load synth blobs n=300000 d=16 classes=6 seed=1` keep every
#         core busy: `train kmeans kmin=2 kmax=40` and `tune knn kmax=30` (each job's
#         data-parallel loops use every core; the process's CPU use over the measurement
#         is printed, in cores).  Both are cancelled afterwards.
#     The figure includes tmux's own delay (send-keys → pane → capture), which is the
#     same with or without the training: compare the two rows.
#
# Environment: MLWB (./mlwb), IDLE (30), KEYS (20).
set -u

MLWB=${MLWB:-./mlwb}
IDLE=${IDLE:-30}
KEYS=${KEYS:-20}
case $MLWB in /*) ;; *) MLWB=$PWD/$MLWB ;; esac
[ -x "$MLWB" ] || { echo "tui_run: no executable at $MLWB (run make)" >&2; exit 1; }
command -v tmux >/dev/null || { echo "tui_run: tmux is not installed" >&2; exit 1; }
[ -n "${EPOCHREALTIME:-}" ] || { echo "tui_run: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-tuibench.XXXXXX")
SOCK=mlwbbench$$
W=120
H=40
tm() { tmux -L "$SOCK" -f "$SCRATCH/tmux.conf" "$@"; }
cleanup() {
    tm kill-server >/dev/null 2>&1
    if [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null
    fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
cat > "$SCRATCH/tmux.conf" <<'EOF'
set -g status off
set -g default-terminal screen
EOF
export LC_ALL=C.UTF-8
HZ=$(getconf CLK_TCK)

# ticks PID [TID]: utime + stime (clock ticks) of the process, or of one of its threads
ticks() {
    local f=/proc/$1/stat
    [ $# -gt 1 ] && f=/proc/$1/task/$2/stat
    # the fields after the command name (which may hold spaces) start at field 3
    sed 's/^.*) //' "$f" | awk '{ print $12 + $13 }'
}

last_row() { tm capture-pane -p -t bench -S $((H - 1)) -E $((H - 1)); }
screen() { tm capture-pane -p -t bench; }
typeln() { tm send-keys -t bench -l "$1"; tm send-keys -t bench Enter; }
# wait_for SECONDS TEXT: until TEXT is on the screen
wait_for() {
    local n=$(( $1 * 10 ))
    while [ $n -gt 0 ]; do
        case $(screen) in *"$2"*) return 0 ;; esac
        sleep 0.1
        n=$((n - 1))
    done
    echo "tui_run: timed out waiting for '$2'; the screen:" >&2
    screen >&2
    return 1
}

# cpu_idle SECONDS: the process's and the UI thread's CPU use in % of one core
cpu_idle() {
    local p0 t0 p1 t1 w0 w1
    sleep 2  # let the last redraws settle
    p0=$(ticks "$PID"); t0=$(ticks "$PID" "$PID"); w0=$EPOCHREALTIME
    sleep "$1"
    p1=$(ticks "$PID"); t1=$(ticks "$PID" "$PID"); w1=$EPOCHREALTIME
    awk -v p=$((p1 - p0)) -v t=$((t1 - t0)) -v hz="$HZ" -v w0="$w0" -v w1="$w1" \
        'BEGIN { s = w1 - w0; printf "%.2f %.2f", 100 * p / hz / s, 100 * t / hz / s }'
}

# key_latency: KEYS keys typed one by one; prints the latencies in ms, one per line
key_latency() {
    local chars=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ typed="" c i t0 t1 row
    for ((i = 0; i < KEYS; i++)); do
        c=${chars:i % ${#chars}:1}
        typed+=$c
        t0=$EPOCHREALTIME
        tm send-keys -t bench -l "$c"
        while :; do
            row=$(last_row)
            case $row in *"mlwb> $typed"*) break ;; esac
            t1=$EPOCHREALTIME
            awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a > 5) }' && {
                echo "tui_run: key '$c' never appeared" >&2
                break
            }
            sleep 0.001
        done
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'
        sleep 0.15
    done
    tm send-keys -t bench C-u
}

# cpu_total: busy and total jiffies of the whole machine (/proc/stat)
cpu_total() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# summary: median and max of the numbers on stdin
summary() {
    sort -n | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.1f %.1f", m, v[NR] }'
}

# ---- start ------------------------------------------------------------------------------
tm new-session -d -s bench -x $W -y $H \
    "cd $(printf %q "$SCRATCH") && exec env XDG_STATE_HOME=$(printf %q "$SCRATCH/state") \
     $(printf %q "$MLWB") --db $(printf %q "$SCRATCH/b.db")"
PID=$(tm display-message -p -t bench '#{pane_pid}')
wait_for 10 "mlwb>" || exit 1
typeln 'load sample iris'
wait_for 10 "150 rows" || exit 1
typeln 'train knn k=auto'
wait_for 20 "1 (active)" || exit 1

echo "measuring idle CPU over ${IDLE}s (nothing running) ..." >&2
read -r idle_proc idle_ui <<<"$(cpu_idle "$IDLE")"
typeln 'serve 127.0.0.1:0'
wait_for 10 "http://127.0.0.1:" || exit 1
echo "measuring idle CPU over ${IDLE}s (idle listener) ..." >&2
read -r serve_proc serve_ui <<<"$(cpu_idle "$IDLE")"
typeln 'serve stop'
wait_for 10 "not serving" || exit 1

echo "measuring key latency, nothing running ..." >&2
read -r idle_med idle_max <<<"$(key_latency | summary)"

typeln 'load synth blobs n=300000 d=16 classes=6 seed=1'
wait_for 60 "300000 rows" || exit 1
typeln 'train kmeans kmin=2 kmax=40'
wait_for 30 "(running)" || exit 1
typeln 'tune knn kmax=30'
wait_for 30 "Jobs (2)" || exit 1
sleep 2
echo "measuring key latency while training ..." >&2
p0=$(ticks "$PID"); w0=$EPOCHREALTIME; read -r m0 a0 <<<"$(cpu_total)"
read -r busy_med busy_max <<<"$(key_latency | summary)"
p1=$(ticks "$PID"); w1=$EPOCHREALTIME; read -r m1 a1 <<<"$(cpu_total)"
machine=$(awk -v b=$((m1 - m0)) -v a=$((a1 - a0)) 'BEGIN { printf "%.0f", a ? 100 * b / a : 0 }')
busy_cores=$(awk -v p=$((p1 - p0)) -v hz="$HZ" -v w0="$w0" -v w1="$w1" \
    'BEGIN { printf "%.2f", p / hz / (w1 - w0) }')
still=$(screen | grep -c "Jobs (2)")

# stop: cancel the jobs, leave
for job in $(screen | grep -oE '#[0-9]+ (train|tune)' | tr -dc '0-9\n'); do
    typeln "cancel $job"
done
typeln 'quit'
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done

cores=$(nproc)
printf '\nmlwb TUI (%s, %dx%d in tmux, %s cores)\n' "$(basename "$MLWB")" $W $H "$cores"
printf '%-48s %s\n' "measure" "result"
printf '%-48s %s\n' "------------------------------------------------" "------------------------------"
printf '%-48s %s%% of a core (UI thread %s%%)\n' "idle CPU, ${IDLE}s, nothing running" "$idle_proc" "$idle_ui"
printf '%-48s %s%% of a core (UI thread %s%%)\n' "idle CPU, ${IDLE}s, idle serve listener" "$serve_proc" "$serve_ui"
printf '%-48s median %s ms, max %s ms\n' "key -> screen, ${KEYS} keys, nothing running" "$idle_med" "$idle_max"
printf '%-48s median %s ms, max %s ms\n' "key -> screen, ${KEYS} keys, training" "$busy_med" "$busy_max"
printf '%-48s mlwb %s cores busy, the machine %s%% busy%s\n' "  (during those keys)" \
    "$busy_cores" "$machine" \
    "$([ "$still" -gt 0 ] && echo ', both still running at the end' || echo ', one FINISHED early')"
