/* test_corpus.c - decode the recorded real exchanges of ../shared/corpus
 * (every API decode/llm.h knows: Chat Completions, Messages, Responses,
 * legacy Completions, Embeddings, Gemini, Ollama; not Cohere nor Bedrock)
 * with decode/llm.h and compare what comes out with each recording's
 * expected.json; then decode the flat recordings of ../shared/corpus/wire
 * and check the facts they show.
 *
 * Runs as a Criterion test program, with the repository root as the
 * working directory.  Gzip bodies are inflated here with zlib, and SSE
 * bodies are cut into events here (blank-line separated, "event:" and
 * "data:" fields), so that only the provider decoders are under test;
 * NDJSON bodies go through decode/ndjson.c, whole and byte by byte.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "decode/llm.h"
#include "decode/ndjson.h"

#define CORPUS "../shared/corpus"

/* ------------------------------------------------------------------ */
/* Files, gzip, URLs, SSE                                              */
/* ------------------------------------------------------------------ */

/* read_all: the bytes of a file (NUL-terminated, *len without the NUL),
 * or NULL when it cannot be read.  The caller frees. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t n = 0, cap = 0, got;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 65536) {
            char *np = realloc(p, cap + 65536 + 1);

            cr_assert_not_null(np);
            p = np;
            cap += 65536;
        }
        got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

/* load_json: a JSON file, asserted to exist and parse. */
static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *v = json_load_file(path, 0, &err);

    cr_assert_not_null(v, "%s: %s", path, err.text);
    return v;
}

/* gunzip: inflate a gzip body.  The caller frees the result. */
static char *gunzip(const char *in, size_t n, size_t *out_len)
{
    z_stream z;
    size_t cap = n * 8 + 1024, len = 0;
    char *out = malloc(cap + 1);
    int rc;

    cr_assert_not_null(out);
    memset(&z, 0, sizeof(z));
    cr_assert_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    do {
        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap + 1);
            cr_assert_not_null(out);
        }
        z.next_out = (Bytef *)out + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
        cr_assert(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    out[len] = '\0';
    *out_len = len;
    return out;
}

/* header: a header's value (case-insensitive name; the first of a list),
 * or NULL. */
static const char *header(const json_t *headers, const char *name)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)headers, k, v) {
        if (strcasecmp(k, name) != 0)
            continue;
        if (json_is_array(v))
            v = json_array_get(v, 0);
        return json_string_value(v);
    }
    return NULL;
}

/* split_url: host (without port) and path (without query or fragment) of
 * an absolute URL. */
static void split_url(const char *url, char *host, size_t hsize, char *path,
                      size_t psize)
{
    const char *h = strstr(url, "://");
    size_t n;

    cr_assert_not_null(h, "url %s", url);
    h += 3;
    n = strcspn(h, ":/?#");
    cr_assert_lt(n, hsize);
    memcpy(host, h, n);
    host[n] = '\0';
    h += strcspn(h, "/?#");
    n = strcspn(h, "?#");
    cr_assert_lt(n, psize);
    memcpy(path, h, n);
    path[n] = '\0';
}

/* What feeding a stream saw. */
struct feed_result {
    int events;   /* events dispatched */
    int output;   /* events at_llm_stream_event called output */
    int failed;   /* events it could not parse */
    int first;    /* 1-based number of the first output event, or 0 */
};

/* feed_sse: cut an SSE body into events (blank-line separated; "event:"
 * and "data:" fields with one optional space; data lines joined with
 * '\n'; ':' comments skipped) and feed them to the stream. */
static struct feed_result feed_sse(at_llm_stream *s, const char *body,
                                   size_t len)
{
    struct feed_result r = {0, 0, 0, 0};
    char event[128] = "";
    char *data = malloc(len + 1);
    size_t dlen = 0, i = 0;
    int has_data = 0;

    cr_assert_not_null(data);
    while (i <= len) {
        size_t e = i;
        const char *line = body + i;
        size_t n;

        while (e < len && body[e] != '\n' && body[e] != '\r')
            e++;
        n = e - i;
        if (n == 0) {
            if (has_data) {
                int rc;

                data[dlen] = '\0';
                r.events++;
                rc = at_llm_stream_event(s, event, strlen(event), data,
                                         dlen);
                if (rc == 1) {
                    r.output++;
                    if (r.first == 0)
                        r.first = r.events;
                } else if (rc < 0) {
                    r.failed++;
                }
            }
            event[0] = '\0';
            dlen = 0;
            has_data = 0;
        } else if (n >= 5 && memcmp(line, "data:", 5) == 0) {
            size_t off = (n > 5 && line[5] == ' ') ? 6 : 5;

            if (has_data)
                data[dlen++] = '\n';
            memcpy(data + dlen, line + off, n - off);
            dlen += n - off;
            has_data = 1;
        } else if (n >= 6 && memcmp(line, "event:", 6) == 0) {
            size_t off = (n > 6 && line[6] == ' ') ? 7 : 6;

            cr_assert_lt(n - off, sizeof(event));
            memcpy(event, line + off, n - off);
            event[n - off] = '\0';
        }
        if (e == len)
            break;
        if (body[e] == '\r' && e + 1 < len && body[e + 1] == '\n')
            e++;
        i = e + 1;
    }
    if (has_data) { /* a last event without its blank line */
        data[dlen] = '\0';
        r.events++;
        if (at_llm_stream_event(s, event, strlen(event), data, dlen) == 1)
            r.output++;
    }
    free(data);
    return r;
}

