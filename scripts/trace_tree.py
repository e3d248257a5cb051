#!/usr/bin/python3
"""Print a JSONL span file as trees, one per trace: a stop-gap viewer until
the `agenttrace` inspector (its own issue) exists.

    scripts/trace_tree.py agenttrace.jsonl
"""
import json
import sys


def load(path):
    spans, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                spans.append(json.loads(line))
            except ValueError:
                bad += 1
    return spans, bad


def label(s):
    a = s.get("attributes", {})
    ms = (s["end_time_unix_nano"] - s["start_time_unix_nano"]) / 1e6
    bits = [s["name"], "%.1f ms" % ms]
    if "gen_ai.usage.input_tokens" in a:
        bits.append("tokens %s in / %s out" % (
            a.get("gen_ai.usage.input_tokens"),
            a.get("gen_ai.usage.output_tokens")))
    if "gen_ai.response.time_to_first_chunk" in a:
        bits.append("ttfc %.1f ms" %
                    (a["gen_ai.response.time_to_first_chunk"] * 1e3))
    if "gen_ai.response.finish_reasons" in a:
        bits.append("finish " + ",".join(a["gen_ai.response.finish_reasons"]))
    if "http.response.status_code" in a and "gen_ai.operation.name" not in a:
        bits.append("HTTP %s" % a["http.response.status_code"])
    if "gen_ai.tool.call.arguments" in a:
        bits.append("args " + json.dumps(a["gen_ai.tool.call.arguments"]))
    st = s.get("status", {})
    if st.get("code") == "error":
        bits.append("ERROR " + st.get("message", a.get("error.type", "")))
    return "  ".join(bits)


def main():
    spans, bad = load(sys.argv[1] if len(sys.argv) > 1 else
                      "agenttrace.jsonl")
    ids = {s["span_id"] for s in spans}
    kids = {}
    for s in spans:
        kids.setdefault(s.get("parent_span_id"), []).append(s)
    for v in kids.values():
        v.sort(key=lambda s: s["start_time_unix_nano"])
    roots = [s for s in spans if s.get("parent_span_id") not in ids]
    roots.sort(key=lambda s: s["start_time_unix_nano"])

    def walk(s, prefix, last):
        print(prefix + ("└─ " if last else "├─ ") + label(s))
        ch = kids.get(s["span_id"], [])
        for i, c in enumerate(ch):
            walk(c, prefix + ("   " if last else "│  "), i == len(ch) - 1)

    for r in roots:
        print("trace " + r["trace_id"])
        walk(r, "", True)
    if bad:
        print("(%d lines were not JSON and were skipped)" % bad)


if __name__ == "__main__":
    main()
