#!/usr/bin/env node
/* otlp_receiver.js - an OTLP/HTTP trace receiver for the agenttrace CLI's
 * tests, on 127.0.0.1 only:
 *
 *   node otlp_receiver.js PORT_FILE
 *
 * POST /v1/traces takes an ExportTraceServiceRequest in OTLP/JSON and
 * decodes it the way a collector would: strictly by the protobuf JSON
 * mapping (known field names only, trace and span ids as hex of the right
 * length, 64-bit integers as decimal strings, enums as numbers, typed
 * AnyValues).  Every span is then rebuilt as an OpenTelemetry JS SDK
 * ReadableSpan (resource from @opentelemetry/resources) and handed to the
 * official serializers of @opentelemetry/otlp-transformer: the protobuf
 * one must encode it, and the JSON one must give back the same request
 * (ids, names, kinds, times, attributes, events, status, resource,
 * scope).  A request that fails any of this gets 400 and is recorded under
 * "rejected"; one that passes gets 200 {} (full success).
 *
 * The package offers serializers, not a request deserializer: the round
 * trip through them is how the official code judges the payload.
 *
 * Control (tests only):
 *   POST /control {"fail": N, "status": 503, "retry_after": "0"}
 *        the next N trace requests are answered with that status
 *   GET  /received  {"requests", "attempts", "rejected", "spans",
 *                    "protobuf_bytes", "headers"}
 *   POST /reset
 */
'use strict';

const http = require('http');
const fs = require('fs');
const { JsonTraceSerializer, ProtobufTraceSerializer } =
  require('@opentelemetry/otlp-transformer');
const { resourceFromAttributes } = require('@opentelemetry/resources');

let state;
function reset() {
  state = { requests: 0, attempts: 0, rejected: [], spans: [],
            protobuf_bytes: 0, headers: [], fail: 0, fail_status: 503,
            retry_after: null };
}
reset();

class Bad extends Error {}

function need(cond, msg) { if (!cond) throw new Bad(msg); }

function onlyKeys(obj, allowed, where) {
  need(obj !== null && typeof obj === 'object' && !Array.isArray(obj),
       where + ': not an object');
  for (const k of Object.keys(obj)) {
    need(allowed.includes(k), where + ': unknown field "' + k + '"');
  }
}

function hexId(v, len, where) {
  need(typeof v === 'string' && new RegExp('^[0-9a-f]{' + len + '}$').test(v),
       where + ': want ' + len + ' lowercase hex digits, got ' + JSON.stringify(v));
  need(!/^0+$/.test(v), where + ': all zero');
  return v;
}

function u64(v, where) {
  need(typeof v === 'string' && /^[0-9]{1,20}$/.test(v),
       where + ': want a decimal string (int64 in the JSON mapping), got ' + JSON.stringify(v));
  const n = BigInt(v);
  need(n < (1n << 64n), where + ': out of range');
  return n;
}

function hrTime(ns) {
  return [Number(ns / 1000000000n), Number(ns % 1000000000n)];
}

/* anyValue: AnyValue -> JS value, as the SDK holds attribute values. */
function anyValue(v, where) {
  onlyKeys(v, ['stringValue', 'boolValue', 'intValue', 'doubleValue',
               'arrayValue', 'kvlistValue', 'bytesValue'], where);
  const keys = Object.keys(v);
  need(keys.length <= 1, where + ': more than one value: ' + keys.join(','));
  if (keys.length === 0) return null;
  const k = keys[0], x = v[k];
  switch (k) {
    case 'stringValue':
      need(typeof x === 'string', where + '.stringValue: not a string');
      return x;
    case 'boolValue':
      need(typeof x === 'boolean', where + '.boolValue: not a boolean');
      return x;
    case 'intValue': {
      need(typeof x === 'string' && /^-?[0-9]{1,19}$/.test(x),
           where + '.intValue: want a decimal string, got ' + JSON.stringify(x));
      const n = BigInt(x);
      need(n >= -(1n << 63n) && n < (1n << 63n), where + '.intValue: out of int64');
      need(n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER),
           where + '.intValue: beyond what the JS SDK holds');
      return Number(n);
    }
    case 'doubleValue':
      need(typeof x === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(x),
           where + '.doubleValue: not a number');
      return Number(x);
    case 'bytesValue':
      need(typeof x === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(x),
           where + '.bytesValue: not base64');
      return new Uint8Array(Buffer.from(x, 'base64'));
    case 'arrayValue':
      onlyKeys(x, ['values'], where + '.arrayValue');
      need(x.values === undefined || Array.isArray(x.values), where + '.arrayValue.values: not a list');
      return (x.values || []).map((e, i) => anyValue(e, where + '.arrayValue.values[' + i + ']'));
    case 'kvlistValue': {
      onlyKeys(x, ['values'], where + '.kvlistValue');
      need(x.values === undefined || Array.isArray(x.values), where + '.kvlistValue.values: not a list');
      return keyValues(x.values || [], where + '.kvlistValue.values');
    }
  }
  throw new Bad(where + ': no value');
}

