/* gemini.c - Google Gemini (AI Studio generativelanguage.googleapis.com and
 * Vertex AI): generateContent and streamGenerateContent requests,
 * responses and stream chunks; embedContent and batchEmbedContents.
 *
 * The model is not in the body but in the URL path; llm.c's route puts it
 * in gen_ai.request.model.  Field names are read in both spellings the
 * Google APIs accept (camelCase, as the SDKs send, and snake_case).
 *
 * Content parts: text ("thought": true makes it reasoning), functionCall
 * {name, args, id?} (a tool_call), functionResponse {name, response, id?}
 * (a tool_call_response); other parts (inlineData, fileData,
 * executableCode, codeExecutionResult) keep their kind as type.  A tool
 * call's id is the functionCall's own id when it has one, else its name,
 * so that the functionResponse sent back (which names the function, and
 * carries the same id when the call had one) matches it; "call_<n>" (n
 * counting the candidate's tool calls) when it has neither.
 *
 * A response is a GenerateContentResponse; a stream (alt=sse) is one per
 * SSE event, and without alt=sse the stream is a JSON array of them.  All
 * three go through the same merging: text joined per candidate, the last
 * finishReason and usageMetadata (cumulative) win.  Output tokens are
 * candidatesTokenCount + thoughtsTokenCount.
 *
 * Runs on the sink thread only.  Entered through llm.c's dispatch.
 */
#include "llm_int.h"
#include "jfast.h"
#include "jscan.h"
#include "sink/jw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed keys of the streamed parts that are not tool calls (tool calls are
 * keyed by their number, from 0). */
#define KEY_TEXT (-1L)
#define KEY_REASONING (-2L)
#define KEY_OTHER_BASE (-1000L) /* minus the part's position */

/* A candidate index above this is not believed. */
#define MAX_INDEX 65535L

/* get2: member `camel` of `o`, else member `snake`. */
static const json_t *get2(const json_t *o, const char *camel,
                          const char *snake)
{
    const json_t *v = json_object_get(o, camel);

    return v != NULL ? v : json_object_get(o, snake);
}

/* The part kinds kept by their type only, in both spellings. */
static const struct {
    char camel[24];
    char snake[24];
} other_parts[] = {
    {"inlineData", "inline_data"},
    {"fileData", "file_data"},
    {"executableCode", "executable_code"},
    {"codeExecutionResult", "code_execution_result"},
};

/* other_type: the (camelCase) kind of a part that is none of text,
 * functionCall, functionResponse; NULL when it is none of those
 * either. */
static const char *other_type(const json_t *p)
{
    size_t i;

    for (i = 0; i < sizeof(other_parts) / sizeof(other_parts[0]); i++)
        if (get2(p, other_parts[i].camel, other_parts[i].snake) != NULL)
            return other_parts[i].camel;
    return NULL;
}

/* call_id: a tool call's id as the file comment says, into buf. */
static const char *call_id(const json_t *fc, long n, char *buf, size_t size)
{
    const char *id = at_llm_str(fc, "id");

    if (id != NULL && *id != '\0')
        return id;
    id = at_llm_str(fc, "name");
    if (id != NULL && *id != '\0')
        return id;
    snprintf(buf, size, "call_%ld", n);
    return buf;
}

/* function_call_part: {"type":"tool_call","id","name","arguments":args}
 * of a functionCall, the `n`th tool call of its message. */
static json_t *function_call_part(const json_t *fc, long n)
{
    json_t *part = json_object();
    const json_t *v;
    char buf[32];

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type", json_string("tool_call"));
    json_object_set_new_nocheck(part, "id",
                                json_string(call_id(fc, n, buf, sizeof(buf))));
    if (json_is_string(v = json_object_get(fc, "name")))
        json_object_set_nocheck(part, "name", (json_t *)v);
    v = json_object_get(fc, "args");
    if (v != NULL && !json_is_null(v))
        json_object_set_nocheck(part, "arguments", (json_t *)v);
    return part;
}

/* function_response_part: {"type":"tool_call_response","id","response"}
 * of a functionResponse. */
