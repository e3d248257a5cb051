#!/usr/bin/python3
"""test_providers.py - integration tests of libagenttrace for the model APIs
beyond Chat Completions and Messages: OpenAI Responses, legacy Completions
and Embeddings, Google Gemini (generateContent, streamGenerateContent with
and without alt=sse, embedContent, batchEmbedContents) and Ollama
(/api/chat, /api/generate, /api/embed; over TLS and over plain HTTP, as
local model servers are).

Real clients (curl, requests, httpx, aiohttp; clients.py's `call`) run under
the shim against scripts/mock_llm.py; each inference span is compared field
by field with the facts the mock logged about what it sent.  On 127.0.0.1
the provider comes from the path's shape (decode/llm.c at_llm_route_find):
"openai" for the OpenAI shapes, "gcp.gemini" for Gemini paths, "ollama" for
the Ollama paths.

Run from the repository root (same environment as test_shim.py):

    /usr/bin/python3 tests/integration/test_providers.py [-k PATTERN]
"""

import json
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_shim  # noqa: E402
from test_shim import (PY, SHIM, Mock, ShimTest, as_json,  # noqa: E402
                       calls_of, dur, parts, text_of)

QUESTION = "What is the weather in Paris? Use the tool."
GEMINI_SECRET = "SECRET-GEMINI-KEY"
INFERENCE_OPS = ("chat", "text_completion", "embeddings",
                 "generate_content")
WEATHER = {"city": "Paris", "temperature_c": 21, "conditions": "sunny"}
WEATHER_PARAMS = {"type": "object", "properties": {
    "city": {"type": "string"}}, "required": ["city"]}
RESPONSES_TOOL = {"type": "function", "name": "get_weather",
                  "description": "Get the current weather.",
                  "parameters": WEATHER_PARAMS}
CHAT_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather.",
    "parameters": WEATHER_PARAMS}}
GEMINI_TOOLS = [{"functionDeclarations": [{
    "name": "get_weather", "description": "Get the current weather.",
    "parameters": {"type": "OBJECT", "properties": {
        "city": {"type": "STRING"}}, "required": ["city"]}}]}]


# A program that runs one tool loop in one process: a model call that
# asks for get_weather, the tool (GET /tool/weather), the model call that
# carries the result back.  argv: API LIB MODEL_URL SECOND_URL TOOL_URL CA
# [stream].  Prints the final response body.
LOOP = r'''
import json, ssl, sys
api, lib, url1, url2, tool_url, ca = sys.argv[1:7]
stream = sys.argv[7:] == ["stream"]
Q = "What is the weather in Paris? Use the tool."
PARAMS = {"type": "object", "properties": {"city": {"type": "string"}},
          "required": ["city"]}
if lib == "requests":
    import requests
    s = requests.Session()
    s.trust_env = False
    verify = ca or True
    def post(url, body):
        r = s.post(url, json=body, verify=verify, timeout=30)
        r.raise_for_status()
        return r
    def get(url):
        return s.get(url, verify=verify, timeout=30).text
else:
    import httpx
    ctx = ssl.create_default_context(cafile=ca) if ca else True
    c = httpx.Client(verify=ctx, trust_env=False, timeout=30)
    def post(url, body):
        r = c.post(url, json=body)
        r.raise_for_status()
        return r
    def get(url):
        return c.get(url).text
if api == "responses":
    body = {"model": "gpt-4.1-nano", "tools": [dict(
        type="function", name="get_weather", parameters=PARAMS)],
        "input": [{"role": "user", "content": Q}]}
    out = post(url1, body).json()["output"]
    fc = [o for o in out if o["type"] == "function_call"][0]
    args = json.loads(fc["arguments"])
    result = get(tool_url + "?city=" + args["city"])
    body["input"] += [fc, {"type": "function_call_output",
                           "call_id": fc["call_id"], "output": result}]
    if stream:
        body["stream"] = True
elif api == "gemini":
    body = {"contents": [{"role": "user", "parts": [{"text": Q}]}],
            "tools": [{"functionDeclarations": [dict(
                name="get_weather", parameters=PARAMS)]}]}
    cand = post(url1, body).json()["candidates"][0]
    fc = cand["content"]["parts"][0]["functionCall"]
    result = get(tool_url + "?city=" + fc["args"]["city"])
    body["contents"] += [cand["content"], {"role": "user", "parts": [
        {"functionResponse": {"name": fc["name"],
                              "response": json.loads(result)}}]}]
else:  # ollama
    body = {"model": "llama3.1", "stream": False,
            "tools": [{"type": "function", "function": dict(
                name="get_weather", parameters=PARAMS)}],
            "messages": [{"role": "user", "content": Q}]}
    msg = post(url1, body).json()["message"]
    fn = msg["tool_calls"][0]["function"]
    result = get(tool_url + "?city=" + fn["arguments"]["city"])
    body["messages"] += [msg, {"role": "tool", "tool_name": fn["name"],
                               "content": result}]
    if stream:
        del body["stream"]
sys.stdout.write(post(url2, body).text)
'''


