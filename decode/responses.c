/* responses.c - OpenAI Responses API (POST .../v1/responses): request
 * body, response body and stream events to span attributes.
 *
 * A request's `input` is a string or a list of items: messages (role +
 * content parts), function_call items (a tool call the model made),
 * function_call_output items (its result), reasoning items...  Items of
 * the model's side that follow one another (reasoning, assistant message,
 * function calls) form one assistant message; every tool result is a
 * message of role "tool", as in Chat Completions.  A response's `output`
 * is such a list too, and becomes one assistant message whose
 * finish_reason is the response's `status` ("completed", "incomplete",
 * "failed"): the API has no finish reason of its own.
 *
 * Streams are SSE with named events (the data's "type" repeats the name):
 * response.created, response.output_item.added/done,
 * response.output_text.delta, response.function_call_arguments.delta/done,
 * response.reasoning_summary_text.delta, response.completed (usage),
 * response.incomplete, response.failed, error.
 *
 * Runs on the sink thread only.  Entered through llm.c's dispatch.
 */
#include "llm_int.h"
#include "jfast.h"
#include "jscan.h"
#include "sink/jw.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* An output_index, content_index or summary_index above this is not
 * believed. */
#define MAX_INDEX 4095L

/* The stream part key of content `ci` of output item `oi` (text, refusal,
 * reasoning summaries); reasoning content text uses the negative keys, so
 * that it never meets a summary.  Tool calls are keyed by `oi` alone. */
#define KEY(oi, ci) ((oi) * (MAX_INDEX + 1) + (ci))
#define RKEY(oi, ci) (-KEY(oi, ci) - 1)

/* type_is: whether NUL-terminated `t` equals `lit`. */
static int type_is(const char *t, const char *lit)
{
    return t != NULL && strcmp(t, lit) == 0;
}

/* ends_with: whether `t` ends with `suffix` (and is longer). */
static int ends_with(const char *t, const char *suffix)
{
    size_t n = strlen(t), k = strlen(suffix);

    return n > k && memcmp(t + n - k, suffix, k) == 0;
}

/* is_text_type: whether a content part type carries its text in
 * "text". */
static int is_text_type(const char *t)
{
    return type_is(t, "input_text") || type_is(t, "output_text") ||
           type_is(t, "text");
}

/* add_content: append the parts of a message item's `content`: a string,
 * or a list of input_text / output_text / refusal / input_image /
 * input_file... parts.  Empty text adds nothing; parts without text keep
 * their type. */
static void add_content(json_t *parts, const json_t *content)
{
    json_t *it;
    size_t i;

    if (json_is_string(content)) {
        at_llm_add_text(parts, "text", content);
        return;
    }
    json_array_foreach(content, i, it) {
        const char *type = at_llm_str(it, "type");

        if (json_is_string(it)) {
            at_llm_add_text(parts, "text", it);
        } else if (is_text_type(type)) {
            at_llm_add_text(parts, "text", json_object_get(it, "text"));
        } else if (type_is(type, "refusal")) {
            at_llm_add_text(parts, "refusal",
                            json_object_get(it, "refusal"));
        } else if (type_is(type, "reasoning_text")) {
            at_llm_add_text(parts, "reasoning", json_object_get(it, "text"));
        } else if (type != NULL) {
            json_array_append_new(parts, at_llm_part_type(type));
        }
    }
}

/* tool_call_part: {"type":"tool_call","id":call_id,"name","arguments"}
 * of a function_call (arguments: a JSON text), custom_tool_call (input:
 * any text) or other *_call item with a call_id (its `action`). */
static json_t *tool_call_part(const json_t *item)
{
    const char *type = at_llm_str(item, "type");
    json_t *part = json_object();
    json_t *v;

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type", json_string("tool_call"));
    if (json_is_string(v = json_object_get(item, "call_id")))
        json_object_set_nocheck(part, "id", v);
    v = json_object_get(item, "name");
    if (json_is_string(v))
        json_object_set_nocheck(part, "name", v);
    else if (type != NULL)
        json_object_set_new_nocheck(part, "name", json_string(type));
    v = json_object_get(item, "arguments");
    if (v == NULL)
        v = json_object_get(item, "input");
    if (v == NULL)
        v = json_object_get(item, "action");
    if (json_is_string(v))
        json_object_set_new_nocheck(
            part, "arguments",
            at_llm_args(json_string_value(v), json_string_length(v)));
    else if (v != NULL && !json_is_null(v))
        json_object_set_nocheck(part, "arguments", v);
    return part;
}

/* add_reasoning: the reasoning parts of a reasoning item: its summary
 * texts, then its content texts. */
static void add_reasoning(json_t *parts, const json_t *item)
{
    json_t *it;
    size_t i;

    json_array_foreach(json_object_get(item, "summary"), i, it)
        at_llm_add_text(parts, "reasoning", json_object_get(it, "text"));
    json_array_foreach(json_object_get(item, "content"), i, it)
        at_llm_add_text(parts, "reasoning", json_object_get(it, "text"));
}

/* Where an item goes. */
typedef enum item_side {
    SIDE_SKIP = 0,  /* item_reference, nonsense */
    SIDE_MODEL,     /* the model's turn: an assistant message */
    SIDE_TOOL,      /* a tool result: a "tool" message of its own */
    SIDE_OWN        /* a message with its own role */
} item_side;