static json_t *function_response_part(const json_t *fr, long n)
{
    json_t *part = json_object();
    const json_t *v;
    char buf[32];

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type",
                                json_string("tool_call_response"));
    json_object_set_new_nocheck(part, "id",
                                json_string(call_id(fr, n, buf, sizeof(buf))));
    v = json_object_get(fr, "response");
    json_object_set_nocheck(part, "response",
                            v != NULL ? (json_t *)v : json_null());
    return part;
}

/* content_parts: the parts of a Content's `parts` (request side, or
 * systemInstruction).  Never NULL except on allocation failure. */
static json_t *content_parts(const json_t *list)
{
    json_t *parts = json_array(), *p;
    const json_t *v;
    const char *type;
    size_t i;
    long calls = 0, results = 0;

    if (parts == NULL)
        return NULL;
    json_array_foreach(list, i, p) {
        if (!json_is_object(p))
            continue;
        if (json_is_string(v = json_object_get(p, "text"))) {
            at_llm_add_text(parts,
                            json_is_true(json_object_get(p, "thought"))
                                ? "reasoning"
                                : "text",
                            v);
        } else if (json_is_object(v = get2(p, "functionCall",
                                           "function_call"))) {
            json_array_append_new(parts, function_call_part(v, calls++));
        } else if (json_is_object(v = get2(p, "functionResponse",
                                           "function_response"))) {
            json_array_append_new(parts,
                                  function_response_part(v, results++));
        } else if ((type = other_type(p)) != NULL) {
            json_array_append_new(parts, at_llm_part_type(type));
        }
    }
    return parts;
}

/* role_of: the GenAI role of a Content role: "model" is the assistant,
 * "function" (older API versions) a tool; none is the user. */
static const char *role_of(const json_t *content)
{
    const char *r = at_llm_str(content, "role");

    if (r == NULL || *r == '\0')
        return "user";
    if (strcmp(r, "model") == 0)
        return "assistant";
    if (strcmp(r, "function") == 0)
        return "tool";
    return r;
}

/* tool_definitions: gen_ai.tool.definitions from `tools`: each
 * functionDeclarations entry a function; other tools (googleSearch,
 * codeExecution, urlContext...) their kind as type.  NULL when `tools` is
 * not an array. */
static json_t *tool_definitions(const json_t *tools)
{
    json_t *defs, *t, *f, *d;
    const json_t *v;
    const char *key;
    size_t i, j;

    if (!json_is_array(tools) || (defs = json_array()) == NULL)
        return NULL;
    json_array_foreach(tools, i, t) {
        const json_t *decls = get2(t, "functionDeclarations",
                                   "function_declarations");

        if (!json_is_object(t))
            continue;
        json_array_foreach(decls, j, f) {
            if (!json_is_object(f) || (d = json_object()) == NULL)
                continue;
            json_object_set_new_nocheck(d, "type", json_string("function"));
            if (json_is_string(v = json_object_get(f, "name")))
                json_object_set_nocheck(d, "name", (json_t *)v);
            if (json_is_string(v = json_object_get(f, "description")))
                json_object_set_nocheck(d, "description", (json_t *)v);
            v = json_object_get(f, "parameters");
            if (v == NULL)
                v = get2(f, "parametersJsonSchema",
                         "parameters_json_schema");
            if (v != NULL && !json_is_null(v))
                json_object_set_nocheck(d, "parameters", (json_t *)v);
            json_array_append_new(defs, d);
        }
        json_object_foreach(t, key, f) {
            if (strcmp(key, "functionDeclarations") == 0 ||
                strcmp(key, "function_declarations") == 0 ||
                (d = json_object()) == NULL)
                continue;
            json_object_set_new_nocheck(d, "type", json_string(key));
            json_array_append_new(defs, d);
        }
    }
    return defs;
}

/* request_head: what at_gemini_request sets before the messages: the
 * generation parameters and the system instruction. */