def expected_calls(facts):
    """The tool calls a span should show: where the API gives a call no id
    (Gemini, Ollama), the shim names it by its function (gemini.c,
    ollama.c)."""
    return [{"id": c["id"] if c["id"] is not None else c["name"],
             "name": c["name"], "arguments": c["arguments"]}
            for c in facts["tool_calls"]]


def system_text(a):
    """The text of gen_ai.system_instructions (a list of parts)."""
    si = a.get("gen_ai.system_instructions")
    if not isinstance(si, list):
        return None
    return "".join(p.get("content", "") for p in si
                   if isinstance(p, dict) and p.get("type") == "text")


def redact_key(path):
    return path.replace("key=" + GEMINI_SECRET, "key=REDACTED")


class ProviderTest(ShimTest):
    """One mock per class (TLS unless TLS is False); helpers to run a
    client and check its one inference span."""

    TLS = True

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(SHIM):
            raise unittest.SkipTest("no shim at %s (run make)" % SHIM)
        cls.mock = Mock(tls=cls.TLS)

    def fresh(self):
        self.mock.reset()
        if os.path.exists(self.out):
            os.unlink(self.out)

    def argv(self, client, url, body, stream):
        """The command line of one POST of `body` by `client`."""
        if client == "curl":
            return self.curl(url, body, stream=stream)
        ca = self.mock.cert if self.mock.tls else ""
        return self.client("call", client, url, ca, json.dumps(body),
                           "stream" if stream else "")

    def inference(self, spans):
        return sorted([s for s in spans if s["attributes"].get(
            "gen_ai.operation.name") in INFERENCE_OPS],
            key=lambda s: s["start_time_unix_nano"])

    def call(self, client, path, body, stream=False, opts=None):
        """Run one client call under the shim; returns (result, spans, the
        inference span, the log entry)."""
        self.fresh()
        r, spans = self.traced(self.argv(client, self.mock.url(path, opts),
                                         body, stream))
        self.assertNotIn(b"\nERROR ", r.stdout)
        self.check_spans(spans)
        log = self.mock.log()
        self.assertEqual(len(log), 1, log)
        inf = self.inference(spans)
        self.assertEqual(len(inf), 1, [s["name"] for s in spans])
        self.assertEqual(inf[0]["parent_span_id"], spans[-1]["span_id"])
        return r, spans, inf[0], log[0]

    def assert_span(self, span, entry, op, provider, model, stream=False,
                    url=None, ttfc=True):
        """The inference span against the mock's facts, field by field
        (with `ttfc` false, a stream's time to first chunk is left to the
        caller)."""
        a = span["attributes"]
        f = entry["facts"]
        self.assertEqual(entry["status"], 200)
        self.assertEqual(entry["provider"], provider)
        self.assertEqual(entry["stream"], stream)
        self.assertEqual(span["name"], "%s %s" % (op, model))
        self.assertEqual(span["kind"], "client")
        self.assertIn(span["status"]["code"], ("ok", "unset"),
                      span["status"])
        self.assertNotIn("error.type", a)
        checks = [
            ("gen_ai.operation.name", op),
            ("gen_ai.provider.name", provider),
            ("gen_ai.request.model", model),
            ("gen_ai.response.model", f["model"]),
            ("gen_ai.response.id", f["id"]),
            ("gen_ai.usage.input_tokens", f["input_tokens"]),
            ("gen_ai.usage.output_tokens", f["output_tokens"]),
            ("gen_ai.response.finish_reasons", f["finish_reasons"] or None),
            ("server.address", "127.0.0.1"),
            ("server.port", self.mock.port),
            ("url.full", url or redact_key("%s://127.0.0.1:%d%s" % (
                self.mock.scheme, self.mock.port, entry["path"]))),
            ("http.request.method", "POST"),
            ("http.response.status_code", 200),
            ("agenttrace.http.version", "1.1"),
            # libcurl on OpenSSL is captured below the libcurl layer
            ("agenttrace.transport",
             "openssl" if self.mock.tls else "socket")]
        if "dimension_count" in f:
            checks.append(("gen_ai.embeddings.dimension.count",
                           f["dimension_count"]))
        for key, want in checks:
            with self.subTest(attribute=key):
                if want is None:
                    self.assertNotIn(key, a)
                else:
                    self.assertEqual(a.get(key), want)
        if stream:
            self.assertIs(a.get("gen_ai.request.stream"), True)
            if ttfc:
                self.assert_ttfc(span)
        else:
            self.assertIn(a.get("gen_ai.request.stream"), (None, False))
            self.assertNotIn("gen_ai.response.time_to_first_chunk", a)
        if op == "embeddings":
            self.assertNotIn("gen_ai.output.messages", a)
            return
        out = a.get("gen_ai.output.messages")
        self.assertIsInstance(out, list)
        for m in out:
            self.assertEqual(m.get("role"), "assistant")
        self.assertEqual(text_of(out), f["output_text"])
        self.assertEqual(calls_of(out), expected_calls(f))
        self.assertEqual([m.get("finish_reason") for m in out],
                         f["finish_reasons"])

    def request_for(self, api, prompt, stream=False):
        """(path, body, operation, provider, request model) of a simple
        call to `api`."""
        if api == "responses":
            b = {"model": "gpt-4.1-nano", "input": prompt}
            if stream:
                b["stream"] = True
            return "/v1/responses", b, "chat", "openai", "gpt-4.1-nano"
        if api == "completions":
            b = {"model": "gpt-3.5-turbo-instruct", "prompt": prompt}
            if stream:
                b["stream"] = True
                b["stream_options"] = {"include_usage": True}
            return ("/v1/completions", b, "text_completion", "openai",
                    "gpt-3.5-turbo-instruct")
        if api == "gemini":
            path = "/v1beta/models/gemini-2.5-flash:%s?%skey=%s" % (
                "streamGenerateContent" if stream else "generateContent",
                "alt=sse&" if stream else "", GEMINI_SECRET)
            return (path, {"contents": [{"role": "user",
                                         "parts": [{"text": prompt}]}]},
                    "generate_content", "gcp.gemini", "gemini-2.5-flash")
        if api in ("ollama_chat", "ollama_generate"):
            b = {"model": "llama3"}
            if api == "ollama_chat":
                b["messages"] = [{"role": "user", "content": prompt}]
            else:
                b["prompt"] = prompt
            if not stream:
                b["stream"] = False
            return ("/api/" + api[7:], b,
                    "chat" if api == "ollama_chat" else "text_completion",
                    "ollama", "llama3")
        if api == "openai_embeddings":
            return ("/v1/embeddings", {"model": "text-embedding-3-small",
                                       "input": prompt}, "embeddings",
                    "openai", "text-embedding-3-small")
        if api == "gemini_embed":
            return ("/v1beta/models/text-embedding-004:embedContent?key=" +
                    GEMINI_SECRET, {"content": {"parts": [
                        {"text": prompt}]}}, "embeddings", "gcp.gemini",
                    "text-embedding-004")
        if api == "ollama_embed":
            return ("/api/embed", {"model": "all-minilm", "input": prompt},
                    "embeddings", "ollama", "all-minilm")
        raise ValueError(api)

    def assert_ttfc(self, span):
        ttfc = span["attributes"].get("gen_ai.response.time_to_first_chunk")
        self.assertIsInstance(ttfc, (int, float),
                              "no gen_ai.response.time_to_first_chunk")
        self.assertGreater(ttfc, 0)
        # a short stream can arrive in the read that brings its first chunk:
        # the first chunk is then the last
        self.assertLessEqual(ttfc, dur(span))

    def assert_user_input(self, span, text):
        msgs = span["attributes"].get("gen_ai.input.messages")
        self.assertIsInstance(msgs, list)
        self.assertEqual([(m.get("role"), text_of([m])) for m in msgs],
                         [("user", text)])

    def assert_open_tool(self, spans, entry):
        """One tool call never answered: its execute_tool span."""
        (call,) = expected_calls(entry["facts"])
        tool = self.only(spans, "execute_tool ")
        a = tool["attributes"]
        self.assertEqual(tool["name"], "execute_tool " + call["name"])
        self.assertEqual(a.get("gen_ai.tool.call.id"), call["id"])
        self.assertEqual(as_json(a.get("gen_ai.tool.call.arguments")),
                         call["arguments"])
        self.assertEqual(tool["status"]["code"], "unset")

    def run_loop(self, api, url1, url2, lib, stream):
        """The tool loop program; checks the two inference spans, the
        execute_tool span between them and the tool's GET inside it.
        Returns (result, spans, (span1, span2), log)."""
        self.fresh()
        script = os.path.join(self.tmp, "loop.py")
        with open(script, "w") as fh:
            fh.write(LOOP)
        argv = [PY, script, api, lib, url1, url2,
                self.mock.url("/tool/weather"),
                self.mock.cert if self.mock.tls else ""]
        if stream:
            argv.append("stream")
        r, spans = self.traced(argv)
        self.check_spans(spans)
        log = [e for e in self.mock.log() if "facts" in e]
        self.assertEqual(len(log), 2)
        inf = self.inference(spans)
        self.assertEqual(len(inf), 2, [s["name"] for s in spans])
        s1, s2 = inf
        (call,) = expected_calls(log[0]["facts"])
        proc = spans[-1]
        tool = self.only(spans, "execute_tool ")
        get = self.only(spans, "GET ")
        a = tool["attributes"]
        with self.subTest(span="execute_tool"):
            self.assertEqual(tool["name"], "execute_tool get_weather")
            self.assertEqual(a.get("gen_ai.tool.name"), "get_weather")
            self.assertEqual(a.get("gen_ai.tool.call.id"), call["id"])
            self.assertEqual(as_json(a.get("gen_ai.tool.call.arguments")),
                             call["arguments"])
            self.assertEqual(as_json(a.get("gen_ai.tool.call.result")),
                             WEATHER)
            self.assertEqual(tool["status"]["code"], "ok")
            self.assertEqual(tool["parent_span_id"], proc["span_id"])
            self.assertLessEqual(s1["end_time_unix_nano"],
                                 tool["start_time_unix_nano"])
            self.assertLessEqual(tool["end_time_unix_nano"],
                                 s2["start_time_unix_nano"])
        with self.subTest(span="GET"):
            self.assertEqual(get["parent_span_id"], tool["span_id"])
        msgs = s2["attributes"].get("gen_ai.input.messages") or []
        self.assertEqual([p.get("id") for _, p in
                          parts(msgs, "tool_call_response")], [call["id"]])
        self.assertEqual(calls_of(msgs), [call])
        self.assertEqual(log[1]["facts"]["output_text"],
                         "Based on the tool result: " +
                         json.dumps(WEATHER, separators=(",", ":")))
        return r, spans, (s1, s2), log


