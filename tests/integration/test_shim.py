#!/usr/bin/python3
"""test_shim.py - integration tests of libagenttrace: real, unmodified
clients (Debian's curl, Python's http.client and urllib, requests, httpx,
the example agent) run as child processes under LD_PRELOAD against the mock
LLM server over TLS; the spans they leave in the JSONL file are checked
against SPANS.md and against the facts the mock logged about what it sent.

Run from the repository root:

    /usr/bin/python3 -m unittest discover -s tests/integration -v
    /usr/bin/python3 tests/integration/test_shim.py [-k PATTERN]

Environment:
    AT_SHIM           the shim (default build/libagenttrace.so)
    AT_AGENT          the example agent (default build/agenttrace-agent)
    AT_PRELOAD_EXTRA  libraries preloaded before the shim (the ASan runtime
                      for a build-asan/ shim; found with gcc when unset)
    AT_CURL           curl (default when it can run), fetch (clients.py's
                      stand-in), auto

Debian's curl cannot run with libasan preloaded, shim or not: libasan,
not linked into curl, initialises lazily on the first malloc, which comes
from newlocale() in libp11-kit's constructor (curl -> libldap -> gnutls ->
p11-kit); its init calls dlerror() -> dcgettext(), which takes and releases
__libc_setlocale_lock that newlocale() holds for writing, and curl's
setlocale() in main() then waits for ever.  So under an ASan preload
(auto), the curl tests run clients.py's `fetch`, which speaks the same
requests with curl's command line and exit codes.

The test runner itself is never preloaded.  Standard library only.
"""

import hashlib
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PY = "/usr/bin/python3"
CLIENTS = str(HERE / "clients.py")
MOCK = str(REPO / "scripts" / "mock_llm.py")
TIMEOUT = 60


def _abs(p):
    return str(Path(p) if os.path.isabs(p) else (REPO / p).resolve())


SHIM = _abs(os.environ.get("AT_SHIM") or "build/libagenttrace.so")
AGENT = _abs(os.environ.get("AT_AGENT") or "build/agenttrace-agent")
GNUTLS_CLIENT = os.path.join(os.path.dirname(AGENT), "curl-gnutls-client")
JANSSON_HOST = os.path.join(os.path.dirname(AGENT), "jansson-host")
MSGCB_CLIENT = os.path.join(os.path.dirname(AGENT), "curl-msgcb-client")


def _preload_extra():
    v = os.environ.get("AT_PRELOAD_EXTRA")
    if v is not None:
        return v.strip()
    if "build-asan" in Path(SHIM).parts:
        try:
            r = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                               stdout=subprocess.PIPE, timeout=30)
            return r.stdout.decode().strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return ""


PRELOAD_EXTRA = _preload_extra()
PRELOAD = (PRELOAD_EXTRA + " " + SHIM).strip()
_CURL = []


def curl_usable():
    """Whether Debian's curl runs under the preload (see above)."""
    if not _CURL:
        mode = os.environ.get("AT_CURL", "auto")
        ok = mode != "fetch"
        if ok and mode != "curl" and PRELOAD_EXTRA:
            try:
                r = subprocess.run(["curl", "--version"], env=traced_env(
                    None, {"AGENTTRACE_DISABLE": "1"}),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, timeout=10)
                ok = r.returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
        _CURL.append(ok)
    return _CURL[0]


def curl_agent_name():
    return "curl" if curl_usable() else "clients.py"

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
RESOURCE_KEYS = ("service.name", "process.pid", "process.parent_pid",
                 "process.executable.name", "process.command_line",
                 "telemetry.sdk.name", "telemetry.sdk.version")
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages",
                "gen_ai.system_instructions", "gen_ai.tool.definitions",
                "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
                "agenttrace.http.request.body",
                "agenttrace.http.response.body")
BAD_STDERR = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                        r"^agenttrace[:\[]", re.M)

WEATHER_TOOL_OPENAI = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}}, "required": ["city"]}}}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather", "description": "Get the current weather.",
    "input_schema": {"type": "object", "properties": {
        "city": {"type": "string"}}, "required": ["city"]}}


# ------------------------------------------------------------- processes

def base_env():
    """The test's environment without anything that would change how a
    client behaves or what the shim does."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGENTTRACE_", "AT_", "ASAN_", "UBSAN_"))
           and k not in ("LD_PRELOAD", "TRACEPARENT", "http_proxy",
                         "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                         "all_proxy", "ALL_PROXY", "CURL_CA_BUNDLE",
                         "SSL_CERT_FILE", "SSL_CERT_DIR",
                         "REQUESTS_CA_BUNDLE", "PYTHONPATH",
                         "PYTHONSTARTUP", "CURL_HOME")}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Result:
    def __init__(self, argv, rc, stdout, stderr, path, window=None):
        self.window = window
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.path = path

    @property
    def text(self):
        return self.stdout.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.stdout)

    def describe(self):
        return "%s: rc=%s stderr=%r" % (" ".join(map(str, self.argv)),
                                        self.rc, self.stderr[-2000:])


def traced_env(output, extra=None):
    env = base_env()
    env["LD_PRELOAD"] = PRELOAD
    if PRELOAD_EXTRA:
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    if output is not None:
        env["AGENTTRACE_OUTPUT"] = str(output)
    env.update(extra or {})
    return env


def run(argv, output=None, traced=True, env=None, cwd=None, timeout=TIMEOUT,
        stdin=None):
    """Run `argv` to its end, under the shim when `traced`, writing spans
    to `output`.  Returns a Result."""
    if traced:
        e = traced_env(output, env)
    else:
        e = base_env()
        e.update(env or {})
    t0 = time.time_ns()
    p = subprocess.run([str(a) for a in argv], env=e, cwd=cwd,
                       stdin=subprocess.DEVNULL if stdin is None else stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return Result(argv, p.returncode, p.stdout, p.stderr, output,
                  (t0, time.time_ns()))


def read_spans(tc, path):
    """Every line of `path` parsed; fails the test on a bad line."""
    spans = []
    with open(path, "rb") as f:
        data = f.read()
    tc.assertTrue(data == b"" or data.endswith(b"\n"),
                  "the file does not end with a newline")
    for i, line in enumerate(data.split(b"\n")[:-1]):
        try:
            s = json.loads(line.decode("utf-8"))
        except ValueError as e:
            tc.fail("line %d is not a JSON object (%s): %r" %
                    (i + 1, e, line[:300]))
        tc.assertIsInstance(s, dict, "line %d" % (i + 1))
        spans.append(s)
    return spans


# ------------------------------------------------------------ span facts



def is_process_span(s):
    return s["name"].startswith(("invoke_agent ", "process ")) and \
        s.get("kind") == "internal" and \
        s.get("attributes", {}).get("gen_ai.operation.name") \
        != "execute_tool"


def dur(s):
    return (s["end_time_unix_nano"] - s["start_time_unix_nano"]) / 1e9


def parts(msgs, kind):
    for m in msgs or []:
        for p in m.get("parts") or []:
            if isinstance(p, dict) and p.get("type") == kind:
                yield m, p


def text_of(msgs):
    """The text parts of messages, joined; None when there are none."""
    t = [p.get("content") or "" for _, p in parts(msgs, "text")]
    return "".join(t) if t else None


def calls_of(msgs):
    return [{"id": p.get("id"), "name": p.get("name"),
             "arguments": p.get("arguments")}
            for _, p in parts(msgs, "tool_call")]


def content_text(content):
    if isinstance(content, str):
        return content
    out = []
    for p in content or []:
        if isinstance(p, dict) and isinstance(p.get("text"), str):
            out.append(p["text"])
    return "".join(out)


def as_json(v):
    """A JSON value given either as a value or as a JSON string."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


# ------------------------------------------------------------ mock server

