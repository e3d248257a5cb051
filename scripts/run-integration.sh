#!/bin/sh
# Run the preload integration tests (tests/integration/test_shim.py and
# tests/integration/test_providers.py) against BUILD_DIR/libagenttrace.so
# and BUILD_DIR/agenttrace-agent.  Builds nothing.
# A BUILD_DIR named build-asan is an ASan+UBSan build: its runtime is
# preloaded before the shim (AT_PRELOAD_EXTRA) with leak detection off, as
# the host programs are not instrumented.  Prints unittest's output, then
# one closing line "integration: N passed, N failed" (both modules
# summed); exits non-zero on any failure.
#
#   scripts/run-integration.sh build
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
build=$1
case "$build" in
    /*) ;;
    *) build=$(cd "$build" 2>/dev/null && pwd) || build="$root/$1" ;;
esac
build=${build%/}
if [ ! -f "$build/libagenttrace.so" ]; then
    echo "no $build/libagenttrace.so (build it first: make)" >&2
    echo "integration: 0 passed, 1 failed"
    exit 1
fi
AT_SHIM="$build/libagenttrace.so"
AT_AGENT="$build/agenttrace-agent"
AT_PRELOAD_EXTRA=
case "$build" in
    *build-asan)
        AT_PRELOAD_EXTRA=$(gcc -print-file-name=libasan.so)
        case "$AT_PRELOAD_EXTRA" in
            /*) ;;
            *) echo "gcc cannot find libasan.so" >&2
               echo "integration: 0 passed, 1 failed"
               exit 1 ;;
        esac ;;
esac
export AT_SHIM AT_AGENT AT_PRELOAD_EXTRA
cd "$root" || exit 1
# Each module prints its own closing line; shown here with the module's
# name, so that the sum below is the only "integration: N passed, N
# failed" line.  A module that prints none (it crashed) counts as one
# failure.
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
passed=0
failed=0
for mod in test_shim test_providers; do
    /usr/bin/python3 "tests/integration/$mod.py" 2>&1 |
        sed -u "s/^integration: /integration ($mod): /" | tee "$tmp"
    line=$(grep "^integration ($mod): [0-9]* passed, [0-9]* failed\$" \
           "$tmp" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$mod: no result line" >&2
        failed=$((failed + 1))
        continue
    fi
    n=${line#*: }
    p=${n%% passed*}
    f=${n#*passed, }
    f=${f%% failed*}
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
