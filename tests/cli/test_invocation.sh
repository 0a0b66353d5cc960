#!/bin/bash
# test_invocation.sh — how mlwb is started: options, the three script sources, exit
# status, --json, --bail, and a store that brings the workbench back when reopened.
. tests/tools/lib.sh
scratch
db=$SCRATCH/t.db

out=$($MLWB --version); check_contains version "$out" "mlwb "
out=$($MLWB --help); check_contains help-usage "$out" "usage: mlwb"
$MLWB --frobnicate 2>"$SCRATCH/err"; check_eq bad-option-status $? 2
check_contains bad-option-message "$(cat "$SCRATCH/err")" "unknown option '--frobnicate'"
$MLWB -f "$SCRATCH/nosuch.mlwb" 2>"$SCRATCH/err"; check_eq missing-script-status $? 2
check_contains missing-script-message "$(cat "$SCRATCH/err")" "nosuch.mlwb: cannot open: No such file or directory"
$MLWB -c 'help' -f x 2>/dev/null; check_eq c-and-f-status $? 2
$MLWB --db "$db" serve --listen 127.0.0.1:1 2>"$SCRATCH/err"; check_eq role-not-first-status $? 2
check_contains role-not-first-message "$(cat "$SCRATCH/err")" "'serve' is a role: give it first"
$MLWB help 2>"$SCRATCH/err"; check_eq stray-word-status $? 2
check_contains stray-word-message "$(cat "$SCRATCH/err")" "unexpected 'help' (commands go in -c"

# The issue's own examples.
last=$($MLWB --db "$db" --json -c 'load sample iris; train knn k=5; predict 5.1 3.5 1.4 0.2' | tail -1)
check_eq json-predict-label "$(echo "$last" | sed -n 's/.*"label":"\([a-z]*\)".*/\1/p')" setosa
check_contains json-predict-id "$last" '"id":'
out=$(printf 'load sample iris\ntrain knn k=3\npredict 6.7 3.0 5.2 2.3\n' | $MLWB --db "$SCRATCH/stdin.db")
check_eq stdin-status $? 0
check_contains stdin-virginica "$out" virginica
$MLWB --db "$db" -c 'load csv nosuch.csv' 2>"$SCRATCH/err"; check_eq missing-csv-status $? 1
check_eq missing-csv-message "$(cat "$SCRATCH/err")" "load: nosuch.csv: cannot open: No such file or directory"

# Errors on stdin carry <stdin>:LINE; the session goes on after an error.
out=$(printf 'data\nfrobnicate\nmodels\n' | $MLWB --db "$db" 2>"$SCRATCH/err")
check_eq stdin-error-status $? 1
check_eq stdin-error-message "$(cat "$SCRATCH/err")" "<stdin>:2: unknown command 'frobnicate' (try 'help')"
check_contains stdin-goes-on "$out" "* 1 "

# --bail stops at the first failure.
out=$($MLWB --db "$SCRATCH/bail.db" --bail -c 'frobnicate
load sample iris' 2>/dev/null)
check_eq bail-status $? 1
check_eq bail-stopped "$out" ""

# --json errors are objects on stderr with the command, file and line.
printf 'load sample iris\nload csv nope.csv\n' > "$SCRATCH/s.mlwb"
$MLWB --db "$SCRATCH/j.db" --json -f "$SCRATCH/s.mlwb" >/dev/null 2>"$SCRATCH/err"
check_eq json-error-object "$(cat "$SCRATCH/err")" \
    "{\"error\":\"nope.csv: cannot open: No such file or directory\",\"command\":\"load\",\"file\":\"$SCRATCH/s.mlwb\",\"line\":2}"

# -c may repeat: the commands run in the order given.
out=$($MLWB --db "$SCRATCH/c.db" -c 'load sample iris' -c 'train knn k=3; models' 2>&1)
check_contains repeated-c-load "$out" "data v1 loaded: 150 rows"
check_contains repeated-c-train "$out" "model v1: knn k=3"

# Reopening the store brings back the data set and the active model.
$MLWB --db "$SCRATCH/p.db" -c 'load sample iris; train knn k=7; train knn k=9; use 1' >/dev/null
out=$($MLWB --db "$SCRATCH/p.db" -c 'data; models; predict 5.9 3.0 4.2 1.5')
check_contains reopen-data "$out" "data v1: sample iris"
check_contains reopen-active "$out" "* 1        knn"
check_contains reopen-predict "$out" "versicolor  (confidence 1.00, model v1"

# A file that is not a store is refused, and left alone.
echo "hello" > "$SCRATCH/not.db"
$MLWB --db "$SCRATCH/not.db" -c 'data' 2>"$SCRATCH/err"; check_eq not-a-store-status $? 1
check_contains not-a-store-message "$(cat "$SCRATCH/err")" "not.db: not an mlwb store"
check_eq not-a-store-untouched "$(cat "$SCRATCH/not.db")" hello

# A value so far from the training data that the distances would overflow (inf) is
# refused by predict, explain and predict file=, named; nearer ones are answered.
printf 'sepal_length,sepal_width,petal_length,petal_width\n5,3,1,0.2\n0,2e38,0,0\n' > "$SCRATCH/far.csv"
$MLWB --db "$db" -c 'predict 0 2e38 0 0' 2>"$SCRATCH/err"; check_eq far-predict-status $? 1
check_contains far-predict-message "$(cat "$SCRATCH/err")" "argument 2 ('2e38'): 2e+38 is too far from the training data"
$MLWB --db "$db" -c 'explain 1 2 3 -1e20' 2>"$SCRATCH/err"; check_eq far-explain-status $? 1
check_contains far-explain-message "$(cat "$SCRATCH/err")" "argument 4 ('-1e20'): -1e+20 is too far"
$MLWB --db "$db" -c "predict file=$SCRATCH/far.csv" 2>"$SCRATCH/err"; check_eq far-file-status $? 1
check_contains far-file-message "$(cat "$SCRATCH/err")" "far.csv: data row 2, column 'sepal_width': 2e+38 is too far"
out=$($MLWB --db "$db" -c 'explain 0 2e14 0 0' 2>&1); check_eq far-but-finite-status $? 0
case $out in *inf*|*nan*) not_ok far-but-finite-no-inf "$out" ;; *) ok far-but-finite-no-inf ;; esac
