/* openai.c - OpenAI Chat Completions, legacy Completions and Embeddings:
 * request body, response body and streamed chunks to span attributes.  The
 * same shapes serve Azure OpenAI, Groq (stream usage under
 * `x_groq.usage`), Mistral (usage in the last chunk, `p` padding), DeepSeek
 * (`reasoning_content`) and other compatible servers.  (The Responses API
 * is responses.c.)
 *
 * Runs on the sink thread only.  Entered through llm.c's dispatch.
 */
#include "llm_int.h"

#include "jscan.h"
#include "jfast.h"
#include "sink/jw.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Fixed keys of the streamed parts that are not tool calls (tool calls are
 * keyed by their non-negative index). */
#define KEY_TEXT (-1L)
#define KEY_REASONING (-2L)
#define KEY_REFUSAL (-3L)
#define KEY_FUNCTION_CALL (-4L)    /* the legacy `function_call` delta */
#define KEY_UNINDEXED_BASE (-100L) /* tool calls sent without `index` */

/* A tool call index above this is not believed. */
#define MAX_INDEX 65535L

/* is_text_type: whether a content part type carries plain text. */
static int is_text_type(const char *type)
{
    return strcmp(type, "text") == 0 || strcmp(type, "input_text") == 0 ||
           strcmp(type, "output_text") == 0;
}

/* add_content: append to `parts` the parts of a message's `content`: a
 * string, or an array of content parts (text, image_url, input_audio,
 * file, refusal...).  Empty strings add nothing. */
static void add_content(json_t *parts, const json_t *content)
{
    size_t i;
    json_t *it;

    if (json_is_string(content)) {
        if (json_string_length(content) > 0)
            json_array_append_new(
                parts, at_llm_part_content("text", (json_t *)content));
        return;
    }
    json_array_foreach(content, i, it) {
        const char *type = at_llm_str(it, "type");
        json_t *v;

        if (json_is_string(it)) {
            json_array_append_new(parts, at_llm_part_content("text", it));
            continue;
        }
        if (type == NULL)
            continue;
        v = json_object_get(it, "text");
        if (is_text_type(type) && json_is_string(v)) {
            json_array_append_new(parts, at_llm_part_content("text", v));
            continue;
        }
        v = json_object_get(it, "refusal");
        if (strcmp(type, "refusal") == 0 && json_is_string(v)) {
            json_array_append_new(parts, at_llm_part_content("refusal", v));
            continue;
        }
        json_array_append_new(parts, at_llm_part_type(type));
    }
}

/* add_string_part: append {"type":type,"content":v} when v is a
 * non-empty string. */
static void add_string_part(json_t *parts, const char *type, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0)
        json_array_append_new(parts, at_llm_part_content(type, v));
}

/* tool_call_part: the tool_call part of one `tool_calls` entry
 * ({"id","type":"function","function":{"name","arguments"}}, or a custom
 * tool's {"custom":{"name","input"}}) or of a legacy `function_call`
 * ({"name","arguments"}).  NULL on allocation failure. */
static json_t *tool_call_part(const json_t *tc)
{
    const char *type = at_llm_str(tc, "type");
    const json_t *fn = json_object_get(tc, "function");
    json_t *part, *args, *v;

    if (!json_is_object(fn) && type != NULL)
        fn = json_object_get(tc, type);
    if (!json_is_object(fn))
        fn = tc;
    part = json_object();
    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type", json_string("tool_call"));
    v = json_object_get(tc, "id");
    if (json_is_string(v))
        json_object_set_nocheck(part, "id", v);
    v = json_object_get(fn, "name");
    if (json_is_string(v))
        json_object_set_nocheck(part, "name", v);
    args = json_object_get(fn, "arguments");
    if (args == NULL)
        args = json_object_get(fn, "input");
    if (json_is_string(args))
        json_object_set_new_nocheck(
            part, "arguments",
            at_llm_args(json_string_value(args), json_string_length(args)));
    else if (args != NULL && !json_is_null(args))
        json_object_set_nocheck(part, "arguments", args);
    return part;
}

/* add_tool_calls: append the tool_call parts of a message's `tool_calls`
 * array and legacy `function_call` object. */
static void add_tool_calls(json_t *parts, const json_t *msg)
{
    size_t i;
    json_t *tc;
    const json_t *fc;

    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        if (json_is_object(tc))
            json_array_append_new(parts, tool_call_part(tc));
    }
    fc = json_object_get(msg, "function_call");
    if (json_is_object(fc))
        json_array_append_new(parts, tool_call_part(fc));
}

/* request_message: the input message for one entry of `messages`, or NULL
 * when it has no role (or on allocation failure). */
static json_t *request_message(const json_t *m)
{
    const char *role = at_llm_str(m, "role");
    const json_t *content = json_object_get(m, "content");
    json_t *parts;

    if (role == NULL)
        return NULL;
    parts = json_array();
    if (parts == NULL)
        return NULL;
    if (strcmp(role, "tool") == 0) {
        json_t *part = json_object();
        json_t *v = json_object_get(m, "tool_call_id");

        if (part != NULL) {
            json_object_set_new_nocheck(part, "type",
                                        json_string("tool_call_response"));
            if (json_is_string(v))
                json_object_set_nocheck(part, "id", v);
            if (json_is_array(content))
                json_object_set_new_nocheck(part, "response",
                                            at_llm_joined_text(content));
            else if (content != NULL && !json_is_null(content))
                json_object_set_nocheck(part, "response", (json_t *)content);
            json_array_append_new(parts, part);
        }
        return at_llm_message(role, parts);
    }
    add_string_part(parts, "reasoning",
                    json_object_get(m, "reasoning_content"));
    add_content(parts, content);
    add_tool_calls(parts, m);
    return at_llm_message(role, parts);
}

/* tool_definitions: gen_ai.tool.definitions from `tools` (and the legacy
 * `functions`): [{"type","name","description","parameters"}].  NULL when
 * neither is an array. */
static json_t *tool_definitions(const json_t *root)
{
    const json_t *tools = json_object_get(root, "tools");
    const json_t *funcs = json_object_get(root, "functions");
    json_t *defs, *t;
    size_t i;

    if (!json_is_array(tools) && !json_is_array(funcs))
        return NULL;
    defs = json_array();
    if (defs == NULL)
        return NULL;
    json_array_foreach(tools, i, t) {
        const char *type = at_llm_str(t, "type");
        const json_t *fn;
        json_t *d, *v;

        if (!json_is_object(t))
            continue;
        if (type == NULL)
            type = "function";
        fn = json_object_get(t, type);
        if (!json_is_object(fn))
            fn = t;
        d = json_object();
        if (d == NULL)
            continue;
        json_object_set_new_nocheck(d, "type", json_string(type));
        if (json_is_string(v = json_object_get(fn, "name")))
            json_object_set_nocheck(d, "name", v);
        if (json_is_string(v = json_object_get(fn, "description")))
            json_object_set_nocheck(d, "description", v);
        v = json_object_get(fn, "parameters");
        if (v != NULL && !json_is_null(v))
            json_object_set_nocheck(d, "parameters", v);
        json_array_append_new(defs, d);
    }
    json_array_foreach(funcs, i, t) {
        json_t *d, *v;

        if (!json_is_object(t) || (d = json_object()) == NULL)
            continue;
        json_object_set_new_nocheck(d, "type", json_string("function"));
        if (json_is_string(v = json_object_get(t, "name")))
            json_object_set_nocheck(d, "name", v);
        if (json_is_string(v = json_object_get(t, "description")))
            json_object_set_nocheck(d, "description", v);
        v = json_object_get(t, "parameters");
        if (v != NULL && !json_is_null(v))
            json_object_set_nocheck(d, "parameters", v);
        json_array_append_new(defs, d);
    }
    return defs;
}

/* request_params: the parameters Chat Completions and Completions share:
 * model, max_tokens (max_completion_tokens preferred), temperature, top_p,
 * stream, seed, stop. */