# -------------------------------------------------------- OpenAI Responses

class TestResponses(ProviderTest):

    def body(self, prompt, stream=False, tools=False, **kw):
        b = {"model": "gpt-4.1-nano", "input": prompt}
        if stream:
            b["stream"] = True
        if tools:
            b["tools"] = [RESPONSES_TOOL]
        b.update(kw)
        return b

    def check(self, client, body, stream, opts=None, reason="completed"):
        r, spans, span, entry = self.call(client, "/v1/responses", body,
                                          stream, opts)
        self.assert_span(span, entry, "chat", "openai", "gpt-4.1-nano",
                         stream)
        a = span["attributes"]
        self.assertEqual(a["gen_ai.response.finish_reasons"], [reason])
        self.assertEqual(a.get("gen_ai.usage.cache_read.input_tokens"), 0)
        self.assertEqual(a.get("gen_ai.usage.reasoning.output_tokens"), 0)
        if stream:
            self.assertIn(b"event: response." + reason.encode(), r.stdout)
        else:
            self.assertEqual(r.json()["id"], entry["facts"]["id"])
        return r, spans, span, entry

    def test_plain(self):
        for client in ("curl", "requests"):
            with self.subTest(client=client):
                prompt = "Hello from %s in Dijon." % client
                _, _, span, entry = self.check(
                    client, self.body(prompt, instructions="Be brief.",
                                      temperature=0.3,
                                      max_output_tokens=64), False)
                a = span["attributes"]
                self.assertEqual(a.get("gen_ai.request.temperature"), 0.3)
                self.assertEqual(a.get("gen_ai.request.max_tokens"), 64)
                self.assertEqual(system_text(a), "Be brief.")
                self.assert_user_input(span, prompt)
                self.assertEqual(entry["facts"]["output_text"],
                                 "This is a mock answer to: " + prompt)

    def test_streamed(self):
        for client in ("curl", "httpx", "aiohttp"):
            with self.subTest(client=client):
                prompt = "Tell me a story about Metz via %s." % client
                _, _, span, entry = self.check(
                    client, self.body(prompt, stream=True), True, "delay=5")
                self.assert_user_input(span, prompt)
                self.assertEqual(entry["facts"]["output_text"],
                                 "This is a mock answer to: " + prompt)

    def test_incomplete(self):
        """max_output_tokens reached: status (the finish reason)
        "incomplete"; streamed, the last event is response.incomplete."""
        for client, stream in (("curl", False), ("httpx", True)):
            with self.subTest(client=client, stream=stream):
                r, _, span, entry = self.check(
                    client, self.body("Tell me everything about Bayonne.",
                                      stream=stream, max_output_tokens=3),
                    stream, reason="incomplete")
                self.assertEqual(entry["facts"]["output_text"], "This is a")
                self.assertEqual(span["attributes"].get(
                    "gen_ai.request.max_tokens"), 3)
                if stream:
                    self.assertIn(b"event: response.incomplete", r.stdout)

    def test_function_call(self):
        for client, stream in (("httpx", False), ("requests", True),
                               ("curl", True)):
            with self.subTest(client=client, stream=stream):
                _, spans, span, entry = self.check(
                    client, self.body(QUESTION, stream=stream, tools=True),
                    stream)
                (call,) = entry["facts"]["tool_calls"]
                self.assertEqual(call["arguments"], {"city": "Paris"})
                self.assertRegex(call["id"], r"^call_")
                defs = span["attributes"].get("gen_ai.tool.definitions")
                self.assertEqual([d.get("name") for d in defs],
                                 ["get_weather"])
                self.assert_open_tool(spans, entry)

    def test_tool_loop(self):
        url = self.mock.url("/v1/responses")
        r, spans, (s1, s2), log = self.run_loop("responses", url, url,
                                                "requests", True)
        self.assert_span(s1, log[0], "chat", "openai", "gpt-4.1-nano")
        self.assert_span(s2, log[1], "chat", "openai", "gpt-4.1-nano",
                         stream=True)
        roles = [m.get("role") for m in
                 s2["attributes"]["gen_ai.input.messages"]]
        self.assertEqual(roles, ["user", "assistant", "tool"])