static void request_head(const json_t *root, json_t *attrs)
{
    const json_t *gc = get2(root, "generationConfig", "generation_config");
    const json_t *v;
    json_t *a;

    at_llm_set_count(attrs, "gen_ai.request.max_tokens",
                     get2(gc, "maxOutputTokens", "max_output_tokens"));
    at_llm_set_real(attrs, "gen_ai.request.temperature",
                    json_object_get(gc, "temperature"));
    at_llm_set_real(attrs, "gen_ai.request.top_p", get2(gc, "topP", "top_p"));
    at_llm_set_real(attrs, "gen_ai.request.top_k", get2(gc, "topK", "top_k"));
    at_llm_set_int(attrs, "gen_ai.request.seed", json_object_get(gc, "seed"));
    v = get2(gc, "stopSequences", "stop_sequences");
    if (json_is_array(v))
        at_llm_set_stop(attrs, v);
    v = get2(root, "systemInstruction", "system_instruction");
    if (json_is_string(v)) {
        a = json_array();
        at_llm_add_text(a, "text", v);
    } else {
        a = json_is_object(v) ? content_parts(json_object_get(v, "parts"))
                              : NULL;
    }
    if (json_array_size(a) > 0)
        json_object_set_new_nocheck(attrs, "gen_ai.system_instructions", a);
    else
        json_decref(a);
}

/* content_message: the input message of one Content (NULL when it is not
 * an object: skipped). */
static json_t *content_message(const json_t *c)
{
    if (!json_is_object(c))
        return NULL;
    return at_llm_message(role_of(c),
                          content_parts(json_object_get(c, "parts")));
}