/* item_side_of: where `item` goes; *role gets the role of SIDE_OWN. */
static item_side item_side_of(const json_t *item, const char **role)
{
    const char *type = at_llm_str(item, "type");
    const char *r = at_llm_str(item, "role");

    *role = r;
    if (!json_is_object(item) || type_is(type, "item_reference"))
        return SIDE_SKIP;
    if (type == NULL || type_is(type, "message")) {
        if (r == NULL)
            return SIDE_SKIP;
        return strcmp(r, "assistant") == 0 ? SIDE_MODEL : SIDE_OWN;
    }
    if (ends_with(type, "_output") &&
        json_is_string(json_object_get(item, "call_id")))
        return SIDE_TOOL;
    if (r != NULL && strcmp(r, "assistant") != 0)
        return SIDE_OWN;
    return SIDE_MODEL;
}

/* add_model_item: append the parts of one model-side item (assistant
 * message, reasoning, function_call...) to `parts`. */
static void add_model_item(json_t *parts, const json_t *item)
{
    const char *type = at_llm_str(item, "type");

    if (type == NULL || type_is(type, "message"))
        add_content(parts, json_object_get(item, "content"));
    else if (type_is(type, "reasoning"))
        add_reasoning(parts, item);
    else if (ends_with(type, "_call") &&
             json_is_string(json_object_get(item, "call_id")))
        json_array_append_new(parts, tool_call_part(item));
    else
        json_array_append_new(parts, at_llm_part_type(type));
}

/* input_messages: gen_ai.input.messages of an `input` list. */
static json_t *input_messages(const json_t *input)
{
    json_t *msgs = json_array(), *item, *parts, *last;
    const char *role, *last_role;
    size_t i;

    if (msgs == NULL)
        return NULL;
    json_array_foreach(input, i, item) {
        item_side side = item_side_of(item, &role);

        switch (side) {
        case SIDE_MODEL:
            last = json_array_get(msgs, json_array_size(msgs) - 1);
            last_role = at_llm_str(last, "role");
            if (last_role == NULL || strcmp(last_role, "assistant") != 0) {
                last = at_llm_message("assistant", json_array());
                if (last == NULL)
                    continue;
                json_array_append_new(msgs, last);
            }
            add_model_item(json_object_get(last, "parts"), item);
            break;
        case SIDE_TOOL:
            parts = json_array();
            if (parts != NULL)
                json_array_append_new(
                    parts, at_llm_tool_result_part(item, "call_id", "output"));
            json_array_append_new(msgs, at_llm_message("tool", parts));
            break;
        case SIDE_OWN:
            parts = json_array();
            if (parts == NULL)
                continue;
            if (at_llm_str(item, "type") == NULL ||
                type_is(at_llm_str(item, "type"), "message"))
                add_content(parts, json_object_get(item, "content"));
            else
                json_array_append_new(
                    parts, at_llm_part_type(at_llm_str(item, "type")));
            json_array_append_new(msgs, at_llm_message(role, parts));
            break;
        default:
            break;
        }
    }
    return msgs;
}

/* tool_definitions: gen_ai.tool.definitions from `tools`: function and
 * custom tools with their name, description and parameters (all at the
 * top level, unlike Chat Completions); built-in tools (web_search,
 * file_search, mcp...) with their type and any name.  NULL when `tools`
 * is not an array. */