class Mock:
    """One mock_llm.py process with its port file."""

    def __init__(self, tls=True):
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="at-mock.")
        self.cert = os.path.join(self.dir, "cert.pem")
        pf = os.path.join(self.dir, "port")
        argv = [PY, MOCK, "--port", "0", "--port-file", pf]
        if tls:
            argv += ["--tls", "--cert-dir", self.dir]
        self.errf = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(argv, env=base_env(),
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.errf)
        deadline = time.monotonic() + 20
        while not os.path.exists(pf):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mock_llm.py did not start")
            time.sleep(0.02)
        with open(pf) as f:
            self.port = int(f.read())
        ctx = ssl.create_default_context(cafile=self.cert) if tls else None
        handlers = [urllib.request.ProxyHandler({})]
        if ctx:
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        self.opener = urllib.request.build_opener(*handlers)

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def url(self, path, opts=None):
        pre = "/mock/" + opts if opts else ""
        return "%s://127.0.0.1:%d%s%s" % (self.scheme, self.port, pre, path)

    def _req(self, method, path):
        req = urllib.request.Request(self.url(path), method=method,
                                     data=b"" if method == "POST" else None)
        with self.opener.open(req, timeout=30) as r:
            return r.read()

    def reset(self):
        self._req("POST", "/mock/reset")

    def log(self):
        return json.loads(self._req("GET", "/mock/log"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# -------------------------------------------------------------- the base

class ShimTest(unittest.TestCase):
    """One TLS mock server per class; a fresh log and directory per
    test."""

    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(SHIM):
            raise unittest.SkipTest("no shim at %s (run make)" % SHIM)
        cls.mock = Mock(tls=True)

    @classmethod
    def tearDownClass(cls):
        cls.mock.stop()

    def setUp(self):
        self.window = None
        self.mock.reset()
        self.tmp = tempfile.mkdtemp(prefix="at-test.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.out = os.path.join(self.tmp, "t.jsonl")

    # -- running clients

    def traced(self, argv, clean=True, output=None, **kw):
        """Run a client under the shim; check its exit status (0) and its
        stderr (empty when `clean`, never sanitizer or shim output).
        Returns (Result, spans)."""
        output = output or self.out
        r = run(argv, output=output, **kw)
        self.window = r.window
        self.check_stderr(r, clean)
        if clean:
            self.assertEqual(r.rc, 0, r.describe())
        spans = read_spans(self, output) if os.path.exists(output) else []
        return r, spans

    def check_stderr(self, r, clean=True):
        err = r.stderr.decode("utf-8", "replace")
        self.assertIsNone(BAD_STDERR.search(err),
                          "shim or sanitizer output on stderr: " + err)
        if clean:
            self.assertEqual(err, "", r.describe())

    def curl(self, url, body=None, headers=(), extra=(), stream=False):
        """curl's command line; clients.py fetch's where curl cannot run
        under the preload."""
        argv = ["curl", "-sS", "--http1.1", "--max-time", "30"]
        if not curl_usable():
            argv[:1] = [PY, CLIENTS, "fetch"]
        if self.mock.tls:
            argv += ["--cacert", self.mock.cert]
        if stream:
            argv.append("-N")
        for h in headers:
            argv += ["-H", h]
        if body is not None:
            if not isinstance(body, str):
                body = json.dumps(body)
            argv += ["-H", "Content-Type: application/json",
                     "--data-binary", body]
        return argv + list(extra) + [url]

    def client(self, *args):
        return [PY, CLIENTS] + [str(a) for a in args]

    # -- checking spans

    def check_spans(self, spans, external_parents=(), one_trace=True):
        """SPANS.md rules that hold for every span of a file.  Returns
        {pid: process span}."""
        self.assertTrue(spans, "no span written")
        ids = {}
        for i, s in enumerate(spans):
            with self.subTest(span=i, name=s.get("name")):
                for k in ("trace_id", "span_id", "name", "kind",
                          "start_time_unix_nano", "end_time_unix_nano",
                          "status", "resource", "attributes"):
                    self.assertIn(k, s)
                self.assertRegex(s["trace_id"], HEX32)
                self.assertNotEqual(s["trace_id"], "0" * 32)
                self.assertRegex(s["span_id"], HEX16)
                self.assertNotEqual(s["span_id"], "0" * 16)
                self.assertNotIn(s["span_id"], ids, "span_id not unique")
                ids[s["span_id"]] = s
                if "parent_span_id" in s:
                    self.assertRegex(s["parent_span_id"], HEX16)
                    self.assertNotEqual(s["parent_span_id"], "0" * 16)
                self.assertIsInstance(s["name"], str)
                self.assertIn(s["kind"], ("client", "internal"))
                for k in ("start_time_unix_nano", "end_time_unix_nano"):
                    self.assertIsInstance(s[k], int)
                    self.assertGreater(s[k], 1.5e18)
                self.assertLessEqual(s["start_time_unix_nano"],
                                     s["end_time_unix_nano"])
                if self.window:
                    # CLOCK_REALTIME, inside the client's lifetime (1 ms
                    # of slack for clock granularity).
                    self.assertGreaterEqual(s["start_time_unix_nano"],
                                            self.window[0] - 1000000)
                    self.assertLessEqual(s["end_time_unix_nano"],
                                         self.window[1] + 1000000)
                st = s["status"]
                self.assertIsInstance(st, dict)
                self.assertIn(st.get("code"), ("ok", "unset", "error"))
                if st["code"] == "error":
                    self.assertIsInstance(st.get("message"), str)
                    if s["kind"] == "client":
                        self.assertIn("error.type", s["attributes"])
                res = s["resource"]
                for k in RESOURCE_KEYS:
                    self.assertIn(k, res)
                self.assertIsInstance(res["process.pid"], int)
                self.assertEqual(res["telemetry.sdk.name"], "agenttrace")
                self.assertIsInstance(s["attributes"], dict)
                for ev in s.get("events") or []:
                    for k in ("name", "time_unix_nano"):
                        self.assertIn(k, ev)
                op = s["attributes"].get("gen_ai.operation.name")
                if op in ("chat", "text_completion", "embeddings",
                          "generate_content") or \
                        re.match(r"^[A-Z]+ ", s["name"]):
                    self.assertEqual(s["kind"], "client")
                if op in ("execute_tool", "invoke_agent"):
                    self.assertEqual(s["kind"], "internal")
        if one_trace:
            self.assertEqual(len({s["trace_id"] for s in spans}), 1,
                             "spans of one run are in more than one trace")
        # The last line of each process is its only process span.
        by_pid = {}
        for s in spans:
            by_pid.setdefault(s["resource"]["process.pid"], []).append(s)
        procs = {}
        for pid, ss in by_pid.items():
            with self.subTest(pid=pid):
                ps = [s for s in ss if is_process_span(s)]
                self.assertEqual(len(ps), 1,
                                 "pid %d: %d process spans" % (pid, len(ps)))
                self.assertIs(ss[-1], ps[0], "pid %d: the process span is "
                              "not its last line" % pid)
                p = ps[0]
                procs[pid] = p
                a = p["attributes"]
                self.assertEqual(a.get("process.pid"), pid)
                self.assertIn("process.command_line", a)
                if p["name"].startswith("invoke_agent "):
                    self.assertEqual(a.get("gen_ai.operation.name"),
                                     "invoke_agent")
                    self.assertEqual(p["name"], "invoke_agent " +
                                     str(a.get("gen_ai.agent.name")))
                else:
                    self.assertEqual(p["name"], "process " +
                                     str(p["resource"].get(
                                         "process.executable.name")))
        # Parents: present only when they exist; every span descends from
        # its process span; the process span of a child of a traced
        # process has a parent in that process.
        for s in spans:
            with self.subTest(parent_of=s["name"]):
                pid = s["resource"]["process.pid"]
                par = s.get("parent_span_id")
                if par is None:
                    self.assertTrue(is_process_span(s),
                                    "a root span that is not a process span")
                    self.assertNotIn(s["resource"]["process.parent_pid"],
                                     procs, "no parent, but the parent "
                                     "process was traced")
                    continue
                if par in external_parents:
                    self.assertTrue(is_process_span(s))
                    continue
                self.assertIn(par, ids, "parent_span_id names no span")
                parent = ids[par]
                self.assertEqual(parent["trace_id"], s["trace_id"])
                if is_process_span(s):
                    self.assertEqual(parent["resource"]["process.pid"],
                                     s["resource"]["process.parent_pid"])
                else:
                    cur, hops = s, 0
                    while not is_process_span(cur) and hops < 50:
                        cur = ids.get(cur.get("parent_span_id"))
                        self.assertIsNotNone(cur, "broken parent chain")
                        hops += 1
                    self.assertIs(cur, procs[pid],
                                  "does not descend from its process span")
                    p = procs[pid]
                    self.assertLessEqual(p["start_time_unix_nano"],
                                         s["start_time_unix_nano"])
                    self.assertLessEqual(s["end_time_unix_nano"],
                                         p["end_time_unix_nano"])
        return procs

    def only(self, spans, prefix, n=1):
        got = [s for s in spans if s["name"].startswith(prefix)]
        self.assertEqual(len(got), n, "%d spans named %s*, want %d: %s" %
                         (len(got), prefix, n, [s["name"] for s in spans]))
        return got if n != 1 else got[0]

    def chats(self, spans):
        return [s for s in spans
                if s["attributes"].get("gen_ai.operation.name") == "chat"]

    def assert_chat(self, span, entry, port=None, content=True,
                    input_check=True):
        """A successful inference span against the mock's log entry."""
        a = span["attributes"]
        req = entry["request"]
        f = entry["facts"]
        port = port or self.mock.port
        self.assertEqual(span["name"], "chat " + req["model"])
        self.assertEqual(span["kind"], "client")
        self.assertEqual(a.get("gen_ai.operation.name"), "chat")
        self.assertEqual(a.get("gen_ai.provider.name"), entry["provider"])
        self.assertEqual(a.get("gen_ai.request.model"), req["model"])
        self.assertEqual(a.get("gen_ai.response.model"), f["model"])
        self.assertEqual(a.get("gen_ai.response.id"), f["id"])
        self.assertEqual(a.get("gen_ai.usage.input_tokens"),
                         f["input_tokens"])
        self.assertEqual(a.get("gen_ai.usage.output_tokens"),
                         f["output_tokens"])
        self.assertEqual(a.get("gen_ai.response.finish_reasons", []),
                         f["finish_reasons"])
        self.assertEqual(a.get("server.address"), "127.0.0.1")
        self.assertEqual(a.get("server.port"), port)
        self.assertEqual(a.get("url.full"), "%s://127.0.0.1:%d%s" % (
            self.mock.scheme, port, entry["path"]))
        self.assertEqual(a.get("http.request.method"), "POST")
        self.assertEqual(a.get("http.response.status_code"),
                         entry["status"])
        # libcurl on OpenSSL (curl, the example agent) is captured by the
        # OpenSSL and socket hooks as any program is, once
        self.assertEqual(a.get("agenttrace.transport"),
                         "openssl" if self.mock.tls else "socket")
        self.assertEqual(a.get("agenttrace.http.version"), "1.1")
        if entry["stream"]:
            self.assertIs(a.get("gen_ai.request.stream"), True)
            ttfc = a.get("gen_ai.response.time_to_first_chunk")
            self.assertIsInstance(ttfc, (int, float))
            self.assertGreater(ttfc, 0)
            self.assertLess(ttfc, dur(span))
        else:
            self.assertIn(a.get("gen_ai.request.stream"), (None, False))
        params = [("temperature", "gen_ai.request.temperature"),
                  ("top_p", "gen_ai.request.top_p"),
                  ("seed", "gen_ai.request.seed")]
        mt = req.get("max_tokens", req.get("max_completion_tokens"))
        if mt is not None:
            self.assertEqual(a.get("gen_ai.request.max_tokens"), mt)
        else:
            self.assertNotIn("gen_ai.request.max_tokens", a)
        for key, attr in params:
            if key in req:
                self.assertEqual(a.get(attr), req[key], attr)
            else:
                self.assertNotIn(attr, a)
        stop = req.get("stop", req.get("stop_sequences"))
        if stop is not None:
            self.assertEqual(a.get("gen_ai.request.stop_sequences"),
                             [stop] if isinstance(stop, str) else stop)
        else:
            self.assertNotIn("gen_ai.request.stop_sequences", a)
        if not entry.get("truncated") and not f.get("error"):
            self.assertIn(span["status"]["code"], ("ok", "unset"))
            self.assertNotIn("error.type", a)
        if not content:
            for k in CONTENT_KEYS:
                self.assertNotIn(k, a)
            return
        out = a.get("gen_ai.output.messages")
        self.assertIsInstance(out, list)
        self.assertEqual(text_of(out), f["output_text"])
        self.assertEqual(calls_of(out), f["tool_calls"])
        for m in out:
            self.assertEqual(m.get("role"), "assistant")
        if f["finish_reasons"]:
            self.assertEqual([m.get("finish_reason") for m in out],
                             f["finish_reasons"])
        if req.get("tools"):
            defs = a.get("gen_ai.tool.definitions")
            self.assertIsInstance(defs, list)
            self.assertEqual(len(defs), len(req["tools"]))
            self.assertIn("get_weather", json.dumps(defs))
        else:
            self.assertNotIn("gen_ai.tool.definitions", a)
        if entry["provider"] == "anthropic" and "system" in req:
            si = a.get("gen_ai.system_instructions")
            self.assertIsInstance(si, list)
            self.assertEqual("".join(p.get("content", "") for p in si
                                     if p.get("type") == "text"),
                             content_text(req["system"]))
        if input_check:
            msgs = a.get("gen_ai.input.messages")
            self.assertIsInstance(msgs, list)
            self.assertEqual(
                [(m.get("role"), text_of([m]) or "") for m in msgs],
                [(m["role"], content_text(m.get("content")))
                 for m in req["messages"]])

    def assert_open_tool(self, spans, entry):
        """A tool call never answered: its execute_tool span is closed at
        process exit with status unset."""
        (call,) = entry["facts"]["tool_calls"]
        tool = self.only(spans, "execute_tool ")
        a = tool["attributes"]
        self.assertEqual(tool["name"], "execute_tool " + call["name"])
        self.assertEqual(tool["kind"], "internal")
        self.assertEqual(a.get("gen_ai.operation.name"), "execute_tool")
        self.assertEqual(a.get("gen_ai.tool.call.id"), call["id"])
        self.assertEqual(as_json(a.get("gen_ai.tool.call.arguments")),
                         call["arguments"])
        self.assertNotIn("gen_ai.tool.call.result", a)
        self.assertIs(a.get("agenttrace.inferred"), True)
        self.assertEqual(tool["status"]["code"], "unset")
        self.assertEqual(tool["parent_span_id"], spans[-1]["span_id"])
        (chat,) = self.chats(spans)
        self.assertLessEqual(chat["end_time_unix_nano"],
                             tool["start_time_unix_nano"])

    def assert_error_span(self, span, etype, message=None):
        a = span["attributes"]
        self.assertEqual(span["status"]["code"], "error", span["status"])
        self.assertEqual(a.get("error.type"), etype)
        if message is not None:
            self.assertEqual(span["status"].get("message"), message)

    def run_chat(self, argv, n=1, **kw):
        """Run a client that makes `n` model calls; check the file and
        return (result, spans, chat spans, log entries)."""
        r, spans = self.traced(argv, **kw)
        self.check_spans(spans)
        chats = self.chats(spans)
        log = self.mock.log()
        self.assertEqual(len(log), n)
        self.assertEqual(len(chats), n, [s["name"] for s in spans])
        chats.sort(key=lambda s: s["start_time_unix_nano"])
        return r, spans, chats, log

    def openai_body(self, prompt="Hello from the test.", stream=False,
                    tools=False, **extra):
        body = {"model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": prompt}]}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [WEATHER_TOOL_OPENAI]
        body.update(extra)
        return body

    def anthropic_body(self, prompt="Hello from the test.", stream=False,
                       tools=False, system=None):
        body = {"model": "claude-sonnet-4-5", "max_tokens": 256,
                "messages": [{"role": "user", "content": prompt}]}
        if system is not None:
            body["system"] = system
        if stream:
            body["stream"] = True
        if tools:
            body["tools"] = [WEATHER_TOOL_ANTHROPIC]
        return body

    ANTHROPIC_HEADERS = ("x-api-key: sk-ant-not-a-real-key",
                         "anthropic-version: 2023-06-01")


# ------------------------------------------------------------ 1, 2, 16

class TestCurlOpenAI(ShimTest):

    def test_01_plain_chat(self):
        body = self.openai_body(
            "Hello Paris, how are you?", temperature=0.5, max_tokens=50,
            top_p=0.9, seed=7, stop=["END"])
        body["messages"].insert(0, {"role": "system",
                                    "content": "Be brief."})
        r, spans, (chat,), (entry,) = self.run_chat(
            self.curl(self.mock.url("/v1/chat/completions"), body))
        self.assertEqual(r.json()["id"], entry["facts"]["id"])
        self.assertEqual(len(spans), 2)
        proc = spans[-1]
        self.assertEqual(proc["name"], "invoke_agent " + curl_agent_name())
        self.assertEqual(proc["attributes"].get("process.exit_code"), 0)
        a = chat["attributes"]
        for k in ("gen_ai.operation.name", "gen_ai.provider.name",
                  "gen_ai.request.model", "gen_ai.response.model",
                  "gen_ai.response.id", "gen_ai.usage.input_tokens",
                  "gen_ai.usage.output_tokens",
                  "gen_ai.response.finish_reasons", "gen_ai.input.messages",
                  "gen_ai.output.messages", "server.address", "server.port",
                  "url.full", "http.request.method",
                  "http.response.status_code", "agenttrace.transport",
                  "agenttrace.http.version", "gen_ai.request.temperature",
                  "gen_ai.request.max_tokens", "gen_ai.request.top_p",
                  "gen_ai.request.seed", "gen_ai.request.stop_sequences"):
            with self.subTest(attribute=k):
                self.assertIn(k, a)
        self.assert_chat(chat, entry)
        self.assertEqual(a["gen_ai.provider.name"], "openai")
        u = r.json()["usage"]
        self.assertEqual(a.get("gen_ai.usage.cache_read.input_tokens"),
                         u["prompt_tokens_details"]["cached_tokens"])
        self.assertEqual(a.get("gen_ai.usage.reasoning.output_tokens"),
                         u["completion_tokens_details"]["reasoning_tokens"])
        self.assertNotIn("gen_ai.usage.cache_creation.input_tokens", a)
        self.assertEqual(chat["parent_span_id"], proc["span_id"])
        self.assertEqual(chat["trace_id"], proc["trace_id"])

    def test_02_streamed_chat(self):
        for tools in (False, True):
            with self.subTest(tools=tools):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                prompt = "What is the weather in Paris?" if tools else \
                    "Tell me a story about Lyon."
                body = self.openai_body(prompt, stream=True, tools=tools)
                r, spans, (chat,), (entry,) = self.run_chat(self.curl(
                    self.mock.url("/v1/chat/completions", "delay=20"),
                    body, stream=True))
                self.assertIn(b"data: [DONE]", r.stdout)
                self.assertTrue(entry["stream"])
                self.assert_chat(chat, entry)
                a = chat["attributes"]
                self.assertIs(a.get("gen_ai.request.stream"), True)
                self.assertIsNotNone(a.get("gen_ai.usage.input_tokens"))
                if tools:
                    calls = calls_of(a["gen_ai.output.messages"])
                    self.assertEqual(len(calls), 1)
                    self.assertIsInstance(calls[0]["arguments"], dict)
                    self.assertEqual(calls[0]["arguments"],
                                     entry["facts"]["tool_calls"][0]
                                     ["arguments"])
                    self.assertEqual(a["gen_ai.response.finish_reasons"],
                                     ["tool_calls"])
                    self.assert_open_tool(spans, entry)
                else:
                    self.assertTrue(entry["facts"]["output_text"])
                    self.assertEqual(text_of(a["gen_ai.output.messages"]),
                                     entry["facts"]["output_text"])
                # delay=20 between events: the first chunk comes well
                # before the end.
                self.assertLess(a["gen_ai.response.time_to_first_chunk"],
                                dur(chat) - 0.05)

    def test_02b_latency(self):
        """Durations and time to first chunk measure the exchange."""
        for stream in (False, True):
            with self.subTest(stream=stream):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                body = self.openai_body("Slow answer please.", stream=stream)
                r, spans, (chat,), (entry,) = self.run_chat(self.curl(
                    self.mock.url("/v1/chat/completions",
                                  "latency=300,delay=30"), body,
                    stream=stream))
                self.assert_chat(chat, entry)
                self.assertGreaterEqual(dur(chat), 0.3)
                if stream:
                    ttfc = chat["attributes"][
                        "gen_ai.response.time_to_first_chunk"]
                    self.assertGreaterEqual(ttfc, 0.3)
                    self.assertLess(ttfc, dur(chat) - 0.1)

    def test_16_tool_endpoint_get(self):
        r, spans = self.traced(self.curl(
            self.mock.url("/tool/weather?city=Paris")))
        self.check_spans(spans)
        self.assertEqual(self.chats(spans), [])
        get = self.only(spans, "GET ")
        a = get["attributes"]
        self.assertEqual(get["name"], "GET 127.0.0.1")
        self.assertEqual(get["kind"], "client")
        self.assertEqual(a.get("http.request.method"), "GET")
        self.assertEqual(a.get("http.response.status_code"), 200)
        self.assertEqual(a.get("server.address"), "127.0.0.1")
        self.assertEqual(a.get("server.port"), self.mock.port)
        self.assertEqual(a.get("url.full"),
                         self.mock.url("/tool/weather?city=Paris"))
        self.assertIn(get["status"]["code"], ("ok", "unset"))
        self.assertIn("agenttrace.http.response.body", a)
        self.assertEqual(as_json(a["agenttrace.http.response.body"]),
                         r.json())
        self.assertEqual(get["parent_span_id"], spans[-1]["span_id"])


# ------------------------------------------------------------------- 3

class TestAnthropic(ShimTest):

    def test_03_messages(self):
        for stream in (False, True):
            for tools in (False, True):
                with self.subTest(stream=stream, tools=tools):
                    self.mock.reset()
                    if os.path.exists(self.out):
                        os.unlink(self.out)
                    body = self.anthropic_body(
                        "What is the weather in Paris?" if tools else
                        "Say hello to Lyon.", stream=stream, tools=tools,
                        system="You are terse.")
                    r, spans, (chat,), (entry,) = self.run_chat(self.curl(
                        self.mock.url("/v1/messages",
                                      "delay=5" if stream else None),
                        body, self.ANTHROPIC_HEADERS, stream=stream))
                    self.assert_chat(chat, entry)
                    a = chat["attributes"]
                    self.assertEqual(a["gen_ai.provider.name"], "anthropic")
                    self.assertEqual(a["gen_ai.system_instructions"],
                                     [{"type": "text",
                                       "content": "You are terse."}])
                    self.assertEqual(a["gen_ai.response.finish_reasons"],
                                     ["tool_use" if tools else "end_turn"])
                    self.assertIsInstance(a["gen_ai.usage.input_tokens"],
                                          int)
                    self.assertIsInstance(a["gen_ai.usage.output_tokens"],
                                          int)
                    if not stream:
                        u = r.json()["usage"]
                        self.assertEqual(
                            a.get("gen_ai.usage.cache_read.input_tokens"),
                            u["cache_read_input_tokens"])
                        self.assertEqual(a.get(
                            "gen_ai.usage.cache_creation.input_tokens"),
                            u["cache_creation_input_tokens"])
                    if tools:
                        calls = calls_of(a["gen_ai.output.messages"])
                        self.assertEqual(len(calls), 1)
                        self.assertTrue(calls[0]["id"].startswith("toolu_"))
                        self.assertEqual(calls[0]["arguments"],
                                         {"city": "Paris"})
                        self.assert_open_tool(spans, entry)
                    else:
                        self.assertEqual(self.only(spans, "execute_tool ",
                                                   0), [])
                    self.assertEqual(chat["parent_span_id"],
                                     spans[-1]["span_id"])


# --------------------------------------------------------------- 4, 5

class TestPythonClients(ShimTest):

    def call(self, lib, url, body, stream):
        return self.client("call", lib, url, self.mock.cert,
                           json.dumps(body), "stream" if stream else "")

    def test_04_libraries(self):
        for lib in ("stdlib", "urllib", "requests", "httpx", "aiohttp"):
            for stream in (False, True):
                with self.subTest(lib=lib, stream=stream):
                    self.mock.reset()
                    if os.path.exists(self.out):
                        os.unlink(self.out)
                    body = self.openai_body("Hello from %s in Nantes." % lib,
                                            stream=stream)
                    r, spans, (chat,), (entry,) = self.run_chat(self.call(
                        lib, self.mock.url("/v1/chat/completions"), body,
                        stream))
                    self.assertNotIn(b"ERROR", r.stdout)
                    if stream:
                        self.assertIn(b"data: [DONE]", r.stdout)
                    else:
                        self.assertEqual(r.json()["id"],
                                         entry["facts"]["id"])
                    self.assert_chat(chat, entry)
                    self.assertEqual(chat["parent_span_id"],
                                     spans[-1]["span_id"])
                    self.assertTrue(spans[-1]["name"].startswith(
                        "invoke_agent "))

    def test_04b_anthropic_httpx_streamed(self):
        body = self.anthropic_body("Hello from httpx.", stream=True,
                                   system="Be kind.")
        argv = self.client("call", "httpx", self.mock.url("/v1/messages"),
                           self.mock.cert, json.dumps(body), "stream",
                           json.dumps({"x-api-key": "sk-ant-x",
                                       "anthropic-version": "2023-06-01"}))
        r, spans, (chat,), (entry,) = self.run_chat(argv)
        self.assert_chat(chat, entry)

    def test_05_encodings(self):
        for opts in ("gzip", "deflate", "chunked", "gzip,chunked",
                     "deflate,chunked", "close"):
            for stream in (False, True):
                with self.subTest(opts=opts, stream=stream):
                    self.mock.reset()
                    if os.path.exists(self.out):
                        os.unlink(self.out)
                    body = self.openai_body("Encoding test in Rennes.",
                                            stream=stream, tools=False)
                    r, spans, (chat,), (entry,) = self.run_chat(self.call(
                        "requests",
                        self.mock.url("/v1/chat/completions", opts), body,
                        stream))
                    self.assertNotIn(b"ERROR", r.stdout)
                    if not stream:
                        self.assertEqual(r.json()["id"],
                                         entry["facts"]["id"])
                    self.assert_chat(chat, entry)

    def test_05b_gzip_tool_call_stream(self):
        body = self.openai_body("What is the weather in Brest?",
                                stream=True, tools=True)
        r, spans, (chat,), (entry,) = self.run_chat(self.call(
            "httpx", self.mock.url("/v1/chat/completions", "gzip"), body,
            True))
        self.assert_chat(chat, entry)
        self.assertEqual(calls_of(chat["attributes"]
                                  ["gen_ai.output.messages"])[0]
                         ["arguments"], {"city": "Brest"})


# ------------------------------------------------------------------- 6

class TestErrors(ShimTest):

    def test_06a_status_429(self):
        for provider in ("openai", "anthropic"):
            with self.subTest(provider=provider):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                if provider == "openai":
                    argv = self.curl(self.mock.url("/v1/chat/completions",
                                                   "status=429"),
                                     self.openai_body())
                else:
                    argv = self.curl(self.mock.url("/v1/messages",
                                                   "status=429"),
                                     self.anthropic_body(),
                                     self.ANTHROPIC_HEADERS)
                r, spans, (chat,), (entry,) = self.run_chat(argv)
                message = r.json()["error"]["message"]
                a = chat["attributes"]
                self.assert_error_span(chat, "429", message)
                self.assertEqual(a.get("http.response.status_code"), 429)
                self.assertEqual(a.get("gen_ai.provider.name"), provider)
                self.assertEqual(chat["name"],
                                 "chat " + entry["request"]["model"])

    def cut_run(self, provider, opts, clean=False):
        if provider == "openai":
            argv = self.curl(self.mock.url("/v1/chat/completions", opts),
                             self.openai_body("Tell me about Toulouse.",
                                              stream=True), stream=True)
        else:
            argv = self.curl(self.mock.url("/v1/messages", opts),
                             self.anthropic_body("Tell me about Toulouse.",
                                                 stream=True),
                             self.ANTHROPIC_HEADERS, stream=True)
        r, spans = self.traced(argv, clean=clean)
        self.check_spans(spans)
        chats = self.chats(spans)
        log = self.mock.log()
        self.assertEqual(len(log), 1)
        self.assertEqual(len(chats), 1, [s["name"] for s in spans])
        return r, spans, chats[0], log[0]

    def test_06b_cut_stream(self):
        for provider, n in (("openai", 3), ("anthropic", 6)):
            with self.subTest(provider=provider):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r, spans, chat, entry = self.cut_run(provider, "cut=%d" % n)
                self.assertNotEqual(r.rc, 0)  # curl: partial transfer
                self.assertEqual(entry["events_sent"], n)
                f = entry["facts"]
                self.assertTrue(f["output_text"])
                self.assert_error_span(chat, "truncated")
                a = chat["attributes"]
                self.assertEqual(text_of(a.get("gen_ai.output.messages")),
                                 f["output_text"])
                self.assertEqual(a.get("gen_ai.response.id"), f["id"])
                self.assertIs(a.get("gen_ai.request.stream"), True)

    def test_06c_reset_stream(self):
        for provider in ("openai", "anthropic"):
            with self.subTest(provider=provider):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r, spans, chat, entry = self.cut_run(provider, "reset=4")
                self.assertNotEqual(r.rc, 0)
                self.assertEqual(chat["status"]["code"], "error")
                self.assertIn(chat["attributes"].get("error.type"),
                              ("connection_reset", "truncated"))

    def test_06d_error_event(self):
        for provider, etype in (("anthropic", "overloaded_error"),
                                ("openai", "server_error")):
            with self.subTest(provider=provider):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r, spans, chat, entry = self.cut_run(provider,
                                                     "error_event",
                                                     clean=True)
                self.assertEqual(entry["facts"].get("error"), etype)
                sent = [json.loads(line[6:]) for line in
                        r.text.splitlines() if line.startswith("data: {")]
                err = [o["error"] for o in sent if "error" in o]
                self.assertEqual(len(err), 1)
                self.assert_error_span(chat, etype, err[0]["message"])
                self.assertEqual(chat["attributes"].get(
                    "http.response.status_code"), 200)

    def test_06e_cut_plain_body(self):
        """A non-stream body cut in the middle (Content-Length framing)."""
        for provider in ("openai", "anthropic"):
            for opts in ("cut", "reset"):
                with self.subTest(provider=provider, opts=opts):
                    self.mock.reset()
                    if os.path.exists(self.out):
                        os.unlink(self.out)
                    if provider == "openai":
                        argv = self.curl(
                            self.mock.url("/v1/chat/completions", opts),
                            self.openai_body())
                    else:
                        argv = self.curl(self.mock.url("/v1/messages", opts),
                                         self.anthropic_body(),
                                         self.ANTHROPIC_HEADERS)
                    r, spans = self.traced(argv, clean=False)
                    self.assertNotEqual(r.rc, 0)
                    self.check_spans(spans)
                    (chat,) = self.chats(spans)
                    self.assertEqual(chat["status"]["code"], "error")
                    self.assertIn(chat["attributes"].get("error.type"),
                                  ("truncated", "connection_reset")
                                  if opts == "reset" else ("truncated",))
                    self.assertEqual(chat["attributes"].get(
                        "http.response.status_code"), 200)

    def test_06f_client_gives_up(self):
        """The client times out before the answer: the request is still
        reported, as a failed span, when the process exits."""
        argv = self.curl(self.mock.url("/v1/chat/completions",
                                       "latency=3000"), self.openai_body(),
                         extra=["--max-time", "1"])
        r, spans = self.traced(argv, clean=False)
        self.assertEqual(r.rc, 28)  # curl: operation timed out
        self.check_spans(spans)
        chats = self.chats(spans)
        self.assertEqual(len(chats), 1, [s["name"] for s in spans])
        chat = chats[0]
        self.assertEqual(chat["name"], "chat gpt-4o-mini")
        self.assertEqual(chat["status"]["code"], "error")
        self.assertIn("error.type", chat["attributes"])
        self.assertNotIn("http.response.status_code", chat["attributes"])


# --------------------------------------------------------------- 7, 8

class TestConnections(ShimTest):

    def test_07_keepalive(self):
        r, spans, chats, log = self.run_chat(self.client(
            "keepalive", self.mock.url("/v1/chat/completions"),
            self.mock.cert, 5), n=5)
        self.assertEqual(len(r.text.splitlines()), 5)
        file_order = self.chats(spans)
        self.assertEqual([s["span_id"] for s in file_order],
                         [s["span_id"] for s in chats],
                         "chat spans not written in order")
        for i, (chat, entry) in enumerate(zip(chats, log)):
            with self.subTest(exchange=i):
                self.assertEqual(entry["request"]["messages"][0]["content"],
                                 "request %d" % i)
                self.assert_chat(chat, entry)
        for a, b in zip(chats, chats[1:]):
            self.assertLessEqual(a["end_time_unix_nano"],
                                 b["start_time_unix_nano"])

    def test_07b_mixed_framings_one_connection(self):
        """Every framing and encoding in turn on one connection."""
        r, spans = self.traced(self.client(
            "mixed", "https://127.0.0.1:%d" % self.mock.port,
            self.mock.cert))
        self.check_spans(spans)
        log = self.mock.log()
        chats = sorted(self.chats(spans),
                       key=lambda s: s["start_time_unix_nano"])
        self.assertEqual(len(log), len(r.text.splitlines()))
        self.assertEqual(len(chats), len(log))
        for i, (chat, entry) in enumerate(zip(chats, log)):
            with self.subTest(exchange=i, options=entry["options"],
                              stream=entry["stream"]):
                self.assert_chat(chat, entry)

    def test_08_threads(self):
        nthreads, reps = 16, 3
        r, spans, chats, log = self.run_chat(self.client(
            "threads", self.mock.url("/v1/chat/completions"),
            self.mock.cert, nthreads, reps), n=nthreads * reps)
        by_id = {e["facts"]["id"]: e for e in log}
        self.assertEqual(len(by_id), nthreads * reps)
        seen = set()
        for chat in chats:
            a = chat["attributes"]
            rid = a.get("gen_ai.response.id")
            with self.subTest(response=rid):
                self.assertIn(rid, by_id)
                self.assertNotIn(rid, seen)
                seen.add(rid)
                entry = by_id[rid]
                self.assert_chat(chat, entry)
                prompt = text_of(a["gen_ai.input.messages"])
                self.assertRegex(prompt, r"^thread \d+$")
                self.assertEqual(text_of(a["gen_ai.output.messages"]),
                                 "This is a mock answer to: " + prompt)
        counts = {}
        for chat in chats:
            p = text_of(chat["attributes"]["gen_ai.input.messages"])
            counts[p] = counts.get(p, 0) + 1
        self.assertEqual(counts, {"thread %d" % t: reps
                                  for t in range(nthreads)})


# ------------------------------------------------------------------- 9

class TestAgent(ShimTest):

    def agent(self, **env):
        e = {"OPENAI_BASE_URL": "https://127.0.0.1:%d/v1" % self.mock.port,
             "AGENT_CA_FILE": self.mock.cert}
        e.update(env)
        return e

    def test_09_example_agent(self):
        if not os.path.exists(AGENT):
            self.skipTest("no agent at %s" % AGENT)
        r, spans = self.traced([AGENT], env=self.agent())
        self.assertIn("sunny", r.text)
        procs = self.check_spans(spans)
        self.assertEqual(len(procs), 1)
        proc = spans[-1]
        self.assertEqual(proc["name"], "invoke_agent agenttrace-agent")
        self.assertEqual(proc["attributes"].get("process.exit_code"), 0)
        log = self.mock.log()
        self.assertEqual(len(log), 2)
        chats = sorted(self.chats(spans),
                       key=lambda s: s["start_time_unix_nano"])
        self.assertEqual(len(chats), 2)
        c1, c2 = chats
        with self.subTest(span="chat 1"):
            self.assert_chat(c1, log[0])
            self.assertEqual(c1["attributes"]
                             ["gen_ai.response.finish_reasons"],
                             ["tool_calls"])
            self.assertEqual(c1["parent_span_id"], proc["span_id"])
        call = calls_of(c1["attributes"]["gen_ai.output.messages"])[0]
        tool = self.only(spans, "execute_tool ")
        get = self.only(spans, "GET ")
        with self.subTest(span="execute_tool"):
            a = tool["attributes"]
            self.assertEqual(tool["name"], "execute_tool get_weather")
            self.assertEqual(tool["kind"], "internal")
            self.assertEqual(a.get("gen_ai.operation.name"), "execute_tool")
            self.assertEqual(a.get("gen_ai.tool.name"), "get_weather")
            self.assertIs(a.get("agenttrace.inferred"), True)
            self.assertEqual(a.get("gen_ai.tool.call.id"), call["id"])
            self.assertEqual(a.get("gen_ai.tool.call.id"),
                             log[0]["facts"]["tool_calls"][0]["id"])
            self.assertEqual(as_json(a.get("gen_ai.tool.call.arguments")),
                             log[0]["facts"]["tool_calls"][0]["arguments"])
            self.assertEqual(as_json(a.get("gen_ai.tool.call.result")),
                             {"city": "Paris", "temperature_c": 21,
                              "conditions": "sunny"})
            self.assertEqual(tool["parent_span_id"], proc["span_id"])
            self.assertEqual(tool["status"]["code"], "ok")
            self.assertLessEqual(c1["end_time_unix_nano"],
                                 tool["start_time_unix_nano"])
            self.assertLessEqual(tool["end_time_unix_nano"],
                                 c2["start_time_unix_nano"])
        with self.subTest(span="GET"):
            self.assertEqual(get["name"], "GET 127.0.0.1")
            self.assertEqual(get["parent_span_id"], tool["span_id"])
            self.assertLessEqual(tool["start_time_unix_nano"],
                                 get["start_time_unix_nano"])
            self.assertLessEqual(get["end_time_unix_nano"],
                                 tool["end_time_unix_nano"])
            self.assertEqual(get["attributes"].get(
                "http.response.status_code"), 200)
            self.assertEqual(as_json(get["attributes"].get(
                "agenttrace.http.response.body")),
                as_json(tool["attributes"].get("gen_ai.tool.call.result")))
        with self.subTest(span="chat 2"):
            self.assert_chat(c2, log[1], input_check=False)
            self.assertIs(c2["attributes"].get("gen_ai.request.stream"),
                          True)
            self.assertEqual(c2["parent_span_id"], proc["span_id"])
            msgs = c2["attributes"]["gen_ai.input.messages"]
            self.assertEqual([m.get("role") for m in msgs],
                             [m["role"] for m in
                              log[1]["request"]["messages"]])
            self.assertEqual([p.get("id") for _, p in
                              parts(msgs, "tool_call_response")],
                             [call["id"]])
            self.assertEqual(calls_of(msgs), [call])
            self.assertEqual(text_of(c2["attributes"]
                                     ["gen_ai.output.messages"]) + "\n",
                             r.text)
        self.assertEqual([s["name"] for s in spans].index(proc["name"]),
                         len(spans) - 1)


# ------------------------------------------------------------- 10, 12

class TestProcesses(ShimTest):

    def test_10_subprocess_tree(self):
        stray = "/t.jsonl"
        existed = os.path.exists(stray)
        argv = self.client("tree", self.mock.url("/v1/chat/completions"),
                           self.mock.cert, PY, CLIENTS)
        r = run(argv, output="t.jsonl", cwd=self.tmp)
        self.window = r.window
        self.check_stderr(r)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertTrue(os.path.exists(self.out), "no file in the cwd")
        spans = read_spans(self, self.out)
        if not existed and os.path.exists(stray):
            os.unlink(stray)
            self.fail("a child wrote %s: relative AGENTTRACE_OUTPUT not "
                      "made absolute" % stray)
        procs = self.check_spans(spans)
        self.assertEqual(len(procs), 3, [s["name"] for s in spans])
        top = [p for p in procs.values() if "parent_span_id" not in p]
        self.assertEqual(len(top), 1)
        top = top[0]
        self.assertTrue(top["name"].startswith("invoke_agent "))
        sh = [p for p in procs.values()
              if p["resource"]["process.executable.name"] == "sh"]
        self.assertEqual(len(sh), 1)
        sh = sh[0]
        self.assertEqual(sh["name"], "process sh")
        self.assertEqual(sh["parent_span_id"], top["span_id"])
        self.assertEqual(sh["attributes"].get("process.exit_code"), 0)
        child = [p for p in procs.values() if p is not top and p is not sh]
        self.assertEqual(len(child), 1)
        child = child[0]
        self.assertTrue(child["name"].startswith("invoke_agent "),
                        "a process that made a model call: " + child["name"])
        ids = {s["span_id"]: s for s in spans}
        par = ids[child["parent_span_id"]]
        self.assertIs(par, top)
        log = self.mock.log()
        self.assertEqual(len(log), 2)
        chats = self.chats(spans)
        self.assertEqual(len(chats), 2)
        for chat in chats:
            pid = chat["resource"]["process.pid"]
            entry = log[0] if pid == top["resource"]["process.pid"] \
                else log[1]
            self.assert_chat(chat, entry)
            self.assertEqual(chat["parent_span_id"], procs[pid]["span_id"])
        self.assertEqual(child["resource"]["process.parent_pid"],
                         top["resource"]["process.pid"])

    def test_10b_w3c_traceparent(self):
        tid, pid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        for var in ("AGENTTRACE_TRACEPARENT", "TRACEPARENT"):
            with self.subTest(var=var):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r, spans = self.traced(
                    self.curl(self.mock.url("/v1/chat/completions"),
                              self.openai_body()),
                    env={var: "00-%s-%s-01" % (tid, pid)})
                self.check_spans(spans, external_parents={pid})
                for s in spans:
                    self.assertEqual(s["trace_id"], tid)
                self.assertEqual(spans[-1]["parent_span_id"], pid)
                self.assertEqual(len(self.chats(spans)), 1)

    ENV_PROG = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
ctx = libc.getenv(b"AGENTTRACE_CONTEXT")
assert ctx and ctx.count(b"-") >= 5, ctx
assert os.environ.get("AGENTTRACE_CONTEXT", "").encode() == ctx
# glibc grows, shrinks and clears an environment array it did not allocate
for i in range(300):
    assert libc.setenv(b"AT_T%d" % i, b"v%d" % i, 1) == 0
for i in range(300):
    assert libc.getenv(b"AT_T%d" % i) == b"v%d" % i, i
assert libc.getenv(b"AGENTTRACE_CONTEXT") == ctx
keep = ctypes.create_string_buffer(b"AT_P=put")
assert libc.putenv(keep) == 0 and libc.getenv(b"AT_P") == b"put"
assert libc.unsetenv(b"AT_T7") == 0 and libc.getenv(b"AT_T7") is None
# a child started with the C environment (system: posix_spawn of sh)
rc = os.system('test "$AT_T299" = v299 && test -z "$AT_T7" && '
               'test -n "$AGENTTRACE_CONTEXT" && /bin/true')
assert rc == 0, rc
assert libc.clearenv() == 0 and libc.getenv(b"AGENTTRACE_CONTEXT") is None
assert libc.setenv(b"AT_AFTER", b"1", 1) == 0
assert libc.getenv(b"AT_AFTER") == b"1"
print("ok")
"""

    def test_10c_environment_export(self):
        """The shim puts AGENTTRACE_CONTEXT in the environment itself (no
        putenv): into the inherited variable's slot, else into an array of
        its own, else (a very large environment) through putenv.  The
        host's setenv/putenv/unsetenv/clearenv go on working on it, and
        children started with it hang under the process that started
        them."""
        big = {"AT_BIG_%d" % i: "x" for i in range(200)}
        cases = [("own array", [PY, "-c", self.ENV_PROG], {}),
                 ("putenv", [PY, "-c", self.ENV_PROG], big),
                 ("inherited slot",
                  ["sh", "-c", 'exec "$0" -c "$1"; exit 9', PY,
                   self.ENV_PROG], {})]
        for what, argv, env in cases:
            with self.subTest(what=what):
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r, spans = self.traced(argv, env=env)
                self.assertEqual(r.stdout, b"ok\n", r.describe())
                procs = self.check_spans(spans)
                py = [p for p in procs.values()
                      if p["resource"]["process.executable.name"]
                      .startswith("python")]
                self.assertEqual(len(py), 1, [s["name"] for s in spans])
                py = py[0]
                # sh -c (system) and /bin/true, each under its parent
                sh = [p for p in procs.values()
                      if p["resource"]["process.parent_pid"] ==
                      py["resource"]["process.pid"]]
                self.assertEqual(len(sh), 1, [s["name"] for s in spans])
                self.assertEqual(sh[0]["parent_span_id"], py["span_id"])
                tr = [p for p in procs.values()
                      if p["resource"]["process.executable.name"] == "true"]
                self.assertEqual(len(tr), 1, [s["name"] for s in spans])
                self.assertEqual(tr[0]["parent_span_id"], sh[0]["span_id"])
                self.assertEqual(len(procs), 3)

    def test_10d_fork_without_exec(self):
        """fork() with no exec: before any call (an idle parent, whose
        child starts /bin/true and forks a calling grandchild before it
        has an identity of its own), after one, a child ending in
        os._exit, a child forking a grandchild.
        Each child's process span hangs under the span open in its parent
        when it forked, starts no earlier than its parent and no later
        than its first call, and each call hangs under its own process."""
        r, spans = self.traced(self.client(
            "fork", self.mock.url("/v1/chat/completions"), self.mock.cert))
        pids = [tuple(int(x) for x in line.split()[1:])
                for line in r.stdout.decode().splitlines()
                if line.startswith("pid ")]
        self.assertEqual(len(pids), 6, r.stdout)
        (parent, _), (idle, p1), (late, p5), (child, p2), (middle, p3), \
            (grand, p4) = pids
        self.assertEqual([p1, p5, p2, p3, p4],
                         [parent, idle, parent, parent, middle])
        procs = self.check_spans(spans)
        true = [p for p, s in procs.items()
                if s["resource"]["process.executable.name"] == "true"]
        self.assertEqual(len(true), 1, [s["name"] for s in spans])
        self.assertEqual(set(procs),
                         {parent, idle, late, child, middle, grand, true[0]},
                         [s["name"] for s in spans])
        top = procs[parent]
        self.assertNotIn("parent_span_id", top)
        under = {idle: parent, late: idle, true[0]: idle, child: parent,
                 middle: parent, grand: middle}
        for pid, ppid in under.items():
            p = procs[pid]
            self.assertEqual(p["parent_span_id"], procs[ppid]["span_id"], pid)
            self.assertEqual(p["resource"]["process.parent_pid"], ppid)
            self.assertEqual(p["trace_id"], top["trace_id"])
            self.assertGreaterEqual(int(p["start_time_unix_nano"]),
                                    int(procs[ppid]["start_time_unix_nano"]))
            self.assertEqual(p["attributes"].get("process.exit_code"), 0)
        self.assertTrue(procs[idle]["name"].startswith("process "),
                        procs[idle]["name"])
        chats = self.chats(spans)
        self.assertEqual(len(chats), 6, [s["name"] for s in spans])
        want = {parent: ["parent call", "parent again"],
                child: ["child call"], middle: ["middle call"],
                grand: ["grandchild call"], late: ["late call"]}
        seen = {}
        for c in chats:
            pid = c["resource"]["process.pid"]
            self.assertEqual(c["parent_span_id"], procs[pid]["span_id"])
            self.assertLessEqual(int(procs[pid]["start_time_unix_nano"]),
                                 int(c["start_time_unix_nano"]))
            msgs = c["attributes"]["gen_ai.input.messages"]
            seen.setdefault(pid, []).append(
                [t for t in ("parent call", "parent again", "late call",
                             "grandchild call", "child call", "middle call")
                 if t in json.dumps(msgs)][0])
        self.assertEqual(seen, want)
        for pid in (child, middle, grand, late):
            self.assertTrue(procs[pid]["name"].startswith("invoke_agent "),
                            procs[pid]["name"])
        ids = [s["span_id"] for s in spans]
        self.assertEqual(len(ids), len(set(ids)))

    def test_10e_daemon_child(self):
        """daemon() forks without going through fork(), before the process
        ever called it, so no fork handler of the shim's runs in the
        child: the child is recognised by its pid when it makes a call,
        and its spans are its own, under its parent's process span.  (The
        parent ends in daemon()'s own _exit, inside libc, where no hook
        sees it: its span is not written; README, Limits.)"""
        marker = os.path.join(self.tmp, "daemon.done")
        r = run(self.client("daemon", self.mock.url("/v1/chat/completions"),
                            self.mock.cert, marker), output=self.out)
        self.window = r.window
        self.check_stderr(r)
        self.assertEqual(r.rc, 0, r.describe())
        parent, ctx = r.stdout.split()[1:3]
        parent = int(parent)
        parent_span = ctx.decode().split("-")[2]  # its own span
        deadline = time.time() + 20
        while not os.path.exists(marker) and time.time() < deadline:
            time.sleep(0.05)
        with open(marker) as f:
            pid, text = f.read().split(" ", 1)
        pid = int(pid)
        self.assertIn("daemon call", text)
        # the daemon writes its process span when it exits, just after
        while time.time() < deadline:
            procs = {s["resource"]["process.pid"]: s
                     for s in read_spans(self, self.out)
                     if s["name"].startswith(("process ", "invoke_agent "))}
            if pid in procs:
                break
            time.sleep(0.05)
        spans = read_spans(self, self.out)
        procs = self.check_spans(spans, external_parents={parent_span})
        self.assertEqual(set(procs), {pid})
        d = procs[pid]
        self.assertEqual(d["parent_span_id"], parent_span)
        self.assertEqual(d["resource"]["process.parent_pid"], parent)
        self.assertTrue(d["name"].startswith("invoke_agent "), d["name"])
        chats = self.chats(spans)
        self.assertEqual(len(chats), 1)
        self.assertEqual(chats[0]["resource"]["process.pid"], pid)
        self.assertEqual(chats[0]["parent_span_id"], d["span_id"])

    def test_12e_exit_codes(self):
        cases = [(["sh", "-c", "exit 3"], 3),
                 ([PY, "-c", "import sys; sys.exit(5)"], 5),
                 ([PY, "-c", "import os; os._exit(7)"], 7),
                 (["sh", "-c", "true"], 0)]
        for argv, code in cases:
            with self.subTest(argv=argv):
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r = run(argv, output=self.out)
                self.window = r.window
                self.assertEqual(r.rc, code)
                self.check_stderr(r)
                spans = read_spans(self, self.out)
                self.check_spans(spans)
                self.assertEqual(len(spans), 1)
                self.assertEqual(spans[0]["attributes"].get(
                    "process.exit_code"), code)


# ------------------------------------------------------------------ 11

class TestSecrets(ShimTest):

    SECRETS = {"bearer": "sk-TESTSECRET-a1b2c3d4e5f6",
               "xapikey": "XAPIKEY-SECRET-7788",
               "apikey": "APIKEY-SECRET-9911",
               "goog": "GOOG-SECRET-4455",
               "cookie": "COOKIE-SECRET-2233",
               "proxy": "PROXY-SECRET-6677",
               "query": "QUERY-SECRET-5566",
               "query2": "QUERY2-SECRET-1212"}

    def headers(self):
        s = self.SECRETS
        return ["Authorization: Bearer " + s["bearer"],
                "x-api-key: " + s["xapikey"],
                "api-key: " + s["apikey"],
                "x-goog-api-key: " + s["goog"],
                "Cookie: session=" + s["cookie"],
                "Proxy-Authorization: Basic " + s["proxy"]]

    def grep(self):
        with open(self.out, "rb") as f:
            data = f.read()
        for name, v in self.SECRETS.items():
            with self.subTest(secret=name):
                self.assertNotIn(v.encode(), data)
        self.assertNotIn(b"TESTSECRET", data)
        return data

    def test_11_secrets_never_written(self):
        q = "?key=%s&api_key=%s" % (self.SECRETS["query"],
                                    self.SECRETS["query2"])
        for client in ("curl-chat", "curl-get", "requests", "anthropic"):
            with self.subTest(client=client):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                if client == "curl-chat":
                    argv = self.curl(
                        self.mock.url("/v1/chat/completions" + q),
                        self.openai_body(), self.headers())
                elif client == "anthropic":
                    argv = self.curl(self.mock.url("/v1/messages" + q),
                                     self.anthropic_body(stream=True),
                                     self.headers() +
                                     ["anthropic-version: 2023-06-01"],
                                     stream=True)
                elif client == "curl-get":
                    argv = self.curl(self.mock.url("/tool/weather" + q +
                                                   "&city=Paris"),
                                     headers=self.headers())
                else:
                    h = dict(x.split(": ", 1) for x in self.headers())
                    argv = self.client(
                        "call", "requests",
                        self.mock.url("/v1/chat/completions" + q),
                        self.mock.cert, json.dumps(self.openai_body()), "",
                        json.dumps(h))
                r, spans = self.traced(argv)
                self.check_spans(spans)
                self.grep()
                work = [s for s in spans if not is_process_span(s)]
                self.assertEqual(len(work), 1, [s["name"] for s in spans])
                url = work[0]["attributes"].get("url.full", "")
                self.assertIn("REDACTED", url)
                self.assertIn("127.0.0.1:%d" % self.mock.port, url)


# ------------------------------------------------------------------ 12

class TestHarmless(ShimTest):

    def test_12a_commands_unchanged(self):
        for argv in (["ls", "-l", "/etc/ssl", "/usr/share/doc/curl"],
                     ["sh", "-c", "true"],
                     [PY, "-c", "pass"],
                     [PY, "-c", "import ssl; print(ssl.OPENSSL_VERSION)"]):
            with self.subTest(argv=argv):
                if os.path.exists(self.out):
                    os.unlink(self.out)
                plain = run(argv, traced=False)
                t = run(argv, output=self.out)
                self.window = t.window
                self.assertEqual(t.rc, 0, t.describe())
                self.assertEqual(t.stderr, b"")
                self.assertEqual(t.stdout, plain.stdout)
                spans = read_spans(self, self.out)
                self.check_spans(spans)
                self.assertEqual(len(spans), 1)

    def test_12b_downloads_byte_identical(self):
        for path, size in (("/page", None), ("/download?bytes=5000000",
                                             5000000)):
            with self.subTest(path=path):
                if os.path.exists(self.out):
                    os.unlink(self.out)
                argv = self.curl(self.mock.url(path))
                plain = run(argv, traced=False)
                self.assertEqual(plain.rc, 0, plain.describe())
                r, spans = self.traced(argv)
                if size:
                    self.assertEqual(len(r.stdout), size)
                self.assertEqual(hashlib.sha256(r.stdout).hexdigest(),
                                 hashlib.sha256(plain.stdout).hexdigest())
                self.check_spans(spans)
                get = self.only(spans, "GET ")
                self.assertEqual(get["name"], "GET 127.0.0.1")
                a = get["attributes"]
                self.assertEqual(a.get("http.response.status_code"), 200)
                self.assertNotIn("agenttrace.http.response.body", a)
                self.assertNotIn("agenttrace.http.request.body", a)
                self.assertEqual(self.chats(spans), [])

    def test_12c_chat_output_unchanged(self):
        def norm(out):
            o = json.loads(out)
            o.pop("created", None)
            return o
        for stream in (False, True):
            with self.subTest(stream=stream):
                argv = self.curl(self.mock.url("/v1/chat/completions"),
                                 self.openai_body(stream=stream),
                                 stream=stream)
                self.mock.reset()
                plain = run(argv, traced=False)
                self.mock.reset()
                r, spans = self.traced(argv)
                if stream:
                    strip = re.compile(rb'"created":\d+')
                    self.assertEqual(strip.sub(b"", r.stdout),
                                     strip.sub(b"", plain.stdout))
                else:
                    self.assertEqual(norm(r.stdout), norm(plain.stdout))

    def test_12d_errno_preserved(self):
        for cmd, opts in (("wantread", None), ("bodyerr", "reset")):
            with self.subTest(client=cmd):
                if os.path.exists(self.out):
                    os.unlink(self.out)
                argv = self.client(cmd, self.mock.url("/v1/chat/completions",
                                                      opts), self.mock.cert)
                plain = run(argv, traced=False)
                self.assertEqual(plain.rc, 0, plain.describe())
                r, spans = self.traced(argv)
                self.assertEqual(r.text, plain.text)
                self.assertIn("ERROR", r.text)
                self.check_spans(spans)


    def test_12e_errno_at_start(self):
        """The shim's start (its configuration read, the span file's path
        made absolute and exported, an oversized number refused) leaves
        the errno a program starts with as it was."""
        src = os.path.join(self.tmp, "errno_main.c")
        exe = os.path.join(self.tmp, "errno_main")
        with open(src, "w") as f:
            f.write("#include <errno.h>\n#include <stdio.h>\n"
                    "int main(void) { printf(\"errno %d\\n\", errno); "
                    "return 0; }\n")
        subprocess.run(["gcc", "-o", exe, src], check=True)
        self.assertEqual(run([exe], traced=False).stdout.strip(), b"errno 0")
        for label, output, extra in (
                ("absolute path", self.out, {}),
                ("relative path: getcwd, setenv", "rel.jsonl", {}),
                ("a size past 64 bits: strtoull's ERANGE", self.out,
                 {"AGENTTRACE_MAX_BODY": "99999999999999999999999",
                  "AGENTTRACE_RING_SIZE": "123456789012345678901234567"})):
            with self.subTest(label):
                r = run([exe], output=output, env=extra, cwd=self.tmp)
                self.assertEqual(r.rc, 0, r.describe())
                self.assertEqual(r.stdout.strip(), b"errno 0", r.describe())

    def test_12f_own_libraries(self):
        """The shim needs only libc and exports only its hooks: its
        libraries (jansson, nghttp2, zlib, brotli, zstd) are private
        copies, which a host's own copies never meet."""
        d = subprocess.run(["readelf", "-dW", SHIM], capture_output=True,
                           text=True, check=True).stdout
        needed = [n for n in re.findall(
            r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", d)
            if not n.startswith(("libasan.", "libubsan."))]  # make asan
        self.assertEqual(needed, ["libc.so.6"], d)
        syms = subprocess.run(["nm", "-D", "--defined-only", SHIM],
                              capture_output=True, text=True,
                              check=True).stdout.split()
        exported = {x.split("@")[0] for x in syms[2::3]}
        mapped = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*);", open(
            REPO / "preload" / "exports.map").read().split("local:")[0]))
        self.assertTrue(exported, syms)
        self.assertLessEqual(exported, mapped | {"GLIBC_2.2.5"},
                             sorted(exported - mapped))
        # two versions of libc's symbols, checked in every process at load
        # (preload/versions.c): a new import with a later default version
        # belongs in the Makefile's V1_WRAP
        v = subprocess.run(["readelf", "-VW", SHIM], capture_output=True,
                           text=True, check=True).stdout
        needs = v.split("Version needs", 1)[-1]
        libc = [x for x in re.split(r"File: ", needs)
                if x.startswith("libc.so.6")]
        self.assertEqual(len(libc), 1, v)
        # (memcpy's GLIBC_2.14 is absent from `make asan`'s build, where
        # ASan's own memcpy takes every copy)
        self.assertIn(sorted(re.findall(r"Name: (\S+)", libc[0])),
                      (["GLIBC_2.14", "GLIBC_2.2.5"], ["GLIBC_2.2.5"]), v)

    def test_12g_host_with_its_own_jansson(self):
        """A host that gives jansson its own allocator
        (json_set_alloc_funcs) sees none of the shim's JSON work."""
        if not os.path.exists(JANSSON_HOST):
            self.skipTest("no %s (run make)" % JANSSON_HOST)
        r, spans = self.traced([JANSSON_HOST, self.mock.url(
            "/v1/chat/completions"), self.mock.cert, self.out])
        self.assertIn("span written", r.text)
        self.assertIn("from other threads 0", r.text)
        self.check_spans(spans)
        a = self.only(spans, "chat ")["attributes"]
        self.assertEqual(text_of(a["gen_ai.output.messages"]),
                         r.text.splitlines()[0])
        self.assertEqual(a["gen_ai.input.messages"][0]["parts"][0]["content"],
                         "a host with its own jansson")


