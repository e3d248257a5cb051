/* ollama.c - Ollama's native API: /api/chat and /api/generate requests,
 * responses and NDJSON stream lines; /api/embed and /api/embeddings.
 *
 * Ollama streams unless the request says "stream": false, so a request
 * without "stream" is a streamed one.  A stream is NDJSON
 * (application/x-ndjson): one JSON object per line, each a piece of the
 * answer (message.content for chat, response for generate), the last one
 * "done": true with done_reason and the counts (prompt_eval_count is the
 * input, eval_count the output).  Ollama returns no response id.
 *
 * Tool calls carry arguments as a JSON object (not a string as OpenAI's),
 * and usually no id: a tool call's id is its own "id" when it has one,
 * else the function's name, so that a later "tool" message naming it
 * (tool_name, or tool_call_id when the client sends one) matches it.
 *
 * Runs on the sink thread only.  Entered through llm.c's dispatch.
 */
#include "llm_int.h"
#include "jfast.h"
#include "jscan.h"
#include "sink/jw.h"

#include <stdlib.h>
#include <string.h>

/* Fixed keys of the streamed parts that are not tool calls (tool calls are
 * keyed by their number, from 0). */
#define KEY_TEXT (-1L)
#define KEY_REASONING (-2L)

/* tool_call_id: the id of one `tool_calls` entry: its "id", else the
 * function's name; NULL when neither is a non-empty string. */
static const json_t *tool_call_id(const json_t *tc)
{
    const json_t *v = json_object_get(tc, "id");

    if (json_is_string(v) && json_string_length(v) > 0)
        return v;
    v = json_object_get(json_object_get(tc, "function"), "name");
    if (json_is_string(v) && json_string_length(v) > 0)
        return v;
    return NULL;
}

/* tool_call_part: {"type":"tool_call","id","name","arguments"} of one
 * `tool_calls` entry {"id"?, "function":{"name","arguments"}}. */
static json_t *tool_call_part(const json_t *tc)
{
    const json_t *fn = json_object_get(tc, "function");
    const json_t *v;
    json_t *part = json_object();

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type", json_string("tool_call"));
    if ((v = tool_call_id(tc)) != NULL)
        json_object_set_nocheck(part, "id", (json_t *)v);
    if (json_is_string(v = json_object_get(fn, "name")))
        json_object_set_nocheck(part, "name", (json_t *)v);
    v = json_object_get(fn, "arguments");
    if (json_is_string(v))
        json_object_set_new_nocheck(
            part, "arguments",
            at_llm_args(json_string_value(v), json_string_length(v)));
    else if (v != NULL && !json_is_null(v))
        json_object_set_nocheck(part, "arguments", (json_t *)v);
    return part;
}

/* add_images: an {"type":"image"} part per entry of `images`. */
static void add_images(json_t *parts, const json_t *images)
{
    size_t i;
    json_t *it;

    json_array_foreach(images, i, it)
        json_array_append_new(parts, at_llm_part_type("image"));
}

/* request_message: the input message of one `messages` entry, or NULL
 * when it has no role. */
static json_t *request_message(const json_t *m)
{
    const char *role = at_llm_str(m, "role");
    const json_t *content = json_object_get(m, "content");
    json_t *parts, *tc;
    size_t i;

    if (role == NULL || (parts = json_array()) == NULL)
        return NULL;
    if (strcmp(role, "tool") == 0) {
        json_t *part = json_object();
        const json_t *id = json_object_get(m, "tool_call_id");

        if (!json_is_string(id) || json_string_length(id) == 0)
            id = json_object_get(m, "tool_name");
        if (part != NULL) {
            json_object_set_new_nocheck(part, "type",
                                        json_string("tool_call_response"));
            if (json_is_string(id) && json_string_length(id) > 0)
                json_object_set_nocheck(part, "id", (json_t *)id);
            if (content != NULL && !json_is_null(content))
                json_object_set_nocheck(part, "response", (json_t *)content);
            else
                json_object_set_new_nocheck(part, "response", json_string(""));
            json_array_append_new(parts, part);
        }
        return at_llm_message(role, parts);
    }
    at_llm_add_text(parts, "reasoning", json_object_get(m, "thinking"));
    at_llm_add_text(parts, "text", content);
    add_images(parts, json_object_get(m, "images"));
    json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
        if (json_is_object(tc))
            json_array_append_new(parts, tool_call_part(tc));
    }
    return at_llm_message(role, parts);
}