function keyValues(list, where) {
  need(Array.isArray(list), where + ': not a list');
  const out = {};
  list.forEach((kv, i) => {
    onlyKeys(kv, ['key', 'value'], where + '[' + i + ']');
    need(typeof kv.key === 'string', where + '[' + i + '].key: not a string');
    need(!Object.prototype.hasOwnProperty.call(out, kv.key), where + ': key "' + kv.key + '" twice');
    out[kv.key] = kv.value === undefined ? null : anyValue(kv.value, where + '[' + i + '].value');
  });
  return out;
}

/* decode: ExportTraceServiceRequest (JSON) -> ReadableSpan[] */
function decode(req) {
  onlyKeys(req, ['resourceSpans'], 'request');
  need(Array.isArray(req.resourceSpans), 'resourceSpans: not a list');
  const spans = [];
  req.resourceSpans.forEach((rs, i) => {
    const w = 'resourceSpans[' + i + ']';
    onlyKeys(rs, ['resource', 'scopeSpans', 'schemaUrl'], w);
    onlyKeys(rs.resource, ['attributes', 'droppedAttributesCount', 'entityRefs'], w + '.resource');
    const resource = resourceFromAttributes(keyValues(rs.resource.attributes || [], w + '.resource.attributes'));
    need(Array.isArray(rs.scopeSpans), w + '.scopeSpans: not a list');
    rs.scopeSpans.forEach((ss, j) => {
      const ws = w + '.scopeSpans[' + j + ']';
      onlyKeys(ss, ['scope', 'spans', 'schemaUrl'], ws);
      onlyKeys(ss.scope, ['name', 'version', 'attributes', 'droppedAttributesCount'], ws + '.scope');
      need(typeof ss.scope.name === 'string', ws + '.scope.name: not a string');
      const scope = { name: ss.scope.name, version: ss.scope.version };
      need(Array.isArray(ss.spans), ws + '.spans: not a list');
      ss.spans.forEach((s, k) => {
        const wp = ws + '.spans[' + k + ']';
        onlyKeys(s, ['traceId', 'spanId', 'traceState', 'parentSpanId', 'flags', 'name', 'kind',
                     'startTimeUnixNano', 'endTimeUnixNano', 'attributes', 'droppedAttributesCount',
                     'events', 'droppedEventsCount', 'links', 'droppedLinksCount', 'status'], wp);
        const traceId = hexId(s.traceId, 32, wp + '.traceId');
        const spanId = hexId(s.spanId, 16, wp + '.spanId');
        const parent = s.parentSpanId === undefined || s.parentSpanId === '' ? undefined
          : hexId(s.parentSpanId, 16, wp + '.parentSpanId');
        need(typeof s.name === 'string' && s.name.length > 0, wp + '.name: missing');
        need(Number.isInteger(s.kind) && s.kind >= 0 && s.kind <= 5,
             wp + '.kind: want the enum number 0..5, got ' + JSON.stringify(s.kind));
        const start = u64(s.startTimeUnixNano, wp + '.startTimeUnixNano');
        const end = u64(s.endTimeUnixNano, wp + '.endTimeUnixNano');
        need(end >= start, wp + ': ends before it starts');
        onlyKeys(s.status || {}, ['code', 'message'], wp + '.status');
        const code = (s.status || {}).code === undefined ? 0 : s.status.code;
        need(Number.isInteger(code) && code >= 0 && code <= 2,
             wp + '.status.code: want 0, 1 or 2, got ' + JSON.stringify(code));
        const events = (s.events || []).map((e, n) => {
          onlyKeys(e, ['timeUnixNano', 'name', 'attributes', 'droppedAttributesCount'], wp + '.events[' + n + ']');
          return { name: e.name, time: hrTime(u64(e.timeUnixNano, wp + '.events[' + n + '].timeUnixNano')),
                   attributes: keyValues(e.attributes || [], wp + '.events[' + n + '].attributes'),
                   droppedAttributesCount: 0 };
        });
        const ctx = { traceId, spanId, traceFlags: 1 };
        spans.push({
          name: s.name,
          kind: s.kind === 0 ? undefined : s.kind - 1, /* API SpanKind is OTLP's minus one */
          spanContext: () => ctx,
          parentSpanContext: parent ? { traceId, spanId: parent, traceFlags: 1, isRemote: false } : undefined,
          startTime: hrTime(start),
          endTime: hrTime(end),
          duration: hrTime(end - start),
          status: s.status && s.status.message !== undefined ? { code, message: s.status.message } : { code },
          attributes: keyValues(s.attributes || [], wp + '.attributes'),
          links: [],
          events,
          ended: true,
          resource,
          instrumentationScope: scope,
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
        });
      });
    });
  });
  return spans;
}

/* canon: a span of a request as plain comparable data.  JavaScript has one
 * number type, so the SDK writes whole doubles as intValue: numbers are
 * compared as numbers, whichever field carried them. */
