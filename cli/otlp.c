/* otlp.c - span records to OTLP/JSON ExportTraceServiceRequest.  Runs in
 * the inspector's own process. */
#include "cli/otlp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

static json_t *int_string(int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return json_string(buf);
}

static json_t *uint_string(int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(v < 0 ? 0 : v));
    return json_string(buf);
}

/* primitive_only: an array of strings, numbers and booleans. */
static int primitive_only(const json_t *a)
{
    size_t i;
    const json_t *e;

    json_array_foreach(a, i, e) {
        if (json_is_object(e) || json_is_array(e) || json_is_null(e))
            return 0;
    }
    return 1;
}

static json_t *one(const char *key, json_t *value)
{
    json_t *o = json_object();

    json_object_set_new(o, key, value);
    return o;
}

json_t *at_cli_otlp_value(const json_t *v, int json_strings)
{
    json_t *values;
    const json_t *e;
    const char *k;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return one("stringValue",
                   json_stringn(json_string_value(v), json_string_length(v)));
    case JSON_INTEGER:
        return one("intValue", int_string(json_integer_value(v)));
    case JSON_REAL:
        return one("doubleValue", json_real(json_real_value(v)));
    case JSON_TRUE:
        return one("boolValue", json_true());
    case JSON_FALSE:
        return one("boolValue", json_false());
    case JSON_ARRAY:
        if (json_strings && !primitive_only(v))
            break;
        values = json_array();
        json_array_foreach(v, i, e)
            json_array_append_new(values, at_cli_otlp_value(e, json_strings));
        return one("arrayValue", one("values", values));
    case JSON_OBJECT:
        if (json_strings)
            break;
        values = json_array();
        json_object_foreach((json_t *)v, k, e) {
            json_t *kv = json_object();

            json_object_set_new(kv, "key", json_string(k));
            json_object_set_new(kv, "value",
                                at_cli_otlp_value(e, json_strings));
            json_array_append_new(values, kv);
        }
        return one("kvlistValue", one("values", values));
    default:
        return json_object(); /* null: an AnyValue with no value */
    }
    /* json_strings: structured values as their compact JSON. */
    {
        char *s = at_cli_json_string(v, JSON_COMPACT);
        json_t *r = one("stringValue", json_string(s));

        free(s);
        return r;
    }
}

json_t *at_cli_otlp_attributes(const json_t *obj, int json_strings)
{
    json_t *list = json_array();
    const char *k;
    json_t *v;

    if (!json_is_object(obj))
        return list;
    json_object_foreach((json_t *)obj, k, v) {
        json_t *kv;

        if (json_is_null(v))
            continue;
        kv = json_object();
        json_object_set_new(kv, "key", json_string(k));
        json_object_set_new(kv, "value", at_cli_otlp_value(v, json_strings));
        json_array_append_new(list, kv);
    }
    return list;
}

static json_t *events(const at_cli_span *s, int json_strings)
{
    json_t *out = json_array(), *e;
    size_t i;

    if (s->events == NULL)
        return out;
    json_array_foreach(s->events, i, e) {
        json_t *ev;
        const json_t *t;
        int64_t ns = s->start_ns;

        if (!json_is_object(e))
            continue;
        ev = json_object();
        t = json_object_get(e, "time_unix_nano");
        if (json_is_integer(t))
            ns = json_integer_value(t);
        else if (json_is_string(t))
            at_cli_parse_i64(json_string_value(t), &ns);
        json_object_set_new(ev, "timeUnixNano", uint_string(ns));
        t = json_object_get(e, "name");
        json_object_set_new(ev, "name", json_string(json_is_string(t)
                                                        ? json_string_value(t)
                                                        : "event"));
        json_object_set_new(
            ev, "attributes",
            at_cli_otlp_attributes(json_object_get(e, "attributes"),
                                   json_strings));
        json_array_append_new(out, ev);
    }
    return out;
}

json_t *at_cli_otlp_span(const at_cli_span *s, int json_strings)
{
    json_t *o = json_object(), *st;

    json_object_set_new(o, "traceId", json_string(s->trace_id));
    json_object_set_new(o, "spanId", json_string(s->span_id));
    if (s->parent_id[0])
        json_object_set_new(o, "parentSpanId", json_string(s->parent_id));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "kind", json_integer(s->kind));
    json_object_set_new(o, "startTimeUnixNano", uint_string(s->start_ns));
    json_object_set_new(o, "endTimeUnixNano", uint_string(s->end_ns));
    json_object_set_new(o, "attributes",
                        at_cli_otlp_attributes(s->attrs, json_strings));
    json_object_set_new(o, "events", events(s, json_strings));
    st = json_object();
    json_object_set_new(st, "code", json_integer(s->status));
    if (s->status == AT_STATUS_ERROR && s->status_msg && *s->status_msg)
        json_object_set_new(st, "message", json_string(s->status_msg));
    json_object_set_new(o, "status", st);
    return o;
}

