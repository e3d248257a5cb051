#!/usr/bin/python3
"""clients.py - real, unmodified HTTP clients that the integration tests run
under the shim (never imported by the test runner, only executed).

Every client takes a URL and a CA file and prints what it received on
stdout.  Transport errors are caught and printed as one line
"ERROR <ExceptionClass> <errno>" so that a test can compare traced and
untraced behaviour; the exit status is then 0 as well.

    clients.py call LIB URL CA BODY [stream] [HEADERS_JSON]
        LIB: stdlib (http.client), urllib, requests, httpx.
        Prints the response body (streams: the bytes of each line as read).
    clients.py keepalive URL CA N          one HTTPSConnection, N requests
    clients.py threads URL CA THREADS REPS one connection per thread
    clients.py tree URL CA PYTHON SCRIPT   model call, sh -c true, child
    clients.py child URL CA                a model call (run by `tree`)
    clients.py fork URL CA                 fork() without exec: an idle
                                           child (that starts /bin/true and
                                           forks a calling grandchild),
                                           then after a model call
                                           a calling child (os._exit), a
                                           calling child that forks a
                                           calling grandchild (exit); each
                                           prints "pid PID PPID" first
    clients.py daemon URL CA MARKER        daemon(): the child (a fork the
                                           shim's handlers do not see) makes
                                           a call and writes "PID TEXT" to
                                           MARKER
    clients.py slow URL CA                 call, print done-call, sleep 1 s
    clients.py wantread URL CA             non-blocking SSL read, no data
    clients.py bodyerr URL CA              read a body cut by an RST
    clients.py fetch CURL-ARGS...          the subset of curl's command line
                                           the tests use, with curl's exit
                                           codes (a stand-in where curl
                                           cannot run, see test_shim.py)
"""

import http.client
import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request


def err_line(e):
    return "ERROR %s %s" % (type(e).__name__, getattr(e, "errno", None))


def context(ca):
    return ssl.create_default_context(cafile=ca)


