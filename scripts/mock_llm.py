#!/usr/bin/python3
"""mock_llm.py - a local mock of the OpenAI, Anthropic, Gemini and Ollama
model APIs.

Speaks the real wire formats of OpenAI Chat Completions
(POST .../chat/completions) and Anthropic Messages (POST .../messages),
plain or streamed (SSE), and also:

    POST .../v1/responses            OpenAI Responses (SSE with event names)
    POST .../v1/completions          OpenAI legacy completions (SSE)
    POST .../v1/embeddings           OpenAI embeddings (floats or base64)
    POST .../models/M:generateContent, :streamGenerateContent[?alt=sse]
                                     Gemini (SSE with alt=sse, else a JSON
                                     array sent element by element)
    POST .../models/M:embedContent, :batchEmbedContents   Gemini embeddings
    POST .../api/chat, .../api/generate
                                     Ollama (NDJSON unless "stream": false)
    POST .../api/embed, .../api/embeddings                Ollama embeddings

all with the same tool loop (a tool is called when offered; a tool result
sent back is quoted) and the same options, over HTTP/1.1 with keep-alive,
optionally over TLS with a self-signed certificate made at start with the
openssl CLI.  Every exchange is logged with its "provider" (the
gen_ai.provider.name a tracer should report on an unknown host), "api" (for
the APIs above) and "facts" (model, id, input_tokens, output_tokens,
finish_reasons, output_text, tool_calls; dimension_count for embeddings).
Clients select misbehaviour through a path prefix, so an unmodified client
only needs a base URL:

    http://127.0.0.1:PORT/mock/gzip,chunked,delay=20/v1/chat/completions

Options (comma separated, in the first segment after /mock/):
    gzip, deflate     Content-Encoding of the response body (streams too:
                      one sync-flushed deflate block per event)
    chunked           Transfer-Encoding: chunked for non-stream responses
    close             no length and no chunking: the body ends at close
    delay=MS          sleep between stream events (and between the chunks
                      of a chunked non-stream body)
    latency=MS        sleep before the response headers
    status=CODE       answer with that status and the provider's error body
    retry_after=S     value of the retry-after header of status= answers
    noretry           send x-should-retry: false with status= answers
    cut[=N]           streams: N events (default half), then close without
                      the terminator; non-streams: half the body, then close
    reset[=N]         like cut, but closed with SO_LINGER 0 (ECONNRESET)
    error_event       a mid-stream error event (Anthropic overloaded_error;
                      OpenAI a data: {"error":...} chunk; Responses an
                      `error` event; Gemini an {"error":...} chunk; Ollama
                      an {"error":"..."} line), then the end
    notool            never call tools
    corpus=P/NAME     replay ../shared/corpus/P/NAME byte for byte (also
                      written corpus=P:NAME, or corpus=P followed by the
                      segment NAME: /mock/corpus=openai/chat_streaming/v1)

Other endpoints: GET /tool/weather?city=X, GET /page, GET /download?bytes=N,
GET /mock/log (the exchange log as JSON), POST /mock/reset (clears the log
and the id counters).  Standard library only.
"""

import argparse
import base64
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import zlib
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / \
    "corpus"

VERBOSE = False

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    529: "Site Overloaded",
}

FLAG_OPTS = {"gzip", "deflate", "chunked", "close", "error_event", "notool",
             "noretry", "cut", "reset"}
INT_OPTS = {"delay", "latency", "status", "retry_after", "cut", "reset"}


def log(fmt, *args):
    if VERBOSE:
        sys.stderr.write("mock_llm: " + (fmt % args if args else fmt) + "\n")
        sys.stderr.flush()


class OptionError(ValueError):
    pass


# ---------------------------------------------------------------- options

def parse_path(raw_path):
    """Split a request target into (options, path, query).

    `/mock/<opts>/rest` yields the parsed options and "/rest"; any other
    path yields no options.  Raises OptionError on an unknown option."""
    parts = urllib.parse.urlsplit(raw_path)
    path, query = parts.path or "/", parts.query
    if not path.startswith("/mock/") or path in ("/mock/log", "/mock/reset"):
        return {}, path, query
    segs = path.split("/")[2:]
    items = [urllib.parse.unquote(s) for s in segs[0].split(",") if s]
    rest = segs[1:]
    opts = {}
    i = 0
    while i < len(items):
        key, eq, val = items[i].partition("=")
        i += 1
        if key == "corpus":
            if not val:
                raise OptionError("corpus needs a value: corpus=provider/name")
            val = val.replace(":", "/")
            if "/" not in val:
                if not rest:
                    raise OptionError("corpus=%s: missing the name" % val)
                nxt = rest.pop(0).split(",")
                val += "/" + urllib.parse.unquote(nxt[0])
                items.extend(urllib.parse.unquote(x) for x in nxt[1:] if x)
            if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", val) \
                    or ".." in val:
                raise OptionError("bad corpus name %r" % val)
            opts["corpus"] = val
        elif key in INT_OPTS and eq:
            try:
                opts[key] = int(val)
            except ValueError:
                raise OptionError("option %s needs an integer" % key)
        elif key in FLAG_OPTS and not eq:
            opts[key] = None if key in ("cut", "reset") else True
        else:
            raise OptionError("unknown mock option %r" % items[i - 1])
    if "gzip" in opts and "deflate" in opts:
        raise OptionError("gzip and deflate are exclusive")
    return opts, "/" + "/".join(rest), query


def encoding_of(opts):
    if opts.get("gzip"):
        return "gzip"
    if opts.get("deflate"):
        return "deflate"
    return None


def encode_whole(body, enc):
    if enc == "gzip":
        return gzip.compress(body, mtime=0)
    if enc == "deflate":
        return zlib.compress(body)  # HTTP "deflate" is the zlib format
    return body


# ------------------------------------------------------------- shared state

class State:
    """The exchange log and the id counters, shared by all threads."""

    def __init__(self, corpus):
        self.corpus = Path(corpus)
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.log = []
            self.resp_counter = 0
            self.call_counter = 0

    def next_response(self):
        with self.lock:
            self.resp_counter += 1
            return self.resp_counter

    def next_call_suffix(self):
        """24 characters of [A-Za-z0-9], derived from a counter."""
        with self.lock:
            self.call_counter += 1
            n = self.call_counter
        digest = hashlib.sha256(b"mock-call-%d" % n).digest()
        num = int.from_bytes(digest, "big")
        alphabet = ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "abcdefghijklmnopqrstuvwxyz")
        out = []
        for _ in range(24):
            num, r = divmod(num, 62)
            out.append(alphabet[r])
        return "".join(out)

    def append(self, record):
        with self.lock:
            self.log.append(record)

    def dump(self):
        with self.lock:
            return json.dumps(self.log, indent=1).encode()


# ------------------------------------------------------- request inspection

STOPWORDS = {"What", "Where", "When", "Who", "Why", "How", "Which", "Is",
             "Are", "Can", "Could", "Would", "Will", "Please", "Tell", "Use",
             "The", "A", "An", "I", "Do", "Does", "Give", "Get", "Show",
             "Find", "Hi", "Hello", "Hey", "Call", "Look", "Check", "It"}


def content_text(content):
    """The text of a message's content: a string, or a list of parts."""
    if isinstance(content, str):
        return content
    out = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif part.get("type") == "tool_result":
                    out.append(content_text(part.get("content")))
    return " ".join(x for x in out if x)


def words(text):
    return len(text.split()) if text else 0


def pick_word(text):
    """A capitalised word of `text` that is not a sentence's first word;
    else a capitalised first word that is not a common one; else "value"."""
    fallback = None
    start = True
    for tok in re.findall(r"[^\W\d_][\w'-]*|[.!?]", text or ""):
        if tok in ".!?":
            start = True
            continue
        if tok[0].isupper():
            if not start:
                return tok
            if fallback is None and tok not in STOPWORDS:
                fallback = tok
        start = False
    return fallback or "value"


def value_for(schema, word, depth=0):
    """A value that fits a JSON schema: strings are `word`, numbers 1."""
    if not isinstance(schema, dict):
        return word
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        for key in ("anyOf", "oneOf", "allOf"):
            alts = schema.get(key)
            if isinstance(alts, list) and alts:
                good = [a for a in alts if not (
                    isinstance(a, dict) and a.get("type") == "null")]
                return value_for((good or alts)[0], word, depth + 1)
        t = "object" if "properties" in schema else "string"
    if t == "string":
        return word
    if t in ("number", "integer"):
        return 1
    if t == "boolean":
        return True
    if t == "null":
        return None
    if t == "array":
        items = schema.get("items")
        if isinstance(items, dict) and depth < 4:
            return [value_for(items, word, depth + 1)]
        return []
    if t == "object":
        props = schema.get("properties")
        if not isinstance(props, dict) or depth >= 4:
            return {}
        return {k: value_for(v, word, depth + 1) for k, v in props.items()}
    return word


def list_tools(provider, req):
    """[(name, schema)] of the function tools a request offers."""
    out = []
    tools = req.get("tools")
    if not isinstance(tools, list):
        return out
    for t in tools:
        if not isinstance(t, dict):
            continue
        if provider == "openai":
            fn = t.get("function")
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                out.append((fn["name"], fn.get("parameters")))
        elif isinstance(t.get("name"), str):
            out.append((t["name"], t.get("input_schema")))
    return out


def forced_tool(provider, req):
    """"none", a tool name, or None (auto) from the request's tool_choice."""
    tc = req.get("tool_choice")
    if tc == "none":
        return "none"
    if isinstance(tc, dict):
        if tc.get("type") == "none":
            return "none"
        if provider == "openai" and isinstance(tc.get("function"), dict):
            return tc["function"].get("name")
        if provider == "anthropic" and tc.get("type") == "tool":
            return tc.get("name")
    return None