void at_gemini_request(const json_t *root, json_t *attrs)
{
    const json_t *v, *c;
    json_t *a;
    size_t i;

    request_head(root, attrs);
    v = json_object_get(root, "contents");
    if (json_is_object(v) || json_is_string(v)) {
        /* one Content, or a bare string, where a list belongs: the SDKs
         * turn those into a list; a REST client might not */
        a = json_array();
        if (json_is_string(v)) {
            json_t *parts = json_array();

            at_llm_add_text(parts, "text", v);
            json_array_append_new(a, at_llm_message("user", parts));
        } else {
            json_array_append_new(a, content_message(v));
        }
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
    } else if (json_is_array(v)) {
        a = json_array();
        json_array_foreach(v, i, c) {
            json_t *m = content_message(c);

            if (m != NULL)
                json_array_append_new(a, m);
        }
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", a);
    }
    a = tool_definitions(json_object_get(root, "tools"));
    if (a != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.tool.definitions", a);
}

/* ---- a request's contents from the scanner ------------------------------
 *
 * at_gemini_request_fast: the `contents` list (what grows with the
 * conversation) written as text from the scanner's tokens (see jfast.h);
 * the parameters, the system instruction and the tools read from trees
 * of those members alone. */

/* fast_get2: get2 for slices: member `camel` of o, else `snake`. */
static at_js fast_get2(at_js o, const char *camel, const char *snake)
{
    at_js v = at_jf_member(o, camel, strlen(camel));

    return v.p != NULL ? v : at_jf_member(o, snake, strlen(snake));
}

/* fast_call_id: call_id of a functionCall or functionResponse slice,
 * written as a JSON string; -1 when its id or name is a string only the
 * tree reads. */
static int fast_call_id(at_buf *b, at_js f, long n)
{
    char id[64], name[64];
    int ri = at_jf_name(AT_JF_MEMBER(f, "id"), id, sizeof(id));
    int rn = at_jf_name(AT_JF_MEMBER(f, "name"), name, sizeof(name));
    char buf[32];

    if (ri < 0 || rn < 0)
        return -1;
    if (ri == 0 || id[0] == '\0') {
        if (rn > 0 && name[0] != '\0') {
            at_jw_jstr(b, name, strlen(name));
            return 0;
        }
        snprintf(buf, sizeof(buf), "call_%ld", n);
        at_jw_jstr(b, buf, strlen(buf));
        return 0;
    }
    at_jw_jstr(b, id, strlen(id));
    return 0;
}

/* fast_content: one Content of `contents` (an at_jf_msg_fn). */
static int fast_content(at_buf *b, at_js c, int *first, int *tools,
                        at_attr_mark *mk)
{
    at_js_it it;
    at_js k, v, role = {NULL, 0, NULL, 0}, parts = role, p;
    char r[64];
    const char *rr = "user";
    long calls = 0, results = 0;
    int pfirst = 1, rc;
    size_t i;

    if (!at_js_obj(c, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "role"))
            role = v;
        else if (AT_JS_KEY(k, "parts"))
            parts = v;
    }
    if ((rc = at_jf_name(role, r, sizeof(r))) < 0)
        return -1;
    if (rc > 0 && r[0] != '\0')
        rr = strcmp(r, "model") == 0 ? "assistant"
             : strcmp(r, "function") == 0 ? "tool" : r;
    at_jf_message_open(b, rr, first);
    if (at_js_arr(parts, &it)) {
        while (at_js_next(&it, &p) > 0) {
            at_js text, f;

            if (at_js_kind(p) != AT_JS_OBJECT)
                continue;
            text = AT_JF_MEMBER(p, "text");
            if (at_js_kind(text) == AT_JS_STRING) {
                at_js th = AT_JF_MEMBER(p, "thought");
                int thought = at_js_kind(th) == AT_JS_BOOL && *th.p == 't';

                if (at_jf_text_part(b, thought ? "reasoning" : "text", text,
                                    pfirst))
                    pfirst = 0;
                continue;
            }
            f = fast_get2(p, "functionCall", "function_call");
            if (at_js_kind(f) == AT_JS_OBJECT) {
                at_js args = AT_JF_MEMBER(f, "args");
                at_js name = AT_JF_MEMBER(f, "name");

                at_jf_sep(b, &pfirst);
                AT_JW_LIT(b, "{\"type\":\"tool_call\",\"id\":");
                if (fast_call_id(b, f, calls++) < 0)
                    return -1;
                if (at_js_kind(name) == AT_JS_STRING) {
                    AT_JW_LIT(b, ",\"name\":");
                    at_jf_str(b, name);
                }
                if (args.p != NULL && at_js_kind(args) != AT_JS_NULL) {
                    AT_JW_LIT(b, ",\"arguments\":");
                    if (at_jf_write_js(b, args) < 0)
                        return -1;
                }
                AT_JW_LIT(b, "}");
                *tools = 1;
                continue;
            }
            f = fast_get2(p, "functionResponse", "function_response");
            if (at_js_kind(f) == AT_JS_OBJECT) {
                at_js resp = AT_JF_MEMBER(f, "response");
                size_t at;

                at_jf_sep(b, &pfirst);
                AT_JW_LIT(b, "{\"type\":\"tool_call_response\",\"id\":");
                at = b->len;
                if (fast_call_id(b, f, results++) < 0)
                    return -1;
                at_jf_mark_response(mk, b, at);
                AT_JW_LIT(b, ",\"response\":");
                if (resp.p == NULL)
                    AT_JW_LIT(b, "null");
                else if (at_jf_write_js(b, resp) < 0)
                    return -1;
                AT_JW_LIT(b, "}");
                *tools = 1;
                continue;
            }
            for (i = 0; i < sizeof(other_parts) / sizeof(other_parts[0]);
                 i++) {
                if (fast_get2(p, other_parts[i].camel,
                              other_parts[i].snake).p != NULL) {
                    at_jf_sep(b, &pfirst);
                    AT_JW_LIT(b, "{\"type\":");
                    at_jw_jstr(b, other_parts[i].camel,
                               strlen(other_parts[i].camel));
                    AT_JW_LIT(b, "}");
                    break;
                }
            }
        }
    }
    AT_JW_LIT(b, "]}");
    return 1;
}