static json_t *tool_definitions(const json_t *tools)
{
    json_t *defs, *t, *d, *v;
    size_t i;

    if (!json_is_array(tools) || (defs = json_array()) == NULL)
        return NULL;
    json_array_foreach(tools, i, t) {
        const char *type = at_llm_str(t, "type");

        if (!json_is_object(t) || (d = json_object()) == NULL)
            continue;
        json_object_set_new_nocheck(d, "type",
                                    json_string(type ? type : "function"));
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

void at_responses_request(const json_t *root, json_t *attrs)
{
    const json_t *v;
    json_t *a;

    at_llm_request_params(root, attrs);
    at_llm_set_count(attrs, "gen_ai.request.max_tokens",
                     json_object_get(root, "max_output_tokens"));
    v = json_object_get(root, "instructions");
    if (json_is_string(v) || json_is_array(v)) {
        a = json_array();
        if (json_is_string(v)) {
            at_llm_add_text(a, "text", v);
        } else {
            json_t *it;
            size_t i;

            json_array_foreach(v, i, it)
                add_content(a, json_object_get(it, "content"));
        }
        if (json_array_size(a) > 0)
            json_object_set_new_nocheck(attrs, "gen_ai.system_instructions",
                                        a);
        else
            json_decref(a);
    }
    v = json_object_get(root, "input");
    if (json_is_string(v)) {
        a = json_array();
        if (a != NULL) {
            json_t *parts = json_array();

            at_llm_add_text(parts, "text", v);
            json_array_append_new(a, at_llm_message("user", parts));
            json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
        }
    } else if (json_is_array(v)) {
        a = input_messages(v);
        if (a != NULL)
            json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
    }
    a = tool_definitions(json_object_get(root, "tools"));
    if (a != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.tool.definitions", a);
}

/* read_usage: the counts a Responses `usage` object reports, over *u. */
static void read_usage(const json_t *usage, at_llm_usage *u)
{
    if (!json_is_object(usage))
        return;
    at_llm_count(json_object_get(usage, "input_tokens"), &u->input);
    at_llm_count(json_object_get(usage, "output_tokens"), &u->output);
    at_llm_count(json_object_get(json_object_get(usage,
                                                 "input_tokens_details"),
                                 "cached_tokens"),
                 &u->cache_read);
    at_llm_count(json_object_get(json_object_get(usage,
                                                 "output_tokens_details"),
                                 "reasoning_tokens"),
                 &u->reasoning);
}

void at_responses_response(const json_t *root, json_t *attrs)
{
    const json_t *output = json_object_get(root, "output");
    const json_t *status = json_object_get(root, "status");
    at_llm_usage u;
    json_t *parts, *m, *a, *item;
    size_t i;

    at_llm_set_string(attrs, "gen_ai.response.id", root, "id");
    at_llm_set_string(attrs, "gen_ai.response.model", root, "model");
    at_llm_usage_init(&u);
    read_usage(json_object_get(root, "usage"), &u);
    at_llm_usage_emit(&u, attrs);
    if (json_is_string(status) && json_string_length(status) > 0) {
        a = json_array();
        json_array_append(a, (json_t *)status);
        json_object_set_new_nocheck(attrs, "gen_ai.response.finish_reasons",
                                    a);
    } else {
        status = NULL;
    }
    if (!json_is_array(output) && status == NULL)
        return;
    parts = json_array();
    json_array_foreach(output, i, item) {
        const char *role;

        if (item_side_of(item, &role) != SIDE_SKIP)
            add_model_item(parts, item);
    }
    m = at_llm_message("assistant", parts);
    if (m == NULL)
        return;
    if (status != NULL)
        json_object_set_nocheck(m, "finish_reason", (json_t *)status);
    a = json_array();
    json_array_append_new(a, m);
    json_object_set_new_nocheck(attrs, "gen_ai.output.messages", a);
}

/* ------------------------------------------------------------------ */
/* Whole bodies from the scanner                                       */
/* ------------------------------------------------------------------ */

/* at_responses_request and at_responses_response read from the scanner's
 * tokens (see jfast.h): the input items and output written as text, no
 * tree of the body.  Anything only the tree reads (a type or role with
 * escapes, arguments the scanner declines, a key given twice) sends the
 * whole of `input`, `instructions`, `tools` (a request) or the body (a
 * response) to the tree. */

/* The members of an item (or content part) the decoders read, the last
 * of each. */
typedef struct fast_item {
    at_js type, role, content, call_id, name, arguments, input, action;
    at_js output, summary, text, refusal;
    int has_type, has_role;     /* at_jf_name's answers */
    char t[64], r[64];
} fast_item;

/* fast_item_read: the members of item slice v; -1 when its type or role
 * is a string only the tree reads. */
static int fast_item_read(at_js v, fast_item *f)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, x;

    f->type = f->role = f->content = f->call_id = f->name = none;
    f->arguments = f->input = f->action = f->output = f->summary = none;
    f->text = f->refusal = none;
    if (at_js_obj(v, &it)) {
        while (at_js_next_member(&it, &k, &x) > 0) {
            if (AT_JS_KEY(k, "type"))
                f->type = x;
            else if (AT_JS_KEY(k, "role"))
                f->role = x;
            else if (AT_JS_KEY(k, "content"))
                f->content = x;
            else if (AT_JS_KEY(k, "call_id"))
                f->call_id = x;
            else if (AT_JS_KEY(k, "name"))
                f->name = x;
            else if (AT_JS_KEY(k, "arguments"))
                f->arguments = x;
            else if (AT_JS_KEY(k, "input"))
                f->input = x;
            else if (AT_JS_KEY(k, "action"))
                f->action = x;
            else if (AT_JS_KEY(k, "output"))
                f->output = x;
            else if (AT_JS_KEY(k, "summary"))
                f->summary = x;
            else if (AT_JS_KEY(k, "text"))
                f->text = x;
            else if (AT_JS_KEY(k, "refusal"))
                f->refusal = x;
        }
    }
    if ((f->has_type = at_jf_name(f->type, f->t, sizeof(f->t))) < 0 ||
        (f->has_role = at_jf_name(f->role, f->r, sizeof(f->r))) < 0)
        return -1;
    return 0;
}

/* fast_text: at_llm_add_text of slice v: a part when a non-empty string,
 * after a comma unless *first. */
static void fast_text(at_buf *b, const char *type, at_js v, int *first)
{
    if (at_jf_text_part(b, type, v, *first))
        *first = 0;
}

/* fast_type_part: at_llm_part_type. */
static void fast_type_part(at_buf *b, const char *type, int *first)
{
    at_jf_sep(b, first);
    AT_JW_LIT(b, "{\"type\":");
    at_jw_jstr(b, type, strlen(type));
    AT_JW_LIT(b, "}");
}

/* fast_content: add_content of a content slice. */
static int fast_content(at_buf *b, at_js content, int *first)
{
    at_js_it ai;
    at_js e;
    fast_item p;

    if (at_js_kind(content) == AT_JS_STRING) {
        fast_text(b, "text", content, first);
        return 0;
    }
    if (!at_js_arr(content, &ai))
        return 0;
    while (at_js_next(&ai, &e) > 0) {
        if (at_js_kind(e) == AT_JS_STRING) {
            fast_text(b, "text", e, first);
            continue;
        }
        if (fast_item_read(e, &p) < 0)
            return -1;
        if (p.has_type && is_text_type(p.t))
            fast_text(b, "text", p.text, first);
        else if (p.has_type && strcmp(p.t, "refusal") == 0)
            fast_text(b, "refusal", p.refusal, first);
        else if (p.has_type && strcmp(p.t, "reasoning_text") == 0)
            fast_text(b, "reasoning", p.text, first);
        else if (p.has_type)
            fast_type_part(b, p.t, first);
    }
    return 0;
}

/* fast_texts: at_llm_add_text of the "text" of each element of an array
 * slice (a reasoning item's summary or content). */
static void fast_texts(at_buf *b, at_js arr, int *first)
{
    at_js_it ai;
    at_js e;

    if (at_js_arr(arr, &ai))
        while (at_js_next(&ai, &e) > 0)
            fast_text(b, "reasoning", AT_JF_MEMBER(e, "text"), first);
}

/* fast_side: item_side_of for a read item. */
static item_side fast_side(at_js v, const fast_item *f)
{
    if (at_js_kind(v) != AT_JS_OBJECT ||
        (f->has_type && strcmp(f->t, "item_reference") == 0))
        return SIDE_SKIP;
    if (!f->has_type || strcmp(f->t, "message") == 0) {
        if (!f->has_role)
            return SIDE_SKIP;
        return strcmp(f->r, "assistant") == 0 ? SIDE_MODEL : SIDE_OWN;
    }
    if (ends_with(f->t, "_output") && at_js_kind(f->call_id) == AT_JS_STRING)
        return SIDE_TOOL;
    if (f->has_role && strcmp(f->r, "assistant") != 0)
        return SIDE_OWN;
    return SIDE_MODEL;
}

/* fast_model_item: add_model_item; *tools set for a tool call. */
static int fast_model_item(at_buf *b, const fast_item *f, int *first,
                           int *tools)
{
    at_js args;

    if (!f->has_type || strcmp(f->t, "message") == 0)
        return fast_content(b, f->content, first);
    if (strcmp(f->t, "reasoning") == 0) {
        fast_texts(b, f->summary, first);
        fast_texts(b, f->content, first);
        return 0;
    }
    if (!ends_with(f->t, "_call") || at_js_kind(f->call_id) != AT_JS_STRING) {
        fast_type_part(b, f->t, first);
        return 0;
    }
    /* tool_call_part */
    at_jf_sep(b, first);
    *tools = 1;
    AT_JW_LIT(b, "{\"type\":\"tool_call\",\"id\":");
    at_jf_str(b, f->call_id);
    AT_JW_LIT(b, ",\"name\":");
    if (at_js_kind(f->name) == AT_JS_STRING)
        at_jf_str(b, f->name);
    else
        at_jw_jstr(b, f->t, strlen(f->t));
    args = f->arguments.p ? f->arguments : f->input.p ? f->input : f->action;
    if (at_jf_args(b, args) < 0)
        return -1;
    AT_JW_LIT(b, "}");
    return 0;
}

/* fast_input: input_messages of an `input` array slice, as attribute
 * gen_ai.input.messages: 1, or 0 (nothing set) when the tree must.
 *
 * With a memo (decode/jmemo.h), an item kept from an earlier body has its
 * side and what it wrote there (a model item: its parts, without the
 * assistant message they join; another: its whole message) written again,
 * and a new one's is kept. */
static int fast_input(at_js input, at_attrs *list)
{
    static const at_attr_mark none = {0, 0, 0, 0, 0};
    at_jmemo *jm = input.doc != NULL ? input.doc->memo : NULL;
    const at_jm_fn fn = (at_jm_fn)fast_input;
    at_js_it ii;
    at_js v;
    at_buf *b;
    at_jf_marks ms = {NULL, 0, 0, 0};
    fast_item f;
    size_t mark, open_at = 0;
    int first = 1, open = 0, pfirst = 0, tools = 0;

    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[");
    at_js_arr(input, &ii);
    while (at_js_next(&ii, &v) > 0) {
        at_jm_ent *je = jm != NULL ? at_jm_element(jm, v) : NULL;
        const at_jm_ent *kept = je != NULL && je->fn == fn ? je : NULL;
        item_side side;
        at_attr_mark mk = none;
        size_t at;
        int one = 1, t = 0, was;

        if (kept != NULL) {
            side = (item_side)kept->r;
        } else {
            if (fast_item_read(v, &f) < 0)
                goto tree;
            side = fast_side(v, &f);
        }
        if (side == SIDE_SKIP) {
            if (je != NULL && kept == NULL)
                at_jm_write(jm, je, fn, "", 0, SIDE_SKIP, 0, &none);
            continue;
        }
        if (side == SIDE_MODEL) {
            if (!open) {
                at_jf_sep(b, &first);
                open_at = b->len;
                AT_JW_LIT(b, "{\"role\":\"assistant\",\"parts\":[");
                open = 1;
                pfirst = 1;
                tools = 0;
            }
            at = b->len;
            was = pfirst;
            if (kept != NULL) {
                at_jf_replay(jm, kept, b, &pfirst, &t, &mk);
            } else {
                if (fast_model_item(b, &f, &pfirst, &t) < 0)
                    goto tree;
                if (je != NULL)
                    at_jf_keep(jm, je, fn, b, at, was, SIDE_MODEL, t, &none);
            }
            tools |= t;
            continue;
        }
        if (open) {
            AT_JW_LIT(b, "]}");
            if (tools)
                at_jf_mark(&ms, b, open_at, none);
            open = 0;
        }
        at_jf_sep(b, &first);
        at = b->len;
        if (kept != NULL) {
            at_jf_replay(jm, kept, b, &one, &t, &mk);
            if (side == SIDE_TOOL)
                at_jf_mark(&ms, b, at, mk);
            continue;
        }
        if (side == SIDE_TOOL) {
            AT_JW_LIT(b, "{\"role\":\"tool\",\"parts\":[");
            at_jf_response_open(b, f.call_id, &mk);
            if (at_jf_response_close(b, f.output, 1) < 0)
                goto tree;
            AT_JW_LIT(b, "]}");
            at_jf_mark(&ms, b, at, mk);
        } else { /* SIDE_OWN */
            AT_JW_LIT(b, "{\"role\":");
            at_jw_jstr(b, f.r, strlen(f.r));
            AT_JW_LIT(b, ",\"parts\":[");
            pfirst = 1;
            if (!f.has_type || strcmp(f.t, "message") == 0) {
                if (fast_content(b, f.content, &pfirst) < 0)
                    goto tree;
            } else {
                fast_type_part(b, f.t, &pfirst);
            }
            AT_JW_LIT(b, "]}");
        }
        if (je != NULL)
            at_jf_keep(jm, je, fn, b, at, 1, side, 0, &mk);
    }
    if (open) {
        AT_JW_LIT(b, "]}");
        if (tools)
            at_jf_mark(&ms, b, open_at, none);
    }
    AT_JW_LIT(b, "]");
    return at_jf_marks_close(&ms, list, "gen_ai.input.messages", mark) == 0;
tree:
    at_jf_tree_msgs++;
    free(ms.m);
    at_attrs_drop(list, mark);
    return 0;
}

/* tool_type: tool_definitions' type of a tool (at_jf_definitions): its
 * own, "function" when it has none. */
static int tool_type(int r, char ty[64])
{
    if (r < 0)
        return -1;
    if (r == 0)
        strcpy(ty, "function");
    return 1;
}

/* fast_instructions: gen_ai.system_instructions of an `instructions`
 * slice (a string or a list of message items): 1 when done, 0 when the
 * tree must. */
static int fast_instructions(at_js ins, at_attrs *list)
{
    at_js_it it;
    at_js e;
    at_buf *b;
    size_t mark;
    int first = 1;

    if (at_js_kind(ins) != AT_JS_STRING && at_js_kind(ins) != AT_JS_ARRAY)
        return 1;
    b = at_attrs_open(list, &mark);
    AT_JW_LIT(b, "[");
    if (at_js_kind(ins) == AT_JS_STRING) {
        fast_text(b, "text", ins, &first);
    } else {
        at_js_arr(ins, &it);
        while (at_js_next(&it, &e) > 0)
            if (fast_content(b, AT_JF_MEMBER(e, "content"), &first) < 0) {
                at_attrs_drop(list, mark);
                return 0;
            }
    }
    if (first) {                 /* no parts: not set */
        at_attrs_drop(list, mark);
        return 1;
    }
    AT_JW_LIT(b, "]");
    at_attrs_close(list, "gen_ai.system_instructions", mark, AT_ATTR_RAW, 0);
    return 1;
}

/* tree_of: the tree decoder's reading of member `input` or `tools` of
 * the body (a body of that member alone), set in the list. */
static void tree_of(const char *member, at_js v, at_attrs *list)
{
    json_t *root = json_object();

    if (root == NULL ||
        json_object_set_new_nocheck(root, member, at_llm_tree(v)) < 0) {
        list->failed = 1;
    } else if (strcmp(member, "tools") == 0) {
        json_t *a = tool_definitions(json_object_get(root, "tools"));

        if (a != NULL)
            at_attrs_set_json(list, "gen_ai.tool.definitions", a);
    } else if (strcmp(member, "input") == 0) {
        json_t *a = input_messages(json_object_get(root, "input"));

        if (a != NULL)
            at_attrs_set_json(list, "gen_ai.input.messages", a);
    }
    json_decref(root);
}

int at_responses_request_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, mot = none, ins = none, input = none, tools = none;
    at_jf_params pr = {none, none, none, none, none};
    int64_t n;

    if (!at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "input"))
            input = v;
        else if (AT_JS_KEY(k, "instructions"))
            ins = v;
        else if (AT_JS_KEY(k, "tools"))
            tools = v;
        else if (AT_JS_KEY(k, "max_output_tokens"))
            mot = v;
        else
            at_jf_param(&pr, k, v);
    }
    at_jf_params_set(&pr, list);
    if (at_jf_count_value(mot, &n))
        at_attrs_set_i64(list, "gen_ai.request.max_tokens", n);
    /* at_responses_request from here */
    if (!fast_instructions(ins, list)) {
        json_t *t = at_llm_tree(ins), *a = json_array(), *e;
        size_t i;

        json_array_foreach(t, i, e)
            add_content(a, json_object_get(e, "content"));
        if (json_array_size(a) > 0)
            at_attrs_set_json(list, "gen_ai.system_instructions", a);
        else
            json_decref(a);
        json_decref(t);
    }
    if (at_js_kind(input) == AT_JS_STRING) {
        at_buf *b;
        size_t mark;
        int first = 1;

        b = at_attrs_open(list, &mark);
        AT_JW_LIT(b, "[{\"role\":\"user\",\"parts\":[");
        fast_text(b, "text", input, &first);
        AT_JW_LIT(b, "]}]");
        at_attrs_close(list, "gen_ai.input.messages", mark, AT_ATTR_RAW, 1);
    } else if (at_js_kind(input) == AT_JS_ARRAY && !fast_input(input, list)) {
        tree_of("input", input, list);
    }
    if (!at_jf_definitions(tools, list, "parameters", tool_type))
        tree_of("tools", tools, list);
    return 1;
}