/* ndjson_line: the at_ndjson_cb of feed_ndjson: one line to the
 * stream. */
static void ndjson_line(void *ud, const char *line, size_t len)
{
    void **ctx = ud;
    at_llm_stream *s = ctx[0];
    struct feed_result *r = ctx[1];
    int rc = at_llm_stream_event(s, "", 0, line, len);

    r->events++;
    if (rc == 1) {
        r->output++;
        if (r->first == 0)
            r->first = r->events;
    } else if (rc < 0) {
        r->failed++;
    }
}

/* feed_ndjson: cut an NDJSON body into lines with decode/ndjson.c, in
 * pieces of `step` bytes (0: whole), and feed them to the stream. */
static struct feed_result feed_ndjson(at_llm_stream *s, const char *body,
                                      size_t len, size_t step)
{
    struct feed_result r = {0, 0, 0, 0};
    void *ctx[2] = {s, &r};
    at_ndjson nd;
    size_t i;

    at_ndjson_init(&nd, 1 << 20);
    if (step == 0)
        step = len ? len : 1;
    for (i = 0; i < len; i += step)
        cr_assert_eq(at_ndjson_feed(&nd, body + i,
                                    len - i < step ? len - i : step,
                                    ndjson_line, ctx),
                     0);
    at_ndjson_finish(&nd, ndjson_line, ctx);
    cr_expect_eq(nd.oversized, 0);
    cr_expect_eq(nd.lines, (unsigned long)r.events);
    at_ndjson_free(&nd);
    return r;
}

/* ------------------------------------------------------------------ */
/* Reading the decoded attributes back                                 */
/* ------------------------------------------------------------------ */

/* parts_text: all parts of `type` of all output messages, concatenated. */
static json_t *parts_text(const json_t *attrs, const char *type)
{
    const json_t *msgs = json_object_get(attrs, "gen_ai.output.messages");
    json_t *m, *p;
    size_t i, j;
    char *s = strdup("");
    size_t n = 0;
    json_t *out;

    json_array_foreach(msgs, i, m) {
        json_array_foreach(json_object_get(m, "parts"), j, p) {
            const json_t *c = json_object_get(p, "content");
            const char *t = json_string_value(json_object_get(p, "type"));

            if (t == NULL || strcmp(t, type) != 0 || !json_is_string(c))
                continue;
            s = realloc(s, n + json_string_length(c) + 1);
            memcpy(s + n, json_string_value(c), json_string_length(c));
            n += json_string_length(c);
            s[n] = '\0';
        }
    }
    out = n > 0 ? json_stringn(s, n) : json_null();
    free(s);
    return out;
}

/* tool_calls: [{id,name,arguments}] of all tool_call parts. */
static json_t *tool_calls(const json_t *attrs)
{
    const json_t *msgs = json_object_get(attrs, "gen_ai.output.messages");
    json_t *out = json_array(), *m, *p;
    size_t i, j;

    json_array_foreach(msgs, i, m) {
        json_array_foreach(json_object_get(m, "parts"), j, p) {
            const char *t = json_string_value(json_object_get(p, "type"));
            json_t *tc;

            if (t == NULL || strcmp(t, "tool_call") != 0)
                continue;
            tc = json_object();
            json_object_set(tc, "id", json_object_get(p, "id"));
            json_object_set(tc, "name", json_object_get(p, "name"));
            json_object_set(tc, "arguments",
                            json_object_get(p, "arguments"));
            json_array_append_new(out, tc);
        }
    }
    return out;
}

/* expect_same: attrs[key] equals expected[field]; a null expectation means
 * the attribute is absent. */
static void expect_same(const char *dir, const json_t *attrs,
                        const char *key, const json_t *expected,
                        const char *field)
{
    const json_t *want = json_object_get(expected, field);
    const json_t *got = json_object_get(attrs, key);
    char *w = json_dumps(want, JSON_ENCODE_ANY);
    char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;

    cr_assert_not_null(want, "%s: expected.json lacks %s", dir, field);
    if (json_is_null(want))
        cr_expect_null(got, "%s: %s should be absent, is %s", dir, key, g);
    else
        cr_expect(json_equal((json_t *)want, (json_t *)got),
                  "%s: %s is %s, expected %s", dir, key,
                  g ? g : "(absent)", w);
    free(w);
    free(g);
}

/* expect_value: `got` (a new reference, consumed) equals
 * expected[field]. */
static void expect_value(const char *dir, json_t *got,
                         const json_t *expected, const char *field)
{
    const json_t *want = json_object_get(expected, field);
    char *w = json_dumps(want, JSON_ENCODE_ANY);
    char *g = json_dumps(got, JSON_ENCODE_ANY);

    cr_expect(json_equal((json_t *)want, got), "%s: %s is %s, expected %s",
              dir, field, g, w);
    free(w);
    free(g);
    json_decref(got);
}

/* ------------------------------------------------------------------ */
/* The corpus folders                                                  */
/* ------------------------------------------------------------------ */

/* One corpus folder (a Criterion parameter: it holds its string). */
struct folder {
    char name[64];
};

/* Every recording of the corpus whose API llm.h decodes.  The test
 * corpus.covers_every_folder fails when a new one is not listed here. */
