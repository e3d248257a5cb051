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
    json_object_set_new(part, "type", json_string("tool_call"));
    v = json_object_get(tc, "id");
    if (json_is_string(v))
        json_object_set(part, "id", v);
    v = json_object_get(fn, "name");
    if (json_is_string(v))
        json_object_set(part, "name", v);
    args = json_object_get(fn, "arguments");
    if (args == NULL)
        args = json_object_get(fn, "input");
    if (json_is_string(args))
        json_object_set_new(part, "arguments",
                            at_llm_args(json_string_value(args),
                                        json_string_length(args)));
    else if (args != NULL && !json_is_null(args))
        json_object_set(part, "arguments", args);
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
            json_object_set_new(part, "type",
                                json_string("tool_call_response"));
            if (json_is_string(v))
                json_object_set(part, "id", v);
            if (json_is_array(content))
                json_object_set_new(part, "response",
                                    at_llm_joined_text(content));
            else if (content != NULL && !json_is_null(content))
                json_object_set(part, "response", (json_t *)content);
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
        json_object_set_new(d, "type", json_string(type));
        if (json_is_string(v = json_object_get(fn, "name")))
            json_object_set(d, "name", v);
        if (json_is_string(v = json_object_get(fn, "description")))
            json_object_set(d, "description", v);
        v = json_object_get(fn, "parameters");
        if (v != NULL && !json_is_null(v))
            json_object_set(d, "parameters", v);
        json_array_append_new(defs, d);
    }
    json_array_foreach(funcs, i, t) {
        json_t *d, *v;

        if (!json_is_object(t) || (d = json_object()) == NULL)
            continue;
        json_object_set_new(d, "type", json_string("function"));
        if (json_is_string(v = json_object_get(t, "name")))
            json_object_set(d, "name", v);
        if (json_is_string(v = json_object_get(t, "description")))
            json_object_set(d, "description", v);
        v = json_object_get(t, "parameters");
        if (v != NULL && !json_is_null(v))
            json_object_set(d, "parameters", v);
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
        json_object_set_new(attrs, "gen_ai.input.messages", msgs);
    }
    defs = tool_definitions(root);
    if (defs != NULL)
        json_object_set_new(attrs, "gen_ai.tool.definitions", defs);
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
    json_object_set_new(attrs, "gen_ai.input.messages", (json_t *)v);
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
        json_object_set_new(attrs, "gen_ai.request.encoding_formats", a);
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
        json_object_set(m, "finish_reason", v);
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
        json_object_set_new(attrs, "gen_ai.output.messages", msgs);
    else
        json_decref(msgs);
    if (json_array_size(reasons) > 0)
        json_object_set_new(attrs, "gen_ai.response.finish_reasons",
                            reasons);
    else
        json_decref(reasons);
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
        const char *member;
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

int at_openai_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len)
{
    json_t *root, *c;
    const json_t *xg;
    size_t i;
    int out = 0;

    (void)event;
    (void)event_len; /* chat completions streams name no events */
    if (is_done(data, data_len)) {
        s->st.done = 1;
        return 0;
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
