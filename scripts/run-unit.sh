#!/bin/sh
# Run the Criterion unit test binaries given as arguments, from the repo
# root (tests read ../shared/corpus).  VALGRIND=1 runs each under memcheck.
# Prints one closing line "N passed, N failed" over all binaries.
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0
for t in "$@"; do
    if [ "${VALGRIND:-0}" = 1 ]; then
        # Criterion runs each test in a child process, whose valgrind errors
        # never reach the runner's exit code: read every child's log.
        vgdir=$(mktemp -d)
        out=$(AT_UNDER_VALGRIND=1 valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
            --trace-children=yes --trace-children-skip='*/localedef' \
            --log-file="$vgdir/vg.%p" "$t" --jobs=2 2>&1)
        rc=$?
        # (-q prints no summaries: a leak shows as its loss record)
        if grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost|Invalid (read|write|free)|uninitialised|Mismatched free' \
                "$vgdir"/vg.* >/dev/null 2>&1; then
            cat "$vgdir"/vg.* | grep -v '^==[0-9]*== *$' | head -n 60
            echo "valgrind found errors in $t"
            rc=98
        fi
        rm -rf "$vgdir"
    else
        out=$("$t" --jobs=2 2>&1)
        rc=$?
    fi
    syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
    n_pass=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    n_fail=$(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    n_crash=$(printf '%s' "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    pass=$((pass + ${n_pass:-0}))
    fail=$((fail + ${n_fail:-0} + ${n_crash:-0}))
    if [ $rc -ne 0 ] || [ -z "$syn" ]; then
        printf '%s\n' "$out" | tail -n 40
        echo "FAILED: $t (exit $rc)"
        [ -z "$syn" ] && fail=$((fail + 1))
        [ "${n_fail:-0}${n_crash:-0}" = "00" ] && [ $rc -ne 0 ] && fail=$((fail + 1))
    else
        echo "ok: $t: $syn"
    fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