static struct folder folders[] = {
    {"anthropic/messages_basic"},
    {"anthropic/messages_prompt_cache_read"},
    {"anthropic/messages_prompt_cache_write"},
    {"anthropic/messages_streaming"},
    {"anthropic/messages_thinking"},
    {"anthropic/messages_thinking_streaming"},
    {"anthropic/messages_tool_use"},
    {"anthropic/messages_tool_use_streaming"},
    {"azure_openai/chat_streaming_content_filter"},
    {"gemini/generate_content"},
    {"groq/chat"},
    {"groq/chat_streaming"},
    {"mistral/chat"},
    {"mistral/chat_streaming"},
    {"ollama/chat"},
    {"ollama/chat_streaming"},
    {"ollama/chat_tool_result_followup"},
    {"ollama/generate"},
    {"ollama/generate_streaming"},
    {"openai/chat_basic_2024"},
    {"openai/chat_basic_2026"},
    {"openai/chat_reasoning_gpt5"},
    {"openai/chat_streaming"},
    {"openai/chat_tool_calls"},
    {"openai/chat_tool_calls_streaming"},
    {"openai/chat_tool_result_followup"},
    {"openai/completion_legacy"},
    {"openai/embeddings_base64"},
    {"openai/responses_basic_2025"},
    {"openai/responses_basic_2026"},
    {"openai/responses_function_calls"},
    {"openai/responses_streaming"},
};

#define NFOLDERS (sizeof(folders) / sizeof(folders[0]))

/* The expected.json "api" values llm.h decodes, and their at_api. */
static const struct {
    const char *name;
    at_api api;
} our_apis[] = {
    {"openai.chat_completions", AT_API_OPENAI_CHAT},
    {"anthropic.messages", AT_API_ANTHROPIC_MESSAGES},
    {"openai.responses", AT_API_OPENAI_RESPONSES},
    {"openai.completions", AT_API_OPENAI_COMPLETIONS},
    {"openai.embeddings", AT_API_OPENAI_EMBEDDINGS},
    {"gemini.generateContent", AT_API_GEMINI_GENERATE},
    {"ollama.chat", AT_API_OLLAMA_CHAT},
    {"ollama.generate", AT_API_OLLAMA_GENERATE},
};

/* api_of: the at_api of an expected.json "api", AT_API_NONE when llm.h
 * does not decode it (Cohere, Bedrock). */
static at_api api_of(const char *api)
{
    size_t i;

    for (i = 0; api != NULL && i < sizeof(our_apis) / sizeof(our_apis[0]);
         i++)
        if (strcmp(api, our_apis[i].name) == 0)
            return our_apis[i].api;
    return AT_API_NONE;
}

/* is_our_api: whether an expected.json "api" is decoded by llm.h. */
static int is_our_api(const char *api)
{
    return api_of(api) != AT_API_NONE;
}

Test(corpus, covers_every_folder)
{
    static const char *providers[] = {"openai", "anthropic", "azure_openai",
                                      "groq", "mistral", "gemini", "ollama",
                                      "cohere", "bedrock"};
    size_t i, j, found = 0;

    for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        char path[512];
        DIR *d;
        struct dirent *e;

        snprintf(path, sizeof(path), CORPUS "/%s", providers[i]);
        d = opendir(path);
        cr_assert_not_null(d, "no corpus at %s (cwd must be the repo root)",
                           path);
        while ((e = readdir(d)) != NULL) {
            char name[300], file[700];
            json_t *exp;
            const char *api;
            int listed = 0;

            if (e->d_name[0] == '.')
                continue;
            snprintf(name, sizeof(name), "%s/%s", providers[i], e->d_name);
            snprintf(file, sizeof(file), CORPUS "/%s/expected.json", name);
            exp = load_json(file);
            api = json_string_value(json_object_get(exp, "api"));
            for (j = 0; j < NFOLDERS; j++)
                listed |= strcmp(folders[j].name, name) == 0;
            if (is_our_api(api)) {
                cr_expect(listed, "%s (%s) is not in folders[]", name, api);
                found++;
            } else {
                cr_expect(!listed, "%s is listed but its api is %s", name,
                          api ? api : "?");
            }
            json_decref(exp);
        }
        closedir(d);
    }
    cr_expect_eq(found, NFOLDERS);
}

ParameterizedTestParameters(corpus, folder)
{
    return cr_make_param_array(struct folder, folders, NFOLDERS);
}

