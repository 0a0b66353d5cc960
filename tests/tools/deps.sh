#!/bin/sh
# deps.sh — check the libraries and test tools mlwb needs; install the missing Debian
# packages with apt-get when running as root, else print the command and fail.
# Fast when everything is present (pkg-config and command -v only).
#   sh tests/tools/deps.sh        what building, `make check` and `make run` need
#   sh tests/tools/deps.sh fuzz   that, plus clang and its libFuzzer runtime (make fuzz)
missing=""
need_pc() {  # pkg-config name, Debian package
    pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"
}
need_cmd() {  # command, Debian package
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need_cmd pkg-config pkg-config
need_cmd cc gcc
need_cmd make make
if command -v pkg-config >/dev/null 2>&1; then
    need_pc ncursesw libncurses-dev
    need_pc readline libreadline-dev
    need_pc gsl libgsl-dev
    need_pc sqlite3 libsqlite3-dev
    need_pc libmicrohttpd libmicrohttpd-dev
    need_pc jansson libjansson-dev
    need_pc openblas libopenblas-dev
    need_pc cmocka libcmocka-dev
else
    missing="$missing libncurses-dev libreadline-dev libgsl-dev libsqlite3-dev libmicrohttpd-dev libjansson-dev libopenblas-dev libcmocka-dev"
fi
need_cmd valgrind valgrind
need_cmd tmux tmux
need_cmd curl curl
need_cmd sqlite3 sqlite3
need_cmd jq jq
if [ "${1:-}" = fuzz ]; then
    need_cmd clang clang
    if command -v clang >/dev/null 2>&1; then
        [ -f "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ] ||
            missing="$missing libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
    fi
fi
[ -z "$missing" ] && exit 0
echo "mlwb: missing packages:$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { echo "mlwb: apt-get install failed"; exit 1; }
    echo "mlwb: installed:$missing"
else
    echo "mlwb: install them with: sudo apt-get install$missing"
    exit 1
fi