def tool_results(provider, msgs):
    """The tool results that end the conversation, or None."""
    if not msgs or not isinstance(msgs[-1], dict):
        return None
    if provider == "openai":
        res = []
        for m in reversed(msgs):
            if not isinstance(m, dict) or m.get("role") not in ("tool",
                                                               "function"):
                break
            res.append(content_text(m.get("content")))
        return list(reversed(res)) if res else None
    last = msgs[-1]
    if last.get("role") != "user" or not isinstance(last.get("content"),
                                                     list):
        return None
    res = [content_text(b.get("content")) for b in last["content"]
           if isinstance(b, dict) and b.get("type") == "tool_result"]
    return res or None


def last_user_text(msgs):
    for m in reversed(msgs):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                c = [p for p in c if not (isinstance(p, dict) and
                                          p.get("type") == "tool_result")]
            text = content_text(c)
            if text:
                return text
    return ""


def input_tokens(req):
    text = [content_text(m.get("content")) for m in req["messages"]
            if isinstance(m, dict)]
    if "system" in req:
        text.append(content_text(req["system"]))
    return sum(words(t) for t in text) + 10


def make_plan(provider, req, opts):
    """What to answer: {"text", "calls": [(name, args)], "in"}."""
    msgs = req["messages"]
    last = msgs[-1] if msgs and isinstance(msgs[-1], dict) else {}
    tools = list_tools(provider, req)
    forced = forced_tool(provider, req)
    results = tool_results(provider, msgs)
    text, calls = None, []
    if results is not None:
        text = "Based on the tool result: " + "; ".join(results)
    elif tools and last.get("role") == "user" and not opts.get("notool") \
            and forced != "none":
        name, schema = tools[0]
        for n, s in tools:
            if n == forced:
                name, schema = n, s
        args = value_for(schema if isinstance(schema, dict) else {},
                         pick_word(last_user_text(msgs)))
        if not isinstance(args, dict):
            args = {}
        calls = [(name, args)]
        if provider == "anthropic":
            text = "I will use the %s tool." % name
    else:
        said = last_user_text(msgs)
        text = ("This is a mock answer to: " + said) if said else \
            "This is a mock answer."
    return {"text": text, "calls": calls, "in": input_tokens(req)}


def output_tokens(plan):
    n = words(plan["text"]) + 1
    for name, args in plan["calls"]:
        n += words(name) + words(json.dumps(args))
    return n


def split_words(text):
    """Word-sized deltas: "Based", " on", " the", ..."""
    return re.findall(r"\s*\S+|\s+", text) or [text]


def split_json(s):
    """Argument fragments the way models emit them: {" city ":" Paris "}"""
    return re.findall(r"\s*\w+|[^\w\s]+|\s+", s) or [s]


# -------------------------------------------------------------------- facts

def empty_facts():
    return {"model": None, "id": None, "input_tokens": None,
            "output_tokens": None, "finish_reasons": [], "output_text": None,
            "tool_calls": []}


def parse_args(s):
    try:
        return json.loads(s)
    except (ValueError, TypeError):
        return s


def openai_facts(objs):
    """Facts from a chat.completion or a list of chat.completion.chunk."""
    f = empty_facts()
    text = []
    calls = {}
    order = []
    for o in objs:
        if not isinstance(o, dict):
            continue
        if o.get("model") and f["model"] is None:
            f["model"] = o["model"]
        if o.get("id") and f["id"] is None:
            f["id"] = o["id"]
        if isinstance(o.get("error"), dict):
            f["error"] = o["error"].get("code") or o["error"].get("type")
        u = o.get("usage")
        if isinstance(u, dict):
            f["input_tokens"] = u.get("prompt_tokens")
            f["output_tokens"] = u.get("completion_tokens")
        for ch in o.get("choices") or []:
            m = ch.get("message") or ch.get("delta") or {}
            if isinstance(m.get("content"), str):
                text.append(m["content"])
            for tc in m.get("tool_calls") or []:
                key = (ch.get("index", 0), tc.get("index", len(order)))
                if key not in calls:
                    calls[key] = {"id": None, "name": None, "args": ""}
                    order.append(key)
                c = calls[key]
                c["id"] = c["id"] or tc.get("id")
                fn = tc.get("function") or {}
                c["name"] = c["name"] or fn.get("name")
                c["args"] += fn.get("arguments") or ""
            if ch.get("finish_reason"):
                f["finish_reasons"].append(ch["finish_reason"])
    f["output_text"] = "".join(text) or None
    f["tool_calls"] = [{"id": calls[k]["id"], "name": calls[k]["name"],
                        "arguments": parse_args(calls[k]["args"])}
                       for k in order]
    return f


def anthropic_facts(objs):
    """Facts from a message or a list of stream event payloads."""
    f = empty_facts()
    text = []
    blocks = {}
    order = []

    def take_usage(u):
        if not isinstance(u, dict):
            return
        if "input_tokens" in u:
            f["input_tokens"] = (u.get("input_tokens") or 0) + \
                (u.get("cache_read_input_tokens") or 0) + \
                (u.get("cache_creation_input_tokens") or 0)
        if "output_tokens" in u:
            f["output_tokens"] = u["output_tokens"]

    def take_block(idx, b):
        if b.get("type") == "text":
            text.append(b.get("text") or "")
        elif b.get("type") == "tool_use":
            blocks[idx] = {"id": b.get("id"), "name": b.get("name"),
                           "input": b.get("input"), "json": ""}
            order.append(idx)

    for o in objs:
        if not isinstance(o, dict):
            continue
        t = o.get("type")
        msg = o if t == "message" else o.get("message") \
            if t == "message_start" else None
        if isinstance(msg, dict):
            f["model"] = f["model"] or msg.get("model")
            f["id"] = f["id"] or msg.get("id")
            take_usage(msg.get("usage"))
            for i, b in enumerate(msg.get("content") or []):
                take_block(i, b)
            if msg.get("stop_reason"):
                f["finish_reasons"].append(msg["stop_reason"])
        elif t == "content_block_start":
            take_block(o.get("index"), o.get("content_block") or {})
        elif t == "content_block_delta":
            d = o.get("delta") or {}
            if d.get("type") == "text_delta":
                text.append(d.get("text") or "")
            elif d.get("type") == "input_json_delta" and \
                    o.get("index") in blocks:
                blocks[o["index"]]["json"] += d.get("partial_json") or ""
        elif t == "message_delta":
            d = o.get("delta") or {}
            if d.get("stop_reason"):
                f["finish_reasons"].append(d["stop_reason"])
            take_usage(o.get("usage"))
        elif t == "error":
            f["error"] = (o.get("error") or {}).get("type")
    f["output_text"] = "".join(text) or None
    for i in order:
        b = blocks[i]
        args = parse_args(b["json"]) if b["json"] else b["input"]
        f["tool_calls"].append({"id": b["id"], "name": b["name"],
                                "arguments": args})
    return f


# ---------------------------------------------------------------- rendering

def sse(obj, event=None):
    data = obj if isinstance(obj, str) else \
        json.dumps(obj, separators=(",", ":"))
    head = "event: %s\n" % event if event else ""
    return (head + "data: " + data + "\n\n").encode()


def openai_usage(inp, out):
    return {"prompt_tokens": inp, "completion_tokens": out,
            "total_tokens": inp + out,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0}}


def openai_render(state, req, plan, n, stream, opts):
    """Returns (body or None, events [(bytes, obj)])."""
    rid = "chatcmpl-mock%d" % state.next_response()
    model = str(req.get("model")) + "-mock-2025"
    created = int(time.time())
    choices = []
    for i in range(n):
        calls = [{"id": "call_" + state.next_call_suffix(), "type": "function",
                  "function": {"name": name,
                               "arguments": json.dumps(
                                   args, separators=(",", ":"))}}
                 for name, args in plan["calls"]]
        choices.append((i, plan["text"], calls,
                        "tool_calls" if calls else "stop"))
    out_tokens = output_tokens(plan) * n
    usage = openai_usage(plan["in"], out_tokens)
    if not stream:
        body = {"id": rid, "object": "chat.completion", "created": created,
                "model": model, "choices": [], "usage": usage,
                "service_tier": "default",
                "system_fingerprint": "fp_mock0000"}
        for i, text, calls, fr in choices:
            msg = {"role": "assistant", "content": text}
            if calls:
                msg["tool_calls"] = calls
            msg["refusal"] = None
            msg["annotations"] = []
            body["choices"].append({"index": i, "message": msg,
                                    "logprobs": None, "finish_reason": fr})
        return body, None
    so = req.get("stream_options")
    with_usage = isinstance(so, dict) and so.get("include_usage") is True

    def chunk(i, delta, fr=None):
        c = {"id": rid, "object": "chat.completion.chunk",
             "created": created, "model": model,
             "service_tier": "default",
             "system_fingerprint": "fp_mock0000",
             "choices": [{"index": i, "delta": delta, "logprobs": None,
                          "finish_reason": fr}]}
        if with_usage:
            c["usage"] = None
        return c

    objs = []
    for i, text, calls, fr in choices:
        first = {"role": "assistant", "content": None if calls else "",
                 "refusal": None}
        if calls:
            for k, call in enumerate(calls):
                head = {"index": k, "id": call["id"], "type": "function",
                        "function": {"name": call["function"]["name"],
                                     "arguments": ""}}
                if k == 0:
                    first["tool_calls"] = [head]
                    objs.append(chunk(i, first))
                else:
                    objs.append(chunk(i, {"tool_calls": [head]}))
                for frag in split_json(call["function"]["arguments"]):
                    objs.append(chunk(i, {"tool_calls": [
                        {"index": k, "function": {"arguments": frag}}]}))
        else:
            objs.append(chunk(i, first))
            for w in split_words(text or ""):
                objs.append(chunk(i, {"content": w}))
        objs.append(chunk(i, {}, fr))
    if with_usage:
        objs.append({"id": rid, "object": "chat.completion.chunk",
                     "created": created, "model": model,
                     "service_tier": "default",
                     "system_fingerprint": "fp_mock0000", "choices": [],
                     "usage": usage})
    events = [(sse(o), o) for o in objs]
    if opts.get("error_event"):
        err = {"error": {"message": "The server had an error while "
                         "processing your request. Sorry about that!",
                         "type": "server_error", "param": None,
                         "code": None}}
        at = min(2, len(events))
        events = events[:at] + [(sse(err), err)]
    else:
        events.append((sse("[DONE]"), None))
    return None, events


