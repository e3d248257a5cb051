#!/bin/sh
# Run the preload integration tests (tests/integration/test_shim.py) against
# BUILD_DIR/libagenttrace.so and BUILD_DIR/agenttrace-agent.  Builds nothing.
# A BUILD_DIR named build-asan is an ASan+UBSan build: its runtime is
# preloaded before the shim (AT_PRELOAD_EXTRA) with leak detection off, as
# the host programs are not instrumented.  Prints unittest's output, then
# one closing line "integration: N passed, N failed"; exits non-zero on any
# failure.
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
exec /usr/bin/python3 tests/integration/test_shim.py
