#!/usr/bin/python3
"""test_mock_llm.py - quick self-test of scripts/mock_llm.py.

Starts the mock twice (plain HTTP and --tls) on free ports and talks to it
with http.client and ssl: every API's plain and streamed answers (OpenAI
Chat Completions, Responses, Completions, Embeddings; Anthropic; Gemini;
Ollama), the tool loop, the behaviour options, corpus replay, the exchange log, and the
example agent (scripts/example_agent.c, built here) over HTTPS.

    /usr/bin/python3 scripts/test_mock_llm.py [-v]
"""

import base64
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MOCK = HERE / "mock_llm.py"
CORPUS = REPO.parent / "shared" / "corpus"

WEATHER_TOOL_OPENAI = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city.",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string"},
                                  "days": {"type": "integer"}},
                   "required": ["city"]}}}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather", "description": "Weather in a city.",
    "input_schema": {"type": "object",
                     "properties": {"city": {"type": "string"}},
                     "required": ["city"]}}
QUESTION = "What is the weather in Paris? Use the tool."


def start_mock(workdir, *extra):
    """Start the mock; returns (Popen, port, stderr path)."""
    port_file = os.path.join(workdir, "port")
    err_path = os.path.join(workdir, "stderr")
    err = open(err_path, "wb")
    proc = subprocess.Popen([sys.executable, str(MOCK), "--port", "0",
                             "--port-file", port_file] + list(extra),
                            stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("mock did not start: " +
                               open(err_path).read())
        time.sleep(0.02)
    with open(port_file) as f:
        port = int(f.read())
    return proc, port, err_path


def sse_events(body):
    """[(event name or None, data string)] of an SSE body."""
    out = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        out.append((name, "\n".join(data)))
    return out


class MockCase(unittest.TestCase):
    tls = False

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="test_mock_llm.")
        extra = ["--tls", "--cert-dir", cls.dir] if cls.tls else []
        cls.proc, cls.port, cls.err = start_mock(cls.dir, *extra)
        cls.ctx = None
        if cls.tls:
            cls.ctx = ssl.create_default_context(
                cafile=os.path.join(cls.dir, "cert.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        try:
            cls.proc.wait(10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        with open(cls.err) as f:
            errors = f.read()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert "Traceback" not in errors, errors
        assert cls.proc.returncode == 0, cls.proc.returncode

    def conn(self, host="127.0.0.1"):
        if self.tls:
            return http.client.HTTPSConnection(host, self.port, timeout=10,
                                               context=self.ctx)
        return http.client.HTTPConnection(host, self.port, timeout=10)

    def call(self, path, body=None, conn=None, method=None, raw=False):
        """One exchange; returns (status, headers, body bytes)."""
        c = conn or self.conn()
        data = body if isinstance(body, bytes) or body is None else \
            json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"} if data else {}
        c.request(method or ("POST" if data is not None else "GET"), path,
                  data, hdrs)
        r = c.getresponse()
        out = r.read()
        if conn is None:
            c.close()
        return r.status, r, out

    def log(self):
        return json.loads(self.call("/mock/log")[2])

    def reset(self):
        self.assertEqual(self.call("/mock/reset", b"")[0], 200)


class PlainTests(MockCase):
    """The formats and options over plain HTTP."""

    def openai_req(self, **kw):
        req = {"model": "gpt-4o-mini", "tools": [WEATHER_TOOL_OPENAI],
               "messages": [{"role": "user", "content": QUESTION}]}
        req.update(kw)
        return req

    def anthropic_req(self, **kw):
        req = {"model": "claude-sonnet-4-5", "max_tokens": 256,
               "tools": [WEATHER_TOOL_ANTHROPIC],
               "messages": [{"role": "user", "content": QUESTION}]}
        req.update(kw)
        return req

    def test_openai_tool_loop(self):
        self.reset()
        st, r, body = self.call("/v1/chat/completions", self.openai_req())
        self.assertEqual(st, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        d = json.loads(body)
        self.assertEqual(d["object"], "chat.completion")
        self.assertEqual(d["id"], "chatcmpl-mock1")
        self.assertEqual(d["model"], "gpt-4o-mini-mock-2025")
        ch = d["choices"][0]
        self.assertEqual(ch["finish_reason"], "tool_calls")
        self.assertIsNone(ch["message"]["content"])
        call = ch["message"]["tool_calls"][0]
        self.assertRegex(call["id"], r"^call_[A-Za-z0-9]{24}$")
        self.assertEqual(call["type"], "function")
        self.assertEqual(call["function"]["name"], "get_weather")
        self.assertEqual(json.loads(call["function"]["arguments"]),
                         {"city": "Paris", "days": 1})
        u = d["usage"]
        self.assertEqual(u["total_tokens"],
                         u["prompt_tokens"] + u["completion_tokens"])
        self.assertEqual(u["prompt_tokens"], 9 + 10)
        self.assertEqual(u["prompt_tokens_details"]["cached_tokens"], 0)
        self.assertEqual(u["completion_tokens_details"]["reasoning_tokens"],
                         0)
        # Second round: the tool result goes back.
        msgs = self.openai_req()["messages"] + [
            ch["message"],
            {"role": "tool", "tool_call_id": call["id"],
             "content": '{"temperature_c":21}'}]
        st, _, body = self.call("/v1/chat/completions",
                                self.openai_req(messages=msgs))
        d2 = json.loads(body)
        self.assertEqual(d2["choices"][0]["finish_reason"], "stop")
        self.assertEqual(d2["choices"][0]["message"]["content"],
                         'Based on the tool result: {"temperature_c":21}')
        log = self.log()
        self.assertEqual(len(log), 2)
        self.assertEqual(log[0]["provider"], "openai")
        self.assertEqual(log[0]["request"], self.openai_req())
        self.assertEqual(log[0]["facts"], {
            "model": "gpt-4o-mini-mock-2025", "id": "chatcmpl-mock1",
            "input_tokens": u["prompt_tokens"],
            "output_tokens": u["completion_tokens"],
            "finish_reasons": ["tool_calls"], "output_text": None,
            "tool_calls": [{"id": call["id"], "name": "get_weather",
                            "arguments": {"city": "Paris", "days": 1}}]})
        self.assertEqual(log[1]["facts"]["output_text"],
                         d2["choices"][0]["message"]["content"])
        self.assertFalse(log[1]["stream"])

    def test_openai_stream(self):
        req = self.openai_req(stream=True,
                              stream_options={"include_usage": True})
        st, r, body = self.call("/v1/chat/completions", req)
        self.assertEqual(st, 200)
        self.assertTrue(r.getheader("Content-Type").startswith(
            "text/event-stream"))
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        evs = sse_events(body)
        self.assertEqual(evs[-1], (None, "[DONE]"))
        chunks = [json.loads(d) for _, d in evs[:-1]]
        self.assertTrue(all(c["object"] == "chat.completion.chunk"
                            for c in chunks))
        self.assertEqual(chunks[0]["choices"][0]["delta"]["role"],
                         "assistant")
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertIn("prompt_tokens", chunks[-1]["usage"])
        frags = [tc for c in chunks[:-1]
                 for tc in c["choices"][0]["delta"].get("tool_calls", [])]
        self.assertGreater(len(frags), 2)
        self.assertIn("id", frags[0])
        self.assertTrue(all("id" not in f and "type" not in f
                            for f in frags[1:]))
        args = "".join(f["function"]["arguments"] for f in frags)
        self.assertEqual(json.loads(args)["city"], "Paris")
        self.assertEqual(chunks[-2]["choices"][0]["finish_reason"],
                         "tool_calls")
        # A text stream, without include_usage: no usage chunk.
        req = self.openai_req(stream=True, tools=None)
        st, r, body = self.call("/v1/chat/completions", req)
        evs = sse_events(body)
        chunks = [json.loads(d) for _, d in evs[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content") or ""
                       for c in chunks)
        self.assertEqual(text, "This is a mock answer to: " + QUESTION)
        self.assertGreater(len(chunks), 5)
        self.assertTrue(all("usage" not in c for c in chunks))
        fact = self.log()[-1]
        self.assertTrue(fact["stream"])
        self.assertEqual(fact["facts"]["output_text"], text)
        self.assertIsNone(fact["facts"]["input_tokens"])

    def test_openai_n(self):
        st, _, body = self.call("/v1/chat/completions",
                                self.openai_req(n=3, tools=None))
        d = json.loads(body)
        self.assertEqual([c["index"] for c in d["choices"]], [0, 1, 2])

    def test_anthropic_tool_loop(self):
        st, r, body = self.call("/v1/messages", self.anthropic_req())
        self.assertEqual(st, 200)
        d = json.loads(body)
        self.assertEqual(d["type"], "message")
        self.assertRegex(d["id"], r"^msg_mock\d+$")
        self.assertEqual(d["model"], "claude-sonnet-4-5")
        self.assertEqual(d["stop_reason"], "tool_use")
        self.assertEqual([b["type"] for b in d["content"]],
                         ["text", "tool_use"])
        tu = d["content"][1]
        self.assertEqual(tu["input"], {"city": "Paris"})
        for k in ("input_tokens", "output_tokens",
                  "cache_read_input_tokens", "cache_creation_input_tokens"):
            self.assertIsInstance(d["usage"][k], int)
        msgs = self.anthropic_req()["messages"] + [
            {"role": "assistant", "content": d["content"]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tu["id"],
                 "content": "21 degrees, sunny"}]}]
        st, _, body = self.call("/v1/messages",
                                self.anthropic_req(messages=msgs))
        d2 = json.loads(body)
        self.assertEqual(d2["stop_reason"], "end_turn")
        self.assertEqual(d2["content"][0]["text"],
                         "Based on the tool result: 21 degrees, sunny")

    def test_anthropic_stream(self):
        st, r, body = self.call("/v1/messages",
                                self.anthropic_req(stream=True))
        evs = sse_events(body)
        names = [n for n, _ in evs]
        self.assertEqual(names[:3], ["message_start", "content_block_start",
                                     "ping"])
        self.assertEqual(names[-2:], ["message_delta", "message_stop"])
        datas = [json.loads(d) for _, d in evs]
        self.assertTrue(all(n == d["type"] for n, d in zip(names, datas)))
        start = datas[0]["message"]
        self.assertEqual(start["usage"]["output_tokens"], 1)
        parts = [d["delta"]["partial_json"] for d in datas
                 if d["type"] == "content_block_delta"
                 and d["delta"]["type"] == "input_json_delta"]
        self.assertGreater(len(parts), 2)
        self.assertEqual(json.loads("".join(parts)), {"city": "Paris"})
        self.assertEqual(datas[-2]["delta"]["stop_reason"], "tool_use")
        facts = self.log()[-1]["facts"]
        self.assertEqual(facts["input_tokens"], start["usage"]["input_tokens"])
        self.assertEqual(facts["output_tokens"],
                         datas[-2]["usage"]["output_tokens"])
        self.assertEqual(facts["tool_calls"][0]["arguments"],
                         {"city": "Paris"})
        self.assertEqual(facts["finish_reasons"], ["tool_use"])

    def test_gzip_deflate_chunked(self):
        st, r, body = self.call("/mock/gzip/v1/chat/completions",
                                self.openai_req())
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(json.loads(gzip.decompress(body))["object"],
                         "chat.completion")
        st, r, body = self.call("/mock/deflate,chunked/v1/messages",
                                self.anthropic_req())
        self.assertEqual(r.getheader("Content-Encoding"), "deflate")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertEqual(json.loads(zlib.decompress(body))["type"],
                         "message")
        st, r, body = self.call("/mock/gzip,delay=1/v1/messages",
                                self.anthropic_req(stream=True))
        evs = sse_events(zlib.decompress(body, 31))
        self.assertEqual(evs[-1][0], "message_stop")

    def test_close_delimited(self):
        st, r, body = self.call("/mock/close/v1/chat/completions",
                                self.openai_req(stream=True))
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertIsNone(r.getheader("Transfer-Encoding"))
        self.assertEqual(sse_events(body)[-1][1], "[DONE]")

    def test_status_429(self):
        st, r, body = self.call("/mock/status=429/v1/chat/completions",
                                self.openai_req())
        self.assertEqual(st, 429)
        self.assertEqual(r.getheader("retry-after"), "1")
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], "rate_limit_exceeded")
        self.assertIn("message", err)
        st, r, body = self.call("/mock/status=429/v1/messages",
                                self.anthropic_req(stream=True))
        self.assertEqual(st, 429)
        self.assertIsNotNone(r.getheader("retry-after"))
        d = json.loads(body)
        self.assertEqual(d["type"], "error")
        self.assertEqual(d["error"]["type"], "rate_limit_error")
        rec = self.log()[-1]
        self.assertEqual(rec["status"], 429)
        self.assertEqual(rec["facts"]["error"], "rate_limit_error")

    def test_bad_json(self):
        st, _, body = self.call("/v1/chat/completions", b"{not json")
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body)["error"]["type"],
                         "invalid_request_error")
        st, _, body = self.call("/v1/messages", b"[1,")
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body)["error"]["type"],
                         "invalid_request_error")

    def test_cut(self):
        self.reset()
        c = self.conn()
        c.request("POST", "/mock/cut=3/v1/chat/completions",
                  json.dumps(self.openai_req(stream=True, tools=None)))
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        with self.assertRaises(http.client.IncompleteRead) as cm:
            r.read()
        self.assertEqual(len(sse_events(cm.exception.partial)), 3)
        c.close()
        rec = self.log()[-1]
        self.assertTrue(rec["truncated"])
        self.assertEqual(rec["events_sent"], 3)
        self.assertEqual(rec["facts"]["output_text"], "This is")
        self.assertEqual(rec["facts"]["finish_reasons"], [])
        # Non-stream: half the body under a full Content-Length.
        c = self.conn()
        c.request("POST", "/mock/cut/v1/messages",
                  json.dumps(self.anthropic_req()))
        r = c.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            r.read()
        c.close()

    def test_reset(self):
        c = self.conn()
        c.request("POST", "/mock/reset=2,delay=5/v1/messages",
                  json.dumps(self.anthropic_req(stream=True)))
        r = c.getresponse()
        with self.assertRaises((ConnectionResetError,
                                http.client.IncompleteRead)):
            r.read()
        c.close()

    def test_error_event(self):
        st, _, body = self.call("/mock/error_event/v1/messages",
                                self.anthropic_req(stream=True))
        evs = sse_events(body)
        self.assertEqual(evs[-1][0], "error")
        self.assertEqual(json.loads(evs[-1][1])["error"]["type"],
                         "overloaded_error")

    def test_notool(self):
        st, _, body = self.call("/mock/notool/v1/chat/completions",
                                self.openai_req())
        self.assertEqual(json.loads(body)["choices"][0]["finish_reason"],
                         "stop")

    def test_corpus(self):
        d = CORPUS / "openai" / "chat_streaming"
        want = (d / "response.body").read_bytes()
        st, r, body = self.call(
            "/mock/corpus=openai/chat_streaming/v1/chat/completions",
            (d / "request.body").read_bytes())
        self.assertEqual(st, 200)
        self.assertEqual(body, want)
        self.assertEqual(r.getheader("Content-Length"), str(len(want)))
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        rec = self.log()[-1]
        exp = json.loads((d / "expected.json").read_text())
        self.assertEqual(rec["facts"]["id"], exp["response_id"])
        self.assertEqual(rec["facts"]["output_text"], exp["output_text"])
        # A gzip body, chunked.
        d = CORPUS / "anthropic" / "messages_basic"
        st, r, body = self.call(
            "/mock/chunked,corpus=anthropic:messages_basic/v1/messages",
            (d / "request.body").read_bytes())
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(body, (d / "response.body").read_bytes())

    def test_keepalive_expect_chunked_request(self):
        """Three requests on one connection: Expect: 100-continue, then a
        chunked request body, then a plain one."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        body = json.dumps(self.openai_req(tools=None)).encode()

        def response():
            status = f.readline()
            hdrs = {}
            while True:
                line = f.readline().strip()
                if not line:
                    break
                k, _, v = line.decode().partition(":")
                hdrs[k.lower()] = v.strip()
            return status, hdrs, f.read(int(hdrs["content-length"]))

        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Expect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        self.assertTrue(f.readline().startswith(b"HTTP/1.1 100"))
        self.assertEqual(f.readline(), b"\r\n")
        s.sendall(body)
        st, _, out = response()
        self.assertIn(b" 200 ", st)
        self.assertEqual(json.loads(out)["object"], "chat.completion")
        half = len(body) // 2
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" +
                  b"%x\r\n%s\r\n" % (half, body[:half]) +
                  b"%x;ext=1\r\n%s\r\n0\r\n\r\n" % (len(body) - half,
                                                   body[half:]))
        st, _, out = response()
        self.assertIn(b" 200 ", st)
        s.sendall(b"GET /tool/weather?city=Oslo HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        st, hdrs, out = response()
        self.assertEqual(json.loads(out), {"city": "Oslo",
                                           "temperature_c": 21,
                                           "conditions": "sunny"})
        self.assertEqual(hdrs.get("connection"), "close")
        s.close()

    def test_client_disconnect_mid_stream(self):
        c = self.conn()
        c.request("POST", "/mock/delay=30/v1/chat/completions",
                  json.dumps(self.openai_req(stream=True, tools=None)))
        r = c.getresponse()
        r.read1(10)
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        time.sleep(0.4)
        self.assertEqual(self.call("/tool/weather?city=X")[0], 200)

    def test_other_endpoints(self):
        st, r, body = self.call("/download?bytes=100000")
        self.assertEqual((st, len(body)), (200, 100000))
        self.assertEqual(r.getheader("Content-Type"),
                         "application/octet-stream")
        st, r, body = self.call("/page")
        self.assertIn(b"<html>", body)
        self.assertEqual(self.call("/v1/nothing", b"{}")[0], 404)
        self.assertEqual(self.call("/mock/bogus/v1/messages", b"{}")[0], 400)


def ndjson(body):
    return [json.loads(x) for x in body.decode().splitlines() if x.strip()]


RESPONSES_TOOL = {"type": "function", "name": "get_weather",
                  "description": "Weather in a city.",
                  "parameters": WEATHER_TOOL_OPENAI["function"]
                  ["parameters"]}
GEMINI_TOOLS = [{"functionDeclarations": [{
    "name": "get_weather", "description": "Weather in a city.",
    "parameters": {"type": "OBJECT",
                   "properties": {"city": {"type": "STRING"}},
                   "required": ["city"]}}]}]


class ProviderTests(MockCase):
    """The Responses, Completions, Embeddings, Gemini and Ollama APIs."""

    def test_responses_tool_loop(self):
        self.reset()
        req = {"model": "gpt-4.1-nano", "tools": [RESPONSES_TOOL],
               "input": [{"role": "user", "content": QUESTION}]}
        st, r, body = self.call("/v1/responses", req)
        self.assertEqual(st, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertIsNotNone(r.getheader("x-request-id"))
        d = json.loads(body)
        self.assertEqual((d["object"], d["status"], d["id"], d["model"]),
                         ("response", "completed", "resp_mock1",
                          "gpt-4.1-nano-mock-2025"))
        (fc,) = d["output"]
        self.assertEqual(fc["type"], "function_call")
        self.assertRegex(fc["call_id"], r"^call_[A-Za-z0-9]{24}$")
        self.assertEqual(json.loads(fc["arguments"]),
                         {"city": "Paris", "days": 1})
        u = d["usage"]
        self.assertEqual(u["total_tokens"],
                         u["input_tokens"] + u["output_tokens"])
        self.assertEqual(u["input_tokens_details"]["cached_tokens"], 0)
        self.assertEqual(u["output_tokens_details"]["reasoning_tokens"], 0)
        req2 = dict(req, input=req["input"] + [
            fc, {"type": "function_call_output", "call_id": fc["call_id"],
                 "output": '{"temperature_c":21}'}])
        d2 = json.loads(self.call("/v1/responses", req2)[2])
        (msg,) = d2["output"]
        self.assertEqual(msg["type"], "message")
        self.assertEqual(msg["content"][0]["text"],
                         'Based on the tool result: {"temperature_c":21}')
        log = self.log()
        self.assertEqual([(e["provider"], e["api"]) for e in log],
                         [("openai", "openai.responses")] * 2)
        self.assertEqual(log[0]["facts"], {
            "model": "gpt-4.1-nano-mock-2025", "id": "resp_mock1",
            "input_tokens": u["input_tokens"],
            "output_tokens": u["output_tokens"],
            "finish_reasons": ["completed"], "output_text": None,
            "tool_calls": [{"id": fc["call_id"], "name": "get_weather",
                            "arguments": {"city": "Paris", "days": 1}}]})
        self.assertEqual(log[1]["facts"]["output_text"],
                         msg["content"][0]["text"])
        # A string input, tool_choice none: an echo.
        d3 = json.loads(self.call("/v1/responses", dict(
            req, input="Hello Lyon", tool_choice="none"))[2])
        self.assertEqual(d3["output"][0]["content"][0]["text"],
                         "This is a mock answer to: Hello Lyon")

    def test_responses_stream(self):
        req = {"model": "gpt-4.1-nano", "input": "Tell me about Nice.",
               "stream": True}
        st, r, body = self.call("/v1/responses", req)
        self.assertTrue(r.getheader("Content-Type").startswith(
            "text/event-stream"))
        evs = sse_events(body)
        names = [n for n, _ in evs]
        datas = [json.loads(d) for _, d in evs]
        self.assertEqual(names[:5], [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added",
            "response.output_text.delta"])
        self.assertEqual(names[-4:], [
            "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "response.completed"])
        self.assertTrue(all(n == d["type"] for n, d in zip(names, datas)))
        self.assertEqual([d["sequence_number"] for d in datas],
                         list(range(len(datas))))
        deltas = [d["delta"] for d in datas
                  if d["type"] == "response.output_text.delta"]
        self.assertGreater(len(deltas), 3)
        text = "".join(deltas)
        self.assertEqual(text, "This is a mock answer to: Tell me about "
                               "Nice.")
        self.assertIsNone(datas[0]["response"]["usage"])
        done = datas[-1]["response"]
        self.assertEqual(done["status"], "completed")
        f = self.log()[-1]["facts"]
        self.assertEqual(f["output_text"], text)
        self.assertEqual(f["input_tokens"], done["usage"]["input_tokens"])
        self.assertEqual(f["output_tokens"], done["usage"]["output_tokens"])
        self.assertEqual(f["finish_reasons"], ["completed"])
        # Tool call arguments in fragments.
        st, r, body = self.call("/v1/responses", dict(
            req, input=QUESTION, tools=[RESPONSES_TOOL]))
        datas = [json.loads(d) for _, d in sse_events(body)]
        frags = [d["delta"] for d in datas
                 if d["type"] == "response.function_call_arguments.delta"]
        self.assertGreater(len(frags), 2)
        self.assertEqual(json.loads("".join(frags))["city"], "Paris")
        f = self.log()[-1]["facts"]
        self.assertEqual(f["tool_calls"][0]["arguments"]["city"], "Paris")
        self.assertIsNone(f["output_text"])
        # max_output_tokens reached: incomplete
        d = json.loads(self.call("/v1/responses", dict(
            req, stream=False, max_output_tokens=2))[2])
        self.assertEqual((d["status"], d["incomplete_details"]),
                         ("incomplete", {"reason": "max_output_tokens"}))
        self.assertEqual(d["output"][0]["content"][0]["text"], "This is")
        self.assertEqual(d["usage"]["output_tokens"], 2)
        evs = sse_events(self.call("/v1/responses", dict(
            req, max_output_tokens=2))[2])
        self.assertEqual(evs[-1][0], "response.incomplete")
        self.assertEqual(self.log()[-1]["facts"]["finish_reasons"],
                         ["incomplete"])
        # cut: no response.completed, no finish reason
        c = self.conn()
        c.request("POST", "/mock/cut=4/v1/responses", json.dumps(req))
        with self.assertRaises(http.client.IncompleteRead):
            c.getresponse().read()
        c.close()
        rec = self.log()[-1]
        self.assertEqual((rec["events_sent"], rec["truncated"]), (4, True))
        self.assertEqual(rec["facts"]["finish_reasons"], [])
        # error_event: an `error` event after the first delta
        evs = sse_events(self.call("/mock/error_event/v1/responses",
                                   req)[2])
        self.assertEqual(evs[-1][0], "error")
        self.assertEqual(evs[-2][0], "response.output_text.delta")
        self.assertEqual(self.log()[-1]["facts"]["error"], "server_error")

    def test_completions(self):
        st, r, body = self.call("/v1/completions", {
            "model": "gpt-3.5-turbo-instruct", "prompt": "Say hi to Rome"})
        d = json.loads(body)
        self.assertEqual(d["object"], "text_completion")
        self.assertRegex(d["id"], r"^cmpl-mock\d+$")
        self.assertEqual(d["choices"][0]["text"],
                         "This is a mock answer to: Say hi to Rome")
        self.assertEqual(d["choices"][0]["finish_reason"], "stop")
        req = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi to Rome",
               "stream": True, "max_tokens": 3,
               "stream_options": {"include_usage": True}}
        evs = sse_events(self.call("/v1/completions", req)[2])
        self.assertEqual(evs[-1][1], "[DONE]")
        chunks = [json.loads(x) for _, x in evs[:-1]]
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertEqual(chunks[-1]["usage"]["completion_tokens"], 3)
        self.assertEqual(chunks[-2]["choices"][0]["finish_reason"], "length")
        text = "".join(c["choices"][0]["text"] for c in chunks[:-1])
        self.assertEqual(text, "This is a")
        f = self.log()[-1]
        self.assertEqual((f["api"], f["provider"]),
                         ("openai.completions", "openai"))
        self.assertEqual(f["facts"]["output_text"], text)
        self.assertEqual(f["facts"]["finish_reasons"], ["length"])

    def test_embeddings(self):
        st, r, body = self.call("/v1/embeddings", {
            "model": "text-embedding-3-small", "input": ["a b c", "d"],
            "dimensions": 8})
        d = json.loads(body)
        self.assertEqual([e["index"] for e in d["data"]], [0, 1])
        self.assertEqual(len(d["data"][0]["embedding"]), 8)
        self.assertEqual(d["usage"], {"prompt_tokens": 4,
                                      "total_tokens": 4})
        vec = d["data"][0]["embedding"]
        d = json.loads(self.call("/v1/embeddings", {
            "model": "text-embedding-3-small", "input": "a b c",
            "dimensions": 8, "encoding_format": "base64"})[2])
        raw = base64.b64decode(d["data"][0]["embedding"])
        self.assertEqual(len(raw), 32)
        self.assertAlmostEqual(struct.unpack("<8f", raw)[0], vec[0],
                               places=6)
        self.assertEqual(self.log()[-1]["facts"]["dimension_count"], 8)
        d = json.loads(self.call("/api/embed", {
            "model": "all-minilm", "input": "hello world"})[2])
        self.assertEqual(len(d["embeddings"]), 1)
        self.assertEqual(d["prompt_eval_count"], 2)
        f = self.log()[-1]
        self.assertEqual((f["api"], f["provider"]),
                         ("ollama.embed", "ollama"))
        self.assertEqual(f["facts"]["input_tokens"], 2)
        d = json.loads(self.call("/v1beta/models/text-embedding-004:"
                                 "embedContent", {
                                     "content": {"parts": [{"text": "x"}]},
                                     "outputDimensionality": 5})[2])
        self.assertEqual(len(d["embedding"]["values"]), 5)
        d = json.loads(self.call(
            "/v1beta/models/text-embedding-004:batchEmbedContents",
            {"requests": [{"content": {"parts": [{"text": "x"}]}},
                          {"content": {"parts": [{"text": "y"}]}}]})[2])
        self.assertEqual(len(d["embeddings"]), 2)
        self.assertEqual(self.log()[-1]["provider"], "gcp.gemini")

    def test_gemini(self):
        self.reset()
        path = "/v1beta/models/gemini-2.5-flash:generateContent?key=K"
        req = {"contents": [{"role": "user", "parts": [{"text": QUESTION}]}],
               "tools": GEMINI_TOOLS}
        st, r, body = self.call(path, req)
        self.assertEqual(r.getheader("Content-Type"),
                         "application/json; charset=UTF-8")
        d = json.loads(body)
        cand = d["candidates"][0]
        self.assertEqual(cand["finishReason"], "STOP")
        self.assertEqual(cand["content"]["role"], "model")
        fc = cand["content"]["parts"][0]["functionCall"]
        self.assertEqual(fc, {"name": "get_weather",
                              "args": {"city": "Paris"}})
        self.assertEqual(d["modelVersion"], "gemini-2.5-flash")
        self.assertRegex(d["responseId"], r"^[A-Za-z0-9_-]{20,}$")
        um = d["usageMetadata"]
        self.assertEqual(um["totalTokenCount"], um["promptTokenCount"] +
                         um["candidatesTokenCount"])
        req["contents"] += [cand["content"], {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather",
                                  "response": {"temperature_c": 21}}}]}]
        d2 = json.loads(self.call(path, req)[2])
        self.assertEqual(d2["candidates"][0]["content"]["parts"][0]["text"],
                         'Based on the tool result: {"temperature_c":21}')
        log = self.log()
        self.assertEqual(log[0]["facts"]["tool_calls"], [
            {"id": None, "name": "get_weather",
             "arguments": {"city": "Paris"}}])
        self.assertEqual(log[0]["facts"]["model"], "gemini-2.5-flash")
        self.assertEqual(log[0]["facts"]["id"], d["responseId"])
        self.assertEqual(log[0]["facts"]["finish_reasons"], ["STOP"])
        self.assertEqual((log[0]["provider"], log[0]["api"]),
                         ("gcp.gemini", "gemini.generateContent"))
        # SSE with CRLF, cumulative usage in the last chunk
        spath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent" \
                "?alt=sse"
        plain = {"contents": [{"role": "user",
                               "parts": [{"text": "Tell me about Oslo"}]}],
                 "systemInstruction": {"parts": [{"text": "Be brief."}]}}
        st, r, body = self.call(spath, plain)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        self.assertIn(b"\r\n\r\n", body)
        chunks = [json.loads(x[len("data: "):]) for x in
                  body.decode().split("\r\n\r\n") if x]
        self.assertGreater(len(chunks), 2)
        text = "".join(c["candidates"][0]["content"]["parts"][0]["text"]
                       for c in chunks)
        self.assertEqual(text, "This is a mock answer to: Tell me about "
                               "Oslo")
        self.assertNotIn("finishReason", chunks[0]["candidates"][0])
        self.assertEqual(chunks[-1]["candidates"][0]["finishReason"], "STOP")
        f = self.log()[-1]
        self.assertTrue(f["stream"])
        self.assertEqual(f["facts"]["output_text"], text)
        self.assertEqual(f["facts"]["output_tokens"], chunks[-1][
            "usageMetadata"]["candidatesTokenCount"])
        self.assertEqual(f["facts"]["input_tokens"], 4 + 2 + 10)
        # without alt=sse: a JSON array
        st, r, body = self.call(spath.split("?")[0], plain)
        arr = json.loads(body)
        self.assertEqual(len(arr), len(chunks))
        # errors: Google's error body
        st, r, body = self.call("/mock/status=429/v1beta/models/g:"
                                "generateContent", plain)
        self.assertEqual(st, 429)
        self.assertEqual(json.loads(body)["error"]["status"],
                         "RESOURCE_EXHAUSTED")
        st, r, body = self.call(path, {"contents": []})
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body)["error"]["status"],
                         "INVALID_ARGUMENT")

    def test_ollama(self):
        self.reset()
        tools = [WEATHER_TOOL_OPENAI]
        req = {"model": "llama3.1", "tools": tools,
               "messages": [{"role": "user", "content": QUESTION}]}
        # no "stream": NDJSON
        st, r, body = self.call("/api/chat", req)
        self.assertEqual(r.getheader("Content-Type"), "application/x-ndjson")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        lines = ndjson(body)
        self.assertTrue(lines[-1]["done"])
        self.assertEqual(lines[-1]["done_reason"], "stop")
        self.assertFalse(any(x["done"] for x in lines[:-1]))
        calls = [tc for x in lines for tc in
                 x["message"].get("tool_calls", [])]
        self.assertEqual(calls, [{"function": {
            "name": "get_weather", "arguments": {"city": "Paris",
                                                 "days": 1}}}])
        req["stream"] = False
        st, r, body = self.call("/api/chat", req)
        self.assertEqual(r.getheader("Content-Type"),
                         "application/json; charset=utf-8")
        d = json.loads(body)
        self.assertTrue(d["done"])
        msg = d["message"]
        self.assertEqual(msg["tool_calls"], calls)
        req["messages"] += [msg, {"role": "tool", "tool_name": "get_weather",
                                  "content": "21 degrees"}]
        d = json.loads(self.call("/api/chat", req)[2])
        self.assertEqual(d["message"]["content"],
                         "Based on the tool result: 21 degrees")
        for k in ("total_duration", "load_duration", "prompt_eval_count",
                  "prompt_eval_duration", "eval_count", "eval_duration"):
            self.assertIsInstance(d[k], int)
        log = self.log()
        self.assertEqual([e["stream"] for e in log], [True, False, False])
        self.assertEqual(log[0]["facts"]["tool_calls"], [
            {"id": None, "name": "get_weather",
             "arguments": {"city": "Paris", "days": 1}}])
        self.assertEqual(log[2]["facts"]["finish_reasons"], ["stop"])
        self.assertEqual(log[2]["facts"]["input_tokens"],
                         d["prompt_eval_count"])
        # generate, streamed and gzip: one deflate block per line
        st, r, body = self.call("/mock/gzip/api/generate", {
            "model": "llama3", "prompt": "Tell me about Bergen"})
        lines = ndjson(zlib.decompress(body, 31))
        self.assertEqual("".join(x["response"] for x in lines),
                         "This is a mock answer to: Tell me about Bergen")
        self.assertIsInstance(lines[-1]["context"], list)
        f = self.log()[-1]
        self.assertEqual((f["api"], f["facts"]["output_text"]),
                         ("ollama.generate", "".join(
                             x["response"] for x in lines)))
        # num_predict: cut, done_reason length
        d = json.loads(self.call("/api/generate", {
            "model": "llama3", "prompt": "Tell me", "stream": False,
            "options": {"num_predict": 2}})[2])
        self.assertEqual((d["response"], d["done_reason"], d["eval_count"]),
                         ("This is", "length", 2))
        # error line mid-stream; errors as {"error": "..."}
        lines = ndjson(self.call("/mock/error_event/api/chat", {
            "model": "llama3", "messages": [
                {"role": "user", "content": "hi"}]})[2])
        self.assertIn("error", lines[-1])
        st, r, body = self.call("/api/chat", {"messages": []})
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(body), {"error": "model is required"})


class TLSTests(MockCase):
    """HTTPS with the generated certificate; the example agent."""
    tls = True

    def test_openai_over_tls(self):
        req = {"model": "gpt-4o-mini", "stream": True,
               "messages": [{"role": "user", "content": "Hello there"}]}
        c = self.conn(host="localhost")
        for _ in range(2):  # keep-alive over TLS
            st, r, body = self.call("/mock/chunked/v1/chat/completions",
                                    req, conn=c)
            self.assertEqual(st, 200)
            self.assertEqual(sse_events(body)[-1][1], "[DONE]")
        c.close()

    def test_cut_over_tls(self):
        c = self.conn()
        c.request("POST", "/mock/cut=2/v1/messages", json.dumps(
            {"model": "m", "stream": True,
             "messages": [{"role": "user", "content": "hi"}]}))
        r = c.getresponse()
        with self.assertRaises((http.client.IncompleteRead, ssl.SSLError)):
            r.read()
        c.close()

    def test_example_agent(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            self.skipTest("no C compiler")
        exe = os.path.join(self.dir, "agent")
        subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-O1", "-Wall",
                        "-Wextra", "-Werror", "-I", str(REPO), "-o", exe,
                        str(HERE / "example_agent.c"), "-lcurl",
                        "-ljansson"], check=True)
        self.reset()
        env = dict(os.environ,
                   OPENAI_BASE_URL="https://localhost:%d/v1" % self.port,
                   AGENT_CA_FILE=os.path.join(self.dir, "cert.pem"))
        p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("21", p.stdout.decode())
        self.assertIn("temperature_c", p.stdout.decode())
        log = self.log()
        self.assertEqual(len(log), 2)
        self.assertFalse(log[0]["stream"])
        self.assertTrue(log[1]["stream"])
        self.assertEqual(log[1]["request"]["messages"][-1]["role"], "tool")
        self.assertEqual(log[1]["request"]["messages"][-1]["tool_call_id"],
                         log[0]["facts"]["tool_calls"][0]["id"])
        self.assertIsInstance(log[1]["facts"]["input_tokens"], int)
        self.assertEqual(p.stdout.decode().strip(),
                         log[1]["facts"]["output_text"])
        # An API error is a message and exit status 1.
        env["OPENAI_BASE_URL"] = \
            "https://localhost:%d/mock/status=429/v1" % self.port
        p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"429", p.stderr)


if __name__ == "__main__":
    unittest.main()
