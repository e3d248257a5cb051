/* llm.c - model API calls: routing a request to its decoder, dispatch to
 * the provider files (openai.c, anthropic.c, responses.c, gemini.c,
 * ollama.c), provider error bodies, the built-in price table, and the
 * helpers those files share (llm_int.h).
 *
 * Runs on the sink thread only: it allocates and uses jansson.
 */
#include "llm.h"
#include "llm_int.h"
#include "jmemo.h"
#include "jscan.h"
#include "sink/jalloc.h"

#include <locale.h>
#include "ndjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Routing                                                             */
/* ------------------------------------------------------------------ */

/* A known host (exact name, or a suffix when it starts with '.' or '-')
 * and the gen_ai.provider.name its APIs get. */
typedef struct at_llm_host {
    char name[40];     /* arrays, not pointers: nothing to relocate */
    char provider[24];
} at_llm_host;

/* Hosts whose provider has a well-known name in the GenAI conventions (or
 * a lowercase name of its own). */
static const at_llm_host llm_hosts[] = {
    {"api.openai.com", "openai"},
    {"api.anthropic.com", "anthropic"},
    {"api.groq.com", "groq"},
    {"api.mistral.ai", "mistral_ai"},
    {"api.deepseek.com", "deepseek"},
    {"api.x.ai", "x_ai"},
    {"openrouter.ai", "openrouter"},
    {"api.together.xyz", "together_ai"},
    {"api.together.ai", "together_ai"},
    {"generativelanguage.googleapis.com", "gcp.gemini"},
    {"aiplatform.googleapis.com", "gcp.vertex_ai"},
    {"-aiplatform.googleapis.com", "gcp.vertex_ai"},
    {".openai.azure.com", "azure.ai.openai"},
    {".cognitiveservices.azure.com", "azure.ai.openai"},
};

/* Ollama's port: a host given with it is Ollama's whatever the path. */
#define OLLAMA_PORT ":11434"

/* ends_with: whether the `n` bytes of `s` end with `suffix`. */
static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* host_provider: the provider of a known host, else NULL.  The host is
 * compared without case, without a trailing dot and without a ":port";
 * port 11434 is Ollama's. */
static const char *host_provider(const char *host)
{
    char h[256];
    size_t n, i;
    const char *colon;

    if (host == NULL || *host == '\0')
        return NULL;
    n = strlen(host);
    if (*host == '[') { /* [v6] or [v6]:port */
        const char *rb = strchr(host, ']');

        if (rb != NULL && strcmp(rb + 1, OLLAMA_PORT) == 0)
            return "ollama";
        return NULL;
    }
    colon = strchr(host, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        if (strcmp(colon, OLLAMA_PORT) == 0)
            return "ollama";
        n = (size_t)(colon - host);
    }
    if (n == 0 || n >= sizeof(h))
        return NULL;
    for (i = 0; i < n; i++) {
        char c = host[i];

        h[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (h[n - 1] == '.')
        n--;
    h[n] = '\0';
    for (i = 0; i < sizeof(llm_hosts) / sizeof(llm_hosts[0]); i++) {
        const char *name = llm_hosts[i].name;

        if (name[0] == '.' || name[0] == '-'
                ? ends_with(h, n, name) && n > strlen(name)
                : strcmp(h, name) == 0)
            return llm_hosts[i].provider;
    }
    return NULL;
}

/* hexval: the value of a hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* url_decode: percent-decode the `n` bytes of `src` into dst[size]
 * (NUL-terminated, cut to fit but never inside a UTF-8 sequence; a "%"
 * not followed by two hex digits stays as it is; decoding stops at an
 * encoded NUL).  With `decode` 0, a plain copy with the same cut.  Returns
 * the length. */
static size_t url_decode(char *dst, size_t size, const char *src, size_t n,
                         int decode)
{
    size_t i = 0, o = 0;

    while (i < n && o + 1 < size && src[i] != '\0') {
        char c = src[i];

        if (decode && c == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 &&
            hexval(src[i + 2]) >= 0) {
            c = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 3;
            if (c == '\0')
                break;
        } else {
            i++;
        }
        dst[o++] = c;
    }
    /* never end inside a UTF-8 sequence that the cut split */
    if (i < n && o > 0) {
        size_t k = o, need;
        unsigned char lead;

        while (k > 0 && o - k < 3 &&
               ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0) {
            lead = (unsigned char)dst[k - 1];
            need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (o - (k - 1) < need)
                o = k - 1;
        }
    }
    dst[o] = '\0';
    return o;
}

/* segment_before: the path segment that ends at byte `end` of `p` (its
 * start in *start).  Returns its length. */
static size_t segment_before(const char *p, size_t end, size_t *start)
{
    size_t b = end;

    while (b > 0 && p[b - 1] != '/')
        b--;
    *start = b;
    return end - b;
}

/* seg_is: whether p[b .. b+n) is `lit`. */
static int seg_is(const char *p, size_t b, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(p + b, lit, n) == 0;
}

/* gemini_route: a Gemini path ".../models/{model}:{method}" (or
 * "tunedModels/{model}").  Fills api, stream and model; returns 1 when the
 * path is one. */
static int gemini_route(const char *p, size_t n, at_llm_route *out)
{
    static const struct {
        char method[24];
        at_api api;
        int stream;
    } methods[] = {
        {"generateContent", AT_API_GEMINI_GENERATE, 0},
        {"streamGenerateContent", AT_API_GEMINI_GENERATE, 1},
        {"embedContent", AT_API_GEMINI_EMBED, 0},
        {"batchEmbedContents", AT_API_GEMINI_EMBED, 0},
    };
    char seg[2 * AT_LLM_MODEL_MAX + 64];
    size_t b, len, pb, plen, i;
    char *colon;

    len = segment_before(p, n, &b);
    if (len == 0 || b < 2)
        return 0;
    plen = segment_before(p, b - 1, &pb);
    if (!seg_is(p, pb, plen, "models") && !seg_is(p, pb, plen, "tunedModels"))
        return 0;
    /* the colon may come percent-encoded: decode the segment first */
    url_decode(seg, sizeof(seg), p + b, len, 1);
    colon = strrchr(seg, ':');
    if (colon == NULL || colon == seg)
        return 0;
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(colon + 1, methods[i].method) != 0)
            continue;
        *colon = '\0';
        url_decode(out->model, sizeof(out->model), seg,
                   (size_t)(colon - seg), 0);
        out->api = methods[i].api;
        out->stream = methods[i].stream;
        return 1;
    }
    return 0;
}

/* azure_deployment: the {deployment} of an Azure OpenAI path
 * ".../deployments/{deployment}/<op>" whose <op> starts at `op`, into
 * model. */
static void azure_deployment(const char *p, size_t op, char *model,
                             size_t size)
{
    size_t b, len, pb, plen;

    if (op < 2)
        return;
    len = segment_before(p, op - 1, &b);
    if (len == 0 || b < 2)
        return;
    plen = segment_before(p, b - 1, &pb);
    if (seg_is(p, pb, plen, "deployments"))
        url_decode(model, size, p + b, len, 1);
}

/* ends_op: whether p[0 .. n) ends with "/" + one of the `k` prefixes
 * + "/" + `op` ("v1/responses"...) or with "/deployments/{d}/" + `op`
 * when `deploy` is set.  *op_at gets the offset of `op`. */