int at_gemini_request_fast(at_js root, at_attrs *list)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it;
    at_js k, v, contents = none, tools = none;
    at_js gc[2] = {none, none}, si[2] = {none, none};
    json_t *head, *attrs;

    if (!at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v) > 0) {
        if (AT_JS_KEY(k, "contents"))
            contents = v;
        else if (AT_JS_KEY(k, "tools"))
            tools = v;
        else if (AT_JS_KEY(k, "generationConfig"))
            gc[0] = v;
        else if (AT_JS_KEY(k, "generation_config"))
            gc[1] = v;
        else if (AT_JS_KEY(k, "systemInstruction"))
            si[0] = v;
        else if (AT_JS_KEY(k, "system_instruction"))
            si[1] = v;
    }
    if (at_js_kind(contents) != AT_JS_ARRAY)
        return 0;                /* one Content or a string: the tree's */
    /* the parameters and the system instruction from a body of those
     * members alone */
    head = json_object();
    attrs = json_object();
    if (head == NULL || attrs == NULL) {
        json_decref(head);
        json_decref(attrs);
        return 0;
    }
    if (gc[0].p)
        json_object_set_new_nocheck(head, "generationConfig", at_llm_tree(gc[0]));
    if (gc[1].p)
        json_object_set_new_nocheck(head, "generation_config",
                                    at_llm_tree(gc[1]));
    if (si[0].p)
        json_object_set_new_nocheck(head, "systemInstruction",
                                    at_llm_tree(si[0]));
    if (si[1].p)
        json_object_set_new_nocheck(head, "system_instruction",
                                    at_llm_tree(si[1]));
    request_head(head, attrs);
    json_decref(head);
    at_attrs_take(list, attrs);
    at_jf_messages(contents, list, "gen_ai.input.messages", fast_content,
                   content_message);
    at_jf_tree_definitions(list, tools, tool_definitions);
    return 1;
}

/* read_usage: the counts of a usageMetadata object, over *u.  Cached
 * input is part of promptTokenCount; thoughts are apart from the
 * candidates' count. */
static void read_usage(const json_t *um, at_llm_usage *u)
{
    if (!json_is_object(um))
        return;
    u->reasoning_apart = 1;
    at_llm_count(get2(um, "promptTokenCount", "prompt_token_count"),
                 &u->input);
    at_llm_count(get2(um, "candidatesTokenCount", "candidates_token_count"),
                 &u->output);
    at_llm_count(get2(um, "thoughtsTokenCount", "thoughts_token_count"),
                 &u->reasoning);
    at_llm_count(get2(um, "cachedContentTokenCount",
                      "cached_content_token_count"),
                 &u->cache_read);
}

/* candidate_parts: fold a candidate's content parts into choice `c`.
 * Returns 1 when they carried output. */
static int candidate_parts(at_llm_choice *c, const json_t *list)
{
    const json_t *v;
    json_t *p;
    at_llm_part *part;
    const char *type;
    size_t i;
    int out = 0;

    json_array_foreach(list, i, p) {
        if (!json_is_object(p))
            continue;
        if (json_is_string(v = json_object_get(p, "text"))) {
            int thought = json_is_true(json_object_get(p, "thought"));

            if (json_string_length(v) == 0)
                continue;
            part = at_llm_choice_part(c,
                                      thought ? AT_PART_REASONING
                                              : AT_PART_TEXT,
                                      thought ? KEY_REASONING : KEY_TEXT, 1);
            if (part != NULL)
                out |= at_llm_part_append_str(part, v);
        } else if (json_is_object(v = get2(p, "functionCall",
                                           "function_call"))) {
            long n = at_llm_choice_tools(c);
            const json_t *args = json_object_get(v, "args");
            char buf[32];

            part = at_llm_choice_part(c, AT_PART_TOOL_CALL, n, 1);
            if (part == NULL)
                continue;
            if (part->id == NULL)
                part->id = strdup(call_id(v, n, buf, sizeof(buf)));
            at_llm_keep(&part->name, json_object_get(v, "name"));
            if (args != NULL && !json_is_null(args))
                part->input = json_incref((json_t *)args);
            out = 1;
        } else if ((type = other_type(p)) != NULL) {
            part = at_llm_choice_part(c, AT_PART_OTHER,
                                      KEY_OTHER_BASE - (long)c->nparts, 1);
            if (part != NULL && part->type == NULL)
                part->type = strdup(type);
        }
    }
    return out;
}

/* chunk: fold one GenerateContentResponse into the stream.  Returns 1
 * when it carried output. */
