#!/usr/bin/python3
"""gen_spans.py - write a large, realistic span file for the CLI's tests
and benchmark: agent runs shaped like the shim's output (a process span,
model calls with short conversations, tool calls each with an HTTP call
under them), written in the order the shim writes them (a span when it
ends, the process span last), with a few failures (429s, failed tools) and
a few spans whose parent never arrives.

    gen_spans.py N OUT.jsonl [--seed S]

Writes exactly N lines.  Deterministic for a seed.
"""

import argparse
import json
import random

MODELS = [("openai", "gpt-4o-mini", 0.15e-6, 0.6e-6),
          ("openai", "gpt-4o", 2.5e-6, 10e-6),
          ("anthropic", "claude-sonnet-4-5", 3e-6, 15e-6)]
TOOLS = ["get_weather", "search_docs", "read_file", "run_sql"]
CITIES = ["Paris", "Lyon", "Oslo", "Lima", "Kyoto", "Accra"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    t0 = 1763800000000000000
    written = 0
    ids = iter(range(1, 1 << 62))
    with open(a.out, "w", buffering=1 << 20) as f:
        run = 0
        while written < a.n:
            run += 1
            trace = "%032x" % rnd.getrandbits(128)
            pid = 1000 + run % 5000
            res = {"service.name": "agent.py", "process.pid": pid,
                   "process.parent_pid": 1, "process.executable.name":
                   "python3", "process.command_line": "python3 agent.py",
                   "telemetry.sdk.name": "agenttrace",
                   "telemetry.sdk.language": "c",
                   "telemetry.sdk.version": "0.1.0"}
            root = "%016x" % next(ids)
            start = t0 + run * 10_000_000_000
            now = start + 1_000_000
            lines = []
            provider, model, pin, pout = MODELS[run % len(MODELS)]
            city = CITIES[run % len(CITIES)]
            msgs = [{"role": "user", "parts": [{"type": "text", "content":
                     "What is the weather in %s? Use the tool." % city}]}]
            for turn in range(3):
                sid = "%016x" % next(ids)
                dur = rnd.randint(200_000_000, 2_500_000_000)
                fail = rnd.random() < 0.02
                tool = TOOLS[(run + turn) % len(TOOLS)]
                inp = 20 + 40 * turn + rnd.randint(0, 30)
                out = rnd.randint(5, 120)
                attrs = {"gen_ai.operation.name": "chat",
                         "gen_ai.provider.name": provider,
                         "gen_ai.request.model": model,
                         "gen_ai.input.messages": msgs,
                         "http.request.method": "POST",
                         "url.full": "https://api.example.com/v1/chat",
                         "server.address": "api.example.com",
                         "server.port": 443,
                         "agenttrace.transport": "openssl"}
                status = {"code": "ok"}
                if fail:
                    attrs["http.response.status_code"] = 429
                    attrs["error.type"] = "429"
                    status = {"code": "error", "message": "Rate limit "
                              "reached for %s" % model}
                else:
                    attrs.update({
                        "gen_ai.response.model": model + "-2025",
                        "gen_ai.usage.input_tokens": inp,
                        "gen_ai.usage.output_tokens": out,
                        "http.response.status_code": 200,
                        "agenttrace.cost.usd": inp * pin + out * pout})
                    if turn > 0:
                        attrs["gen_ai.request.stream"] = True
                        attrs["gen_ai.response.time_to_first_chunk"] = \
                            rnd.randint(50, 900) / 1000.0
                    if turn < 2:
                        call = {"type": "tool_call", "id": "call_%d" % run,
                                "name": tool, "arguments": {"city": city}}
                        attrs["gen_ai.output.messages"] = [
                            {"role": "assistant", "parts": [call],
                             "finish_reason": "tool_calls"}]
                        attrs["gen_ai.response.finish_reasons"] = \
                            ["tool_calls"]
                    else:
                        attrs["gen_ai.output.messages"] = [
                            {"role": "assistant", "parts": [
                                {"type": "text", "content": "It is sunny "
                                 "in %s." % city}], "finish_reason": "stop"}]
                        attrs["gen_ai.response.finish_reasons"] = ["stop"]
                lines.append({"trace_id": trace, "span_id": sid,
                              "parent_span_id": root,
                              "name": "chat " + model, "kind": "client",
                              "start_time_unix_nano": now,
                              "end_time_unix_nano": now + dur,
                              "status": status, "resource": res,
                              "attributes": attrs, "events": []})
                now += dur
                if turn == 2:
                    break
                tid = "%016x" % next(ids)
                hid = "%016x" % next(ids)
                tdur = rnd.randint(1_000_000, 400_000_000)
                tfail = rnd.random() < 0.03
                hstart = now + 100_000
                lines.append({"trace_id": trace, "span_id": hid,
                              "parent_span_id": tid,
                              "name": "GET tools.example.com",
                              "kind": "client",
                              "start_time_unix_nano": hstart,
                              "end_time_unix_nano": hstart + tdur // 2,
                              "status": {"code": "unset"}, "resource": res,
                              "attributes": {
                                  "http.request.method": "GET",
                                  "http.response.status_code":
                                  500 if tfail else 200,
                                  "url.full": "https://tools.example.com/"
                                  "%s?q=%s" % (tool, city)},
                              "events": []})
                tattrs = {"gen_ai.operation.name": "execute_tool",
                          "gen_ai.tool.name": tool,
                          "gen_ai.tool.call.id": "call_%d" % run,
                          "gen_ai.tool.call.arguments": {"city": city},
                          "gen_ai.tool.call.result":
                          '{"temperature_c": 21}',
                          "agenttrace.inferred": True}
                lines.append({"trace_id": trace, "span_id": tid,
                              "parent_span_id": root,
                              "name": "execute_tool " + tool,
                              "kind": "internal",
                              "start_time_unix_nano": now,
                              "end_time_unix_nano": now + tdur,
                              "status": {"code": "error", "message":
                                         "tool failed"} if tfail else
                              {"code": "ok"},
                              "resource": res, "attributes": tattrs,
                              "events": []})
                msgs = msgs + [
                    {"role": "assistant", "parts": [
                        {"type": "tool_call", "id": "call_%d" % run,
                         "name": tool, "arguments": {"city": city}}]},
                    {"role": "tool", "parts": [
                        {"type": "tool_call_response", "id": "call_%d" % run,
                         "response": '{"temperature_c": 21}'}]}]
                now += tdur
            parent = None if rnd.random() > 0.001 else "%016x" % next(ids)
            agent = {"trace_id": trace, "span_id": root,
                     "name": "invoke_agent agent.py", "kind": "internal",
                     "start_time_unix_nano": start,
                     "end_time_unix_nano": now + 500_000,
                     "status": {"code": "ok"}, "resource": res,
                     "attributes": {"gen_ai.operation.name": "invoke_agent",
                                    "gen_ai.agent.name": "agent.py",
                                    "process.pid": pid,
                                    "process.command_line":
                                    "python3 agent.py",
                                    "process.exit_code": 0},
                     "events": []}
            if parent:
                agent["parent_span_id"] = parent  # its parent never arrives
            lines.append(agent)
            for s in lines:
                if written >= a.n:
                    break
                f.write(dumps(s))
                f.write("\n")
                written += 1


if __name__ == "__main__":
    main()