# ------------------------------------------------- OpenAI legacy Completions

class TestCompletions(ProviderTest):

    def test_plain_and_streamed(self):
        cases = [("curl", False, None), ("requests", False, 4),
                 ("curl", True, None), ("httpx", True, 3)]
        for client, stream, max_tokens in cases:
            with self.subTest(client=client, stream=stream):
                prompt = "Complete this for Reims via %s" % client
                body = {"model": "gpt-3.5-turbo-instruct", "prompt": prompt}
                if max_tokens:
                    body["max_tokens"] = max_tokens
                if stream:
                    body["stream"] = True
                    body["stream_options"] = {"include_usage": True}
                r, spans, span, entry = self.call(
                    client, "/v1/completions", body, stream)
                self.assert_span(span, entry, "text_completion", "openai",
                                 "gpt-3.5-turbo-instruct", stream)
                a = span["attributes"]
                self.assertEqual(a["gen_ai.response.finish_reasons"],
                                 ["length" if max_tokens else "stop"])
                if max_tokens:
                    self.assertEqual(a.get("gen_ai.request.max_tokens"),
                                     max_tokens)
                    self.assertEqual(a["gen_ai.usage.output_tokens"],
                                     max_tokens)
                self.assert_user_input(span, prompt)
                if stream:
                    self.assertIn(b"data: [DONE]", r.stdout)