int at_responses_response_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, id = none, model = none, usage = none, status = none;
    at_js output = none;
    at_llm_usage u;
    at_buf parts;
    fast_item f;
    json_t *j;
    int first = 1, tools = 0, st, has_msg;

    if (!at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "output"))
            output = v;
        else if (AT_JS_KEY(k, "id"))
            id = v;
        else if (AT_JS_KEY(k, "model"))
            model = v;
        else if (AT_JS_KEY(k, "usage"))
            usage = v;
        else if (AT_JS_KEY(k, "status"))
            status = v;
    }
    st = at_js_kind(status) == AT_JS_STRING && !at_js_str_empty(status);
    /* the output message's parts first, aside: an item only the tree
     * reads leaves the list untouched */
    at_buf_init(&parts, (size_t)1 << 30);
    has_msg = at_js_kind(output) == AT_JS_ARRAY || st;
    if (at_js_arr(output, &it)) {
        while (at_js_next(&it, &v) > 0) {
            if (fast_item_read(v, &f) < 0 ||
                (fast_side(v, &f) != SIDE_SKIP &&
                 fast_model_item(&parts, &f, &first, &tools) < 0)) {
                at_buf_free(&parts);
                return 0;
            }
        }
    }
    at_llm_usage_init(&u);
    j = at_llm_tree(usage);       /* a few counts: their tree is cheap */
    read_usage(j, &u);
    json_decref(j);
    at_jf_reply(list, id, model, &u, status, st, &parts, has_msg, tools);
    at_buf_free(&parts);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