/* tool_definitions: gen_ai.tool.definitions from `tools` (the OpenAI
 * shape: {"type":"function","function":{name, description,
 * parameters}}).  NULL when `tools` is not an array. */
static json_t *tool_definitions(const json_t *tools)
{
    json_t *defs, *t, *d;
    const json_t *fn, *v;
    size_t i;

    if (!json_is_array(tools) || (defs = json_array()) == NULL)
        return NULL;
    json_array_foreach(tools, i, t) {
        const char *type = at_llm_str(t, "type");

        if (!json_is_object(t) || (d = json_object()) == NULL)
            continue;
        fn = json_object_get(t, "function");
        if (!json_is_object(fn))
            fn = t;
        json_object_set_new_nocheck(d, "type",
                                    json_string(type ? type : "function"));
        if (json_is_string(v = json_object_get(fn, "name")))
            json_object_set_nocheck(d, "name", (json_t *)v);
        if (json_is_string(v = json_object_get(fn, "description")))
            json_object_set_nocheck(d, "description", (json_t *)v);
        v = json_object_get(fn, "parameters");
        if (v != NULL && !json_is_null(v))
            json_object_set_nocheck(d, "parameters", (json_t *)v);
        json_array_append_new(defs, d);
    }
    return defs;
}

void at_ollama_request(const json_t *root, json_t *attrs)
{
    const json_t *opts = json_object_get(root, "options");
    const json_t *v, *m;
    json_t *a, *parts;
    size_t i;

    at_llm_set_string(attrs, "gen_ai.request.model", root, "model");
    at_llm_set_count(attrs, "gen_ai.request.max_tokens",
                     json_object_get(opts, "num_predict"));
    at_llm_set_real(attrs, "gen_ai.request.temperature",
                    json_object_get(opts, "temperature"));
    at_llm_set_real(attrs, "gen_ai.request.top_p",
                    json_object_get(opts, "top_p"));
    at_llm_set_real(attrs, "gen_ai.request.top_k",
                    json_object_get(opts, "top_k"));
    at_llm_set_int(attrs, "gen_ai.request.seed",
                   json_object_get(opts, "seed"));
    at_llm_set_stop(attrs, json_object_get(opts, "stop"));
    v = json_object_get(root, "stream");
    if (v == NULL || json_is_true(v))
        json_object_set_new_nocheck(attrs, "gen_ai.request.stream",
                                    json_true());
    /* /api/generate: prompt, system, images */
    v = json_object_get(root, "system");
    if (json_is_string(v) && json_string_length(v) > 0 &&
        (a = json_array()) != NULL) {
        at_llm_add_text(a, "text", v);
        json_object_set_new_nocheck(attrs, "gen_ai.system_instructions", a);
    }
    v = json_object_get(root, "prompt");
    if (json_is_string(v) && (a = json_array()) != NULL) {
        parts = json_array();
        at_llm_add_text(parts, "text", v);
        add_images(parts, json_object_get(root, "images"));
        json_array_append_new(a, at_llm_message("user", parts));
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
    }
    /* /api/chat: messages, tools */
    v = json_object_get(root, "messages");
    if (json_is_array(v) && (a = json_array()) != NULL) {
        json_array_foreach(v, i, m) {
            json_t *im = request_message(m);

            if (im != NULL)
                json_array_append_new(a, im);
        }
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
    }
    a = tool_definitions(json_object_get(root, "tools"));
    if (a != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.tool.definitions", a);
}

/* ---- a chat request's messages from the scanner -------------------------
 *
 * at_ollama_request_fast: the `messages` list (what grows with the
 * conversation) written as text from the scanner's tokens (see jfast.h);
 * the other members read by at_ollama_request from a tree of a body
 * without `messages` and `tools`, the tools from a tree of their own. */

/* fast_nonempty: v when it is a non-empty string, else absent. */
static at_js fast_nonempty(at_js v)
{
    static const at_js none = {NULL, 0, NULL, 0};

    return at_js_kind(v) == AT_JS_STRING && !at_js_str_empty(v) ? v : none;
}

/* fast_message: one entry of `messages` (an at_jf_msg_fn). */
static int fast_message(at_buf *b, at_js m, int *first, int *tools,
                        at_attr_mark *mk)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, role = none, content = none, thinking = none, images = none;
    at_js calls = none, call_id = none, tool_name = none, id;
    char r[64];
    int pfirst = 1, rc;

    if (at_js_obj(m, &it))
        while (at_js_next_member(&it, &k, &v) > 0) {
            if (AT_JS_KEY(k, "role"))
                role = v;
            else if (AT_JS_KEY(k, "content"))
                content = v;
            else if (AT_JS_KEY(k, "thinking"))
                thinking = v;
            else if (AT_JS_KEY(k, "images"))
                images = v;
            else if (AT_JS_KEY(k, "tool_calls"))
                calls = v;
            else if (AT_JS_KEY(k, "tool_call_id"))
                call_id = v;
            else if (AT_JS_KEY(k, "tool_name"))
                tool_name = v;
        }
    if ((rc = at_jf_name(role, r, sizeof(r))) <= 0)
        return rc;
    at_jf_message_open(b, r, first);
    if (strcmp(r, "tool") == 0) {
        id = fast_nonempty(call_id);
        at_jf_response_open(b, id.p != NULL ? id : fast_nonempty(tool_name),
                            mk);
        AT_JW_LIT(b, ",\"response\":");
        if (content.p != NULL && at_js_kind(content) != AT_JS_NULL) {
            if (at_jf_write_js(b, content) < 0)
                return -1;
        } else {
            AT_JW_LIT(b, "\"\"");
        }
        AT_JW_LIT(b, "}]}");
        *tools = 1;
        return 1;
    }
    if (at_jf_text_part(b, "reasoning", thinking, pfirst))
        pfirst = 0;
    if (at_jf_text_part(b, "text", content, pfirst))
        pfirst = 0;
    if (at_js_arr(images, &it))
        while (at_js_next(&it, &v) > 0) {
            at_jf_sep(b, &pfirst);
            AT_JW_LIT(b, "{\"type\":\"image\"}");
        }
    if (at_js_arr(calls, &it)) {
        while (at_js_next(&it, &v) > 0) {
            at_js fn, name;

            if (at_js_kind(v) != AT_JS_OBJECT)
                continue;
            fn = AT_JF_MEMBER(v, "function");
            name = AT_JF_MEMBER(fn, "name");
            id = fast_nonempty(AT_JF_MEMBER(v, "id"));
            if (id.p == NULL)
                id = fast_nonempty(name);
            at_jf_sep(b, &pfirst);
            AT_JW_LIT(b, "{\"type\":\"tool_call\"");
            if (id.p != NULL) {
                AT_JW_LIT(b, ",\"id\":");
                at_jf_str(b, id);
            }
            if (at_js_kind(name) == AT_JS_STRING) {
                AT_JW_LIT(b, ",\"name\":");
                at_jf_str(b, name);
            }
            if (at_jf_args(b, AT_JF_MEMBER(fn, "arguments")) < 0)
                return -1;
            AT_JW_LIT(b, "}");
            *tools = 1;
        }
    }
    AT_JW_LIT(b, "]}");
    return 1;
}