static int chunk(at_llm_stream *s, const json_t *root)
{
    const json_t *cands = json_object_get(root, "candidates");
    const json_t *v;
    json_t *cand;
    size_t i;
    int out = 0;

    if (!json_is_object(root))
        return 0;
    at_llm_stream_status(s, root);
    at_llm_keep(&s->id, get2(root, "responseId", "response_id"));
    at_llm_keep(&s->model, get2(root, "modelVersion", "model_version"));
    read_usage(get2(root, "usageMetadata", "usage_metadata"), &s->usage);
    json_array_foreach(cands, i, cand) {
        const json_t *ix = json_object_get(cand, "index");
        long index = (long)i;
        at_llm_choice *c;

        if (!json_is_object(cand))
            continue;
        if (json_is_integer(ix)) {
            if (json_integer_value(ix) < 0 ||
                json_integer_value(ix) > MAX_INDEX)
                continue;
            index = (long)json_integer_value(ix);
        }
        if ((c = at_llm_stream_choice(s, index)) == NULL)
            continue;
        out |= candidate_parts(c, json_object_get(json_object_get(cand,
                                                                  "content"),
                                                  "parts"));
        v = get2(cand, "finishReason", "finish_reason");
        if (json_is_string(v) && json_string_length(v) > 0)
            s->st.done = 1; /* the last chunk: Gemini has no end marker */
        at_llm_choice_reason(c, v);
    }
    /* a prompt blocked before any candidate: its reason is why it
     * ended */
    v = get2(get2(root, "promptFeedback", "prompt_feedback"), "blockReason",
             "block_reason");
    if (json_array_size(cands) == 0 && json_is_string(v)) {
        at_llm_choice *c = at_llm_stream_choice(s, 0);

        if (c != NULL && c->finish_reason == NULL)
            at_llm_choice_reason(c, v);
        s->st.done = 1;
    }
    return out;
}

void at_gemini_response(const json_t *root, json_t *attrs)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    at_llm_status st;
    json_t *el;
    size_t i;

    if (s == NULL)
        return;
    if (json_is_array(root)) {
        json_array_foreach(root, i, el)
            chunk(s, el);
    } else {
        chunk(s, root);
    }
    at_llm_stream_finish(s, attrs, &st);
    at_llm_stream_del(s);
}

/* ---- the chunks of a streamed answer, from the scanner's tokens ---- */

/* get2 for a member read as a slice: the camelCase one when present */
#define GET2(camel, snake) ((camel).p != NULL ? (camel) : (snake))

/* read_usage for a slice */
static void usage_js(at_js um, at_llm_usage *u)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js k, v, c[8] = {none, none, none, none, none, none, none, none};
    static const char names[8][28] = {
        "promptTokenCount", "prompt_token_count",
        "candidatesTokenCount", "candidates_token_count",
        "thoughtsTokenCount", "thoughts_token_count",
        "cachedContentTokenCount", "cached_content_token_count"};
    int64_t *fields[4];
    at_js_it it;
    int i;

    if (!at_js_obj(um, &it))
        return;
    while (at_js_next_member(&it, &k, &v))
        for (i = 0; i < 8; i++)
            if (at_js_key_is(k, names[i]))
                c[i] = v;
    fields[0] = &u->input;
    fields[1] = &u->output;
    fields[2] = &u->reasoning;
    fields[3] = &u->cache_read;
    u->reasoning_apart = 1;
    for (i = 0; i < 4; i++)
        at_jf_count_value(GET2(c[2 * i], c[2 * i + 1]), fields[i]);
}

/* other_key: k names a tool call or a part of a kind kept by its type
 * (candidate_parts reads those when a part has no text) */
static int other_key(at_js k)
{
    size_t i;

    if (AT_JS_KEY(k, "functionCall") || AT_JS_KEY(k, "function_call"))
        return 1;
    for (i = 0; i < sizeof(other_parts) / sizeof(other_parts[0]); i++)
        if (at_js_key_is(k, other_parts[i].camel) ||
            at_js_key_is(k, other_parts[i].snake))
            return 1;
    return 0;
}

/* fast_parts: candidate_parts for a slice of parts: with `apply`, their
 * texts folded into choice c (*out set when one carried output); 0 when
 * a part is beyond the fast way (a tool call, or a part of another kind
 * without text: the tree reads those). */