/* index_of: member `key` of `root` as an index, or -1 when missing or
 * absurd. */
static long index_of(const json_t *root, const char *key)
{
    const json_t *ix = json_object_get(root, key);

    if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
        json_integer_value(ix) > MAX_INDEX)
        return -1;
    return (long)json_integer_value(ix);
}

/* fill_if_empty: when `v` is a non-empty string, make it the text of the
 * part (kind, key), creating it, unless the part already holds text (from
 * deltas).  Returns 1 when text was put in. */
static int fill_if_empty(at_llm_choice *c, at_llm_part_kind kind, long key,
                         const json_t *v)
{
    at_llm_part *p;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    p = at_llm_choice_part(c, kind, key, 1);
    if (p == NULL || p->text.len > 0)
        return 0;
    at_llm_part_set_text(p, json_string_value(v), json_string_length(v));
    return 1;
}

/* on_item: an output item, from response.output_item.added (`done` 0) or
 * .done, or from the final response's output (`done` 1).  The whole item
 * of a .done event fills what deltas did not bring.  Returns 1 when it
 * brought output (a tool call's name, text no delta had carried). */
static int on_item(at_llm_choice *c, long oi, const json_t *item, int done)
{
    const char *type = at_llm_str(item, "type");
    const json_t *v, *it;
    at_llm_part *p;
    size_t i;
    int out = 0;

    if (type == NULL || oi < 0)
        return 0;
    if (type_is(type, "message")) {
        if (!done)
            return 0;
        json_array_foreach(json_object_get(item, "content"), i, it) {
            const char *t = at_llm_str(it, "type");

            if ((long)i > MAX_INDEX)
                break;
            if (is_text_type(t))
                out |= fill_if_empty(c, AT_PART_TEXT, KEY(oi, (long)i),
                                     json_object_get(it, "text"));
            else if (type_is(t, "refusal"))
                out |= fill_if_empty(c, AT_PART_REFUSAL, KEY(oi, (long)i),
                                     json_object_get(it, "refusal"));
        }
        return out;
    }
    if (type_is(type, "reasoning")) {
        if (!done)
            return 0;
        json_array_foreach(json_object_get(item, "summary"), i, it) {
            if ((long)i > MAX_INDEX)
                break;
            out |= fill_if_empty(c, AT_PART_REASONING, KEY(oi, (long)i),
                                 json_object_get(it, "text"));
        }
        json_array_foreach(json_object_get(item, "content"), i, it) {
            if ((long)i > MAX_INDEX)
                break;
            out |= fill_if_empty(c, AT_PART_REASONING, RKEY(oi, (long)i),
                                 json_object_get(it, "text"));
        }
        return out;
    }
    if (ends_with(type, "_call") &&
        json_is_string(json_object_get(item, "call_id"))) {
        p = at_llm_choice_part(c, AT_PART_TOOL_CALL, oi, 1);
        if (p == NULL)
            return 0;
        at_llm_keep(&p->id, json_object_get(item, "call_id"));
        if (p->name == NULL) {
            v = json_object_get(item, "name");
            at_llm_keep(&p->name, json_is_string(v)
                                      ? v
                                      : json_object_get(item, "type"));
            out = p->name != NULL;
        }
        v = json_object_get(item, "arguments");
        if (v == NULL)
            v = json_object_get(item, "input");
        if (json_is_string(v) && json_string_length(v) > 0 &&
            p->text.len == 0) {
            at_llm_part_set_text(p, json_string_value(v),
                                 json_string_length(v));
            out = 1;
        } else if (json_is_object(v = json_object_get(item, "action")) &&
                   p->input == NULL) {
            p->input = json_incref((json_t *)v);
        }
        return out;
    }
    /* web_search_call, file_search_call, image_generation_call...: the
     * server ran them; keep their type */
    p = at_llm_choice_part(c, AT_PART_OTHER, oi, 1);
    if (p != NULL && p->type == NULL)
        p->type = strdup(type);
    return 0;
}