# --------------------------------------------------------------- embeddings

class TestEmbeddings(ProviderTest):

    def test_openai(self):
        cases = [("curl", {"input": "Embed Paris"}),
                 ("requests", {"input": ["Embed Lyon", "and Nice"],
                               "dimensions": 12}),
                 ("httpx", {"input": "Embed Lille base64",
                            "encoding_format": "base64"})]
        for client, extra in cases:
            with self.subTest(client=client):
                body = dict(extra, model="text-embedding-3-small")
                r, spans, span, entry = self.call(client, "/v1/embeddings",
                                                  body)
                self.assert_span(span, entry, "embeddings", "openai",
                                 "text-embedding-3-small")
                a = span["attributes"]
                self.assertEqual(a["gen_ai.embeddings.dimension.count"],
                                 extra.get("dimensions", 32))
                if "encoding_format" in extra:
                    self.assertEqual(a.get(
                        "gen_ai.request.encoding_formats"), ["base64"])
                inputs = extra["input"]
                msgs = a.get("gen_ai.input.messages")
                self.assertEqual(text_of(msgs), "".join(
                    [inputs] if isinstance(inputs, str) else inputs))

    def test_gemini(self):
        cases = [("curl", ":embedContent", {
                     "content": {"parts": [{"text": "Embed Caen"}]}}),
                 ("httpx", ":embedContent", {
                     "content": {"parts": [{"text": "Embed Brest"}]},
                     "outputDimensionality": 8}),
                 ("requests", ":batchEmbedContents", {"requests": [
                     {"model": "models/text-embedding-004",
                      "content": {"parts": [{"text": "one"}]}},
                     {"model": "models/text-embedding-004",
                      "content": {"parts": [{"text": "two"}]}}]})]
        for client, method, body in cases:
            with self.subTest(client=client, method=method):
                path = "/v1beta/models/text-embedding-004%s?key=%s" % (
                    method, GEMINI_SECRET)
                r, spans, span, entry = self.call(client, path, body)
                self.assert_span(span, entry, "embeddings", "gcp.gemini",
                                 "text-embedding-004",
                                 url=redact_key(self.mock.url(path)))
                self.assertNotIn(GEMINI_SECRET.encode(),
                                 open(self.out, "rb").read())


# ------------------------------------------------------------------- Gemini