static int ends_op(const char *p, size_t n, const char *op,
                   const char *const *prefixes, int deploy, size_t *op_at)
{
    size_t k = strlen(op), i, b, len, pb, plen;

    if (n < k + 1 || memcmp(p + n - k, op, k) != 0 || p[n - k - 1] != '/')
        return 0;
    *op_at = n - k;
    len = segment_before(p, n - k - 1, &b);
    for (i = 0; prefixes[i] != NULL; i++)
        if (seg_is(p, b, len, prefixes[i]))
            return 1;
    if (!deploy || len == 0 || b < 2)
        return 0;
    plen = segment_before(p, b - 1, &pb);
    return seg_is(p, pb, plen, "deployments");
}

int at_llm_route_find(const char *method, const char *host, const char *path,
                      at_llm_route *out)
{
    static const char *const v1[] = {"v1", "openai", NULL};
    static const char *const v1_only[] = {"v1", NULL};
    const char *provider, *shape;
    size_t n, op = 0;
    at_llm_route r;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (method == NULL || path == NULL || out == NULL)
        return 0;
    if (strcmp(method, "POST") != 0)
        return 0;
    memset(&r, 0, sizeof(r));
    /* The contract says no query; be lenient anyway (a recorded URL may
     * carry a fragment, as Mistral's "#stream"). */
    n = strcspn(path, "?#");
    if (n > 1 && path[n - 1] == '/')
        n--;
    shape = "openai";
    r.operation = "chat";
    if (ends_with(path, n, "/chat/completions")) {
        r.api = AT_API_OPENAI_CHAT;
        azure_deployment(path, n - strlen("chat/completions"), r.model,
                         sizeof(r.model));
    } else if (ends_with(path, n, "/v1/messages")) {
        r.api = AT_API_ANTHROPIC_MESSAGES;
        shape = "anthropic";
    } else if (ends_op(path, n, "responses", v1, 0, &op)) {
        r.api = AT_API_OPENAI_RESPONSES;
    } else if (ends_with(path, n, "/api/chat")) {
        r.api = AT_API_OLLAMA_CHAT;
        shape = "ollama";
    } else if (ends_with(path, n, "/api/generate")) {
        r.api = AT_API_OLLAMA_GENERATE;
        r.operation = "text_completion";
        shape = "ollama";
    } else if (ends_with(path, n, "/api/embed") ||
               ends_with(path, n, "/api/embeddings")) {
        r.api = AT_API_OLLAMA_EMBED;
        r.operation = "embeddings";
        shape = "ollama";
    } else if (ends_op(path, n, "completions", v1_only, 1, &op)) {
        r.api = AT_API_OPENAI_COMPLETIONS;
        r.operation = "text_completion";
        azure_deployment(path, op, r.model, sizeof(r.model));
    } else if (ends_op(path, n, "embeddings", v1, 1, &op)) {
        r.api = AT_API_OPENAI_EMBEDDINGS;
        r.operation = "embeddings";
        azure_deployment(path, op, r.model, sizeof(r.model));
    } else if (gemini_route(path, n, &r)) {
        r.operation = r.api == AT_API_GEMINI_EMBED ? "embeddings"
                                                   : "generate_content";
        shape = strstr(path, "/publishers/google/") != NULL &&
                        (size_t)(strstr(path, "/publishers/google/") -
                                 path) < n
                    ? "gcp.vertex_ai"
                    : "gcp.gemini";
    } else {
        return 0;
    }
    provider = strcmp(shape, "ollama") == 0 ? shape : host_provider(host);
    r.provider = provider != NULL ? provider : shape;
    *out = r;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Shared helpers (llm_int.h)                                          */
/* ------------------------------------------------------------------ */

/* c_locale: the "C" locale, for reading reals whatever the host's
 * LC_NUMERIC says (jansson copes with the locale in its own way). */
static locale_t c_locale(void)
{
    static locale_t loc;

    if (loc == (locale_t)0)
        loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return loc;
}

int at_llm_number(at_js v, int64_t *i, double *r)
{
    char num[64];

    if (at_js_int(v, i))
        return 1;
    if (v.n >= sizeof(num) || c_locale() == (locale_t)0)
        return -1;
    memcpy(num, v.p, v.n);
    num[v.n] = '\0';
    *r = strtod_l(num, NULL, c_locale());
    return 2;
}

/* tree: the jansson value of token i of a scanned document, built from
 * the tokens (the scanner checked the text: nothing here can be
 * malformed), or NULL on allocation failure. */
static json_t *tree(const at_js_doc_t *d, uint32_t i)
{
    const at_js_tok *t = &d->tok[i];
    const char *p = d->text + t->off;
    json_t *v, *e;
    uint32_t j;
    int64_t x;
    at_js js;

    switch (t->kind) {
    case AT_JS_OBJECT:
        v = json_object();
        for (j = i + 1; v != NULL && j < t->next; j = d->tok[j + 1].next) {
            e = tree(d, j + 1);
            /* a repeated key: the last one wins, in the first's place,
             * as jansson's own parser leaves it */
            if (e == NULL ||
                json_object_setn_new_nocheck(v, d->text + d->tok[j].off + 1,
                                             d->tok[j].len - 2, e) < 0) {
                json_decref(v);
                v = NULL;
            }
        }
        return v;
    case AT_JS_ARRAY:
        v = json_array();
        for (j = i + 1; v != NULL && j < t->next; j = d->tok[j].next) {
            e = tree(d, j);
            if (e == NULL || json_array_append_new(v, e) < 0) {
                json_decref(v);
                v = NULL;
            }
        }
        return v;
    case AT_JS_STRING:
        if (!t->esc)
            return json_stringn_nocheck(p + 1, t->len - 2);
        js.p = p;
        js.n = t->len;
        js.doc = d;
        js.i = i;
        {
            at_buf b;

            at_buf_init(&b, t->len);
            at_js_str_append(js, &b);
            v = b.truncated ? NULL
                            : json_stringn_nocheck(b.p ? b.p : "", b.len);
            at_buf_free(&b);
        }
        return v;
    case AT_JS_NUMBER: {
        double r;

        js.p = p;
        js.n = t->len;
        js.doc = d;
        js.i = i;
        switch (at_llm_number(js, &x, &r)) {
        case 1:
            return json_integer((json_int_t)x);
        case 2:
            return json_real(r);
        default:
            return NULL;
        }
    }
    case AT_JS_BOOL:
        return *p == 't' ? json_true() : json_false();
    default:
        return json_null();
    }
}

json_t *at_llm_tree(at_js v)
{
    if (v.p == NULL || v.doc == NULL)
        return NULL;
    return tree(v.doc, v.i);
}

/* A body read by the scanner: its document and tokens (room for a small
 * body here, a larger one's on the heap). */
#define BODY_TOKENS 256
typedef struct body_scan {
    at_js_doc_t doc;
    at_js_tok *tok;
    at_js_tok small[BODY_TOKENS];
} body_scan;

/* The shapes of the last bodies scanned (this thread's; the sink's, in the
 * shim).  The bodies of an agent's calls to one API repeat their shape
 * (the same keys and kinds; ids, texts and counts differ): a body of a kept
 * shape is compared with it (at_js_redoc) instead of scanned. */
#define BODY_SHAPES 4
#define BODY_SHAPE_MAX 16384 /* bytes: larger bodies are not kept */
#define TLS_IE __attribute__((tls_model("initial-exec")))
static __thread at_js_shape body_shapes[BODY_SHAPES] TLS_IE;
static __thread unsigned body_shape_last TLS_IE, body_shape_next TLS_IE;
long at_llm_body_redoc_hits; /* tests */

/* The tokens of the last large body, kept for the next (this thread's):
 * up to BODY_TOKENS_KEPT of them (1 MiB); a larger body's are its own. */
#define BODY_TOKENS_KEPT 65536
static __thread at_js_tok *body_tok TLS_IE;
static __thread uint32_t body_tok_cap TLS_IE;
static __thread int body_tok_busy TLS_IE; /* a document in them is in use
                                             (a body's arguments are read
                                             while the body's are) */

/* The last request body's elements (decode/jmemo.h), this thread's. */
static __thread at_jmemo req_memo TLS_IE;

void at_llm_body_shapes_free(void)
{
    unsigned i;

    at_jm_free(&req_memo);
    free(body_tok);
    body_tok = NULL;
    body_tok_cap = 0;
    body_tok_busy = 0;
    for (i = 0; i < BODY_SHAPES; i++) {
        at_js_shape_free(&body_shapes[i]);
        memset(&body_shapes[i], 0, sizeof(body_shapes[i]));
    }
}

/* scan_body: at_js_doc over p[0..n) into b, with as many tokens as it
 * takes.  0 when the scanner declines it.  body_free afterwards, either
 * way. */
/* at_js_doc, or at_js_doc_memo with memo m when it is not NULL */
static int doc_of(const char *p, size_t n, at_js_tok *tok, uint32_t cap,
                  at_js_doc_t *doc, at_js *root, at_jmemo *m)
{
    return m != NULL ? at_js_doc_memo(p, n, tok, cap, doc, root, m)
                     : at_js_doc(p, n, tok, cap, doc, root);
}

static int scan_body(body_scan *b, const char *p, size_t n, at_js *root,
                     at_jmemo *m)
{
    unsigned k, i;

    b->tok = b->small;
    if (n <= BODY_SHAPE_MAX) {
        /* a request long enough for the memo (an agent's, growing each
         * turn) is compared with the last shape only */
        for (k = 0; k < (m != NULL ? 1u : BODY_SHAPES); k++) {
            const at_js_shape *sh;

            i = (body_shape_last + k) % BODY_SHAPES;
            sh = &body_shapes[i];
            /* the first eight bytes (the first key, usually) tell most
             * other shapes apart without a comparison's set-up */
            if (sh->ntok != 0 && n >= 8 && sh->n >= 8 &&
                memcmp(sh->text, p, 8) == 0 &&
                at_js_redoc(sh, p, n, b->tok, BODY_TOKENS, &b->doc, root)) {
                body_shape_last = i;
                at_llm_body_redoc_hits++;
                return 1;
            }
        }
    }
    if (n > BODY_TOKENS * 8 && body_tok_cap > BODY_TOKENS &&
        !body_tok_busy) {
        /* a large body: straight into the tokens kept from the last one
         * (an agent's requests grow a little each time: the room a body
         * n bytes long could need covers the next ones) */
        if (doc_of(p, n, body_tok, body_tok_cap, &b->doc, root, m)) {
            b->tok = body_tok;
            body_tok_busy = 1;
            return 1;
        }
        if (!b->doc.full)
            return 0;
    } else if (doc_of(p, n, b->tok, BODY_TOKENS, &b->doc, root, m)) {
        if (n <= BODY_SHAPE_MAX) {
            i = body_shape_next;
            /* on failure (no memory) the slot is left empty */
            at_js_shape_keep(&body_shapes[i], &b->doc, n);
            body_shape_last = i;
            body_shape_next = (i + 1) % BODY_SHAPES;
        }
        return 1;
    }
    if (!b->doc.full || n / 2 + 2 >= ((size_t)1 << 24))
        return 0;
    /* a value takes two bytes at least, its separator included */
    if (n / 2 + 2 <= BODY_TOKENS_KEPT && !body_tok_busy) {
        at_js_tok *t = realloc(body_tok, (n / 2 + 2) * sizeof(*t));

        if (t == NULL)
            return 0;
        body_tok = t;
        body_tok_cap = (uint32_t)(n / 2 + 2);
        b->tok = body_tok;
        body_tok_busy = 1;
    } else if ((b->tok = malloc((n / 2 + 2) * sizeof(*b->tok))) == NULL) {
        b->tok = b->small;
        return 0;
    }
    return doc_of(p, n, b->tok, (uint32_t)(n / 2 + 2), &b->doc, root, m);
}

static void body_free(body_scan *b)
{
    if (b->tok == body_tok)
        body_tok_busy = 0;
    else if (b->tok != b->small)
        free(b->tok);
    b->tok = b->small;
}

/* scanned: the document read by the scanner and built from its tokens:
 * several times cheaper than jansson's own reader, which costs a hundred
 * instructions and more per byte.  NULL when the scanner declines (then
 * jansson reads it, and reports what is wrong). */
static json_t *scanned(const char *p, size_t n)
{
    body_scan b;
    at_js root;
    json_t *v = NULL;

    if (scan_body(&b, p, n, &root, NULL))
        v = tree(&b.doc, 0);
    body_free(&b);
    return v;
}

/* Tests turn the scanner off to compare both readers. */
int at_llm_scan_off;

/* jansson_parse: at_llm_parse with jansson's own reader. */
static json_t *jansson_parse(const char *p, size_t n)
{
    json_error_t err;
    json_t *v;

    v = at_json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v == NULL && json_error_code(&err) == json_error_numeric_overflow)
        v = at_json_loadb(p, n,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL |
                           JSON_DECODE_INT_AS_REAL,
                       &err);
    return v;
}