static int fast_parts(at_llm_choice *c, at_js parts, int apply, int *out)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it, pit;
    at_js part, k, v, text, thought;
    at_llm_part *p;
    int other;

    if (!at_js_arr(parts, &it))
        return 1;
    while (at_js_next(&it, &part)) {
        if (!at_js_obj(part, &pit))
            continue;
        text = thought = none;
        other = 0;
        while (at_js_next_member(&pit, &k, &v)) {
            if (AT_JS_KEY(k, "text"))
                text = v;
            else if (AT_JS_KEY(k, "thought"))
                thought = v;
            else if (other_key(k))
                other = 1;
        }
        if (at_js_kind(text) != AT_JS_STRING) {
            if (other)
                return 0;
            continue;
        }
        if (!apply || at_js_str_empty(text))
            continue;
        if (at_js_kind(thought) == AT_JS_BOOL && thought.p[0] == 't')
            p = at_llm_choice_part(c, AT_PART_REASONING, KEY_REASONING, 1);
        else
            p = at_llm_choice_part(c, AT_PART_TEXT, KEY_TEXT, 1);
        if (p != NULL && at_llm_part_append_js(p, text))
            *out = 1;
    }
    return 1;
}

/* fast_candidates: chunk()'s loop over the candidates for a slice: with
 * `apply`, folded into the stream; 0 when one is beyond the fast way (a
 * key given twice: which of the two the tree keeps is its own). */
static int fast_candidates(at_llm_stream *s, at_js cands, int apply,
                           int *out)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js_it it, cit;
    at_js cand, k, v, ix, content, parts, fr, fr2;
    at_llm_choice *c;
    long i = -1;
    int64_t n;
    int seen;

    if (!at_js_arr(cands, &it))
        return 1;
    while (at_js_next(&it, &cand)) {
        long index = ++i;

        if (!at_js_obj(cand, &cit))
            continue;
        ix = content = fr = fr2 = none;
        seen = 0;
        while (at_js_next_member(&cit, &k, &v)) {
            int bit = AT_JS_KEY(k, "index")           ? 1
                      : AT_JS_KEY(k, "content")       ? 2
                      : AT_JS_KEY(k, "finishReason")  ? 4
                      : AT_JS_KEY(k, "finish_reason") ? 8
                                                      : 0;

            if (seen & bit)
                return 0;
            seen |= bit;
            if (bit == 1)
                ix = v;
            else if (bit == 2)
                content = v;
            else if (bit == 4)
                fr = v;
            else if (bit == 8)
                fr2 = v;
        }
        parts = at_jf_member(content, "parts", 5);
        if (!apply) {
            if (!fast_parts(NULL, parts, 0, out))
                return 0;
            continue;
        }
        if (at_js_int(ix, &n)) {
            if (n < 0 || n > MAX_INDEX)
                continue;
            index = (long)n;
        }
        if ((c = at_llm_stream_choice(s, index)) == NULL)
            continue;
        fast_parts(c, parts, 1, out);
        /* the last chunk's reason (Gemini has no end marker) */
        if (at_llm_choice_reason_js(c, GET2(fr, fr2)))
            s->st.done = 1;
    }
    return 1;
}

/* fast_root: chunk() for a GenerateContentResponse read by the scanner:
 * 1 when taken, with *out; 0 for the tree (an error, a blocked prompt, a
 * tool call, other parts, a key given twice), before anything was
 * changed. */
static int fast_root(at_llm_stream *s, at_js root, int *out)
{
    static const at_js none = {NULL, 0, NULL, 0};
    at_js k, v, cands = none, um = none, um2 = none, mv = none;
    at_js mv2 = none, id = none, id2 = none;
    at_js_it it;

    if (!at_js_obj(root, &it))
        return 0;
    while (at_js_next_member(&it, &k, &v)) {
        if (AT_JS_KEY(k, "candidates"))
            cands = v;
        else if (AT_JS_KEY(k, "usageMetadata"))
            um = v;
        else if (AT_JS_KEY(k, "usage_metadata"))
            um2 = v;
        else if (AT_JS_KEY(k, "modelVersion"))
            mv = v;
        else if (AT_JS_KEY(k, "model_version"))
            mv2 = v;
        else if (AT_JS_KEY(k, "responseId"))
            id = v;
        else if (AT_JS_KEY(k, "response_id"))
            id2 = v;
        else if (AT_JS_KEY(k, "error") || AT_JS_KEY(k, "promptFeedback") ||
                 AT_JS_KEY(k, "prompt_feedback"))
            return 0;
    }
    *out = 0;
    if (!fast_candidates(s, cands, 0, out))
        return 0;
    at_llm_keep_js(&s->id, GET2(id, id2));
    at_llm_keep_js(&s->model, GET2(mv, mv2));
    usage_js(GET2(um, um2), &s->usage);
    fast_candidates(s, cands, 1, out);
    return 1;
}

