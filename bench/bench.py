#!/usr/bin/python3
"""bench.py BUILD - what the shim costs, traced over untraced, on this machine.

Each workload is a whole process run untraced and traced (LD_PRELOAD of
BUILD/libagenttrace.so).  Two measures:
  - instructions: valgrind --tool=callgrind, whole process, all threads
    (work moved to the sink thread is counted); exact and repeatable.
  - wall: interleaved pairs (the order alternates), median of N; the ratio
    is the median of the per-pair ratios.
Every traced run's span file is checked (span count, usage), so a shim
that captures nothing cannot look fast.  The server is nginx from Debian
with a certificate made at start, pinned to CPU 1; clients run on CPU 0.

Also: the hooks alone (build/bench/micro_hooks, from bench/micro_hooks.c):
ns and instructions added per call, traced over untraced; the sink alone
(build/bench/sink_tp, from bench/sink_tp.c): exchanges and stream chunks
per second one sink thread turns into spans, and what that makes of the
ring's size; and the proxy a user would pick instead: the same 2,000 POSTs
through mitmdump recording to a file (Debian's mitmproxy, installed with
apt-get when missing).

Environment: BENCH_PAIRS (wall pairs, default 11), BENCH_REQ (requests per
connection, default 2000), BENCH_CG_REQ (requests under callgrind, default
BENCH_REQ), BENCH_ONLY (comma separated workload ids to run: true, true-bash, py-tls,
agent, conv (all five of conv-chat, conv-messages, conv-responses, conv-gemini,
conv-ollama), events, curl-h1-tls, curl-h2-tls, curl-h1-plain, curl-h1-layer, sse,
download, micro, sink, mitm), BENCH_AGENT_REQ (requests of the agent loop, default 300),
BENCH_EVENTS (events of each API's streamed answer in `events`, default 5000),
BENCH_CONV_TURNS (turns of each conversation, default 40),
BENCH_PORT_BASE (nginx listens on BASE..BASE+3 and mitmdump on BASE+4;
default 18443, 18444, 18080, 18445 and 18446), BENCH_MICRO_PAIRS (process
pairs of the hook microbenchmark, default 7), BENCH_MICRO_CALLS (calls per
repetition, default 100000), BENCH_MITM_PAIRS (mitmdump pairs, default
BENCH_PAIRS), BENCH_CG_KEEP (a folder to keep the callgrind profiles in,
for callgrind_annotate).  Standard library only.
"""

import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
SHIM = os.path.join(BUILD, "libagenttrace.so")
EMPTY = os.path.join(BUILD, "bench", "empty.so")
IDLE = os.path.join(BUILD, "bench", "idle_thread.so")
PAIRS = int(os.environ.get("BENCH_PAIRS", "11"))
NREQ = int(os.environ.get("BENCH_REQ", "2000"))
CG_REQ = int(os.environ.get("BENCH_CG_REQ", str(NREQ)))
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
PY = "/usr/bin/python3"
CLIENT_CPU = ["taskset", "-c", "0"]
SERVER_CPU = ["taskset", "-c", "1"]
if os.environ.get("BENCH_PORT_BASE"):
    _B = int(os.environ["BENCH_PORT_BASE"])
    TLS_PORT, H2_PORT, PLAIN_PORT, SSE_PORT, MITM_PORT = _B, _B + 1, _B + 2, _B + 3, _B + 4
else:
    TLS_PORT, H2_PORT, PLAIN_PORT, SSE_PORT, MITM_PORT = 18443, 18444, 18080, 18445, 18446
MICRO_PAIRS = int(os.environ.get("BENCH_MICRO_PAIRS", "7"))
MICRO_CALLS = int(os.environ.get("BENCH_MICRO_CALLS", "100000"))
MICRO_CG_CALLS = 20000
MITM_PAIRS = int(os.environ.get("BENCH_MITM_PAIRS", str(PAIRS)))
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")

IN_TOK, OUT_TOK = 12, 9
ANSWER = "Hello! How can I help you today?"
CHAT_JSON = json.dumps({
    "id": "chatcmpl-bench1", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": IN_TOK, "completion_tokens": OUT_TOK,
              "total_tokens": IN_TOK + OUT_TOK}}, separators=(",", ":"))
REQ_BODY = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}]}'
# the agent loop's answer: one tool call, every time
AGENT_CALL_ID = "call_bench"
AGENT_JSON = json.dumps({
    "id": "chatcmpl-bench3", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {
        "role": "assistant", "content": None,
        "tool_calls": [{"id": AGENT_CALL_ID, "type": "function", "function": {
            "name": "search", "arguments": '{"query":"caf\u00e9 prices","top_k":3}'}}],
        "refusal": None}, "finish_reason": "tool_calls"}],
    "usage": {"prompt_tokens": IN_TOK, "completion_tokens": OUT_TOK,
              "total_tokens": IN_TOK + OUT_TOK}}, separators=(",", ":"))
AGENT_REQ = int(os.environ.get("BENCH_AGENT_REQ", "300"))
SSE_CHUNKS = 20000
SSE_REQ = ('{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},'
           '"messages":[{"role":"user","content":"Hello there"}]}')
SSE_OUT_TOK = SSE_CHUNKS
DOWNLOAD_MB = 256
EVENT_LEN = [0]

LOG = []


def say(msg=""):
    print(msg, flush=True)
    LOG.append(msg)


def die(msg):
    say("bench: " + msg)
    sys.exit(1)


# ---------------------------------------------------------------- helpers