/* -------------------------------------------------------------- batch */

void at_cli_otlp_batch_init(at_cli_otlp_batch *b, int json_strings)
{
    b->resource_spans = json_array();
    b->index = json_object();
    b->spans = b->bytes = 0;
    b->json_strings = json_strings;
    b->last_resource = NULL;
    b->last_index = 0;
}

void at_cli_otlp_batch_free(at_cli_otlp_batch *b)
{
    json_decref(b->resource_spans);
    json_decref(b->index);
    json_decref(b->last_resource);
    b->resource_spans = b->index = b->last_resource = NULL;
}

void at_cli_otlp_batch_reset(at_cli_otlp_batch *b)
{
    int js = b->json_strings;

    at_cli_otlp_batch_free(b);
    at_cli_otlp_batch_init(b, js);
}

/* new_resource_spans: {"resource":{...},"scopeSpans":[{"scope":...,
 * "spans":[]}]} for a span's resource. */
static json_t *new_resource_spans(const at_cli_span *s, int json_strings)
{
    json_t *rs = json_object(), *res = json_object(), *attrs, *scope, *ss;
    const char *version = NULL;

    attrs = at_cli_otlp_attributes(s->resource, json_strings);
    if (json_object_get(s->resource, "service.name") == NULL) {
        json_t *kv = json_object();

        json_object_set_new(kv, "key", json_string("service.name"));
        json_object_set_new(kv, "value",
                            one("stringValue", json_string("unknown_service")));
        json_array_append_new(attrs, kv);
    }
    json_object_set_new(res, "attributes", attrs);
    json_object_set_new(rs, "resource", res);
    if (s->resource != NULL)
        version = json_string_value(
            json_object_get(s->resource, "telemetry.sdk.version"));
    scope = json_object();
    json_object_set_new(scope, "name", json_string(AT_OTLP_SCOPE));
    json_object_set_new(scope, "version",
                        json_string(version ? version : AT_CLI_VERSION));
    ss = json_object();
    json_object_set_new(ss, "scope", scope);
    json_object_set_new(ss, "spans", json_array());
    json_object_set_new(rs, "scopeSpans", json_array());
    json_array_append_new(json_object_get(rs, "scopeSpans"), ss);
    return rs;
}

void at_cli_otlp_batch_add(at_cli_otlp_batch *b, const at_cli_span *s,
                           size_t line_bytes)
{
    size_t idx;
    json_t *spans;

    /* Consecutive spans mostly come from one process: the fast path
     * compares with the previous span's resource before making a key. */
    if (b->last_resource != NULL && s->resource != NULL &&
        json_equal(b->last_resource, s->resource)) {
        idx = b->last_index;
    } else {
        char *key = s->resource
                        ? at_cli_json_string(s->resource,
                                             JSON_COMPACT | JSON_SORT_KEYS)
                        : at_cli_xstrdup("null");
        json_t *pos = json_object_get(b->index, key);

        if (pos == NULL) {
            idx = json_array_size(b->resource_spans);
            json_object_set_new(b->index, key, json_integer((json_int_t)idx));
            json_array_append_new(b->resource_spans,
                                  new_resource_spans(s, b->json_strings));
        } else {
            idx = (size_t)json_integer_value(pos);
        }
        free(key);
        json_decref(b->last_resource);
        b->last_resource = s->resource ? json_incref(s->resource) : NULL;
        b->last_index = idx;
    }
    spans = json_object_get(
        json_array_get(json_object_get(json_array_get(b->resource_spans, idx),
                                       "scopeSpans"),
                       0),
        "spans");
    json_array_append_new(spans, at_cli_otlp_span(s, b->json_strings));
    b->spans++;
    b->bytes += line_bytes;
}

json_t *at_cli_otlp_batch_request(const at_cli_otlp_batch *b)
{
    json_t *req = json_object();

    json_object_set(req, "resourceSpans", b->resource_spans);
    return req;
}