static void request_params(const json_t *root, json_t *attrs)
{
    at_llm_request_params(root, attrs);
    /* max_completion_tokens replaced max_tokens; prefer it when both. */
    at_llm_set_count(attrs, "gen_ai.request.max_tokens",
                     json_object_get(root, "max_completion_tokens"));
    at_llm_set_int(attrs, "gen_ai.request.seed",
                   json_object_get(root, "seed"));
    at_llm_set_stop(attrs, json_object_get(root, "stop"));
}

void at_openai_request(const json_t *root, json_t *attrs)
{
    const json_t *v;
    json_t *msgs, *m, *defs;
    size_t i;

    request_params(root, attrs);
    v = json_object_get(root, "messages");
    if (json_is_array(v)) {
        msgs = json_array();
        json_array_foreach(v, i, m) {
            json_t *im = request_message(m);

            if (im != NULL)
                json_array_append_new(msgs, im);
        }
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", msgs);
    }
    defs = tool_definitions(root);
    if (defs != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.tool.definitions", defs);
}

/* text_inputs: one user message whose text parts are the strings of `v`
 * (a string, or an array of strings; token arrays are left out), set as
 * gen_ai.input.messages when there is at least one. */
static void text_inputs(const json_t *v, json_t *attrs)
{
    json_t *parts = json_array(), *it;
    size_t i;

    if (parts == NULL)
        return;
    at_llm_add_text(parts, "text", v);
    json_array_foreach(v, i, it)
        at_llm_add_text(parts, "text", it);
    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return;
    }
    v = json_array();
    if (v == NULL) {
        json_decref(parts);
        return;
    }
    json_array_append_new((json_t *)v, at_llm_message("user", parts));
    json_object_set_new_nocheck(attrs, "gen_ai.input.messages", (json_t *)v);
}

void at_openai_completions_request(const json_t *root, json_t *attrs)
{
    request_params(root, attrs);
    text_inputs(json_object_get(root, "prompt"), attrs);
}

void at_openai_embeddings_request(const json_t *root, json_t *attrs)
{
    const json_t *v = json_object_get(root, "encoding_format");
    json_t *a;

    at_llm_set_string(attrs, "gen_ai.request.model", root, "model");
    if (json_is_string(v) && json_string_length(v) > 0 &&
        (a = json_array()) != NULL) {
        json_array_append(a, (json_t *)v);
        json_object_set_new_nocheck(attrs, "gen_ai.request.encoding_formats",
                                    a);
    }
    at_llm_set_count(attrs, "gen_ai.embeddings.dimension.count",
                     json_object_get(root, "dimensions"));
    text_inputs(json_object_get(root, "input"), attrs);
}

/* read_usage: the counts an OpenAI `usage` object reports, over *u (a
 * count that is not reported leaves *u's value alone). */
static void read_usage(const json_t *usage, at_llm_usage *u)
{
    const json_t *d;

    if (!json_is_object(usage))
        return;
    at_llm_count(json_object_get(usage, "prompt_tokens"), &u->input);
    at_llm_count(json_object_get(usage, "completion_tokens"), &u->output);
    d = json_object_get(usage, "prompt_tokens_details");
    if (!at_llm_count(json_object_get(d, "cached_tokens"), &u->cache_read))
        /* DeepSeek */
        at_llm_count(json_object_get(usage, "prompt_cache_hit_tokens"),
                     &u->cache_read);
    d = json_object_get(usage, "completion_tokens_details");
    at_llm_count(json_object_get(d, "reasoning_tokens"), &u->reasoning);
}

/* A choice and where it stood in the `choices` array. */
typedef struct choice_ref {
    long index;
    size_t pos;
    json_t *choice;
} choice_ref;

/* choice_cmp: order by index, then by position (qsort is not stable). */
static int choice_cmp(const void *a, const void *b)
{
    const choice_ref *x = a, *y = b;

    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* output_message: the output message of one response choice (a Chat
 * Completions `message`, or a Completions `text`). */
static json_t *output_message(const json_t *choice)
{
    const json_t *msg = json_object_get(choice, "message");
    const char *role = at_llm_str(msg, "role");
    json_t *parts = json_array();
    json_t *m, *v;

    if (parts == NULL)
        return NULL;
    at_llm_add_text(parts, "text", json_object_get(choice, "text"));
    add_string_part(parts, "reasoning",
                    json_object_get(msg, "reasoning_content"));
    if (json_object_get(msg, "reasoning_content") == NULL)
        add_string_part(parts, "reasoning",
                        json_object_get(msg, "reasoning"));
    add_content(parts, json_object_get(msg, "content"));
    add_string_part(parts, "refusal", json_object_get(msg, "refusal"));
    add_tool_calls(parts, msg);
    m = at_llm_message(role != NULL ? role : "assistant", parts);
    v = json_object_get(choice, "finish_reason");
    if (m != NULL && json_is_string(v))
        json_object_set_nocheck(m, "finish_reason", v);
    return m;
}

void at_openai_response(const json_t *root, json_t *attrs)
{
    const json_t *choices = json_object_get(root, "choices");
    at_llm_usage u;
    choice_ref *refs;
    json_t *msgs, *reasons, *c;
    size_t i, n;

    at_llm_set_string(attrs, "gen_ai.response.id", root, "id");
    at_llm_set_string(attrs, "gen_ai.response.model", root, "model");
    at_llm_usage_init(&u);
    read_usage(json_object_get(root, "usage"), &u);
    at_llm_usage_emit(&u, attrs);
    n = json_array_size(choices);
    if (n == 0)
        return;
    refs = malloc(n * sizeof(*refs));
    if (refs == NULL)
        return;
    json_array_foreach(choices, i, c) {
        const json_t *ix = json_object_get(c, "index");

        refs[i].index = json_is_integer(ix) &&
                                json_integer_value(ix) >= 0 &&
                                json_integer_value(ix) <= MAX_INDEX
                            ? (long)json_integer_value(ix)
                            : (long)i;
        refs[i].pos = i;
        refs[i].choice = c;
    }
    qsort(refs, n, sizeof(*refs), choice_cmp);
    msgs = json_array();
    reasons = json_array();
    for (i = 0; i < n; i++) {
        json_t *fr = json_object_get(refs[i].choice, "finish_reason");

        if (!json_is_object(refs[i].choice))
            continue;
        json_array_append_new(msgs, output_message(refs[i].choice));
        if (json_is_string(fr))
            json_array_append(reasons, fr);
    }
    free(refs);
    if (json_array_size(msgs) > 0)
        json_object_set_new_nocheck(attrs, "gen_ai.output.messages", msgs);
    else
        json_decref(msgs);
    if (json_array_size(reasons) > 0)
        json_object_set_new_nocheck(attrs, "gen_ai.response.finish_reasons",
                                    reasons);
    else
        json_decref(reasons);
}

/* ---- whole bodies from the scanner ---------------------------------- */

/* The request and response decoders above, for the common shapes, read
 * from the scanner's tokens instead of a tree of the whole body: what they
 * set is what the decoders above would set, in the same order (the tests
 * compare both on the corpus and on variants of it).  A message or
 * response beyond the common shape goes to the decoders above. */

/* fast_plain_kind: whether an optional string member (content, refusal)
 * is absent, null or a string. */
static int fast_plain_kind(at_js v)
{
    int k = at_js_kind(v);

    return k == AT_JS_NONE || k == AT_JS_NULL || k == AT_JS_STRING;
}

/* fast_content: add_content's parts of a message's `content`, written to
 * b.  -1 where the tree must judge (a part type with escapes). */
static int fast_content(at_buf *b, at_js content, int *first)
{
    at_js_it ai, it;
    at_js e, k, v, type, text, refusal;
    char t[64];
    int r;

    if (at_js_kind(content) == AT_JS_STRING) {
        if (!at_js_str_empty(content))
            at_jf_part(b, "text", content, first);
        return 0;
    }
    if (!at_js_arr(content, &ai))
        return 0;
    while (at_js_next(&ai, &e) > 0) {
        if (at_js_kind(e) == AT_JS_STRING) {
            at_jf_part(b, "text", e, first);
            continue;
        }
        if (!at_js_obj(e, &it))
            continue;            /* no "type": at_llm_str gives NULL */
        type.p = text.p = refusal.p = NULL;
        while (at_js_next_member(&it, &k, &v) > 0) {
            if (AT_JS_KEY(k, "type"))
                type = v;
            else if (AT_JS_KEY(k, "text"))
                text = v;
            else if (AT_JS_KEY(k, "refusal"))
                refusal = v;
        }
        if ((r = at_jf_name(type, t, sizeof(t))) < 0)
            return -1;
        if (r == 0)
            continue;
        if (is_text_type(t) && at_js_kind(text) == AT_JS_STRING) {
            at_jf_part(b, "text", text, first);
        } else if (strcmp(t, "refusal") == 0 &&
                   at_js_kind(refusal) == AT_JS_STRING) {
            at_jf_part(b, "refusal", refusal, first);
        } else {
            at_jf_sep(b, first);
            AT_JW_LIT(b, "{\"type\":");
            at_jw_jstr(b, t, strlen(t));
            AT_JW_LIT(b, "}");
        }
    }
    return 0;
}

/* fast_tool_call: tool_call_part of object slice tc, written to b after a
 * comma unless *first.  -1 where the tree must judge (escapes in the type,
 * arguments the scanner does not read, a key given twice in them). */
static int fast_tool_call(at_buf *b, at_js tc, int *first)
{
    at_js_it it;
    at_js k, v, type = {NULL, 0, NULL, 0}, fn = {NULL, 0, NULL, 0};
    at_js id = {NULL, 0, NULL, 0}, name = id, args = id, input = id;
    char t[64];
    int r, has_type;

    if (!at_js_obj(tc, &it))
        return -1;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "type"))
            type = v;
        else if (AT_JS_KEY(k, "function"))
            fn = v;
        else if (AT_JS_KEY(k, "id"))
            id = v;
    }
    if ((r = at_jf_name(type, t, sizeof(t))) < 0)
        return -1;
    has_type = r;
    if (at_js_kind(fn) != AT_JS_OBJECT && has_type)
        fn = at_jf_member(tc, t, strlen(t));  /* a custom tool's {"custom":..} */
    if (at_js_kind(fn) != AT_JS_OBJECT)
        fn = tc;
    at_js_obj(fn, &it);
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "name"))
            name = v;
        else if (AT_JS_KEY(k, "arguments"))
            args = v;
        else if (AT_JS_KEY(k, "input"))
            input = v;
    }
    if (args.p == NULL)
        args = input;
    at_jf_sep(b, first);
    AT_JW_LIT(b, "{\"type\":\"tool_call\"");
    if (at_js_kind(id) == AT_JS_STRING) {
        AT_JW_LIT(b, ",\"id\":");
        at_jf_str(b, id);
    }
    if (at_js_kind(name) == AT_JS_STRING) {
        AT_JW_LIT(b, ",\"name\":");
        at_jf_str(b, name);
    }
    if (at_jf_args(b, args) < 0)
        return -1;
    AT_JW_LIT(b, "}");
    return 0;
}

