/* span.c - parse and check one span record.  Tolerant where the record is
 * merely unusual (unknown keys, missing status or kind, times as strings),
 * strict where a view would be wrong (ids).  Runs in the inspector's own
 * process. */
#include "cli/span.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/util.h"

const char *at_cli_attr_str(const json_t *attrs, const char *key)
{
    return json_string_value(json_object_get(attrs, key));
}

int at_cli_attr_int(const json_t *attrs, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(attrs, key);

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return 0;
    }
    return -1;
}

int at_cli_attr_real(const json_t *attrs, const char *key, double *out)
{
    const json_t *v = json_object_get(attrs, key);

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return -1;
}

const char *at_cli_kind_name(int kind)
{
    static const char *names[] = {"unspecified", "internal", "server",
                                  "client", "producer", "consumer"};

    return kind >= 0 && kind <= 5 ? names[kind] : "unspecified";
}

const char *at_cli_status_name(int status)
{
    return status == AT_STATUS_OK      ? "ok"
           : status == AT_STATUS_ERROR ? "error"
                                       : "unset";
}

const char *at_cli_cat_name(int cat)
{
    static const char *names[] = {"other", "llm",   "tool",
                                  "http",  "agent", "process"};

    return cat >= 0 && cat <= AT_CAT_PROCESS ? names[cat] : "other";
}

/* copy_hex: lowercase copy of a hex id of exactly `n` digits, not all
 * zero.  Returns 0 or -1. */
static int copy_hex(const json_t *v, size_t n, char *out)
{
    const char *s = json_string_value(v);
    size_t i;
    int nonzero = 0;

    if (s == NULL || json_string_length(v) != n)
        return -1;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        if (c != '0')
            nonzero = 1;
        out[i] = c;
    }
    out[n] = '\0';
    return nonzero ? 0 : -1;
}

/* get_time: an integer, a real, or a string of digits. */
static int get_time(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return 0;
    }
    if (json_is_string(v))
        return at_cli_parse_i64(json_string_value(v), out);
    return -1;
}

static int parse_kind(const char *k)
{
    if (k == NULL)
        return AT_KIND_UNSPECIFIED;
    if (strcasecmp(k, "internal") == 0)
        return AT_KIND_INTERNAL;
    if (strcasecmp(k, "client") == 0)
        return AT_KIND_CLIENT;
    if (strcasecmp(k, "server") == 0)
        return AT_KIND_SERVER;
    if (strcasecmp(k, "producer") == 0)
        return AT_KIND_PRODUCER;
    if (strcasecmp(k, "consumer") == 0)
        return AT_KIND_CONSUMER;
    return AT_KIND_UNSPECIFIED;
}

static int category(const at_cli_span *s)
{
    const char *op = s->op;

    if (op != NULL) {
        if (strcmp(op, "execute_tool") == 0)
            return AT_CAT_TOOL;
        if (strcmp(op, "invoke_agent") == 0 ||
            strcmp(op, "create_agent") == 0)
            return AT_CAT_AGENT;
        /* the shim's span of a process that is not an agent's (a tool's
         * subprocess, a shell command) */
        if (strcmp(op, "process") == 0)
            return AT_CAT_PROCESS;
        return AT_CAT_LLM; /* chat, text_completion, embeddings... */
    }
    if (strncmp(s->name, "execute_tool ", 13) == 0)
        return AT_CAT_TOOL;
    if (strncmp(s->name, "invoke_agent ", 13) == 0)
        return AT_CAT_AGENT;
    if (strncmp(s->name, "process ", 8) == 0 ||
        json_object_get(s->attrs, "process.pid") != NULL)
        return AT_CAT_PROCESS;
    if (json_object_get(s->attrs, "http.request.method") != NULL ||
        json_object_get(s->attrs, "url.full") != NULL)
        return AT_CAT_HTTP;
    return AT_CAT_OTHER;
}