class TestGemini(ProviderTest):

    MODEL = "gemini-2.5-flash"

    def path(self, method, sse=False):
        return "/v1beta/models/%s:%s?%skey=%s" % (
            self.MODEL, method, "alt=sse&" if sse else "", GEMINI_SECRET)

    def body(self, prompt, tools=False, **gen):
        b = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        if tools:
            b["tools"] = GEMINI_TOOLS
        if gen:
            b["generationConfig"] = gen
        return b

    def check(self, client, body, method, sse=False, opts=None, ttfc=True,
              reason="STOP"):
        stream = method == "streamGenerateContent"
        path = self.path(method, sse)
        r, spans, span, entry = self.call(client, path, body, stream, opts)
        url = redact_key(self.mock.url(path, opts))
        self.assertIn("key=REDACTED", url)
        self.assert_span(span, entry, "generate_content", "gcp.gemini",
                         self.MODEL, stream, url=url, ttfc=ttfc)
        self.assertNotIn(GEMINI_SECRET.encode(),
                         open(self.out, "rb").read())
        self.assertEqual(span["attributes"]["gen_ai.response.finish_reasons"],
                         [reason])
        return r, spans, span, entry

    def test_generate_plain(self):
        for client in ("curl", "requests"):
            with self.subTest(client=client):
                prompt = "Hello Gemini from Tours via %s." % client
                r, _, span, entry = self.check(
                    client, self.body(prompt, temperature=0.2,
                                      maxOutputTokens=200),
                    "generateContent")
                self.assertEqual(r.json()["responseId"],
                                 entry["facts"]["id"])
                a = span["attributes"]
                self.assertEqual(a.get("gen_ai.request.temperature"), 0.2)
                self.assertEqual(a.get("gen_ai.request.max_tokens"), 200)
                self.assert_user_input(span, prompt)

    def test_max_tokens(self):
        """generationConfig.maxOutputTokens reached: MAX_TOKENS."""
        for client, method, sse in (("requests", "generateContent", False),
                                    ("curl", "streamGenerateContent", True)):
            with self.subTest(client=client, method=method):
                _, _, span, entry = self.check(
                    client, self.body("Tell me all about Biarritz.",
                                      maxOutputTokens=4), method, sse,
                    reason="MAX_TOKENS")
                self.assertEqual(entry["facts"]["output_text"],
                                 "This is a mock")
                self.assertEqual(span["attributes"].get(
                    "gen_ai.usage.output_tokens"), 4)

    def test_stream_sse(self):
        for client in ("curl", "httpx", "aiohttp"):
            with self.subTest(client=client):
                prompt = "Stream a long story about Angers via %s." % client
                body = self.body(prompt)
                body["systemInstruction"] = {"parts": [{"text": "Be kind."}]}
                r, _, span, entry = self.check(
                    client, body, "streamGenerateContent", sse=True,
                    opts="delay=5")
                self.assertEqual(entry["facts"]["output_text"],
                                 "This is a mock answer to: " + prompt)
                self.assertEqual(system_text(span["attributes"]), "Be kind.")

    def test_stream_json_array(self):
        """streamGenerateContent without alt=sse: a JSON array sent one
        element at a time (application/json, chunked).  Everything but
        the time to first chunk is checked first: the shim (known bug,
        sink/exchange.c at_sx_resp_begin) takes only text/event-stream
        and application/x-ndjson for streams, so this streamed response
        is decoded as one body, with gen_ai.request.stream true (from the
        path) but no gen_ai.response.time_to_first_chunk."""
        for client in ("requests", "curl"):
            with self.subTest(client=client):
                prompt = "Stream as an array to Nancy via %s." % client
                r, _, span, entry = self.check(
                    client, self.body(prompt), "streamGenerateContent",
                    opts="delay=5", ttfc=False)
                self.assertEqual(entry["facts"]["output_text"],
                                 "This is a mock answer to: " + prompt)
                self.assertTrue(r.stdout.startswith(b"[{"))
                self.assert_ttfc(span)

    def test_function_call(self):
        for client, method, sse in (
                ("httpx", "generateContent", False),
                ("requests", "streamGenerateContent", True),
                ("curl", "streamGenerateContent", True)):
            with self.subTest(client=client, method=method):
                _, spans, span, entry = self.check(
                    client, self.body(QUESTION, tools=True), method, sse)
                (call,) = entry["facts"]["tool_calls"]
                self.assertEqual(call["arguments"], {"city": "Paris"})
                defs = span["attributes"].get("gen_ai.tool.definitions")
                self.assertEqual([d.get("name") for d in defs],
                                 ["get_weather"])
                self.assert_open_tool(spans, entry)

    def test_tool_loop(self):
        r, spans, (s1, s2), log = self.run_loop(
            "gemini", self.mock.url(self.path("generateContent")),
            self.mock.url(self.path("streamGenerateContent", True)),
            "httpx", True)
        for s, e in ((s1, log[0]), (s2, log[1])):
            self.assert_span(s, e, "generate_content", "gcp.gemini",
                             self.MODEL, e["stream"],
                             url=redact_key("%s://127.0.0.1:%d%s" % (
                                 self.mock.scheme, self.mock.port,
                                 e["path"])))
        self.assertTrue(log[1]["stream"])
        self.assertNotIn(GEMINI_SECRET.encode(),
                         open(self.out, "rb").read())


# -------------------------------------------------- encodings and failures

STREAMED = ("responses", "completions", "gemini", "ollama_chat",
            "ollama_generate")
# error.type of the mock's mid-stream error (error_event) per API
EVENT_ERRORS = {"responses": "server_error", "completions": "server_error",
                "gemini": "INTERNAL", "ollama_chat": "error",
                "ollama_generate": "error"}


def error_message(body):
    """The message of an error body: OpenAI's and Google's
    {"error":{"message"}}, Ollama's {"error":"..."}."""
    err = json.loads(body)["error"]
    return err["message"] if isinstance(err, dict) else err


