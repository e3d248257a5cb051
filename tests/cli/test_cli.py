#!/usr/bin/python3
"""Integration tests of the `agenttrace` inspector: the real binary on
spans that the shim wrote from real clients (the example agent over TLS,
Python's http.client speaking OpenAI and Anthropic, failures included),
on hand-made edge files, and on a generated file; OTLP export checked by a
receiver that decodes with the OpenTelemetry JavaScript packages; the HTML
page checked in headless Chromium; dataset/eval end to end against the
mock server.  Run by tests/cli/run.sh, which sets:

    AT_CLI    the agenttrace binary under test
    AT_SHIM   build/libagenttrace.so
    AT_AGENT  build/agenttrace-agent
    AT_CLI_SANITIZED=1  the binary is an ASan/UBSan build: skip the
                        browser and valgrind tests, which add nothing there

Prints unittest's report, then "cli-integration: N passed, N failed".
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.environ.get("AT_CLI", os.path.join(ROOT, "build", "agenttrace"))
SHIM = os.environ.get("AT_SHIM", os.path.join(ROOT, "build",
                                              "libagenttrace.so"))
AGENT = os.environ.get("AT_AGENT", os.path.join(ROOT, "build",
                                                "agenttrace-agent"))
SANITIZED = os.environ.get("AT_CLI_SANITIZED") == "1"
OUT = os.path.join(HERE, "out")
TIMEOUT = 60

W = None  # the shared fixture, set up once


def run(args, stdin=None, env=None, timeout=TIMEOUT, check=None):
    """Run the CLI; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e["COLUMNS"] = "120"
    if env:
        e.update(env)
    r = subprocess.run([CLI] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=e, timeout=timeout)
    r.out = r.stdout.decode("utf-8", "replace")
    r.err = r.stderr.decode("utf-8", "replace")
    if SANITIZED and ("ERROR: AddressSanitizer" in r.err or
                      "runtime error:" in r.err or
                      "LeakSanitizer" in r.err):
        raise AssertionError("sanitizer report for %s:\n%s" % (args, r.err))
    if check is not None and r.returncode != check:
        raise AssertionError("agenttrace %s: exit %d, want %d\nstdout:\n%s\n"
                             "stderr:\n%s" % (" ".join(args), r.returncode,
                                              check, r.out, r.err))
    return r


