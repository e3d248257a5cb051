/* anthropic.c - Anthropic Messages API: request body, response body and
 * stream events (message_start, content_block_start/delta/stop,
 * message_delta, message_stop, ping, error) to span attributes.
 *
 * Runs on the sink thread only.  Entered through llm.c's dispatch.
 */
#include "llm_int.h"
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

/* A content block index above this is not believed. */
#define MAX_INDEX 65535L

/* type_is: whether NUL-terminated `t` equals `lit`. */
static int type_is(const char *t, const char *lit)
{
    return t != NULL && strcmp(t, lit) == 0;
}

/* tool_use_part: {"type":"tool_call","id","name","arguments":input}. */
static json_t *tool_use_part(const json_t *b)
{
    json_t *part = json_object();
    json_t *v;

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type", json_string("tool_call"));
    if (json_is_string(v = json_object_get(b, "id")))
        json_object_set_nocheck(part, "id", v);
    if (json_is_string(v = json_object_get(b, "name")))
        json_object_set_nocheck(part, "name", v);
    v = json_object_get(b, "input");
    if (v != NULL)
        json_object_set_nocheck(part, "arguments", v);
    return part;
}

/* block_part: the part one content block becomes (request or response):
 * text, thinking, tool_use, tool_result; any other block (image, document,
 * redacted_thinking, server tools...) is a part with just its type.  NULL
 * for a block without a type, or on allocation failure. */
static json_t *block_part(const json_t *b)
{
    const char *type = at_llm_str(b, "type");
    json_t *v;

    if (json_is_string(b))
        return at_llm_part_content("text", (json_t *)b);
    if (type == NULL)
        return NULL;
    if (strcmp(type, "text") == 0 &&
        json_is_string(v = json_object_get(b, "text")))
        return at_llm_part_content("text", v);
    if (strcmp(type, "thinking") == 0 &&
        json_is_string(v = json_object_get(b, "thinking")))
        return at_llm_part_content("reasoning", v);
    if (strcmp(type, "tool_use") == 0)
        return tool_use_part(b);
    if (strcmp(type, "tool_result") == 0)
        return at_llm_tool_result_part(b, "tool_use_id", "content");
    return at_llm_part_type(type);
}

/* content_parts: the parts of a `content` (string or block array), or of
 * `system`.  Never NULL except on allocation failure. */
static json_t *content_parts(const json_t *content)
{
    json_t *parts = json_array();
    json_t *b, *p;
    size_t i;

    if (parts == NULL)
        return NULL;
    if (json_is_string(content)) {
        if (json_string_length(content) > 0)
            json_array_append_new(
                parts, at_llm_part_content("text", (json_t *)content));
        return parts;
    }
    json_array_foreach(content, i, b) {
        p = block_part(b);
        if (p != NULL)
            json_array_append_new(parts, p);
    }
    return parts;
}

/* tool_definitions: gen_ai.tool.definitions from `tools`: client tools
 * become {"type":"function","name","description","parameters"} with
 * input_schema as parameters; server tools ("web_search_20250305"...)
 * keep their type and name.  NULL when `tools` is not an array. */
static json_t *tool_definitions(const json_t *tools)
{
    json_t *defs, *t, *d, *v;
    size_t i;

    if (!json_is_array(tools) || (defs = json_array()) == NULL)
        return NULL;
    json_array_foreach(tools, i, t) {
        const char *type = at_llm_str(t, "type");
        int custom = type == NULL || strcmp(type, "custom") == 0;

        if (!json_is_object(t) || (d = json_object()) == NULL)
            continue;
        json_object_set_new_nocheck(d, "type",
                                    json_string(custom ? "function" : type));
        if (json_is_string(v = json_object_get(t, "name")))
            json_object_set_nocheck(d, "name", v);
        if (custom) {
            if (json_is_string(v = json_object_get(t, "description")))
                json_object_set_nocheck(d, "description", v);
            v = json_object_get(t, "input_schema");
            if (v != NULL && !json_is_null(v))
                json_object_set_nocheck(d, "parameters", v);
        }
        json_array_append_new(defs, d);
    }
    return defs;
}