/* on_response: the `response` object of response.created / .in_progress /
 * .completed / .incomplete / .failed: id, model, usage; for the last
 * three (`final`), the status as finish reason, the output items (to fill
 * what no event brought), an error, and the end of the stream. */
static int on_response(at_llm_stream *s, at_llm_choice *c,
                       const json_t *resp, int final)
{
    const json_t *item;
    size_t i;
    int out = 0;

    if (!json_is_object(resp))
        return 0;
    at_llm_keep(&s->id, json_object_get(resp, "id"));
    at_llm_keep(&s->model, json_object_get(resp, "model"));
    read_usage(json_object_get(resp, "usage"), &s->usage);
    if (!final)
        return 0;
    s->st.done = 1;
    at_llm_stream_status(s, resp);
    if (c == NULL)
        return 0;
    at_llm_choice_reason(c, json_object_get(resp, "status"));
    json_array_foreach(json_object_get(resp, "output"), i, item) {
        if ((long)i > MAX_INDEX)
            break;
        out |= on_item(c, (long)i, item, 1);
    }
    return out;
}

/* on_delta: a text, refusal or reasoning delta event into the part
 * (kind, key).  Returns 1 when the delta was not empty. */
static int on_delta(at_llm_choice *c, at_llm_part_kind kind, long key,
                    const json_t *delta)
{
    at_llm_part *p;

    if (c == NULL || key == LONG_MIN || !json_is_string(delta) ||
        json_string_length(delta) == 0)
        return 0;
    p = at_llm_choice_part(c, kind, key, 1);
    return p != NULL ? at_llm_part_append_str(p, delta) : 0;
}