int at_cli_span_from_json(json_t *root, at_cli_span *s, char *err,
                          size_t errlen)
{
    const json_t *v;
    int64_t i64;
    double d;

    memset(s, 0, sizeof(*s));
    if (!json_is_object(root)) {
        snprintf(err, errlen, "not a JSON object");
        return -1;
    }
    if (copy_hex(json_object_get(root, "trace_id"), 32, s->trace_id) < 0) {
        snprintf(err, errlen, json_object_get(root, "trace_id")
                                  ? "bad trace_id"
                                  : "no trace_id");
        return -1;
    }
    if (copy_hex(json_object_get(root, "span_id"), 16, s->span_id) < 0) {
        snprintf(err, errlen, json_object_get(root, "span_id")
                                  ? "bad span_id"
                                  : "no span_id");
        return -1;
    }
    at_cli_hex_to_u64(s->span_id, 16, &s->span_u64);
    v = json_object_get(root, "parent_span_id");
    if (v != NULL && !json_is_null(v) &&
        !(json_is_string(v) && json_string_length(v) == 0)) {
        if (copy_hex(v, 16, s->parent_id) == 0)
            at_cli_hex_to_u64(s->parent_id, 16, &s->parent_u64);
        else
            s->parent_id[0] = '\0'; /* unusable: treat as a root */
    }
    s->name = json_string_value(json_object_get(root, "name"));
    if (s->name == NULL) {
        snprintf(err, errlen, "no name");
        return -1;
    }
    if (get_time(json_object_get(root, "start_time_unix_nano"),
                 &s->start_ns) < 0) {
        snprintf(err, errlen, "no start_time_unix_nano");
        return -1;
    }
    if (get_time(json_object_get(root, "end_time_unix_nano"), &s->end_ns) <
        0)
        s->end_ns = s->start_ns; /* still running, or unknown */
    s->kind = parse_kind(json_string_value(json_object_get(root, "kind")));
    v = json_object_get(root, "status");
    s->status = AT_STATUS_UNSET;
    if (json_is_object(v)) {
        const char *code = json_string_value(json_object_get(v, "code"));

        if (code != NULL && strcasecmp(code, "ok") == 0)
            s->status = AT_STATUS_OK;
        else if (code != NULL && strcasecmp(code, "error") == 0)
            s->status = AT_STATUS_ERROR;
        s->status_msg = json_string_value(json_object_get(v, "message"));
    }
    s->attrs = json_object_get(root, "attributes");
    s->resource = json_object_get(root, "resource");
    if (!json_is_object(s->resource))
        s->resource = NULL;
    s->events = json_object_get(root, "events");
    if (!json_is_array(s->events))
        s->events = NULL;
    s->root = json_incref(root);
    if (!json_is_object(s->attrs)) {
        /* Hold an empty object so that look-ups never see NULL. */
        json_object_set_new(s->root, "attributes", json_object());
        s->attrs = json_object_get(s->root, "attributes");
    }
    s->op = at_cli_attr_str(s->attrs, "gen_ai.operation.name");
    s->provider = at_cli_attr_str(s->attrs, "gen_ai.provider.name");
    if (s->provider == NULL)
        s->provider = at_cli_attr_str(s->attrs, "gen_ai.system");
    s->model = at_cli_attr_str(s->attrs, "gen_ai.request.model");
    s->resp_model = at_cli_attr_str(s->attrs, "gen_ai.response.model");
    if (s->model == NULL)
        s->model = s->resp_model;
    s->tool = at_cli_attr_str(s->attrs, "gen_ai.tool.name");
    s->url = at_cli_attr_str(s->attrs, "url.full");
    s->error_type = at_cli_attr_str(s->attrs, "error.type");
    v = json_object_get(s->attrs, "gen_ai.response.finish_reasons");
    s->finish = json_string_value(json_array_get(v, 0));
    s->in_tok = s->out_tok = -1;
    at_cli_attr_int(s->attrs, "gen_ai.usage.input_tokens", &s->in_tok);
    at_cli_attr_int(s->attrs, "gen_ai.usage.output_tokens", &s->out_tok);
    s->cost = s->ttfc = -1;
    if (at_cli_attr_real(s->attrs, "agenttrace.cost.usd", &d) == 0 && d >= 0)
        s->cost = d;
    if (at_cli_attr_real(s->attrs, "gen_ai.response.time_to_first_chunk",
                         &d) == 0 &&
        d >= 0)
        s->ttfc = d;
    if (at_cli_attr_int(s->attrs, "http.response.status_code", &i64) == 0 &&
        i64 > 0 && i64 < 1000)
        s->http_status = (int)i64;
    if (at_cli_attr_int(s->attrs, "process.exit_code", &i64) == 0) {
        s->has_exit = 1;
        s->exit_code = i64;
    }
    s->cat = category(s);
    s->failed = s->status == AT_STATUS_ERROR || s->error_type != NULL ||
                s->http_status >= 400 || (s->has_exit && s->exit_code != 0);
    return 0;
}

int at_cli_span_parse(const char *line, size_t len, at_cli_span *s,
                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
        len--;
    if (memchr(line, '\0', len) != NULL) {
        /* jansson would skip a NUL byte after a number or a literal; a
         * span line never holds one. */
        memset(s, 0, sizeof(*s));
        snprintf(err, errlen, "not JSON: a NUL byte");
        return -1;
    }
    /* JSON_ALLOW_NUL: a string may hold \u0000 (the shim writes a NUL a
     * model or a tool sent, escaped), which jansson refuses by default */
    root = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        memset(s, 0, sizeof(*s));
        snprintf(err, errlen, "not JSON: %s", jerr.text);
        return -1;
    }
    rc = at_cli_span_from_json(root, s, err, errlen);
    json_decref(root);
    return rc;
}

void at_cli_span_free(at_cli_span *s)
{
    json_decref(s->root);
    s->root = NULL;
    s->attrs = s->resource = s->events = NULL;
}

int64_t at_cli_span_duration(const at_cli_span *s)
{
    return s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0;
}
