"""The streamed answers of five APIs, N events each (a text of N pieces
"w0 ", "w1 ", ... and the usage at the end), served over plain HTTP/1.1
to a POST on each API's path, one write per event as a model server
sends them; for make bench's per-event measure (bench.py, `events`).

    stream_server.py N PORT_FILE
"""
import http.server
import json
import socket
import sys

N = int(sys.argv[1])
PIECE = ["w%d " % (i % 10) for i in range(N)]


def sse(data, event=None):
    return ("event: %s\n" % event if event else "") + "data: " + json.dumps(data) + "\n\n"


def chat():
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18"}
    ev = [sse(dict(base, choices=[{"index": 0, "delta": {"content": p}, "finish_reason": None}]))
          for p in PIECE]
    ev.append(sse(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])))
    ev.append(sse(dict(base, choices=[], usage={"prompt_tokens": 12, "completion_tokens": N,
                                                "total_tokens": N + 12})))
    return ev + ["data: [DONE]\n\n"], "text/event-stream"


def messages():
    ev = [sse({"type": "message_start", "message": {
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}},
        "message_start"),
        sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start")]
    ev += [sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
               "content_block_delta") for p in PIECE]
    ev += [sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
           sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": N}}, "message_delta"),
           sse({"type": "message_stop"}, "message_stop")]
    return ev, "text/event-stream"


def responses():
    ev = [sse({"type": "response.created", "sequence_number": 0, "response": {
        "id": "resp_1", "object": "response", "status": "in_progress", "model": "gpt-4.1-mini",
        "output": []}}, "response.created"),
        sse({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
             "item": {"id": "msg_1", "type": "message", "status": "in_progress", "content": [],
                      "role": "assistant"}}, "response.output_item.added")]
    ev += [sse({"type": "response.output_text.delta", "sequence_number": i + 2, "item_id": "msg_1",
                "output_index": 0, "content_index": 0, "delta": p, "logprobs": [],
                "obfuscation": "abcdefghij"[:1 + i % 9]}, "response.output_text.delta")
           for i, p in enumerate(PIECE)]
    ev.append(sse({"type": "response.completed", "sequence_number": N + 2, "response": {
        "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-4.1-mini",
        "output": [{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "".join(PIECE), "annotations": []}]}],
        "usage": {"input_tokens": 12, "output_tokens": N, "total_tokens": N + 12}}},
        "response.completed"))
    return ev, "text/event-stream"


def gemini():
    ev = [sse({"candidates": [{"content": {"parts": [{"text": p}], "role": "model"}, "index": 0}],
               "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
               "modelVersion": "gemini-2.5-flash", "responseId": "r1"}) for p in PIECE]
    ev.append(sse({"candidates": [{"content": {"parts": [{"text": ""}], "role": "model"},
                                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": N,
                                     "totalTokenCount": N + 12},
                   "modelVersion": "gemini-2.5-flash", "responseId": "r1"}))
    return ev, "text/event-stream"


def ollama():
    ev = [json.dumps({"model": "llama3.2", "created_at": "2026-01-01T00:00:00.%06dZ" % i,
                      "message": {"role": "assistant", "content": p}, "done": False}) + "\n"
          for i, p in enumerate(PIECE)]
    ev.append(json.dumps({"model": "llama3.2", "created_at": "2026-01-01T00:00:01Z",
                          "message": {"role": "assistant", "content": ""}, "done": True,
                          "done_reason": "stop", "prompt_eval_count": 12, "eval_count": N}) + "\n")
    return ev, "application/x-ndjson"


STREAMS = {"/v1/chat/completions": chat(), "/v1/messages": messages(),
           "/v1/responses": responses(),
           "/v1beta/models/gemini-2.5-flash:streamGenerateContent": gemini(),
           "/api/chat": ollama()}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        events, ctype = STREAMS[self.path.split("?")[0]]
        body = [e.encode() for e in events]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(sum(len(e) for e in body)))
        self.end_headers()
        self.wfile.flush()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for e in body:
            self.wfile.write(e)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