/* fast_request_message: request_message(tree of m), written as JSON text
 * to b after a comma unless *first, without the tree.  1 when written, and
 * then the mark's `responses` and id when it holds a tool_call_response
 * part (the id's text in b, quotes included; none when it has no id), and
 * *tools set when it holds that or a tool_call part; 0 when there is
 * nothing to write (no role: request_message gives NULL), -1 when the tree
 * must judge it (the caller drops what was written). */
static int fast_request_message(at_buf *b, at_js m, int *first, int *tools,
                                at_attr_mark *mk)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, role = none, content = none, reasoning = none;
    at_js calls = none, fcall = none, call_id = none;
    char r[64];
    int pfirst = 1;

    if (!at_js_obj(m, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "role"))
            role = v;
        else if (AT_JS_KEY(k, "content"))
            content = v;
        else if (AT_JS_KEY(k, "reasoning_content"))
            reasoning = v;
        else if (AT_JS_KEY(k, "tool_calls"))
            calls = v;
        else if (AT_JS_KEY(k, "function_call"))
            fcall = v;
        else if (AT_JS_KEY(k, "tool_call_id"))
            call_id = v;
    }
    switch (at_jf_name(role, r, sizeof(r))) {
    case 0:
        return 0;
    case -1:
        return -1;
    }
    at_jf_message_open(b, r, first);
    if (strcmp(r, "tool") == 0) {
        at_jf_response_open(b, call_id, mk);
        if (at_jf_response_close(b, content, 0) < 0)
            return -1;
        AT_JW_LIT(b, "]}");
        *tools = 1;
        return 1;
    }
    if (at_js_kind(reasoning) == AT_JS_STRING && !at_js_str_empty(reasoning))
        at_jf_part(b, "reasoning", reasoning, &pfirst);
    if (fast_content(b, content, &pfirst) < 0)
        return -1;
    if (at_js_arr(calls, &it)) {
        while (at_js_next(&it, &v) > 0) {
            if (at_js_kind(v) != AT_JS_OBJECT)
                continue;
            if (fast_tool_call(b, v, &pfirst) < 0)
                return -1;
            *tools = 1;
        }
    }
    if (at_js_kind(fcall) == AT_JS_OBJECT) {
        if (fast_tool_call(b, fcall, &pfirst) < 0)
            return -1;
        *tools = 1;
    }
    AT_JW_LIT(b, "]}");
    return 1;
}


/* fast_definition: {"type":..,"name":..,"description":..,"parameters":..}
 * of tool_definitions for one entry of `tools` (or, with `type` given,
 * of the legacy `functions`), after a comma unless *first.  0, or -1
 * where the tree must judge. */
static int fast_definition(at_buf *b, at_js t, const char *type, int *first)
{
    at_js_it it;
    at_js k, v, fn, name = {NULL, 0, NULL, 0}, desc = {NULL, 0, NULL, 0};
    at_js params = {NULL, 0, NULL, 0};
    char ty[64];

    if (at_js_kind(t) != AT_JS_OBJECT)
        return 0;
    fn = t;
    if (type == NULL) {
        switch (at_jf_name(AT_JF_MEMBER(t, "type"), ty, sizeof(ty))) {
        case -1:
            return -1;
        case 0:
            strcpy(ty, "function");
        }
        type = ty;
        fn = at_jf_member(t, ty, strlen(ty));
        if (at_js_kind(fn) != AT_JS_OBJECT)
            fn = t;
    }
    at_js_obj(fn, &it);
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "name"))
            name = v;
        else if (AT_JS_KEY(k, "description"))
            desc = v;
        else if (AT_JS_KEY(k, "parameters"))
            params = v;
    }
    return at_jf_definition(b, type, name, desc, params, first);
}

/* fast_definitions: gen_ai.tool.definitions as JSON text, from `tools`
 * and `functions` (tool_definitions without the tree).  1 when set (or
 * nothing to set: neither is an array), 0 when the tree must make it. */
static int fast_definitions(at_js tools, at_js funcs, at_attrs *list)
{
    at_js_it it;
    at_js v;
    at_buf *b;
    size_t mark;
    int first = 1;

    if (at_js_kind(tools) != AT_JS_ARRAY && at_js_kind(funcs) != AT_JS_ARRAY)
        return 1;
    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[");
    if (at_js_arr(tools, &it))
        while (at_js_next(&it, &v) > 0)
            if (fast_definition(b, v, NULL, &first) < 0)
                goto tree;
    if (at_js_arr(funcs, &it))
        while (at_js_next(&it, &v) > 0)
            if (fast_definition(b, v, "function", &first) < 0)
                goto tree;
    AT_JW_LIT(b, "]");
    if (!b->truncated) {
        at_attrs_close(list, "gen_ai.tool.definitions", mark, AT_ATTR_RAW, 0);
        return 1;
    }
tree:
    at_attrs_drop(list, mark);
    return 0;
}

/* The one choice of a response, as fast_reply_read reads it. */
typedef struct fast_reply {
    at_js content, refusal, finish_reason, calls, fcall;
    char role[64];
} fast_reply;

/* fast_reply_read: the one choice of a response, when it is of the common
 * shape: an object whose message is an object with a plain role, content
 * and refusal, no reasoning, tool calls or legacy text.  0 otherwise. */
static int fast_reply_read(at_js c, fast_reply *r)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, msg = none, role = none;

    r->content = r->refusal = r->finish_reason = r->calls = r->fcall = none;
    if (!at_js_obj(c, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "message"))
            msg = v;
        else if (AT_JS_KEY(k, "finish_reason"))
            r->finish_reason = v;
        else if (AT_JS_KEY(k, "text"))
            return 0;
    }
    if (!at_js_obj(msg, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "role"))
            role = v;
        else if (AT_JS_KEY(k, "content"))
            r->content = v;
        else if (AT_JS_KEY(k, "refusal"))
            r->refusal = v;
        else if (AT_JS_KEY(k, "tool_calls"))
            r->calls = v;
        else if (AT_JS_KEY(k, "function_call"))
            r->fcall = v;
        else if (AT_JS_KEY(k, "reasoning_content") ||
                 AT_JS_KEY(k, "reasoning"))
            return 0;
    }
    if (role.p == NULL)
        strcpy(r->role, "assistant");
    else if (!at_jf_word(role, r->role, sizeof(r->role)))
        return 0;
    return fast_plain_kind(r->content) && fast_plain_kind(r->refusal);
}