def anthropic_render(state, req, plan, stream, opts):
    rid = "msg_mock%d" % state.next_response()
    model = req.get("model")
    blocks = []
    if plan["text"] is not None:
        blocks.append({"type": "text", "text": plan["text"]})
    for name, args in plan["calls"]:
        blocks.append({"type": "tool_use",
                       "id": "toolu_" + state.next_call_suffix(),
                       "name": name, "input": args})
    stop = "tool_use" if plan["calls"] else "end_turn"
    out = output_tokens(plan)
    usage = {"input_tokens": plan["in"], "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0, "output_tokens": out,
             "service_tier": "standard"}
    if not stream:
        return {"id": rid, "type": "message", "role": "assistant",
                "model": model, "content": blocks, "stop_reason": stop,
                "stop_sequence": None, "usage": usage}, None
    evs = []

    def ev(name, obj):
        evs.append((sse(obj, name), obj))

    start_usage = dict(usage, output_tokens=1)
    ev("message_start", {"type": "message_start", "message": {
        "id": rid, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": start_usage}})
    for idx, b in enumerate(blocks):
        if b["type"] == "text":
            ev("content_block_start", {"type": "content_block_start",
                                       "index": idx,
                                       "content_block": {"type": "text",
                                                         "text": ""}})
            if idx == 0:
                ev("ping", {"type": "ping"})
            for w in split_words(b["text"]):
                ev("content_block_delta", {
                    "type": "content_block_delta", "index": idx,
                    "delta": {"type": "text_delta", "text": w}})
        else:
            ev("content_block_start", {
                "type": "content_block_start", "index": idx,
                "content_block": {"type": "tool_use", "id": b["id"],
                                  "name": b["name"], "input": {}}})
            if idx == 0:
                ev("ping", {"type": "ping"})
            frags = [""] + split_json(json.dumps(b["input"]))
            for frag in frags:
                ev("content_block_delta", {
                    "type": "content_block_delta", "index": idx,
                    "delta": {"type": "input_json_delta",
                              "partial_json": frag}})
        ev("content_block_stop", {"type": "content_block_stop",
                                  "index": idx})
    ev("message_delta", {"type": "message_delta",
                         "delta": {"stop_reason": stop,
                                   "stop_sequence": None},
                         "usage": {"output_tokens": out}})
    ev("message_stop", {"type": "message_stop"})
    if opts.get("error_event"):
        # After the first text delta, as the API does when it overloads.
        at = next((i + 1 for i, (_, o) in enumerate(evs)
                   if o.get("type") == "content_block_delta"), len(evs))
        err = {"type": "error", "error": {"type": "overloaded_error",
                                          "message": "Overloaded"}}
        evs = evs[:at] + [(sse(err, "error"), err)]
    return None, evs


# ------------------------------------------------------------------- errors

def request_id():
    return "req_mock" + os.urandom(8).hex()


def openai_error(status, model, message=None):
    table = {
        400: ("invalid_request_error", None,
              "Invalid request."),
        401: ("invalid_request_error", "invalid_api_key",
              "Incorrect API key provided: sk-mock*******. You can find "
              "your API key at https://platform.openai.com/account/api-keys."),
        403: ("invalid_request_error", "unsupported_country_region_territory",
              "Country, region, or territory not supported"),
        404: ("invalid_request_error", "model_not_found",
              "The model `%s` does not exist or you do not have access to "
              "it." % model),
        429: ("requests", "rate_limit_exceeded",
              "Rate limit reached for %s in organization org-mock on "
              "requests per min (RPM): Limit 3, Used 3, Requested 1. Please "
              "try again in 20s. Visit "
              "https://platform.openai.com/account/rate-limits to learn "
              "more." % model),
        500: ("server_error", None,
              "The server had an error while processing your request. "
              "Sorry about that!"),
        503: ("server_error", None,
              "The engine is currently overloaded, please try again later."),
    }
    typ, code, msg = table.get(status, (
        "server_error" if status >= 500 else "invalid_request_error", None,
        "Mock error with status %d." % status))
    return {"error": {"message": message or msg, "type": typ, "param": None,
                      "code": code}}


def anthropic_error(status, message=None, rid=None):
    table = {
        400: ("invalid_request_error", "Invalid request."),
        401: ("authentication_error", "invalid x-api-key"),
        403: ("permission_error",
              "Your API key does not have permission to use the specified "
              "resource."),
        404: ("not_found_error", "The requested resource could not be "
              "found."),
        413: ("request_too_large", "Request exceeds the maximum allowed "
              "number of bytes."),
        429: ("rate_limit_error",
              "This request would exceed the rate limit for your "
              "organization (mock) of 50,000 input tokens per minute. For "
              "details, refer to: "
              "https://docs.claude.com/en/api/rate-limits."),
        500: ("api_error", "Internal server error"),
        529: ("overloaded_error", "Overloaded"),
    }
    typ, msg = table.get(status, (
        "api_error" if status >= 500 else "invalid_request_error",
        "Mock error with status %d." % status))
    return {"type": "error", "error": {"type": typ, "message": message or msg},
            "request_id": rid or request_id()}


def error_facts(model, body):
    f = empty_facts()
    f["model"] = model
    err = body.get("error") or {}
    f["error"] = err.get("code") or err.get("type")
    return f


# ------------------------------------------------------------- other APIs
#
# OpenAI Responses, legacy Completions and Embeddings, Google Gemini
# (generateContent, streamGenerateContent, embedContent) and Ollama
# (/api/chat, /api/generate, /api/embed).  Each request is first read into
# the Chat Completions shape that make_plan reads (messages, tools,
# tool_choice, system), so that every API answers with the same tool loop
# and echo as the two APIs above.

def chat_tool(name, params):
    return {"type": "function", "function": {"name": name,
                                             "parameters": params}}


def lower_types(schema):
    """A Gemini Schema ("type": "STRING", "OBJECT"...) in JSON Schema's
    lowercase type names, for value_for."""
    if isinstance(schema, list):
        return [lower_types(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for k, v in schema.items():
        if k == "type" and isinstance(v, str):
            out[k] = v.lower()
        elif k in ("properties", "$defs", "definitions") and \
                isinstance(v, dict):
            out[k] = {pk: lower_types(pv) for pk, pv in v.items()}
        elif k in ("items", "anyOf", "oneOf", "allOf"):
            out[k] = lower_types(v)
        else:
            out[k] = v
    return out


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def iso_now():
    """Ollama's created_at: RFC 3339 with microseconds, UTC."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%06dZ" % int((t % 1) * 1e6)


def limit_plan(plan, max_tokens):
    """Cut the plan's text to `max_tokens` word-sized tokens.  Returns the
    finish reason: "length" when cut, else None."""
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or \
            max_tokens < 1 or plan["calls"] or plan["text"] is None:
        return None
    pieces = split_words(plan["text"])
    if len(pieces) < max_tokens:
        return None
    plan["text"] = "".join(pieces[:max_tokens])
    plan["out"] = max_tokens
    return "length"


def plan_out(plan):
    return plan.get("out") or output_tokens(plan)


def responses_as_chat(req):
    """A Responses API request in the Chat Completions shape."""
    inp = req.get("input")
    msgs = []
    items = [inp] if isinstance(inp, str) else \
        inp if isinstance(inp, list) else []
    for it in items:
        if isinstance(it, str):
            msgs.append({"role": "user", "content": it})
            continue
        if not isinstance(it, dict):
            continue
        t = it.get("type")
        if t in (None, "message"):
            msgs.append({"role": it.get("role") or "user",
                         "content": it.get("content")})
        elif isinstance(t, str) and t.endswith("_output"):
            out = it.get("output")
            if not isinstance(out, (str, list)):
                out = compact(out)
            msgs.append({"role": "tool", "content": out})
        elif isinstance(t, str) and t.endswith("_call"):
            msgs.append({"role": "assistant", "content": None})
    chat = {"messages": msgs, "tools": [
        chat_tool(t["name"], t.get("parameters"))
        for t in req.get("tools") or []
        if isinstance(t, dict) and t.get("type", "function") == "function"
        and isinstance(t.get("name"), str)]}
    tc = req.get("tool_choice")
    if tc == "none":
        chat["tool_choice"] = "none"
    elif isinstance(tc, dict) and tc.get("type") == "function":
        chat["tool_choice"] = {"type": "function",
                               "function": {"name": tc.get("name")}}
    if isinstance(req.get("instructions"), str):
        chat["system"] = req["instructions"]
    return chat


def gemini_get(obj, camel, snake):
    if not isinstance(obj, dict):
        return None
    v = obj.get(camel)
    return v if v is not None else obj.get(snake)


def gemini_as_chat(req):
    """A generateContent request in the Chat Completions shape."""
    contents = req.get("contents")
    if isinstance(contents, (dict, str)):
        contents = [contents]
    msgs = []
    for c in contents if isinstance(contents, list) else []:
        if isinstance(c, str):
            msgs.append({"role": "user", "content": c})
            continue
        if not isinstance(c, dict):
            continue
        role = "assistant" if c.get("role") == "model" else "user"
        texts, called = [], False
        for p in c.get("parts") or []:
            if not isinstance(p, dict):
                continue
            fr = gemini_get(p, "functionResponse", "function_response")
            fc = gemini_get(p, "functionCall", "function_call")
            if isinstance(fr, dict):
                msgs.append({"role": "tool",
                             "content": compact(fr.get("response"))})
            elif isinstance(fc, dict):
                called = True
            elif isinstance(p.get("text"), str) and not p.get("thought"):
                texts.append(p["text"])
        if texts or called or role == "assistant":
            msgs.append({"role": role, "content": "".join(texts)})
    tools = []
    for t in req.get("tools") or []:
        for f in gemini_get(t, "functionDeclarations",
                            "function_declarations") or []:
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                params = f.get("parameters")
                if params is None:
                    params = gemini_get(f, "parametersJsonSchema",
                                        "parameters_json_schema")
                tools.append(chat_tool(f["name"], lower_types(params)))
    chat = {"messages": msgs, "tools": tools}
    fcc = gemini_get(gemini_get(req, "toolConfig", "tool_config"),
                     "functionCallingConfig", "function_calling_config")
    mode = gemini_get(fcc, "mode", "mode")
    names = gemini_get(fcc, "allowedFunctionNames",
                       "allowed_function_names")
    if mode == "NONE":
        chat["tool_choice"] = "none"
    elif mode == "ANY" and isinstance(names, list) and names:
        chat["tool_choice"] = {"type": "function",
                               "function": {"name": names[0]}}
    si = gemini_get(req, "systemInstruction", "system_instruction")
    if isinstance(si, dict):
        chat["system"] = content_text(si.get("parts"))
    elif isinstance(si, str):
        chat["system"] = si
    return chat


def ollama_as_chat(req, generate):
    if generate:
        chat = {"messages": [{"role": "user",
                              "content": req.get("prompt") or ""}],
                "tools": []}
        if isinstance(req.get("system"), str) and req["system"]:
            chat["system"] = req["system"]
        return chat
    return {"messages": [m for m in req["messages"] if isinstance(m, dict)],
            "tools": req.get("tools") or []}


def embedding_vector(seed, dims):
    """`dims` floats in [-1, 1) derived from `seed`."""
    out = []
    block = b""
    i = 0
    while len(out) < dims:
        if len(block) < 8:
            block = hashlib.sha256(b"%s|%d" % (seed.encode(), i)).digest()
            i += 1
        n = int.from_bytes(block[:8], "big")
        block = block[8:]
        out.append(round(n / 2.0 ** 63 - 1.0, 9))
    return out


def embed_inputs(value):
    """The texts of an embeddings input: a string, a list of strings, a
    list of token ids or a list of such lists."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        if value and all(isinstance(x, int) for x in value):
            return [" ".join(map(str, value))]
        return [x if isinstance(x, str) else
                " ".join(map(str, x)) if isinstance(x, list) else compact(x)
                for x in value]
    return []


def dims_of(req, key, default=32):
    n = req.get(key)
    if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4096:
        return n
    return default


class Api:
    """One API of the mock: how its requests read and its answers look."""

    name = provider = None
    stream_type = "text/event-stream; charset=utf-8"
    json_type = "application/json"
    pretty = True          # whole bodies indented (OpenAI, Gemini)

    def model(self, req, path):
        return req.get("model") if isinstance(req.get("model"), str) \
            else None

    def validate(self, req, path):
        if not isinstance(req.get("model"), str):
            return "you must provide a model parameter"
        return None

    def is_stream(self, req, path, query):
        return req.get("stream") is True

    def headers(self):
        return {"x-request-id": request_id(), "openai-version": "2020-10-01",
                "openai-processing-ms": "7"}

    def error_body(self, status, model, message):
        return openai_error(status, model, message)

    def error_facts(self, model, body):
        return error_facts(model, body)

    bad_json = ("We could not parse the JSON body of your request. (HINT: "
                "This likely means you aren't using your HTTP library "
                "correctly. The OpenAI API expects a JSON payload, but what "
                "was sent was not valid JSON. If you have trouble figuring "
                "out how to fix this, please contact us through our help "
                "center at help.openai.com.)")

    def encode(self, body):
        return (json.dumps(body, indent=2) if self.pretty else
                compact(body)).encode()

    def stream_type_for(self, query):
        return self.stream_type


# -- OpenAI Responses

class ResponsesApi(Api):
    name, provider = "openai.responses", "openai"

    def validate(self, req, path):
        if not isinstance(req.get("model"), str):
            return "Missing required parameter: 'model'."
        if not isinstance(req.get("input"), (str, list)) and \
                not req.get("previous_response_id"):
            return "Missing required parameter: 'input'."
        return None

    def plan(self, req, path, opts):
        return make_plan("openai", responses_as_chat(req), opts)

    def render(self, state, req, model, path, query, stream, opts):
        plan = self.plan(req, path, opts)
        # max_output_tokens reached: status "incomplete"
        final = "incomplete" if limit_plan(
            plan, req.get("max_output_tokens")) else "completed"
        n = state.next_response()
        rid = "resp_mock%d" % n
        rmodel = model + "-mock-2025"
        created = int(time.time())
        items = []
        if plan["text"] is not None:
            items.append({"id": "msg_mock%d" % n, "type": "message",
                          "status": final, "content": [
                              {"type": "output_text", "annotations": [],
                               "logprobs": [], "text": plan["text"]}],
                          "role": "assistant"})
        for k, (name, args) in enumerate(plan["calls"]):
            items.append({"id": "fc_mock%d_%d" % (n, k),
                          "type": "function_call", "status": "completed",
                          "arguments": compact(args),
                          "call_id": "call_" + state.next_call_suffix(),
                          "name": name})
        inp, out = plan["in"], plan_out(plan)
        usage = {"input_tokens": inp,
                 "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": out,
                 "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": inp + out}

        def resp(status, output, u):
            return {"id": rid, "object": "response", "created_at": created,
                    "status": status, "background": False, "error": None,
                    "incomplete_details": {"reason": "max_output_tokens"}
                    if status == "incomplete" else None,
                    "instructions": req.get("instructions"),
                    "max_output_tokens": req.get("max_output_tokens"),
                    "model": rmodel, "output": output,
                    "parallel_tool_calls": True,
                    "previous_response_id": req.get("previous_response_id"),
                    "reasoning": {"effort": None, "summary": None},
                    "service_tier": "default", "store": True,
                    "temperature": req.get("temperature", 1.0),
                    "text": {"format": {"type": "text"},
                             "verbosity": "medium"},
                    "tool_choice": req.get("tool_choice", "auto"),
                    "tools": req.get("tools") or [],
                    "top_p": req.get("top_p", 1.0),
                    "truncation": "disabled", "usage": u, "user": None,
                    "metadata": {}}

        if not stream:
            return resp(final, items, usage), None
        evs = []

        def ev(name, **fields):
            o = {"type": name, "sequence_number": len(evs)}
            o.update(fields)
            evs.append((sse(o, name), o))

        ev("response.created", response=resp("in_progress", [], None))
        ev("response.in_progress", response=resp("in_progress", [], None))
        for oi, item in enumerate(items):
            iid = item["id"]
            if item["type"] == "message":
                part = item["content"][0]
                ev("response.output_item.added", output_index=oi,
                   item=dict(item, status="in_progress", content=[]))
                ev("response.content_part.added", item_id=iid,
                   output_index=oi, content_index=0,
                   part=dict(part, text=""))
                for w in split_words(part["text"]):
                    ev("response.output_text.delta", item_id=iid,
                       output_index=oi, content_index=0, delta=w,
                       logprobs=[])
                ev("response.output_text.done", item_id=iid,
                   output_index=oi, content_index=0, text=part["text"],
                   logprobs=[])
                ev("response.content_part.done", item_id=iid,
                   output_index=oi, content_index=0, part=part)
            else:
                ev("response.output_item.added", output_index=oi,
                   item=dict(item, status="in_progress", arguments=""))
                for frag in split_json(item["arguments"]):
                    ev("response.function_call_arguments.delta",
                       item_id=iid, output_index=oi, delta=frag)
                ev("response.function_call_arguments.done", item_id=iid,
                   output_index=oi, arguments=item["arguments"])
            ev("response.output_item.done", output_index=oi, item=item)
        ev("response." + final, response=resp(final, items, usage))
        if opts.get("error_event"):
            at = next((i + 1 for i, (_, o) in enumerate(evs)
                       if o["type"].endswith(".delta")), len(evs))
            err = {"type": "error", "sequence_number": at,
                   "code": "server_error",
                   "message": "The server had an error while processing "
                              "your request. Sorry about that!",
                   "param": None}
            evs = evs[:at] + [(sse(err, "error"), err)]
        return None, evs

    def facts(self, objs):
        f = empty_facts()
        text, calls, order = [], {}, []

        def call(oi):
            if oi not in calls:
                calls[oi] = {"id": None, "name": None, "args": "",
                             "done": None}
                order.append(oi)
            return calls[oi]

        def take_response(r, final):
            f["model"] = f["model"] or r.get("model")
            f["id"] = f["id"] or r.get("id")
            u = r.get("usage")
            if isinstance(u, dict):
                f["input_tokens"] = u.get("input_tokens")
                f["output_tokens"] = u.get("output_tokens")
            if final and r.get("status"):
                f["finish_reasons"].append(r["status"])

        for o in objs:
            if not isinstance(o, dict):
                continue
            t = o.get("type")
            if o.get("object") == "response":   # a whole body
                take_response(o, True)
                for oi, it in enumerate(o.get("output") or []):
                    if it.get("type") == "message":
                        text.extend(p.get("text") or ""
                                    for p in it.get("content") or []
                                    if p.get("type") == "output_text")
                    elif it.get("type") == "function_call":
                        c = call(oi)
                        c.update(id=it.get("call_id"), name=it.get("name"),
                                 done=it.get("arguments"))
            elif t in ("response.created", "response.in_progress"):
                take_response(o.get("response") or {}, False)
            elif t in ("response.completed", "response.incomplete",
                       "response.failed"):
                take_response(o.get("response") or {}, True)
            elif t == "response.output_text.delta":
                text.append(o.get("delta") or "")
            elif t == "response.output_item.added":
                it = o.get("item") or {}
                if it.get("type") == "function_call":
                    c = call(o.get("output_index"))
                    c.update(id=it.get("call_id"), name=it.get("name"))
            elif t == "response.function_call_arguments.delta":
                call(o.get("output_index"))["args"] += o.get("delta") or ""
            elif t == "response.function_call_arguments.done":
                call(o.get("output_index"))["done"] = o.get("arguments")
            elif t == "error":
                f["error"] = o.get("code")
        f["output_text"] = "".join(text) or None
        f["tool_calls"] = [{"id": calls[k]["id"], "name": calls[k]["name"],
                            "arguments": parse_args(
                                calls[k]["done"] if calls[k]["done"]
                                is not None else calls[k]["args"])}
                           for k in order]
        return f


# -- OpenAI legacy Completions

class CompletionsApi(Api):
    name, provider = "openai.completions", "openai"

    def validate(self, req, path):
        if not isinstance(req.get("model"), str):
            return "you must provide a model parameter"
        if not isinstance(req.get("prompt"), (str, list)):
            return "Missing required parameter: 'prompt'."
        return None

    def render(self, state, req, model, path, query, stream, opts):
        prompt = " ".join(embed_inputs(req.get("prompt")))
        plan = make_plan("openai", {"messages": [
            {"role": "user", "content": prompt}]}, opts)
        fr = limit_plan(plan, req.get("max_tokens")) or "stop"
        rid = "cmpl-mock%d" % state.next_response()
        rmodel = model + "-mock-2025"
        created = int(time.time())
        inp, out = plan["in"], plan_out(plan)
        usage = {"prompt_tokens": inp, "completion_tokens": out,
                 "total_tokens": inp + out}
        if not stream:
            return {"id": rid, "object": "text_completion",
                    "created": created, "model": rmodel,
                    "choices": [{"text": plan["text"], "index": 0,
                                 "logprobs": None, "finish_reason": fr}],
                    "usage": usage}, None
        so = req.get("stream_options")
        with_usage = isinstance(so, dict) and so.get("include_usage") is True

        def chunk(choices, u=None):
            c = {"id": rid, "object": "text_completion", "created": created,
                 "choices": choices, "model": rmodel}
            if with_usage:
                c["usage"] = u
            return c

        objs = [chunk([{"text": w, "index": 0, "logprobs": None,
                        "finish_reason": None}])
                for w in split_words(plan["text"])]
        objs.append(chunk([{"text": "", "index": 0, "logprobs": None,
                            "finish_reason": fr}]))
        if with_usage:
            objs.append(chunk([], usage))
        events = [(sse(o), o) for o in objs]
        if opts.get("error_event"):
            err = {"error": {"message": "The server had an error while "
                             "processing your request. Sorry about that!",
                             "type": "server_error", "param": None,
                             "code": None}}
            events = events[:min(2, len(events))] + [(sse(err), err)]
        else:
            events.append((sse("[DONE]"), None))
        return None, events

    def facts(self, objs):
        f = empty_facts()
        text = []
        for o in objs:
            if not isinstance(o, dict):
                continue
            f["model"] = f["model"] or o.get("model")
            f["id"] = f["id"] or o.get("id")
            if isinstance(o.get("error"), dict):
                f["error"] = o["error"].get("code") or o["error"].get("type")
            u = o.get("usage")
            if isinstance(u, dict):
                f["input_tokens"] = u.get("prompt_tokens")
                f["output_tokens"] = u.get("completion_tokens")
            for ch in o.get("choices") or []:
                if isinstance(ch.get("text"), str):
                    text.append(ch["text"])
                if ch.get("finish_reason"):
                    f["finish_reasons"].append(ch["finish_reason"])
        f["output_text"] = "".join(text) or None
        return f


# -- embeddings (OpenAI, Ollama, Gemini)

def embedding_facts(model, input_tokens, vec):
    f = empty_facts()
    f["model"] = model
    f["input_tokens"] = input_tokens
    if isinstance(vec, str):
        f["dimension_count"] = len(base64.b64decode(vec)) // 4
    elif isinstance(vec, list):
        f["dimension_count"] = len(vec)
    else:
        f["dimension_count"] = None
    return f


class EmbeddingsApi(Api):
    name, provider = "openai.embeddings", "openai"

    def validate(self, req, path):
        if not isinstance(req.get("model"), str):
            return "you must provide a model parameter"
        if not embed_inputs(req.get("input")):
            return "'input' is a required property"
        return None

    def render(self, state, req, model, path, query, stream, opts):
        texts = embed_inputs(req.get("input"))
        dims = dims_of(req, "dimensions")
        b64 = req.get("encoding_format") == "base64"
        data = []
        for i, t in enumerate(texts):
            vec = embedding_vector(model + "|" + t, dims)
            if b64:
                vec = base64.b64encode(struct.pack("<%df" % dims,
                                                   *vec)).decode()
            data.append({"object": "embedding", "index": i,
                         "embedding": vec})
        n = sum(max(1, words(t)) for t in texts)
        return {"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": n, "total_tokens": n}}, None

    def facts(self, objs):
        b = objs[0]
        return embedding_facts(b.get("model"), b["usage"]["prompt_tokens"],
                               b["data"][0]["embedding"])


# -- Google Gemini

GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
                 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ABORTED", 429: "RESOURCE_EXHAUSTED",
                 499: "CANCELLED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
                 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
GEMINI_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    401: "API key not valid. Please pass a valid API key.",
    404: "models/%s is not found for API version v1beta, or is not "
         "supported for generateContent."}
GEMINI_PATH = re.compile(r"/(?:models|tunedModels)/([^/]+?):(\w+)$")


def gemini_route(path):
    """(model, method) of a Gemini path, or None."""
    m = GEMINI_PATH.search(urllib.parse.unquote(path))
    return (m.group(1), m.group(2)) if m else None


def gemini_error(status, model, message=None):
    msg = message or GEMINI_MESSAGES.get(status, "Mock error with status "
                                         "%d." % status)
    if "%s" in msg:
        msg = msg % model
    return {"error": {"code": status, "message": msg,
                      "status": GEMINI_STATUS.get(
                          status, "INTERNAL" if status >= 500
                          else "FAILED_PRECONDITION")}}


def gemini_sse(obj):
    # Google's own spacing (", " never, ": " always) and CRLF line ends.
    return ("data: " + json.dumps(obj, separators=(",", ": ")) +
            "\r\n\r\n").encode()


def gemini_response_id(n):
    digest = hashlib.sha256(b"mock-gemini-%d" % n).digest()
    return base64.urlsafe_b64encode(digest[:17]).decode().rstrip("=")


class GeminiApi(Api):
    name, provider = "gemini.generateContent", "gcp.gemini"
    json_type = "application/json; charset=UTF-8"
    stream_type = "text/event-stream"
    bad_json = "Invalid JSON payload received. Unexpected token."

    def model(self, req, path):
        r = gemini_route(path)
        return r[0] if r else None

    def validate(self, req, path):
        if not gemini_as_chat(req)["messages"]:
            return ("* GenerateContentRequest.contents: contents is not "
                    "specified\n")
        return None

    def is_stream(self, req, path, query):
        return gemini_route(path)[1] == "streamGenerateContent"

    def headers(self):
        return {"Vary": "Origin, X-Origin, Referer"}

    def error_body(self, status, model, message):
        return gemini_error(status, model, message)

    def error_facts(self, model, body):
        f = empty_facts()
        f["model"] = model
        f["error"] = body["error"]["status"]
        return f

    def render(self, state, req, model, path, query, stream, opts):
        plan = make_plan("openai", gemini_as_chat(req), opts)
        fr = "STOP"
        gc = gemini_get(req, "generationConfig", "generation_config")
        if limit_plan(plan, gemini_get(gc, "maxOutputTokens",
                                       "max_output_tokens")):
            fr = "MAX_TOKENS"
        rid = gemini_response_id(state.next_response())
        inp, out = plan["in"], plan_out(plan)
        details = [{"modality": "TEXT", "tokenCount": inp}]
        usage = {"promptTokenCount": inp, "candidatesTokenCount": out,
                 "totalTokenCount": inp + out,
                 "promptTokensDetails": details}
        parts = []
        if plan["text"] is not None:
            parts.append({"text": plan["text"]})
        for name, args in plan["calls"]:
            parts.append({"functionCall": {"name": name, "args": args}})

        def resp(ps, reason, u):
            cand = {"content": {"parts": ps, "role": "model"}}
            if reason:
                cand["finishReason"] = reason
            cand["index"] = 0
            return {"candidates": [cand], "usageMetadata": u,
                    "modelVersion": model, "responseId": rid}

        if not stream:
            return resp(parts, fr, usage), None
        if plan["calls"]:
            objs = [resp(parts, fr, usage)]
        else:
            pieces = split_words(plan["text"])
            groups = ["".join(pieces[i:i + 3])
                      for i in range(0, len(pieces), 3)]
            partial = {"promptTokenCount": inp, "totalTokenCount": inp,
                       "promptTokensDetails": details}
            objs = [resp([{"text": g}], None, partial) for g in groups]
            objs[-1] = resp([{"text": groups[-1]}], fr, usage)
        err = gemini_error(500, model) if opts.get("error_event") else None
        if err:
            objs = objs[:1] + [err]
        if "alt=sse" in query.split("&"):
            return None, [(gemini_sse(o), o) for o in objs]
        # Without alt=sse: one JSON array, sent element by element.
        events = []
        for i, o in enumerate(objs):
            text = json.dumps(o, indent=2)
            head = "[" if i == 0 else ",\r\n"
            events.append(((head + text).encode(), o))
        if not err:
            events.append((b"]", None))
        return None, events

    def stream_type_for(self, query):
        return self.stream_type if "alt=sse" in query.split("&") \
            else self.json_type

    def facts(self, objs):
        f = empty_facts()
        text = []
        for o in objs:
            if not isinstance(o, dict):
                continue
            if isinstance(o.get("error"), dict):
                f["error"] = o["error"].get("status")
                continue
            f["model"] = f["model"] or o.get("modelVersion")
            f["id"] = f["id"] or o.get("responseId")
            u = o.get("usageMetadata")
            if isinstance(u, dict):
                if "promptTokenCount" in u:
                    f["input_tokens"] = u["promptTokenCount"]
                if "candidatesTokenCount" in u:
                    f["output_tokens"] = u["candidatesTokenCount"] + \
                        (u.get("thoughtsTokenCount") or 0)
            for cand in o.get("candidates") or []:
                for p in (cand.get("content") or {}).get("parts") or []:
                    if isinstance(p.get("text"), str) and \
                            not p.get("thought"):
                        text.append(p["text"])
                    fc = p.get("functionCall")
                    if isinstance(fc, dict):
                        f["tool_calls"].append({"id": fc.get("id"),
                                                "name": fc.get("name"),
                                                "arguments": fc.get("args")})
                if cand.get("finishReason"):
                    f["finish_reasons"].append(cand["finishReason"])
        f["output_text"] = "".join(text) or None
        return f


class GeminiEmbedApi(GeminiApi):
    name, provider = "gemini.embedContent", "gcp.gemini"

    def requests(self, req, path):
        if gemini_route(path)[1] == "batchEmbedContents":
            return [r for r in req.get("requests") or []
                    if isinstance(r, dict)]
        return [req]

    def validate(self, req, path):
        for r in self.requests(req, path):
            if not content_text((r.get("content") or {}).get("parts")):
                return "* EmbedContentRequest.content: contents is not " \
                       "specified\n"
        if not self.requests(req, path):
            return "* BatchEmbedContentsRequest.requests: at least one " \
                   "request is required\n"
        return None

    def is_stream(self, req, path, query):
        return False

    def render(self, state, req, model, path, query, stream, opts):
        vecs = []
        for r in self.requests(req, path):
            t = content_text((r.get("content") or {}).get("parts"))
            dims = gemini_get(r, "outputDimensionality",
                              "output_dimensionality")
            vecs.append({"values": embedding_vector(
                model + "|" + t, dims_of({"d": dims}, "d"))})
        if gemini_route(path)[1] == "batchEmbedContents":
            return {"embeddings": vecs}, None
        return {"embedding": vecs[0]}, None

    def facts(self, objs):
        b = objs[0]
        e = b.get("embedding") or (b.get("embeddings") or [{}])[0]
        return embedding_facts(None, None, e.get("values"))


# -- Ollama

def ollama_counts(inp, out):
    """The timing fields and counts of a done:true line (nanoseconds,
    made up from the counts)."""
    return {"total_duration": 5000000 + 20000000 * (inp + out),
            "load_duration": 1000000,
            "prompt_eval_count": inp,
            "prompt_eval_duration": 2000000 * inp,
            "eval_count": out, "eval_duration": 20000000 * out}


class OllamaApi(Api):
    provider = "ollama"
    stream_type = "application/x-ndjson"
    json_type = "application/json; charset=utf-8"
    pretty = False

    def __init__(self, generate):
        self.generate = generate
        self.name = "ollama.generate" if generate else "ollama.chat"

    bad_json = "invalid character 'o' in literal null (expecting 'u')"

    def validate(self, req, path):
        if not isinstance(req.get("model"), str) or not req["model"]:
            return "model is required"
        if not self.generate and not isinstance(req.get("messages"), list):
            return "messages is required"
        return None

    def is_stream(self, req, path, query):
        return req.get("stream") is not False  # streams unless told not to

    def headers(self):
        return {}

    def error_body(self, status, model, message):
        table = {404: 'model "%s" not found, try pulling it first' % model,
                 429: "server busy, please try again.  maximum pending "
                      "requests exceeded",
                 500: "llama runner process has terminated: exit status 2",
                 503: "server overloaded, please retry"}
        return {"error": message or table.get(status, "Mock error with "
                                              "status %d." % status)}

    def error_facts(self, model, body):
        f = empty_facts()
        f["model"] = model
        f["error"] = body["error"]
        return f

    def render(self, state, req, model, path, query, stream, opts):
        plan = make_plan("openai", ollama_as_chat(req, self.generate), opts)
        reason = limit_plan(plan, (req.get("options") or {}).get(
            "num_predict") if isinstance(req.get("options"), dict)
            else None) or "stop"
        counts = ollama_counts(plan["in"], plan_out(plan))
        calls = [{"function": {"name": name, "arguments": args}}
                 for name, args in plan["calls"]]
        text = plan["text"] or ""
        context = [128006 + (i % 7) for i in range(plan["in"] +
                                                   plan_out(plan))]

        def line(piece, done=False, tools=None):
            o = {"model": model, "created_at": iso_now()}
            if self.generate:
                o["response"] = piece
            else:
                o["message"] = {"role": "assistant", "content": piece}
                if tools:
                    o["message"]["tool_calls"] = tools
            if done:
                o["done_reason"] = reason
            o["done"] = done
            if done:
                if self.generate:
                    o["context"] = context
                o.update(counts)
            return o

        if not stream:
            return line(text, True, calls), None
        objs = [line(w) for w in (split_words(text) if text else [])]
        if calls:
            objs.append(line("", False, calls))
        objs.append(line("", True))
        events = [((compact(o) + "\n").encode(), o) for o in objs]
        if opts.get("error_event"):
            err = {"error": "an error was encountered while running the "
                            "model: unexpected EOF"}
            events = events[:min(2, len(events))] + \
                [((compact(err) + "\n").encode(), err)]
        return None, events

    def facts(self, objs):
        f = empty_facts()
        text = []
        for o in objs:
            if not isinstance(o, dict):
                continue
            if "error" in o:
                f["error"] = o["error"]
                continue
            f["model"] = f["model"] or o.get("model")
            msg = o.get("message") or {}
            for piece in (msg.get("content"), o.get("response")):
                if isinstance(piece, str):
                    text.append(piece)
            for tc in msg.get("tool_calls") or []:
                fn = tc.get("function") or {}
                args = fn.get("arguments")
                f["tool_calls"].append({
                    "id": tc.get("id"), "name": fn.get("name"),
                    "arguments": parse_args(args) if isinstance(args, str)
                    else args})
            if o.get("done"):
                f["input_tokens"] = o.get("prompt_eval_count")
                f["output_tokens"] = o.get("eval_count")
                if o.get("done_reason"):
                    f["finish_reasons"].append(o["done_reason"])
        f["output_text"] = "".join(text) or None
        return f


class OllamaEmbedApi(OllamaApi):
    name = "ollama.embed"

    def __init__(self, legacy):
        self.legacy = legacy   # /api/embeddings: prompt -> embedding
        self.generate = False
        self.name = "ollama.embeddings" if legacy else "ollama.embed"

    def validate(self, req, path):
        if not isinstance(req.get("model"), str) or not req["model"]:
            return "model is required"
        if not embed_inputs(req.get("prompt" if self.legacy else "input")):
            return "invalid input type"
        return None

    def is_stream(self, req, path, query):
        return False

    def render(self, state, req, model, path, query, stream, opts):
        texts = embed_inputs(req.get("prompt" if self.legacy else "input"))
        dims = dims_of(req, "dimensions")
        vecs = [embedding_vector(model + "|" + t, dims) for t in texts]
        if self.legacy:
            return {"embedding": vecs[0]}, None
        n = sum(max(1, words(t)) for t in texts)
        return {"model": model, "embeddings": vecs,
                "total_duration": 14143917, "load_duration": 1019500,
                "prompt_eval_count": n}, None

    def facts(self, objs):
        b = objs[0]
        vec = b.get("embedding") if self.legacy else b["embeddings"][0]
        return embedding_facts(b.get("model"), b.get("prompt_eval_count"),
                               vec)


def find_api(path):
    """The Api for a POST to `path` (mock options removed), or None."""
    if path.endswith("/v1/responses") or path.endswith("/openai/responses"):
        return ResponsesApi()
    if path.endswith("/api/chat"):
        return OllamaApi(False)
    if path.endswith("/api/generate"):
        return OllamaApi(True)
    if path.endswith("/api/embed"):
        return OllamaEmbedApi(False)
    if path.endswith("/api/embeddings"):
        return OllamaEmbedApi(True)
    r = gemini_route(path)
    if r and r[1] in ("generateContent", "streamGenerateContent"):
        return GeminiApi()
    if r and r[1] in ("embedContent", "batchEmbedContents"):
        return GeminiEmbedApi()
    if path.endswith("/v1/completions"):
        return CompletionsApi()
    if path.endswith("/v1/embeddings"):
        return EmbeddingsApi()
    return None


# ------------------------------------------------------------------ handler

class ClientGone(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-llm/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60  # seconds a keep-alive connection may sit idle

    def version_string(self):
        return self.server_version

    # -- connection life

    def setup(self):
        self.abrupt = False
        self.headers_sent = False
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        sock = self.request
        if isinstance(sock, ssl.SSLSocket) and not self.abrupt and \
                self.close_connection:
            # Send close_notify without waiting for the peer's.
            try:
                sock.setblocking(False)
                sock.unwrap()
            except (OSError, ValueError):
                pass

    def log_message(self, fmt, *args):
        log("%s %s", self.address_string(), fmt % args)

    def abort(self, rst):
        """Close the connection now: FIN, or RST when `rst`; for TLS
        without close_notify."""
        self.abrupt = True
        self.close_connection = True
        sock = self.request
        if rst:
            time.sleep(0.05)  # let the bytes written so far arrive first
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                self.rfile.close()
                sock.close()
            except OSError:
                pass
        else:
            try:
                self.rfile.close()
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    # -- method entry points

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def dispatch(self):
        self.record = None
        self.opts = {}
        try:
            self.route()
        except (OSError, ClientGone) as e:
            log("%s: connection lost: %s", self.path, e)
            if self.record is not None:
                self.record["client_disconnected"] = True
            self.abrupt = True
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            if not self.headers_sent:
                try:
                    self.send_json(500, {"error": {
                        "message": "mock_llm internal error",
                        "type": "server_error", "param": None,
                        "code": None}}, {})
                except OSError:
                    pass

    # -- reading

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ClientGone("eof in chunked body")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                             b""):
                        pass
                    return b"".join(parts)
                data = self.rfile.read(size)
                if len(data) < size:
                    raise ClientGone("eof in chunk")
                parts.append(data)
                self.rfile.readline(3)
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        n = int(n)
        if n < 0:
            raise ValueError("negative Content-Length")
        data = self.rfile.read(n)
        if len(data) < n:
            raise ClientGone("eof in body")
        return data

    # -- writing

    def framing(self, opts, stream):
        if opts.get("close"):
            return "close"
        if stream or opts.get("chunked"):
            return "chunked" if self.request_version != "HTTP/1.0" \
                else "close"
        return "length"

    def begin(self, status, headers, framing, length=None):
        lat = self.opts.get("latency")
        if lat:
            time.sleep(lat / 1000.0)
        self.send_response(status, REASONS.get(status, ""))
        for k, v in headers.items():
            self.send_header(k, v)
        if framing == "close":
            self.send_header("Connection", "close")
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
            if self.close_connection:
                self.send_header("Connection", "close")
        self.end_headers()
        self.headers_sent = True

    def cut_count(self, opts, total):
        """How many pieces to send before aborting, or None."""
        for key in ("reset", "cut"):
            if key in opts:
                n = opts[key]
                return total // 2 if n is None else max(0, n)
        return None

    def send_body(self, status, headers, body, opts, pre_encoded=False,
                  pieces=None):
        """Send a whole body with the framing the options ask for.  With
        chunked framing, `pieces` (if given) are the chunks."""
        enc = None if pre_encoded else encoding_of(opts)
        if enc:
            body = encode_whole(body, enc)
            headers["Content-Encoding"] = enc
            pieces = None
        framing = self.framing(opts, False)
        cut = "cut" in opts or "reset" in opts
        if framing == "length":
            self.begin(status, headers, "length", len(body))
            if self.command != "HEAD":
                self.wfile.write(body[:len(body) // 2] if cut else body)
        else:
            self.begin(status, headers, framing)
            if pieces is None:
                step = max(1, -(-len(body) // 3))
                pieces = [body[i:i + step] for i in range(0, len(body), step)]
            if cut:
                half, acc = len(body) // 2, []
                for p in pieces:
                    take = p[:max(0, half - sum(map(len, acc)))]
                    if take:
                        acc.append(take)
                pieces = acc
            delay = (opts.get("delay") or 0) / 1000.0
            for i, p in enumerate(pieces):
                if i and delay:
                    time.sleep(delay)
                self.write_piece(p, framing)
            if framing == "chunked" and not cut:
                self.wfile.write(b"0\r\n\r\n")
        if cut:
            self.abort("reset" in opts)

    def write_piece(self, data, framing):
        if not data:
            return
        if framing == "chunked":
            data = b"%x\r\n" % len(data) + data + b"\r\n"
        self.wfile.write(data)  # unbuffered: one sendall, one TLS record

    def send_events(self, status, headers, events, opts, pre_encoded=False):
        """Send a stream of events, each written and flushed on its own.
        Returns how many events were sent."""
        enc = None if pre_encoded else encoding_of(opts)
        comp = None
        if enc:
            headers["Content-Encoding"] = enc
            comp = zlib.compressobj(6, zlib.DEFLATED,
                                    31 if enc == "gzip" else 15)
        framing = self.framing(opts, True)
        self.begin(status, headers, framing)
        n = self.cut_count(opts, len(events))
        send = events if n is None else events[:n]
        delay = (opts.get("delay") or 0) / 1000.0
        for i, ev in enumerate(send):
            if i and delay:
                time.sleep(delay)
            if comp:
                ev = comp.compress(ev) + comp.flush(zlib.Z_SYNC_FLUSH)
            self.write_piece(ev, framing)
        if n is not None:
            self.abort("reset" in opts)
            return len(send)
        if comp:
            self.write_piece(comp.flush(), framing)
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True
        return len(send)

    def send_json(self, status, obj, headers, opts=None, pretty=False):
        body = (json.dumps(obj, indent=2) if pretty else
                json.dumps(obj, separators=(",", ":"))).encode()
        headers = dict(headers)
        headers["Content-Type"] = "application/json"
        self.send_body(status, headers, body, opts or {})

    # -- routing

    def route(self):
        if self.path in ("/mock/log", "/mock/reset"):
            self.read_body()
            if self.path == "/mock/log" and self.command == "GET":
                return self.send_body(200, {"Content-Type":
                                            "application/json"},
                                      self.server.state.dump(), {})
            if self.path == "/mock/reset" and self.command == "POST":
                self.server.state.reset()
                return self.send_json(200, {"ok": True}, {})
            return self.send_json(405, {"error": "method not allowed"}, {})
        try:
            opts, path, query = parse_path(self.path)
        except OptionError as e:
            self.read_body()
            return self.send_json(400, openai_error(400, None, str(e)), {})
        self.opts = opts
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.send_json(400, openai_error(
                400, None, "Malformed request body framing."), {})
        if "corpus" in opts:
            return self.replay_corpus(opts, path, body)
        if path.endswith("/chat/completions"):
            provider = "openai"
        elif path.endswith("/messages"):
            provider = "anthropic"
        elif self.command == "POST" and find_api(path) is not None:
            return self.api_call(find_api(path), opts, body, path, query)
        elif self.command in ("GET", "HEAD"):
            return self.tool_endpoint(opts, path, query)
        else:
            provider = None
        if provider is None or self.command != "POST":
            return self.send_json(404, {"error": {
                "message": "Unknown request URL: %s %s. Please check the "
                           "URL for typos." % (self.command, path),
                "type": "invalid_request_error", "param": None,
                "code": "unknown_url"}}, {}, opts)
        return self.llm(provider, opts, body)

    # -- tool endpoints

    def tool_endpoint(self, opts, path, query):
        q = urllib.parse.parse_qs(query)
        if path == "/tool/weather":
            city = q.get("city", ["Unknown"])[0]
            return self.send_json(200, {"city": city, "temperature_c": 21,
                                        "conditions": "sunny"}, {}, opts)
        if path == "/page":
            html = (b"<!doctype html>\n<html><head><title>Mock page"
                    b"</title></head>\n<body><h1>Mock page</h1>\n<p>The "
                    b"weather in Paris is sunny, 21 degrees.</p>\n"
                    b"</body></html>\n")
            return self.send_body(200, {"Content-Type":
                                        "text/html; charset=utf-8"},
                                  html, opts)
        if path == "/download":
            try:
                n = max(0, min(int(q.get("bytes", ["1024"])[0]), 1 << 30))
            except ValueError:
                n = 1024
            return self.download(n, opts)
        return self.send_json(404, {"error": {
            "message": "Unknown request URL: GET %s." % path,
            "type": "invalid_request_error", "param": None,
            "code": "unknown_url"}}, {}, opts)

    def download(self, n, opts):
        block = bytes(range(256)) * 256  # 64 KiB
        if encoding_of(opts) or "cut" in opts or "reset" in opts or \
                n <= len(block):
            data = (block * (n // len(block) + 1))[:n]
            return self.send_body(200, {"Content-Type":
                                        "application/octet-stream"},
                                  data, opts)
        framing = self.framing(opts, False)
        self.begin(200, {"Content-Type": "application/octet-stream"},
                   framing, n)
        left = n
        while left:
            p = block[:min(left, len(block))]
            self.write_piece(p, framing)
            left -= len(p)
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")

    # -- model APIs

    def llm(self, provider, opts, raw):
        state = self.server.state
        rec = {"path": self.path, "provider": provider, "request": None,
               "status": None, "stream": False, "facts": empty_facts(),
               "options": opts, "truncated": False,
               "client_disconnected": False}
        self.record = rec
        common = {"x-request-id": request_id()} if provider == "openai" \
            else {"request-id": request_id()}
        try:
            req = json.loads(raw)
        except ValueError as e:
            rec["request"] = raw.decode("utf-8", "replace")
            msg = ("We could not parse the JSON body of your request. "
                   "(HINT: This likely means you aren't using your HTTP "
                   "library correctly. The OpenAI API expects a JSON "
                   "payload, but what was sent was not valid JSON. If you "
                   "have trouble figuring out how to fix this, please "
                   "contact us through our help center at "
                   "help.openai.com.)" if provider == "openai" else
                   "There was an issue with the JSON body: %s" % e)
            return self.fail(rec, provider, 400, None, common, msg)
        rec["request"] = req
        problem = None
        if not isinstance(req, dict):
            problem = "The request body must be a JSON object."
        elif not isinstance(req.get("model"), str):
            problem = "model: Field required" if provider == "anthropic" \
                else "you must provide a model parameter"
        elif not isinstance(req.get("messages"), list):
            problem = "messages: Field required" \
                if provider == "anthropic" else \
                "Missing required parameter: 'messages'."
        if problem:
            return self.fail(rec, provider, 400, None, common, problem)
        stream = req.get("stream") is True
        rec["stream"] = stream
        status = opts.get("status")
        if status is not None and status >= 400:
            return self.fail(rec, provider, status, req["model"], common)
        status = status or 200
        plan = make_plan(provider, req, opts)
        if provider == "openai":
            n = req.get("n")
            n = n if isinstance(n, int) and 1 <= n <= 16 else 1
            body, events = openai_render(state, req, plan, n, stream, opts)
            headers = dict(common, **{"openai-version": "2020-10-01",
                                      "openai-processing-ms": "7"})
        else:
            body, events = anthropic_render(state, req, plan, stream, opts)
            headers = dict(common, **{"anthropic-ratelimit-requests-limit":
                                      "4000"})
        facts_of = openai_facts if provider == "openai" else anthropic_facts
        rec["status"] = status
        if body is not None:
            rec["facts"] = facts_of([body])
            rec["truncated"] = "cut" in opts or "reset" in opts
            state.append(rec)
            headers["Content-Type"] = "application/json"
            text = json.dumps(body, indent=2) if provider == "openai" else \
                json.dumps(body, separators=(",", ":"))
            return self.send_body(status, headers, text.encode(), opts)
        n_send = self.cut_count(opts, len(events))
        sent = events if n_send is None else events[:n_send]
        rec["facts"] = facts_of([o for _, o in sent])
        rec["events_sent"] = len(sent)
        rec["truncated"] = n_send is not None
        state.append(rec)
        headers["Content-Type"] = "text/event-stream; charset=utf-8"
        headers["Cache-Control"] = "no-cache"
        self.send_events(status, headers, [b for b, _ in events], opts)

    def api_call(self, api, opts, raw, path, query):
        """An exchange with one of the APIs of find_api."""
        state = self.server.state
        rec = {"path": self.path, "provider": api.provider, "api": api.name,
               "request": None, "status": None, "stream": False,
               "facts": empty_facts(), "options": opts, "truncated": False,
               "client_disconnected": False}
        self.record = rec
        common = api.headers()
        try:
            req = json.loads(raw)
        except ValueError:
            rec["request"] = raw.decode("utf-8", "replace")
            return self.api_fail(rec, api, 400, None, common, api.bad_json)
        rec["request"] = req
        if not isinstance(req, dict):
            return self.api_fail(rec, api, 400, None, common,
                                 "The request body must be a JSON object.")
        model = api.model(req, path)
        problem = api.validate(req, path)
        if problem:
            return self.api_fail(rec, api, 400, model, common, problem)
        stream = api.is_stream(req, path, query)
        rec["stream"] = stream
        status = opts.get("status")
        if status is not None and status >= 400:
            return self.api_fail(rec, api, status, model, common)
        status = status or 200
        body, events = api.render(state, req, model, path, query, stream,
                                  opts)
        rec["status"] = status
        headers = dict(common)
        if body is not None:
            rec["facts"] = api.facts([body])
            rec["truncated"] = "cut" in opts or "reset" in opts
            state.append(rec)
            headers["Content-Type"] = api.json_type
            return self.send_body(status, headers, api.encode(body), opts)
        n_send = self.cut_count(opts, len(events))
        sent = events if n_send is None else events[:n_send]
        rec["facts"] = api.facts([o for _, o in sent])
        rec["events_sent"] = len(sent)
        rec["truncated"] = n_send is not None
        state.append(rec)
        headers["Content-Type"] = api.stream_type_for(query)
        if "event-stream" in headers["Content-Type"]:
            headers["Cache-Control"] = "no-cache"
        self.send_events(status, headers, [b for b, _ in events], opts)

    def api_fail(self, rec, api, status, model, headers, message=None):
        body = api.error_body(status, model, message)
        headers = dict(headers)
        if status in (408, 409, 429) or status >= 500:
            headers["retry-after"] = str(self.opts.get("retry_after", 1))
        if self.opts.get("noretry"):
            headers["x-should-retry"] = "false"
        rec["status"] = status
        rec["facts"] = api.error_facts(model, body)
        self.server.state.append(rec)
        opts = {k: v for k, v in self.opts.items()
                if k not in ("cut", "reset", "status")}
        headers["Content-Type"] = api.json_type
        self.send_body(status, headers, api.encode(body), opts)

    def fail(self, rec, provider, status, model, headers, message=None):
        body = openai_error(status, model, message) \
            if provider == "openai" else \
            anthropic_error(status, message, headers.get("request-id"))
        headers = dict(headers)
        if status in (408, 409, 429) or status >= 500:
            headers["retry-after"] = str(self.opts.get("retry_after", 1))
        if self.opts.get("noretry"):
            headers["x-should-retry"] = "false"
        rec["status"] = status
        rec["facts"] = error_facts(model, body)
        self.server.state.append(rec)
        opts = {k: v for k, v in self.opts.items()
                if k not in ("cut", "reset", "status")}
        self.send_json(status, body, headers, opts, pretty=provider ==
                       "openai")

    # -- corpus replay

    def replay_corpus(self, opts, path, raw):
        d = self.server.state.corpus / opts["corpus"]
        try:
            meta = json.loads((d / "response.json").read_text())
            body = (d / "response.body").read_bytes()
        except (OSError, ValueError):
            return self.send_json(404, {"error": {
                "message": "no corpus exchange %s in %s" %
                (opts["corpus"], self.server.state.corpus),
                "type": "invalid_request_error", "param": None,
                "code": "unknown_corpus"}}, {})
        try:
            exp = json.loads((d / "expected.json").read_text())
        except (OSError, ValueError):
            exp = {}
        try:
            req = json.loads(raw)
        except ValueError:
            req = raw.decode("utf-8", "replace")
        hdrs = {k.lower(): v for k, v in meta.get("headers", {}).items()}
        headers = {}
        if "content-type" in hdrs:
            headers["Content-Type"] = hdrs["content-type"]
        if "content-encoding" in hdrs:
            headers["Content-Encoding"] = hdrs["content-encoding"]
        status = int(meta.get("status", 200))
        facts = empty_facts()
        facts.update({"model": exp.get("response_model"),
                      "id": exp.get("response_id"),
                      "input_tokens": exp.get("input_tokens"),
                      "output_tokens": exp.get("output_tokens"),
                      "finish_reasons": exp.get("finish_reasons") or [],
                      "output_text": exp.get("output_text"),
                      "tool_calls": exp.get("tool_calls") or []})
        rec = {"path": self.path, "provider": exp.get("provider"),
               "request": req, "status": status,
               "stream": bool(exp.get("streamed")), "facts": facts,
               "options": opts, "corpus": opts["corpus"],
               "truncated": "cut" in opts or "reset" in opts,
               "client_disconnected": False}
        self.record = rec
        self.server.state.append(rec)
        ctype = headers.get("Content-Type", "")
        pieces = None
        if "event-stream" in ctype:
            pieces = [p + b"\n\n" for p in body.split(b"\n\n") if p]
            if b"".join(pieces) != body:
                pieces = None
        elif "ndjson" in ctype:
            pieces = body.splitlines(keepends=True)
        opts = {k: v for k, v in opts.items() if k not in ("gzip", "deflate")}
        if pieces and self.framing(opts, False) != "length":
            self.send_events(status, headers, pieces, opts, pre_encoded=True)
        else:
            self.send_body(status, headers, body, opts, pre_encoded=True)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ClientGone)):
            log("%s: %s", client_address, exc)
            return
        traceback.print_exc()


# --------------------------------------------------------------------- main

def make_cert(cert_dir):
    """Make a self-signed certificate for localhost and 127.0.0.1."""
    cert = os.path.join(cert_dir, "cert.pem")
    key = os.path.join(cert_dir, "key.pem")
    cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
           "-out", cert, "-days", "30", "-subj", "/CN=localhost",
           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
           "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
           "-addext", "extendedKeyUsage=serverAuth"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.stderr.write("mock_llm: openssl failed: %s\n" %
                         r.stderr.decode(errors="replace"))
        sys.exit(2)
    return cert, key


def write_atomic(path, text):
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".port.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(description="Mock LLM API server.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765,
                    help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here when listening")
    ap.add_argument("--tls", action="store_true", help="serve HTTPS")
    ap.add_argument("--cert-dir", help="where cert.pem and key.pem go "
                    "(default: a temporary directory)")
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS),
                    help="recorded exchanges (default: %(default)s)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose

    tmpdir = None
    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    server = Server((args.host, args.port), Handler)
    server.state = State(args.corpus)
    if args.tls:
        cert_dir = args.cert_dir
        if not cert_dir:
            cert_dir = tmpdir = tempfile.mkdtemp(prefix="mock_llm.")
        os.makedirs(cert_dir, exist_ok=True)
        cert, key = make_cert(cert_dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        log("certificate %s", cert)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if args.port_file:
        write_atomic(args.port_file, "%d\n" % port)
    log("listening on %s://%s:%d", "https" if args.tls else "http",
        args.host, port)
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        try:
            server.server_close()
        except OSError:
            pass
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
