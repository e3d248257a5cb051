#!/bin/sh
# Integration tests of the agenttrace inspector against BUILD_DIR's
# agenttrace, libagenttrace.so and agenttrace-agent: installs the test's
# npm packages (tests/cli/package.json, into tests/cli/node_modules) when
# missing, runs tests/cli/test_cli.py, then builds the CLI with ASan and
# UBSan (build-asan/agenttrace) and runs the suite again with it, less the
# browser and valgrind tests.  Builds nothing else.  Exits non-zero on any
# failure; each pass ends with "cli-integration[-asan]: N passed, N failed".
#
#   tests/cli/run.sh build
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
build=$1
case "$build" in
    /*) ;;
    *) build="$root/$build" ;;
esac
build=${build%/}
for f in agenttrace libagenttrace.so agenttrace-agent; do
    if [ ! -f "$build/$f" ]; then
        echo "no $build/$f (build it first: make)" >&2
        echo "cli-integration: 0 passed, 1 failed"
        exit 1
    fi
done
cd "$root/tests/cli" || exit 1
if [ ! -f node_modules/@opentelemetry/otlp-transformer/package.json ] ||
   [ ! -f node_modules/playwright-core/package.json ] ||
   [ package.json -nt node_modules/.package-lock.json ]; then
    echo "installing the test's npm packages (tests/cli/node_modules)"
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    else
        npm install --no-audit --no-fund --loglevel=error
    fi || { echo "npm install failed"; echo "cli-integration: 0 passed, 1 failed"; exit 1; }
fi
cd "$root" || exit 1
rc=0
AT_CLI="$build/agenttrace" AT_SHIM="$build/libagenttrace.so" \
    AT_AGENT="$build/agenttrace-agent" /usr/bin/python3 tests/cli/test_cli.py \
    || rc=1
# The same against the CLI built with AddressSanitizer and UBSan.
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if make --no-print-directory -s BUILD=build-asan OPT=-O1 SAN="$san" \
        build-asan/agenttrace >/dev/null; then
    AT_CLI="$root/build-asan/agenttrace" AT_CLI_SANITIZED=1 \
        AT_SHIM="$build/libagenttrace.so" AT_AGENT="$build/agenttrace-agent" \
        ASAN_OPTIONS=detect_leaks=1 \
        /usr/bin/python3 tests/cli/test_cli.py || rc=1
else
    echo "could not build build-asan/agenttrace"
    echo "cli-integration-asan: 0 passed, 1 failed"
    rc=1
fi
exit $rc
