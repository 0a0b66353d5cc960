#!/bin/sh
# run-unit.sh BUILD BIN... — run the cmocka unit tests; one result line per test case
# goes to BUILD/results/unit.txt ("ok NAME" / "not ok NAME").
build=$1; shift
out=$build/results/unit.txt
: > "$out"
echo "== unit tests (cmocka)"
for bin in "$@"; do
    name=$(basename "$bin")
    log=$build/results/$name.log
    "$bin" > "$log" 2>&1
    rc=$?
    # cmocka prints "[       OK ] test" and "[  FAILED  ] test" per case
    sed -n -e "s/^\[       OK \] \(.*\)/ok $name.\1/p" \
           -e "s/^\[  FAILED  \] \([a-z_0-9]*\)$/not ok $name.\1/p" "$log" | sort -u >> "$out"
    if [ $rc -ne 0 ] && ! grep -q "^not ok $name" "$out"; then
        echo "not ok $name: exited with status $rc" >> "$out"
    fi
    if [ $rc -ne 0 ]; then
        echo "  $name: FAILED (log: $log)"
        grep -E '^\[  (FAILED|ERROR) ' "$log" | sed 's/^/    /'
        tail -5 "$log" | sed 's/^/    /'
    else
        echo "  $name: $(grep -E '^\[  PASSED  \]' "$log")"
    fi
done