void at_anthropic_request(const json_t *root, json_t *attrs)
{
    const json_t *v, *m;
    json_t *a, *defs;
    size_t i;

    at_llm_request_params(root, attrs);
    v = json_object_get(root, "stop_sequences");
    if (json_is_array(v)) {
        json_t *s;

        a = json_array();
        json_array_foreach(v, i, s) {
            if (json_is_string(s))
                json_array_append(a, s);
        }
        json_object_set_new_nocheck(attrs, "gen_ai.request.stop_sequences", a);
    }
    v = json_object_get(root, "system");
    if (json_is_string(v) || json_is_array(v)) {
        a = content_parts(v);
        if (json_array_size(a) > 0)
            json_object_set_new_nocheck(attrs, "gen_ai.system_instructions",
                                        a);
        else
            json_decref(a);
    }
    v = json_object_get(root, "messages");
    if (json_is_array(v)) {
        a = json_array();
        json_array_foreach(v, i, m) {
            const char *role = at_llm_str(m, "role");

            if (role == NULL)
                continue;
            json_array_append_new(
                a, at_llm_message(role, content_parts(json_object_get(
                                            m, "content"))));
        }
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
    }
    defs = tool_definitions(json_object_get(root, "tools"));
    if (defs != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.tool.definitions", defs);
}

/* read_usage: the counts an Anthropic `usage` object reports, over *u (a
 * count not reported leaves *u's value alone).  Cached input is reported
 * apart from input_tokens. */
static void read_usage(const json_t *usage, at_llm_usage *u)
{
    if (!json_is_object(usage))
        return;
    u->cache_apart = 1;
    at_llm_count(json_object_get(usage, "input_tokens"), &u->input);
    at_llm_count(json_object_get(usage, "output_tokens"), &u->output);
    at_llm_count(json_object_get(usage, "cache_read_input_tokens"),
                 &u->cache_read);
    at_llm_count(json_object_get(usage, "cache_creation_input_tokens"),
                 &u->cache_creation);
}

void at_anthropic_response(const json_t *root, json_t *attrs)
{
    const json_t *content = json_object_get(root, "content");
    const json_t *stop = json_object_get(root, "stop_reason");
    at_llm_usage u;
    json_t *m, *a;

    at_llm_set_string(attrs, "gen_ai.response.id", root, "id");
    at_llm_set_string(attrs, "gen_ai.response.model", root, "model");
    at_llm_usage_init(&u);
    read_usage(json_object_get(root, "usage"), &u);
    at_llm_usage_emit(&u, attrs);
    if (json_is_string(stop)) {
        a = json_array();
        json_array_append(a, (json_t *)stop);
        json_object_set_new_nocheck(attrs, "gen_ai.response.finish_reasons",
                                    a);
    }
    if (!json_is_array(content) && !json_is_string(stop))
        return;
    m = at_llm_message("assistant", content_parts(content));
    if (m == NULL)
        return;
    if (json_is_string(stop))
        json_object_set_nocheck(m, "finish_reason", (json_t *)stop);
    a = json_array();
    json_array_append_new(a, m);
    json_object_set_new_nocheck(attrs, "gen_ai.output.messages", a);
}

/* block_index: a content block's `index`, or -1 when missing or absurd. */
static long block_index(const json_t *root)
{
    const json_t *ix = json_object_get(root, "index");

    if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
        json_integer_value(ix) > MAX_INDEX)
        return -1;
    return (long)json_integer_value(ix);
}

/* on_block_start: content_block_start.  Returns 1 when the block already
 * carries output (a tool name, non-empty initial text). */