ParameterizedTest(struct folder *f, corpus, folder)
{
    char path[512], host[256], urlpath[512];
    json_t *rq, *rs, *exp, *attrs, *v;
    const char *url, *ctype, *cenc;
    char *body, *resp;
    size_t blen, rlen;
    at_llm_route route;
    at_llm_status st;
    int streamed, ndjson;

    snprintf(path, sizeof(path), CORPUS "/%s/expected.json", f->name);
    exp = load_json(path);
    snprintf(path, sizeof(path), CORPUS "/%s/request.json", f->name);
    rq = load_json(path);
    snprintf(path, sizeof(path), CORPUS "/%s/response.json", f->name);
    rs = load_json(path);
    cr_assert(is_our_api(json_string_value(json_object_get(exp, "api"))));

    /* route */
    url = json_string_value(json_object_get(rq, "url"));
    cr_assert_not_null(url);
    split_url(url, host, sizeof(host), urlpath, sizeof(urlpath));
    cr_assert_eq(at_llm_route_find(json_string_value(json_object_get(
                                       rq, "method")),
                                   host, urlpath, &route),
                 1, "%s: %s %s not routed", f->name, host, urlpath);
    cr_expect_str_eq(route.provider,
                     json_string_value(json_object_get(exp, "provider")),
                     "%s: provider", f->name);
    cr_expect_str_eq(route.operation,
                     json_string_value(json_object_get(exp, "operation")),
                     "%s: operation", f->name);
    cr_expect_eq(route.api,
                 api_of(json_string_value(json_object_get(exp, "api"))),
                 "%s: api %d", f->name, (int)route.api);

    /* request */
    attrs = json_object();
    snprintf(path, sizeof(path), CORPUS "/%s/request.body", f->name);
    body = read_all(path, &blen);
    cr_assert_not_null(body, "%s", path);
    cr_assert_eq(at_llm_request_decode(&route, body, blen, attrs), 0,
                 "%s: request not decoded", f->name);
    free(body);
    expect_same(f->name, attrs, "gen_ai.request.model", exp,
                "request_model");
    cr_expect_gt(json_array_size(json_object_get(attrs,
                                                 "gen_ai.input.messages")),
                 0, "%s: no input messages", f->name);
    v = json_object_get(json_object_get(rq, "body"), "stream");
    cr_expect_eq(json_is_true(json_object_get(attrs,
                                              "gen_ai.request.stream")),
                 json_is_true(v), "%s: request stream flag", f->name);

    /* response */
    snprintf(path, sizeof(path), CORPUS "/%s/response.body", f->name);
    resp = read_all(path, &rlen);
    cr_assert_not_null(resp, "%s", path);
    cenc = header(json_object_get(rs, "headers"), "Content-Encoding");
    if (cenc != NULL && strcasecmp(cenc, "gzip") == 0) {
        size_t n;
        char *plain = gunzip(resp, rlen, &n);

        free(resp);
        resp = plain;
        rlen = n;
    }
    ctype = header(json_object_get(rs, "headers"), "Content-Type");
    ndjson = ctype != NULL &&
             strncasecmp(ctype, "application/x-ndjson", 20) == 0;
    streamed = ndjson || (ctype != NULL &&
                          strncasecmp(ctype, "text/event-stream", 17) == 0);
    cr_expect_eq(streamed,
                 json_is_true(json_object_get(exp, "streamed")),
                 "%s: streamed", f->name);
    memset(&st, 0, sizeof(st));
    if (streamed) {
        at_llm_stream *s = at_llm_stream_new(route.api);
        const json_t *sx = json_object_get(exp, "stream");
        const json_t *types = json_object_get(sx, "event_types");
        struct feed_result r;
        json_t *t;
        size_t i;
        int has_stop = 0;

        cr_assert_not_null(s);
        r = ndjson ? feed_ndjson(s, resp, rlen, 0) : feed_sse(s, resp, rlen);
        at_llm_stream_finish(s, attrs, &st);
        at_llm_stream_del(s);
        cr_expect_eq(r.events,
                     (int)json_integer_value(json_object_get(sx, "events")),
                     "%s: %d events", f->name, r.events);
        cr_expect_eq(r.failed, 0, "%s: %d events failed", f->name,
                     r.failed);
        /* the end markers: [DONE], message_stop, response.completed,
         * Ollama's done:true line */
        json_array_foreach(types, i, t)
            has_stop |= strcmp(json_string_value(t), "message_stop") == 0 ||
                        strcmp(json_string_value(t), "response.completed") ==
                            0;
        cr_expect_eq(st.done,
                     json_is_true(json_object_get(sx, "done_marker")) ||
                         has_stop || ndjson,
                     "%s: done flag", f->name);
        cr_expect_gt(r.output, 0, "%s: no event carried output", f->name);
        if (ndjson) { /* the same, fed one byte at a time */
            json_t *b = json_object();
            at_llm_status st2;

            s = at_llm_stream_new(route.api);
            r = feed_ndjson(s, resp, rlen, 1);
            at_llm_stream_finish(s, b, &st2);
            at_llm_stream_del(s);
            {
                const char *k;
                json_t *bv;

                json_object_foreach(b, k, bv)
                    cr_expect(json_equal(bv, json_object_get(attrs, k)),
                              "%s: %s differs fed byte by byte", f->name, k);
                /* and kept whole as a body, as a sink may */
                json_object_clear(b);
                cr_expect_eq(at_llm_response_decode(route.api, resp, rlen,
                                                    b),
                             0);
                json_object_foreach(b, k, bv)
                    cr_expect(json_equal(bv, json_object_get(attrs, k)),
                              "%s: %s differs as a body", f->name, k);
                cr_expect_gt(json_object_size(b), 3);
            }
            json_decref(b);
        }
    } else {
        cr_assert_eq(at_llm_response_decode(route.api, resp, rlen, attrs),
                     0, "%s: response not decoded", f->name);
    }
    free(resp);
    cr_expect_str_eq(st.error_type, "");

    /* facts */
    expect_same(f->name, attrs, "gen_ai.response.model", exp,
                "response_model");
    expect_same(f->name, attrs, "gen_ai.response.id", exp, "response_id");
    expect_same(f->name, attrs, "gen_ai.usage.input_tokens", exp,
                "input_tokens");
    expect_same(f->name, attrs, "gen_ai.usage.output_tokens", exp,
                "output_tokens");
    expect_same(f->name, attrs, "gen_ai.usage.cache_read.input_tokens", exp,
                "cache_read_tokens");
    expect_same(f->name, attrs, "gen_ai.usage.cache_creation.input_tokens",
                exp, "cache_creation_tokens");
    if (strcmp(f->name, "anthropic/messages_thinking") == 0) {
        /* The corpus README's caveat: this recording's
         * usage.output_tokens_details.thinking_tokens (1024) is not a
         * documented Anthropic field, equals the request's budget_tokens
         * and exceeds output_tokens (215); the cassette was probably
         * edited.  The decoder does not read that field. */
        cr_expect_null(json_object_get(
                           attrs, "gen_ai.usage.reasoning.output_tokens"),
                       "%s: reasoning tokens", f->name);
    } else {
        expect_same(f->name, attrs, "gen_ai.usage.reasoning.output_tokens",
                    exp, "reasoning_tokens");
    }
    v = json_object_get(attrs, "gen_ai.response.finish_reasons");
    expect_value(f->name, v ? json_incref(v) : json_array(), exp,
                 "finish_reasons");
    expect_value(f->name, parts_text(attrs, "text"), exp, "output_text");
    expect_value(f->name, parts_text(attrs, "reasoning"), exp,
                 "reasoning_text");
    expect_value(f->name, tool_calls(attrs), exp, "tool_calls");

    /* every output message says why it ended */
    {
        json_t *m;
        size_t i;

        json_array_foreach(json_object_get(attrs, "gen_ai.output.messages"),
                           i, m) {
            cr_expect_str_eq(json_string_value(json_object_get(m, "role")),
                             "assistant");
            cr_expect(json_is_string(json_object_get(m, "finish_reason")),
                      "%s: message %zu has no finish_reason", f->name, i);
        }
    }
    if (route.api == AT_API_OPENAI_EMBEDDINGS)
        /* 1536 float32 values, base64 as the SDK asks */
        cr_expect_eq(json_integer_value(json_object_get(
                         attrs, "gen_ai.embeddings.dimension.count")),
                     1536, "%s: dimension count", f->name);
    at_llm_cost(attrs); /* must not fail on any of them */
    json_decref(attrs);
    json_decref(exp);
    json_decref(rq);
    json_decref(rs);
}

