#!/bin/sh
# run-shell-tier.sh BUILD TIER — run every tests/TIER/*.sh with bash from the top of the
# tree; each prints "ok NAME" / "not ok NAME: why" lines, collected in
# BUILD/results/TIER.txt.  A script that exits non-zero without reporting a failure
# counts as one failure.
build=$1
tier=$2
out=$build/results/$tier.txt
: > "$out"
echo "== $tier tests"
for t in tests/$tier/*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    log=$build/results/$tier-$name.log
    MLWB=${MLWB:-./mlwb} timeout 300 bash "$t" > "$log" 2>&1
    rc=$?
    grep -E '^(ok|not ok) ' "$log" | sed "s/^\(not ok\|ok\) /\1 $tier.$name./" >> "$out"
    if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
        echo "not ok $tier.$name: exited with status $rc" >> "$out"
    fi
    fails=$(grep -c '^not ok ' "$log")
    oks=$(grep -c '^ok ' "$log")
    if [ "$fails" -gt 0 ] || [ $rc -ne 0 ]; then
        echo "  $name: $oks passed, $fails failed (exit $rc; log: $log)"
        grep '^not ok ' "$log" | head -10 | sed 's/^/    /'
    else
        echo "  $name: $oks passed"
    fi
done
