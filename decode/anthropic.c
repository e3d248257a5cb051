/* anthropic.c - Anthropic Messages API: request body, response body and
 * stream events (message_start, content_block_start/delta/stop,
 * message_delta, message_stop, ping, error) to span attributes.
 *
 * Runs on the sink thread only.  Entered through llm.c's dispatch.
 */
#include "llm_int.h"
#include "jscan.h"
#include "jfast.h"
#include "sink/jw.h"

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

/* ---- whole bodies from the scanner ----------------------------------
 *
 * at_anthropic_request and at_anthropic_response read from the scanner's
 * tokens (see jfast.h): the messages and their blocks written as text,
 * no tree of the body.  A block only the tree reads sends its message to
 * the tree (a request) or the whole body (a response). */

/* fast_block: block_part of one block, after a comma unless *first: 1
 * written, 0 none (no type), -1 where the tree must judge.  A tool part
 * sets *tools; a tool_result sets the mark (its id when it is the
 * message's only one). */
static int fast_block(at_buf *b, at_js blk, int *first, int *tools,
                      at_attr_mark *mk)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, type = none, text = none, thinking = none, id = none;
    at_js name = none, input = none, use_id = none, content = none;
    char t[64];
    int r;

    if (at_js_kind(blk) == AT_JS_STRING) {
        at_jf_part(b, "text", blk, first);
        return 1;
    }
    if (at_js_obj(blk, &it)) {
        while (at_js_next_member(&it, &k, &v) > 0) {
            if (AT_JS_KEY(k, "type"))
                type = v;
            else if (AT_JS_KEY(k, "text"))
                text = v;
            else if (AT_JS_KEY(k, "thinking"))
                thinking = v;
            else if (AT_JS_KEY(k, "id"))
                id = v;
            else if (AT_JS_KEY(k, "name"))
                name = v;
            else if (AT_JS_KEY(k, "input"))
                input = v;
            else if (AT_JS_KEY(k, "tool_use_id"))
                use_id = v;
            else if (AT_JS_KEY(k, "content"))
                content = v;
        }
    }
    if ((r = at_jf_name(type, t, sizeof(t))) <= 0)
        return r;
    if (strcmp(t, "text") == 0 && at_js_kind(text) == AT_JS_STRING) {
        at_jf_part(b, "text", text, first);
        return 1;
    }
    if (strcmp(t, "thinking") == 0 && at_js_kind(thinking) == AT_JS_STRING) {
        at_jf_part(b, "reasoning", thinking, first);
        return 1;
    }
    at_jf_sep(b, first);
    if (strcmp(t, "tool_use") == 0) {
        AT_JW_LIT(b, "{\"type\":\"tool_call\"");
        if (at_js_kind(id) == AT_JS_STRING) {
            AT_JW_LIT(b, ",\"id\":");
            at_jf_str(b, id);
        }
        if (at_js_kind(name) == AT_JS_STRING) {
            AT_JW_LIT(b, ",\"name\":");
            at_jf_str(b, name);
        }
        if (input.p != NULL) {
            AT_JW_LIT(b, ",\"arguments\":");
            if (at_jf_write_js(b, input) < 0)
                return -1;
        }
        AT_JW_LIT(b, "}");
        *tools = 1;
        return 1;
    }
    if (strcmp(t, "tool_result") == 0) {
        at_jf_response_open(b, use_id, mk);
        if (at_jf_response_close(b, content, 1) < 0)
            return -1;
        *tools = 1;
        return 1;
    }
    AT_JW_LIT(b, "{\"type\":");
    at_jw_jstr(b, t, strlen(t));
    AT_JW_LIT(b, "}");
    return 1;
}

/* fast_parts: content_parts of a content slice (string or block array),
 * the parts written after a comma unless *first. */
static int fast_parts(at_buf *b, at_js content, int *first, int *tools,
                      at_attr_mark *mk)
{
    at_js_it it;
    at_js v;

    if (at_js_kind(content) == AT_JS_STRING) {
        if (at_jf_text_part(b, "text", content, *first))
            *first = 0;
        return 0;
    }
    if (at_js_arr(content, &it))
        while (at_js_next(&it, &v) > 0)
            if (fast_block(b, v, first, tools, mk) < 0)
                return -1;
    return 0;
}

/* fast_message: one entry of `messages` (an at_jf_msg_fn). */
static int fast_message(at_buf *b, at_js m, int *first, int *tools,
                        at_attr_mark *mk)
{
    at_js_it it;
    at_js k, v, role = {NULL, 0, NULL, 0}, content = {NULL, 0, NULL, 0};
    char r[64];
    int pfirst = 1, rc;

    if (at_js_obj(m, &it))
        while (at_js_next_member(&it, &k, &v) > 0) {
            if (AT_JS_KEY(k, "role"))
                role = v;
            else if (AT_JS_KEY(k, "content"))
                content = v;
        }
    if ((rc = at_jf_name(role, r, sizeof(r))) <= 0)
        return rc;
    at_jf_message_open(b, r, first);
    if (fast_parts(b, content, &pfirst, tools, mk) < 0)
        return -1;
    AT_JW_LIT(b, "]}");
    return 1;
}

