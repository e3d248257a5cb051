#!/bin/sh
# The main job, end to end: start the mock LLM server over HTTPS (with a
# certificate made now), run the example agent under the shim, show the
# trace it left.  Usage: scripts/demo.sh BUILD_DIR
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WORK=$(mktemp -d)
trap 'kill "$MOCK" 2>/dev/null; rm -rf "$WORK"' EXIT INT TERM
/usr/bin/python3 scripts/mock_llm.py --tls --port 0 --cert-dir "$WORK" \
    --port-file "$WORK/port" &
MOCK=$!
i=0
while [ ! -s "$WORK/port" ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "mock server did not start" >&2; exit 1; }
    sleep 0.1
done
PORT=$(cat "$WORK/port")
rm -f agenttrace.jsonl
echo "== the example agent, under LD_PRELOAD=$BUILD/libagenttrace.so"
LD_PRELOAD="$PWD/$BUILD/libagenttrace.so" \
    OPENAI_BASE_URL="https://127.0.0.1:$PORT/v1" \
    AGENT_CA_FILE="$WORK/cert.pem" \
    "$BUILD/agenttrace-agent"
echo
echo "== its trace: $(wc -l < agenttrace.jsonl) spans in ./agenttrace.jsonl"
"$BUILD/agenttrace" tree agenttrace.jsonl
