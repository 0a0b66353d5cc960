#!/bin/sh
# summary.sh BUILD — count every tier's result lines; the last line is the total,
# "N passed, N failed"; exits 1 when anything failed or nothing ran.
build=$1
pass=0
fail=0
for f in "$build"/results/*.txt; do
    [ -f "$f" ] || continue
    p=$(grep -c '^ok ' "$f")
    n=$(grep -c '^not ok ' "$f")
    printf '  %-10s %4d passed, %d failed\n' "$(basename "$f" .txt)" "$p" "$n"
    pass=$((pass + p))
    fail=$((fail + n))
done
if [ "$fail" -gt 0 ]; then
    echo "failures:"
    grep -h '^not ok ' "$build"/results/*.txt | sed 's/^/  /'
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