static int on_block_start(at_llm_stream *s, const json_t *root)
{
    const json_t *b = json_object_get(root, "content_block");
    const char *type = at_llm_str(b, "type");
    long index = block_index(root);
    at_llm_choice *c;
    at_llm_part *p;
    const json_t *v;

    if (type == NULL || index < 0 || (c = at_llm_stream_choice(s, 0)) == NULL)
        return 0;
    if (strcmp(type, "text") == 0) {
        p = at_llm_choice_part(c, AT_PART_TEXT, index, 1);
        return p ? at_llm_part_append_str(p, json_object_get(b, "text")) : 0;
    }
    if (strcmp(type, "thinking") == 0) {
        p = at_llm_choice_part(c, AT_PART_REASONING, index, 1);
        return p ? at_llm_part_append_str(p, json_object_get(b, "thinking"))
                 : 0;
    }
    if (strcmp(type, "tool_use") == 0) {
        p = at_llm_choice_part(c, AT_PART_TOOL_CALL, index, 1);
        if (p == NULL)
            return 0;
        at_llm_keep(&p->id, json_object_get(b, "id"));
        at_llm_keep(&p->name, json_object_get(b, "name"));
        v = json_object_get(b, "input");
        if (p->input == NULL && v != NULL && !json_is_null(v))
            p->input = json_incref((json_t *)v);
        return p->name != NULL;
    }
    p = at_llm_choice_part(c, AT_PART_OTHER, index, 1);
    if (p != NULL && p->type == NULL)
        p->type = strdup(type);
    return 0;
}

/* on_block_delta: content_block_delta.  Returns 1 for text, thinking and
 * tool-input fragments that are not empty. */
static int on_block_delta(at_llm_stream *s, const json_t *root)
{
    const json_t *d = json_object_get(root, "delta");
    const char *type = at_llm_str(d, "type");
    long index = block_index(root);
    at_llm_part_kind kind;
    const char *member;
    at_llm_choice *c;
    at_llm_part *p;

    if (type == NULL || index < 0)
        return 0;
    if (strcmp(type, "text_delta") == 0) {
        kind = AT_PART_TEXT;
        member = "text";
    } else if (strcmp(type, "input_json_delta") == 0) {
        kind = AT_PART_TOOL_CALL;
        member = "partial_json";
    } else if (strcmp(type, "thinking_delta") == 0) {
        kind = AT_PART_REASONING;
        member = "thinking";
    } else {
        return 0; /* signature_delta, citations_delta, ... */
    }
    if ((c = at_llm_stream_choice(s, 0)) == NULL)
        return 0;
    p = at_llm_choice_part(c, kind, index, 1);
    if (p == NULL)
        return 0;
    return at_llm_part_append_str(p, json_object_get(d, member));
}

/* on_message_delta: message_delta: the stop reason and the cumulative
 * usage (output_tokens; newer API versions also repeat input and cache
 * counts here). */
static void on_message_delta(at_llm_stream *s, const json_t *root)
{
    const json_t *stop = json_object_get(json_object_get(root, "delta"),
                                         "stop_reason");
    at_llm_choice *c;

    read_usage(json_object_get(root, "usage"), &s->usage);
    if (!json_is_string(stop) || json_string_length(stop) == 0)
        return;
    if ((c = at_llm_stream_choice(s, 0)) == NULL)
        return;
    free(c->finish_reason);
    c->finish_reason = NULL;
    at_llm_keep(&c->finish_reason, stop);
}

/* The fast path (jscan.h) for the events of every token:
 * content_block_delta, and ping and content_block_stop, which say nothing
 * kept.  Returns 1 when it took the event (*out set), 0 to leave it to the
 * jansson path: another event, or a type spelled with escapes. */