function canonValue(v) {
  if (v === undefined || v === null) return null;
  const k = Object.keys(v)[0];
  if (k === undefined) return null;
  if (k === 'intValue' || k === 'doubleValue') return { n: Number(v[k]) };
  if (k === 'arrayValue') return { a: (v[k].values || []).map(canonValue) };
  if (k === 'kvlistValue') return { kv: canonKVs(v[k].values || []) };
  return { [k]: v[k] };
}
function canonKVs(list) {
  const out = {};
  (list || []).forEach((kv) => { out[kv.key] = canonValue(kv.value); });
  return out;
}
function canonSpans(req) {
  const out = {};
  (req.resourceSpans || []).forEach((rs) => {
    const res = canonKVs((rs.resource || {}).attributes);
    (rs.scopeSpans || []).forEach((ss) => {
      (ss.spans || []).forEach((s) => {
        out[s.traceId + ':' + s.spanId] = JSON.stringify({
          resource: res, scope: { name: ss.scope.name, version: ss.scope.version },
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || null,
          name: s.name, kind: s.kind, start: String(s.startTimeUnixNano), end: String(s.endTimeUnixNano),
          attributes: canonKVs(s.attributes),
          events: (s.events || []).map((e) => ({ name: e.name, time: String(e.timeUnixNano),
                                                   attributes: canonKVs(e.attributes) })),
          status: { code: (s.status || {}).code || 0, message: (s.status || {}).message || '' },
        });
      });
    });
  });
  return out;
}

function roundTrip(req, spans) {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  need(bytes && bytes.length > 0, 'the protobuf serializer produced nothing');
  const again = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString('utf8'));
  const ours = canonSpans(req), theirs = canonSpans(again);
  need(Object.keys(ours).length === spans.length, 'duplicate span ids in one request');
  for (const key of Object.keys(ours)) {
    need(theirs[key] !== undefined, 'span ' + key + ' lost by the serializer');
    if (ours[key] !== theirs[key]) {
      throw new Bad('span ' + key + ' differs after the official round trip:\n sent ' +
                    ours[key].slice(0, 800) + '\n back ' + theirs[key].slice(0, 800));
    }
  }
  return bytes.length;
}

function plain(v) {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
  return v;
}

function send(res, status, obj, extra) {
  const body = JSON.stringify(obj);
  res.writeHead(status, Object.assign({ 'Content-Type': 'application/json',
                                        'Content-Length': Buffer.byteLength(body) }, extra || {}));
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.method === 'GET' && req.url === '/received') {
      return send(res, 200, {
        requests: state.requests, attempts: state.attempts, rejected: state.rejected,
        protobuf_bytes: state.protobuf_bytes, headers: state.headers, spans: state.spans,
      });
    }
    if (req.method === 'POST' && req.url === '/reset') { reset(); return send(res, 200, {}); }
    if (req.method === 'POST' && req.url === '/control') {
      const c = JSON.parse(body.toString('utf8') || '{}');
      state.fail = c.fail || 0;
      state.fail_status = c.status || 503;
      state.retry_after = c.retry_after === undefined ? null : String(c.retry_after);
      return send(res, 200, {});
    }
    if (req.url !== '/v1/traces') return send(res, 404, { error: 'not found: ' + req.url });
    if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
    state.attempts++;
    state.headers.push(req.headers);
    if (state.fail > 0) {
      state.fail--;
      return send(res, state.fail_status, { code: 14, message: 'injected failure' },
                  state.retry_after !== null ? { 'Retry-After': state.retry_after } : {});
    }
    try {
      need(/^application\/json\b/.test(req.headers['content-type'] || ''),
           'Content-Type is ' + req.headers['content-type'] + ', not application/json');
      let parsed;
      try { parsed = JSON.parse(body.toString('utf8')); } catch (e) { throw new Bad('not JSON: ' + e.message); }
      const spans = decode(parsed);
      state.protobuf_bytes += roundTrip(parsed, spans);
      state.requests++;
      spans.forEach((s) => {
        const ctx = s.spanContext();
        const attrs = {};
        for (const k of Object.keys(s.attributes)) attrs[k] = plain(s.attributes[k]);
        state.spans.push({
          traceId: ctx.traceId, spanId: ctx.spanId,
          parentSpanId: s.parentSpanContext ? s.parentSpanContext.spanId : null,
          name: s.name, kind: s.kind === undefined ? 0 : s.kind + 1,
          start: String(BigInt(s.startTime[0]) * 1000000000n + BigInt(s.startTime[1])),
          end: String(BigInt(s.endTime[0]) * 1000000000n + BigInt(s.endTime[1])),
          status: s.status, attributes: attrs, events: s.events.length,
          resource: s.resource.attributes, scope: s.instrumentationScope,
        });
      });
      return send(res, 200, {});
    } catch (e) {
      if (!(e instanceof Bad)) throw e;
      state.rejected.push(e.message);
      return send(res, 400, { code: 3, message: e.message });
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  const tmp = process.argv[2] + '.tmp';
  fs.writeFileSync(tmp, String(port) + '\n');
  fs.renameSync(tmp, process.argv[2]);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