class FailureCases:
    """Compressed bodies and failures, for every API over the class's
    transport (`APIS`)."""

    APIS = ()

    def test_compressed(self):
        """gzip and deflate: streams one sync-flushed block per event;
        whole bodies chunked."""
        clients = ("requests", "httpx")
        n = 0
        for api in self.APIS:
            for enc in ("gzip", "deflate"):
                for stream in (False, True) if api in STREAMED else (False,):
                    client = clients[n % 2]
                    n += 1
                    with self.subTest(api=api, enc=enc, stream=stream):
                        path, body, op, provider, model = self.request_for(
                            api, "Compressed %s to Vannes." % enc, stream)
                        opts = enc if stream else enc + ",chunked"
                        _, _, span, entry = self.call(client, path, body,
                                                      stream, opts)
                        self.assert_span(span, entry, op, provider, model,
                                         stream)

    def test_close_delimited(self):
        """No length and no chunking: the body (or stream) ends at the
        connection's close."""
        for api in self.APIS:
            for stream in (False, True) if api in STREAMED else (False,):
                with self.subTest(api=api, stream=stream):
                    path, body, op, provider, model = self.request_for(
                        api, "Close delimited in Cahors.", stream)
                    _, _, span, entry = self.call("curl", path, body,
                                                  stream, "close")
                    self.assert_span(span, entry, op, provider, model,
                                     stream)

    def test_status_429(self):
        for api in self.APIS:
            with self.subTest(api=api):
                path, body, op, provider, model = self.request_for(
                    api, "Rate limited in Laval.")
                r, spans, span, entry = self.call("curl", path, body,
                                                  opts="status=429")
                self.assertEqual(entry["status"], 429)
                a = span["attributes"]
                self.assertEqual(span["name"], "%s %s" % (op, model))
                self.assertEqual(a.get("gen_ai.provider.name"), provider)
                self.assertEqual(a.get("http.response.status_code"), 429)
                self.assert_error_span(span, "429", error_message(r.stdout))
                self.assertNotIn(GEMINI_SECRET.encode(),
                                 open(self.out, "rb").read())

    def test_error_event(self):
        """A mid-stream error after the first content: an error span
        with the error's type and message, the content before it kept."""
        for api in self.APIS:
            if api not in STREAMED:
                continue
            with self.subTest(api=api):
                path, body, op, provider, model = self.request_for(
                    api, "An error in Lorient, please.", True)
                r, spans, span, entry = self.call("curl", path, body, True,
                                                  "error_event")
                f = entry["facts"]
                self.assertIsNotNone(f.get("error"))
                a = span["attributes"]
                self.assertEqual(a.get("http.response.status_code"), 200)
                self.assertEqual(a.get("error.type"), EVENT_ERRORS[api])
                self.assertEqual(span["status"]["code"], "error")
                if isinstance(f["error"], str) and api.startswith("ollama"):
                    self.assertEqual(span["status"].get("message"),
                                     f["error"])
                self.assertIs(a.get("gen_ai.request.stream"), True)
                self.assertEqual(text_of(a.get("gen_ai.output.messages")),
                                 f["output_text"])

    def test_cut_stream(self):
        """The connection closed mid-stream: error.type truncated, the
        text received so far kept."""
        for api in self.APIS:
            if api not in STREAMED:
                continue
            with self.subTest(api=api):
                path, body, op, provider, model = self.request_for(
                    api, "Cut me off in Quimper, please.", True)
                # Responses: past created, in_progress and the item's
                # start, into the text deltas
                n = 6 if api == "responses" else 2
                self.fresh()
                argv = self.argv("curl", self.mock.url(path, "cut=%d" % n),
                                 body, True)
                r, spans = self.traced(argv, clean=False)
                self.assertNotEqual(r.rc, 0)
                self.check_spans(spans)
                (span,) = self.inference(spans)
                (entry,) = self.mock.log()
                self.assertEqual(entry["events_sent"], n)
                f = entry["facts"]
                self.assertTrue(f["output_text"])
                a = span["attributes"]
                self.assert_error_span(span, "truncated")
                self.assertEqual(a.get("gen_ai.response.model"), f["model"])
                self.assertEqual(text_of(a.get("gen_ai.output.messages")),
                                 f["output_text"])
                self.assertNotIn("gen_ai.response.finish_reasons", a)


class TestFailures(FailureCases, ProviderTest):
    APIS = ("responses", "completions", "gemini", "openai_embeddings",
            "gemini_embed", "ollama_chat")


class TestFailuresPlainHTTP(FailureCases, ProviderTest):
    TLS = False
    APIS = ("ollama_chat", "ollama_generate", "ollama_embed")


# ------------------------------------------------------------------- Ollama