def run(argv, env=None, stdout=subprocess.DEVNULL, check=True):
    """Runs argv; returns (seconds, peak RSS in KiB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if check and p.returncode != 0:
        die("%s exited %d: %s" % (" ".join(argv[:6]), p.returncode,
                                  err.decode(errors="replace")[-600:]))
    return dt, ru.ru_maxrss


def env_for(mode, out, extra=None):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    for k in list(e):
        if k.startswith("AGENTTRACE_"):
            del e[k]
    # Python's string hashes are salted per process, which moves its own
    # instruction count by ~0.3% from run to run: one fixed salt for every
    # run, traced or not, so that the Python ratio repeats.
    e["PYTHONHASHSEED"] = "0"
    if mode == "traced":
        e["LD_PRELOAD"] = SHIM
        e["AGENTTRACE_OUTPUT"] = out
        e.update(extra or {})
    elif mode == "empty":
        e["LD_PRELOAD"] = EMPTY
    elif mode == "idle":
        e["LD_PRELOAD"] = IDLE
    return e


def spans(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def callgrind(argv, env, tmp, label="cg", children=False):
    """Instructions executed by the whole process (all threads); with
    `children`, by every process it starts too (their sum).  With
    BENCH_CG_KEEP=DIR the profile is kept as DIR/callgrind.LABEL."""
    out = os.path.join(tmp, "cg.out")
    cmd = CLIENT_CPU + ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv
    if children:
        out = os.path.join(tmp, "cg.out.%p")
        cmd = CLIENT_CPU + ["valgrind", "--tool=callgrind", "--trace-children=yes",
                            "--callgrind-out-file=" + out] + argv
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        die("callgrind %s exited %d: %s" % (" ".join(argv[:4]), p.returncode, err[-600:]))
    found = re.findall(r"Collected : (\d+)", err)
    if not found:
        die("no 'Collected' line from callgrind: " + err[-400:])
    if children:
        for f in glob.glob(os.path.join(tmp, "cg.out.*")):
            os.unlink(f)
        return sum(int(x) for x in found)
    m = re.search(r"Collected : (\d+)", err)
    if os.environ.get("BENCH_CG_KEEP"):
        os.makedirs(os.environ["BENCH_CG_KEEP"], exist_ok=True)
        shutil.copy(out, os.path.join(os.environ["BENCH_CG_KEEP"], "callgrind." + label))
    try:
        os.unlink(out)
    except OSError:
        pass
    return int(m.group(1))


RESULTS = []


def peak_rss(argv, env, tmp):
    """Peak RSS in KiB of argv (of the sh for a shell loop), or 0."""
    if not os.path.exists("/usr/bin/time"):
        return 0
    f = os.path.join(tmp, "rss")
    run(["/usr/bin/time", "-f", "%M", "-o", f] + argv, env)
    with open(f) as fh:
        return int(fh.read().split()[-1])


def record(wid, name, ins, wall, ins_target, wall_target, check, note=""):
    RESULTS.append(dict(id=wid, name=name, ins=ins, wall=wall, ins_target=ins_target,
                        wall_target=wall_target, check=check, note=note))


def verdict(ratio, target):
    if ratio is None or target is None:
        return "-"
    return "MET" if ratio <= target else "MISSED"


# --------------------------------------------------------------- workload

def measure(wid, name, argv, check, tmp, cg_argv=None, ins_target=None,
            wall_target=None, modes=("untraced", "traced"), note="",
            traced_env=None, cg_children=False):
    """Interleaved wall pairs, callgrind once per mode, span check on every
    traced run.  check(spans) returns None if right, else a message."""
    if ONLY and wid not in ONLY:
        return
    say("== %s" % name)
    out = os.path.join(tmp, "spans.jsonl")
    walls = {m: [] for m in modes}
    rss = {m: [] for m in modes}
    ratios = []
    checked = 0
    # one warm-up of each mode (page cache, nginx worker, TLS session code)
    for m in modes:
        run(CLIENT_CPU + argv, env_for(m, out, traced_env))
    if os.path.exists(out):
        os.unlink(out)
    for i in range(PAIRS):
        order = list(modes) if i % 2 == 0 else list(reversed(modes))
        t = {}
        for m in order:
            if os.path.exists(out):
                os.unlink(out)
            t[m], _ = run(CLIENT_CPU + argv, env_for(m, out, traced_env))
            if m == "traced":
                msg = check(spans(out))
                if msg:
                    die("%s: traced run %d: %s" % (name, i, msg))
                checked += 1
        walls_pair = t
        for m in modes:
            walls[m].append(walls_pair[m])
        ratios.append(walls_pair["traced"] / walls_pair["untraced"])
    # Peak RSS, one run per mode under /usr/bin/time (a child's ru_maxrss
    # as seen from this script starts at this script's own RSS at fork).
    for m in modes:
        if os.path.exists(out):
            os.unlink(out)
        rss[m].append(peak_rss(CLIENT_CPU + argv, env_for(m, out, traced_env), tmp))
    med = {m: statistics.median(walls[m]) for m in modes}
    wall_ratio = statistics.median(ratios)
    ins = {}
    cg = cg_argv or argv
    for m in modes:
        if os.path.exists(out):
            os.unlink(out)
        ins[m] = callgrind(cg, env_for(m, out, traced_env), tmp, "%s.%s" % (wid, m),
                           children=cg_children)
    if os.path.exists(out):
        os.unlink(out)
    ins_ratio = ins["traced"] / ins["untraced"]
    say("   wall s (median of %d): %s; traced/untraced pairs ratio %.4f" % (
        PAIRS, ", ".join("%s %.4f" % (m, med[m]) for m in modes), wall_ratio))
    say("   instructions: %s; traced/untraced %.4f%s" % (
        ", ".join("%s %d" % (m, ins[m]) for m in modes), ins_ratio,
        "" if cg_argv is None else "  [callgrind: %s]" % note))
    say("   peak RSS KiB (one run, /usr/bin/time): %s; traced - untraced %+d KiB" % (
        ", ".join("%s %d" % (m, rss[m][0]) for m in modes), rss["traced"][0] - rss["untraced"][0]))
    # the floors: a preloaded library that does nothing, or only starts a
    # thread; their wall ratios are medians of their own pairs' ratios
    floor = {m: (statistics.median([a / b for a, b in zip(walls[m], walls["untraced"])]),
                 ins[m] / ins["untraced"]) for m in ("empty", "idle") if m in modes}
    if "empty" in floor:
        say("   empty .so: wall %.4f, instructions %.4f" % floor["empty"])
    if "idle" in floor:
        # (run only where callgrind's run is CG_REQ requests)
        per = (ins["idle"] - ins["untraced"]) / (CG_REQ or 1)
        say("   an idle thread preloaded: wall %.4f, instructions %.4f (%+.0f a request)" % (
            floor["idle"] + (per,)))
    say("   spans checked in %d traced runs: ok" % checked)
    record(wid, name, ins_ratio, wall_ratio, ins_target, wall_target,
           "%d runs ok" % checked, note)
    RESULTS[-1]["untraced_s"] = med["untraced"]
    if "empty" in floor:
        record(wid + "-empty", name + ", empty .so (the floor)", floor["empty"][1],
               floor["empty"][0], None, None, "-", "")
    if "idle" in floor:
        record(wid + "-idle", name + ", an idle thread preloaded (what a sink thread costs "
               "before it does anything)", floor["idle"][1], floor["idle"][0],
               None, None, "-", "%+.0f instructions a request" % per)

# ----------------------------------------------------------------- checks

def chat_check(n, transport=None, version=None):
    def check(sp):
        chats = [s for s in sp if s.get("name", "").startswith("chat ")]
        if len(chats) != n:
            names = {}
            for s in sp:
                names[s.get("name")] = names.get(s.get("name"), 0) + 1
            return "%d chat spans, want %d (spans by name: %s)" % (len(chats), n, names)
        for s in chats:
            a = s.get("attributes", {})
            if a.get("gen_ai.usage.input_tokens") != IN_TOK or \
               a.get("gen_ai.usage.output_tokens") != OUT_TOK:
                return "wrong usage in span: %s" % json.dumps(a)[:300]
            if transport and a.get("agenttrace.transport") != transport:
                return "transport %r, want %r" % (a.get("agenttrace.transport"), transport)
            if version and a.get("agenttrace.http.version") != version:
                return "HTTP version %r, want %r" % (a.get("agenttrace.http.version"), version)
        return None
    return check


def agent_check(n):
    """The agent loop: n chat spans, each with its tool call; n
    execute_tool spans, each closed by the next request's tool result (the
    last by the exit, status unset)."""
    def check(sp):
        msg = chat_check(n, "socket", "1.1")(sp)
        if msg:
            return msg
        tools = [s for s in sp if s.get("name") == "execute_tool search"]
        if len(tools) != n:
            return "%d execute_tool spans, want %d" % (len(tools), n)
        closed = 0
        for s in tools:
            a = s.get("attributes", {})
            if a.get("gen_ai.tool.call.id") != AGENT_CALL_ID or \
               a.get("gen_ai.tool.call.arguments") != {"query": "caf\u00e9 prices", "top_k": 3}:
                return "wrong tool span: %s" % json.dumps(a)[:300]
            res = a.get("gen_ai.tool.call.result")
            if res is not None:
                if "report-" not in str(res):
                    return "wrong tool result: %s" % json.dumps(res)[:300]
                closed += 1
        if closed != n - 1:
            return "%d tool spans closed by a result, want %d" % (closed, n - 1)
        return None
    return check


def start_server(argv, pf):
    """A server (argv, pinned to the server's CPU) that writes its port to
    file pf: the process and the port."""
    p = subprocess.Popen(SERVER_CPU + argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(pf) and open(pf).read().strip():
            return p, open(pf).read().strip()
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.terminate()
    die("%s did not start" % " ".join(argv[:2]))


def conv_check(n):
    """An agent's growing conversation: n chat spans, the k-th with the
    2k + 2 messages its request held (the memo of the last bodies must
    not lose or repeat one)."""
    def check(sp):
        chats = sorted((s for s in sp if s.get("name", "").startswith(
                            ("chat ", "generate_content "))),
                       key=lambda s: s.get("start_time_unix_nano", 0))
        if len(chats) != n:
            return "%d chat spans, want %d" % (len(chats), n)
        for k, s in enumerate(chats):
            msgs = s.get("attributes", {}).get("gen_ai.input.messages")
            want = 2 * k + 2 if isinstance(msgs, list) and msgs and \
                msgs[0].get("role") == "system" else 2 * k + 1
            if not isinstance(msgs, list) or len(msgs) != want:
                return "chat span %d: %s input messages, want %d" % (
                    k, len(msgs) if isinstance(msgs, list) else msgs, want)
            if k > 0 and "report-%d" % (k - 1) not in json.dumps(msgs[-1]):
                return "chat span %d: last message %s" % (k, json.dumps(msgs[-1])[:200])
        return None
    return check


CONV_APIS = (("chat", "Chat Completions"), ("messages", "Anthropic Messages"),
             ("responses", "Responses API"), ("gemini", "Gemini generateContent"),
             ("ollama", "Ollama /api/chat"))
CONV_TURNS = int(os.environ.get("BENCH_CONV_TURNS", "40"))


def conversations(tmp):
    """An agent's conversation with each API, growing without a window,
    against the mock server (which answers each API in its own format):
    what the shim costs where an agent's requests are long and each holds
    the last one."""
    ids = ["conv-" + a for a, _ in CONV_APIS]
    if ONLY and not any(w in ONLY for w in ids + ["conv"]):
        return
    pf = os.path.join(tmp, "mock.port")
    mock, port = start_server([PY, os.path.join(ROOT, "scripts", "mock_llm.py"),
                               "--port", "0", "--port-file", pf], pf)
    try:
        for api, label in CONV_APIS:
            wid = "conv-" + api
            if ONLY and wid not in ONLY and "conv" not in ONLY:
                continue
            argv = [PY, os.path.join(HERE, "py_conv.py"), api, "127.0.0.1", port, str(CONV_TURNS)]
            if ONLY and "conv" in ONLY:
                ONLY.append(wid)
            measure(wid, "python agent conversation, %s, %d turns with tool calls, no window "
                    "(bodies growing to ~30 KB)" % (label, CONV_TURNS),
                    argv, conv_check(CONV_TURNS), tmp, note="%d requests" % CONV_TURNS)
    finally:
        mock.terminate()
        mock.wait()


EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
EVENT_APIS = (("chat", "Chat Completions", "/v1/chat/completions"),
              ("messages", "Anthropic Messages", "/v1/messages"),
              ("responses", "Responses API", "/v1/responses"),
              ("gemini", "Gemini streamGenerateContent",
               "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
              ("ollama", "Ollama /api/chat (NDJSON)", "/api/chat"))


def stream_events(tmp):
    """What one streamed event costs, API by API: curl -N reading an
    answer of EVENTS pieces (bench/stream_server.py, plain HTTP, one write
    per event; a read may carry several), instructions traced - untraced
    per event under callgrind, and the span checked (the text reassembled,
    the output tokens)."""
    if ONLY and "events" not in ONLY:
        return
    say("== streamed answers of %d events, curl -N, plain h1: instructions per event" % EVENTS)
    pf = os.path.join(tmp, "events.port")
    srv, port = start_server([PY, os.path.join(HERE, "stream_server.py"), str(EVENTS), pf], pf)
    text = "".join("w%d " % (i % 10) for i in range(EVENTS))
    try:
        for api, label, path in EVENT_APIS:
            argv = ["curl", "-sN", "-o", "/dev/null", "-H", "Content-Type: application/json",
                    "-H", "Authorization: Bearer sk-bench-events",
                    "-d", '{"model":"m","stream":true,"max_tokens":10,'
                          '"messages":[{"role":"user","content":"hi"}]}',
                    "http://127.0.0.1:%s%s" % (port, path)]
            out = os.path.join(tmp, "events.jsonl")
            ins = {}
            for m in ("untraced", "traced"):
                if os.path.exists(out):
                    os.unlink(out)
                ins[m] = callgrind(argv, env_for(m, out), tmp, "events-%s.%s" % (api, m))
            chat = [s for s in spans(out) if s.get("name", "").startswith(("chat ", "generate_content "))]
            if len(chat) != 1:
                die("events %s: %d chat spans" % (api, len(chat)))
            a = chat[0].get("attributes", {})
            got = "".join(p.get("content", "") for m in a.get("gen_ai.output.messages", [])
                          for p in m.get("parts", []) if p.get("type") == "text")
            if got != text or a.get("gen_ai.usage.output_tokens") != EVENTS:
                die("events %s: text of %d bytes (want %d), output tokens %r" % (
                    api, len(got), len(text), a.get("gen_ai.usage.output_tokens")))
            per = (ins["traced"] - ins["untraced"]) / EVENTS
            say("   %-30s untraced %d, traced %d: %+.0f instructions an event (ratio %.4f); span ok"
                % (label, ins["untraced"], ins["traced"], per, ins["traced"] / ins["untraced"]))
            EVENT_COST[api] = per
    finally:
        srv.terminate()
        srv.wait()


EVENT_COST = {}


def process_check(n):
    def check(sp):
        procs = [s for s in sp if s.get("name", "").startswith(("process ", "invoke_agent "))]
        if len(procs) != n:
            return "%d process spans, want %d" % (len(procs), n)
        return None
    return check


def sse_text():
    return "".join("w%d " % (i % 10) for i in range(SSE_CHUNKS))


def sse_check(sp):
    chats = [s for s in sp if s.get("name", "").startswith("chat ")]
    if len(chats) != 1:
        return "%d chat spans, want 1 (%s)" % (len(chats), [s.get("name") for s in sp])
    a = chats[0].get("attributes", {})
    if a.get("gen_ai.usage.input_tokens") != IN_TOK or \
       a.get("gen_ai.usage.output_tokens") != SSE_OUT_TOK:
        return "wrong usage: in %r out %r" % (a.get("gen_ai.usage.input_tokens"),
                                             a.get("gen_ai.usage.output_tokens"))
    msgs = a.get("gen_ai.output.messages") or []
    text = "".join(p.get("content", "") for m in msgs for p in m.get("parts", [])
                   if p.get("type") == "text")
    if text != sse_text():
        return "reassembled text differs (%d chars, want %d)" % (len(text), len(sse_text()))
    return None


def download_check(sp):
    procs = [s for s in sp if s.get("name", "").startswith(("process ", "invoke_agent "))]
    if len(procs) != 1:
        return "%d process spans, want 1" % len(procs)
    return None


# ----------------------------------------------------------------- server

def make_files(tmp):
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "stream.sse"), "w") as f:
        for i in range(SSE_CHUNKS):
            ch = {"id": "chatcmpl-bench2", "object": "chat.completion.chunk",
                  "created": 1700000000, "model": "gpt-4o-mini-2024-07-18",
                  "choices": [{"index": 0, "delta": {"content": "w%d " % (i % 10)},
                               "finish_reason": None}]}
            ev = "data: " + json.dumps(ch, separators=(",", ":")) + "\n\n"
            EVENT_LEN[0] = len(ev)  # every content event has this length
            f.write(ev)
        fin = {"id": "chatcmpl-bench2", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "gpt-4o-mini-2024-07-18",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        f.write("data: " + json.dumps(fin, separators=(",", ":")) + "\n\n")
        use = {"id": "chatcmpl-bench2", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "gpt-4o-mini-2024-07-18", "choices": [],
               "usage": {"prompt_tokens": IN_TOK, "completion_tokens": SSE_OUT_TOK,
                         "total_tokens": IN_TOK + SSE_OUT_TOK}}
        f.write("data: " + json.dumps(use, separators=(",", ":")) + "\n\n")
        f.write("data: [DONE]\n\n")
    with open(os.path.join(www, "big.bin"), "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(DOWNLOAD_MB):
            f.write(block)
    return www


def start_nginx(tmp, www):
    if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        say("bench: installing nginx-light (apt-get)")
        subprocess.run(["apt-get", "install", "-y", "nginx-light"], check=True,
                       stdout=subprocess.DEVNULL)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    import socket
    for port in (TLS_PORT, H2_PORT, PLAIN_PORT, SSE_PORT, MITM_PORT):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
        except OSError:
            continue
        die("port %d is taken (another bench nginx?): set BENCH_PORT_BASE to "
            "a free range of 5 ports" % port)
    key, crt = os.path.join(tmp, "key.pem"), os.path.join(tmp, "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # nginx's `return` answers a POST and discards its body; a static file
    # refuses POST with 405, so error_page turns that into the file.
    body = CHAT_JSON.replace("\\", "\\\\").replace("'", "\\'")
    agent = AGENT_JSON.replace("\\", "\\\\").replace("'", "\\'")
    locations = """
        location = /v1/chat/completions {
            default_type application/json;
            return 200 '%s';
        }
        location = /agent/v1/chat/completions {
            default_type application/json;
            return 200 '%s';
        }
        location = /sse/v1/chat/completions {
            default_type text/event-stream;
            alias %s/stream.sse;
            error_page 405 =200 $uri;
        }
        location = /big.bin { default_type application/octet-stream; root %s; }
""" % (body, agent, www, www)
    conf = """
worker_processes 1;
daemon off;
master_process off;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path %(tmp)s/body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    http2_max_requests 1000000;
    server { listen 127.0.0.1:%(tls)d ssl; %(loc)s }
    server { listen 127.0.0.1:%(h2)d ssl http2; %(loc)s }
    server { listen 127.0.0.1:%(plain)d; %(loc)s }
    # TLS records of exactly one SSE event each: the client then does one
    # SSL_read per chunk, as with a real token stream.
    server { listen 127.0.0.1:%(sse)d ssl; ssl_buffer_size %(evlen)d; %(loc)s }
}
""" % dict(tmp=tmp, crt=crt, key=key, tls=TLS_PORT, h2=H2_PORT, plain=PLAIN_PORT,
           sse=SSE_PORT, evlen=EVENT_LEN[0], loc=locations)
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen(SERVER_CPU + [nginx, "-p", tmp, "-c", path, "-e",
                                          os.path.join(tmp, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PLAIN_PORT), 0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                with open(os.path.join(tmp, "error.log")) as f:
                    die("nginx did not start: " + f.read()[-600:])
            time.sleep(0.05)
    die("nginx did not listen")


def wanted(wid):
    return not ONLY or wid in ONLY


# ------------------------------------------------- the hooks alone (micro)

MICRO_FILE = [
    ("write-devnull", "write() 64 B to /dev/null"),
    ("write-file", "write() 64 B to a regular file"),
    ("write-pipe", "write() 64 B to a pipe"),
    ("read-file", "read() 64 B from a regular file"),
    ("read-pipe", "read() 64 B from a pipe"),
]
MICRO_TESTS = [(t, l + ", 1 thread (shim loaded, idle)") for t, l in MICRO_FILE] + [
    ("ssl-skip", "SSL_read 64 B, body the sink said to skip"),
    ("ssl-ignored", "SSL_read 64 B, connection the sink ignores"),
] + [(t + ".2threads", l + ", 2 threads (shim running)") for t, l in MICRO_FILE]
MICRO = {}


def micro_parse(text):
    got = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] == "test" and f[2] == "ns" and f[4] == "min":
            got[f[1]] = (float(f[3]), float(f[5]))
    return got


def micro_check(err, sp):
    """The traced run's shim saw both TLS connections and copied (almost)
    nothing of their bodies: the sink's advice reached the hooks."""
    m = re.search(r"agenttrace: (?:\[\d+\] )?(\d+) records, ", err)
    if not m:
        return "no record count in the shim's debug output: " + err[-400:]
    if int(m.group(1)) > 1000:
        return ("the shim passed %s records to the sink: the TLS reads were "
                "copied, the connections not skipped/ignored" % m.group(1))
    if "not decoded: not HTTP/1.x" not in err:
        return "the sink did not ignore the CRLF-first connection: " + err[-400:]
    gets = [s for s in sp if s.get("name", "").startswith("GET ")]
    if len(gets) != 1:
        return "%d GET spans, want 1 (the skipped download)" % len(gets)
    return None


