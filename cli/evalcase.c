/* evalcase.c - cases from model calls, wire formats for replaying them,
 * and the checks.  Runs in the inspector's own process. */
#include "cli/evalcase.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

/* ------------------------------------------------------------- checks */

json_t *at_cli_check_parse(const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
    const char *val = eq ? eq + 1 : NULL;
    json_t *c = json_object();

#define KEY(k) (klen == strlen(k) && strncmp(spec, k, klen) == 0)
    if (KEY("regex") || KEY("not-regex") || KEY("not_regex")) {
        regex_t re;
        int rc;

        if (val == NULL || *val == '\0') {
            snprintf(err, errlen, "%.*s wants a pattern", (int)klen, spec);
            goto bad;
        }
        rc = regcomp(&re, val, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];

            regerror(rc, &re, msg, sizeof(msg));
            snprintf(err, errlen, "bad regex '%s': %s", val, msg);
            goto bad;
        }
        regfree(&re);
        json_object_set_new(c, "type",
                            json_string(KEY("regex") ? "regex" : "not_regex"));
        json_object_set_new(c, "pattern", json_string(val));
    } else if (KEY("tool")) {
        const char *colon;

        if (val == NULL || *val == '\0') {
            snprintf(err, errlen, "tool wants a name: tool=NAME[:JSON]");
            goto bad;
        }
        json_object_set_new(c, "type", json_string("tool_call"));
        colon = strchr(val, ':');
        if (colon == NULL) {
            json_object_set_new(c, "name", json_string(val));
        } else {
            json_error_t jerr;
            json_t *args = json_loads(colon + 1, 0, &jerr);

            if (!json_is_object(args)) {
                json_decref(args);
                snprintf(err, errlen, "tool=%.*s: arguments must be a JSON "
                                      "object",
                         (int)(colon - val), val);
                goto bad;
            }
            json_object_set_new(c, "name", json_stringn(val, (size_t)(colon -
                                                                      val)));
            json_object_set_new(c, "arguments", args);
        }
    } else if (KEY("json")) {
        json_object_set_new(c, "type", json_string("json"));
    } else if (KEY("exact")) {
        if (val == NULL) {
            snprintf(err, errlen, "exact wants a text: exact=TEXT");
            goto bad;
        }
        json_object_set_new(c, "type", json_string("exact"));
        json_object_set_new(c, "value", json_string(val));
    } else {
        snprintf(err, errlen, "unknown check '%.*s' (regex, not-regex, tool, "
                              "json, exact)",
                 (int)klen, spec);
        goto bad;
    }
#undef KEY
    if (json_object_size(c) == 0 ||
        json_object_get(c, "type") == NULL) {
        snprintf(err, errlen, "not UTF-8: '%s'", spec);
        goto bad;
    }
    return c;
bad:
    json_decref(c);
    return NULL;
}