json_t *at_llm_parse(const char *p, size_t n)
{
    json_t *v;

    if (p == NULL)
        return NULL;
    if (!at_llm_scan_off && (v = scanned(p, n)) != NULL)
        return v;
    return jansson_parse(p, n);
}

const char *at_llm_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int at_llm_count(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);

        if (i < 0)
            return 0;
        *out = (int64_t)i;
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);

        if (!(d >= 0.0 && d < 9007199254740992.0))
            return 0;
        if ((double)(int64_t)d != d)
            return 0;
        *out = (int64_t)d;
        return 1;
    }
    return 0;
}

json_t *at_llm_stringn(const char *p, size_t n)
{
    json_t *v;
    size_t i;

    if (p == NULL || n == 0)
        return json_string("");
    v = json_stringn(p, n);
    if (v != NULL)
        return v;
    /* Cut an incomplete sequence at the end: back up over continuation
     * bytes (at most three) to the lead byte and drop from there. */
    i = n;
    while (i > 0 && n - i < 3 && ((unsigned char)p[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && ((unsigned char)p[i - 1] & 0xC0) == 0xC0) {
        v = json_stringn(p, i - 1);
        if (v != NULL)
            return v;
    }
    return json_string("");
}

json_t *at_llm_args(const char *p, size_t n)
{
    json_t *v = at_llm_parse(p, n);

    if (v != NULL)
        return v;
    return at_llm_stringn(p, n);
}

json_t *at_llm_part_content(const char *type, json_t *content)
{
    json_t *part = json_object();

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type", json_string(type));
    if (content != NULL)
        json_object_set_nocheck(part, "content", content);
    return part;
}

json_t *at_llm_part_type(const char *type)
{
    json_t *part = json_object();

    if (part != NULL)
        json_object_set_new_nocheck(part, "type", json_string(type));
    return part;
}

json_t *at_llm_tool_result_part(const json_t *o, const char *id_key,
                                const char *resp_key)
{
    json_t *part = json_object();
    json_t *v;

    if (part == NULL)
        return NULL;
    json_object_set_new_nocheck(part, "type",
                                json_string("tool_call_response"));
    if (json_is_string(v = json_object_get(o, id_key)))
        json_object_set_nocheck(part, "id", v);
    v = json_object_get(o, resp_key);
    if (json_is_array(v))
        json_object_set_new_nocheck(part, "response", at_llm_joined_text(v));
    else if (v != NULL && !json_is_null(v))
        json_object_set_nocheck(part, "response", v);
    else
        json_object_set_new_nocheck(part, "response", json_string(""));
    return part;
}

json_t *at_llm_joined_text(const json_t *blocks)
{
    at_buf b;
    size_t i;
    json_t *it, *v;

    if (!json_is_array(blocks))
        return NULL;
    at_buf_init(&b, AT_LLM_TEXT_MAX);
    json_array_foreach(blocks, i, it) {
        const json_t *t = json_object_get(it, "text");

        if (json_is_string(t))
            at_buf_append(&b, json_string_value(t), json_string_length(t));
        else if (json_is_string(it))
            at_buf_append(&b, json_string_value(it), json_string_length(it));
    }
    v = at_llm_stringn(b.p, b.len);
    at_buf_free(&b);
    return v;
}

json_t *at_llm_message(const char *role, json_t *parts)
{
    json_t *m = json_object();

    if (m == NULL) {
        json_decref(parts);
        return NULL;
    }
    json_object_set_new_nocheck(m, "role", json_string(role));
    json_object_set_new_nocheck(m, "parts", parts);
    return m;
}

void at_llm_set_string(json_t *attrs, const char *key, const json_t *obj,
                       const char *member)
{
    json_t *v = json_object_get(obj, member);

    if (json_is_string(v) && json_string_length(v) > 0)
        json_object_set_nocheck(attrs, key, v);
}

void at_llm_request_params(const json_t *root, json_t *attrs)
{
    json_t *v;
    int64_t n;

    at_llm_set_string(attrs, "gen_ai.request.model", root, "model");
    if (at_llm_count(json_object_get(root, "max_tokens"), &n))
        json_object_set_new_nocheck(attrs, "gen_ai.request.max_tokens",
                                    json_integer((json_int_t)n));
    v = json_object_get(root, "temperature");
    if (json_is_number(v))
        json_object_set_new_nocheck(attrs, "gen_ai.request.temperature",
                                    json_real(json_number_value(v)));
    v = json_object_get(root, "top_p");
    if (json_is_number(v))
        json_object_set_new_nocheck(attrs, "gen_ai.request.top_p",
                                    json_real(json_number_value(v)));
    if (json_is_true(json_object_get(root, "stream")))
        json_object_set_new_nocheck(attrs, "gen_ai.request.stream",
                                    json_true());
}

void at_llm_set_real(json_t *attrs, const char *key, const json_t *v)
{
    if (json_is_number(v))
        json_object_set_new_nocheck(attrs, key,
                                    json_real(json_number_value(v)));
}

void at_llm_set_count(json_t *attrs, const char *key, const json_t *v)
{
    int64_t n;

    if (at_llm_count(v, &n))
        json_object_set_new_nocheck(attrs, key, json_integer((json_int_t)n));
}

void at_llm_set_int(json_t *attrs, const char *key, const json_t *v)
{
    if (json_is_integer(v))
        json_object_set_nocheck(attrs, key, (json_t *)v);
}

void at_llm_set_stop(json_t *attrs, const json_t *v)
{
    json_t *a, *s;
    size_t i;

    if (!json_is_string(v) && !json_is_array(v))
        return;
    a = json_array();
    if (a == NULL)
        return;
    if (json_is_string(v))
        json_array_append(a, (json_t *)v);
    json_array_foreach(v, i, s) {
        if (json_is_string(s))
            json_array_append(a, s);
    }
    json_object_set_new_nocheck(attrs, "gen_ai.request.stop_sequences", a);
}

int at_llm_add_text(json_t *parts, const char *type, const json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    json_array_append_new(parts, at_llm_part_content(type, (json_t *)v));
    return 1;
}

/* b64val: the value of a base64 digit (standard or URL alphabet), or
 * -1. */
static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

void at_llm_embedding_dims(json_t *attrs, const json_t *vec)
{
    size_t n = 0, i, len;
    const char *s;

    if (json_is_array(vec)) {
        n = json_array_size(vec);
    } else if (json_is_string(vec)) {
        /* count the base64 digits: padding and whitespace say nothing;
         * anything else means it is not base64 */
        s = json_string_value(vec);
        len = json_string_length(vec);
        for (i = 0; i < len; i++) {
            if (b64val(s[i]) >= 0)
                n++;
            else if (s[i] != '=' && s[i] != '\n' && s[i] != '\r')
                return;
        }
        n = n * 6 / 8 / 4;
    }
    if (n > 0)
        json_object_set_new_nocheck(attrs, "gen_ai.embeddings.dimension.count",
                                    json_integer((json_int_t)n));
}

void at_llm_usage_init(at_llm_usage *u)
{
    u->input = u->output = -1;
    u->cache_read = u->cache_creation = u->reasoning = -1;
    u->cache_apart = 0;
    u->reasoning_apart = 0;
}

/* sat_add: a + b for non-negative counts, saturating at INT64_MAX. */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b <= 0)
        return a;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The usage attributes, in the order they are set. */
static const char usage_keys[5][48] = {
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens"};

/* usage_values: the values of usage_keys (-1: not reported). */
static void usage_values(const at_llm_usage *u, int64_t v[5])
{
    int64_t in = u->input, out = u->output;

    if (u->cache_apart && in >= 0) {
        in = sat_add(in, u->cache_read);
        in = sat_add(in, u->cache_creation);
    }
    /* Gemini leaves candidatesTokenCount out when there were none (all
     * thinking, then MAX_TOKENS): the thoughts are then the output */
    if (u->reasoning_apart && (out >= 0 || u->reasoning >= 0))
        out = sat_add(out >= 0 ? out : 0, u->reasoning);
    v[0] = in;
    v[1] = out;
    v[2] = u->cache_read;
    v[3] = u->cache_creation;
    v[4] = u->reasoning;
}

void at_llm_usage_emit(const at_llm_usage *u, json_t *attrs)
{
    int64_t v[5];
    int i;

    usage_values(u, v);
    for (i = 0; i < 5; i++)
        if (v[i] >= 0)
            json_object_set_new_nocheck(attrs, usage_keys[i],
                                        json_integer((json_int_t)v[i]));
}

void at_llm_usage_emit_list(const at_llm_usage *u, at_attrs *list)
{
    int64_t v[5];
    int i;

    usage_values(u, v);
    for (i = 0; i < 5; i++)
        if (v[i] >= 0)
            at_attrs_set_i64(list, usage_keys[i], v[i]);
}

/* copy_cut: copy NUL-terminated `src` into dst[size], cut to fit at a
 * UTF-8 character boundary. */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int at_llm_error_fill(const json_t *root, at_llm_status *st)
{
    const json_t *err, *code;
    const char *type = NULL, *msg = NULL;
    char codebuf[32];

    if (!json_is_object(root))
        return -1;
    err = json_object_get(root, "error");
    if (json_is_object(err)) {
        type = at_llm_str(err, "type");
        msg = at_llm_str(err, "message");
        code = json_object_get(err, "code");
        if (type == NULL || *type == '\0') /* Gemini: "RESOURCE_EXHAUSTED" */
            type = at_llm_str(err, "status");
        if (type == NULL || *type == '\0') {
            if (json_is_string(code)) {
                type = json_string_value(code);
            } else if (json_is_integer(code)) {
                snprintf(codebuf, sizeof(codebuf), "%lld",
                         (long long)json_integer_value(code));
                type = codebuf;
            }
        }
    } else if (json_is_string(err)) {
        msg = json_string_value(err);
    } else {
        const char *object = at_llm_str(root, "object");
        const char *rtype = at_llm_str(root, "type");

        /* Mistral: {"object":"error","message","type",...} */
        if ((object != NULL && strcmp(object, "error") == 0) ||
            (rtype != NULL && strcmp(rtype, "error") != 0 &&
             at_llm_str(root, "message") != NULL)) {
            type = rtype;
            msg = at_llm_str(root, "message");
        } else {
            msg = at_llm_str(root, "detail");
        }
    }
    if ((type == NULL || *type == '\0') && (msg == NULL || *msg == '\0'))
        return -1;
    copy_cut(st->error_type, sizeof(st->error_type), type ? type : "");
    copy_cut(st->error_message, sizeof(st->error_message), msg ? msg : "");
    return 0;
}

void at_llm_keep(char **dst, const json_t *src)
{
    const char *s;

    if (*dst != NULL || !json_is_string(src))
        return;
    s = json_string_value(src);
    if (*s != '\0')
        *dst = strdup(s);
}

void at_llm_keep_js(char **dst, at_js v)
{
    if (*dst != NULL || at_js_str_empty(v))
        return;
    *dst = at_js_str_dup(v);
    if (*dst != NULL && **dst == '\0') { /* "\u0000...": as at_llm_keep */
        free(*dst);
        *dst = NULL;
    }
}

at_llm_choice *at_llm_stream_choice(at_llm_stream *s, long index)
{
    size_t i;
    at_llm_choice *c;

    /* Choices are few and sorted; a scan from the end finds the usual
     * case (one choice, or the newest) at once. */
    for (i = s->nchoices; i > 0; i--) {
        if (s->choices[i - 1].index == index)
            return &s->choices[i - 1];
        if (s->choices[i - 1].index < index)
            break;
    }
    if (s->nchoices >= AT_LLM_MAX_CHOICES)
        return NULL;
    if (s->nchoices == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 2;
        at_llm_choice *nc = realloc(s->choices, cap * sizeof(*nc));

        if (nc == NULL)
            return NULL;
        s->choices = nc;
        s->cap = cap;
    }
    memmove(&s->choices[i + 1], &s->choices[i],
            (s->nchoices - i) * sizeof(*s->choices));
    s->nchoices++;
    c = &s->choices[i];
    memset(c, 0, sizeof(*c));
    c->index = index;
    return c;
}

at_llm_part *at_llm_choice_part(at_llm_choice *c, at_llm_part_kind kind,
                                long key, int create)
{
    size_t i;
    at_llm_part *p;

    for (i = c->nparts; i > 0; i--) {
        p = &c->parts[i - 1];
        if (p->kind == kind && p->key == key)
            return p;
    }
    if (!create || c->nparts >= AT_LLM_MAX_PARTS)
        return NULL;
    if (c->nparts == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        at_llm_part *np = realloc(c->parts, cap * sizeof(*np));

        if (np == NULL)
            return NULL;
        c->parts = np;
        c->cap = cap;
    }
    p = &c->parts[c->nparts++];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->key = key;
    at_buf_init(&p->text, AT_LLM_TEXT_MAX);
    return p;
}

int at_llm_part_append(at_llm_part *p, const char *data, size_t n)
{
    if (n == 0)
        return 0;
    at_buf_append(&p->text, data, n);
    return 1;
}

int at_llm_part_append_str(at_llm_part *p, const json_t *str)
{
    if (!json_is_string(str))
        return 0;
    return at_llm_part_append(p, json_string_value(str),
                              json_string_length(str));
}

int at_llm_part_append_js(at_llm_part *p, at_js v)
{
    return at_js_str_append(v, &p->text) > 0;
}

void at_llm_choice_reason(at_llm_choice *c, const json_t *fr)
{
    if (!json_is_string(fr) || json_string_length(fr) == 0)
        return;
    free(c->finish_reason);
    c->finish_reason = NULL;
    at_llm_keep(&c->finish_reason, fr);
}

int at_llm_choice_reason_js(at_llm_choice *c, at_js fr)
{
    if (at_js_kind(fr) != AT_JS_STRING || at_js_str_empty(fr))
        return 0;
    free(c->finish_reason);
    c->finish_reason = NULL;
    at_llm_keep_js(&c->finish_reason, fr);
    return 1;
}

long at_llm_choice_tools(const at_llm_choice *c)
{
    size_t i;
    long n = 0;

    for (i = 0; i < c->nparts; i++)
        if (c->parts[i].kind == AT_PART_TOOL_CALL)
            n++;
    return n;
}

void at_llm_part_set_text(at_llm_part *p, const char *data, size_t n)
{
    at_buf_reset(&p->text);
    if (n > 0)
        at_buf_append(&p->text, data, n);
}

void at_llm_stream_status(at_llm_stream *s, const json_t *root)
{
    if (json_object_get(root, "error") != NULL &&
        !json_is_null(json_object_get(root, "error")))
        at_llm_error_fill(root, &s->st);
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

/* What each API has: a request decoder, a response decoder, a stream
 * event decoder (NULL: the API does not stream), and whether a response
 * may be a JSON array. */
typedef struct at_llm_ops {
    void (*request)(const json_t *root, json_t *attrs);
    void (*response)(const json_t *root, json_t *attrs);
    /* the same from the scanner's reading of the body, without a tree of
     * it: 1 when done, 0 (attrs untouched) when the body is beyond it;
     * NULL: none */
    int (*request_fast)(at_js root, at_attrs *list);
    int (*response_fast)(at_js root, at_attrs *list);
    int (*stream)(at_llm_stream *s, const char *event, size_t event_len,
                  const char *data, size_t data_len);
    int array_ok;
} at_llm_ops;

/* ops_of: the decoders of an API, or NULL for AT_API_NONE and values
 * outside the enum. */
static const at_llm_ops *ops_of(at_api api)
{
    static const at_llm_ops ops[] = {
        [AT_API_OPENAI_CHAT] = {.request = at_openai_request,
                                .response = at_openai_response,
                                .request_fast = at_openai_request_fast,
                                .response_fast = at_openai_response_fast,
                                .stream = at_openai_stream_event},
        [AT_API_ANTHROPIC_MESSAGES] = {.request = at_anthropic_request,
                                       .response = at_anthropic_response,
                                       .request_fast = at_anthropic_request_fast,
                                       .response_fast =
                                           at_anthropic_response_fast,
                                       .stream = at_anthropic_stream_event},
        [AT_API_OPENAI_RESPONSES] = {.request = at_responses_request,
                                     .response = at_responses_response,
                                     .request_fast = at_responses_request_fast,
                                     .response_fast =
                                         at_responses_response_fast,
                                     .stream = at_responses_stream_event},
        [AT_API_OPENAI_COMPLETIONS] = {
            .request = at_openai_completions_request,
            .response = at_openai_completions_response,
            .stream = at_openai_stream_event},
        [AT_API_OPENAI_EMBEDDINGS] = {
            .request = at_openai_embeddings_request,
            .response = at_openai_embeddings_response},
        [AT_API_GEMINI_GENERATE] = {.request = at_gemini_request,
                                    .request_fast = at_gemini_request_fast,
                                    .response = at_gemini_response,
                                    .response_fast = at_gemini_response_fast,
                                    .stream = at_gemini_stream_event,
                                    .array_ok = 1},
        [AT_API_GEMINI_EMBED] = {.request = at_gemini_embed_request,
                                 .response = at_gemini_embed_response},
        [AT_API_OLLAMA_CHAT] = {.request = at_ollama_request,
                                .request_fast = at_ollama_request_fast,
                                .response = at_ollama_response,
                                .stream = at_ollama_stream_event},
        [AT_API_OLLAMA_GENERATE] = {.request = at_ollama_request,
                                    .response = at_ollama_response,
                                    .stream = at_ollama_stream_event},
        [AT_API_OLLAMA_EMBED] = {.request = at_ollama_embed_request,
                                 .response = at_ollama_embed_response},
    };

    if ((int)api <= (int)AT_API_NONE ||
        (size_t)api >= sizeof(ops) / sizeof(ops[0]))
        return NULL;
    return &ops[api];
}

/* route_facts: what the route itself says: the model its path names (when
 * the body named none) and a stream it asks for. */
static void route_facts(const at_llm_route *route, at_attrs *list)
{
    if (route->model[0] != '\0' &&
        memchr(route->model, '\0', sizeof(route->model)) != NULL &&
        at_attrs_find(list, "gen_ai.request.model") == NULL)
        at_attrs_set_json(list, "gen_ai.request.model",
                          at_llm_stringn(route->model,
                                         strlen(route->model)));
    if (route->stream)
        at_attrs_set_bool(list, "gen_ai.request.stream", 1);
}

/* Tests turn the decoders' readings from the scanner off, to compare,
 * and count the bodies they took. */
int at_llm_body_fast_off;
long at_llm_body_fast_hits;
int at_llm_memo_off; /* tests: no request body is kept (decode/jmemo.h) */

/* parse_fast: the body handed to `fast` as the scanner reads it: 1 when
 * it took it.  Else 0, and *root is at_llm_parse(body, len) (the tree is
 * made from the same reading: nothing is read twice). */
static int parse_fast(const char *body, size_t len,
                      int (*fast)(at_js, at_attrs *), at_attrs *list,
                      json_t **root, int request)
{
    body_scan b;
    at_js r;
    at_jmemo *m = request && !at_llm_memo_off && len >= AT_JM_MIN_BODY &&
                          len <= AT_JM_MAX_BODY ? &req_memo : NULL;
    int took;

    if (fast == NULL || at_llm_body_fast_off || at_llm_scan_off ||
        body == NULL) {
        *root = at_llm_parse(body, len);
        return 0;
    }
    if (!scan_body(&b, body, len, &r, m)) {
        body_free(&b);
        *root = jansson_parse(body, len); /* as at_llm_parse would */
        return 0;
    }
    took = at_js_kind(r) == AT_JS_OBJECT && fast(r, list);
    if (!took)
        *root = tree(&b.doc, 0);
    if (m != NULL)
        at_jm_commit(m); /* its elements: the next body's reference */
    body_free(&b);
    at_llm_body_fast_hits += took;
    return took;
}

/* decode_into: a tree decoder's attributes, made in an object of their
 * own, moved to the list. */
static void decode_into(void (*fn)(const json_t *, json_t *),
                        const json_t *root, at_attrs *list)
{
    json_t *o = json_object();

    if (o == NULL) {
        list->failed = 1;
        return;
    }
    fn(root, o);
    at_attrs_take(list, o);
}

/* merge: the list's attributes set in jansson object attrs, in order. */
static void merge(const at_attrs *list, json_t *attrs)
{
    json_t *o = at_attrs_to_json(list);

    if (o != NULL)
        json_object_update(attrs, o);
    json_decref(o);
}

int at_llm_request_decode_list(const at_llm_route *route, const char *body,
                               size_t len, at_attrs *list)
{
    const at_llm_ops *ops;
    json_t *root;

    if (route == NULL || list == NULL || (ops = ops_of(route->api)) == NULL)
        return -1;
    if (parse_fast(body, len, ops->request_fast, list, &root, 1)) {
        route_facts(route, list);
        return 0;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        route_facts(route, list);
        return -1;
    }
    decode_into(ops->request, root, list);
    json_decref(root);
    route_facts(route, list);
    return 0;
}

int at_llm_request_decode(const at_llm_route *route, const char *body,
                          size_t len, json_t *attrs)
{
    at_attrs list;
    int rc;

    if (attrs == NULL)
        return -1;
    at_attrs_init(&list);
    rc = at_llm_request_decode_list(route, body, len, &list);
    merge(&list, attrs);
    at_attrs_free(&list);
    return rc;
}

/* What ndjson_body feeds: the stream, and how many lines it took. */
typedef struct ndjson_feed {
    at_llm_stream *s;
    int taken;
} ndjson_feed;

/* ndjson_line: one line of a whole NDJSON body into the stream. */
static void ndjson_line(void *ud, const char *line, size_t len)
{
    ndjson_feed *f = ud;

    if (at_llm_stream_event(f->s, "", 0, line, len) >= 0)
        f->taken++;
}

/* ndjson_body: an Ollama stream kept whole as a body (application/x-ndjson
 * decoded as if it were one JSON response): its lines through the stream
 * reassembly.  Returns 0, or -1 when no line was a JSON object (attrs
 * untouched). */
static int ndjson_body(at_api api, const char *body, size_t len,
                       at_attrs *list)
{
    ndjson_feed f = {at_llm_stream_new(api), 0};
    at_llm_status st;
    at_ndjson nd;

    if (f.s == NULL || body == NULL)
        goto fail;
    at_ndjson_init(&nd, len);
    at_ndjson_feed(&nd, body, len, ndjson_line, &f);
    at_ndjson_finish(&nd, ndjson_line, &f);
    at_ndjson_free(&nd);
    if (f.taken == 0)
        goto fail;
    at_llm_stream_finish_list(f.s, list, &st);
    at_llm_stream_del(f.s);
    return 0;
fail:
    at_llm_stream_del(f.s);
    return -1;
}

int at_llm_response_decode_list(at_api api, const char *body, size_t len,
                                at_attrs *list)
{
    const at_llm_ops *ops = ops_of(api);
    json_t *root;

    if (list == NULL || ops == NULL)
        return -1;
    if (parse_fast(body, len, ops->response_fast, list, &root, 0))
        return 0;
    if (root == NULL &&
        (api == AT_API_OLLAMA_CHAT || api == AT_API_OLLAMA_GENERATE))
        return ndjson_body(api, body, len, list);
    if (!json_is_object(root) && !(ops->array_ok && json_is_array(root))) {
        json_decref(root);
        return -1;
    }
    decode_into(ops->response, root, list);
    json_decref(root);
    return 0;
}

int at_llm_response_decode(at_api api, const char *body, size_t len,
                           json_t *attrs)
{
    at_attrs list;
    int rc;

    if (attrs == NULL)
        return -1;
    at_attrs_init(&list);
    rc = at_llm_response_decode_list(api, body, len, &list);
    merge(&list, attrs);
    at_attrs_free(&list);
    return rc;
}

int at_llm_error_decode(at_api api, const char *body, size_t len,
                        at_llm_status *st)
{
    json_t *root, *el;
    int rc;

    if (st == NULL)
        return -1;
    memset(st, 0, sizeof(*st));
    root = at_llm_parse(body, len);
    /* Gemini's non-SSE stream wraps its error in an array */
    if ((api == AT_API_GEMINI_GENERATE || api == AT_API_GEMINI_EMBED) &&
        json_is_array(root) && json_array_size(root) > 0) {
        el = json_incref(json_array_get(root, 0));
        json_decref(root);
        root = el;
    }
    rc = at_llm_error_fill(root, st);
    json_decref(root);
    if (rc < 0)
        memset(st, 0, sizeof(*st));
    return rc;
}

at_llm_stream *at_llm_stream_new(at_api api)
{
    at_llm_stream *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->api = api;
    at_llm_usage_init(&s->usage);
    return s;
}

int at_llm_stream_event(at_llm_stream *s, const char *event,
                        size_t event_len, const char *data, size_t data_len)
{
    const at_llm_ops *ops;

    if (s == NULL || data == NULL)
        return -1;
    ops = ops_of(s->api);
    if (ops == NULL || ops->stream == NULL)
        return -1;
    if (event == NULL) {
        event = "";
        event_len = 0;
    }
    return ops->stream(s, event, event_len, data, data_len);
}

/* part_json: the output part a streamed part becomes.  NULL on allocation
 * failure. */
static json_t *part_json(const at_llm_part *p)
{
    json_t *o, *v;

    switch (p->kind) {
    case AT_PART_TEXT:
    case AT_PART_REASONING:
    case AT_PART_REFUSAL:
        o = json_object();
        if (o == NULL)
            return NULL;
        json_object_set_new_nocheck(
            o, "type",
            json_string(p->kind == AT_PART_TEXT        ? "text"
                        : p->kind == AT_PART_REASONING ? "reasoning"
                                                       : "refusal"));
        json_object_set_new_nocheck(o, "content",
                                    at_llm_stringn(p->text.p, p->text.len));
        return o;
    case AT_PART_TOOL_CALL:
        o = json_object();
        if (o == NULL)
            return NULL;
        json_object_set_new_nocheck(o, "type", json_string("tool_call"));
        if (p->id != NULL)
            json_object_set_new_nocheck(o, "id", json_string(p->id));
        if (p->name != NULL)
            json_object_set_new_nocheck(o, "name", json_string(p->name));
        v = NULL;
        if (p->text.len > 0)
            v = at_llm_args(p->text.p, p->text.len);
        else if (p->input != NULL)
            v = json_incref(p->input);
        if (v != NULL)
            json_object_set_new_nocheck(o, "arguments", v);
        return o;
    default:
        return at_llm_part_type(p->type ? p->type : "unknown");
    }
}

void at_llm_stream_finish(at_llm_stream *s, json_t *attrs, at_llm_status *st)
{
    json_t *msgs, *reasons;
    size_t i, j;

    if (s == NULL) {
        if (st != NULL)
            memset(st, 0, sizeof(*st));
        return;
    }
    if (st != NULL)
        *st = s->st;
    if (s->finished || attrs == NULL)
        return;
    s->finished = 1;
    if (s->id != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.response.id",
                                    json_string(s->id));
    if (s->model != NULL)
        json_object_set_new_nocheck(attrs, "gen_ai.response.model",
                                    json_string(s->model));
    at_llm_usage_emit(&s->usage, attrs);
    if (s->nchoices == 0)
        return;
    msgs = json_array();
    reasons = json_array();
    for (i = 0; i < s->nchoices; i++) {
        const at_llm_choice *c = &s->choices[i];
        json_t *parts = json_array();
        json_t *m;

        for (j = 0; j < c->nparts; j++)
            json_array_append_new(parts, part_json(&c->parts[j]));
        m = at_llm_message("assistant", parts);
        if (m != NULL && c->finish_reason != NULL)
            json_object_set_new_nocheck(m, "finish_reason",
                                        json_string(c->finish_reason));
        json_array_append_new(msgs, m);
        if (c->finish_reason != NULL)
            json_array_append_new(reasons, json_string(c->finish_reason));
    }
    json_object_set_new_nocheck(attrs, "gen_ai.output.messages", msgs);
    if (json_array_size(reasons) > 0)
        json_object_set_new_nocheck(attrs, "gen_ai.response.finish_reasons",
                                    reasons);
    else
        json_decref(reasons);
}

void at_llm_stream_finish_list(at_llm_stream *s, at_attrs *list,
                               at_llm_status *st)
{
    json_t *o = list ? json_object() : NULL;

    at_llm_stream_finish(s, o, st);
    if (o != NULL)
        at_attrs_take(list, o);
}

int at_llm_scan_chunk(at_llm_stream *s, const char *p, size_t n,
                      at_js_tok *tok, uint32_t cap, at_js_doc_t *doc,
                      at_js *out)
{
    if (at_js_redoc(&s->shape, p, n, tok, cap, doc, out))
        return 1;
    return at_llm_scan_new(s, p, n, tok, cap, doc, out);
}

int at_llm_scan_new(at_llm_stream *s, const char *p, size_t n,
                    at_js_tok *tok, uint32_t cap, at_js_doc_t *doc,
                    at_js *out)
{
    if (!at_js_doc(p, n, tok, cap, doc, out))
        return 0;
    if (at_js_shape_keep(&s->shape, doc, n)) /* may fail: none kept */
        doc->gen = s->shape.gen;
    return 1;
}

void at_llm_stream_del(at_llm_stream *s)
{
    size_t i, j;

    if (s == NULL)
        return;
    at_js_shape_free(&s->shape);
    free(s->fast);
    for (i = 0; i < s->nchoices; i++) {
        at_llm_choice *c = &s->choices[i];

        for (j = 0; j < c->nparts; j++) {
            at_llm_part *p = &c->parts[j];

            at_buf_free(&p->text);
            free(p->id);
            free(p->name);
            free(p->type);
            json_decref(p->input);
        }
        free(c->parts);
        free(c->finish_reason);
    }
    free(s->choices);
    free(s->id);
    free(s->model);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Cost                                                                */
/* ------------------------------------------------------------------ */

/* One row of the price table: a model-name prefix and its list prices in
 * US dollars per million tokens. */
typedef struct at_llm_price {
    char prefix[32];    /* not a pointer: nothing to relocate */
    double input;       /* uncached input */
    double cached;      /* cache-read input */
    double cache_write; /* cache-creation input (Anthropic: 1.25 x input,
                           the 5-minute cache; 1-hour writes cost 2 x) */
    double output;      /* output, reasoning included */
} at_llm_price;

/* List prices, standard tier (not batch, flex or priority), from
 * https://openai.com/api/pricing and
 * https://docs.anthropic.com/en/docs/about-claude/pricing, as of
 * November 2025.  A model matches the longest prefix here, so dated
 * snapshots ("gpt-4o-mini-2024-07-18", "claude-3-haiku-20240307") and
 * aliases ("claude-3-5-sonnet-latest") find their family.  A few rows
 * exist only to keep a differently priced model away from a shorter
 * prefix (o3-mini, o3-pro, gpt-5-pro, claude-opus-4-5, the first gpt-4o
 * snapshot).  OpenAI models without a cached price bill cached input at
 * the input price; OpenAI never reports cache writes. */
static const at_llm_price llm_prices[] = {
    /* OpenAI */
    {"gpt-4o", 2.50, 1.25, 2.50, 10.00},
    {"gpt-4o-2024-05-13", 5.00, 5.00, 5.00, 15.00},
    {"gpt-4o-mini", 0.15, 0.075, 0.15, 0.60},
    {"gpt-4.1", 2.00, 0.50, 2.00, 8.00},
    {"gpt-4.1-mini", 0.40, 0.10, 0.40, 1.60},
    {"gpt-4.1-nano", 0.10, 0.025, 0.10, 0.40},
    {"gpt-5", 1.25, 0.125, 1.25, 10.00},
    {"gpt-5-mini", 0.25, 0.025, 0.25, 2.00},
    {"gpt-5-nano", 0.05, 0.005, 0.05, 0.40},
    {"gpt-5-pro", 15.00, 15.00, 15.00, 120.00},
    {"o3", 2.00, 0.50, 2.00, 8.00},
    {"o3-mini", 1.10, 0.55, 1.10, 4.40},
    {"o3-pro", 20.00, 20.00, 20.00, 80.00},
    {"o4-mini", 1.10, 0.275, 1.10, 4.40},
    {"gpt-3.5-turbo", 0.50, 0.50, 0.50, 1.50},
    {"gpt-35-turbo", 0.50, 0.50, 0.50, 1.50}, /* Azure's spelling */
    {"gpt-3.5-turbo-instruct", 1.50, 1.50, 1.50, 2.00}, /* completions */
    {"davinci-002", 2.00, 2.00, 2.00, 2.00},
    {"babbage-002", 0.40, 0.40, 0.40, 0.40},
    /* OpenAI embeddings: input only */
    {"text-embedding-3-small", 0.02, 0.02, 0.02, 0.00},
    {"text-embedding-3-large", 0.13, 0.13, 0.13, 0.00},
    {"text-embedding-ada-002", 0.10, 0.10, 0.10, 0.00},
    /* Anthropic: cache read 0.1 x input, cache write 1.25 x input */
    {"claude-3-haiku", 0.25, 0.03, 0.30, 1.25},
    {"claude-3-5-haiku", 0.80, 0.08, 1.00, 4.00},
    {"claude-3-5-sonnet", 3.00, 0.30, 3.75, 15.00},
    {"claude-3-7-sonnet", 3.00, 0.30, 3.75, 15.00},
    {"claude-sonnet-4", 3.00, 0.30, 3.75, 15.00},
    {"claude-sonnet-4-5", 3.00, 0.30, 3.75, 15.00},
    {"claude-opus-4", 15.00, 1.50, 18.75, 75.00},
    {"claude-opus-4-5", 5.00, 0.50, 6.25, 25.00},
    {"claude-haiku-4-5", 1.00, 0.10, 1.25, 5.00},
};

/* price_lookup: the row with the longest prefix of `model` (compared
 * without case), or NULL.  A "vendor/" prefix (routers) is skipped. */
static const at_llm_price *price_lookup(const char *model)
{
    const at_llm_price *best = NULL;
    size_t best_len = 0, i;
    const char *slash;

    if (model == NULL)
        return NULL;
    slash = strrchr(model, '/');
    if (slash != NULL)
        model = slash + 1;
    for (i = 0; i < sizeof(llm_prices) / sizeof(llm_prices[0]); i++) {
        size_t n = strlen(llm_prices[i].prefix);

        if (n > best_len && strncasecmp(model, llm_prices[i].prefix, n) == 0) {
            best = &llm_prices[i];
            best_len = n;
        }
    }
    return best;
}

/* price_find: price_lookup, remembering the last model asked about per
 * thread (a process mostly calls one or two models, and the table has
 * dozens of rows). */
#define PRICE_MEMO 96
static __thread struct {
    char model[PRICE_MEMO]; /* "" until set */
    const at_llm_price *row;
} price_memo __attribute__((tls_model("initial-exec")));

static const at_llm_price *price_find(const char *model)
{
    size_t n;

    if (model == NULL)
        return NULL;
    n = strnlen(model, PRICE_MEMO);
    if (n == 0 || n == PRICE_MEMO)
        return price_lookup(model);
    if (memcmp(price_memo.model, model, n + 1) == 0)
        return price_memo.row;
    price_memo.row = price_lookup(model);
    memcpy(price_memo.model, model, n + 1);
    return price_memo.row;
}

/* list_count: a count attribute's value (an integer, or a JSON count as
 * at_llm_count reads it), or 0 when absent or bad. */
static int64_t list_count(const at_attrs *list, const char *key)
{
    const at_attr *x = at_attrs_find(list, key);
    int64_t v = 0;

    if (x == NULL)
        return 0;
    if (x->kind == AT_ATTR_I64)
        return x->v.i >= 0 ? x->v.i : 0;
    if (x->kind == AT_ATTR_JSON && at_llm_count(x->v.j, &v))
        return v;
    return 0;
}

int at_llm_cost_list(at_attrs *list)
{
    const at_llm_price *pr;
    int64_t in, cread, cwrite, plain;
    double usd;

    if (list == NULL ||
        (at_attrs_find(list, "gen_ai.usage.input_tokens") == NULL &&
         at_attrs_find(list, "gen_ai.usage.output_tokens") == NULL))
        return 0;
    pr = price_find(at_attrs_str(list, "gen_ai.response.model", NULL));
    if (pr == NULL)
        pr = price_find(at_attrs_str(list, "gen_ai.request.model", NULL));
    if (pr == NULL)
        return 0;
    in = list_count(list, "gen_ai.usage.input_tokens");
    cread = list_count(list, "gen_ai.usage.cache_read.input_tokens");
    cwrite = list_count(list, "gen_ai.usage.cache_creation.input_tokens");
    /* input_tokens includes cached input (SPANS.md); what is left after
     * the cached parts is billed at the plain input price. */
    plain = in;
    plain = plain > cread ? plain - cread : 0;
    plain = plain > cwrite ? plain - cwrite : 0;
    usd = ((double)plain * pr->input + (double)cread * pr->cached +
           (double)cwrite * pr->cache_write +
           (double)list_count(list, "gen_ai.usage.output_tokens") *
               pr->output) /
          1e6;
    return at_attrs_set_real(list, "agenttrace.cost.usd", usd) == 0;
}

int at_llm_cost(json_t *attrs)
{
    at_attrs list;
    int r;

    if (!json_is_object(attrs))
        return 0;
    /* read through a list of the object's members (it holds a reference) */
    at_attrs_init(&list);
    at_attrs_take(&list, json_incref(attrs));
    r = at_llm_cost_list(&list);
    if (r)
        json_object_set_new_nocheck(
            attrs, "agenttrace.cost.usd",
            at_attrs_value(&list, "agenttrace.cost.usd"));
    at_attrs_free(&list);
    return r;
}