def micro_callgrind(argv, env, tmp):
    """Instructions per call of each test, whole process, all threads,
    counted only inside the timed batches."""
    d = tempfile.mkdtemp(prefix="cg-", dir=tmp)
    out = os.path.join(d, "cg.out")
    p = subprocess.run(CLIENT_CPU + ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                                     "--callgrind-out-file=" + out] + argv,
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("micro_hooks under callgrind exited %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace")[-600:]))
    res = {}
    for name in os.listdir(d):
        with open(os.path.join(d, name)) as f:
            text = f.read()
        t = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
        n = re.search(r"^totals: (\d+)", text, re.M)
        if t and n:
            res[t.group(1)] = int(n.group(1)) / MICRO_CG_CALLS
    shutil.rmtree(d, ignore_errors=True)
    return res


def micro(tmp):
    exe = os.path.join(BUILD, "bench", "micro_hooks")
    if not os.path.exists(exe):
        die("no %s: run make bench" % exe)
    say("== the hooks alone (bench/micro_hooks.c): ns per call, %d process pairs, "
        "each the median of 11 repetitions of %d calls" % (MICRO_PAIRS, MICRO_CALLS))
    argv = [exe, "-r", "11", "-p", str(TLS_PORT), "-t", tmp]
    out = os.path.join(tmp, "spans.jsonl")
    modes = ("untraced", "traced")
    ns = {m: {} for m in modes}
    diff = {}
    diff_min = {}
    for i in range(MICRO_PAIRS):
        order = list(modes) if i % 2 == 0 else list(reversed(modes))
        got = {}
        for m in order:
            env = env_for(m, out)
            if m == "traced":
                env["AGENTTRACE_DEBUG"] = "1"
            if os.path.exists(out):
                os.unlink(out)
            p = subprocess.run(CLIENT_CPU + argv + ["-n", str(MICRO_CALLS)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            err = p.stderr.decode(errors="replace")
            if p.returncode != 0:
                die("micro_hooks (%s) exited %d: %s" % (m, p.returncode, err[-600:]))
            got[m] = micro_parse(p.stdout.decode())
            if m == "traced":
                msg = micro_check(err, spans(out))
                if msg:
                    die("micro_hooks, traced run %d: %s" % (i, msg))
        for t, _ in MICRO_TESTS:
            for m in modes:
                ns[m].setdefault(t, []).append(got[m][t][0])
            diff.setdefault(t, []).append(got["traced"][t][0] - got["untraced"][t][0])
            diff_min.setdefault(t, []).append(got["traced"][t][1] - got["untraced"][t][1])
    cg = {}
    for m in modes:
        if os.path.exists(out):
            os.unlink(out)
        cg[m] = micro_callgrind(argv + ["-n", str(MICRO_CG_CALLS)], env_for(m, out), tmp)
    if os.path.exists(out):
        os.unlink(out)
    say("   | call | untraced ns | traced ns | added ns (median of pair differences) "
        "| same, fastest repetitions | instructions untraced | traced | added |")
    say("   |---|---|---|---|---|---|---|---|")
    for t, label in MICRO_TESTS:
        u, tr = statistics.median(ns["untraced"][t]), statistics.median(ns["traced"][t])
        d = statistics.median(diff[t])
        dm = statistics.median(diff_min[t])
        iu, it = cg["untraced"].get(t), cg["traced"].get(t)
        MICRO[t] = dict(label=label, untraced=u, traced=tr, added=d, added_min=dm, ins_u=iu,
                        ins_t=it, diffs=sorted(diff[t]))
        say("   | %s | %.1f | %.1f | %+.1f | %+.1f | %s | %s | %s |" % (
            label, u, tr, d, dm, "-" if iu is None else "%.1f" % iu,
            "-" if it is None else "%.1f" % it,
            "-" if iu is None or it is None else "%+.1f" % (it - iu)))
    say("   pair differences (ns), sorted: " + "; ".join(
        "%s %s" % (t, " ".join("%+.1f" % x for x in MICRO[t]["diffs"])) for t, _ in MICRO_TESTS))
    tax = []
    for t, label in MICRO_FILE:
        one = statistics.median(ns["untraced"][t])
        two = statistics.median(ns["untraced"][t + ".2threads"])
        tax.append("%s %+.1f ns" % (t, two - one))
    MICRO["thread-tax"] = "; ".join(tax)
    say("   a second thread alone (untraced, an idle thread; what the sink thread costs a "
        "single-threaded host's descriptor syscalls besides the hooks): " + MICRO["thread-tax"])
    say("   traced runs checked: the shim saw both TLS connections and passed at most "
        "a few hundred records to its sink (bodies skipped/ignored, not copied)")


# -------------------------------------------------- the sink alone (sink)

SINK = {}


def ring_default():
    """AGENTTRACE_RING_SIZE's default, read from preload/config.c."""
    with open(os.path.join(ROOT, "preload", "config.c")) as f:
        m = re.search(r"ring_size\s*=\s*(\d+)u?\s*<<\s*(\d+)", f.read())
    return int(m.group(1)) << int(m.group(2)) if m else 4 << 20


def sink_tp(tmp):
    exe = os.path.join(BUILD, "bench", "sink_tp")
    if not os.path.exists(exe):
        die("no %s: run make bench" % exe)
    if not os.path.isdir(CORPUS):
        die("no corpus at %s" % CORPUS)
    ring = ring_default()
    say("== the sink alone (bench/sink_tp.c): one thread, records of recorded exchanges "
        "through a %d MiB ring into spans in a file" % (ring >> 20))
    p = subprocess.run(CLIENT_CPU + [exe, "-C", CORPUS, "-t", tmp, "-R", str(ring), "-r", "5"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("sink_tp exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-600:]))
    for line in p.stdout.decode().splitlines():
        f = line.split()
        kv = dict(zip(f[2::2], f[3::2])) if f[0] == "sink" else dict(zip(f[1::2], f[2::2]))
        SINK[f[1] if f[0] == "sink" else "ring"] = {k: float(v) for k, v in kv.items()}
    pl, st, rg = SINK["plain"], SINK["stream"], SINK["ring"]
    say("   non-streamed chat completion (openai/chat_basic_2026, gzip, 3 records, %d B): "
        "%.0f exchanges/s (%.0f records/s, %.1f MB/s); median of 5 x %d, spans checked"
        % (pl["bytes_per_exchange"], pl["exchanges_per_s"], pl["records_per_s"],
           pl["mb_per_s"], pl["n"]))
    say("   streamed chat completion (openai/chat_streaming, one record per SSE chunk, "
        "%.0f B each): %.0f chunks/s (%.1f MB/s); median of 5 x %d chunks, spans checked"
        % (st["bytes_per_chunk"], st["chunks_per_s"], st["mb_per_s"], st["n"]))
    cells = rg["cells"]
    ex_fit = cells / pl["cells_per_exchange"]
    ch_fit = cells / st["cells_per_chunk"]
    ex_ms = 1000 * ex_fit / pl["exchanges_per_s"]
    ch_ms = 1000 * ch_fit / st["chunks_per_s"]
    SINK["line"] = (
        "ring: AGENTTRACE_RING_SIZE %d MiB = %d cells of %d B; an exchange takes %d cells, "
        "a stream chunk %.2f, so it holds %.0f exchanges or %.0f chunks, which the sink "
        "empties in %.0f ms or %.1f ms. A host producing as fast as this sink consumes "
        "can run that long with the sink not scheduled at all before a record is dropped; "
        "the sink is woken each time an eighth of the ring fills, so its idle sleep "
        "(<= 50 ms) costs none of it" % (
            ring >> 20, cells, rg["cell"], pl["cells_per_exchange"], st["cells_per_chunk"],
            ex_fit, ch_fit, ex_ms, ch_ms))
    say("   " + SINK["line"])
    SINK["ex_fit"], SINK["ch_fit"] = ex_fit, ch_fit


def ring_hosts():
    """What the ring means for the hosts this bench measured."""
    lines = []
    for wid, per, fit, unit in (("curl-h1-tls", NREQ, "ex_fit", "requests"),
                                ("sse", SSE_CHUNKS, "ch_fit", "chunks")):
        r = [x for x in RESULTS if x["id"] == wid]
        if not r or not SINK or "untraced_s" not in r[0]:
            continue
        rate = per / r[0]["untraced_s"]
        sink_rate = SINK["plain" if unit == "requests" else "stream"][
            "exchanges_per_s" if unit == "requests" else "chunks_per_s"]
        lines.append("%s untraced produces %.0f %s/s (the sink takes %.0f/s, %.1fx that): "
                     "with the sink stalled the ring lasts %.0f ms of it" % (
                         wid, rate, unit, sink_rate, sink_rate / rate,
                         1000 * SINK[fit] / rate))
    return lines


# --------------------------------------------------------- mitmdump (mitm)

MITM_FLOWS = r"""
import sys
from mitmproxy import http, io
n = bad = 0
with open(sys.argv[1], "rb") as f:
    for fl in io.FlowReader(f).stream():
        if isinstance(fl, http.HTTPFlow) and fl.response is not None and \
           fl.response.status_code == 200 and fl.request.path == "/v1/chat/completions" and \
           b'"completion_tokens":%d' in fl.response.content:
            n += 1
        else:
            bad += 1
print(n, bad)
"""


def ensure_mitmdump():
    """mitmdump's path, installing Debian's mitmproxy when missing; or
    (None, why)."""
    exe = shutil.which("mitmdump")
    if exe:
        return exe, None
    say("bench: installing mitmproxy (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    p = subprocess.run(["apt-get", "install", "-y", "mitmproxy"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    exe = shutil.which("mitmdump")
    if p.returncode != 0 or not exe:
        return None, "apt-get install mitmproxy failed: " + \
            p.stderr.decode(errors="replace").strip()[-300:]
    return exe, None


def mitm_run(exe, tmp, argv, flows):
    """One run of argv through a fresh mitmdump recording to `flows`;
    returns seconds (mitmdump's start and stop are not timed)."""
    import signal
    import socket
    conf = os.path.join(tmp, "mitmconf")
    if os.path.exists(flows):
        os.unlink(flows)
    log = open(os.path.join(tmp, "mitmdump.log"), "wb")
    proc = subprocess.Popen(SERVER_CPU + [exe, "-q", "--listen-host", "127.0.0.1",
                                          "--listen-port", str(MITM_PORT), "--ssl-insecure",
                                          "--set", "confdir=" + conf, "-w", flows],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", MITM_PORT), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is not None:
            with open(os.path.join(tmp, "mitmdump.log")) as f:
                raise RuntimeError("mitmdump exited %d: %s" % (proc.returncode, f.read()[-400:]))
        t0 = time.perf_counter()
        p = subprocess.run(CLIENT_CPU + argv, env=env_for("untraced", None),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("curl through mitmdump exited %d: %s" % (
                p.returncode, p.stderr.decode(errors="replace")[-400:]))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return dt


def mitm(tmp):
    name = "mitmdump -w FILE (the proxy alternative): curl, %d POSTs, TLS h1" % NREQ
    say("== " + name)
    exe, why = ensure_mitmdump()
    if exe:
        ver = subprocess.run([exe, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout.decode(errors="replace")
        m = re.search(r"Mitmproxy: (\S+)", ver)
        say("   %s (mitmproxy %s), pinned to CPU 1 with nginx; fresh per run (start and "
            "stop not timed); curl --proxy, -k for its CA" % (exe, m.group(1) if m else "?"))
    if not exe:
        say("   mitmdump not available: " + why)
        record("mitm", name, None, None, None, None, "not run: " + why[:120])
        return
    flows = os.path.join(tmp, "flows.mitm")
    direct = curl_posts(tmp, "https", TLS_PORT, NREQ, "http1.1")
    proxied = curl_posts(tmp, "https", TLS_PORT, NREQ, "http1.1",
                         proxy="http://127.0.0.1:%d" % MITM_PORT)
    counter = os.path.join(tmp, "mitm_flows.py")
    with open(counter, "w") as f:
        f.write(MITM_FLOWS % OUT_TOK)

    def count():
        p = subprocess.run(["/usr/bin/python3", counter, flows], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            return None, p.stderr.decode(errors="replace")[-300:]
        n, bad = map(int, p.stdout.split())
        return n, bad

    try:
        mitm_run(exe, tmp, proxied, flows)   # warm-up (and makes its CA)
        n, bad = count()
        if n != NREQ:
            raise RuntimeError("%s flows recorded right, want %d (%s)" % (n, NREQ, bad))
    except RuntimeError as e:
        say("   mitmdump does not work here: %s" % e)
        record("mitm", name, None, None, None, None, "not run: " + str(e)[:120])
        return
    run(CLIENT_CPU + direct, env_for("untraced", None))
    walls = {"untraced": [], "mitmdump": []}
    ratios = []
    sizes = []
    for i in range(MITM_PAIRS):
        t = {}
        for m in (("untraced", "mitmdump") if i % 2 == 0 else ("mitmdump", "untraced")):
            if m == "untraced":
                t[m], _ = run(CLIENT_CPU + direct, env_for("untraced", None))
            else:
                try:
                    t[m] = mitm_run(exe, tmp, proxied, flows)
                except RuntimeError as e:
                    die("mitmdump run %d: %s" % (i, e))
                n, bad = count()
                if n != NREQ:
                    die("mitmdump run %d: %s flows recorded right, want %d (%s)" % (i, n, NREQ, bad))
                sizes.append(os.path.getsize(flows))
        for m in t:
            walls[m].append(t[m])
        ratios.append(t["mitmdump"] / t["untraced"])
    ratio = statistics.median(ratios)
    say("   wall s (median of %d): untraced %.4f, mitmdump %.4f; mitmdump/untraced pairs "
        "ratio %.2f (%.2f ms more per request)" % (
            MITM_PAIRS, statistics.median(walls["untraced"]), statistics.median(walls["mitmdump"]),
            ratio, 1000 * (statistics.median(walls["mitmdump"]) -
                           statistics.median(walls["untraced"])) / NREQ))
    say("   flow files checked in %d runs: %d flows, each 200 with the usage, %d bytes"
        % (MITM_PAIRS, NREQ, statistics.median(sizes)))
    record("mitm", name, None, ratio, None, None, "%d runs: %d flows" % (MITM_PAIRS, NREQ))

# ------------------------------------------------------------------- main

def curl_posts(tmp, scheme, port, n, http, proxy=None):
    cfg = os.path.join(tmp, "curl-%s-%d-%s%s.cfg" % (scheme, n, http,
                                                     "-proxy" if proxy else ""))
    url = "%s://127.0.0.1:%d/v1/chat/completions" % (scheme, port)
    with open(cfg, "w") as f:
        f.write('silent\nshow-error\nfail\ninsecure\n%s\n' % http)
        if proxy:
            f.write('proxy = "%s"\n' % proxy)
        f.write('header = "Content-Type: application/json"\n')
        f.write('data = "%s"\n' % REQ_BODY.replace('"', '\\"'))
        for _ in range(n):
            f.write('url = "%s"\noutput = "/dev/null"\n' % url)
    return ["curl", "--config", cfg]


def main():
    if not os.path.exists(SHIM):
        die("no %s: run make first" % SHIM)
    for tool in ("valgrind", "taskset", "curl", "openssl"):
        if not shutil.which(tool):
            die("missing " + tool)
    os.makedirs(os.path.dirname(EMPTY), exist_ok=True)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", EMPTY,
                    os.path.join(HERE, "empty.c")], check=True)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", IDLE,
                    os.path.join(HERE, "idle_thread.c"), "-lpthread"], check=True)
    tmp = tempfile.mkdtemp(prefix="agenttrace-bench-")
    nginx = None
    t0 = time.time()
    try:
        say("libagenttrace bench: %s, %d CPUs, %s" % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(),
            open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t")))
        say("wall: %d interleaved pairs, median of per-pair ratios; clients on CPU 0, nginx on CPU 1"
            % PAIRS)
        loop = ["sh", "-c", 'i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done']
        measure("true", "/bin/true x300 (sh loop)", loop, process_check(301), tmp,
                cg_argv=["/bin/true"], ins_target=1.10, wall_target=1.10,
                modes=("untraced", "empty", "traced"),
                note="one /bin/true")
        # bash forks for each command (dash, above, uses vfork): the fork
        # child runs the shim's fork handler before it execs
        bash_loop = 'for ((i = 0; i < %d; i++)); do /bin/true; done'
        measure("true-bash", "/bin/true x300 (bash loop: a fork per command)",
                ["bash", "-c", bash_loop % 300], process_check(301), tmp,
                cg_argv=["bash", "-c", bash_loop % 20], cg_children=True,
                ins_target=1.10, wall_target=1.10,
                modes=("untraced", "empty", "traced"),
                note="bash and 20 /bin/true")
        if wanted("sink"):
            sink_tp(tmp)
        if any(wanted(w) for w in ("py-tls", "agent", "curl-h1-tls", "curl-h2-tls", "curl-h1-plain",
                                   "curl-h1-layer", "sse", "download", "micro",
                                   "mitm")):
            www = make_files(tmp)
            nginx = start_nginx(tmp, www)
        cgnote = "%d requests" % CG_REQ
        measure("py-tls", "python http.client, %d POSTs, TLS h1" % NREQ,
                [PY, os.path.join(HERE, "py_client.py"), "https", "127.0.0.1", str(TLS_PORT), str(NREQ)],
                chat_check(NREQ, "openssl"), tmp,
                cg_argv=[PY, os.path.join(HERE, "py_client.py"), "https", "127.0.0.1", str(TLS_PORT), str(CG_REQ)],
                ins_target=1.05, wall_target=1.03, note=cgnote)
        # an agent's loop: growing requests with tool calls and results
        agent = [PY, os.path.join(HERE, "py_agent.py"), "http", "127.0.0.1", str(PLAIN_PORT)]
        measure("agent", "python agent loop, %d requests with tool calls, plain h1 "
                "(bodies growing to 13 KB)" % AGENT_REQ,
                agent + [str(AGENT_REQ)], agent_check(AGENT_REQ), tmp,
                note="%d requests" % AGENT_REQ)
        conversations(tmp)
        stream_events(tmp)
        for wid, scheme, port, http, label, ver, transport in (
                ("curl-h1-tls", "https", TLS_PORT, "http1.1", "TLS h1", "1.1", "openssl"),
                ("curl-h2-tls", "https", H2_PORT, "http2", "TLS h2", "2", "openssl"),
                ("curl-h1-plain", "http", PLAIN_PORT, "http1.1", "plain h1", "1.1", "socket")):
            measure(wid, "curl, %d POSTs, %s" % (NREQ, label),
                    curl_posts(tmp, scheme, port, NREQ, http),
                    chat_check(NREQ, transport, ver), tmp,
                    cg_argv=curl_posts(tmp, scheme, port, CG_REQ, http),
                    ins_target=1.05, wall_target=1.03, note=cgnote,
                    modes=("untraced", "traced", "idle") if wid == "curl-h1-plain"
                    else ("untraced", "traced"))
        # the libcurl layer (a libcurl on GnuTLS, or AGENTTRACE_LIBCURL=layer):
        # what its debug callback costs, no target of its own
        measure("curl-h1-layer", "curl, %d POSTs, TLS h1, AGENTTRACE_LIBCURL=layer" % NREQ,
                curl_posts(tmp, "https", TLS_PORT, NREQ, "http1.1"),
                chat_check(NREQ, "libcurl", "1.1"), tmp,
                cg_argv=curl_posts(tmp, "https", TLS_PORT, CG_REQ, "http1.1"),
                note=cgnote, traced_env={"AGENTTRACE_LIBCURL": "layer"})
        measure("sse", "curl -N, %d-chunk SSE stream, TLS h1, one record per chunk" % SSE_CHUNKS,
                ["curl", "-sS", "-N", "-k", "--http1.1", "-o", "/dev/null",
                 "-H", "Content-Type: application/json", "-d", SSE_REQ,
                 "https://127.0.0.1:%d/sse/v1/chat/completions" % SSE_PORT],
                sse_check, tmp, ins_target=1.25, wall_target=1.05)
        measure("download", "curl, %d MB download, TLS h1" % DOWNLOAD_MB,
                ["curl", "-sS", "-k", "--http1.1", "-o", "/dev/null",
                 "https://127.0.0.1:%d/big.bin" % TLS_PORT],
                download_check, tmp, ins_target=1.02, wall_target=1.01)
        if wanted("micro"):
            micro(tmp)
        if wanted("mitm"):
            mitm(tmp)
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    table(time.time() - t0)


def fmt(r):
    return "-" if r is None else "%.4f" % r


def table(elapsed):
    say("")
    if RESULTS:
        say("| workload | instr. traced/untraced | target | | wall traced/untraced | target | | spans |")
        say("|---|---|---|---|---|---|---|---|")
    for r in RESULTS:
        it = "-" if r["ins_target"] is None else "<= %.2f" % r["ins_target"]
        wt = "-" if r["wall_target"] is None else "<= %.2f" % r["wall_target"]
        name = r["name"] + (" (callgrind: %s)" % r["note"] if r["note"] else "")
        say("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt(r["ins"]), it, verdict(r["ins"], r["ins_target"]),
            fmt(r["wall"]), wt, verdict(r["wall"], r["wall_target"]), r["check"]))
    if MICRO:
        say("")
        say("hooks alone, added per call (traced - untraced; ns: median of %d process pairs; "
            "instructions: callgrind, whole process):" % MICRO_PAIRS)
        w = max(len(label) for _, label in MICRO_TESTS)
        for t, _ in MICRO_TESTS:
            r = MICRO[t]
            say("  %-*s %+6.1f ns  (%.1f -> %.1f; fastest reps %+.1f)%s" % (
                w, r["label"], r["added"], r["untraced"], r["traced"], r["added_min"],
                "" if r["ins_u"] is None or r["ins_t"] is None else
                "  %+.1f instructions" % (r["ins_t"] - r["ins_u"])))
        say("  a second thread alone, untraced: " + MICRO["thread-tax"])
    if EVENT_COST:
        say("")
        say("a streamed event, instructions traced - untraced (curl -N, %d events, plain h1): %s" % (
            EVENTS, ", ".join("%s %+.0f" % (label, EVENT_COST[api])
                              for api, label, _ in EVENT_APIS if api in EVENT_COST)))
    if SINK:
        say("")
        say("sink alone: %.0f non-streamed exchanges/s, %.0f stream chunks/s (one thread)" % (
            SINK["plain"]["exchanges_per_s"], SINK["stream"]["chunks_per_s"]))
        say(SINK["line"])
        for line in ring_hosts():
            say("  " + line)
    say("")
    say("whole bench: %.0f s" % elapsed)
    if not ONLY:
        with open(os.path.join(HERE, "last-results.txt"), "w") as f:
            f.write("\n".join(LOG) + "\n")


if __name__ == "__main__":
    main()