static int fast_event(at_llm_stream *s, const char *data, size_t len,
                      int *out)
{
    at_js_tok tok[64];
    at_js_doc_t doc;
    at_js root, k, v, type = {0}, index = {0}, delta = {0}, dtype = {0};
    at_js text = {0}, partial = {0}, thinking = {0}, piece;
    at_js_it it;
    at_llm_part_kind kind;
    at_llm_choice *c;
    at_llm_part *p;
    int64_t ix;

    if (!at_llm_scan_chunk(s, data, len, tok, 64, &doc, &root) ||
        !at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v)) {
        if (AT_JS_KEY(k, "type"))
            type = v;
        else if (AT_JS_KEY(k, "index"))
            index = v;
        else if (AT_JS_KEY(k, "delta"))
            delta = v;
    }
    if (at_js_kind(type) != AT_JS_STRING || memchr(type.p, '\\', type.n))
        return 0;
    *out = 0;
    type.p++;
    type.n -= 2;
    if (AT_JS_KEY(type, "ping") || AT_JS_KEY(type, "content_block_stop"))
        return 1;
    if (!AT_JS_KEY(type, "content_block_delta"))
        return 0;
    if (at_js_obj(delta, &it)) {
        while (at_js_next_member(&it, &k, &v)) {
            if (AT_JS_KEY(k, "type"))
                dtype = v;
            else if (AT_JS_KEY(k, "text"))
                text = v;
            else if (AT_JS_KEY(k, "partial_json"))
                partial = v;
            else if (AT_JS_KEY(k, "thinking"))
                thinking = v;
        }
    }
    if (at_js_kind(dtype) != AT_JS_STRING)
        return 1;
    if (memchr(dtype.p, '\\', dtype.n))
        return 0;
    dtype.p++;
    dtype.n -= 2;
    if (!at_js_int(index, &ix) || ix < 0 || ix > MAX_INDEX)
        return 1;
    if (AT_JS_KEY(dtype, "text_delta")) {
        kind = AT_PART_TEXT;
        piece = text;
    } else if (AT_JS_KEY(dtype, "input_json_delta")) {
        kind = AT_PART_TOOL_CALL;
        piece = partial;
    } else if (AT_JS_KEY(dtype, "thinking_delta")) {
        kind = AT_PART_REASONING;
        piece = thinking;
    } else {
        return 1; /* signature_delta, citations_delta, ... */
    }
    if ((c = at_llm_stream_choice(s, 0)) == NULL)
        return 1;
    p = at_llm_choice_part(c, kind, (long)ix, 1);
    if (p != NULL)
        *out = at_js_str_append(piece, &p->text) > 0;
    return 1;
}

/* Tests turn the fast path off to compare both paths on the same input. */
int at_anthropic_fast_off;

int at_anthropic_stream_event(at_llm_stream *s, const char *event,
                              size_t event_len, const char *data,
                              size_t data_len)
{
    char name[32];
    const char *type;
    const json_t *msg;
    json_t *root;
    int out = 0;

    if (!at_anthropic_fast_off && fast_event(s, data, data_len, &out))
        return out;
    root = at_llm_parse(data, data_len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    /* The data's own "type" names the event; the SSE event name is the
     * fallback for data without one. */
    type = at_llm_str(root, "type");
    if (type == NULL) {
        if (event_len >= sizeof(name))
            event_len = 0;
        memcpy(name, event, event_len);
        name[event_len] = '\0';
        type = name;
    }
    if (strcmp(type, "content_block_delta") == 0) {
        out = on_block_delta(s, root);
    } else if (strcmp(type, "content_block_start") == 0) {
        out = on_block_start(s, root);
    } else if (strcmp(type, "message_start") == 0) {
        msg = json_object_get(root, "message");
        at_llm_keep(&s->id, json_object_get(msg, "id"));
        at_llm_keep(&s->model, json_object_get(msg, "model"));
        read_usage(json_object_get(msg, "usage"), &s->usage);
        at_llm_stream_choice(s, 0);
    } else if (strcmp(type, "message_delta") == 0) {
        on_message_delta(s, root);
    } else if (strcmp(type, "message_stop") == 0) {
        s->st.done = 1;
    } else if (type_is(type, "error")) {
        at_llm_error_fill(root, &s->st);
    }
    /* ping, content_block_stop and unknown events say nothing we keep */
    json_decref(root);
    return out;
}