def spans_of(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def http_json(url, body=None, method=None, cafile=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method or (
        "POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"})
    import ssl
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(req, timeout=30, context=ctx) as resp:
        return json.loads(resp.read() or b"null")


def wait_file(path, what, proc, limit=15.0):
    t = time.monotonic()
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if time.monotonic() - t > limit or proc.poll() is not None:
            raise RuntimeError("%s did not start" % what)
        time.sleep(0.05)
    with open(path) as f:
        return int(f.read().strip())


# A small Python client run under the shim: model calls in both wire
# formats, streamed and plain, and failures (429, 529), with http.client
# (OpenSSL, so the shim sees it).
CLIENT = r'''
import http.client, json, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def post(path, body, headers):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
    h = {"Content-Type": "application/json"}
    h.update(headers)
    c.request("POST", path, json.dumps(body), h)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status
oa = {"Authorization": "Bearer sk-test-secret"}
an = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
msgs = [{"role": "user", "content": "Summarise the Paris report."}]
print(post("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 64,
      "system": "You are terse.", "messages": msgs, "stream": True}, an))
print(post("/mock/status=429/v1/chat/completions",
      {"model": "gpt-4o", "messages": msgs}, oa))
print(post("/mock/status=529/v1/messages", {"model": "claude-sonnet-4-5",
      "max_tokens": 64, "messages": msgs}, an))
print(post("/v1/chat/completions", {"model": "gpt-4o", "messages": msgs,
      "temperature": 0.2, "max_tokens": 50}, oa))
'''


class Fixture:
    """Everything the tests share: a mock server over TLS, span files the
    shim wrote, hand-made edge files, an OTLP receiver."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="at-cli-test-")
        os.makedirs(OUT, exist_ok=True)
        self.procs = []
        # The mock model server, over TLS, as scripts/demo.sh runs it.
        pf = os.path.join(self.dir, "mock.port")
        self.mock = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "scripts", "mock_llm.py"),
             "--tls", "--port", "0", "--cert-dir", self.dir, "--port-file",
             pf], stdout=subprocess.DEVNULL)
        self.procs.append(self.mock)
        self.port = wait_file(pf, "mock server", self.mock)
        self.ca = os.path.join(self.dir, "cert.pem")
        self.base = "https://127.0.0.1:%d" % self.port
        # The OTLP receiver (Node, OpenTelemetry JS packages).
        rf = os.path.join(self.dir, "receiver.port")
        self.recv_log = open(os.path.join(self.dir, "receiver.log"), "w")
        self.receiver = subprocess.Popen(
            ["node", os.path.join(HERE, "otlp_receiver.js"), rf],
            stdout=self.recv_log, stderr=subprocess.STDOUT)
        self.procs.append(self.receiver)
        self.rport = wait_file(rf, "OTLP receiver", self.receiver)
        self.rbase = "http://127.0.0.1:%d" % self.rport

        # Real spans: the example agent through `agenttrace run`.
        self.real = os.path.join(self.dir, "real.jsonl")
        env = dict(os.environ, OPENAI_BASE_URL=self.base + "/v1",
                   AGENT_CA_FILE=self.ca, AGENTTRACE_LIB=SHIM)
        env.pop("AGENTTRACE_OUTPUT", None)
        self.run_result = subprocess.run(
            [CLI, "run", "--output", self.real, "--", AGENT], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.agent_log = http_json(self.base + "/mock/log", cafile=self.ca)
        # More real spans: Anthropic and OpenAI from Python, with failures.
        self.mixed = os.path.join(self.dir, "mixed.jsonl")
        env = dict(os.environ, LD_PRELOAD=SHIM, AGENTTRACE_OUTPUT=self.mixed,
                   AGENTTRACE_AGENT_NAME="py-client")
        r = subprocess.run(["/usr/bin/python3", "-c", CLIENT, str(self.port),
                            self.ca], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.client_out = r.stdout.decode()
        if r.returncode != 0:
            raise RuntimeError("client failed: %s" % r.stderr.decode())
        # Many processes appending to one file at once.
        self.concurrent = os.path.join(self.dir, "concurrent.jsonl")
        env = dict(os.environ, LD_PRELOAD=SHIM,
                   AGENTTRACE_OUTPUT=self.concurrent,
                   OPENAI_BASE_URL=self.base + "/v1", AGENT_CA_FILE=self.ca)
        ps = [subprocess.Popen([AGENT], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) for _ in range(4)]
        for p in ps:
            p.wait(timeout=TIMEOUT)
        self.make_edge_files()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def make_edge_files(self):
        real = open(self.real, encoding="utf-8").read()
        lines = real.splitlines(keepends=True)
        # A crash mid-line: the file ends inside a record.
        self.cut = self.write("cut.jsonl", "".join(lines[:-1]) +
                              lines[-1][:len(lines[-1]) // 2])
        # Garbage among good lines, blank lines, unknown keys.
        extra = json.loads(lines[0])
        extra["future_field"] = {"x": [1, 2]}
        extra["attributes"]["some.new.attribute"] = "v"
        self.malformed = self.write(
            "malformed.jsonl", lines[0] + "this is not json\n\n" +
            "{\"trace_id\": 5}\n" + json.dumps(extra) + "\n" +
            "".join(lines[1:]) + "\x00\x01binary\n")
        # Orphans: the process span is gone (its process was killed); a
        # span whose parent is in another trace; a parent cycle.
        no_root = [json.loads(x) for x in lines]
        no_root = [s for s in no_root if "parent_span_id" in s]
        t = "abcdef0123456789abcdef0123456789"
        cyc = [
            {"trace_id": t, "span_id": "00000000000000c1",
             "parent_span_id": "00000000000000c2", "name": "cycle one",
             "kind": "internal", "start_time_unix_nano": 10,
             "end_time_unix_nano": 20, "status": {"code": "ok"}},
            {"trace_id": t, "span_id": "00000000000000c2",
             "parent_span_id": "00000000000000c1", "name": "cycle two",
             "kind": "internal", "start_time_unix_nano": 11,
             "end_time_unix_nano": 19, "status": {"code": "ok"}},
        ]
        self.orphans = self.write(
            "orphans.jsonl", "".join(json.dumps(s) + "\n"
                                     for s in no_root + cyc))
        self.n_orphan_roots = len([s for s in no_root
                                   if s["parent_span_id"] not in
                                   {x["span_id"] for x in no_root}])
        self.bad_only = self.write("bad.jsonl", "nope\n{\"a\":1}\n[1,2]\n")
        self.empty = self.write("empty.jsonl", "")
        # A tool call with a huge argument: one line, never dumped.
        big = json.loads([x for x in lines if "execute_tool" in x][0])
        big["attributes"]["gen_ai.tool.call.arguments"] = {
            "text": "lorem ipsum\n" * 20000}
        self.wide = self.write("wide.jsonl", json.dumps(
            big, separators=(",", ":")) + "\n")

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.recv_log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global W
    W = Fixture()


def tearDownModule():
    if W is not None:
        W.stop()


def by_name(spans, prefix):
    return [s for s in spans if s["name"].startswith(prefix)]


class TestRun(unittest.TestCase):
    def test_run_prints_the_tree_of_the_agent(self):
        r = W.run_result
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertIn("Based on the tool result", r.stdout.decode(),
                      "the command's own output is untouched")
        self.assertIn("== agenttrace: 5 spans in " + W.real, err)
        self.assertRegex(err, r"invoke_agent agenttrace-agent +[0-9.]+ \w+ "
                              r" exit 0")
        self.assertRegex(err, r"chat gpt-4o-mini .* 19 in / 4 out .*finish "
                              r"tool_calls")
        self.assertRegex(err, r"execute_tool get_weather .*args "
                              r"\{\"city\":\"Paris\"\}")
        self.assertRegex(err, r"GET 127\.0\.0\.1 .*HTTP 200")
        self.assertIn("ttfc", err)
        self.assertIn("1 trace, 5 spans: 2 model calls, 1 tool call, 1 HTTP "
                      "call, 1 process", err)
        self.assertNotIn("\033[", err, "no colour off a terminal")

    def test_run_shows_only_its_own_spans_and_keeps_the_exit_status(self):
        out = W.path("run2.jsonl")
        shutil.copy(W.real, out)
        env = {"AGENTTRACE_LIB": SHIM}
        r = run(["run", "--output", out, "--", "sh", "-c", "exit 3"],
                env=env)
        self.assertEqual(r.returncode, 3)
        self.assertIn("1 span in", r.err)
        self.assertRegex(r.err, r"\u2717 (process|invoke_agent) sh .*exit "
                                r"(code )?3")
        self.assertEqual(len(spans_of(out)), 6, "appended to the file")

    def test_run_errors(self):
        r = run(["run", "--output", W.path("x.jsonl"), "--",
                 "/nonexistent/cmd"], env={"AGENTTRACE_LIB": SHIM})
        self.assertEqual(r.returncode, 127)
        self.assertIn("/nonexistent/cmd", r.err)
        r = run(["run", "--", "true"],
                env={"AGENTTRACE_LIB": "/nonexistent/lib.so"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot find libagenttrace.so", r.err)
        self.assertEqual(len(r.err.strip().splitlines()), 1)
        r = run(["run"])
        self.assertEqual(r.returncode, 2)


class TestTree(unittest.TestCase):
    def test_real_spans(self):
        r = run(["tree", W.real], check=0)
        lines = r.out.splitlines()
        self.assertTrue(lines[0].startswith("trace "), r.out)
        self.assertTrue(lines[1].startswith("\u2514\u2500 invoke_agent "
                                            "agenttrace-agent"), r.out)
        self.assertTrue(lines[2].startswith("   \u251c\u2500 chat "
                                            "gpt-4o-mini"), r.out)
        self.assertTrue(lines[4].startswith("   \u2502  \u2514\u2500 GET"),
                        r.out)
        self.assertIn("tokens 39 in / 11 out", r.out)
        self.assertIn("0 failed", r.out)
        self.assertEqual(r.err, "")

    def test_failures_are_marked_and_filtered(self):
        r = run(["tree", W.mixed], check=0)
        self.assertRegex(r.out, r"\u2717 chat gpt-4o .*HTTP 429")
        self.assertRegex(r.out, r"\u2717 chat claude-sonnet-4-5 .*HTTP 529")
        self.assertRegex(r.out, r"(?m)^   \u251c\u2500 chat "
                                r"claude-sonnet-4-5 .*\d+ in / \d+ out")
        self.assertIn("2 failed", r.out)
        e = run(["tree", W.mixed, "--errors"], check=0)
        self.assertIn("invoke_agent py-client", e.out)
        self.assertEqual(e.out.count("\u2500 \u2717"), 2, e.out)
        self.assertIn("1 trace, 3 spans", e.out, "two failures + their "
                                                 "parent")
        ok = run(["tree", W.real, "--errors"], check=0)
        self.assertIn("no failed spans", ok.out)

    def test_trace_filter_and_stdin(self):
        trace = spans_of(W.concurrent)[0]["trace_id"]
        r = run(["tree", W.concurrent, "--trace", trace[:8]], check=0)
        self.assertEqual(r.out.count("\ntrace ") + r.out.startswith("trace "),
                         1, r.out)
        self.assertIn(trace, r.out)
        r = run(["tree", W.concurrent, "--trace", "ffffffffffff"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no trace", r.err)
        r = run(["tree", "-"], stdin=open(W.real, "rb").read(), check=0)
        self.assertIn("1 trace, 5 spans", r.out)

    def test_many_processes_appending_at_once(self):
        r = run(["tree", W.concurrent], check=0)
        self.assertIn("4 traces, 20 spans", r.out)
        self.assertNotIn("without parent", r.out)
        self.assertEqual(r.err, "")

    def test_colour_only_when_asked_or_on_a_terminal(self):
        r = run(["tree", W.mixed, "--color", "always"], check=0)
        self.assertIn("\033[1;31m", r.out)
        r = run(["tree", W.mixed], env={"NO_COLOR": "1"}, check=0)
        self.assertNotIn("\033[", r.out)
        r = run(["tree", W.mixed, "--color", "sometimes"])
        self.assertEqual(r.returncode, 2)

    def test_cut_off_file(self):
        r = run(["tree", W.cut], check=0)
        self.assertIn("1 trace, 4 spans", r.out)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertIn("cut off mid-line", r.err)

    def test_malformed_lines_are_skipped_and_told(self):
        r = run(["tree", W.malformed], check=0)
        self.assertIn("6 spans", r.out)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertIn("skipped 3 lines that are not spans", r.err)
        self.assertIn("line 2: not JSON", r.err)

    def test_orphans_are_roots_and_marked(self):
        r = run(["tree", W.orphans], check=0)
        self.assertEqual(r.out.count("missing)"), W.n_orphan_roots, r.out)
        self.assertIn("forms a cycle", r.out)
        self.assertIn("cycle two", r.out)
        self.assertIn("without parent", r.out)

    def test_bad_input_fails_with_one_line(self):
        for args, code in ((["tree", W.bad_only], 1),
                           (["tree", "/nonexistent.jsonl"], 1),
                           (["tree", "/tmp"], 1),
                           (["tree"], 2),
                           (["tree", W.real, "--bogus"], 2),
                           (["stats", W.bad_only], 1),
                           (["show", W.bad_only, "abcd"], 1),
                           (["html", W.bad_only], 1),
                           (["export", "otlp", W.bad_only], 1)):
            r = run(args)
            self.assertEqual(r.returncode, code, "%s: %s" % (args, r.err))
            self.assertEqual(len(r.err.strip().splitlines()), 1,
                             "%s: %r" % (args, r.err))
            self.assertTrue(r.err.startswith("agenttrace: "), r.err)
        r = run(["tree", W.empty], check=0)
        self.assertIn("no spans", r.out)

    def test_wide_content_is_one_line(self):
        r = run(["tree", W.wide, "--width", "100"], check=0)
        for line in r.out.splitlines():
            self.assertLessEqual(len(line), 100, line)
        self.assertIn("args {\"text\":\"lorem ipsum\\n", r.out)
        self.assertIn("\u2026", r.out)


class TestShow(unittest.TestCase):
    def test_model_call_transcript(self):
        spans = spans_of(W.real)
        second = by_name(spans, "chat")[1]
        r = run(["show", W.real, second["span_id"]], check=0)
        o = r.out
        self.assertTrue(o.startswith("chat gpt-4o-mini\n"), o)
        for want in ("== conversation sent ==", "\nuser\n  What is the "
                     "weather in Paris? Use the tool.",
                     "\nassistant\n  -> tool call get_weather",
                     "\"city\": \"Paris\"", "\ntool\n  <- tool result for "
                     "call_", "\"temperature_c\": 21",
                     "== model output ==", "assistant  finish stop",
                     "Based on the tool result", "== tools offered ==",
                     "get_weather  Get the current weather in a city.",
                     "usage     20 in / 7 out tokens",
                     "first chunk after", "HTTP      POST https://127.0.0.1",
                     "-> 200  (HTTP/1.1, ", "parent    ",
                     "invoke_agent agenttrace-agent",
                     "gen_ai.response.id = "):
            self.assertIn(want, o)

    def test_anthropic_system_prompt(self):
        an = [s for s in by_name(spans_of(W.mixed), "chat claude")
              if s["status"]["code"] != "error"][0]
        r = run(["show", W.mixed, an["span_id"][:6]], check=0)
        self.assertIn("\nsystem\n  You are terse.", r.out)
        self.assertIn("\nuser\n  Summarise the Paris report.", r.out)
        self.assertIn("params    max_tokens 64, stream true", r.out)

    def test_failed_call(self):
        bad = [s for s in spans_of(W.mixed)
               if s["status"]["code"] == "error"][0]
        r = run(["show", W.mixed, bad["span_id"]], check=0)
        self.assertIn("\u2717 failed", r.out)
        self.assertRegex(r.out, r"status +error: ")

    def test_tool_and_http_spans(self):
        spans = spans_of(W.real)
        tool = by_name(spans, "execute_tool")[0]
        r = run(["show", W.real, tool["span_id"]], check=0)
        self.assertIn("== tool arguments ==\n  {\n    \"city\": \"Paris\"",
                      r.out)
        self.assertIn("== tool result ==", r.out)
        self.assertIn("children  ", r.out)
        self.assertIn("GET 127.0.0.1", r.out)
        get = by_name(spans, "GET")[0]
        r = run(["show", W.real, get["span_id"]], check=0)
        self.assertIn("== response body ==", r.out)
        self.assertIn("\"conditions\": \"sunny\"", r.out)

    def test_json_and_lookup_errors(self):
        s = spans_of(W.real)[0]
        r = run(["show", W.real, s["span_id"], "--json"], check=0)
        self.assertEqual(json.loads(r.out), s)
        r = run(["show", "-", s["span_id"].upper()],
                stdin=open(W.real, "rb").read(), check=0)
        self.assertIn(s["name"], r.out)
        r = run(["show", W.real, "ffffffffffffffff"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no span ffffffffffffffff", r.err)
        r = run(["show", W.real, "xyz"])
        self.assertEqual(r.returncode, 2)
        ambiguous = W.write("amb.jsonl", json.dumps(dict(
            s, span_id="1234000000000001")) + "\n" + json.dumps(dict(
                s, span_id="1234000000000002")) + "\n")
        r = run(["show", ambiguous, "1234"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("ambiguous", r.err)


class TestStats(unittest.TestCase):
    def test_text(self):
        r = run(["stats", W.mixed], check=0)
        self.assertRegex(r.out, r"anthropic claude-sonnet-4-5 +2 +1 ")
        self.assertRegex(r.out, r"openai gpt-4o +2 +1 ")
        self.assertIn("failures by type", r.out)

    def test_json_numbers(self):
        r = run(["stats", W.real, "--json"], check=0)
        j = json.loads(r.out)
        spans = spans_of(W.real)
        chats = by_name(spans, "chat")
        m = j["models"][0]
        self.assertEqual((m["provider"], m["model"], m["calls"]),
                         ("openai", "gpt-4o-mini", 2))
        self.assertEqual(m["input_tokens"], sum(
            c["attributes"]["gen_ai.usage.input_tokens"] for c in chats))
        durs = sorted((c["end_time_unix_nano"] - c["start_time_unix_nano"]) /
                      1e9 for c in chats)
        self.assertAlmostEqual(m["latency_s"]["p50"], durs[0], places=9)
        self.assertAlmostEqual(m["latency_s"]["p99"], durs[1], places=9)
        self.assertTrue(m["latency_s"]["exact"])
        self.assertEqual(j["tools"][0]["name"], "get_weather")
        self.assertEqual(j["skipped_lines"], 0)

    def test_hand_made_percentiles(self):
        lines = []
        for i in range(1, 101):
            lines.append(json.dumps({
                "trace_id": "%032x" % 7, "span_id": "%016x" % i,
                "name": "chat m", "kind": "client",
                "start_time_unix_nano": 0,
                "end_time_unix_nano": i * 1000000,
                "attributes": {"gen_ai.operation.name": "chat",
                               "gen_ai.provider.name": "p",
                               "gen_ai.request.model": "m",
                               "gen_ai.response.time_to_first_chunk":
                               i / 1000.0}}))
        p = W.write("pct.jsonl", "\n".join(lines) + "\n")
        j = json.loads(run(["stats", p, "--json"], check=0).out)
        lat = j["models"][0]["latency_s"]
        self.assertAlmostEqual(lat["p50"], 0.050)
        self.assertAlmostEqual(lat["p95"], 0.095)
        self.assertAlmostEqual(lat["p99"], 0.099)
        self.assertAlmostEqual(j["models"][0]["time_to_first_chunk_s"]["p95"],
                               0.095)

    def test_stdin_and_skipped_lines(self):
        r = run(["stats", "-", "--json"], stdin=open(W.malformed,
                                                     "rb").read(), check=0)
        self.assertEqual(json.loads(r.out)["skipped_lines"], 3)
        self.assertIn("skipped 3 lines", r.err)


class TestExport(unittest.TestCase):
    def received(self):
        return http_json(W.rbase + "/received")

    def setUp(self):
        http_json(W.rbase + "/reset", {})

    def test_stdout_is_otlp_json(self):
        r = run(["export", "otlp", W.real, "--batch", "2"], check=0)
        reqs = [json.loads(x) for x in r.out.splitlines()]
        self.assertEqual(len(reqs), 3, "5 spans in batches of 2")
        spans = [s for q in reqs for rs in q["resourceSpans"]
                 for ss in rs["scopeSpans"] for s in ss["spans"]]
        self.assertEqual(len(spans), 5)
        chat = [s for s in spans if s["name"].startswith("chat")][0]
        self.assertEqual(chat["kind"], 3)
        self.assertEqual(chat["status"], {"code": 1})
        self.assertIsInstance(chat["startTimeUnixNano"], str)
        self.assertRegex(chat["traceId"], r"^[0-9a-f]{32}$")
        attrs = {a["key"]: a["value"] for a in chat["attributes"]}
        self.assertEqual(attrs["gen_ai.usage.input_tokens"],
                         {"intValue": "19"})
        self.assertIn("doubleValue", attrs["agenttrace.cost.usd"])
        self.assertIn("arrayValue", attrs["gen_ai.input.messages"])
        scope = reqs[0]["resourceSpans"][0]["scopeSpans"][0]["scope"]
        self.assertEqual(scope["name"], "agenttrace")

    def test_receiver_decodes_real_spans(self):
        r = run(["export", "otlp", W.real, "--endpoint", W.rbase,
                 "--header", "Authorization=Bearer t0ken",
                 "--header", "X-Scope-OrgID: tenant1"], check=0)
        self.assertIn("exported 5 spans in 1 request", r.err)
        got = self.received()
        self.assertEqual(got["rejected"], [])
        self.assertEqual(got["requests"], 1)
        self.assertGreater(got["protobuf_bytes"], 0)
        self.assertEqual(got["headers"][0]["authorization"], "Bearer t0ken")
        self.assertEqual(got["headers"][0]["x-scope-orgid"], "tenant1")
        orig = {s["span_id"]: s for s in spans_of(W.real)}
        self.assertEqual(len(got["spans"]), len(orig))
        for s in got["spans"]:
            o = orig[s["spanId"]]
            self.assertEqual(s["traceId"], o["trace_id"])
            self.assertEqual(s["parentSpanId"], o.get("parent_span_id"))
            self.assertEqual(s["name"], o["name"])
            self.assertEqual(s["start"], str(o["start_time_unix_nano"]))
            self.assertEqual(s["end"], str(o["end_time_unix_nano"]))
            self.assertEqual(s["kind"], {"client": 3, "internal": 1}[
                o["kind"]])
            self.assertEqual(s["attributes"], o["attributes"],
                             "attributes survive decoding unchanged")
            self.assertEqual(s["resource"], o["resource"])
            self.assertEqual(s["scope"]["name"], "agenttrace")

    def test_receiver_decodes_every_edge_file(self):
        for f, n in ((W.mixed, len(spans_of(W.mixed))),
                     (W.orphans, len(spans_of(W.orphans))),
                     (W.concurrent, 20)):
            http_json(W.rbase + "/reset", {})
            run(["export", "otlp", f, "--endpoint", W.rbase, "--batch", "7"],
                check=0)
            got = self.received()
            self.assertEqual(got["rejected"], [], f)
            self.assertEqual(len(got["spans"]), n, f)
        err = [s for s in spans_of(W.mixed)
               if s["status"]["code"] == "error"][0]
        mine = [s for s in got["spans"]] and None
        http_json(W.rbase + "/reset", {})
        run(["export", "otlp", W.mixed, "--endpoint", W.rbase], check=0)
        mine = [s for s in self.received()["spans"]
                if s["spanId"] == err["span_id"]][0]
        self.assertEqual(mine["status"]["code"], 2)
        self.assertEqual(mine["status"]["message"], err["status"]["message"])

    def test_json_attrs(self):
        run(["export", "otlp", W.real, "--endpoint", W.rbase + "/v1/traces",
             "--json-attrs"], check=0)
        got = self.received()
        self.assertEqual(got["rejected"], [])
        chat = [s for s in got["spans"] if s["name"].startswith("chat")][0]
        self.assertIsInstance(chat["attributes"]["gen_ai.input.messages"],
                              str)

    def test_the_receiver_is_strict(self):
        bad = {"resourceSpans": [{"resource": {"attributes": []},
               "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
                   "traceId": "%032x" % 1, "spanId": "%016x" % 1,
                   "name": "n", "kind": 1, "startTimeUnixNano": "1",
                   "endTimeUnixNano": "2",
                   "attributes": [{"key": "k", "value": {"intValue": 5}}]
               }]}]}]}
        req = urllib.request.Request(W.rbase + "/v1/traces",
                                     data=json.dumps(bad).encode(),
                                     headers={"Content-Type":
                                              "application/json"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 400)
        self.assertIn("intValue", self.received()["rejected"][0])

    def test_retry_with_backoff(self):
        http_json(W.rbase + "/control", {"fail": 2, "status": 503,
                                         "retry_after": 0})
        t = time.monotonic()
        run(["export", "otlp", W.real, "--endpoint", W.rbase, "--backoff",
             "100"], check=0)
        took = time.monotonic() - t
        got = self.received()
        self.assertEqual((got["attempts"], got["requests"]), (3, 1))
        self.assertGreater(took, 0.15, "waited 100 ms, then 200 ms, -25%")
        http_json(W.rbase + "/reset", {})
        http_json(W.rbase + "/control", {"fail": 1, "status": 429})
        run(["export", "otlp", W.real, "--endpoint", W.rbase, "--backoff",
             "50"], check=0)
        self.assertEqual(self.received()["attempts"], 2)

    def test_gives_up(self):
        http_json(W.rbase + "/control", {"fail": 10, "status": 500})
        r = run(["export", "otlp", W.real, "--endpoint", W.rbase,
                 "--retries", "2", "--backoff", "10"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 500", r.err)
        self.assertIn("3 attempts", r.err)
        self.assertEqual(self.received()["attempts"], 3)
        http_json(W.rbase + "/reset", {})
        http_json(W.rbase + "/control", {"fail": 1, "status": 400})
        r = run(["export", "otlp", W.real, "--endpoint", W.rbase])
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 400", r.err)
        self.assertEqual(self.received()["attempts"], 1, "400 is final")
        r = run(["export", "otlp", W.real, "--endpoint",
                 "http://127.0.0.1:1", "--retries", "1", "--backoff", "10"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("2 attempts", r.err)
        r = run(["export", "otlp", W.real, "--endpoint", "ftp://x"])
        self.assertEqual(r.returncode, 2)

    def test_follow_ships_a_growing_file(self):
        f = W.path("growing.jsonl")
        lines = open(W.concurrent, encoding="utf-8").read().splitlines(True)
        with open(f, "w") as out:
            out.writelines(lines[:3])
        e = dict(os.environ)
        p = subprocess.Popen([CLI, "export", "otlp", f, "--endpoint",
                              W.rbase, "--follow", "--poll", "50"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=e)
        try:
            def wait_for(n):
                t = time.monotonic()
                while time.monotonic() - t < 15:
                    if len(self.received()["spans"]) >= n:
                        return
                    time.sleep(0.05)
                self.fail("receiver has %d spans, want %d" %
                          (len(self.received()["spans"]), n))
            wait_for(3)
            with open(f, "a") as out:
                out.writelines(lines[3:10])
                out.write(lines[10][:40])  # a writer mid-line
                out.flush()
                wait_for(10)
                time.sleep(0.2)
                self.assertEqual(len(self.received()["spans"]), 10)
                out.write(lines[10][40:])
            wait_for(11)
        finally:
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        got = self.received()
        self.assertEqual(got["rejected"], [])
        self.assertEqual(len(got["spans"]), 11)
        self.assertIn(b"exported 11 spans", err)


@unittest.skipIf(SANITIZED, "the browser adds nothing under ASan")
class TestHtml(unittest.TestCase):
    def check(self, path, name, span_id=None):
        page = os.path.join(OUT, name + ".html")
        r = run(["html", path], check=0)
        with open(page, "w", encoding="utf-8") as f:
            f.write(r.out)
        args = ["node", os.path.join(HERE, "html_check.js"), page,
                os.path.join(OUT, name)]
        if span_id:
            args.append(span_id)
        c = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(c.returncode, 0, c.stderr.decode())
        res = json.loads(c.stdout)
        self.assertEqual(res["console_errors"], [])
        self.assertEqual(res["page_errors"], [])
        self.assertEqual(res["requests"], [], "no network")
        return r.out, res

    def test_real_run(self):
        spans = spans_of(W.real)
        second = by_name(spans, "chat")[1]
        html, res = self.check(W.real, "real", second["span_id"])
        self.assertNotRegex(html, r"<(script|link|img)[^>]+(src|href)=",
                            "self-contained")
        self.assertIn("Content-Security-Policy", html)
        self.assertEqual(res["rows"], len(spans), "one row per span")
        self.assertEqual(res["trace_heads"], 1)
        d = res["detail"]
        self.assertEqual(d["title"], "chat gpt-4o-mini")
        self.assertEqual(d["roles"], ["user", "assistant", "tool",
                                      "assistant"])
        self.assertIn("tool call get_weather", d["text"])
        self.assertIn("Based on the tool result", d["text"])
        self.assertIn("gen_ai.response.id", d["text"])
        self.assertEqual(d["selected"], 1)
        self.assertTrue(res["detail_after_close_hidden"])
        for shot in res["screenshots"]:
            self.assertGreater(os.path.getsize(shot), 5000)

    def test_failures_and_orphans(self):
        spans = spans_of(W.mixed)
        html, res = self.check(W.mixed, "mixed")
        self.assertEqual(res["rows"], len(spans))
        self.assertEqual(res["failed_rows"], 2)
        self.assertTrue(res["detail"]["title"].startswith("\u2717 chat"))
        self.assertEqual(res["rows_visible_errors_only"], 3)
        html, res = self.check(W.orphans, "orphans")
        self.assertEqual(res["rows"], len(spans_of(W.orphans)))
        self.assertEqual(res["orphan_marks"], W.n_orphan_roots + 1)

    def test_hostile_content_stays_text(self):
        s = spans_of(W.real)[0]
        s["name"] = "</script><script>window.pwned=1</script><b>x"
        s["attributes"]["gen_ai.input.messages"] = [{
            "role": "user", "parts": [{"type": "text", "content":
                                       "<img src=x onerror=alert(1)>"}]}]
        p = W.write("hostile.jsonl", json.dumps(s) + "\n")
        html, res = self.check(p, "hostile", s["span_id"])
        self.assertNotIn("</script><script>window", html)
        self.assertEqual(res["rows"], 1)
        self.assertIn("<img src=x onerror=alert(1)>", res["detail"]["text"])


class TestDatasetEval(unittest.TestCase):
    def setUp(self):
        self.cases = W.path("cases-%s.jsonl" % self._testMethodName)
        spans = spans_of(W.real)
        self.first, self.second = by_name(spans, "chat")[:2]

    def add(self, span, *expect, label="case", check=0, src=None):
        args = ["dataset", "add", src or W.real, span, "--label", label,
                "--out", self.cases]
        for e in expect:
            args += ["--expect", e]
        return run(args, check=check)

    def evaluate(self, *extra, check=None):
        return run(["eval", self.cases, "--endpoint", W.base + "/v1",
                    "--cacert", W.ca] + list(extra), check=check)

    def test_a_case_holds_the_exact_request(self):
        self.add(self.first["span_id"], 'tool=get_weather:{"city":"Paris"}',
                 label="asks for the weather")
        case = spans_of(self.cases)[0]
        self.assertEqual(case["label"], "asks for the weather")
        self.assertEqual(case["source"]["span_id"], self.first["span_id"])
        self.assertEqual(case["source"]["trace_id"], self.first["trace_id"])
        a = self.first["attributes"]
        self.assertEqual(case["request"]["messages"],
                         a["gen_ai.input.messages"])
        self.assertEqual(case["request"]["tools"],
                         a["gen_ai.tool.definitions"])
        self.assertEqual(case["output"]["messages"],
                         a["gen_ai.output.messages"])
        self.assertEqual(case["checks"], [{
            "type": "tool_call", "name": "get_weather",
            "arguments": {"city": "Paris"}}])
        # Replayed: the mock receives the request the agent sent.
        http_json(W.base + "/mock/reset", {}, cafile=W.ca)
        r = self.evaluate(check=0)
        self.assertIn("1 of 1 case passed", r.out)
        replay = http_json(W.base + "/mock/log", cafile=W.ca)[0]["request"]
        orig = W.agent_log[0]["request"]
        self.assertEqual(replay["messages"], orig["messages"])
        self.assertEqual(replay["tools"], orig["tools"])
        self.assertEqual(replay["model"], orig["model"])

    def test_gate_passes_and_fails(self):
        self.add(self.first["span_id"], "tool=get_weather", label="tool")
        self.add(self.second["span_id"][:8], "regex=sunny", "not-regex=rain",
                 label="sunny")
        self.add(self.second["span_id"], "regex=^It is raining", "json",
                 label="wrong on purpose")
        r = self.evaluate()
        self.assertEqual(r.returncode, 1, r.out + r.err)
        self.assertIn("2 of 3 cases passed", r.out)
        self.assertRegex(r.out, r"sunny +2/2 +pass")
        self.assertRegex(r.out, r"wrong on purpose +0/2 +FAIL")
        self.assertIn("x regex: /^It is raining/ does not match", r.out)
        results = spans_of(self.cases.replace(".jsonl", ".results.jsonl"))
        self.assertEqual([x["passed"] for x in results],
                         [True, True, False])
        self.assertEqual(results[0]["output"]["tool_calls"][0]["arguments"],
                         {"city": "Paris"})
        self.assertFalse(re.search(r"(?m)^\d+ passed, \d+ failed", r.out),
                         "never the line CI tools read as a test run")

    def test_anthropic_endpoint_and_model(self):
        self.add(self.first["span_id"], "tool=get_weather")
        self.add(self.second["span_id"], "regex=sunny")
        out = W.path("res.jsonl")
        http_json(W.base + "/mock/reset", {}, cafile=W.ca)
        r = self.evaluate("--api", "anthropic", "--model", "claude-test",
                          "--results", out, check=0)
        self.assertIn("2 of 2 cases passed", r.out)
        log = http_json(W.base + "/mock/log", cafile=W.ca)
        self.assertEqual([x["provider"] for x in log], ["anthropic"] * 2)
        req = log[1]["request"]
        self.assertEqual(req["model"], "claude-test")
        self.assertEqual([m["role"] for m in req["messages"]],
                         ["user", "assistant", "user"])
        self.assertEqual(req["messages"][2]["content"][0]["type"],
                         "tool_result")
        self.assertEqual(spans_of(out)[0]["api"], "anthropic")

    def test_endpoint_errors_fail_the_gate(self):
        self.add(self.first["span_id"], "tool=get_weather")
        r = run(["eval", self.cases, "--endpoint",
                 W.base + "/mock/status=500/v1", "--cacert", W.ca,
                 "--retries", "0"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR", r.out)
        self.assertIn("HTTP 500", r.out)
        r = run(["eval", self.cases, "--endpoint", "http://127.0.0.1:1/v1",
                 "--retries", "0"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("0 of 1 case passed", r.out)

    def test_refusals(self):
        tool = by_name(spans_of(W.real), "execute_tool")[0]
        r = self.add(tool["span_id"], "json", check=1)
        self.assertIn("not a model call", r.err)
        r = self.add(self.first["span_id"], "contains=x", check=2)
        self.assertIn("unknown check", r.err)
        r = run(["dataset", "add", W.real, self.first["span_id"], "--out",
                 self.cases])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--label", r.err)
        r = run(["eval", self.cases])
        self.assertEqual(r.returncode, 2)
        bad = W.write("badcases.jsonl", "{\"x\":1}\nnot json\n")
        r = run(["eval", bad, "--endpoint", W.base + "/v1", "--cacert",
                 W.ca])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no request", r.out)


class TestHelpAndLarge(unittest.TestCase):
    def test_every_command_has_help(self):
        for cmd in ("run", "tree", "show", "stats", "export", "html",
                    "dataset", "eval"):
            r = run([cmd, "--help"], check=0)
            self.assertTrue(r.out.startswith("usage: agenttrace " + cmd),
                            r.out)
        self.assertEqual(run(["--help"]).returncode, 0)
        self.assertEqual(run(["frobnicate"]).returncode, 2)
        self.assertEqual(run([]).returncode, 2)

    def test_a_generated_file(self):
        f = W.path("gen.jsonl")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE,
                                                         "gen_spans.py"),
                        "20000", f], check=True, timeout=120)
        s = json.loads(run(["stats", f, "--json"], check=0).out)
        self.assertEqual(s["spans"], 20000)
        self.assertFalse(s["models"][0]["latency_s"]["exact"],
                         "past 1024 values: the bounded sketch")
        t = run(["tree", f], check=0)
        self.assertIn("20000 spans", t.out)
        self.assertIn("without parent", t.out)
        e = run(["export", "otlp", f, "--batch", "1000"], check=0)
        self.assertEqual(len(e.out.splitlines()), 20)


@unittest.skipIf(SANITIZED or not shutil.which("valgrind"),
                 "valgrind: the plain build only")
class TestValgrind(unittest.TestCase):
    def test_clean(self):
        spans = spans_of(W.real)
        for args in (["tree", W.orphans], ["stats", W.malformed, "--json"],
                     ["show", W.real, by_name(spans, "chat")[1]["span_id"]],
                     ["export", "otlp", W.mixed], ["html", W.cut],
                     ["tree", W.bad_only]):
            r = subprocess.run(["valgrind", "-q", "--error-exitcode=99",
                                "--leak-check=full",
                                "--errors-for-leak-kinds=definite", CLI] +
                               args, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=120)
            self.assertNotEqual(r.returncode, 99, "%s:\n%s" % (
                args, r.stderr.decode()))


class Result(unittest.TextTestResult):
    pass


def main():
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result)
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors)
    passed = max(0, res.testsRun - failed - len(res.skipped))
    print("cli-integration%s: %d passed, %d failed" % (
        "-asan" if SANITIZED else "", passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