/* fast_usage_counts: read_usage for an object slice.  0 when one of its
 * counts is a number only the tree reads (u untouched). */
static int fast_usage_counts(at_js usage, at_llm_usage *u)
{
    at_js_it it;
    at_js k, v, pt = {NULL, 0, NULL, 0}, ct = {NULL, 0, NULL, 0};
    at_js hit = {NULL, 0, NULL, 0}, pd = {NULL, 0, NULL, 0};
    at_js cd = {NULL, 0, NULL, 0};
    int64_t c[5] = {0, 0, 0, 0, 0};
    int r[5], i;

    if (!at_js_obj(usage, &it))
        return 1;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "prompt_tokens"))
            pt = v;
        else if (AT_JS_KEY(k, "completion_tokens"))
            ct = v;
        else if (AT_JS_KEY(k, "prompt_tokens_details"))
            pd = v;
        else if (AT_JS_KEY(k, "prompt_cache_hit_tokens"))
            hit = v;
        else if (AT_JS_KEY(k, "completion_tokens_details"))
            cd = v;
    }
    r[0] = at_jf_count(pt, &c[0]);
    r[1] = at_jf_count(ct, &c[1]);
    r[2] = at_jf_count(AT_JF_MEMBER(pd, "cached_tokens"), &c[2]);
    r[3] = at_jf_count(hit, &c[3]);
    r[4] = at_jf_count(AT_JF_MEMBER(cd, "reasoning_tokens"), &c[4]);
    for (i = 0; i < 5; i++)
        if (r[i] < 0)
            return 0;
    if (r[0])
        u->input = c[0];
    if (r[1])
        u->output = c[1];
    if (r[2])
        u->cache_read = c[2];
    else if (r[3]) /* DeepSeek */
        u->cache_read = c[3];
    if (r[4])
        u->reasoning = c[4];
    return 1;
}

int at_openai_request_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, msgs = none, mct = none;
    at_js seed = none, stop = none, tools = none, funcs = none;
    at_jf_params pr = {none, none, none, none, none};
    json_t *rest = NULL, *defs;
    int64_t n;

    if (!at_js_obj(root, &it))
        return 0;
    /* the last of each member, as a tree of the body would hold it */
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "messages"))
            msgs = v;
        else if (at_jf_param(&pr, k, v))
            continue;
        else if (AT_JS_KEY(k, "max_completion_tokens"))
            mct = v;
        else if (AT_JS_KEY(k, "seed"))
            seed = v;
        else if (AT_JS_KEY(k, "stop"))
            stop = v;
        else if (AT_JS_KEY(k, "tools"))
            tools = v;
        else if (AT_JS_KEY(k, "functions"))
            funcs = v;
    }
    /* request_params from here */
    at_jf_params_set(&pr, list);
    if (at_jf_count_value(mct, &n))
        at_attrs_set_i64(list, "gen_ai.request.max_tokens", n);
    if (at_js_kind(seed) == AT_JS_NUMBER && at_js_int(seed, &n))
        at_attrs_set_i64(list, "gen_ai.request.seed", n);
    if (at_js_kind(stop) == AT_JS_STRING || at_js_kind(stop) == AT_JS_ARRAY) {
        json_t *o = json_object(), *j = at_llm_tree(stop);

        if (o != NULL && j != NULL) {
            at_llm_set_stop(o, j);
            at_attrs_take(list, o);
        } else {
            json_decref(o);
        }
        json_decref(j);
    }
    at_jf_messages(msgs, list, "gen_ai.input.messages", fast_request_message,
                   request_message);
    if (fast_definitions(tools, funcs, list))
        return 1;
    /* tools and functions as a tree, read by tool_definitions */
    rest = json_object();
    if (rest == NULL ||
        (tools.p && json_object_set_new_nocheck(rest, "tools",
                                                at_llm_tree(tools)) < 0) ||
        (funcs.p && json_object_set_new_nocheck(rest, "functions",
                                                at_llm_tree(funcs)) < 0)) {
        json_decref(rest);
        list->failed = 1;
        return 1;
    }
    defs = tool_definitions(rest);
    if (defs != NULL)
        at_attrs_set_json(list, "gen_ai.tool.definitions", defs);
    json_decref(rest);
    return 1;
}

/* fast_reply_write: output_message of the one choice r read, as JSON
 * text: the array of that message.  *tools set when it holds tool calls;
 * -1 where the tree must judge one of them. */
static int fast_reply_write(at_buf *b, const fast_reply *r, int *tools)
{
    at_js_it it;
    at_js v;
    int first;

    AT_JW_LIT(b, "[{\"role\":");
    at_jw_jstr(b, r->role, strlen(r->role));
    AT_JW_LIT(b, ",\"parts\":[");
    first = !at_jf_text_part(b, "text", r->content, 1);
    if (at_jf_text_part(b, "refusal", r->refusal, first))
        first = 0;
    if (at_js_arr(r->calls, &it)) {
        while (at_js_next(&it, &v) > 0) {
            if (at_js_kind(v) != AT_JS_OBJECT)
                continue;
            if (fast_tool_call(b, v, &first) < 0)
                return -1;
            *tools = 1;
        }
    }
    if (at_js_kind(r->fcall) == AT_JS_OBJECT) {
        if (fast_tool_call(b, r->fcall, &first) < 0)
            return -1;
        *tools = 1;
    }
    AT_JW_LIT(b, "]");
    if (at_js_kind(r->finish_reason) == AT_JS_STRING) {
        AT_JW_LIT(b, ",\"finish_reason\":");
        at_jf_str(b, r->finish_reason);
    }
    AT_JW_LIT(b, "}]");
    return 0;
}

int at_openai_response_fast(at_js root, at_attrs *list)
{
    at_js_it it, ci;
    at_js k, v, id = {NULL, 0, NULL, 0}, model = {NULL, 0, NULL, 0};
    at_js usage = {NULL, 0, NULL, 0}, choices = {NULL, 0, NULL, 0};
    at_js c = {NULL, 0, NULL, 0};
    fast_reply r;
    at_llm_usage u;
    int n = 0, fr, tools = 0, aside;
    json_t *j;
    at_buf *b, out;
    size_t mark;

    if (!at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "id"))
            id = v;
        else if (AT_JS_KEY(k, "model"))
            model = v;
        else if (AT_JS_KEY(k, "usage"))
            usage = v;
        else if (AT_JS_KEY(k, "choices"))
            choices = v;
    }
    if (at_js_arr(choices, &ci))
        while (at_js_next(&ci, &v) > 0 && ++n == 1)
            c = v;
    if (n > 1 || (n == 1 && !fast_reply_read(c, &r)))
        return 0; /* several choices (sorted by index), or beyond us */
    /* [{"role":..,"parts":[..],"finish_reason":..}]; with tool calls,
     * written aside first: one only the tree reads leaves the list
     * untouched */
    at_buf_init(&out, (size_t)1 << 30);
    aside = n == 1 && (r.calls.p != NULL || r.fcall.p != NULL);
    if (aside && fast_reply_write(&out, &r, &tools) < 0) {
        at_buf_free(&out);
        return 0;
    }
    /* at_openai_response from here */
    at_jf_set_string(list, "gen_ai.response.id", id);
    at_jf_set_string(list, "gen_ai.response.model", model);
    at_llm_usage_init(&u);
    if (!fast_usage_counts(usage, &u)) {
        j = at_llm_tree(usage);
        read_usage(j, &u);
        json_decref(j);
    }
    at_llm_usage_emit_list(&u, list);
    if (n == 0)
        return 1;
    if (!aside) {
        b = at_attrs_open(list, &mark);
        fast_reply_write(b, &r, &tools); /* no tool calls: cannot fail */
        at_attrs_close(list, "gen_ai.output.messages", mark, AT_ATTR_RAW, 1);
    } else if (out.truncated) {
        list->failed = 1;
    } else {
        at_attrs_set_raw(list, "gen_ai.output.messages", out.p, out.len,
                         !tools);
    }
    at_buf_free(&out);
    fr = at_js_kind(r.finish_reason) == AT_JS_STRING;
    if (fr) {
        /* the same reason again, as the whole of an array */
        b = at_attrs_open(list, &mark);
        AT_JW_LIT(b, "[");
        at_jf_str(b, r.finish_reason);
        AT_JW_LIT(b, "]");
        at_attrs_close(list, "gen_ai.response.finish_reasons", mark,
                       AT_ATTR_RAW, 0);
    }
    return 1;
}