int at_ollama_request_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, msgs = none, tools = none;
    json_t *head, *attrs;

    if (!at_js_obj(root, &it))
        return 0;
    head = json_object();
    if (head == NULL)
        return 0;
    /* the last of each member, as a tree of the body would hold it */
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "messages"))
            msgs = v;
        else if (AT_JS_KEY(k, "tools"))
            tools = v;
        else if (json_object_setn_new_nocheck(head, k.p, k.n, at_llm_tree(v)) <
                 0) {
            json_decref(head);
            return 0;
        }
    }
    if (at_js_kind(msgs) != AT_JS_ARRAY) {
        json_decref(head);
        return 0;                /* no chat: the tree's */
    }
    /* everything before the messages: the parameters, /api/generate's
     * members */
    attrs = json_object();
    if (attrs == NULL) {
        json_decref(head);
        return 0;
    }
    at_ollama_request(head, attrs);
    json_decref(head);
    at_attrs_take(list, attrs);
    at_jf_messages(msgs, list, "gen_ai.input.messages", fast_message,
                   request_message);
    at_jf_tree_definitions(list, tools, tool_definitions);
    return 1;
}

/* read_usage: prompt_eval_count and eval_count, over *u. */
static void read_usage(const json_t *root, at_llm_usage *u)
{
    at_llm_count(json_object_get(root, "prompt_eval_count"), &u->input);
    at_llm_count(json_object_get(root, "eval_count"), &u->output);
}