/* ------------------------------------------------------------------ */
/* wire/                                                               */
/* ------------------------------------------------------------------ */

/* ROUTE: a route of API `a` whose path names no model. */
#define ROUTE(a) (&(const at_llm_route){.api = (a)})

/* wire_request: decode wire/<name>.request.json. */
static json_t *wire_request(const at_llm_route *route, const char *name)
{
    char path[512];
    size_t n;
    char *body;
    json_t *a = json_object();

    snprintf(path, sizeof(path), CORPUS "/wire/%s.request.json", name);
    body = read_all(path, &n);
    cr_assert_not_null(body, "%s", path);
    cr_assert_eq(at_llm_request_decode(route, body, n, a), 0, "%s", path);
    free(body);
    return a;
}

/* wire_response: decode wire/<file> (a JSON body, an .sse stream, or an
 * .ndjson stream fed in 7-byte pieces) into attrs; *st gets the stream
 * status. */
static void wire_response(at_api api, const char *file, json_t *a,
                          at_llm_status *st)
{
    char path[512];
    size_t n;
    char *body;

    snprintf(path, sizeof(path), CORPUS "/wire/%s", file);
    body = read_all(path, &n);
    cr_assert_not_null(body, "%s", path);
    memset(st, 0, sizeof(*st));
    if (strstr(file, ".sse") != NULL || strstr(file, ".ndjson") != NULL) {
        at_llm_stream *s = at_llm_stream_new(api);
        struct feed_result r = strstr(file, ".sse") != NULL
                                   ? feed_sse(s, body, n)
                                   : feed_ndjson(s, body, n, 7);

        cr_expect_eq(r.failed, 0);
        cr_expect_gt(r.first, 0);
        at_llm_stream_finish(s, a, st);
        at_llm_stream_del(s);
    } else {
        cr_assert_eq(at_llm_response_decode(api, body, n, a), 0, "%s",
                     path);
    }
    free(body);
}

/* expect_json: attrs[key] equals the JSON text `want`. */
static void expect_json(const json_t *attrs, const char *key,
                        const char *want)
{
    json_error_t err;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &err);
    json_t *got = json_object_get(attrs, key);
    char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

    cr_assert_not_null(w, "bad test JSON: %s", want);
    cr_expect(json_equal(w, got), "%s: got %s, want %s", key,
              g ? g : "(absent)", want);
    free(g);
    json_decref(w);
}

/* expect_text: the output text is `want`. */
static void expect_text(const json_t *attrs, const char *want)
{
    json_t *t = parts_text(attrs, "text");

    cr_expect_str_eq(json_is_string(t) ? json_string_value(t) : "(none)",
                     want);
    json_decref(t);
}

/* expect_tools: the output tool calls are the JSON text `want`. */
static void expect_tools(const json_t *attrs, const char *want)
{
    json_error_t err;
    json_t *w = json_loads(want, 0, &err);
    json_t *got = tool_calls(attrs);
    char *g = json_dumps(got, JSON_COMPACT);

    cr_assert_not_null(w);
    cr_expect(json_equal(w, got), "tool calls %s, want %s", g, want);
    free(g);
    json_decref(w);
    json_decref(got);
}