/* content_key: KEY (or RKEY when `neg`) of an event's output_index and
 * the index member `member`; LONG_MIN when either is missing or absurd. */
static long content_key(const json_t *root, const char *member, int neg)
{
    long oi = index_of(root, "output_index");
    long ci = index_of(root, member);

    if (oi < 0 || ci < 0)
        return LONG_MIN;
    return neg ? RKEY(oi, ci) : KEY(oi, ci);
}

/* on_error: an `error` event: {"type":"error","code","message"} (or an
 * "error" object inside). */
static void on_error(at_llm_stream *s, const json_t *root)
{
    json_t *o, *e;
    const json_t *code = json_object_get(root, "code");

    if (json_is_object(json_object_get(root, "error"))) {
        at_llm_error_fill(root, &s->st);
        return;
    }
    o = json_object();
    e = json_object();
    if (o == NULL || e == NULL) {
        json_decref(o);
        json_decref(e);
        return;
    }
    json_object_set_new_nocheck(e, "type",
                                json_is_string(code)
                                    ? json_incref((json_t *)code)
                                    : json_string("error"));
    if (json_is_string(json_object_get(root, "message")))
        json_object_set_nocheck(e, "message",
                                json_object_get(root, "message"));
    json_object_set_new_nocheck(o, "error", e);
    at_llm_error_fill(o, &s->st);
    json_decref(o);
}

/* js_index: index_of for a scanned value: a non-negative integer up to
 * MAX_INDEX, else -1. */
static long js_index(at_js v)
{
    int64_t ix;

    if (!at_js_int(v, &ix) || ix < 0 || ix > MAX_INDEX)
        return -1;
    return (long)ix;
}

/* The fast path (jscan.h) for the events of every token of an answer
 * (a text's, a refusal's, a reasoning text's or a tool call's arguments'
 * delta), read from the scanner's tokens against the kept shape of the
 * event before (they differ in their sequence number, their piece and
 * their obfuscation pad): the tree's parse was most of their cost.  1 when
 * taken, with *out as the tree's way would set it; 0 for any other event,
 * and for one the tree must read (a type spelled with escapes, more
 * tokens than the room here), which at_responses_stream_event then
 * parses. */
static int fast_event(at_llm_stream *s, const char *data, size_t len,
                      int *out)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_tok tok[32];
    at_js_doc_t doc;
    at_js root, k, v, type = none, delta = none, oi = none, ci = none;
    at_js si = none, index;
    at_js_it it;
    at_llm_part_kind kind;
    at_llm_choice *c;
    at_llm_part *p;
    long o, key;
    int neg = 0;

    if (!at_llm_scan_chunk(s, data, len, tok, 32, &doc, &root) ||
        !at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v)) {
        if (AT_JS_KEY(k, "type"))
            type = v;
        else if (AT_JS_KEY(k, "delta"))
            delta = v;
        else if (AT_JS_KEY(k, "output_index"))
            oi = v;
        else if (AT_JS_KEY(k, "content_index"))
            ci = v;
        else if (AT_JS_KEY(k, "summary_index"))
            si = v;
    }
    if (!at_js_bare(type, &type))
        return 0;
    index = ci;
    if (AT_JS_KEY(type, "response.output_text.delta")) {
        kind = AT_PART_TEXT;
    } else if (AT_JS_KEY(type, "response.refusal.delta")) {
        kind = AT_PART_REFUSAL;
    } else if (AT_JS_KEY(type, "response.reasoning_summary_text.delta")) {
        kind = AT_PART_REASONING;
        index = si;
    } else if (AT_JS_KEY(type, "response.reasoning_text.delta")) {
        kind = AT_PART_REASONING;
        neg = 1;
    } else if (AT_JS_KEY(type, "response.function_call_arguments.delta") ||
               AT_JS_KEY(type, "response.custom_tool_call_input.delta")) {
        kind = AT_PART_TOOL_CALL;
        index = none;
    } else {
        return 0;
    }
    /* as on_delta, with content_key's and index_of's keys */
    *out = 0;
    c = at_llm_stream_choice(s, 0);
    o = js_index(oi);
    if (kind == AT_PART_TOOL_CALL)
        key = o < 0 ? LONG_MIN : o;
    else if (o < 0 || js_index(index) < 0)
        key = LONG_MIN;
    else
        key = neg ? RKEY(o, js_index(index)) : KEY(o, js_index(index));
    if (c == NULL || key == LONG_MIN || at_js_kind(delta) != AT_JS_STRING ||
        at_js_str_empty(delta))
        return 1;
    p = at_llm_choice_part(c, kind, key, 1);
    if (p != NULL)
        *out = at_llm_part_append_js(p, delta);
    return 1;
}