void at_ollama_response(const json_t *root, json_t *attrs)
{
    const json_t *msg = json_object_get(root, "message");
    const json_t *reason = json_object_get(root, "done_reason");
    const char *role = at_llm_str(msg, "role");
    at_llm_usage u;
    json_t *parts, *m, *a, *tc;
    size_t i;

    at_llm_set_string(attrs, "gen_ai.response.model", root, "model");
    at_llm_usage_init(&u);
    read_usage(root, &u);
    at_llm_usage_emit(&u, attrs);
    if (json_is_string(reason) && json_string_length(reason) > 0) {
        a = json_array();
        json_array_append(a, (json_t *)reason);
        json_object_set_new_nocheck(attrs, "gen_ai.response.finish_reasons",
                                    a);
    } else {
        reason = NULL;
    }
    if (!json_is_object(msg) && !json_is_string(json_object_get(
                                    root, "response")))
        return;
    if ((parts = json_array()) == NULL)
        return;
    at_llm_add_text(parts, "reasoning", json_object_get(msg, "thinking"));
    at_llm_add_text(parts, "reasoning", json_object_get(root, "thinking"));
    at_llm_add_text(parts, "text", json_object_get(msg, "content"));
    at_llm_add_text(parts, "text", json_object_get(root, "response"));
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        if (json_is_object(tc))
            json_array_append_new(parts, tool_call_part(tc));
    }
    m = at_llm_message(role != NULL ? role : "assistant", parts);
    if (m == NULL)
        return;
    if (reason != NULL)
        json_object_set_nocheck(m, "finish_reason", (json_t *)reason);
    a = json_array();
    json_array_append_new(a, m);
    json_object_set_new_nocheck(attrs, "gen_ai.output.messages", a);
}

/* append_text: a non-empty string onto part (kind, key) of `c`.  Returns
 * 1 when appended. */
static int append_text(at_llm_choice *c, at_llm_part_kind kind, long key,
                       const json_t *v)
{
    at_llm_part *p;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    p = at_llm_choice_part(c, kind, key, 1);
    return p != NULL ? at_llm_part_append_str(p, v) : 0;
}

/* stream_error: an error line {"error":"text"} (or an error object). */
static void stream_error(at_llm_stream *s, const json_t *root)
{
    const json_t *err = json_object_get(root, "error");
    json_t *o, *e;

    if (!json_is_string(err)) {
        at_llm_stream_status(s, root);
        return;
    }
    /* a bare message: name its type, so that the span is an error */
    o = json_object();
    e = json_object();
    if (o != NULL && e != NULL) {
        json_object_set_new_nocheck(e, "type", json_string("error"));
        json_object_set_nocheck(e, "message", (json_t *)err);
        json_object_set_nocheck(o, "error", e);
        at_llm_error_fill(o, &s->st);
    }
    json_decref(e);
    json_decref(o);
}

/* append_js: append_text for a slice */
static int append_js(at_llm_choice *c, at_llm_part_kind kind, long key,
                     at_js v)
{
    at_llm_part *p;

    if (at_js_kind(v) != AT_JS_STRING || at_js_str_empty(v))
        return 0;
    p = at_llm_choice_part(c, kind, key, 1);
    return p != NULL && at_llm_part_append_js(p, v);
}

/* The fast path (jscan.h) for the lines of every token of an answer,
 * read from the scanner's tokens against the shape of the line before
 * (they differ in their time and their piece of text): 1 when taken,
 * with *out as the tree's way would set it; 0 for the tree (an error,
 * tool calls, the last line (done), more tokens than the room here),
 * before anything was changed. */
static int fast_line(at_llm_stream *s, const char *data, size_t len,
                     int *out)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_tok tok[32];
    at_js_doc_t doc;
    at_js root, k, v, model = none, msg = none, thinking = none;
    at_js response = none, done = none, mthinking = none, content = none;
    at_js_it it;
    at_llm_choice *c;

    if (!at_llm_scan_chunk(s, data, len, tok, 32, &doc, &root) ||
        !at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v)) {
        if (AT_JS_KEY(k, "model"))
            model = v;
        else if (AT_JS_KEY(k, "message"))
            msg = v;
        else if (AT_JS_KEY(k, "thinking"))
            thinking = v;
        else if (AT_JS_KEY(k, "response"))
            response = v;
        else if (AT_JS_KEY(k, "done"))
            done = v;
        else if (AT_JS_KEY(k, "error"))
            return 0;
    }
    if (at_js_kind(done) == AT_JS_BOOL && done.p[0] == 't')
        return 0;
    if (at_js_obj(msg, &it)) {
        while (at_js_next_member(&it, &k, &v)) {
            if (AT_JS_KEY(k, "thinking"))
                mthinking = v;
            else if (AT_JS_KEY(k, "content"))
                content = v;
            else if (AT_JS_KEY(k, "tool_calls"))
                return 0;
        }
    }
    *out = 0;
    at_llm_keep_js(&s->model, model);
    if ((c = at_llm_stream_choice(s, 0)) == NULL)
        return 1;
    *out |= append_js(c, AT_PART_REASONING, KEY_REASONING, mthinking);
    *out |= append_js(c, AT_PART_REASONING, KEY_REASONING, thinking);
    *out |= append_js(c, AT_PART_TEXT, KEY_TEXT, content);
    *out |= append_js(c, AT_PART_TEXT, KEY_TEXT, response);
    return 1;
}

