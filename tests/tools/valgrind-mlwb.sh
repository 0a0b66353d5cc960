#!/bin/sh
# valgrind-mlwb.sh ARGS... — run $VG_MLWB (the real binary) under valgrind memcheck, for
# run-valgrind.sh.  Its report goes to $VG_LOGS/NAME.PID.log, NAME being the script run
# with -f (or "mlwb"); an empty report means no memory error and no definite leak.
name=mlwb
prev=
for a in "$@"; do
    [ "$prev" = -f ] && name=$(basename "$a" .mlwb)
    prev=$a
done
exec valgrind --quiet --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --error-exitcode=99 --track-origins=yes \
    --log-file="$VG_LOGS/$name.%p.log" "$VG_MLWB" "$@"