/* fast_chunk: fast_root for a streamed chunk, scanned against the shape
 * of the one before (a streamed answer's chunks differ in their text and
 * their counts); 0 also for more tokens than the room here and a list
 * of chunks. */
static int fast_chunk(at_llm_stream *s, const char *data, size_t len,
                      int *out)
{
    at_js_tok tok[64];
    at_js_doc_t doc;
    at_js root;

    return at_llm_scan_chunk(s, data, len, tok, 64, &doc, &root) &&
           fast_root(s, root, out);
}

int at_gemini_response_fast(at_js root, at_attrs *list)
{
    at_llm_stream *s = at_llm_stream_new(AT_API_GEMINI_GENERATE);
    at_llm_status st;
    json_t *o;
    int out;

    if (s == NULL)
        return 0;
    if (!fast_root(s, root, &out)) {
        at_llm_stream_del(s);
        return 0;
    }
    /* as at_gemini_response, through the same merging of the stream */
    o = json_object();
    if (o == NULL) {
        at_llm_stream_del(s);
        return 0;
    }
    at_llm_stream_finish(s, o, &st);
    at_llm_stream_del(s);
    at_attrs_take(list, o);
    return 1;
}

/* Tests turn the fast path off to compare both paths on the same input. */
int at_gemini_fast_off;

int at_gemini_stream_event(at_llm_stream *s, const char *event,
                           size_t event_len, const char *data,
                           size_t data_len)
{
    json_t *root, *el;
    size_t i;
    int out = 0;

    (void)event;
    (void)event_len; /* Gemini names no events */
    if (!at_gemini_fast_off && fast_chunk(s, data, data_len, &out))
        return out;
    root = at_llm_parse(data, data_len);
    if (json_is_object(root)) {
        out = chunk(s, root);
    } else if (json_is_array(root)) {
        json_array_foreach(root, i, el)
            out |= chunk(s, el);
    } else {
        out = -1;
    }
    json_decref(root);
    return out;
}

/* ------------------------------------------------------------------ */
/* Embeddings                                                          */
/* ------------------------------------------------------------------ */

/* embed_input: the user message of one EmbedContentRequest's content, or
 * NULL when it has no text. */
static json_t *embed_input(const json_t *req)
{
    const json_t *content = json_object_get(req, "content");
    json_t *parts = content_parts(json_object_get(content, "parts"));

    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return NULL;
    }
    return at_llm_message("user", parts);
}

void at_gemini_embed_request(const json_t *root, json_t *attrs)
{
    const json_t *reqs = json_object_get(root, "requests");
    const json_t *first = json_is_array(reqs) ? json_array_get(reqs, 0)
                                              : root;
    json_t *msgs = json_array(), *m, *r;
    size_t i;

    if (msgs == NULL)
        return;
    if (json_is_array(reqs)) {
        json_array_foreach(reqs, i, r) {
            if ((m = embed_input(r)) != NULL)
                json_array_append_new(msgs, m);
        }
    } else if ((m = embed_input(root)) != NULL) {
        json_array_append_new(msgs, m);
    }
    if (json_array_size(msgs) > 0)
        json_object_set_new_nocheck(attrs, "gen_ai.input.messages", msgs);
    else
        json_decref(msgs);
    at_llm_set_count(attrs, "gen_ai.embeddings.dimension.count",
                     get2(first, "outputDimensionality",
                          "output_dimensionality"));
}

void at_gemini_embed_response(const json_t *root, json_t *attrs)
{
    const json_t *e = json_object_get(root, "embedding");
    at_llm_usage u;

    if (!json_is_object(e))
        e = json_array_get(json_object_get(root, "embeddings"), 0);
    at_llm_embedding_dims(attrs, json_object_get(e, "values"));
    at_llm_usage_init(&u);
    at_llm_count(get2(get2(root, "usageMetadata", "usage_metadata"),
                      "promptTokenCount", "prompt_token_count"),
                 &u.input);
    at_llm_usage_emit(&u, attrs);
}
