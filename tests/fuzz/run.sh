#!/bin/sh
# tests/fuzz/run.sh — runs the libFuzzer targets one after the other (see fuzz.mk).
#
#   run.sh fuzz BUILD SECONDS "OPTS" TARGET:MAXLEN ...
#       fuzz each target SECONDS; new inputs go to BUILD/corpus-new/TARGET (the repo
#       corpus tests/fuzz/corpus/TARGET is read, never written), crashes to
#       BUILD/artifacts/TARGET/; a table to stdout and BUILD/fuzz-summary.txt.
#   run.sh ci BUILD SECONDS "OPTS" TARGET:MAXLEN ...
#       replay every corpus file once (ok/not ok fuzz.TARGET.replay), then fuzz
#       briefly as above (ok/not ok fuzz.TARGET.fuzz); "N passed, M failed"; exit 1 on
#       a failure.
#
# Per-target extra options come from FUZZ_EXTRA_<target> in the environment (fuzz.mk
# sets FUZZ_EXTRA_model=-malloc_limit_mb=64: a blob of 64 KiB must not make the reader
# allocate more).
set -u
mode=$1 build=$2 secs=$3 opts=$4
shift 4
corpus=tests/fuzz/corpus
summary=$build/fuzz-summary.txt
pass=0 fail=0 any_crash=0
mkdir -p "$build/logs"

if [ "$mode" = fuzz ]; then
    printf '%-10s %10s %8s %6s %7s %8s  %s\n' target execs exec/s secs corpus new result \
        | tee "$summary"
fi

for spec in "$@"; do
    t=${spec%%:*} maxlen=${spec#*:}
    bin=$build/fuzz_$t
    new=$build/corpus-new/$t
    art=$build/artifacts/$t/
    extra=$(eval "printf '%s' \"\${FUZZ_EXTRA_$t:-}\"")
    mkdir -p "$new" "$art" "$corpus/$t"

    if [ "$mode" = ci ]; then
        log=$build/logs/$t.replay.log
        # -runs=0 over the directory: every file is executed once, nothing is written
        # shellcheck disable=SC2086
        if "$bin" $opts $extra -max_len="$maxlen" -artifact_prefix="$art" -runs=0 \
            "$corpus/$t" >"$log" 2>&1; then
            n=$(find "$corpus/$t" -type f | wc -l)
            echo "ok fuzz.$t.replay ($n inputs)"
            pass=$((pass + 1))
        else
            why=$(grep -m1 -E 'ERROR|invariant failed|runtime error|SUMMARY' "$log" | cut -c1-160)
            echo "not ok fuzz.$t.replay: ${why:-exit status}; see $log"
            fail=$((fail + 1))
        fi
    fi

    log=$build/logs/$t.fuzz.log
    before=$(find "$new" -type f | wc -l)
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$bin" $opts $extra -max_len="$maxlen" -max_total_time="$secs" -artifact_prefix="$art" \
        "$new" "$corpus/$t" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    after=$(find "$new" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    size=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p')
    if [ "$rc" = 0 ]; then
        result=ok
    else
        result="CRASH (exit $rc): $(ls -t "$art" 2>/dev/null | head -1)"
        any_crash=1
    fi
    if [ "$mode" = fuzz ]; then
        printf '%-10s %10s %8s %6s %7s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$took" \
            "${size:-?}" "+$((after - before))" "$result" | tee -a "$summary"
    elif [ "$rc" = 0 ]; then
        echo "ok fuzz.$t.fuzz (${execs:-?} runs, ${rate:-?}/s, ${took}s)"
        pass=$((pass + 1))
    else
        why=$(grep -m1 -E 'ERROR|invariant failed|runtime error|SUMMARY' "$log" | cut -c1-160)
        echo "not ok fuzz.$t.fuzz: ${why:-exit $rc}; input in $art; see $log"
        fail=$((fail + 1))
    fi
done

if [ "$mode" = ci ]; then
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
else
    echo "summary in $summary; logs in $build/logs/"
    [ "$any_crash" = 0 ]
fi