def chat_body(prompt, model="gpt-4o-mini", stream=False):
    body = {"model": model,
            "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body)


def split(url):
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    return u.hostname, u.port, path


def out(data):
    if isinstance(data, str):
        data = data.encode()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


# ------------------------------------------------------------- one call

def call_stdlib(url, ca, body, stream, headers):
    host, port, path = split(url)
    conn = http.client.HTTPSConnection(host, port, context=context(ca),
                                       timeout=30)
    conn.request("POST", path, body=body.encode(), headers=headers)
    resp = conn.getresponse()
    if stream:
        for line in resp:
            out(line)
    else:
        out(resp.read())
    conn.close()


def call_urllib(url, ca, body, stream, headers):
    req = urllib.request.Request(url, data=body.encode(), headers=headers,
                                 method="POST")
    try:
        resp = urllib.request.urlopen(req, context=context(ca), timeout=30)
    except urllib.error.HTTPError as e:
        resp = e
    with resp:
        if stream:
            for line in resp:
                out(line)
        else:
            out(resp.read())


def call_requests(url, ca, body, stream, headers):
    import requests
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(url, data=body.encode(), headers=headers, verify=ca,
                   stream=stream, timeout=30)
        if stream:
            for line in r.iter_lines():
                out(line + b"\n")
        else:
            out(r.content)


def call_httpx(url, ca, body, stream, headers):
    import httpx
    with httpx.Client(verify=context(ca), trust_env=False,
                      timeout=30) as c:
        if stream:
            with c.stream("POST", url, content=body.encode(),
                          headers=headers) as r:
                for line in r.iter_lines():
                    out(line + "\n")
        else:
            r = c.post(url, content=body.encode(), headers=headers)
            out(r.content)


def call_aiohttp(url, ca, body, stream, headers):
    """aiohttp: asyncio's TLS, a memory BIO with no file descriptor."""
    import asyncio
    import aiohttp

    async def go():
        ctx = context(ca) if url.startswith("https:") else None
        async with aiohttp.ClientSession() as s:
            async with s.post(url, data=body.encode(), headers=headers,
                              ssl=ctx) as r:
                if stream:
                    async for line in r.content:
                        out(line)
                else:
                    out(await r.read())
    asyncio.run(go())


CALLS = {"aiohttp": call_aiohttp, "stdlib": call_stdlib, "urllib": call_urllib,
         "requests": call_requests, "httpx": call_httpx}


def cmd_call(lib, url, ca, body, stream="", headers="{}"):
    h = {"Content-Type": "application/json"}
    h.update(json.loads(headers or "{}"))
    try:
        CALLS[lib](url, ca, body, stream == "stream", h)
    except Exception as e:  # the test compares what the client saw
        out("\n" + err_line(e) + "\n")


# ------------------------------------------------------ connection tests

def post_json(conn, path, body):
    conn.request("POST", path, body=body.encode(),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError("status %d: %r" % (resp.status, data))
    return json.loads(data)


def cmd_keepalive(url, ca, n):
    host, port, path = split(url)
    conn = http.client.HTTPSConnection(host, port, context=context(ca),
                                       timeout=30)
    for i in range(int(n)):
        r = post_json(conn, path, chat_body("request %d" % i))
        print(r["choices"][0]["message"]["content"], flush=True)
    conn.close()


MIXED = [("", "openai", False), ("", "openai", True),
         ("gzip", "openai", False), ("chunked", "openai", False),
         ("gzip", "openai", True), ("", "anthropic", False),
         ("deflate", "anthropic", True), ("chunked,delay=5", "openai", False),
         ("", "openai", False)]


def cmd_mixed(base, ca):
    """One kept-alive connection, exchanges of every framing and encoding
    in turn (see MIXED), read to their end."""
    host, port, _ = split(base)
    conn = http.client.HTTPSConnection(host, port, context=context(ca),
                                       timeout=30)
    for i, (opts, provider, stream) in enumerate(MIXED):
        path = ("/mock/%s" % opts if opts else "") + (
            "/v1/chat/completions" if provider == "openai" else
            "/v1/messages")
        body = {"model": "gpt-4o-mini" if provider == "openai" else
                "claude-haiku-4-5", "max_tokens": 64,
                "messages": [{"role": "user",
                              "content": "mixed exchange %d" % i}]}
        if stream:
            body["stream"] = True
            if provider == "openai":
                body["stream_options"] = {"include_usage": True}
        conn.request("POST", path, body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json",
                              "Accept-Encoding": "gzip, deflate",
                              "anthropic-version": "2023-06-01"})
        resp = conn.getresponse()
        data = resp.read()
        print(i, resp.status, resp.getheader("Content-Encoding"), len(data),
              flush=True)
        if resp.status != 200:
            sys.exit(1)
    conn.close()


def cmd_threads(url, ca, nthreads, reps):
    host, port, path = split(url)
    ctx = context(ca)
    results = {}
    failures = []
    start = threading.Barrier(int(nthreads))

    def work(t):
        try:
            conn = http.client.HTTPSConnection(host, port, context=ctx,
                                               timeout=30)
            start.wait(30)
            got = []
            for _ in range(int(reps)):
                r = post_json(conn, path, chat_body("thread %d" % t))
                got.append(r["choices"][0]["message"]["content"])
            conn.close()
            results[t] = got
        except Exception as e:
            failures.append("thread %d: %s" % (t, err_line(e)))

    ts = [threading.Thread(target=work, args=(t,))
          for t in range(int(nthreads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for t in sorted(results):
        for text in results[t]:
            print("%d\t%s" % (t, text))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


def one_call(url, ca, prompt):
    host, port, path = split(url)
    conn = http.client.HTTPSConnection(host, port, context=context(ca),
                                       timeout=30)
    r = post_json(conn, path, chat_body(prompt))
    conn.close()
    return r["choices"][0]["message"]["content"]


def cmd_tree(url, ca, python, script):
    print(one_call(url, ca, "parent call"), flush=True)
    r = subprocess.run(["/bin/sh", "-c", "true"], timeout=60)
    print("sh", r.returncode, flush=True)
    r = subprocess.run([python, script, "child", url, ca], cwd="/",
                       timeout=60)
    print("child", r.returncode, flush=True)
    sys.exit(r.returncode)


def cmd_child(url, ca):
    print(one_call(url, ca, "child call"), flush=True)


def cmd_fork(url, ca):
    import os

    def child(body):
        print("pid", os.getpid(), os.getppid(), flush=True)
        body()

    def wait(pid):
        _, st = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(st) != 0:
            sys.exit(1)

    def spawn(body, how):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(body)
            except Exception as e:   # not SystemExit: a grandchild's
                print("child failed:", e, flush=True)  # exit ends it
                code = 1
            if how == "_exit":
                os._exit(code)
            sys.exit(code)
        wait(pid)

    def grand():
        print(one_call(url, ca, "middle call"), flush=True)
        spawn(lambda: print(one_call(url, ca, "grandchild call"),
                            flush=True), "exit")

    def idle():
        # no call of its own: it starts /bin/true (posix_spawn, a vfork
        # child), then forks a calling grandchild
        subprocess.run(["/bin/true"], check=True, timeout=60)
        spawn(lambda: print(one_call(url, ca, "late call"), flush=True),
              "exit")

    print("pid", os.getpid(), os.getppid(), flush=True)
    spawn(idle, "_exit")                      # forked before any call
    print(one_call(url, ca, "parent call"), flush=True)
    spawn(lambda: print(one_call(url, ca, "child call"), flush=True),
          "_exit")
    spawn(grand, "exit")
    print(one_call(url, ca, "parent again"), flush=True)


def cmd_daemon(url, ca, marker):
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    print("pid", os.getpid(), os.environ.get("AGENTTRACE_CONTEXT"),
          flush=True)
    if libc.daemon(1, 1) != 0:
        sys.exit(2)
    try:
        line = "%d %s\n" % (os.getpid(), one_call(url, ca, "daemon call"))
    except Exception as e:
        line = "ERROR %s\n" % e
    with open(marker + ".tmp", "w") as f:
        f.write(line)
    os.rename(marker + ".tmp", marker)


def cmd_slow(url, ca):
    print(one_call(url, ca, "slow call"), flush=True)
    print("done-call", flush=True)
    time.sleep(1.0)
    print("bye", flush=True)


def cmd_wantread(url, ca):
    """An SSL_read with nothing to read on a non-blocking socket must fail
    with SSL_ERROR_WANT_READ, traced or not."""
    import socket
    host, port, _ = split(url)
    raw = socket.create_connection((host, port), timeout=10)
    s = context(ca).wrap_socket(raw, server_hostname=host)
    s.setblocking(False)
    for _ in range(3):
        try:
            s.recv(100)
            print("read something")
        except Exception as e:
            print(err_line(e))
    s.close()


def cmd_bodyerr(url, ca):
    """Read a response whose body the server cuts with an RST: the error
    the client reports (class and errno) must not change under the
    shim."""
    host, port, path = split(url)
    conn = http.client.HTTPSConnection(host, port, context=context(ca),
                                       timeout=30)
    try:
        conn.request("POST", path, body=chat_body("reset me").encode(),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        print("status", resp.status)
        resp.read()
        print("read whole body")
    except Exception as e:
        print(err_line(e))


def cmd_fetch(*argv):
    """curl -sS --http1.1 [--max-time S] [--cacert F] [-N] [-H H]...
    [--data-binary D|@F] URL: the body on stdout, as curl writes it
    (de-chunked, not decompressed); exit 18 on a partial body, 56 on a
    reset, 28 on a timeout."""
    import socket
    headers, data, url, ca, max_time = [], None, None, None, 300.0
    it = iter(argv)
    for a in it:
        if a in ("-s", "-S", "-sS", "--http1.1", "-N"):
            continue
        if a == "--max-time":
            max_time = float(next(it))
        elif a == "--cacert":
            ca = next(it)
        elif a == "-H":
            headers.append(next(it).split(":", 1))
        elif a == "--data-binary":
            data = next(it)
            if data.startswith("@"):
                with open(data[1:], "rb") as f:
                    data = f.read()
            else:
                data = data.encode()
        elif a.startswith("-"):
            raise SystemExit("fetch: unsupported option " + a)
        else:
            url = a
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port,
                                           context=context(ca),
                                           timeout=max_time)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port,
                                          timeout=max_time)
    hdrs = {"User-Agent": "curl/7.88.1", "Accept": "*/*"}
    if data is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    for k, v in headers:
        hdrs[k.strip()] = v.strip()
    try:
        conn.request("POST" if data is not None else "GET", path, body=data,
                     headers=hdrs)
        resp = conn.getresponse()
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                break
            out(chunk)
        if resp.length:
            raise http.client.IncompleteRead(b"")
    except (socket.timeout, TimeoutError) as e:
        sys.stderr.write("curl: (28) %s\n" % e)
        sys.exit(28)
    except http.client.IncompleteRead as e:
        sys.stderr.write("curl: (18) %r\n" % e)
        sys.exit(18)
    except (ConnectionError, ssl.SSLError, OSError) as e:
        sys.stderr.write("curl: (56) %s\n" % e)
        sys.exit(56)
    conn.close()


def main(argv):
    cmds = {"call": cmd_call, "keepalive": cmd_keepalive,
            "threads": cmd_threads, "mixed": cmd_mixed, "tree": cmd_tree,
            "child": cmd_child, "fork": cmd_fork, "daemon": cmd_daemon,
            "slow": cmd_slow, "wantread": cmd_wantread,
            "bodyerr": cmd_bodyerr, "fetch": cmd_fetch}
    cmds[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
