#!/bin/sh
# run-valgrind.sh BUILD — the golden script tests (run-scripts.sh) with mlwb under
# valgrind memcheck: each script must still give its expected output and status, and
# valgrind must report nothing (no invalid read or write, no use of uninitialised
# memory, no definite leak).  Prints "ok valgrind.NAME" / "not ok valgrind.NAME: why"
# into BUILD/results/valgrind.txt and the total on its last line.
build=$1
top=$(pwd)
out=$build/results/valgrind.txt
logs=$top/$build/results/valgrind-logs
command -v valgrind >/dev/null 2>&1 || { echo "not ok valgrind: valgrind is not installed"; exit 1; }
rm -rf "$logs" && mkdir -p "$logs"
: > "$out"
echo "== script tests under valgrind memcheck"
VG_MLWB=${MLWB:-$top/mlwb} VG_LOGS=$logs MLWB=$top/tests/tools/valgrind-mlwb.sh \
    OPENBLAS_NUM_THREADS=1 sh tests/tools/run-scripts.sh "$build" > "$logs/run.txt" 2>&1
# Each script must end with its expected exit status.  Its output is compared too, but a
# difference is only noted: valgrind computes long double as double, so a figure summed
# in long double (GSL's means) may differ in its last digits.
while read -r line; do
    case $line in
        "not ok script."*": exit status"*)
            echo "$line" | sed 's/^not ok script\./not ok valgrind.status./' >> "$out" ;;
        "not ok script."*)
            n=${line#not ok script.}; n=${n%%:*}
            echo "ok valgrind.status.$n # output differs (valgrind's double-precision long double)" >> "$out" ;;
        "ok script."*)
            echo "ok valgrind.status.${line#ok script.}" >> "$out" ;;
    esac
done < "$build/results/scripts.txt"
for t in tests/scripts/*.mlwb; do
    name=$(basename "$t" .mlwb)
    bad=""
    for l in "$logs/$name".*.log; do
        [ -f "$l" ] || continue
        [ -s "$l" ] && bad="$bad $(basename "$l")"
    done
    if [ -z "$(ls "$logs/$name".*.log 2>/dev/null)" ]; then
        echo "not ok valgrind.memcheck.$name: valgrind wrote no report (did it run?)" >> "$out"
    elif [ -n "$bad" ]; then
        echo "not ok valgrind.memcheck.$name: see$bad in $logs" >> "$out"
        for l in $bad; do head -30 "$logs/$l" | sed 's/^/    /'; done
    else
        echo "ok valgrind.memcheck.$name" >> "$out"
    fi
done
grep '^not ok' "$out" | sed 's/^/  /'
p=$(grep -c '^ok' "$out"); f=$(grep -c '^not ok' "$out")
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