/* tree_message: the tree decoder's message for one entry of `messages`. */
static json_t *tree_message(const json_t *m)
{
    const char *role = at_llm_str(m, "role");

    if (role == NULL)
        return NULL;
    return at_llm_message(role, content_parts(json_object_get(m, "content")));
}

/* tool_type: tool_definitions' type of a tool (at_jf_definitions): a
 * client tool (no type, or "custom") is a "function" with its description
 * and input_schema; a server tool keeps its type and name. */
static int tool_type(int r, char ty[64])
{
    if (r < 0)
        return -1;
    if (r > 0 && strcmp(ty, "custom") != 0)
        return 0;
    strcpy(ty, "function");
    return 1;
}

int at_anthropic_request_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, stop = none, system = none, msgs = none, tools = none;
    at_jf_params pr = {none, none, none, none, none};
    at_buf *b;
    size_t mark;

    if (!at_js_obj(root, &it))
        return 0;
    /* the last of each member, as a tree of the body would hold it */
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "messages"))
            msgs = v;
        else if (at_jf_param(&pr, k, v))
            continue;
        else if (AT_JS_KEY(k, "system"))
            system = v;
        else if (AT_JS_KEY(k, "tools"))
            tools = v;
        else if (AT_JS_KEY(k, "stop_sequences"))
            stop = v;
    }
    at_jf_params_set(&pr, list);
    /* at_anthropic_request from here */
    at_jf_strings_set(list, "gen_ai.request.stop_sequences", stop);
    if (at_js_kind(system) == AT_JS_STRING ||
        at_js_kind(system) == AT_JS_ARRAY) {
        at_attr_mark mk = {0, 0, 0, 0, 0};
        int first = 1, tools_seen = 0;

        b = at_attrs_open(list, &mark);
        AT_JW_LIT(b, "[");
        if (fast_parts(b, system, &first, &tools_seen, &mk) < 0) {
            json_t *t = at_llm_tree(system), *a = content_parts(t);

            at_attrs_drop(list, mark);
            json_decref(t);
            if (json_array_size(a) > 0)
                at_attrs_set_json(list, "gen_ai.system_instructions", a);
            else
                json_decref(a);
        } else if (first) {
            at_attrs_drop(list, mark);  /* no parts: not set */
        } else {
            AT_JW_LIT(b, "]");
            at_attrs_close(list, "gen_ai.system_instructions", mark,
                           AT_ATTR_RAW, 0);
        }
    }
    at_jf_messages(msgs, list, "gen_ai.input.messages", fast_message,
                   tree_message);
    if (!at_jf_definitions(tools, list, "input_schema", tool_type))
        at_jf_tree_definitions(list, tools, tool_definitions);
    return 1;
}

int at_anthropic_response_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, id = none, model = none, usage = none, stop = none;
    at_js content = none;
    at_llm_usage u;
    at_attr_mark mk = {0, 0, 0, 0, 0};
    at_buf parts;
    json_t *j;
    int first = 1, tools = 0, stop_s, has_msg;

    if (!at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "content"))
            content = v;
        else if (AT_JS_KEY(k, "id"))
            id = v;
        else if (AT_JS_KEY(k, "model"))
            model = v;
        else if (AT_JS_KEY(k, "usage"))
            usage = v;
        else if (AT_JS_KEY(k, "stop_reason"))
            stop = v;
    }
    stop_s = at_js_kind(stop) == AT_JS_STRING;
    /* the output message's parts first, aside: a block only the tree
     * reads leaves the list untouched */
    at_buf_init(&parts, (size_t)1 << 30);
    has_msg = at_js_kind(content) == AT_JS_ARRAY || stop_s;
    if (has_msg && fast_parts(&parts, content, &first, &tools, &mk) < 0) {
        at_buf_free(&parts);
        return 0;
    }
    at_llm_usage_init(&u);
    j = at_llm_tree(usage);       /* a few counts: their tree is cheap */
    read_usage(j, &u);
    json_decref(j);
    at_jf_reply(list, id, model, &u, stop, stop_s, &parts, has_msg, tools);
    at_buf_free(&parts);
    return 1;
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
    if (!at_js_bare(type, &type))
        return 0;
    *out = 0;
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
    if (!at_js_bare(dtype, &dtype))
        return 0;
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
        *out = at_llm_part_append_js(p, piece);
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