Test(wire, openai_chat)
{
    json_t *a = wire_request(ROUTE(AT_API_OPENAI_CHAT), "openai_chat");
    at_llm_status st;

    expect_json(a, "gen_ai.request.model", "\"gpt-3.5-turbo\"");
    expect_json(a, "gen_ai.request.temperature", "0.7");
    expect_json(a, "gen_ai.request.max_tokens", "256");
    expect_json(a, "gen_ai.request.top_p", "0.9");
    expect_json(a, "gen_ai.request.seed", "42");
    expect_json(a, "gen_ai.request.stop_sequences", "[\"END\"]");
    cr_expect_null(json_object_get(a, "gen_ai.request.stream"));
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Tell me a joke about opentelemetry\"}]}]");
    wire_response(AT_API_OPENAI_CHAT, "openai_chat.json", a, &st);
    expect_json(a, "gen_ai.response.model", "\"gpt-3.5-turbo-0125\"");
    expect_json(a, "gen_ai.response.id",
                "\"chatcmpl-DPTBnLVEU6gLtntz301fthMFXeE4C\"");
    expect_json(a, "gen_ai.usage.input_tokens", "15");
    expect_json(a, "gen_ai.usage.output_tokens", "31");
    expect_json(a, "gen_ai.usage.cache_read.input_tokens", "0");
    expect_json(a, "gen_ai.usage.reasoning.output_tokens", "0");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_text(a, "Why did the Opentelemetry developer go broke?\n\n"
                   "Because every time they tried to trace their expenses, "
                   "they ended up with a 500 Internal Server Error!");
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

Test(wire, openai_tool_call_and_final)
{
    json_t *a = wire_request(ROUTE(AT_API_OPENAI_CHAT), "openai_tool_call");
    json_t *b = json_object();
    at_llm_status st;

    expect_json(a, "gen_ai.request.model", "\"gpt-4o-mini\"");
    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"add_numbers\","
                "\"description\":\"Add two numbers together.\","
                "\"parameters\":{\"type\":\"object\",\"properties\":{"
                "\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}},"
                "\"required\":[\"a\",\"b\"]}}]");
    wire_response(AT_API_OPENAI_CHAT, "openai_tool_call.json", a, &st);
    expect_json(a, "gen_ai.response.model", "\"gpt-4o-mini-2024-07-18\"");
    expect_json(a, "gen_ai.usage.input_tokens", "52");
    expect_json(a, "gen_ai.usage.output_tokens", "18");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_calls\"]");
    expect_tools(a, "[{\"id\":\"call_K1e5DeMhf00qONjSQD0B4h9C\","
                    "\"name\":\"add_numbers\",\"arguments\":{\"a\":5,"
                    "\"b\":7}}]");
    wire_response(AT_API_OPENAI_CHAT, "openai_tool_final.json", b, &st);
    expect_json(b, "gen_ai.usage.input_tokens", "79");
    expect_json(b, "gen_ai.usage.output_tokens", "13");
    expect_json(b, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_text(b, "The sum of 5 and 7 is 12.");
    expect_tools(b, "[]");
    json_decref(a);
    json_decref(b);
}

Test(wire, openai_stream_with_usage)
{
    json_t *a = wire_request(ROUTE(AT_API_OPENAI_CHAT), "openai_stream");
    at_llm_status st;

    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"developer\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"A streaming test agent\"}]},"
                "{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"What is 10 + 5?\"}]}]");
    wire_response(AT_API_OPENAI_CHAT, "openai_stream.sse", a, &st);
    cr_expect_eq(st.done, 1);
    expect_json(a, "gen_ai.response.model", "\"gpt-4o-mini-2024-07-18\"");
    expect_json(a, "gen_ai.response.id",
                "\"chatcmpl-ChZNa5AVXUvGOZAleY7FgQlVr6bxn\"");
    expect_json(a, "gen_ai.usage.input_tokens", "23");
    expect_json(a, "gen_ai.usage.output_tokens", "8");
    expect_json(a, "gen_ai.usage.cache_read.input_tokens", "0");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_text(a, "10 + 5 equals 15.");
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

Test(wire, openai_stream_without_usage)
{
    json_t *a = wire_request(ROUTE(AT_API_OPENAI_CHAT), "openai_stream_joke");
    at_llm_status st;

    wire_response(AT_API_OPENAI_CHAT, "openai_stream_joke.sse", a, &st);
    cr_expect_eq(st.done, 1);
    expect_json(a, "gen_ai.request.model", "\"gpt-3.5-turbo\"");
    cr_expect_null(json_object_get(a, "gen_ai.usage.input_tokens"));
    cr_expect_null(json_object_get(a, "gen_ai.usage.output_tokens"));
    cr_expect_eq(at_llm_cost(a), 0);
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_text(a, "Why did the opentelemetry developer go broke? \n"
                   "Because they kept trying to trace their steps back "
                   "too far!");
    json_decref(a);
}