/* Tests turn the fast path off to compare both paths on the same input. */
int at_ollama_fast_off;

int at_ollama_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len)
{
    const json_t *msg, *tc;
    at_llm_choice *c;
    at_llm_part *p;
    json_t *root;
    size_t i;
    int out = 0;

    (void)event;
    (void)event_len; /* NDJSON lines have no names */
    if (!at_ollama_fast_off && fast_line(s, data, data_len, &out))
        return out;
    root = at_llm_parse(data, data_len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    if (json_object_get(root, "error") != NULL) {
        stream_error(s, root);
        json_decref(root);
        return 0;
    }
    at_llm_keep(&s->model, json_object_get(root, "model"));
    c = at_llm_stream_choice(s, 0);
    if (c == NULL) {
        json_decref(root);
        return 0;
    }
    msg = json_object_get(root, "message");
    out |= append_text(c, AT_PART_REASONING, KEY_REASONING,
                       json_object_get(msg, "thinking"));
    out |= append_text(c, AT_PART_REASONING, KEY_REASONING,
                       json_object_get(root, "thinking"));
    out |= append_text(c, AT_PART_TEXT, KEY_TEXT,
                       json_object_get(msg, "content"));
    out |= append_text(c, AT_PART_TEXT, KEY_TEXT,
                       json_object_get(root, "response"));
    /* tool calls come whole, each in one line */
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        const json_t *args = json_object_get(fn, "arguments");

        if (!json_is_object(tc))
            continue;
        p = at_llm_choice_part(c, AT_PART_TOOL_CALL, at_llm_choice_tools(c),
                               1);
        if (p == NULL)
            continue;
        at_llm_keep(&p->id, tool_call_id(tc));
        at_llm_keep(&p->name, json_object_get(fn, "name"));
        if (json_is_string(args))
            at_llm_part_append_str(p, args);
        else if (args != NULL && !json_is_null(args) && p->input == NULL)
            p->input = json_incref((json_t *)args);
        out = 1;
    }
    if (json_is_true(json_object_get(root, "done"))) {
        s->st.done = 1;
        read_usage(root, &s->usage);
        at_llm_choice_reason(c, json_object_get(root, "done_reason"));
    }
    json_decref(root);
    return out;
}

/* ------------------------------------------------------------------ */
/* Embeddings                                                          */
/* ------------------------------------------------------------------ */

void at_ollama_embed_request(const json_t *root, json_t *attrs)
{
    const json_t *in = json_object_get(root, "input");
    json_t *parts, *a, *it;
    size_t i;

    at_llm_set_string(attrs, "gen_ai.request.model", root, "model");
    at_llm_set_count(attrs, "gen_ai.embeddings.dimension.count",
                     json_object_get(root, "dimensions"));
    if (in == NULL)
        in = json_object_get(root, "prompt"); /* /api/embeddings */
    if ((parts = json_array()) == NULL)
        return;
    at_llm_add_text(parts, "text", in);
    json_array_foreach(in, i, it)
        at_llm_add_text(parts, "text", it);
    if (json_array_size(parts) == 0 || (a = json_array()) == NULL) {
        json_decref(parts);
        return;
    }
    json_array_append_new(a, at_llm_message("user", parts));
    json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
}

void at_ollama_embed_response(const json_t *root, json_t *attrs)
{
    const json_t *vec = json_array_get(json_object_get(root, "embeddings"),
                                       0);
    at_llm_usage u;

    at_llm_set_string(attrs, "gen_ai.response.model", root, "model");
    if (vec == NULL)
        vec = json_object_get(root, "embedding"); /* /api/embeddings */
    at_llm_embedding_dims(attrs, vec);
    at_llm_usage_init(&u);
    at_llm_count(json_object_get(root, "prompt_eval_count"), &u.input);
    at_llm_usage_emit(&u, attrs);
}
