/* sink.c - records in, span lines out (see sink.h).  Sink thread only.
 *
 * Connections are found by id in a small hash table; their bytes go to
 * exchange.c, which calls back here when a request is complete (decode it,
 * close the execute_tool spans whose results it carries) and when an
 * exchange is complete (write its inference or HTTP span, open execute_tool
 * spans for the tool calls the model asked for).
 */
#include "internal.h"
#include "preload/log.h"
#include "sink/ids.h"
#include "sink/jalloc.h"
#include "sink/jw.h"
#include "sink/salvage.h"
#include "decode/jscan.h"
#include "decode/llm_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINES_MAX (256u << 20)
/* a URL is at most a request head long */
#define SCRATCH_MAX (16u << 20)
#define FLUSH_AT (1u << 20)

typedef struct at_tool {
    struct at_tool *next;
    uint64_t span_id, parent_id, start;
    char *call_id;
    char *name;
    json_t *args;
} at_tool;

/* ---- connections -------------------------------------------------------- */

static at_sconn **bucket(at_sink *s, uint64_t id)
{
    return &s->buckets[(id * 0x9E3779B97F4A7C15ull) >> 56];
}

static at_sconn *conn_get(at_sink *s, uint64_t id)
{
    at_sconn *c;

    for (c = *bucket(s, id); c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void conn_remove(at_sink *s, at_sconn *c)
{
    at_sconn **pp;

    for (pp = bucket(s, c->id); *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    at_sx_free_conn(c);
}

at_sink *at_sink_new(const at_sink_opts *o)
{
    at_sink *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->o = *o;
    at_buf_init(&s->lines, LINES_MAX);
    at_buf_init(&s->scratch, SCRATCH_MAX);
    return s;
}

/* ---- attributes --------------------------------------------------------- */


static int secret_param(const char *k, size_t n)
{
    static const char names[][16] = {
        "key", "api_key", "apikey", "api-key", "token", "access_token",
        "auth", "authorization", "password", "passwd", "secret",
        "client_secret", "signature", "sig", "x-goog-api-key", "code",
        "refresh_token", "id_token", "session", ""};
    int i;

    for (i = 0; names[i][0]; i++)
        if (strlen(names[i]) == n && !strncasecmp(k, names[i], n))
            return 1;
    return 0;
}

char *at_url_full(int tls, const char *host, int port, const char *target);

/* set_own: a string of this program's own (a literal, a route's
 * provider): ASCII, so not checked as UTF-8 as what came off the wire is. */
static void set_own(at_attrs *a, const char *key, const char *s)
{
    if (s != NULL)
        at_attrs_set_utf8(a, key, s, strlen(s));
}

/* join: "a b" (just "a" when b is NULL) into dst, cut to cap - 1 bytes
 * as snprintf would cut it. */
static void join(char *dst, size_t cap, const char *a, const char *b)
{
    size_t n = 0, k;

    k = strlen(a);
    if (k > cap - 1)
        k = cap - 1;
    memcpy(dst, a, k);
    n = k;
    if (b != NULL && n < cap - 1) {
        dst[n++] = ' ';
        k = strlen(b);
        if (k > cap - 1 - n)
            k = cap - 1 - n;
        memcpy(dst + n, b, k);
        n += k;
    }
    dst[n] = '\0';
}

/* url_write: url.full with secrets in the query replaced by REDACTED,
 * appended to b. */
static void url_write(at_buf *b, int tls, const char *host, int port,
                      const char *target)
{
    const char *q, *frag, *p;
    char tmp[32];
    int v6 = strchr(host, ':') != NULL;

    at_buf_append(b, tls ? "https://" : "http://", tls ? 8 : 7);
    if (v6)
        at_buf_append(b, "[", 1);
    at_buf_append(b, host, strlen(host));
    if (v6)
        at_buf_append(b, "]", 1);
    if (port != (tls ? 443 : 80)) {
        size_t k = 1;

        tmp[0] = ':';
        if (port < 0) {
            tmp[k++] = '-';
            k += at_jw_dec(tmp + k, (uint64_t)-(int64_t)port);
        } else {
            k += at_jw_dec(tmp + k, (uint64_t)port);
        }
        at_buf_append(b, tmp, k);
    }
    if (!strncmp(target, "http://", 7) || !strncmp(target, "https://", 8)) {
        const char *sl = strchr(strstr(target, "//") + 2, '/');

        target = sl ? sl : "";
    }
    q = strchr(target, '?');
    frag = strchr(target, '#');
    if (q == NULL || (frag && frag < q)) {
        at_buf_append(b, target, frag ? (size_t)(frag - target)
                                       : strlen(target));
        return;
    }
    at_buf_append(b, target, (size_t)(q - target) + 1);
    p = q + 1;
    while (*p && *p != '#') {
        size_t len = strcspn(p, "&#");
        const char *eq = memchr(p, '=', len);

        if (eq && secret_param(p, (size_t)(eq - p))) {
            at_buf_append(b, p, (size_t)(eq - p) + 1);
            at_buf_append(b, "REDACTED", 8);
        } else {
            at_buf_append(b, p, len);
        }
        p += len;
        if (*p == '&') {
            at_buf_append(b, "&", 1);
            p++;
        }
    }
}

/* url.full (malloc). */
char *at_url_full(int tls, const char *host, int port, const char *target)
{
    at_buf b;

    at_buf_init(&b, 1u << 20);
    url_write(&b, tls, host, port, target);
    return b.p;
}

/* STR_MEMBER: ,"key":"s" (key a literal of plain ASCII), or "\uFFFD" for a
 * value that is not valid UTF-8, as at_attrs_set_str sets it */
#define STR_MEMBER(b, key, s, n)                            \
    do {                                                    \
        AT_JW_LIT(b, ",\"" key "\":");                      \
        str_value(b, s, n);                                 \
    } while (0)

static void str_value(at_buf *b, const char *s, size_t n)
{
    if (at_jw_utf8_ok(s, n))
        at_jw_jstr(b, s, n);
    else
        AT_JW_LIT(b, "\"\xEF\xBF\xBD\"");
}

/* The attributes of every HTTP exchange, written as members at once (no
 * key of theirs is set again or read: at_attrs_close_members). */
static void http_attrs(at_sink *s, at_exch *e, at_attrs *a)
{
    at_buf *b;
    size_t mark;

    b = at_attrs_open(a, &mark);
    STR_MEMBER(b, "http.request.method", e->method, strlen(e->method));
    if (e->status) {
        AT_JW_LIT(b, ",\"http.response.status_code\":");
        at_jw_i64(b, e->status);
    }
    /* host and target are as the wire had them */
    at_buf_reset(&s->scratch);
    url_write(&s->scratch, e->tls, e->host, e->port, e->target);
    if (s->scratch.p != NULL && !s->scratch.truncated)
        STR_MEMBER(b, "url.full", s->scratch.p, s->scratch.len);
    else
        a->failed = 1;   /* out of memory: left out, and said (emit) */
    STR_MEMBER(b, "server.address", e->host, strlen(e->host));
    AT_JW_LIT(b, ",\"server.port\":");
    at_jw_i64(b, e->port);
    if (e->transport == AT_TRANSPORT_OPENSSL)
        AT_JW_LIT(b, ",\"agenttrace.transport\":\"openssl\"");
    else if (e->transport == AT_TRANSPORT_LIBCURL)
        AT_JW_LIT(b, ",\"agenttrace.transport\":\"libcurl\"");
    else
        AT_JW_LIT(b, ",\"agenttrace.transport\":\"socket\"");
    if (e->h2)
        AT_JW_LIT(b, ",\"agenttrace.http.version\":\"2\"");
    else
        AT_JW_LIT(b, ",\"agenttrace.http.version\":\"1.1\"");
    if (e->undecoded || e->enc_failed)
        AT_JW_LIT(b, ",\"agenttrace.undecoded\":true");
    if (e->req_body.truncated || e->resp_body.truncated ||
        (e->enc && at_enc_truncated(e->enc)) ||
        (e->sse_on && e->sse.oversized))
        AT_JW_LIT(b, ",\"agenttrace.truncated\":true");
    if (e->desync)
        AT_JW_LIT(b, ",\"agenttrace.desynchronized\":true");
    at_attrs_close_members(a, mark);
}

static void strip_content(at_attrs *a)
{
    static const char keys[][32] = {
        "gen_ai.input.messages", "gen_ai.output.messages",
        "gen_ai.system_instructions", "gen_ai.tool.definitions",
        "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
        "agenttrace.http.request.body", "agenttrace.http.response.body",
        ""};
    int i;

    for (i = 0; keys[i][0]; i++)
        at_attrs_del(a, keys[i]);
}

static void emit(at_sink *s, at_span *sp, at_attrs *a)
{
    if (a->failed)
        at_log("span %s: out of memory; some of its attributes are missing",
               sp->name ? sp->name : "");
    if (!s->o.capture_content)
        strip_content(a);
    sp->list = a;
    if (at_span_line(&s->lines, s->o.proc, sp) == 0)
        s->stats.spans++;
    else
        at_log("a span could not be serialised; dropped");
    if (s->lines.len >= FLUSH_AT)
        at_sink_flush(s);
}

/* ---- execute_tool spans ------------------------------------------------- */

uint64_t at_sink_current_parent(at_sink *s)
{
    return s->tools ? s->tools->span_id : s->o.proc->span_id;
}

static void update_current(at_sink *s)
{
    uint64_t cur = s->tools ? s->tools->span_id : 0;

    if (cur != s->current) {
        s->current = cur;
        if (s->o.set_current)
            s->o.set_current(s->o.ud, cur);
    }
}

static void tool_emit(at_sink *s, at_tool *t, uint64_t end, json_t *result,
                      int status)
{
    at_attrs a;
    char name[300];
    at_span sp;

    at_attrs_init(&a);
    join(name, sizeof(name), "execute_tool", t->name);
    set_own(&a, "gen_ai.operation.name", "execute_tool");
    at_attrs_set_str(&a, "gen_ai.tool.name", t->name);
    at_attrs_set_str(&a, "gen_ai.tool.call.id", t->call_id);
    set_own(&a, "gen_ai.tool.type", "function");
    if (t->args)
        at_attrs_set_json(&a, "gen_ai.tool.call.arguments",
                          json_incref(t->args));
    if (result)
        at_attrs_set_json(&a, "gen_ai.tool.call.result", json_incref(result));
    at_attrs_set_bool(&a, "agenttrace.inferred", 1);
    memset(&sp, 0, sizeof(sp));
    sp.span_id = t->span_id;
    sp.parent_id = t->parent_id;
    sp.name = name;
    sp.start_mono = t->start;
    sp.end_mono = end;
    sp.status = status;
    emit(s, &sp, &a);
    at_attrs_free(&a);
}

static void tool_free(at_tool *t)
{
    free(t->call_id);
    free(t->name);
    json_decref(t->args);
    free(t);
}

/* Each message of attribute `key` (messages), each part of type `type`:
 * call fn.  Messages a fast decoder wrote as text with text parts only
 * hold none. */
typedef void (*part_fn)(at_sink *, at_exch *, json_t *);

/* A document read by the scanner: room for a small one here, a larger
 * one's tokens on the heap.  scan_text: 0 when the scanner does not read
 * the text; scanned_free afterwards, either way. */
typedef struct scanned_text {
    at_js_doc_t doc;
    at_js root;
    at_js_tok *tok;
    at_js_tok small[256];
} scanned_text;

static int scan_text(scanned_text *t, const char *p, size_t n)
{
    t->tok = t->small;
    if (at_js_doc(p, n, t->tok, 256, &t->doc, &t->root))
        return 1;
    /* a value takes two bytes at least, its separator included */
    if (!t->doc.full || n / 2 + 2 >= ((size_t)1 << 24) ||
        (t->tok = malloc((n / 2 + 2) * sizeof(*t->tok))) == NULL) {
        t->tok = t->small;
        return 0;
    }
    return at_js_doc(p, n, t->tok, (uint32_t)(n / 2 + 2), &t->doc, &t->root);
}

static void scanned_free(scanned_text *t)
{
    if (t->tok != t->small)
        free(t->tok);
    t->tok = t->small;
}

/* message_parts: fn for each part of type `type` of message m (as the
 * tree walk of each_part finds them: the last "parts", the last "type"). */
static void message_parts(at_js m, const char *type, part_fn fn,
                          at_sink *s, at_exch *e)
{
    at_js k, v, parts = {NULL, 0, NULL, 0}, part, t;
    at_js_it it, pi;

    if (at_js_obj(m, &it))
        while (at_js_next_member(&it, &k, &v) > 0)
            if (AT_JS_KEY(k, "parts"))
                parts = v;
    if (!at_js_arr(parts, &pi))
        return;
    while (at_js_next(&pi, &part) > 0) {
        json_t *j;

        t.p = NULL;
        if (at_js_obj(part, &it))
            while (at_js_next_member(&it, &k, &v) > 0)
                if (AT_JS_KEY(k, "type"))
                    t = v;
        if (at_js_kind(t) != AT_JS_STRING || !at_js_str_eq(t, type))
            continue;
        if ((j = at_llm_tree(part)) != NULL)
            fn(s, e, j);
        json_decref(j);
    }
}

/* tree_parts: message_parts for a message as a tree. */
static void tree_parts(const json_t *m, const char *type, part_fn fn,
                       at_sink *s, at_exch *e)
{
    json_t *parts = json_object_get(m, "parts"), *part;
    size_t j;

    json_array_foreach(parts, j, part) {
        const char *t = json_string_value(json_object_get(part, "type"));

        if (t && !strcmp(t, type))
            fn(s, e, part);
    }
}

/* each_part_text: each_part for messages held as JSON text, read by the
 * scanner (only the parts wanted become trees): the messages `marks` says
 * may hold tool parts, when given, else all.  `want`, for
 * tool_call_response parts: the marked messages that hold none are
 * skipped, and those whose part's id it refuses.  0 when the scanner does
 * not read the text (each_part then parses it). */
static int each_part_text(const char *p, size_t n, const at_attr_mark *marks,
                          size_t nmarks, const char *type, part_fn fn,
                          int (*want)(at_sink *, const char *, size_t),
                          at_sink *s, at_exch *e)
{
    scanned_text t;
    at_js_it mi;
    at_js m;
    size_t i;

    if (marks == NULL) {
        if (!scan_text(&t, p, n)) {
            scanned_free(&t);
            return 0;
        }
        if (at_js_arr(t.root, &mi))
            while (at_js_next(&mi, &m) > 0)
                message_parts(m, type, fn, s, e);
        scanned_free(&t);
        return 1;
    }
    /* each message is a whole JSON value inside the text, which the
     * scanner read when it was written: it reads it again alone */
    for (i = 0; i < nmarks; i++) {
        const at_attr_mark *k = &marks[i];

        if (want != NULL &&
            (!k->responses ||
             (k->id_len != 0 && !want(s, p + k->id_off, k->id_len))))
            continue;
        if (scan_text(&t, p + k->off, k->len)) {
            message_parts(t.root, type, fn, s, e);
        } else {                 /* not expected: jansson's reading */
            json_t *j = at_json_loadb(p + k->off, k->len,
                                   JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

            tree_parts(j, type, fn, s, e);
            json_decref(j);
        }
        scanned_free(&t);
    }
    return 1;
}

/* Each message of attribute `key` (messages), each part of type `type`:
 * call fn.  Messages a fast decoder wrote as text with text parts only
 * hold none. */
static void each_part(at_attrs *a, const char *key, const char *type,
                      part_fn fn, int (*want)(at_sink *, const char *, size_t),
                      at_sink *s, at_exch *e)
{
    const at_attr *x = at_attrs_find(a, key);
    const at_attr_mark *marks = NULL;
    size_t i, nmarks = 0;
    json_t *msgs, *m;

    if (x == NULL || (x->kind == AT_ATTR_RAW && x->plain))
        return;
    if (x->kind == AT_ATTR_RAW) {
        if (!at_attrs_marks(a, x, &marks, &nmarks))
            marks = NULL;
        else if (nmarks == 0)
            return;
        /* marks are arena offsets: the text handed is the arena's */
        if (marks != NULL
                ? each_part_text(a->arena.p, 0, marks, nmarks, type, fn, want,
                                 s, e)
                : each_part_text(a->arena.p + x->v.s.off, x->v.s.len, NULL, 0,
                                 type, fn, want, s, e))
            return;
    }
    msgs = at_attrs_value(a, key); /* a new reference */
    if (!json_is_array(msgs)) {
        json_decref(msgs);
        return;
    }
    json_array_foreach(msgs, i, m)
        tree_parts(m, type, fn, s, e);
    json_decref(msgs);
}

static void tool_open(at_sink *s, at_exch *e, json_t *part)
{
    const char *id = json_string_value(json_object_get(part, "id"));
    const char *name = json_string_value(json_object_get(part, "name"));
    at_tool *t;

    if (id == NULL || *id == '\0')
        return;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return;
    t->call_id = strdup(id);
    t->name = strdup(name ? name : "unknown");
    t->args = json_incref(json_object_get(part, "arguments"));
    t->span_id = at_ids_span();
    t->parent_id = e->parent_id;
    t->start = e->t_end;
    if (t->call_id == NULL || t->name == NULL) {
        tool_free(t);
        return;
    }
    t->next = s->tools;
    s->tools = t;
}

static void tool_close(at_sink *s, at_exch *e, json_t *part)
{
    const char *id = json_string_value(json_object_get(part, "id"));
    at_tool **pp, *t;

    if (id == NULL)
        return;
    for (pp = &s->tools; (t = *pp) != NULL; pp = &t->next) {
        if (!strcmp(t->call_id, id)) {
            *pp = t->next;
            tool_emit(s, t, e->t_req_start, json_object_get(part, "response"),
                      AT_STATUS_OK);
            tool_free(t);
            return;
        }
    }
}

/* tool_wanted: whether a tool_call_response part whose id is JSON text
 * `id` (quotes included) may close an open tool (tool_close's match, by
 * the id as at_llm_str gives it); 1 when the text holds an escape. */
static int tool_wanted(at_sink *s, const char *id, size_t n)
{
    const at_tool *t;

    if (n < 2 || memchr(id, '\\', n) != NULL)
        return 1;
    for (t = s->tools; t != NULL; t = t->next)
        if (strlen(t->call_id) == n - 2 && memcmp(t->call_id, id + 1, n - 2) == 0)
            return 1;
    return 0;
}

/* ---- exchanges ---------------------------------------------------------- */

/* A body over the capture limit: decode the facts its two ends hold. */
static void salvage_decode(at_exch *e, const at_buf *head,
                           const at_buf *tail, const char *const *keys,
                           const char *const *tail_keys, int request)
{
    json_t *o = at_salvage(head->p, head->len, tail->p, tail->len, keys,
                           tail_keys);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (text) {
        if (request)
            at_llm_request_decode_list(&e->route, text, strlen(text),
                                       e->attrs);
        else
            at_llm_response_decode_list(e->route.api, text, strlen(text),
                                        e->attrs);
    }
    if (text) {
        json_free_t jfree; /* json_dumps's text is jansson's allocation */

        json_get_alloc_funcs(NULL, &jfree);
        jfree(text);
    }
    json_decref(o);
}

/* exch_attrs: a new empty list, or NULL. */
static at_attrs *exch_attrs(void)
{
    at_attrs *a = malloc(sizeof(*a));

    if (a != NULL)
        at_attrs_init(a);
    return a;
}

void at_sink_request_done(at_sink *s, at_exch *e)
{
    if (e->route.api == AT_API_NONE)
        return;
    if (e->attrs == NULL && (e->attrs = exch_attrs()) == NULL)
        return;
    if (e->req_body.truncated) {
        static const char *const keys[] = {
            "model", "stream", "max_tokens", "max_completion_tokens",
            "max_output_tokens", "temperature", "top_p", "seed", "stop",
            "stop_sequences", "generationConfig", "options", NULL};

        at_log("model request body over AGENTTRACE_MAX_BODY; decoding what "
               "its two ends say");
        salvage_decode(e, &e->req_body, &e->req_tail, keys, NULL, 1);
    } else if (at_llm_request_decode_list(&e->route,
                                          e->req_body.p ? e->req_body.p : "",
                                          e->req_body.len, e->attrs) < 0) {
        at_log("model request body to %s%s is not a JSON object", e->host,
               e->target);
    }
    if (s->tools != NULL)        /* else no response can close one */
        each_part(e->attrs, "gen_ai.input.messages", "tool_call_response",
                  tool_close, tool_wanted, s, e);
    update_current(s);
    e->parent_id = at_sink_current_parent(s);
}

/* The route's operation and provider, written as members at once (no
 * decoder sets or reads them: at_attrs_close_members). */
static void route_attrs(const at_exch *e, at_attrs *a)
{
    size_t mark;
    at_buf *b = at_attrs_open(a, &mark);

    if (e->route.operation != NULL) {
        AT_JW_LIT(b, ",\"gen_ai.operation.name\":");
        at_jw_jstr(b, e->route.operation, strlen(e->route.operation));
    }
    if (e->route.provider != NULL) {
        AT_JW_LIT(b, ",\"gen_ai.provider.name\":");
        at_jw_jstr(b, e->route.provider, strlen(e->route.provider));
    }
    at_attrs_close_members(a, mark);
}

static void llm_span(at_sink *s, at_exch *e)
{
    at_attrs *a = e->attrs ? e->attrs : (e->attrs = exch_attrs());
    at_llm_status st;
    const char *model, *msg = NULL;
    char name[300], code[16];
    int status = AT_STATUS_OK;
    at_span sp;

    if (a == NULL)
        return;
    memset(&st, 0, sizeof(st));
    route_attrs(e, a);
    if (e->t_first_chunk && !e->stream && e->t_first_chunk >= e->t_req_end)
        /* a stream sent as one JSON array (Gemini without alt=sse) */
        at_attrs_set_real(
            a, "gen_ai.response.time_to_first_chunk",
            (double)(e->t_first_chunk - e->t_req_end) / 1e9);
    if (e->stream) {
        at_llm_stream_finish_list(e->stream, a, &st);
        at_attrs_set_bool(a, "gen_ai.request.stream", 1);
        if (e->t_first_chunk && e->t_first_chunk >= e->t_req_end)
            at_attrs_set_real(
                a, "gen_ai.response.time_to_first_chunk",
                (double)(e->t_first_chunk - e->t_req_end) / 1e9);
    } else if (e->resp_body.truncated && e->status >= 200 &&
               e->status < 300 && !e->undecoded) {
        /* OpenAI and Anthropic; Gemini; Ollama (whose counts end the
         * body) */
        static const char *const keys[] = {
            "id", "model", "usage", "responseId", "modelVersion",
            "usageMetadata", "prompt_eval_count", "eval_count",
            "done_reason", NULL};
        static const char *const tail_keys[] = {
            "usage", "usageMetadata", "prompt_eval_count", "eval_count",
            "done_reason", NULL};

        salvage_decode(e, &e->resp_body, &e->resp_tail, keys, tail_keys, 0);
    } else if (e->status >= 200 && e->status < 300 && e->resp_body.len &&
               !e->undecoded && !e->error_type) {
        if (at_llm_response_decode_list(e->route.api, e->resp_body.p,
                                        e->resp_body.len, a) < 0)
            at_log("model response from %s is not JSON", e->host);
    } else if (e->status >= 400 && e->resp_body.len) {
        at_llm_error_decode(e->route.api, e->resp_body.p, e->resp_body.len,
                            &st);
    }
    http_attrs(s, e, a);
    if (e->status >= 400) {
        snprintf(code, sizeof(code), "%d", e->status);
        at_attrs_set_str(a, "error.type", code);
        status = AT_STATUS_ERROR;
        msg = st.error_message[0] ? st.error_message : e->reason;
    } else if (e->error_type) {
        at_attrs_set_str(a, "error.type", e->error_type);
        status = AT_STATUS_ERROR;
        msg = e->error_message ? e->error_message
              : !strcmp(e->error_type, "connection_reset")
                  ? "connection reset by peer"
                  : "the response ended early";
    } else if (st.error_type[0]) {
        at_attrs_set_str(a, "error.type", st.error_type);
        status = AT_STATUS_ERROR;
        msg = st.error_message[0] ? st.error_message : st.error_type;
    } else if (e->status == 0) {
        status = AT_STATUS_ERROR;
        at_attrs_set_str(a, "error.type", "truncated");
        msg = "no response";
    }
    at_llm_cost_list(a);
    model = at_attrs_str(a, "gen_ai.request.model", NULL);
    if (model == NULL)
        model = at_attrs_str(a, "gen_ai.response.model", NULL);
    join(name, sizeof(name), e->route.operation, model);
    if (status == AT_STATUS_OK)
        each_part(a, "gen_ai.output.messages", "tool_call", tool_open, NULL,
                  s, e);
    memset(&sp, 0, sizeof(sp));
    sp.span_id = e->span_id;
    sp.parent_id = e->parent_id;
    sp.name = name;
    sp.client = 1;
    sp.start_mono = e->t_req_start;
    sp.end_mono = e->t_end;
    sp.status = status;
    sp.status_message = msg;
    emit(s, &sp, a);
    s->made_inference = 1;
    update_current(s);
}

static void http_span(at_sink *s, at_exch *e)
{
    at_attrs list, *a = &list;
    char name[300], code[16];
    at_span sp;

    at_attrs_init(a);
    http_attrs(s, e, a);
    if (s->o.capture_content) {
        if (e->req_json && e->req_body.len)
            at_attrs_set_str(a, "agenttrace.http.request.body", e->req_body.p);
        if (e->resp_json && e->resp_body.len)
            at_attrs_set_str(a, "agenttrace.http.response.body", e->resp_body.p);
    }
    memset(&sp, 0, sizeof(sp));
    sp.status = AT_STATUS_UNSET;
    if (e->status >= 400) {
        snprintf(code, sizeof(code), "%d", e->status);
        at_attrs_set_str(a, "error.type", code);
        sp.status = AT_STATUS_ERROR;
        sp.status_message = e->reason;
    } else if (e->error_type || e->status == 0) {
        at_attrs_set_str(a, "error.type", e->error_type ? e->error_type : "truncated");
        sp.status = AT_STATUS_ERROR;
        sp.status_message = e->error_message;
    }
    join(name, sizeof(name), e->method, e->host);
    sp.span_id = e->span_id;
    sp.parent_id = e->parent_id;
    sp.name = name;
    sp.client = 1;
    sp.start_mono = e->t_req_start;
    sp.end_mono = e->t_end;
    emit(s, &sp, a);
    at_attrs_free(a);
}

void at_sink_exchange_done(at_sink *s, at_exch *e)
{
    s->stats.exchanges++;
    if (e->route.api != AT_API_NONE)
        llm_span(s, e);
    else
        http_span(s, e);
}

/* ---- records ------------------------------------------------------------ */

static const char *errno_type(uint64_t err)
{
    switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return "connection_reset";
    case ETIMEDOUT:
        return "timeout";
    default:
        return NULL;
    }
}

void at_sink_record(at_sink *s, const at_rec_hdr *h, void *payload)
{
    at_sconn *c;
    int dir;

    if (s->finished)
        return;
    s->stats.records++;
    s->now = h->t_ns;
    if (h->kind == AT_REC_OPEN) {
        c = conn_get(s, h->conn);
        if (c)
            conn_remove(s, c);
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return;
        c->id = h->conn;
        c->t_open = h->t_ns;
        c->slot = h->slot;
        c->transport = h->transport;
        if (h->len >= sizeof(c->info))
            memcpy(&c->info, payload, sizeof(c->info));
        c->info.sni[sizeof(c->info.sni) - 1] = '\0';
        c->info.addr[sizeof(c->info.addr) - 1] = '\0';
        at_buf_init(&c->head[0], 64u * 1024u);
        at_buf_init(&c->head[1], 64u * 1024u);
        c->next = *bucket(s, c->id);
        *bucket(s, c->id) = c;
        /* libcurl's HTTP/2 arrives re-framed as HTTP/1.1 (hooks/curl.c) */
        if (c->info.alpn_len == 2 && !memcmp(c->info.alpn, "h2", 2) &&
            c->transport != AT_TRANSPORT_LIBCURL)
            at_sx_h2(s, c);
        return;
    }
    c = conn_get(s, h->conn);
    if (c == NULL) {
        /* Its OPEN was lost, or it predates a fork: leave it alone. */
        if (s->o.advise && h->kind != AT_REC_CLOSE)
            s->o.advise(s->o.ud, h->slot, h->conn, UINT64_MAX);
        return;
    }
    switch (h->kind) {
    case AT_REC_OUT:
    case AT_REC_IN:
        dir = h->kind == AT_REC_IN;
        if (c->mode == AT_MODE_IGNORED)
            return;
        if (h->arg != c->off[dir]) {
            at_log("connection %llu lost %lld bytes",
                   (unsigned long long)c->id,
                   (long long)(h->arg - c->off[dir]));
            at_sx_desync(s, c);
            return;
        }
        c->off[dir] += h->len;
        if (dir)
            at_sx_in(s, c, h->arg, payload, h->len);
        else
            at_sx_out(s, c, payload, h->len);
        break;
    case AT_REC_SKIPPED:
        at_sx_skipped(s, c, h->arg);
        break;
    case AT_REC_EOF:
        if (!c->eof)
            at_sx_end(s, c, NULL, 0);
        break;
    case AT_REC_ERR:
        if (!c->eof)
            at_sx_end(s, c, errno_type(h->arg), 0);
        break;
    case AT_REC_CLOSE:
        at_sx_end(s, c, NULL, 1);
        conn_remove(s, c);
        break;
    default:
        break;
    }
}

void at_sink_flush(at_sink *s)
{
    int lost;

    if (s->lines.len == 0)
        return;
    lost = at_writer_write(s->o.output, s->lines.p, s->lines.len,
                           &s->stats.writer);
    if (lost)
        at_log("%d span line(s) lost writing %s: %s", lost, s->o.output,
               strerror(s->stats.writer.last_errno));
    if (s->lines.truncated)
        at_log("span lines dropped: more than %u MiB pending",
               LINES_MAX >> 20);
    at_buf_reset(&s->lines);
}

/* The process span, the last line.  Made in the lines buffer; when that
 * cannot grow (out of memory), the spans before it are written and the
 * line is written alone, made in memory of its own as the shim makes it
 * when no sink ever ran.  Never a torn line. */
static void process_line(at_sink *s, uint64_t now, int exit_code)
{
    int agent = s->made_inference || !s->o.proc->traced_parent;
    size_t mark;

    if (s->lines.truncated)
        at_sink_flush(s);   /* lines were dropped: start from an empty one */
    mark = s->lines.len;
    at_span_process_line(&s->lines, s->o.proc, s->o.agent_name, agent, now,
                         exit_code);
    if (!s->lines.truncated) {
        s->stats.spans++;
        return;
    }
    s->lines.len = mark;            /* roll the partial line back */
    s->lines.truncated = 0;
    if (s->lines.p)
        s->lines.p[mark] = '\0';
    at_sink_flush(s);
    at_log("out of memory for the process span: written alone");
    if (at_span_process_write(s->o.output, s->o.proc, s->o.agent_name,
                              agent, now, exit_code, &s->stats.writer) == 0)
        s->stats.spans++;
    else
        at_log("the process span could not be written; lost");
}

void at_sink_finish(at_sink *s, uint64_t now, int exit_code)
{
    size_t i;
    at_tool *t;

    if (s->finished)
        return;
    s->now = now;
    for (i = 0; i < 256; i++) {
        while (s->buckets[i]) {
            at_sconn *c = s->buckets[i];

            at_sx_end(s, c, NULL, 1);
            conn_remove(s, c);
        }
    }
    while ((t = s->tools) != NULL) {
        s->tools = t->next;
        tool_emit(s, t, now, NULL, AT_STATUS_UNSET);
        tool_free(t);
    }
    update_current(s);
    process_line(s, now, exit_code);
    at_sink_flush(s);
    s->finished = 1;
}

void at_sink_stats_get(const at_sink *s, at_sink_stats *st)
{
    *st = s->stats;
}

void at_sink_del(at_sink *s)
{
    size_t i;
    at_tool *t;

    if (s == NULL)
        return;
    for (i = 0; i < 256; i++) {
        while (s->buckets[i]) {
            at_sconn *c = s->buckets[i];

            s->buckets[i] = c->next;
            at_sx_free_conn(c);
        }
    }
    while ((t = s->tools) != NULL) {
        s->tools = t->next;
        tool_free(t);
    }
    at_sx_spare_del(s);
    at_buf_free(&s->lines);
    at_buf_free(&s->scratch);
    free(s);
}
