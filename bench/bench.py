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

Environment: BENCH_PAIRS (wall pairs, default 11), BENCH_REQ (requests per
connection, default 2000), BENCH_CG_REQ (requests under callgrind, default
BENCH_REQ), BENCH_ONLY (comma separated workload ids to run).
Standard library only.
"""

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
PAIRS = int(os.environ.get("BENCH_PAIRS", "11"))
NREQ = int(os.environ.get("BENCH_REQ", "2000"))
CG_REQ = int(os.environ.get("BENCH_CG_REQ", str(NREQ)))
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
PY = "/usr/bin/python3"
CLIENT_CPU = ["taskset", "-c", "0"]
SERVER_CPU = ["taskset", "-c", "1"]
TLS_PORT, H2_PORT, PLAIN_PORT = 18443, 18444, 18080

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
SSE_CHUNKS = 20000
SSE_REQ = ('{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},'
           '"messages":[{"role":"user","content":"Hello there"}]}')
SSE_OUT_TOK = SSE_CHUNKS
DOWNLOAD_MB = 256
EVENT_LEN = [0]
SSE_PORT = 18445

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


def env_for(mode, out):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    for k in list(e):
        if k.startswith("AGENTTRACE_"):
            del e[k]
    if mode == "traced":
        e["LD_PRELOAD"] = SHIM
        e["AGENTTRACE_OUTPUT"] = out
    elif mode == "empty":
        e["LD_PRELOAD"] = EMPTY
    return e


def spans(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def callgrind(argv, env, tmp):
    """Instructions executed by the whole process (all threads)."""
    out = os.path.join(tmp, "cg.out")
    cmd = CLIENT_CPU + ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        die("callgrind %s exited %d: %s" % (" ".join(argv[:4]), p.returncode, err[-600:]))
    m = re.search(r"Collected : (\d+)", err)
    if not m:
        die("no 'Collected' line from callgrind: " + err[-400:])
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
            wall_target=None, modes=("untraced", "traced"), note=""):
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
        run(CLIENT_CPU + argv, env_for(m, out))
    if os.path.exists(out):
        os.unlink(out)
    for i in range(PAIRS):
        order = list(modes) if i % 2 == 0 else list(reversed(modes))
        t = {}
        for m in order:
            if os.path.exists(out):
                os.unlink(out)
            t[m], _ = run(CLIENT_CPU + argv, env_for(m, out))
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
        rss[m].append(peak_rss(CLIENT_CPU + argv, env_for(m, out), tmp))
    med = {m: statistics.median(walls[m]) for m in modes}
    wall_ratio = statistics.median(ratios)
    ins = {}
    cg = cg_argv or argv
    for m in modes:
        if os.path.exists(out):
            os.unlink(out)
        ins[m] = callgrind(cg, env_for(m, out), tmp)
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
    if "empty" in modes:
        er = statistics.median([a / b for a, b in zip(walls["empty"], walls["untraced"])])
        say("   empty .so: wall %.4f, instructions %.4f" % (er, ins["empty"] / ins["untraced"]))
    say("   spans checked in %d traced runs: ok" % checked)
    record(wid, name, ins_ratio, wall_ratio, ins_target, wall_target,
           "%d runs ok" % checked, note)
    if "empty" in modes:
        record(wid + "-empty", name + ", empty .so (the floor)", ins["empty"] / ins["untraced"],
               statistics.median([a / b for a, b in zip(walls["empty"], walls["untraced"])]),
               None, None, "-", "")


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
    key, crt = os.path.join(tmp, "key.pem"), os.path.join(tmp, "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # nginx's `return` answers a POST and discards its body; a static file
    # refuses POST with 405, so error_page turns that into the file.
    body = CHAT_JSON.replace("\\", "\\\\").replace("'", "\\'")
    locations = """
        location = /v1/chat/completions {
            default_type application/json;
            return 200 '%s';
        }
        location = /sse/v1/chat/completions {
            default_type text/event-stream;
            alias %s/stream.sse;
            error_page 405 =200 $uri;
        }
        location = /big.bin { default_type application/octet-stream; root %s; }
""" % (body, www, www)
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
    import socket
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


# ------------------------------------------------------------------- main

def curl_posts(tmp, scheme, port, n, http):
    cfg = os.path.join(tmp, "curl-%s-%d-%s.cfg" % (scheme, n, http))
    url = "%s://127.0.0.1:%d/v1/chat/completions" % (scheme, port)
    with open(cfg, "w") as f:
        f.write('silent\nshow-error\nfail\ninsecure\n%s\n' % http)
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
        www = make_files(tmp)
        nginx = start_nginx(tmp, www)
        cgnote = "%d requests" % CG_REQ
        measure("py-tls", "python http.client, %d POSTs, TLS h1" % NREQ,
                [PY, os.path.join(HERE, "py_client.py"), "https", "127.0.0.1", str(TLS_PORT), str(NREQ)],
                chat_check(NREQ, "openssl"), tmp,
                cg_argv=[PY, os.path.join(HERE, "py_client.py"), "https", "127.0.0.1", str(TLS_PORT), str(CG_REQ)],
                ins_target=1.05, wall_target=1.03, note=cgnote)
        for wid, scheme, port, http, label, ver in (
                ("curl-h1-tls", "https", TLS_PORT, "http1.1", "TLS h1", "1.1"),
                ("curl-h2-tls", "https", H2_PORT, "http2", "TLS h2", "2"),
                ("curl-h1-plain", "http", PLAIN_PORT, "http1.1", "plain h1", "1.1")):
            measure(wid, "curl, %d POSTs, %s" % (NREQ, label),
                    curl_posts(tmp, scheme, port, NREQ, http), chat_check(NREQ, None, ver), tmp,
                    cg_argv=curl_posts(tmp, scheme, port, CG_REQ, http),
                    ins_target=1.05, wall_target=1.03, note=cgnote)
        measure("sse", "curl -N, %d-chunk SSE stream, TLS h1, one record per chunk" % SSE_CHUNKS,
                ["curl", "-sS", "-N", "-k", "--http1.1", "-o", "/dev/null",
                 "-H", "Content-Type: application/json", "-d", SSE_REQ,
                 "https://127.0.0.1:%d/sse/v1/chat/completions" % SSE_PORT],
                sse_check, tmp, ins_target=1.25, wall_target=1.05)
        measure("download", "curl, %d MB download, TLS h1" % DOWNLOAD_MB,
                ["curl", "-sS", "-k", "--http1.1", "-o", "/dev/null",
                 "https://127.0.0.1:%d/big.bin" % TLS_PORT],
                download_check, tmp, ins_target=1.02, wall_target=1.01)
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
    say("| workload | instr. traced/untraced | target | | wall traced/untraced | target | | spans |")
    say("|---|---|---|---|---|---|---|---|")
    for r in RESULTS:
        it = "-" if r["ins_target"] is None else "<= %.2f" % r["ins_target"]
        wt = "-" if r["wall_target"] is None else "<= %.2f" % r["wall_target"]
        name = r["name"] + (" (callgrind: %s)" % r["note"] if r["note"] else "")
        say("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt(r["ins"]), it, verdict(r["ins"], r["ins_target"]),
            fmt(r["wall"]), wt, verdict(r["wall"], r["wall_target"]), r["check"]))
    say("")
    say("whole bench: %.0f s" % elapsed)
    if not ONLY:
        with open(os.path.join(HERE, "last-results.txt"), "w") as f:
            f.write("\n".join(LOG) + "\n")


if __name__ == "__main__":
    main()
