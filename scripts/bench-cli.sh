#!/bin/sh
# The agenttrace inspector on large files: generates span files of 100,000
# and 1,000,000 spans (tests/cli/gen_spans.py: agent runs shaped like the
# shim's output, about 1 KB a span) and measures wall time and peak RSS of
# `stats`, `tree` and `export otlp` on them, output to /dev/null.  Prints
# one line per run and a closing summary; exits non-zero when stats' memory
# grows with the file or tree's memory is not below the file's size.
#
#   scripts/bench-cli.sh [BUILD_DIR]        (make bench-cli)
#
# AT_BENCH_SPANS overrides the large size; the files are kept in
# $AT_BENCH_DIR (default: a temporary directory, removed at the end).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in
    /*) ;;
    *) build="$root/$build" ;;
esac
cli="$build/agenttrace"
[ -x "$cli" ] || { echo "no $cli (make first)" >&2; exit 1; }
big=${AT_BENCH_SPANS:-1000000}
small=$((big / 10))
dir=${AT_BENCH_DIR:-}
cleanup=0
if [ -z "$dir" ]; then
    dir=$(mktemp -d)
    cleanup=1
else
    mkdir -p "$dir"
fi
trap '[ $cleanup = 1 ] && rm -rf "$dir"' EXIT INT TERM

gen() {
    [ -s "$dir/spans-$1.jsonl" ] && return 0
    echo "generating $1 spans ..."
    /usr/bin/python3 "$root/tests/cli/gen_spans.py" "$1" "$dir/spans-$1.jsonl"
}

# measure LABEL ARGS...: run the CLI, print "LABEL  N s  N MiB", and set
# $secs and $rss_kb.
measure() {
    label=$1
    shift
    out=$(/usr/bin/python3 - "$cli" "$@" <<'EOF'
import resource, subprocess, sys, time
t = time.monotonic()
with open("/dev/null", "w") as null:
    rc = subprocess.call(sys.argv[1:], stdout=null)
secs = time.monotonic() - t
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("%d %.2f %d" % (rc, secs, kb))
EOF
)
    set -- $out
    [ "$1" = 0 ] || { echo "$label: exit status $1" >&2; exit 1; }
    secs=$2
    rss_kb=$3
    printf '%-34s %8s s %10.1f MiB\n' "$label" "$secs" \
        "$(echo "$rss_kb" | awk '{print $1 / 1024}')"
}

gen "$small"
gen "$big"
size=$(stat -c %s "$dir/spans-$big.jsonl")
printf '%d spans: %.0f MiB; %d spans: %.0f MiB\n' "$small" \
    "$(stat -c %s "$dir/spans-$small.jsonl" | awk '{print $1/1048576}')" \
    "$big" "$(echo "$size" | awk '{print $1/1048576}')"

measure "stats $small spans" stats "$dir/spans-$small.jsonl"
stats_small=$rss_kb
measure "stats $big spans" stats "$dir/spans-$big.jsonl"
stats_big=$rss_kb
stats_secs=$secs
measure "stats --json $big spans" stats --json "$dir/spans-$big.jsonl"
measure "tree $small spans" tree "$dir/spans-$small.jsonl"
measure "tree $big spans" tree "$dir/spans-$big.jsonl"
tree_big=$rss_kb
tree_secs=$secs
measure "export otlp $small spans (stdout)" export otlp "$dir/spans-$small.jsonl"

echo
echo "bench-cli: $big spans ($(echo "$size" | awk '{printf "%.0f", $1/1048576}') MiB):" \
     "stats ${stats_secs} s, $(echo "$stats_big" | awk '{printf "%.1f", $1/1024}') MiB peak;" \
     "tree ${tree_secs} s, $(echo "$tree_big" | awk '{printf "%.1f", $1/1024}') MiB peak"
fail=0
# Streaming: ten times the spans may not cost more than 2 MiB more.
if [ "$stats_big" -gt $((stats_small + 2048)) ]; then
    echo "FAIL: stats memory grows with the file ($stats_small KiB -> $stats_big KiB)"
    fail=1
fi
if [ $((tree_big * 1024)) -ge "$size" ]; then
    echo "FAIL: tree holds more than the file's size"
    fail=1
fi
exit $fail