/* Tests turn the fast path off to compare both paths on the same input. */
int at_responses_fast_off;

int at_responses_stream_event(at_llm_stream *s, const char *event,
                              size_t event_len, const char *data,
                              size_t data_len)
{
    char name[64];
    const char *type;
    at_llm_choice *c;
    at_llm_part *p;
    json_t *root;
    const json_t *v;
    long oi;
    int out = 0;

    if (!at_responses_fast_off && fast_event(s, data, data_len, &out))
        return out;
    root = at_llm_parse(data, data_len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    type = at_llm_str(root, "type");
    if (type == NULL) {
        if (event_len >= sizeof(name))
            event_len = 0;
        memcpy(name, event, event_len);
        name[event_len] = '\0';
        type = name;
    }
    /* the one output message; not made for events that carry none
     * (created, in_progress, error) */
    c = strncmp(type, "response.", 9) == 0 &&
                strcmp(type, "response.created") != 0 &&
                strcmp(type, "response.in_progress") != 0 &&
                strcmp(type, "response.queued") != 0
            ? at_llm_stream_choice(s, 0)
            : NULL;
    if (strcmp(type, "response.output_text.delta") == 0) {
        out = on_delta(c, AT_PART_TEXT, content_key(root, "content_index", 0),
                       json_object_get(root, "delta"));
    } else if (strcmp(type, "response.refusal.delta") == 0) {
        out = on_delta(c, AT_PART_REFUSAL,
                       content_key(root, "content_index", 0),
                       json_object_get(root, "delta"));
    } else if (strcmp(type, "response.reasoning_summary_text.delta") == 0) {
        out = on_delta(c, AT_PART_REASONING,
                       content_key(root, "summary_index", 0),
                       json_object_get(root, "delta"));
    } else if (strcmp(type, "response.reasoning_text.delta") == 0) {
        out = on_delta(c, AT_PART_REASONING,
                       content_key(root, "content_index", 1),
                       json_object_get(root, "delta"));
    } else if (strcmp(type, "response.function_call_arguments.delta") == 0 ||
               strcmp(type, "response.custom_tool_call_input.delta") == 0) {
        oi = index_of(root, "output_index");
        out = on_delta(c, AT_PART_TOOL_CALL, oi < 0 ? LONG_MIN : oi,
                       json_object_get(root, "delta"));
    } else if (strcmp(type, "response.function_call_arguments.done") == 0 ||
               strcmp(type, "response.custom_tool_call_input.done") == 0) {
        /* the whole arguments: they stand over the fragments */
        oi = index_of(root, "output_index");
        v = json_object_get(root, "arguments");
        if (v == NULL)
            v = json_object_get(root, "input");
        if (c != NULL && oi >= 0 && json_is_string(v) &&
            (p = at_llm_choice_part(c, AT_PART_TOOL_CALL, oi, 1)) != NULL) {
            out = p->text.len == 0 && json_string_length(v) > 0;
            at_llm_part_set_text(p, json_string_value(v),
                                 json_string_length(v));
        }
    } else if (strcmp(type, "response.output_text.done") == 0) {
        oi = content_key(root, "content_index", 0);
        if (c != NULL && oi != LONG_MIN)
            out = fill_if_empty(c, AT_PART_TEXT, oi,
                                json_object_get(root, "text"));
    } else if (strcmp(type, "response.output_item.added") == 0 ||
               strcmp(type, "response.output_item.done") == 0) {
        if (c != NULL)
            out = on_item(c, index_of(root, "output_index"),
                          json_object_get(root, "item"),
                          strcmp(type, "response.output_item.done") == 0);
    } else if (strcmp(type, "response.created") == 0 ||
               strcmp(type, "response.in_progress") == 0 ||
               strcmp(type, "response.queued") == 0) {
        on_response(s, c, json_object_get(root, "response"), 0);
    } else if (strcmp(type, "response.completed") == 0 ||
               strcmp(type, "response.incomplete") == 0 ||
               strcmp(type, "response.failed") == 0) {
        out = on_response(s, c, json_object_get(root, "response"), 1);
    } else if (strcmp(type, "error") == 0) {
        on_error(s, root);
    }
    /* content_part.added/done, *.annotation.added, web search progress
     * and unknown events say nothing we keep */
    json_decref(root);
    return out;
}
