"""An agent's conversation with one API, growing turn by turn (no
window, as most agents keep it until their context is full): each turn
appends a tool call and its result (json.dumps of the same kind of
result as bench/py_agent.py's: quotes escaped in a string), with a system
prompt and a tool definition in every request; N requests on one
http.client connection against scripts/mock_llm.py.

    py_conv.py API HOST PORT N     API: chat, messages, responses, gemini, ollama
"""
import http.client
import json
import sys

HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-conv",
           "x-api-key": "sk-ant-bench-conv", "anthropic-version": "2023-06-01"}
SYSTEM = "You are a careful research assistant. " * 40
PARAMS = {"type": "object", "properties": {"query": {"type": "string"},
          "top_k": {"type": "integer", "minimum": 1}}, "required": ["query"]}
ASK = "Find what the report says about caf\u00e9 prices."


def result(i):
    return json.dumps({"hits": [{"doc": "report-%d" % i, "score": 0.87,
                       "text": "Prices rose \"sharply\" in Q%d; see table 4.\n" % (i % 4 + 1) * 3}]})


def request(api, turns):
    """(path, body) of the next request, and the turn it appends."""
    i = len(turns)
    args = {"query": "caf\u00e9 prices %d" % i, "top_k": 3}
    if api == "chat":
        body = {"model": "gpt-4o-mini",
                "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASK}]
                + [m for t in turns for m in t],
                "tools": [{"type": "function", "function": {
                    "name": "search", "description": "Search the document store.", "parameters": PARAMS}}]}
        turn = [{"role": "assistant", "content": None, "tool_calls": [{
                    "id": "call_%d" % i, "type": "function",
                    "function": {"name": "search", "arguments": json.dumps(args)}}]},
                {"role": "tool", "tool_call_id": "call_%d" % i, "content": result(i)}]
        return "/v1/chat/completions", body, turn
    if api == "messages":
        body = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": SYSTEM,
                "messages": [{"role": "user", "content": ASK}] + [m for t in turns for m in t],
                "tools": [{"name": "search", "description": "Search the document store.",
                           "input_schema": PARAMS}]}
        turn = [{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_%d" % i,
                                                   "name": "search", "input": args}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_%d" % i,
                                              "content": result(i)}]}]
        return "/v1/messages", body, turn
    if api == "responses":
        body = {"model": "gpt-4.1-mini", "instructions": SYSTEM,
                "input": [{"role": "user", "content": ASK}] + [m for t in turns for m in t],
                "tools": [{"type": "function", "name": "search", "description": "Search the document store.",
                           "parameters": PARAMS}]}
        turn = [{"type": "function_call", "call_id": "call_%d" % i, "name": "search",
                 "arguments": json.dumps(args)},
                {"type": "function_call_output", "call_id": "call_%d" % i, "output": result(i)}]
        return "/v1/responses", body, turn
    if api == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": ASK}]}] + [m for t in turns for m in t],
                "systemInstruction": {"parts": [{"text": SYSTEM}]},
                "tools": [{"functionDeclarations": [{"name": "search", "description": "Search the document store.",
                                                     "parameters": PARAMS}]}]}
        turn = [{"role": "model", "parts": [{"functionCall": {"name": "search", "args": args}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "search",
                                                                 "response": json.loads(result(i))}}]}]
        return "/v1beta/models/gemini-2.5-flash:generateContent", body, turn
    body = {"model": "llama3.2", "stream": False,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASK}]
            + [m for t in turns for m in t],
            "tools": [{"type": "function", "function": {
                "name": "search", "description": "Search the document store.", "parameters": PARAMS}}]}
    turn = [{"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "search", "arguments": args}}]},
            {"role": "tool", "tool_name": "search", "content": result(i)}]
    return "/api/chat", body, turn


def main():
    api, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    conn = http.client.HTTPConnection(host, port)
    turns = []
    for _ in range(n):
        path, body, turn = request(api, turns)
        conn.request("POST", path, json.dumps(body), HEADERS)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit("%s: HTTP %d: %s" % (path, r.status, data[:200]))
        turns.append(turn)
    conn.close()


main()