# ------------------------------------------------------------- 13, 14

class TestConfig(ShimTest):

    def chat_argv(self, body=None, stream=False):
        return self.curl(self.mock.url("/v1/chat/completions"),
                         body or self.openai_body(stream=stream),
                         stream=stream)

    def test_13a_disable(self):
        r = run(self.chat_argv(), output=self.out,
                env={"AGENTTRACE_DISABLE": "1"})
        self.assertEqual(r.rc, 0, r.describe())
        self.check_stderr(r)
        self.assertEqual(r.json()["object"], "chat.completion")
        self.assertFalse(os.path.exists(self.out), "a file was written")

    def test_13a2_output_path_lengths(self):
        """The span file's path is kept in a short buffer when it fits and
        in a large one when not: both are written where they say; a
        relative one is made absolute for the children; one past
        PATH_MAX is refused with a diagnostic and nothing is written."""
        deep = self.tmp
        while len(deep) < 1500:
            deep = os.path.join(deep, "d" * 60)
        os.makedirs(deep)
        rel = os.path.relpath(os.path.join(deep, "r.jsonl"), self.tmp)
        cases = [(os.path.join(self.tmp, "s.jsonl"), None),
                 (os.path.join(deep, "l.jsonl"), None),
                 (rel, os.path.join(deep, "r.jsonl"))]
        for out, where in cases:
            with self.subTest(length=len(out)):
                where = where or out
                r = run(["sh", "-c", "/bin/true; /bin/true"], output=out,
                        cwd=self.tmp)
                self.assertEqual(r.rc, 0, r.describe())
                procs = self.check_spans(read_spans(self, where))
                self.assertEqual(len(procs), 3)  # sh and its two children
        over = "/" + "x" * 4100
        r = run(["/bin/true"], output=over,
                env={"AGENTTRACE_DEBUG": "1"}, cwd=self.tmp)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertIn(b"output path too long", r.stderr)

    def test_13b_no_content_capture(self):
        env = {"AGENTTRACE_CAPTURE_CONTENT": "0"}
        bodyf = os.path.join(self.tmp, "body.json")
        with open(bodyf, "w") as f:
            json.dump(self.anthropic_body("What is the weather in Paris?",
                                          stream=True, tools=True,
                                          system="You are terse."), f)
        runs = [("anthropic", self.curl(
            self.mock.url("/v1/messages"), "@" + bodyf,
            self.ANTHROPIC_HEADERS, stream=True), {})]
        if os.path.exists(AGENT):
            runs.append(("agent", [AGENT], {
                "OPENAI_BASE_URL": "https://127.0.0.1:%d/v1" %
                self.mock.port, "AGENT_CA_FILE": self.mock.cert}))
        runs.append(("get", self.curl(self.mock.url(
            "/tool/weather?city=Paris")), {}))
        for name, argv, e in runs:
            with self.subTest(client=name):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                e = dict(e, **env)
                r, spans = self.traced(argv, env=e)
                self.check_spans(spans)
                for s in spans:
                    for k in CONTENT_KEYS:
                        self.assertNotIn(k, s["attributes"], s["name"])
                with open(self.out, "rb") as f:
                    data = f.read()
                for word in (b"weather in Paris", b"You are terse",
                             b"sunny", b"mock answer", b"Based on the"):
                    self.assertNotIn(word, data)
                log = self.mock.log()
                chats = sorted(self.chats(spans),
                               key=lambda s: s["start_time_unix_nano"])
                self.assertEqual(len(chats), len(log))
                for chat, entry in zip(chats, log):
                    self.assert_chat(chat, entry, content=False)
                if name == "agent":
                    tool = self.only(spans, "execute_tool ")
                    self.assertEqual(tool["attributes"].get(
                        "gen_ai.tool.call.id"),
                        log[0]["facts"]["tool_calls"][0]["id"])

    def test_13c_unwritable_output(self):
        ro = os.path.join(self.tmp, "ro.jsonl")
        with open(ro, "w"):
            pass
        os.chmod(ro, stat.S_IRUSR | stat.S_IRGRP)
        cases = [("nonexistent dir", "/nonexistent/x.jsonl", {}),
                 ("a directory", self.tmp, {}),
                 ("read-only file", ro, {}),
                 ("debug", "/nonexistent/x.jsonl",
                  {"AGENTTRACE_DEBUG": "1"})]
        for name, path, env in cases:
            with self.subTest(output=name):
                if name == "read-only file" and os.geteuid() == 0:
                    self.skipTest("root can write a read-only file")
                self.mock.reset()
                r = run(self.chat_argv(), output=path, env=env)
                self.assertEqual(r.rc, 0, r.describe())
                self.assertEqual(r.json()["id"],
                                 self.mock.log()[0]["facts"]["id"])
                err = r.stderr.decode("utf-8", "replace")
                if env.get("AGENTTRACE_DEBUG"):
                    for line in err.splitlines():
                        self.assertTrue(line.startswith("agenttrace"),
                                        line)
                else:
                    self.assertEqual(err, "")
                if name == "read-only file":
                    self.assertEqual(os.path.getsize(ro), 0)

    def test_13d_max_body(self):
        prompt = "Long prompt from Bordeaux. " + "word " * 1200
        bodyf = os.path.join(self.tmp, "body.json")
        with open(bodyf, "w") as f:
            json.dump(self.openai_body(prompt), f)
        self.assertGreater(os.path.getsize(bodyf), 4096)
        r, spans = self.traced(
            self.curl(self.mock.url("/v1/chat/completions"), "@" + bodyf),
            env={"AGENTTRACE_MAX_BODY": "1k"})
        self.assertEqual(r.json()["choices"][0]["message"]["content"],
                         "This is a mock answer to: " + prompt)
        self.check_spans(spans)
        work = [s for s in spans if not is_process_span(s)]
        self.assertEqual(len(work), 1, [s["name"] for s in spans])
        self.assertIs(work[0]["attributes"].get("agenttrace.truncated"),
                      True)
        self.assertEqual(work[0]["kind"], "client")
        # What the two ends of the cut bodies hold survives the cut.
        entry = self.mock.log()[-1]
        a = work[0]["attributes"]
        self.assertEqual(work[0]["name"], "chat " + entry["request"]["model"])
        self.assertEqual(a.get("gen_ai.request.model"),
                         entry["request"]["model"])
        self.assertEqual(a.get("gen_ai.response.id"), entry["facts"]["id"])
        self.assertEqual(a.get("gen_ai.usage.input_tokens"),
                         entry["facts"]["input_tokens"])
        self.assertEqual(a.get("gen_ai.usage.output_tokens"),
                         entry["facts"]["output_tokens"])

    def test_13f_large_request(self):
        """A 1.5 MB prompt (curl sends Expect: 100-continue) and its echo,
        under the default capture limit."""
        prompt = "Large prompt from Dijon. " + "lorem ipsum " * 130000
        bodyf = os.path.join(self.tmp, "body.json")
        with open(bodyf, "w") as f:
            json.dump(self.openai_body(prompt), f)
        r, spans, (chat,), (entry,) = self.run_chat(
            self.curl(self.mock.url("/v1/chat/completions"), "@" + bodyf))
        self.assertEqual(r.json()["id"], entry["facts"]["id"])
        self.assert_chat(chat, entry)
        self.assertNotIn("agenttrace.truncated", chat["attributes"])

    def test_13e_agent_name(self):
        r, spans = self.traced(self.chat_argv(),
                               env={"AGENTTRACE_AGENT_NAME": "my-agent"})
        self.check_spans(spans)
        self.assertEqual(spans[-1]["name"], "invoke_agent my-agent")
        self.assertEqual(spans[-1]["attributes"].get("gen_ai.agent.name"),
                         "my-agent")

    def test_14_spans_written_promptly(self):
        argv = self.client("slow", self.mock.url("/v1/chat/completions"),
                           self.mock.cert)
        p = subprocess.Popen(argv, env=traced_env(self.out),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            buf = b""
            while b"done-call\n" not in buf:
                left = deadline - time.monotonic()
                self.assertGreater(left, 0, "no done-call from the client")
                ready, _, _ = select.select([p.stdout], [], [], left)
                if ready:
                    chunk = os.read(p.stdout.fileno(), 4096)
                    self.assertTrue(chunk, "client ended early")
                    buf += chunk
            t0 = time.monotonic()
            seen = None
            while time.monotonic() - t0 < 5:
                if os.path.exists(self.out):
                    with open(self.out, "rb") as f:
                        if b'"chat gpt-4o-mini"' in f.read():
                            seen = time.monotonic()
                            break
                time.sleep(0.02)
            running = p.poll() is None
            self.assertIsNotNone(seen, "no chat span within 5 s")
            self.assertTrue(running, "the chat span appeared only at exit")
            self.assertLess(seen - t0, 1.0)
            rest, err = p.communicate(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0)
        self.assertEqual(err, b"")
        self.assertIn(b"bye", rest)
        spans = read_spans(self, self.out)
        self.check_spans(spans)
        (chat,) = self.chats(spans)
        self.assert_chat(chat, self.mock.log()[0])


# ------------------------------------------------------------------ 15

CORPUS = HERE.parent.parent.parent / "shared" / "corpus"
REPLAY_CLIENT = r"""
import sys, requests
url, ca, body = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
with requests.post(url, data=body, verify=ca, stream=True,
                   headers={"Content-Type": "application/json",
                            "Authorization": "Bearer sk-corpus-SECRET-0001"}) as r:
    n = sum(len(c) for c in r.iter_content(4096))
print(r.status_code, n)
"""


def span_output(a):
    """(text, tool calls) of an inference span's output messages."""
    text, calls = "", []
    for m in a.get("gen_ai.output.messages", []):
        for p in m.get("parts", []):
            if p.get("type") == "text":
                text += p.get("content", "")
            elif p.get("type") == "tool_call":
                calls.append({"id": p.get("id"), "name": p.get("name"),
                              "arguments": p.get("arguments")})
    return text, calls


class TestCorpusReplay(ShimTest):
    """Every recorded Chat Completions and Messages exchange of
    ../shared/corpus, replayed byte for byte by the mock to a real client
    (requests) under the shim: the span says what expected.json says."""

    APIS = ("openai.chat_completions", "anthropic.messages",
            "openai.responses", "openai.completions", "openai.embeddings",
            "gemini.generateContent", "ollama.chat", "ollama.generate")
    # the host decides these providers; replayed from 127.0.0.1 the shape
    # decides (SPANS.md: an OpenAI-compatible endpoint on an unknown host)
    BY_HOST = ("groq", "mistral_ai", "azure.ai.openai")

    def test_corpus_exchanges(self):
        folders = sorted(d for d in CORPUS.glob("*/*")
                         if (d / "expected.json").exists())
        done = 0
        for d in folders:
            exp = json.loads((d / "expected.json").read_text())
            if exp["api"] not in self.APIS:
                continue
            with self.subTest(exchange="%s/%s" % (d.parent.name, d.name)):
                self.replay(d, exp)
                done += 1
        self.assertGreaterEqual(done, 28, "corpus exchanges replayed")

    def replay(self, d, exp):
        req = json.loads((d / "request.json").read_text())
        u = urllib.parse.urlsplit(req["url"])
        path = u.path + ("?" + u.query if u.query else "")
        url = self.mock.url(path, "corpus=%s:%s" % (d.parent.name, d.name))
        if os.path.exists(self.out):
            os.unlink(self.out)
        r, spans = self.traced([PY, "-c", REPLAY_CLIENT, url, self.mock.cert,
                                str(d / "request.body")])
        self.assertTrue(r.text.startswith("%d " % exp["http_status"]), r.text)
        self.check_spans(spans)
        chats = [s for s in spans if s["attributes"].get(
            "gen_ai.operation.name") == exp["operation"]]
        self.assertEqual(len(chats), 1, [s["name"] for s in spans])
        a = chats[0]["attributes"]
        # each tool call the model asked for opens an execute_tool span,
        # closed unanswered (status unset) when the process ends
        tools = [s for s in spans if s["attributes"].get(
            "gen_ai.operation.name") == "execute_tool"]
        self.assertEqual(sorted(t["attributes"]["gen_ai.tool.call.id"]
                                for t in tools),
                         sorted(c["id"] for c in exp["tool_calls"]))
        for t in tools:
            self.assertEqual(t["status"]["code"], "unset")
            self.assertIs(t["attributes"].get("agenttrace.inferred"), True)
        self.assertEqual(a.get("gen_ai.provider.name"),
                         "openai" if exp["provider"] in self.BY_HOST
                         else exp["provider"])
        self.assertEqual(a.get("gen_ai.operation.name"), exp["operation"])
        body = json.loads((d / "request.body").read_bytes())
        if "model" in body:
            self.assertEqual(a.get("gen_ai.request.model"),
                             exp["request_model"])
        for key, attr in (("response_model", "gen_ai.response.model"),
                          ("response_id", "gen_ai.response.id"),
                          ("input_tokens", "gen_ai.usage.input_tokens"),
                          ("output_tokens", "gen_ai.usage.output_tokens"),
                          ("cache_read_tokens",
                           "gen_ai.usage.cache_read.input_tokens"),
                          ("cache_creation_tokens",
                           "gen_ai.usage.cache_creation.input_tokens"),
                          ("reasoning_tokens",
                           "gen_ai.usage.reasoning.output_tokens")):
            if key == "reasoning_tokens" and d.name == "messages_thinking":
                continue   # the recording's number is suspect (README)
            self.assertEqual(a.get(attr), exp[key], attr)
        self.assertEqual(a.get("gen_ai.response.finish_reasons", []),
                         exp["finish_reasons"])
        self.assertEqual(bool(a.get("gen_ai.request.stream")),
                         exp["streamed"])
        text, calls = span_output(a)
        self.assertEqual(text or None, exp["output_text"])
        self.assertEqual(calls, exp["tool_calls"])
        self.assertEqual(chats[0]["status"]["code"], "ok")
        self.assertNotIn("SECRET", open(self.out).read())


class TestUndecodable(ShimTest):
    """A body in an encoding the shim cannot decode: the span keeps the
    metadata and says so."""

    def test_unknown_content_encoding(self):
        script = r"""
import http.server, json, socketserver, ssl, sys, threading
import urllib.request
body = b"\x1f\x9d\x90 LZW bytes nobody decodes"
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "compress")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
"""
        # The server half runs untraced; only the client is under the shim.
        srv = subprocess.Popen(
            [PY, "-c", script + r"""
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = http.server.HTTPServer(("127.0.0.1", 0), H)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.handle_request()
""", self.mock.cert, os.path.join(os.path.dirname(self.mock.cert),
                                  "key.pem")],
            stdout=subprocess.PIPE, text=True)
        try:
            port = int(srv.stdout.readline())
            r, spans = self.traced(self.curl(
                "https://127.0.0.1:%d/v1/chat/completions" % port,
                json.dumps(self.openai_body("compressed, please"))))
        finally:
            srv.wait(timeout=30)
        chats = [s for s in spans if not is_process_span(s)]
        self.assertEqual(len(chats), 1)
        a = chats[0]["attributes"]
        self.assertIs(a.get("agenttrace.undecoded"), True)
        self.assertEqual(a.get("http.response.status_code"), 200)
        self.assertEqual(a.get("gen_ai.request.model"), "gpt-4o-mini")
        self.assertNotIn("gen_ai.output.messages", a)


class WithHTTP2Server(ShimTest):
    """A TLS server offering HTTP/2 by ALPN (nghttpx) in front of a plain
    mock (self.backend), besides the usual TLS mock."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.h2 = None
        if shutil.which("nghttpx"):
            # nghttpx: TLS + HTTP/2 (ALPN h2) in front of a plain mock, and
            # cleartext HTTP/2 with prior knowledge (h2c) on a second port
            cls.backend = Mock(tls=False)
            ports = []
            for _ in range(2):
                with socket.socket() as sk:
                    sk.bind(("127.0.0.1", 0))
                    ports.append(sk.getsockname()[1])
            cls.h2_port, cls.h2c_port = ports
            key = os.path.join(os.path.dirname(cls.mock.cert), "key.pem")
            cls.h2 = subprocess.Popen(
                ["nghttpx", "--conf=/dev/null",
                 "-f127.0.0.1,%d" % cls.h2_port,
                 "-f127.0.0.1,%d;no-tls" % cls.h2c_port,
                 "-b127.0.0.1,%d" % cls.backend.port, "--workers=1",
                 "--no-ocsp", key, cls.mock.cert],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", cls.h2_port),
                                             timeout=1).close()
                    socket.create_connection(("127.0.0.1", cls.h2c_port),
                                             timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        if cls.h2:
            cls.h2.terminate()
            cls.h2.wait(timeout=10)
            cls.backend.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.h2:
            self.backend.reset()


class TestLibcurl(WithHTTP2Server):
    """libcurl programs: a libcurl whose TLS the OpenSSL hooks cannot see
    (GnuTLS here) is captured at the libcurl layer, HTTP/2 included; one on
    OpenSSL (curl) by the OpenSSL and socket hooks, its handles untouched,
    or at the libcurl layer with AGENTTRACE_LIBCURL=layer."""

    def gnutls_chat(self, mode, url, backend, env=None):
        body = self.openai_body("GnuTLS via the %s interface" % mode)
        r, spans = self.traced([GNUTLS_CLIENT, mode, url, self.mock.cert,
                                json.dumps(body)], env=env)
        entry = backend.log()[0]
        self.assertEqual(r.json()["id"], entry["facts"]["id"])
        self.check_spans(spans)
        chats = self.chats(spans)
        self.assertEqual(len(chats), 1, [x["name"] for x in spans])
        a = chats[0]["attributes"]
        self.assertEqual(a["agenttrace.transport"], "libcurl")
        self.assertEqual(a["gen_ai.response.id"], entry["facts"]["id"])
        self.assertEqual(a["gen_ai.usage.output_tokens"],
                         entry["facts"]["output_tokens"])
        self.assertEqual(text_of(a["gen_ai.output.messages"]),
                         entry["facts"]["output_text"])
        self.assertEqual(a["url.full"], url)
        self.assertNotIn("SECRET", open(self.out).read())
        return a

    def test_17_gnutls_client(self):
        if not os.path.exists(GNUTLS_CLIENT):
            self.skipTest("no %s (run make)" % GNUTLS_CLIENT)
        for mode in ("easy", "multi"):
            with self.subTest(mode=mode):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                a = self.gnutls_chat(mode, self.mock.url(
                    "/v1/chat/completions", "gzip,chunked"), self.mock)
                self.assertEqual(a["agenttrace.http.version"], "1.1")

    def test_17b_gnutls_client_http2(self):
        """libcurl-gnutls negotiates HTTP/2 with nghttpx: libcurl's debug
        callback shows "HTTP/2" heads, read as HTTP/1.1 ones."""
        if not os.path.exists(GNUTLS_CLIENT) or self.h2 is None:
            self.skipTest("needs %s and nghttpx" % GNUTLS_CLIENT)
        url = "https://127.0.0.1:%d/v1/chat/completions" % self.h2_port
        for mode in ("easy", "multi"):
            with self.subTest(mode=mode):
                self.backend.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                a = self.gnutls_chat(mode, url, self.backend)
                self.assertEqual(a["agenttrace.http.version"], "2")

    def test_17a_which_layer(self):
        """AGENTTRACE_DEBUG says which layer captures libcurl, and why."""
        if not curl_usable():
            self.skipTest("needs a runnable curl")
        url = self.mock.url("/v1/chat/completions")
        body = json.dumps(self.openai_body("Which layer"))
        cases = [({}, "openssl",
                  b"its transfers are captured by the OpenSSL and socket "
                  b"hooks"),
                 ({"AGENTTRACE_LIBCURL": "layer"}, "libcurl",
                  b"captured at the libcurl layer: AGENTTRACE_LIBCURL=layer"),
                 ({"AGENTTRACE_LIBCURL": "Auto"}, "openssl",
                  b"captured by the OpenSSL and socket hooks"),
                 ({"AGENTTRACE_LIBCURL": "sideways"}, "openssl",
                  b"AGENTTRACE_LIBCURL=sideways is neither auto nor layer")]
        for extra, transport, said in cases:
            with self.subTest(env=extra):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                env = dict(extra, AGENTTRACE_DEBUG="1")
                r = run(["curl", "-sS", "--cacert", self.mock.cert, url,
                         "-d", body], output=self.out, env=env)
                self.assertEqual(r.rc, 0, r.describe())
                self.assertIn(said, r.stderr)
                chats = self.chats(read_spans(self, self.out))
                self.assertEqual(len(chats), 1)
                self.assertEqual(chats[0]["attributes"]
                                 ["agenttrace.transport"], transport)
        if os.path.exists(GNUTLS_CLIENT):
            self.mock.reset()
            r = run([GNUTLS_CLIENT, "easy", url, self.mock.cert, body],
                    output=self.out, env={"AGENTTRACE_DEBUG": "1"})
            self.assertEqual(r.rc, 0, r.describe())
            self.assertIn(b"at the libcurl layer: its TLS library is not "
                          b"OpenSSL", r.stderr)

    def test_17c_libcurl_tls_trace(self):
        """libcurl traces every TLS record for a verbose handle.  At the
        libcurl layer the capture makes handles verbose, but the trace is
        installed only when the application asked for verbosity, and an
        application's own message callback always is; below it, handles
        are not touched at all."""
        if not curl_usable():
            self.skipTest("needs a runnable curl")
        url = self.mock.url("/v1/chat/completions")
        body = json.dumps(self.openai_body("TLS traces"))
        tls_lines = re.compile(r"^\* TLSv1\.[23] \((IN|OUT)\)", re.M)

        def one_chat(out, transport):
            spans = read_spans(self, out)
            self.check_spans(spans)
            chats = self.chats(spans)
            self.assertEqual(len(chats), 1, [x["name"] for x in spans])
            a = chats[0]["attributes"]
            self.assertEqual(a["agenttrace.transport"], transport)
            self.assertEqual(a["gen_ai.response.id"],
                             self.mock.log()[-1]["facts"]["id"])

        argv = ["curl", "-v", "-sS", "--cacert", self.mock.cert, url,
                "-d", body]
        plain = run(argv, traced=False)
        self.assertEqual(plain.rc, 0, plain.describe())
        want = len(tls_lines.findall(plain.stderr.decode("utf-8", "replace")))
        self.assertGreater(want, 3, plain.stderr[-600:])
        for layer, transport in (("auto", "openssl"), ("layer", "libcurl")):
            with self.subTest(layer=layer):
                env = {"AGENTTRACE_LIBCURL": layer}
                # curl -v: the application's verbose output keeps its TLS
                # lines
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                r = run(argv, output=self.out, env=env)
                self.window = r.window
                self.assertEqual(r.rc, 0, r.describe())
                err = r.stderr.decode("utf-8", "replace")
                self.assertIsNone(BAD_STDERR.search(err), err)
                self.assertEqual(len(tls_lines.findall(err)), want,
                                 err[-1500:])
                one_chat(self.out, transport)

                # plain curl: at the libcurl layer, libcurl's trace is left
                # out (AGENTTRACE_DEBUG says so); below it there is none
                self.mock.reset()
                os.unlink(self.out)
                r = run(["curl", "-sS", "--cacert", self.mock.cert, url,
                         "-d", body], output=self.out,
                        env=dict(env, AGENTTRACE_DEBUG="1"))
                self.window = r.window
                self.assertEqual(r.rc, 0, r.describe())
                self.assertEqual(b"TLS message traces left out" in r.stderr,
                                 layer == "layer", r.stderr)
                one_chat(self.out, transport)

                # an application's own message callback is installed (the
                # client exits 3 when it saw no TLS record)
                if not os.path.exists(MSGCB_CLIENT):
                    self.skipTest("no %s (run make)" % MSGCB_CLIENT)
                self.mock.reset()
                os.unlink(self.out)
                r, _ = self.traced([MSGCB_CLIENT, "easy", url,
                                    self.mock.cert, body], env=env)
                one_chat(self.out, transport)

    def test_18_curl_http2(self):
        if self.h2 is None or not curl_usable():
            self.skipTest("needs nghttpx and a runnable curl")
        for stream, layer in itertools.product(
                (False, True), ("auto", "layer")):
            with self.subTest(stream=stream, layer=layer):
                self.backend.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                body = self.openai_body("Over HTTP/2", stream=stream)
                url = "https://127.0.0.1:%d/mock/delay=5/v1/chat/completions" \
                    % self.h2_port
                argv = ["curl", "-sS", "--cacert", self.mock.cert, "-w",
                        "\n%{http_version}", url, "-d", json.dumps(body)]
                if stream:
                    argv.insert(1, "-N")
                r, spans = self.traced(argv,
                                       env={"AGENTTRACE_LIBCURL": layer})
                self.assertTrue(r.text.endswith("\n2"), r.text[-40:])
                entry = self.backend.log()[0]
                self.check_spans(spans)
                chats = self.chats(spans)
                self.assertEqual(len(chats), 1, [x["name"] for x in spans])
                a = chats[0]["attributes"]
                self.assertEqual(a["agenttrace.http.version"], "2")
                self.assertEqual(a["agenttrace.transport"],
                                 "libcurl" if layer == "layer" else "openssl")
                self.assertEqual(a["url.full"], url)
                f = entry["facts"]
                self.assertEqual(a["gen_ai.response.id"], f["id"])
                self.assertEqual(a.get("gen_ai.usage.input_tokens"),
                                 f["input_tokens"])
                self.assertEqual(text_of(a["gen_ai.output.messages"]),
                                 f["output_text"])
                self.assertEqual(bool(a.get("gen_ai.request.stream")), stream)


    def test_18b_curl_h2c_prior_knowledge(self):
        """curl --http2-prior-knowledge over plain HTTP (h2c): the preface
        on a socket switches the connection to HTTP/2, on both layers."""
        if self.h2 is None or not curl_usable():
            self.skipTest("needs nghttpx and a runnable curl")
        url = "http://127.0.0.1:%d/v1/chat/completions" % self.h2c_port
        for layer, transport in (("auto", "socket"), ("layer", "libcurl")):
            with self.subTest(layer=layer):
                self.backend.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                body = self.openai_body("Over h2c")
                r, spans = self.traced(
                    ["curl", "-sS", "--http2-prior-knowledge", "-w",
                     "\n%{http_version}", url, "-d", json.dumps(body)],
                    env={"AGENTTRACE_LIBCURL": layer})
                self.assertTrue(r.text.endswith("\n2"), r.text[-40:])
                f = self.backend.log()[0]["facts"]
                self.check_spans(spans)
                chats = self.chats(spans)
                self.assertEqual(len(chats), 1, [x["name"] for x in spans])
                a = chats[0]["attributes"]
                self.assertEqual(a["agenttrace.http.version"], "2")
                self.assertEqual(a["agenttrace.transport"], transport)
                self.assertEqual(a["url.full"], url)
                self.assertEqual(a["gen_ai.response.id"], f["id"])
                self.assertEqual(a.get("gen_ai.usage.output_tokens"),
                                 f["output_tokens"])
                self.assertEqual(text_of(a["gen_ai.output.messages"]),
                                 f["output_text"])


H2_CLIENT = r"""
import httpx, json, sys
url, ca, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with httpx.Client(http2=True, verify=ca) as c:
    for i in range(n):
        r = c.post(url, json={"model": "gpt-4o", "messages": [
            {"role": "user", "content": "HTTP/2 request %d" % i}]})
        assert r.http_version == "HTTP/2", r.http_version
    body = {"model": "gpt-4o", "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "HTTP/2 stream"}]}
    with c.stream("POST", url.replace("/v1/", "/mock/gzip,delay=5/v1/"),
                  json=body) as s:
        print(sum(1 for _ in s.iter_lines()))
"""


class TestOpenSSLHTTP2(WithHTTP2Server):
    """HTTP/2 negotiated by ALPN over OpenSSL (httpx with http2=True, the
    nghttp client): frames, HPACK, several streams on one connection."""

    def test_19_httpx_http2(self):
        try:
            import h2  # noqa: F401  (Debian python3-h2, used by httpx)
        except ImportError:
            self.skipTest("python3-h2 not installed")
        if self.h2 is None:
            self.skipTest("needs nghttpx")
        url = "https://127.0.0.1:%d/v1/chat/completions" % self.h2_port
        r, spans = self.traced([PY, "-c", H2_CLIENT, url, self.mock.cert,
                                "3"])
        log = self.backend.log()
        self.assertEqual(len(log), 4)
        self.check_spans(spans)
        chats = self.chats(spans)
        self.assertEqual(len(chats), 4, [x["name"] for x in spans])
        for span, entry in zip(chats, log):
            a = span["attributes"]
            f = entry["facts"]
            self.assertEqual(a["agenttrace.http.version"], "2")
            self.assertEqual(a["agenttrace.transport"], "openssl")
            self.assertEqual(a["gen_ai.response.id"], f["id"])
            self.assertEqual(a.get("gen_ai.usage.output_tokens"),
                             f["output_tokens"])
            self.assertEqual(text_of(a["gen_ai.output.messages"]),
                             f["output_text"])
            self.assertEqual(a["gen_ai.input.messages"][0]["parts"][0]
                             ["content"], entry["request"]["messages"][0]
                             ["content"])
        self.assertIs(chats[3]["attributes"].get("gen_ai.request.stream"),
                      True)
        self.assertGreater(chats[3]["attributes"]
                           ["gen_ai.response.time_to_first_chunk"], 0)

    def test_20_nghttp_client(self):
        if self.h2 is None or shutil.which("nghttp") is None:
            self.skipTest("needs nghttpx and nghttp (nghttp2-client)")
        body = os.path.join(self.tmp, "body.json")
        with open(body, "w") as f:
            json.dump(self.openai_body("From nghttp"), f)
        r, spans = self.traced(
            ["nghttp", "-d", body, "https://127.0.0.1:%d/v1/chat/"
             "completions" % self.h2_port], clean=False)
        entry = self.backend.log()[0]
        chats = self.chats(spans)
        self.assertEqual(len(chats), 1, [x["name"] for x in spans])
        a = chats[0]["attributes"]
        self.assertEqual(a["agenttrace.http.version"], "2")
        self.assertEqual(a["gen_ai.response.id"], entry["facts"]["id"])


class TestInstall(ShimTest):
    """make install PREFIX=...: the shim and the inspector land side by
    side, and the installed `agenttrace run` finds the installed shim."""

    def test_21_make_install(self):
        build = os.path.dirname(SHIM)
        if os.path.basename(build) != "build":
            self.skipTest("installs the plain build only")
        prefix = os.path.join(self.tmp, "prefix")
        root = str(HERE.parent.parent)
        p = subprocess.run(["make", "-s", "-C", root, "install",
                            "PREFIX=" + prefix, "BUILD=build"],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(os.path.exists(prefix + "/lib/libagenttrace.so"))
        out = os.path.join(self.tmp, "run.jsonl")
        env = dict(os.environ, OPENAI_BASE_URL=self.mock.url("/v1"),
                   AGENT_CA_FILE=self.mock.cert, AGENTTRACE_LIB="")
        env.pop("LD_PRELOAD", None)
        env.pop("AGENTTRACE_LIB", None)
        r = subprocess.run([prefix + "/bin/agenttrace", "run", "--output",
                            out, "--", AGENT], capture_output=True,
                           text=True, env=env, timeout=120, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("temperature_c", r.stdout)
        self.assertIn("execute_tool get_weather", r.stderr)
        spans = [json.loads(x) for x in open(out)]
        self.assertEqual(len(self.chats(spans)), 2)


NODE_DIR = HERE / "node"
NODE_CLIENT = r"""
// The official openai package, unmodified, against OPENAI_BASE_URL.
const OpenAI = require("openai");
const client = new OpenAI({apiKey: "sk-node-SECRET-0123456789",
                           baseURL: process.env.OPENAI_BASE_URL});
async function main() {
  const body = {model: "gpt-4o-mini",
                messages: [{role: "user", content: process.argv[2]}]};
  if (process.argv[3] === "stream") {
    const s = await client.chat.completions.create(
        {...body, stream: true, stream_options: {include_usage: true}});
    let text = "";
    for await (const c of s)
      if (c.choices.length && c.choices[0].delta.content)
        text += c.choices[0].delta.content;
    console.log(text);
  } else {
    const r = await client.chat.completions.create(body);
    console.log(r.choices[0].message.content);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


def node_openai():
    """Path of a node_modules with the official openai package, installed
    from the npm registry on first use (git-ignored); None without node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    if not (NODE_DIR / "node_modules" / "openai").exists():
        NODE_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit",
                        "--no-fund", "--prefix", str(NODE_DIR),
                        "openai@4"], check=True, timeout=300,
                       stdout=subprocess.DEVNULL)
    return NODE_DIR


class TestPlainHTTP(ShimTest):
    """Plain HTTP (local model servers, statically linked TLS): captured at
    the socket layer."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(SHIM):
            raise unittest.SkipTest("no shim at %s (run make)" % SHIM)
        cls.mock = Mock(tls=False)

    def test_15_plain_http_clients(self):
        cases = [("curl", ""), ("curl", "stream"), ("urllib", ""),
                 ("aiohttp", ""), ("aiohttp", "stream"),
                 ("urllib", "stream"), ("requests", ""),
                 ("requests", "stream"), ("httpx", ""), ("httpx", "stream")]
        for client, stream in cases:
            with self.subTest(client=client, stream=stream):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                body = self.openai_body("Plain HTTP from Lille via %s."
                                        % client, stream=bool(stream))
                url = self.mock.url("/v1/chat/completions", "delay=5")
                if client == "curl":
                    argv = self.curl(url, body, stream=bool(stream))
                else:
                    argv = self.client("call", client, url, "",
                                       json.dumps(body), stream)
                r, spans = self.traced(argv)
                self.check_spans(spans)
                chats = self.chats(spans)
                self.assertEqual(len(chats), 1, [s["name"] for s in spans])
                entry = self.mock.log()[0]
                self.assert_chat(chats[0], entry)
                self.assertTrue(chats[0]["attributes"]["url.full"]
                                .startswith("http://127.0.0.1:"))

    def test_15b_node_openai_package(self):
        d = node_openai()
        if d is None:
            self.skipTest("node/npm not installed")
        script = os.path.join(self.tmp, "client.js")
        with open(script, "w") as f:
            f.write(NODE_CLIENT)
        env = {"NODE_PATH": str(d / "node_modules"),
               "OPENAI_BASE_URL": self.mock.url("/v1", "delay=5")}
        for stream in ("", "stream"):
            with self.subTest(stream=stream):
                self.mock.reset()
                if os.path.exists(self.out):
                    os.unlink(self.out)
                prompt = "Node says hello%s" % (" (streamed)" if stream
                                                else "")
                r, spans = self.traced(["node", script, prompt, stream],
                                       env=env)
                entry = self.mock.log()[0]
                self.assertEqual(r.text.strip(), entry["facts"]
                                 ["output_text"])
                self.check_spans(spans)
                chats = self.chats(spans)
                self.assertEqual(len(chats), 1, [s["name"] for s in spans])
                self.assert_chat(chats[0], entry)
                self.assertNotIn("SECRET", open(self.out).read())

    def test_15c_non_http_tcp_is_left_alone(self):
        """A TCP peer that speaks first (not HTTP): no span, no harm."""
        script = r"""
import socket, sys, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(b"220 smtp.example ESMTP\r\n")
    c.recv(100); c.sendall(b"221 bye\r\n"); c.close()
threading.Thread(target=serve).start()
s = socket.create_connection(srv.getsockname())
print(s.recv(100).decode().strip()); s.sendall(b"QUIT\r\n")
print(s.recv(100).decode().strip())
"""
        r, spans = self.traced([PY, "-c", script])
        self.assertEqual(r.text.split("\n")[:2],
                         ["220 smtp.example ESMTP", "221 bye"])
        self.assertEqual(self.chats(spans), [])
        self.assertEqual([s["name"] for s in spans if not
                          is_process_span(s)], [])


# -------------------------------------------------------------- runner

def main(argv):
    """Run the suite (or the tests named in argv) and print
    "integration: N passed, N failed"."""
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
    print("shim: %s\nagent: %s\npreload: %s" % (SHIM, AGENT, PRELOAD),
          flush=True)
    if not curl_usable():
        print("curl: cannot run under this preload; the curl tests run "
              "clients.py fetch instead", flush=True)
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