class OllamaCases:
    """Ollama over the class's transport (TLS or plain HTTP)."""

    def tool_body(self, **kw):
        b = {"model": "llama3.1", "tools": [CHAT_TOOL],
             "messages": [{"role": "user", "content": QUESTION}]}
        b.update(kw)
        return b

    def check(self, client, path, body, stream, op, opts=None,
              reason="stop"):
        r, spans, span, entry = self.call(client, path, body, stream, opts)
        self.assert_span(span, entry, op, "ollama", body["model"], stream)
        a = span["attributes"]
        if op != "embeddings":
            self.assertEqual(a["gen_ai.response.finish_reasons"], [reason])
        self.assertNotIn("gen_ai.response.id", a)  # Ollama has none
        self.assertEqual(a.get("agenttrace.transport"),
                         "openssl" if self.mock.tls else "socket")
        if stream:
            lines = [json.loads(x) for x in r.stdout.splitlines()
                     if x.strip()]
            self.assertTrue(lines[-1]["done"])
        return r, spans, span, entry

    def test_chat_plain(self):
        for client in ("curl", "requests"):
            with self.subTest(client=client):
                prompt = "Hello llama from Pau via %s." % client
                body = {"model": "llama3", "stream": False,
                        "options": {"temperature": 0.1, "num_predict": 99},
                        "messages": [{"role": "user", "content": prompt}]}
                r, _, span, entry = self.check(client, "/api/chat", body,
                                               False, "chat")
                self.assertEqual(r.json()["message"]["content"],
                                 entry["facts"]["output_text"])
                a = span["attributes"]
                self.assertEqual(a.get("gen_ai.request.temperature"), 0.1)
                self.assertEqual(a.get("gen_ai.request.max_tokens"), 99)
                self.assert_user_input(span, prompt)

    def test_chat_streamed(self):
        """No "stream" in the body: Ollama streams NDJSON."""
        for client in ("curl", "httpx", "aiohttp"):
            with self.subTest(client=client):
                prompt = "Stream to me in Nimes via %s." % client
                body = {"model": "llama3",
                        "messages": [{"role": "user", "content": prompt}]}
                _, _, span, entry = self.check(client, "/api/chat", body,
                                               True, "chat", "delay=5")
                self.assertEqual(entry["facts"]["output_text"],
                                 "This is a mock answer to: " + prompt)
                self.assert_user_input(span, prompt)

    def test_generate(self):
        for client, stream in (("curl", False), ("httpx", False),
                               ("requests", True), ("curl", True)):
            with self.subTest(client=client, stream=stream):
                prompt = "Generate for Albi via %s" % client
                body = {"model": "llama3", "prompt": prompt,
                        "system": "Be terse."}
                if not stream:
                    body["stream"] = False
                _, _, span, entry = self.check(
                    client, "/api/generate", body, stream,
                    "text_completion", "delay=5" if stream else None)
                self.assert_user_input(span, prompt)
                self.assertEqual(system_text(span["attributes"]), "Be terse.")

    def test_num_predict(self):
        """options.num_predict reached: done_reason "length"."""
        for client, stream in (("curl", False), ("requests", True)):
            with self.subTest(client=client, stream=stream):
                body = {"model": "llama3", "prompt": "Tell me about Lourdes",
                        "options": {"num_predict": 3}}
                if not stream:
                    body["stream"] = False
                _, _, span, entry = self.check(
                    client, "/api/generate", body, stream, "text_completion",
                    reason="length")
                self.assertEqual(entry["facts"]["output_text"], "This is a")
                self.assertEqual(span["attributes"].get(
                    "gen_ai.request.max_tokens"), 3)

    def test_tool_calls(self):
        for client, stream in (("requests", False), ("httpx", True),
                               ("curl", True)):
            with self.subTest(client=client, stream=stream):
                body = self.tool_body() if stream else \
                    self.tool_body(stream=False)
                _, spans, span, entry = self.check(
                    client, "/api/chat", body, stream, "chat")
                (call,) = entry["facts"]["tool_calls"]
                self.assertIsNone(call["id"])
                self.assertEqual(call["arguments"], {"city": "Paris"})
                defs = span["attributes"].get("gen_ai.tool.definitions")
                self.assertEqual([d.get("name") for d in defs],
                                 ["get_weather"])
                self.assert_open_tool(spans, entry)

    def test_embed(self):
        for client, inp in (("curl", "Embed Arles"),
                            ("requests", ["Embed Sete", "and Agde"])):
            with self.subTest(client=client):
                body = {"model": "all-minilm", "input": inp}
                _, _, span, entry = self.check(client, "/api/embed", body,
                                               False, "embeddings")
                self.assertEqual(span["attributes"].get(
                    "gen_ai.embeddings.dimension.count"), 32)
                self.assertEqual(text_of(span["attributes"].get(
                    "gen_ai.input.messages")),
                    inp if isinstance(inp, str) else "".join(inp))

    def test_tool_loop(self):
        url = self.mock.url("/api/chat")
        r, spans, (s1, s2), log = self.run_loop("ollama", url, url,
                                                "requests", True)
        self.assert_span(s1, log[0], "chat", "ollama", "llama3.1")
        self.assert_span(s2, log[1], "chat", "ollama", "llama3.1",
                         stream=True)


class TestOllamaTLS(OllamaCases, ProviderTest):
    TLS = True


class TestOllamaPlainHTTP(OllamaCases, ProviderTest):
    """Local model servers speak plain HTTP: captured at the socket
    layer."""
    TLS = False


# ------------------------------------------------------------------ runner

def main(argv):
    """Run this module's tests (or those named) and print
    "integration: N passed, N failed", counted as test_shim.py counts."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", dest="patterns")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    module = sys.modules[__name__]
    suite = loader.loadTestsFromNames(args.names, module) if args.names \
        else loader.loadTestsFromModule(module)
    print("shim: %s\npreload: %s" % (SHIM, test_shim.PRELOAD), flush=True)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(
        suite)
    failed = set()
    for test, _ in result.failures + result.errors:
        test = getattr(test, "test_case", test)
        failed.add(test.id())
    failed.update(t.id() for t in result.unexpectedSuccesses)
    holders = {t for t in failed if " " in t}  # setUpClass errors
    skipped = {t.id() for t, _ in result.skipped
               if not hasattr(t, "test_case")} - failed
    passed = result.testsRun - len(failed - holders) - len(skipped)
    if skipped:
        print("integration: %d skipped" % len(skipped))
    print("integration: %d passed, %d failed" % (max(passed, 0),
                                                  len(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
