#!/bin/sh
# Real clients under valgrind memcheck with the shim preloaded, against the
# mock server over TLS: the shim's hooks, ring, sink thread and exit path
# inside a host process.  Prints "valgrind-clients: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
SHIM="$PWD/$BUILD/libagenttrace.so"
WORK=$(mktemp -d)
trap 'kill "$MOCK" 2>/dev/null; rm -rf "$WORK"' EXIT INT TERM
/usr/bin/python3 scripts/mock_llm.py --tls --port 0 --cert-dir "$WORK" \
    --port-file "$WORK/port" 2>/dev/null &
MOCK=$!
i=0
while [ ! -s "$WORK/port" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "mock did not start"; exit 1; }
    sleep 0.1
done
URL="https://127.0.0.1:$(cat "$WORK/port")"
BODY='{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"valgrind"}]}'
pass=0
fail=0
check() {  # name, command...
    name=$1
    shift
    rm -f "$WORK/spans.jsonl" "$WORK"/vg.*
    AGENTTRACE_OUTPUT="$WORK/spans.jsonl" valgrind -q --leak-check=no \
        --trace-children=yes --log-file="$WORK/vg.%p" \
        --soname-synonyms=somalloc=NONE "$@" >/dev/null 2>"$WORK/err"
    rc=$?
    if [ $rc -eq 0 ] && ! grep -q -E 'Invalid|uninitialised|ERROR SUMMARY: [1-9]' \
            "$WORK"/vg.* 2>/dev/null && grep -q '"chat gpt-4o-mini"' \
            "$WORK/spans.jsonl" 2>/dev/null; then
        pass=$((pass + 1))
        echo "ok: $name"
    else
        fail=$((fail + 1))
        echo "FAILED: $name (exit $rc)"
        cat "$WORK"/vg.* "$WORK/err" 2>/dev/null | head -40
    fi
}
export LD_PRELOAD="$SHIM"
check "curl (OpenSSL layer)" curl -s -N --http1.1 --cacert "$WORK/cert.pem" \
    "$URL/mock/gzip,chunked/v1/chat/completions" -d "$BODY"
check "curl (libcurl layer, AGENTTRACE_LIBCURL=layer)" \
    env AGENTTRACE_LIBCURL=layer curl -s -N --http1.1 \
    --cacert "$WORK/cert.pem" "$URL/mock/gzip,chunked/v1/chat/completions" \
    -d "$BODY"
if [ -x "$BUILD/curl-gnutls-client" ]; then
    check "libcurl-gnutls client (libcurl layer)" \
        "$BUILD/curl-gnutls-client" multi \
        "$URL/mock/gzip,chunked/v1/chat/completions" "$WORK/cert.pem" "$BODY"
fi
check "python requests (OpenSSL layer)" /usr/bin/python3 -c "
import requests, sys
r = requests.post(sys.argv[1], data=sys.argv[2], verify=sys.argv[3],
                  stream=True, headers={'Content-Type': 'application/json'})
print(sum(len(c) for c in r.iter_content(1024)))" \
    "$URL/v1/chat/completions" "$BODY" "$WORK/cert.pem"
check "example agent (tool loop)" env OPENAI_BASE_URL="$URL/v1" \
    AGENT_CA_FILE="$WORK/cert.pem" "$BUILD/agenttrace-agent"
unset LD_PRELOAD
echo "valgrind-clients: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
