"""An agent's loop: N chat completions on one kept-alive http.client
connection, each answered with a tool call whose result goes into the next
request, the conversation growing to a window of the last WINDOW turns
(as agents trim their context), with a system prompt and a tool
definition.  The request bodies are what the official SDKs send (json.dumps
with its default separators and ASCII escapes); the server answers every
request with the same tool call."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_client import HEADERS, connect  # noqa: E402

WINDOW = 24

def main():
    scheme, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    hdrs = HEADERS
    conn = connect(scheme, host, port)
    system = {"role": "system", "content": "You are a careful research assistant. " * 40}
    tools = [{"type": "function", "function": {
        "name": "search", "description": "Search the document store.",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string"}, "top_k": {"type": "integer", "minimum": 1}},
            "required": ["query"]}}}]
    turns = [[{"role": "user", "content": "Find what the report says about caf\u00e9 prices."}]]
    for i in range(n):
        msgs = [system] + [m for t in turns[-WINDOW:] for m in t]
        body = json.dumps({"model": "gpt-4o-mini", "messages": msgs, "tools": tools})
        conn.request("POST", "/agent/v1/chat/completions", body, hdrs)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or not data:
            sys.exit("bad response %d" % r.status)
        call = json.loads(data)["choices"][0]["message"]["tool_calls"][0]
        result = {"hits": [{"doc": "report-%d" % i, "score": 0.87,
                            "text": "Prices rose \"sharply\" in Q%d; see table 4.\n" % (i % 4 + 1) * 3}]}
        turns.append([{"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}])
    conn.close()

main()