void at_openai_completions_response(const json_t *root, json_t *attrs)
{
    /* the same shape, with `text` in place of `message` */
    at_openai_response(root, attrs);
}

void at_openai_embeddings_response(const json_t *root, json_t *attrs)
{
    const json_t *data = json_object_get(root, "data");
    at_llm_usage u;

    at_llm_set_string(attrs, "gen_ai.response.model", root, "model");
    at_llm_set_string(attrs, "gen_ai.response.id", root, "id");
    at_llm_usage_init(&u);
    read_usage(json_object_get(root, "usage"), &u);
    /* embeddings produce no tokens: a completion count is not output */
    u.output = -1;
    at_llm_usage_emit(&u, attrs);
    at_llm_embedding_dims(attrs, json_object_get(json_array_get(data, 0),
                                                 "embedding"));
}

/* find_tool_by_id: the tool-call part of `c` with this id, or NULL. */
static at_llm_part *find_tool_by_id(at_llm_choice *c, const char *id)
{
    size_t i;

    for (i = c->nparts; i > 0; i--) {
        at_llm_part *p = &c->parts[i - 1];

        if (p->kind == AT_PART_TOOL_CALL && p->id != NULL &&
            strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

/* last_tool: the newest tool-call part of `c`, or NULL. */
static at_llm_part *last_tool(at_llm_choice *c)
{
    size_t i;

    for (i = c->nparts; i > 0; i--)
        if (c->parts[i - 1].kind == AT_PART_TOOL_CALL)
            return &c->parts[i - 1];
    return NULL;
}

/* stream_tool_part: the part a `tool_calls` delta entry belongs to: by
 * `index`; without one (some compatible servers), by `id`, else the newest
 * tool call. */
static at_llm_part *stream_tool_part(at_llm_choice *c, const json_t *tc)
{
    const json_t *ix = json_object_get(tc, "index");
    const char *id = at_llm_str(tc, "id");
    at_llm_part *p;

    if (json_is_integer(ix)) {
        if (json_integer_value(ix) < 0 ||
            json_integer_value(ix) > MAX_INDEX)
            return NULL;
        return at_llm_choice_part(c, AT_PART_TOOL_CALL,
                                  (long)json_integer_value(ix), 1);
    }
    if (id != NULL && *id != '\0') {
        p = find_tool_by_id(c, id);
        if (p != NULL)
            return p;
        return at_llm_choice_part(c, AT_PART_TOOL_CALL,
                                  KEY_UNINDEXED_BASE - at_llm_choice_tools(c),
                                  1);
    }
    p = last_tool(c);
    if (p != NULL)
        return p;
    return at_llm_choice_part(c, AT_PART_TOOL_CALL, KEY_UNINDEXED_BASE, 1);
}

/* stream_tool_fragment: fold one tool-call fragment (`tool_calls` entry
 * or legacy `function_call`) into part `p`.  Returns 1 when it carried an
 * id, a name or argument bytes. */
static int stream_tool_fragment(at_llm_part *p, const json_t *tc)
{
    const json_t *fn = json_object_get(tc, "function");
    const json_t *v;
    int out = 0;

    if (!json_is_object(fn))
        fn = tc;
    v = json_object_get(tc, "id");
    if (p->id == NULL && json_is_string(v) && json_string_length(v) > 0) {
        at_llm_keep(&p->id, v);
        out = 1;
    }
    v = json_object_get(fn, "name");
    if (p->name == NULL && json_is_string(v) && json_string_length(v) > 0) {
        at_llm_keep(&p->name, v);
        out = 1;
    }
    v = json_object_get(fn, "arguments");
    if (json_is_string(v))
        out |= at_llm_part_append_str(p, v);
    else if (json_is_object(v) && p->input == NULL)
        p->input = json_incref((json_t *)v);
    return out;
}

/* stream_delta: fold one choice's `delta` into choice `c`.  Returns 1 when
 * it carried output. */
static int stream_delta(at_llm_choice *c, const json_t *delta)
{
    static const struct {
        char member[24];
        at_llm_part_kind kind;
        long key;
    } text_members[] = {
        {"reasoning_content", AT_PART_REASONING, KEY_REASONING},
        {"reasoning", AT_PART_REASONING, KEY_REASONING},
        {"content", AT_PART_TEXT, KEY_TEXT},
        {"refusal", AT_PART_REFUSAL, KEY_REFUSAL},
    };
    const json_t *v, *tc;
    at_llm_part *p;
    size_t i;
    int out = 0;

    for (i = 0; i < sizeof(text_members) / sizeof(text_members[0]); i++) {
        /* Servers that send both reasoning spellings send the same text */
        if (i == 1 && json_is_string(json_object_get(delta,
                                                     "reasoning_content")))
            continue;
        v = json_object_get(delta, text_members[i].member);
        if (!json_is_string(v) || json_string_length(v) == 0)
            continue;
        p = at_llm_choice_part(c, text_members[i].kind, text_members[i].key,
                               1);
        if (p != NULL)
            out |= at_llm_part_append_str(p, v);
    }
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc) {
        if (!json_is_object(tc))
            continue;
        p = stream_tool_part(c, tc);
        if (p != NULL)
            out |= stream_tool_fragment(p, tc);
    }
    v = json_object_get(delta, "function_call");
    if (json_is_object(v)) {
        p = at_llm_choice_part(c, AT_PART_TOOL_CALL, KEY_FUNCTION_CALL, 1);
        if (p != NULL)
            out |= stream_tool_fragment(p, v);
    }
    return out;
}

/* is_done: whether data is the "[DONE]" marker (surrounding blanks
 * allowed). */
static int is_done(const char *data, size_t len)
{
    if (len > 0 && *data == '{')
        return 0; /* every chunk but the last */
    while (len > 0 && (*data == ' ' || *data == '\t' || *data == '\r' ||
                       *data == '\n')) {
        data++;
        len--;
    }
    while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t' ||
                       data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

/* ------------------------------------------------------------------ */
/* The fast path.  A chunk is read with the scanner (jscan.h) into the   */
/* slices below, and only then folded into the stream, so a chunk it    */
/* cannot read exactly as the jansson path would (an error object, a    */
/* tool call's arguments given as an object, more choices or tool calls */
/* than it keeps) goes to that path untouched.                          */
/* ------------------------------------------------------------------ */

#define FAST_CHOICES 4
#define FAST_TOOLS 8
#define FAST_TOKENS 192

typedef struct fast_tool {
    at_js index, id, name, arguments; /* name/arguments: of `function`, or
                                         of the entry itself without one */
} fast_tool;

typedef struct fast_choice {
    at_js index, finish_reason, text;
    at_js texts[4]; /* reasoning_content, reasoning, content, refusal */
    fast_tool tools[FAST_TOOLS];
    int ntools;
    int function_call; /* a legacy function_call object was sent */
    fast_tool fcall;
} fast_choice;

typedef struct fast_chunk {
    at_js_tok tok[FAST_TOKENS]; /* a chunk with more values (logprobs)
                                   takes the jansson path */
    at_js_doc_t doc;
    at_js id, model, usage, x_groq;
    fast_choice choices[FAST_CHOICES];
    int nchoices;
} fast_chunk;

/* fast_fn: name and arguments of a tool-call fragment (`function`, or the
 * entry itself).  0 when they cannot be read on this path. */
static int fast_fn(at_js obj, fast_tool *t)
{
    at_js_it it;
    at_js k, v;
    int r;

    if (!at_js_obj(obj, &it))
        return 0;
    t->name.p = t->arguments.p = NULL;
    while ((r = at_js_next_member(&it, &k, &v)) > 0) {
        if (AT_JS_KEY(k, "name"))
            t->name = v;
        else if (AT_JS_KEY(k, "arguments"))
            t->arguments = v;
    }
    /* arguments as an object (some servers) keep a JSON value: slow path */
    return r == 0 && at_js_kind(t->arguments) != AT_JS_OBJECT;
}

/* fast_tool_entry: one `tool_calls` entry or a `function_call` object. */
static int fast_tool_entry(at_js tc, fast_tool *t)
{
    at_js_it it;
    at_js k, v, fn = {NULL, 0, NULL, 0};
    int r;

    memset(t, 0, sizeof(*t));
    if (!at_js_obj(tc, &it))
        return 0;
    while ((r = at_js_next_member(&it, &k, &v)) > 0) {
        if (AT_JS_KEY(k, "index"))
            t->index = v;
        else if (AT_JS_KEY(k, "id"))
            t->id = v;
        else if (AT_JS_KEY(k, "function"))
            fn = v;
    }
    if (r != 0)
        return 0;
    return fast_fn(at_js_kind(fn) == AT_JS_OBJECT ? fn : tc, t);
}

static int fast_delta(at_js delta, fast_choice *c)
{
    at_js_it it, ai;
    at_js k, v, tools = {NULL, 0, NULL, 0}, fcall = {NULL, 0, NULL, 0}, e;
    int r;

    if (!at_js_obj(delta, &it))
        return 1; /* not an object: nothing in it (as json_object_get) */
    while ((r = at_js_next_member(&it, &k, &v)) > 0) {
        if (AT_JS_KEY(k, "content"))
            c->texts[2] = v;
        else if (AT_JS_KEY(k, "reasoning_content"))
            c->texts[0] = v;
        else if (AT_JS_KEY(k, "reasoning"))
            c->texts[1] = v;
        else if (AT_JS_KEY(k, "refusal"))
            c->texts[3] = v;
        else if (AT_JS_KEY(k, "tool_calls"))
            tools = v;
        else if (AT_JS_KEY(k, "function_call"))
            fcall = v;
    }
    if (r != 0)
        return 0;
    c->ntools = 0;
    if (at_js_arr(tools, &ai)) {
        while ((r = at_js_next(&ai, &e)) > 0) {
            if (at_js_kind(e) != AT_JS_OBJECT)
                continue;
            if (c->ntools == FAST_TOOLS ||
                !fast_tool_entry(e, &c->tools[c->ntools]))
                return 0;
            c->ntools++;
        }
        if (r != 0)
            return 0;
    }
    c->function_call = at_js_kind(fcall) == AT_JS_OBJECT;
    if (c->function_call && !fast_tool_entry(fcall, &c->fcall))
        return 0;
    return 1;
}

/* What a walk of a chunk found, kept for the chunks of the same shape and
 * keys (doc.gen, see at_llm_scan_chunk): the walk goes by keys and kinds
 * only, so on such a chunk it would find the same tokens in the same
 * slices.  Each slice is kept as its place in fast_chunk and its token. */
#define FAST_TPL_SLICES 48

typedef struct fast_tpl {
    uint32_t gen; /* 0: none */
    int nchoices;
    int ntools[FAST_CHOICES];
    int function_call[FAST_CHOICES];
    int n;
    struct {
        uint16_t at; /* offset of the at_js in fast_chunk */
        uint16_t tok;
    } slice[FAST_TPL_SLICES];
    /* The delta path (tpl_delta), for a template whose fold appends one
     * text and does nothing else a second fold would not repeat: */
    int delta;          /* 1: the template allows it */
    uint16_t delta_tok; /* the token of that text */
    uint8_t delta_part; /* its text_parts entry */
    uint8_t has_id, has_model; /* an id/model string the fold keeps */
    long delta_index;   /* the choice's index */
    uint64_t read[(FAST_TOKENS + 63) / 64]; /* tokens the fold reads,
                                               delta_tok aside */
    /* where the text went last (tpl_delta): the choice's and the part's
     * places, valid while the stream holds as many choices and the choice
     * as many parts (both only grow, choices by insertion) */
    int cached;
    size_t c_at, c_n, p_at, p_n;
} fast_tpl;

/* The parts the texts of a choice go to: reasoning_content, reasoning,
 * content, refusal, and the legacy Completions `text`. */
static const struct {
    at_llm_part_kind kind;
    long key;
} text_parts[5] = {
    {AT_PART_REASONING, KEY_REASONING},
    {AT_PART_REASONING, KEY_REASONING},
    {AT_PART_TEXT, KEY_TEXT},
    {AT_PART_REFUSAL, KEY_REFUSAL},
    {AT_PART_TEXT, KEY_TEXT},
};

static int tpl_add(fast_tpl *t, const fast_chunk *f, const at_js *v)
{
    if (v->p == NULL)
        return 1;
    if (t->n == FAST_TPL_SLICES)
        return 0;
    t->slice[t->n].at = (uint16_t)((const char *)v - (const char *)f);
    t->slice[t->n].tok = (uint16_t)v->i;
    t->n++;
    return 1;
}

static int tpl_add_tool(fast_tpl *t, const fast_chunk *f, const fast_tool *x)
{
    return tpl_add(t, f, &x->index) && tpl_add(t, f, &x->id) &&
           tpl_add(t, f, &x->name) && tpl_add(t, f, &x->arguments);
}

/* choice_index: the index fast_fold files choice c under in *index (0
 * when it has none, or one that is not an integer); 0 when it is out of
 * range (fast_fold skips the choice). */
static int choice_index(const fast_choice *c, int64_t *index)
{
    *index = 0;
    return !(at_js_kind(c->index) == AT_JS_NUMBER &&
             at_js_int(c->index, index) &&
             (*index < 0 || *index > MAX_INDEX));
}

/* choice_text: the slice of text j of choice c (0-3: texts[j], with its
 * part in text_parts[j]; 4: the legacy `text`) that fast_fold appends, or
 * NULL when it appends none from it: not a string, or `reasoning` when
 * `reasoning_content` is one (servers that send both spellings send the
 * same text). */
static const at_js *choice_text(const fast_choice *c, int j)
{
    const at_js *x = j < 4 ? &c->texts[j] : &c->text;

    if (at_js_kind(*x) != AT_JS_STRING ||
        (j == 1 && at_js_kind(c->texts[0]) == AT_JS_STRING))
        return NULL;
    return x;
}

/* tpl_keep_delta: whether chunks of template t (just kept from walked
 * chunk f) may take the delta path, and what it needs.  A chunk of the
 * template differs from f only in strings (numbers, kinds and keys are
 * the same), so what fast_fold does with any value but strings is what it
 * did with f's: the template qualifies when its one choice has exactly one
 * text fast_fold would append (a string), no tool calls, no finish reason
 * and no usage (strings or objects a second fold would apply again, in
 * their order with others). */
static void tpl_keep_delta(fast_tpl *t, const fast_chunk *f)
{
    const fast_choice *c = &f->choices[0];
    const at_js *text = NULL, *x;
    int j, k, found = -1;
    int64_t index;

    t->delta = 0;
    t->cached = 0;
    memset(t->read, 0, sizeof(t->read));
    if (f->nchoices != 1 || c->ntools != 0 || c->function_call ||
        at_js_kind(f->usage) == AT_JS_OBJECT ||
        at_js_kind(f->x_groq) == AT_JS_OBJECT ||
        at_js_kind(c->finish_reason) == AT_JS_STRING ||
        !choice_index(c, &index))
        return;
    for (j = 0; j < 5; j++) {
        if ((x = choice_text(c, j)) == NULL)
            continue;
        if (found >= 0)
            return; /* two texts */
        found = j;
        text = x;
    }
    if (found < 0)
        return;
    for (k = 0; k < t->n; k++) {
        uint32_t a = t->slice[k].tok, b = f->tok[a].next, i;

        for (i = a; i < b && i < FAST_TOKENS; i++)
            t->read[i >> 6] |= (uint64_t)1 << (i & 63);
    }
    t->delta_tok = (uint16_t)text->i;
    t->read[t->delta_tok >> 6] &= ~((uint64_t)1 << (t->delta_tok & 63));
    t->delta_part = (uint8_t)found;
    t->delta_index = (long)index;
    t->has_id = at_js_kind(f->id) == AT_JS_STRING;
    t->has_model = at_js_kind(f->model) == AT_JS_STRING;
    t->delta = 1;
}

/* tpl_keep: make *t the template of walked chunk f. */
static void tpl_keep(fast_tpl *t, const fast_chunk *f)
{
    int i, j, ok;

    t->gen = 0;
    t->n = 0;
    t->nchoices = f->nchoices;
    ok = tpl_add(t, f, &f->id) && tpl_add(t, f, &f->model) &&
         tpl_add(t, f, &f->usage) && tpl_add(t, f, &f->x_groq);
    for (i = 0; ok && i < f->nchoices; i++) {
        const fast_choice *c = &f->choices[i];

        t->ntools[i] = c->ntools;
        t->function_call[i] = c->function_call;
        ok = tpl_add(t, f, &c->index) && tpl_add(t, f, &c->finish_reason) &&
             tpl_add(t, f, &c->text);
        for (j = 0; ok && j < 4; j++)
            ok = tpl_add(t, f, &c->texts[j]);
        for (j = 0; ok && j < c->ntools; j++)
            ok = tpl_add_tool(t, f, &c->tools[j]);
        if (ok && c->function_call)
            ok = tpl_add_tool(t, f, &c->fcall);
    }
    if (ok) {
        t->gen = f->doc.gen;
        tpl_keep_delta(t, f);
    }
}

/* Chunks read from a template (tests). */
long at_openai_tpl_hits;

/* tpl_apply: fill f's slices from template t, as the walk would, with
 * the tokens of the slices (and inside them) patched from pt. */
static void tpl_apply(const fast_tpl *t, const at_js_patch *pt,
                      fast_chunk *f)
{
    const at_js_tok *st = pt->sh->tok;
    int i;

    at_openai_tpl_hits++;
    at_js_patch_doc(pt, f->tok, FAST_TOKENS, &f->doc);
    memset(&f->id, 0, offsetof(fast_chunk, choices) -
                          offsetof(fast_chunk, id));
    f->nchoices = t->nchoices;
    for (i = 0; i < t->nchoices; i++) {
        fast_choice *c = &f->choices[i];

        memset(c, 0, offsetof(fast_choice, tools));
        memset(c->tools, 0, (size_t)t->ntools[i] * sizeof(c->tools[0]));
        memset(&c->fcall, 0, sizeof(c->fcall));
        c->ntools = t->ntools[i];
        c->function_call = t->function_call[i];
    }
    for (i = 0; i < t->n; i++) {
        at_js *v = (at_js *)(void *)((char *)f + t->slice[i].at);
        uint32_t ti = t->slice[i].tok;
        const at_js_tok *k = &f->tok[ti];

        if (st[ti].next == ti + 1)
            at_js_patch_leaf(pt, ti, f->tok);
        else
            at_js_patch_toks(pt, ti, st[ti].next, f->tok);
        v->p = f->doc.text + k->off;
        v->n = k->len;
        v->doc = &f->doc;
        v->i = ti;
    }
}

/* Chunks folded by tpl_delta (tests). */
long at_openai_delta_hits;


/* tpl_delta: fast_fold for a chunk of template t (a delta template, see
 * tpl_keep_delta) that differs from the template's shape in its text or
 * in strings the fold does not read (an `obfuscation` pad, a fingerprint):
 * append the text, as fast_fold would, without filling the slices.
 * Returns fast_fold's result, or -1 when the chunk needs the whole fold (a
 * string the fold reads changed; no id or model kept yet). */
static int tpl_delta(at_llm_stream *s, fast_tpl *t,
                     const at_js_patch *pt, fast_chunk *f)
{
    uint32_t tk = t->delta_tok;
    at_llm_choice *ch;
    at_llm_part *p;
    at_js v;
    int k;

    for (k = 0; k < pt->nch; k++) {
        uint32_t c = pt->ch[k].tok;

        if (c < FAST_TOKENS && (t->read[c >> 6] >> (c & 63) & 1))
            return -1;
    }
    if ((t->has_id && s->id == NULL) || (t->has_model && s->model == NULL))
        return -1; /* at_llm_keep_js would keep a value: the whole fold */
    at_openai_delta_hits++;
    at_js_patch_doc(pt, f->tok, FAST_TOKENS, &f->doc);
    at_js_patch_leaf(pt, tk, f->tok);
    v.p = f->doc.text + f->tok[tk].off;
    v.n = f->tok[tk].len;
    v.doc = &f->doc;
    v.i = tk;
    if (t->cached && s->nchoices == t->c_n &&
        s->choices[t->c_at].nparts == t->p_n) {
        /* nothing added since: the look-ups would find the same */
        if (at_js_str_empty(v))
            return 0;
        return at_llm_part_append_js(&s->choices[t->c_at].parts[t->p_at], v);
    }
    ch = at_llm_stream_choice(s, t->delta_index);
    if (ch == NULL || at_js_str_empty(v))
        return 0;
    p = at_llm_choice_part(ch, text_parts[t->delta_part].kind,
                           text_parts[t->delta_part].key, 1);
    if (p == NULL)
        return 0;
    t->cached = 1;
    t->c_at = (size_t)(ch - s->choices);
    t->c_n = s->nchoices;
    t->p_at = (size_t)(p - ch->parts);
    t->p_n = ch->nparts;
    return at_llm_part_append_js(p, v);
}

/* fast_read: the chunk's slices; 0 when this path cannot take it. */
static int fast_walk(fast_chunk *f, at_js_it it);

static int fast_read(at_llm_stream *s, const char *data, size_t len,
                     fast_chunk *f, int *folded)
{
    at_js root;
    at_js_it it;
    at_js_patch pt;
    fast_tpl *tpl = s->fast;

    if (s->shape.ntok > 0 && s->shape.ntok <= FAST_TOKENS &&
        at_js_rescan(&s->shape, data, len, &pt)) {
        /* the kept shape's bytes but in strings: with the same keys, read
         * the template's tokens only */
        if (tpl != NULL && pt.gen != 0 && tpl->gen == pt.gen) {
            if (tpl->delta && (*folded = tpl_delta(s, tpl, &pt, f)) >= 0)
                return 2;
            tpl_apply(tpl, &pt, f);
            return 1;
        }
        at_js_patch_toks(&pt, 0, s->shape.ntok, f->tok);
        at_js_patch_doc(&pt, f->tok, FAST_TOKENS, &f->doc);
        root.p = data + f->tok[0].off;
        root.n = f->tok[0].len;
        root.doc = &f->doc;
        root.i = 0;
    } else if (!at_llm_scan_new(s, data, len, f->tok, FAST_TOKENS, &f->doc,
                                &root)) {
        return 0;
    }
    if (!at_js_obj(root, &it))
        return 0;
    if (!fast_walk(f, it))
        return 0;
    if (f->doc.gen != 0) {
        if (tpl == NULL)
            s->fast = tpl = malloc(sizeof(*tpl));
        if (tpl != NULL)
            tpl_keep(tpl, f);
    }
    return 1;
}

/* fast_walk: the chunk's slices, member by member (`it` at the root's
 * first member). */
static int fast_walk(fast_chunk *f, at_js_it it)
{
    at_js k, v, choices = {NULL, 0, NULL, 0}, e;
    at_js_it ai;
    int r;

    memset(&f->id, 0, offsetof(fast_chunk, choices) -
                          offsetof(fast_chunk, id));
    f->nchoices = 0;
    while ((r = at_js_next_member(&it, &k, &v)) > 0) {
        if (AT_JS_KEY(k, "choices"))
            choices = v;
        else if (AT_JS_KEY(k, "id"))
            f->id = v;
        else if (AT_JS_KEY(k, "model"))
            f->model = v;
        else if (AT_JS_KEY(k, "usage"))
            f->usage = v;
        else if (AT_JS_KEY(k, "x_groq"))
            f->x_groq = v;
        else if (AT_JS_KEY(k, "error") && at_js_kind(v) != AT_JS_NULL)
            return 0;
    }
    if (r != 0)
        return 0;
    if (!at_js_arr(choices, &ai))
        return 1; /* no choices array: no choices (as json_array_foreach) */
    while ((r = at_js_next(&ai, &e)) > 0) {
        fast_choice *c;
        at_js_it ci;
        at_js delta = {NULL, 0, NULL, 0};

        if (at_js_kind(e) != AT_JS_OBJECT)
            continue;
        if (f->nchoices == FAST_CHOICES)
            return 0;
        c = &f->choices[f->nchoices];
        memset(c, 0, offsetof(fast_choice, tools));
        c->ntools = 0;
        c->function_call = 0;
        if (!at_js_obj(e, &ci))
            return 0;
        while ((r = at_js_next_member(&ci, &k, &v)) > 0) {
            if (AT_JS_KEY(k, "delta"))
                delta = v;
            else if (AT_JS_KEY(k, "index"))
                c->index = v;
            else if (AT_JS_KEY(k, "finish_reason"))
                c->finish_reason = v;
            else if (AT_JS_KEY(k, "text"))
                c->text = v;
        }
        if (r != 0 || !fast_delta(delta, c))
            return 0;
        f->nchoices++;
    }
    return r == 0;
}

/* fast_usage: usage objects come once a stream: read with jansson. */
static void fast_usage(at_js v, const char *member, at_llm_usage *u)
{
    json_t *j;

    if (at_js_kind(v) != AT_JS_OBJECT)
        return;
    j = at_llm_parse(v.p, v.n);
    read_usage(member ? json_object_get(j, member) : j, u);
    json_decref(j);
}

/* fast_tool_part: stream_tool_part for a slice. */
static at_llm_part *fast_tool_part(at_llm_choice *c, const fast_tool *t)
{
    int64_t ix;
    at_llm_part *p;

    if (at_js_int(t->index, &ix)) {
        if (ix < 0 || ix > MAX_INDEX)
            return NULL;
        return at_llm_choice_part(c, AT_PART_TOOL_CALL, (long)ix, 1);
    }
    if (!at_js_str_empty(t->id)) {
        char *id = at_js_str_dup(t->id);

        p = id != NULL ? find_tool_by_id(c, id) : NULL;
        free(id);
        if (p != NULL)
            return p;
        return at_llm_choice_part(c, AT_PART_TOOL_CALL,
                                  KEY_UNINDEXED_BASE - at_llm_choice_tools(c),
                                  1);
    }
    p = last_tool(c);
    if (p != NULL)
        return p;
    return at_llm_choice_part(c, AT_PART_TOOL_CALL, KEY_UNINDEXED_BASE, 1);
}

/* fast_tool_fragment: stream_tool_fragment for slices. */
static int fast_tool_fragment(at_llm_part *p, const fast_tool *t)
{
    int out = 0;

    if (p->id == NULL && !at_js_str_empty(t->id)) {
        at_llm_keep_js(&p->id, t->id);
        out = 1;
    }
    if (p->name == NULL && !at_js_str_empty(t->name)) {
        at_llm_keep_js(&p->name, t->name);
        out = 1;
    }
    if (at_js_kind(t->arguments) == AT_JS_STRING)
        out |= at_llm_part_append_js(p, t->arguments);
    return out;
}

static int fast_fold(at_llm_stream *s, const fast_chunk *f)
{
    int out = 0, i, j;

    at_llm_keep_js(&s->id, f->id);
    at_llm_keep_js(&s->model, f->model);
    fast_usage(f->usage, NULL, &s->usage);
    fast_usage(f->x_groq, "usage", &s->usage);
    for (i = 0; i < f->nchoices; i++) {
        const fast_choice *c = &f->choices[i];
        const at_js *x;
        at_llm_choice *ch;
        at_llm_part *p;
        int64_t index;

        if (!choice_index(c, &index))
            continue;
        ch = at_llm_stream_choice(s, (long)index);
        if (ch == NULL)
            continue;
        for (j = 0; j < 4; j++) {
            if ((x = choice_text(c, j)) == NULL || at_js_str_empty(*x))
                continue;
            p = at_llm_choice_part(ch, text_parts[j].kind, text_parts[j].key,
                                   1);
            if (p != NULL)
                out |= at_llm_part_append_js(p, *x);
        }
        for (j = 0; j < c->ntools; j++) {
            p = fast_tool_part(ch, &c->tools[j]);
            if (p != NULL)
                out |= fast_tool_fragment(p, &c->tools[j]);
        }
        if (c->function_call) {
            p = at_llm_choice_part(ch, AT_PART_TOOL_CALL, KEY_FUNCTION_CALL,
                                   1);
            if (p != NULL)
                out |= fast_tool_fragment(p, &c->fcall);
        }
        /* legacy Completions: the choice's own `text` */
        if ((x = choice_text(c, 4)) != NULL && !at_js_str_empty(*x)) {
            p = at_llm_choice_part(ch, text_parts[4].kind, text_parts[4].key,
                                   1);
            if (p != NULL)
                out |= at_llm_part_append_js(p, *x);
        }
        if (!at_js_str_empty(c->finish_reason)) {
            free(ch->finish_reason);
            ch->finish_reason = NULL;
            at_llm_keep_js(&ch->finish_reason, c->finish_reason);
        }
    }
    return out;
}

/* Tests turn the fast path off to compare both paths on the same input. */
int at_openai_fast_off;

int at_openai_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len)
{
    json_t *root, *c;
    const json_t *xg;
    size_t i;
    int out = 0;
    fast_chunk f;

    (void)event;
    (void)event_len; /* chat completions streams name no events */
    if (is_done(data, data_len)) {
        s->st.done = 1;
        return 0;
    }
    if (!at_openai_fast_off) {
        int r = fast_read(s, data, data_len, &f, &out);

        if (r == 2)
            return out;
        if (r == 1)
            return fast_fold(s, &f);
    }
    root = at_llm_parse(data, data_len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    at_llm_stream_status(s, root);
    at_llm_keep(&s->id, json_object_get(root, "id"));
    at_llm_keep(&s->model, json_object_get(root, "model"));
    read_usage(json_object_get(root, "usage"), &s->usage);
    xg = json_object_get(root, "x_groq");
    read_usage(json_object_get(xg, "usage"), &s->usage);
    json_array_foreach(json_object_get(root, "choices"), i, c) {
        const json_t *ix = json_object_get(c, "index");
        const json_t *fr = json_object_get(c, "finish_reason");
        long index = 0;
        at_llm_choice *ch;

        if (!json_is_object(c))
            continue;
        if (json_is_integer(ix)) {
            if (json_integer_value(ix) < 0 ||
                json_integer_value(ix) > MAX_INDEX)
                continue;
            index = (long)json_integer_value(ix);
        }
        ch = at_llm_stream_choice(s, index);
        if (ch == NULL)
            continue;
        out |= stream_delta(ch, json_object_get(c, "delta"));
        /* legacy Completions: the choice's own `text` */
        if (json_is_string(json_object_get(c, "text")) &&
            json_string_length(json_object_get(c, "text")) > 0) {
            at_llm_part *p = at_llm_choice_part(ch, AT_PART_TEXT, KEY_TEXT,
                                                1);

            if (p != NULL)
                out |= at_llm_part_append_str(p, json_object_get(c, "text"));
        }
        at_llm_choice_reason(ch, fr);
    }
    json_decref(root);
    return out;
}