Test(wire, openai_stream_tool_call)
{
    json_t *a = wire_request(ROUTE(AT_API_OPENAI_CHAT),
                             "openai_stream_tool_call");
    at_llm_status st;

    expect_json(a, "gen_ai.tool.definitions",
                "[{\"type\":\"function\",\"name\":\"multiply\","
                "\"description\":\"Multiply two numbers.\","
                "\"parameters\":{\"type\":\"object\",\"properties\":{"
                "\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}},"
                "\"required\":[\"a\",\"b\"]}}]");
    wire_response(AT_API_OPENAI_CHAT, "openai_stream_tool_call.sse", a, &st);
    cr_expect_eq(st.done, 1);
    expect_json(a, "gen_ai.usage.input_tokens", "59");
    expect_json(a, "gen_ai.usage.output_tokens", "17");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_calls\"]");
    expect_tools(a, "[{\"id\":\"call_6KQlxELWhphiY7wr0DV9WW5S\","
                    "\"name\":\"multiply\",\"arguments\":{\"a\":6,"
                    "\"b\":7}}]");
    json_decref(a);
}

Test(wire, anthropic_tool_use)
{
    json_t *a = wire_request(ROUTE(AT_API_ANTHROPIC_MESSAGES),
                             "anthropic_tool_use");
    at_llm_status st;
    const json_t *defs;

    expect_json(a, "gen_ai.request.model", "\"claude-3-5-sonnet-20240620\"");
    expect_json(a, "gen_ai.request.max_tokens", "1024");
    expect_json(a, "gen_ai.request.temperature", "0.5");
    defs = json_object_get(a, "gen_ai.tool.definitions");
    cr_expect_eq(json_array_size(defs), 2);
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_array_get(defs, 1), "name")),
                     "get_time");
    cr_expect(json_is_object(json_object_get(json_array_get(defs, 0),
                                             "parameters")));
    wire_response(AT_API_ANTHROPIC_MESSAGES, "anthropic_tool_use.json", a,
                  &st);
    expect_json(a, "gen_ai.response.id", "\"msg_01RBkXFe9TmDNNWThMz2HmGt\"");
    expect_json(a, "gen_ai.usage.input_tokens", "514");
    expect_json(a, "gen_ai.usage.output_tokens", "152");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_use\"]");
    expect_tools(a, "[{\"id\":\"toolu_012r6TBCWjRHG71j6zruYyUL\","
                    "\"name\":\"get_weather\",\"arguments\":{\"location\":"
                    "\"New York, NY\",\"unit\":\"fahrenheit\"}},"
                    "{\"id\":\"toolu_01SkeBKkLCNYWNuivqFerGDd\","
                    "\"name\":\"get_time\",\"arguments\":{\"timezone\":"
                    "\"America/New_York\"}}]");
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

Test(wire, anthropic_stream_tool_use)
{
    json_t *a = wire_request(ROUTE(AT_API_ANTHROPIC_MESSAGES),
                             "anthropic_stream_tool_use");
    at_llm_status st;

    expect_json(a, "gen_ai.request.stream", "true");
    wire_response(AT_API_ANTHROPIC_MESSAGES, "anthropic_stream_tool_use.sse",
                  a, &st);
    cr_expect_eq(st.done, 1);
    expect_json(a, "gen_ai.response.model", "\"claude-3-5-sonnet-20240620\"");
    expect_json(a, "gen_ai.usage.input_tokens", "506");
    expect_json(a, "gen_ai.usage.output_tokens", "153");
    expect_json(a, "gen_ai.usage.cache_read.input_tokens", "0");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"tool_use\"]");
    expect_tools(a, "[{\"id\":\"toolu_014x5X91kx3fvdhpLvwXZWE2\","
                    "\"name\":\"get_weather\",\"arguments\":{\"location\":"
                    "\"San Francisco, CA\",\"unit\":\"celsius\"}},"
                    "{\"id\":\"toolu_0121kXsENLvoDZ72LCuAnCCz\","
                    "\"name\":\"get_time\",\"arguments\":{\"timezone\":"
                    "\"America/Los_Angeles\"}}]");
    json_decref(a);
}

Test(wire, gemini_generate)
{
    at_llm_route r;
    json_t *a;
    at_llm_status st;

    cr_assert_eq(at_llm_route_find("POST", "generativelanguage.googleapis.com",
                                   "/v1beta/models/gemini-2.5-flash:"
                                   "generateContent",
                                   &r),
                 1);
    a = wire_request(&r, "gemini_generate");
    expect_json(a, "gen_ai.request.model", "\"gemini-2.5-flash\"");
    expect_json(a, "gen_ai.request.temperature", "0.2");
    expect_json(a, "gen_ai.request.top_p", "0.95");
    expect_json(a, "gen_ai.request.max_tokens", "4096");
    cr_expect_null(json_object_get(a, "gen_ai.request.stream"));
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"What is ai?\"}]}]");
    wire_response(AT_API_GEMINI_GENERATE, "gemini_generate.json", a, &st);
    expect_json(a, "gen_ai.response.model", "\"gemini-2.5-flash\"");
    expect_json(a, "gen_ai.response.id", "\"-hk4afOSMZKkjuMPnJWGkAk\"");
    expect_json(a, "gen_ai.usage.input_tokens", "5");
    expect_json(a, "gen_ai.usage.output_tokens", "1935"); /* 877 + 1058 */
    expect_json(a, "gen_ai.usage.reasoning.output_tokens", "1058");
    cr_expect_null(json_object_get(a, "gen_ai.usage.cache_read.input_tokens"));
    expect_json(a, "gen_ai.response.finish_reasons", "[\"STOP\"]");
    {
        json_t *t = parts_text(a, "text");

        cr_expect(json_is_string(t));
        cr_expect_eq(strncmp(json_string_value(t),
                             "AI stands for **Artificial Intelligence**.",
                             42),
                     0);
        json_decref(t);
    }
    expect_tools(a, "[]");
    json_decref(a);
}