/* text_of: the text of a neutral output ("" when none). */
static const char *text_of(const json_t *output)
{
    const char *t = json_string_value(json_object_get(output, "text"));

    return t ? t : "";
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\n' || **s == '\t' ||
                      **s == '\r')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\n' ||
                      (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* args_hold: every key of want is in got with an equal value. */
static int args_hold(const json_t *want, const json_t *got)
{
    const char *k;
    json_t *v;

    if (!json_is_object(got))
        return 0;
    json_object_foreach((json_t *)want, k, v) {
        if (!json_equal(v, json_object_get(got, k)))
            return 0;
    }
    return 1;
}

static json_t *verdict(const char *type, int passed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *verdict(const char *type, int passed, const char *fmt, ...)
{
    json_t *r = json_object();
    at_cli_buf b;
    va_list ap;

    at_cli_buf_init(&b);
    va_start(ap, fmt);
    at_cli_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    json_object_set_new(r, "type", json_string(type));
    json_object_set_new(r, "passed", json_boolean(passed));
    json_object_set_new(r, "detail", json_string(b.data ? b.data : ""));
    at_cli_buf_free(&b);
    return r;
}

json_t *at_cli_check_run(const json_t *check, const json_t *output)
{
    const char *type = json_string_value(json_object_get(check, "type"));
    const char *text = text_of(output);
    at_cli_buf shown;
    json_t *r;

    if (type == NULL)
        return verdict("?", 0, "check without a type");
    at_cli_buf_init(&shown);
    at_cli_oneline(&shown, text, strlen(text), 80);
    if (shown.data == NULL)
        at_cli_buf_puts(&shown, "");
    if (strcmp(type, "regex") == 0 || strcmp(type, "not_regex") == 0) {
        const char *pat = json_string_value(json_object_get(check, "pattern"));
        regex_t re;
        int match, want = strcmp(type, "regex") == 0;

        if (pat == NULL || regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            r = verdict(type, 0, "bad pattern");
        } else {
            match = regexec(&re, text, 0, NULL, 0) == 0;
            regfree(&re);
            if (match == want)
                r = verdict(type, 1, "/%s/ %s", pat,
                            match ? "matches" : "does not match");
            else
                r = verdict(type, 0, "/%s/ %s \"%s\"", pat,
                            match ? "matches" : "does not match", shown.data);
        }
    } else if (strcmp(type, "tool_call") == 0) {
        const char *name = json_string_value(json_object_get(check, "name"));
        const json_t *want = json_object_get(check, "arguments");
        const json_t *calls = json_object_get(output, "tool_calls"), *tc;
        size_t i;
        int named = 0, ok = 0;
        char *got_args = NULL;

        json_array_foreach(calls, i, tc) {
            const char *n = json_string_value(json_object_get(tc, "name"));

            if (name == NULL || n == NULL || strcmp(n, name) != 0)
                continue;
            named = 1;
            if (want == NULL ||
                args_hold(want, json_object_get(tc, "arguments"))) {
                ok = 1;
                break;
            }
            if (got_args == NULL)
                got_args = at_cli_json_string(json_object_get(tc,
                                                              "arguments"),
                                              JSON_COMPACT);
        }
        if (ok)
            r = verdict(type, 1, "called %s", name ? name : "?");
        else if (named)
            r = verdict(type, 0, "called %s with %s", name,
                        got_args ? got_args : "?");
        else if (json_array_size(calls) > 0)
            r = verdict(type, 0, "called %s, not %s",
                        json_string_value(json_object_get(
                            json_array_get(calls, 0), "name"))
                            ? json_string_value(json_object_get(
                                  json_array_get(calls, 0), "name"))
                            : "?",
                        name ? name : "?");
        else
            r = verdict(type, 0, "no tool call (text \"%s\")", shown.data);
        free(got_args);
    } else if (strcmp(type, "json") == 0) {
        const char *s = text;
        size_t n = strlen(text);
        json_t *v;

        trim(&s, &n);
        if (n >= 6 && strncmp(s, "```", 3) == 0 &&
            strncmp(s + n - 3, "```", 3) == 0) {
            const char *nl = memchr(s, '\n', n);

            if (nl != NULL) {
                n -= (size_t)(nl + 1 - s) + 3;
                s = nl + 1;
                trim(&s, &n);
            }
        }
        v = json_loadb(s, n, JSON_DECODE_ANY, NULL);
        r = v ? verdict(type, 1, "valid JSON")
              : verdict(type, 0, "not JSON: \"%s\"", shown.data);
        json_decref(v);
    } else if (strcmp(type, "exact") == 0) {
        const char *want = json_string_value(json_object_get(check, "value"));
        const char *s = text;
        size_t n = strlen(text);
        const char *w = want ? want : "";
        size_t wn = strlen(w);

        trim(&s, &n);
        trim(&w, &wn);
        r = (n == wn && memcmp(s, w, n) == 0)
                ? verdict(type, 1, "exact match")
                : verdict(type, 0, "got \"%s\"", shown.data);
    } else {
        r = verdict(type, 0, "unknown check type");
    }
    at_cli_buf_free(&shown);
    return r;
}

/* --------------------------------------------------------------- cases */

static void copy_if(json_t *dst, const char *dkey, const json_t *src,
                    const char *skey)
{
    json_t *v = json_object_get(src, skey);

    if (v != NULL)
        json_object_set(dst, dkey, v);
}

json_t *at_cli_case_from_span(const at_cli_span *s, const char *file,
                              const char *label, json_t *checks, char *err,
                              size_t errlen)
{
    json_t *c, *src, *req, *params, *out;
    const char *k;
    json_t *v;
    char id[64], when[64];

    if (s->cat != AT_CAT_LLM) {
        snprintf(err, errlen, "span %s (%s) is not a model call: pick a "
                              "'chat ...' span (agenttrace tree shows them)",
                 s->span_id, s->name);
        return NULL;
    }
    if (!json_is_array(json_object_get(s->attrs, "gen_ai.input.messages"))) {
        snprintf(err, errlen, "span %s holds no messages (recorded with "
                              "AGENTTRACE_CAPTURE_CONTENT=0?): nothing to "
                              "replay",
                 s->span_id);
        return NULL;
    }
    c = json_object();
    snprintf(id, sizeof(id), "%.8s-%s", s->trace_id, s->span_id);
    json_object_set_new(c, "id", json_string(id));
    json_object_set_new(c, "label", json_string(label));
    at_cli_fmt_time(at_cli_now_ns(), when, sizeof(when));
    json_object_set_new(c, "created", json_string(when));

    src = json_object();
    json_object_set_new(src, "file", json_string(file));
    json_object_set_new(src, "trace_id", json_string(s->trace_id));
    json_object_set_new(src, "span_id", json_string(s->span_id));
    json_object_set_new(src, "name", json_string(s->name));
    json_object_set_new(src, "start_time_unix_nano",
                        json_integer(s->start_ns));
    json_object_set_new(src, "status",
                        json_string(at_cli_status_name(s->status)));
    if (s->status_msg)
        json_object_set_new(src, "status_message",
                            json_string(s->status_msg));
    json_object_set_new(c, "source", src);

    req = json_object();
    json_object_set_new(req, "provider",
                        json_string(s->provider ? s->provider : "openai"));
    json_object_set_new(req, "operation",
                        json_string(s->op ? s->op : "chat"));
    if (s->model)
        json_object_set_new(req, "model", json_string(s->model));
    copy_if(req, "system_instructions", s->attrs,
            "gen_ai.system_instructions");
    copy_if(req, "messages", s->attrs, "gen_ai.input.messages");
    copy_if(req, "tools", s->attrs, "gen_ai.tool.definitions");
    params = json_object();
    json_object_foreach(s->attrs, k, v) {
        if (strncmp(k, "gen_ai.request.", 15) == 0 &&
            strcmp(k, "gen_ai.request.model") != 0)
            json_object_set(params, k + 15, v);
    }
    json_object_set_new(req, "parameters", params);
    json_object_set_new(c, "request", req);

    out = json_object();
    copy_if(out, "messages", s->attrs, "gen_ai.output.messages");
    copy_if(out, "finish_reasons", s->attrs,
            "gen_ai.response.finish_reasons");
    copy_if(out, "model", s->attrs, "gen_ai.response.model");
    if (s->error_type)
        json_object_set_new(out, "error_type", json_string(s->error_type));
    json_object_set_new(c, "output", out);
    if (checks != NULL)
        json_object_set(c, "checks", checks);
    else
        json_object_set_new(c, "checks", json_array());
    return c;
}

const char *at_cli_case_check(const json_t *c)
{
    const json_t *req = json_object_get(c, "request");

    if (!json_is_object(c))
        return "not a JSON object";
    if (!json_is_object(req))
        return "no request";
    if (!json_is_array(json_object_get(req, "messages")))
        return "no request.messages";
    if (json_object_get(c, "checks") != NULL &&
        !json_is_array(json_object_get(c, "checks")))
        return "checks is not an array";
    return NULL;
}

/* --------------------------------------------------------- wire: OpenAI */

/* value_text: a response or argument value as a string: strings as they
 * are, anything else as compact JSON.  malloc'd. */
static char *value_text(const json_t *v)
{
    if (json_is_string(v))
        return at_cli_xstrdup(json_string_value(v));
    if (v == NULL)
        return at_cli_xstrdup("");
    return at_cli_json_string(v, JSON_COMPACT);
}

/* parts_text: the text parts of a part list (or a string) joined by
 * "\n"; NULL when there are none. */
static char *parts_text(const json_t *parts)
{
    at_cli_buf b;
    const json_t *p;
    size_t i;
    int any = 0;

    if (json_is_string(parts))
        return at_cli_xstrdup(json_string_value(parts));
    at_cli_buf_init(&b);
    json_array_foreach(parts, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        const json_t *content = json_object_get(p, "content");

        if (json_is_string(p)) {
            content = p;
            type = "text";
        }
        if (type == NULL || strcmp(type, "text") != 0 ||
            !json_is_string(content))
            continue;
        if (any++)
            at_cli_buf_putc(&b, '\n');
        at_cli_buf_puts(&b, json_string_value(content));
    }
    if (!any) {
        at_cli_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : at_cli_xstrdup("");
}

static void set_params_openai(json_t *body, const json_t *params)
{
    const json_t *v;

    if ((v = json_object_get(params, "max_tokens")) != NULL)
        json_object_set(body, "max_tokens", (json_t *)v);
    if ((v = json_object_get(params, "temperature")) != NULL)
        json_object_set(body, "temperature", (json_t *)v);
    if ((v = json_object_get(params, "top_p")) != NULL)
        json_object_set(body, "top_p", (json_t *)v);
    if ((v = json_object_get(params, "seed")) != NULL)
        json_object_set(body, "seed", (json_t *)v);
    if ((v = json_object_get(params, "stop_sequences")) != NULL)
        json_object_set(body, "stop", (json_t *)v);
}

json_t *at_cli_request_openai(const json_t *c, const char *model)
{
    const json_t *req = json_object_get(c, "request"), *m, *p;
    json_t *body = json_object(), *msgs = json_array(), *tools;
    const char *mdl = model ? model
                            : json_string_value(json_object_get(req, "model"));
    char *sys;
    size_t i, j;

    json_object_set_new(body, "model", json_string(mdl ? mdl : "default"));
    sys = parts_text(json_object_get(req, "system_instructions"));
    if (sys != NULL) {
        json_t *o = json_object();

        json_object_set_new(o, "role", json_string("system"));
        json_object_set_new(o, "content", json_string(sys));
        json_array_append_new(msgs, o);
        free(sys);
    }
    json_array_foreach(json_object_get(req, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const json_t *parts = json_object_get(m, "parts");
        json_t *o;
        char *text;

        if (role == NULL)
            continue;
        if (strcmp(role, "tool") == 0) {
            json_array_foreach(parts, j, p) {
                const char *type =
                    json_string_value(json_object_get(p, "type"));
                char *res;

                if (type == NULL || strcmp(type, "tool_call_response") != 0)
                    continue;
                o = json_object();
                res = value_text(json_object_get(p, "response"));
                json_object_set_new(o, "role", json_string("tool"));
                copy_if(o, "tool_call_id", p, "id");
                json_object_set_new(o, "content", json_string(res));
                free(res);
                json_array_append_new(msgs, o);
            }
            continue;
        }
        o = json_object();
        json_object_set_new(o, "role", json_string(role));
        text = parts_text(parts ? parts : json_object_get(m, "content"));
        if (strcmp(role, "assistant") == 0) {
            json_t *calls = json_array();

            json_array_foreach(parts, j, p) {
                const char *type =
                    json_string_value(json_object_get(p, "type"));
                json_t *call, *fn;
                char *args;

                if (type == NULL || strcmp(type, "tool_call") != 0)
                    continue;
                call = json_object();
                fn = json_object();
                copy_if(call, "id", p, "id");
                json_object_set_new(call, "type", json_string("function"));
                copy_if(fn, "name", p, "name");
                args = value_text(json_object_get(p, "arguments"));
                json_object_set_new(fn, "arguments", json_string(args));
                free(args);
                json_object_set_new(call, "function", fn);
                json_array_append_new(calls, call);
            }
            json_object_set_new(o, "content",
                                text ? json_string(text) : json_null());
            if (json_array_size(calls) > 0)
                json_object_set_new(o, "tool_calls", calls);
            else
                json_decref(calls);
        } else {
            json_object_set_new(o, "content", json_string(text ? text : ""));
        }
        free(text);
        json_array_append_new(msgs, o);
    }
    json_object_set_new(body, "messages", msgs);
    tools = json_array();
    json_array_foreach(json_object_get(req, "tools"), i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        json_t *t, *fn;

        if (type != NULL && strcmp(type, "function") != 0)
            continue;
        t = json_object();
        fn = json_object();
        json_object_set_new(t, "type", json_string("function"));
        copy_if(fn, "name", p, "name");
        copy_if(fn, "description", p, "description");
        copy_if(fn, "parameters", p, "parameters");
        json_object_set_new(t, "function", fn);
        json_array_append_new(tools, t);
    }
    if (json_array_size(tools) > 0)
        json_object_set_new(body, "tools", tools);
    else
        json_decref(tools);
    set_params_openai(body, json_object_get(req, "parameters"));
    return body;
}

/* ------------------------------------------------------ wire: Anthropic */

/* push_blocks: append blocks to the last message when it has `role`, else
 * start a new message (the API wants roles to alternate). */
static void push_blocks(json_t *msgs, const char *role, json_t *blocks)
{
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *lr = json_string_value(json_object_get(last, "role"));

    if (json_array_size(blocks) == 0) {
        json_decref(blocks);
        return;
    }
    if (lr != NULL && strcmp(lr, role) == 0) {
        json_array_extend(json_object_get(last, "content"), blocks);
        json_decref(blocks);
        return;
    }
    last = json_object();
    json_object_set_new(last, "role", json_string(role));
    json_object_set_new(last, "content", blocks);
    json_array_append_new(msgs, last);
}

static json_t *text_block(const char *text)
{
    json_t *b = json_object();

    json_object_set_new(b, "type", json_string("text"));
    json_object_set_new(b, "text", json_string(text));
    return b;
}

json_t *at_cli_request_anthropic(const json_t *c, const char *model)
{
    const json_t *req = json_object_get(c, "request"), *m, *p;
    const json_t *params = json_object_get(req, "parameters"), *v;
    json_t *body = json_object(), *msgs = json_array(), *tools;
    const char *mdl = model ? model
                            : json_string_value(json_object_get(req, "model"));
    at_cli_buf sys;
    char *t;
    size_t i, j;

    at_cli_buf_init(&sys);
    json_object_set_new(body, "model", json_string(mdl ? mdl : "default"));
    t = parts_text(json_object_get(req, "system_instructions"));
    if (t != NULL) {
        at_cli_buf_puts(&sys, t);
        free(t);
    }
    json_array_foreach(json_object_get(req, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const json_t *parts = json_object_get(m, "parts");
        json_t *blocks = json_array();

        if (role == NULL) {
            json_decref(blocks);
            continue;
        }
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            t = parts_text(parts ? parts : json_object_get(m, "content"));
            if (t != NULL) {
                if (sys.len)
                    at_cli_buf_putc(&sys, '\n');
                at_cli_buf_puts(&sys, t);
                free(t);
            }
            json_decref(blocks);
            continue;
        }
        if (!json_is_array(parts) &&
            json_is_string(json_object_get(m, "content")))
            json_array_append_new(
                blocks, text_block(json_string_value(
                            json_object_get(m, "content"))));
        json_array_foreach(parts, j, p) {
            const char *type = json_string_value(json_object_get(p, "type"));
            const json_t *content = json_object_get(p, "content");
            json_t *b;

            if (json_is_string(p)) {
                json_array_append_new(blocks,
                                      text_block(json_string_value(p)));
                continue;
            }
            if (type == NULL)
                continue;
            if (strcmp(type, "text") == 0 && json_is_string(content)) {
                json_array_append_new(
                    blocks, text_block(json_string_value(content)));
            } else if (strcmp(type, "tool_call") == 0) {
                const json_t *args = json_object_get(p, "arguments");
                json_t *input = NULL;

                b = json_object();
                json_object_set_new(b, "type", json_string("tool_use"));
                copy_if(b, "id", p, "id");
                copy_if(b, "name", p, "name");
                if (json_is_string(args))
                    input = json_loads(json_string_value(args), 0, NULL);
                else if (json_is_object(args))
                    input = json_incref((json_t *)args);
                if (!json_is_object(input)) {
                    json_decref(input);
                    input = json_object();
                }
                json_object_set_new(b, "input", input);
                json_array_append_new(blocks, b);
            } else if (strcmp(type, "tool_call_response") == 0) {
                char *res = value_text(json_object_get(p, "response"));

                b = json_object();
                json_object_set_new(b, "type", json_string("tool_result"));
                copy_if(b, "tool_use_id", p, "id");
                json_object_set_new(b, "content", json_string(res));
                free(res);
                json_array_append_new(blocks, b);
            }
        }
        push_blocks(msgs, strcmp(role, "assistant") == 0 ? "assistant"
                                                          : "user",
                    blocks);
    }
    if (sys.len)
        json_object_set_new(body, "system", json_string(sys.data));
    at_cli_buf_free(&sys);
    json_object_set_new(body, "messages", msgs);
    tools = json_array();
    json_array_foreach(json_object_get(req, "tools"), i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        json_t *tl;

        if (type != NULL && strcmp(type, "function") != 0)
            continue;
        tl = json_object();
        copy_if(tl, "name", p, "name");
        copy_if(tl, "description", p, "description");
        v = json_object_get(p, "parameters");
        if (v != NULL)
            json_object_set(tl, "input_schema", (json_t *)v);
        else
            json_object_set_new(tl, "input_schema",
                                json_pack("{s:s}", "type", "object"));
        json_array_append_new(tools, tl);
    }
    if (json_array_size(tools) > 0)
        json_object_set_new(body, "tools", tools);
    else
        json_decref(tools);
    v = json_object_get(params, "max_tokens");
    json_object_set_new(body, "max_tokens",
                        json_is_integer(v) ? json_incref((json_t *)v)
                                           : json_integer(1024));
    if ((v = json_object_get(params, "temperature")) != NULL)
        json_object_set(body, "temperature", (json_t *)v);
    if ((v = json_object_get(params, "top_p")) != NULL)
        json_object_set(body, "top_p", (json_t *)v);
    if ((v = json_object_get(params, "stop_sequences")) != NULL)
        json_object_set(body, "stop_sequences", (json_t *)v);
    return body;
}

/* ------------------------------------------------------------ outputs */

static json_t *new_output(void)
{
    json_t *o = json_object();

    json_object_set_new(o, "text", json_string(""));
    json_object_set_new(o, "tool_calls", json_array());
    return o;
}

static void add_call(json_t *out, const json_t *id, const json_t *name,
                     json_t *args)
{
    json_t *c = json_object();

    if (id)
        json_object_set(c, "id", (json_t *)id);
    if (name)
        json_object_set(c, "name", (json_t *)name);
    json_object_set_new(c, "arguments", args ? args : json_object());
    json_array_append_new(json_object_get(out, "tool_calls"), c);
}

json_t *at_cli_output_openai(const json_t *resp)
{
    const json_t *ch = json_array_get(json_object_get(resp, "choices"), 0);
    const json_t *msg = json_object_get(ch, "message"), *tc;
    json_t *out;
    size_t i;

    if (!json_is_object(msg))
        return NULL;
    out = new_output();
    if (json_is_string(json_object_get(msg, "content")))
        json_object_set(out, "text", json_object_get(msg, "content"));
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        const json_t *a = json_object_get(fn, "arguments");
        json_t *args = NULL;

        if (json_is_string(a)) {
            args = json_loads(json_string_value(a), JSON_DECODE_ANY, NULL);
            if (args == NULL)
                args = json_incref((json_t *)a);
        } else if (a != NULL) {
            args = json_incref((json_t *)a);
        }
        add_call(out, json_object_get(tc, "id"), json_object_get(fn, "name"),
                 args);
    }
    copy_if(out, "finish_reason", ch, "finish_reason");
    copy_if(out, "model", resp, "model");
    return out;
}

json_t *at_cli_output_anthropic(const json_t *resp)
{
    const json_t *content = json_object_get(resp, "content"), *b;
    at_cli_buf text;
    json_t *out;
    size_t i;

    if (!json_is_array(content))
        return NULL;
    out = new_output();
    at_cli_buf_init(&text);
    json_array_foreach(content, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));

        if (type == NULL)
            continue;
        if (strcmp(type, "text") == 0 &&
            json_is_string(json_object_get(b, "text")))
            at_cli_buf_puts(&text,
                            json_string_value(json_object_get(b, "text")));
        else if (strcmp(type, "tool_use") == 0)
            add_call(out, json_object_get(b, "id"), json_object_get(b, "name"),
                     json_incref(json_object_get(b, "input")));
    }
    json_object_set_new(out, "text", json_string(text.data ? text.data : ""));
    at_cli_buf_free(&text);
    copy_if(out, "finish_reason", resp, "stop_reason");
    copy_if(out, "model", resp, "model");
    return out;
}

json_t *at_cli_output_recorded(const json_t *c)
{
    const json_t *msgs = json_object_get(json_object_get(c, "output"),
                                         "messages");
    const json_t *m, *p;
    json_t *out = new_output();
    at_cli_buf text;
    size_t i, j;

    at_cli_buf_init(&text);
    json_array_foreach(msgs, i, m) {
        json_array_foreach(json_object_get(m, "parts"), j, p) {
            const char *type = json_string_value(json_object_get(p, "type"));

            if (type == NULL)
                continue;
            if (strcmp(type, "text") == 0 &&
                json_is_string(json_object_get(p, "content")))
                at_cli_buf_puts(&text, json_string_value(
                                           json_object_get(p, "content")));
            else if (strcmp(type, "tool_call") == 0)
                add_call(out, json_object_get(p, "id"),
                         json_object_get(p, "name"),
                         json_incref(json_object_get(p, "arguments")));
        }
        copy_if(out, "finish_reason", m, "finish_reason");
    }
    json_object_set_new(out, "text", json_string(text.data ? text.data : ""));
    at_cli_buf_free(&text);
    return out;
}
