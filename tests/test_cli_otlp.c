/* test_cli_otlp.c - the OTLP/JSON mapping: every JSON type to its typed
 * AnyValue (int64 as a decimal string), spans (hex ids, kind and status
 * enums as numbers, times as strings, parent left out on a root, events),
 * batches grouped by resource under one scope, and --json-attrs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli/otlp.h"
#include "cli/util.h"

typedef struct value_case {
    char in[128];
    char out[256];
    int json_strings;
} value_case;

static const value_case otlp_values_cases[] = {
    {"\"hi\"", "{\"stringValue\":\"hi\"}", 0},
    {"42", "{\"intValue\":\"42\"}", 0},
    {"-9223372036854775807", "{\"intValue\":\"-9223372036854775807\"}",
     0},
    {"0.25", "{\"doubleValue\":0.25}", 0},
    {"true", "{\"boolValue\":true}", 0},
    {"false", "{\"boolValue\":false}", 0},
    {"null", "{}", 0},
    {"[\"stop\"]",
     "{\"arrayValue\":{\"values\":[{\"stringValue\":\"stop\"}]}}", 0},
    {"[]", "{\"arrayValue\":{\"values\":[]}}", 0},
    {"{\"city\":\"Paris\",\"n\":1}",
     "{\"kvlistValue\":{\"values\":[{\"key\":\"city\",\"value\":"
     "{\"stringValue\":\"Paris\"}},{\"key\":\"n\",\"value\":"
     "{\"intValue\":\"1\"}}]}}",
     0},
    {"{\"city\":\"Paris\"}", "{\"stringValue\":\"{\\\"city\\\":"
                             "\\\"Paris\\\"}\"}",
     1},
    {"[{\"a\":1}]", "{\"stringValue\":\"[{\\\"a\\\":1}]\"}", 1},
    {"[1,2]",
     "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
     "{\"intValue\":\"2\"}]}}",
     1},
};

static void check_otlp_values(const value_case *c)
{
    json_t *in = json_loads(c->in, JSON_DECODE_ANY, NULL), *v;
    char *s;

    cr_assert_not_null(in, "%s", c->in);
    v = at_cli_otlp_value(in, c->json_strings);
    s = at_cli_json_string(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(s, c->out);
    free(s);
    json_decref(v);
    json_decref(in);
}

Test(otlp, values)
{
    size_t i;

    for (i = 0; i < sizeof(otlp_values_cases) / sizeof(otlp_values_cases[0]); i++)
        check_otlp_values(&otlp_values_cases[i]);
}

static void parse(at_cli_span *s, const char *line)
{
    char err[128];

    cr_assert_eq(at_cli_span_parse(line, strlen(line), s, err, sizeof(err)),
                 0, "%s", err);
}

Test(otlp, a_span)
{
    at_cli_span s;
    json_t *o;
    char *text;

    parse(&s, "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
              "\"span_id\":\"00f067aa0ba902b7\",\"parent_span_id\":"
              "\"a3ce929d0e0e4736\",\"name\":\"chat gpt-4o\",\"kind\":"
              "\"client\",\"start_time_unix_nano\":1763800000000000000,"
              "\"end_time_unix_nano\":1763800000412000000,\"status\":"
              "{\"code\":\"error\",\"message\":\"boom\"},\"attributes\":"
              "{\"gen_ai.usage.input_tokens\":12,\"x\":null},\"events\":"
              "[{\"name\":\"e\",\"time_unix_nano\":1763800000100000000,"
              "\"attributes\":{\"k\":\"v\"}}],\"future_key\":1}");
    o = at_cli_otlp_span(&s, 0);
    text = at_cli_json_string(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(
        text,
        "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":"
        "\"00f067aa0ba902b7\",\"parentSpanId\":\"a3ce929d0e0e4736\","
        "\"name\":\"chat gpt-4o\",\"kind\":3,\"startTimeUnixNano\":"
        "\"1763800000000000000\",\"endTimeUnixNano\":\"1763800000412000000\","
        "\"attributes\":[{\"key\":\"gen_ai.usage.input_tokens\",\"value\":"
        "{\"intValue\":\"12\"}}],\"events\":[{\"timeUnixNano\":"
        "\"1763800000100000000\",\"name\":\"e\",\"attributes\":[{\"key\":"
        "\"k\",\"value\":{\"stringValue\":\"v\"}}]}],\"status\":{\"code\":2,"
        "\"message\":\"boom\"}}");
    free(text);
    json_decref(o);
    at_cli_span_free(&s);
}

typedef struct enum_case {
    char kind[16];
    char status[8];
    int otlp_kind;
    int otlp_status;
} enum_case;

static const enum_case otlp_enums_cases[] = {
    {"internal", "ok", 1, 1},   {"server", "unset", 2, 0},
    {"client", "error", 3, 2},  {"producer", "ok", 4, 1},
    {"consumer", "ok", 5, 1},   {"weird", "weird", 0, 0},
};

static void check_otlp_enums(const enum_case *c)
{
    char line[512];
    at_cli_span s;
    json_t *o;

    snprintf(line, sizeof(line),
             "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
             "\"span_id\":\"00f067aa0ba902b7\",\"name\":\"n\",\"kind\":\"%s\","
             "\"start_time_unix_nano\":1,\"status\":{\"code\":\"%s\"}}",
             c->kind, c->status);
    parse(&s, line);
    o = at_cli_otlp_span(&s, 0);
    cr_assert_eq(json_integer_value(json_object_get(o, "kind")),
                 c->otlp_kind);
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(o, "status"), "code")),
                 c->otlp_status);
    cr_assert_null(json_object_get(o, "parentSpanId"), "a root has none");
    cr_assert_null(json_object_get(json_object_get(o, "status"), "message"));
    json_decref(o);
    at_cli_span_free(&s);
}

Test(otlp, enums)
{
    size_t i;

    for (i = 0; i < sizeof(otlp_enums_cases) / sizeof(otlp_enums_cases[0]); i++)
        check_otlp_enums(&otlp_enums_cases[i]);
}

Test(otlp, batches_group_by_resource)
{
    at_cli_otlp_batch b;
    at_cli_span s;
    json_t *req, *rs, *scope;
    int i;

    at_cli_otlp_batch_init(&b, 0);
    for (i = 0; i < 5; i++) {
        char line[512];

        snprintf(line, sizeof(line),
                 "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
                 "\"span_id\":\"00f067aa0ba902b%d\",\"name\":\"n\","
                 "\"start_time_unix_nano\":1,\"resource\":{\"process.pid\":"
                 "%d,\"service.name\":\"a\",\"telemetry.sdk.version\":"
                 "\"9.9\"}}",
                 i, i % 2);
        parse(&s, line);
        at_cli_otlp_batch_add(&b, &s, 10);
        at_cli_span_free(&s);
    }
    parse(&s, "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
              "\"span_id\":\"00f067aa0ba902ff\",\"name\":\"n\","
              "\"start_time_unix_nano\":1}");
    at_cli_otlp_batch_add(&b, &s, 10);
    at_cli_span_free(&s);
    cr_assert_eq(b.spans, 6);
    cr_assert_eq(b.bytes, 60);
    req = at_cli_otlp_batch_request(&b);
    rs = json_object_get(req, "resourceSpans");
    cr_assert_eq(json_array_size(rs), 3, "pid 0, pid 1, no resource");
    cr_assert_eq(json_array_size(json_object_get(
                     json_array_get(json_object_get(json_array_get(rs, 0),
                                                    "scopeSpans"),
                                    0),
                     "spans")),
                 3);
    scope = json_object_get(json_array_get(json_object_get(
                                               json_array_get(rs, 0),
                                               "scopeSpans"),
                                           0),
                            "scope");
    cr_assert_str_eq(json_string_value(json_object_get(scope, "name")),
                     "agenttrace");
    cr_assert_str_eq(json_string_value(json_object_get(scope, "version")),
                     "9.9");
    /* A span without a resource still gets a service.name. */
    {
        json_t *attrs = json_object_get(
            json_object_get(json_array_get(rs, 2), "resource"), "attributes");
        json_t *kv = json_array_get(attrs, 0);

        cr_assert_str_eq(json_string_value(json_object_get(kv, "key")),
                         "service.name");
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(kv, "value"), "stringValue")),
                         "unknown_service");
    }
    json_decref(req);
    at_cli_otlp_batch_reset(&b);
    cr_assert_eq(b.spans, 0);
    req = at_cli_otlp_batch_request(&b);
    cr_assert_eq(json_array_size(json_object_get(req, "resourceSpans")), 0);
    json_decref(req);
    at_cli_otlp_batch_free(&b);
}