Test(wire, openai_responses_stream)
{
    at_llm_route r;
    json_t *a;
    at_llm_status st;

    cr_assert_eq(at_llm_route_find("POST", "api.openai.com", "/v1/responses",
                                   &r),
                 1);
    a = wire_request(&r, "openai_responses_stream");
    expect_json(a, "gen_ai.request.model", "\"gpt-4.1-nano\"");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Tell me a three sentence bedtime story about "
                "a unicorn.\"}]}]");
    wire_response(AT_API_OPENAI_RESPONSES, "openai_responses_stream.sse", a,
                  &st);
    cr_expect_eq(st.done, 1);
    cr_expect_str_eq(st.error_type, "");
    expect_json(a, "gen_ai.response.model", "\"gpt-4.1-nano-2025-04-14\"");
    expect_json(a, "gen_ai.response.id",
                "\"resp_0fef0f8a68937870006911e9ecf124819491634b434678464a\"");
    expect_json(a, "gen_ai.usage.input_tokens", "18");
    expect_json(a, "gen_ai.usage.output_tokens", "79");
    expect_json(a, "gen_ai.usage.cache_read.input_tokens", "0");
    expect_json(a, "gen_ai.usage.reasoning.output_tokens", "0");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"completed\"]");
    expect_text(a, "Once upon a time, in a enchanted forest, there was a "
                   "gentle unicorn named Luna who loved to weave dreams into "
                   "sparkling stardust. One night, she gathered all her "
                   "shimmering magic to create a special dream for a little "
                   "girl who believed in kindness and hope. As the girl slept "
                   "peacefully, Luna\xe2\x80\x99s dreams floated down like "
                   "glowing clouds, filling her heart with joy and wonder "
                   "until morning.");
    /* one message, one text part: the output_text.done and
     * response.completed copies do not double it */
    cr_expect_eq(json_array_size(json_object_get(json_array_get(
                     json_object_get(a, "gen_ai.output.messages"), 0),
                                                 "parts")),
                 1);
    cr_expect_eq(at_llm_cost(a), 1);
    json_decref(a);
}

Test(wire, ollama_chat_stream)
{
    at_llm_route r;
    json_t *a;
    at_llm_status st;

    cr_assert_eq(at_llm_route_find("POST", "127.0.0.1", "/api/chat", &r), 1);
    a = wire_request(&r, "ollama_chat_stream");
    expect_json(a, "gen_ai.request.model", "\"llama3\"");
    expect_json(a, "gen_ai.request.stream", "true");
    expect_json(a, "gen_ai.request.temperature", "0.1");
    expect_json(a, "gen_ai.request.seed", "7");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Tell me a joke about OpenTelemetry\"}]}]");
    wire_response(AT_API_OLLAMA_CHAT, "ollama_chat_stream.ndjson", a, &st);
    cr_expect_eq(st.done, 1);
    expect_json(a, "gen_ai.response.model", "\"llama3\"");
    cr_expect_null(json_object_get(a, "gen_ai.response.id"));
    expect_json(a, "gen_ai.usage.input_tokens", "17");
    expect_json(a, "gen_ai.usage.output_tokens", "50");
    expect_json(a, "gen_ai.response.finish_reasons", "[\"stop\"]");
    expect_text(a, "Why did the OpenTelemetry agent go to therapy?\n\n"
                   "Because it was feeling traced out and needed some "
                   "instrumentation in its life!\n\n(Sorry, I know it's a "
                   "bit of a stretch, but I hope it brought a smile to your "
                   "face!)");
    cr_expect_eq(at_llm_cost(a), 0); /* a local model has no price */
    json_decref(a);
}

Test(wire, openai_embeddings)
{
    at_llm_route r;
    json_t *a;
    at_llm_status st;

    cr_assert_eq(at_llm_route_find("POST", "api.openai.com", "/v1/embeddings",
                                   &r),
                 1);
    cr_expect_str_eq(r.operation, "embeddings");
    a = wire_request(&r, "openai_embeddings");
    expect_json(a, "gen_ai.request.model", "\"text-embedding-ada-002\"");
    expect_json(a, "gen_ai.request.encoding_formats", "[\"base64\"]");
    expect_json(a, "gen_ai.input.messages",
                "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\","
                "\"content\":\"Tell me a joke about opentelemetry\"}]}]");
    wire_response(AT_API_OPENAI_EMBEDDINGS, "openai_embeddings.json", a, &st);
    expect_json(a, "gen_ai.response.model", "\"text-embedding-ada-002\"");
    expect_json(a, "gen_ai.usage.input_tokens", "8");
    cr_expect_null(json_object_get(a, "gen_ai.usage.output_tokens"));
    cr_expect_null(json_object_get(a, "gen_ai.output.messages"));
    cr_expect_null(json_object_get(a, "gen_ai.response.finish_reasons"));
    expect_json(a, "gen_ai.embeddings.dimension.count", "1536");
    cr_expect_eq(at_llm_cost(a), 1); /* 8 tokens at $0.10 per million */
    cr_expect(json_real_value(json_object_get(a, "agenttrace.cost.usd")) >
              7.9e-7);
    json_decref(a);
}
