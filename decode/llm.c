/* llm.c - model API calls: routing a request to its decoder, dispatch to
 * the provider files (openai.c, anthropic.c), provider error bodies, the
 * built-in price table, and the helpers those files share (llm_int.h).
 *
 * Runs on the sink thread only: it allocates and uses jansson.
 */
#include "llm.h"
#include "llm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Routing                                                             */
/* ------------------------------------------------------------------ */

/* A known host (exact name, or a suffix when it starts with '.') and the
 * gen_ai.provider.name its OpenAI-shaped or Messages-shaped API gets. */
typedef struct at_llm_host {
    const char *name;
    const char *provider;
} at_llm_host;

/* Hosts whose provider has a well-known name in the GenAI conventions. */
static const at_llm_host llm_hosts[] = {
    {"api.openai.com", "openai"},
    {"api.anthropic.com", "anthropic"},
    {"api.groq.com", "groq"},
    {"api.mistral.ai", "mistral_ai"},
    {"api.deepseek.com", "deepseek"},
    {"api.x.ai", "x_ai"},
    {"generativelanguage.googleapis.com", "gcp.gemini"},
    {".openai.azure.com", "azure.ai.openai"},
    {".cognitiveservices.azure.com", "azure.ai.openai"},
};

/* ends_with: whether the `n` bytes of `s` end with `suffix`. */
static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* host_provider: the provider of a known host, else NULL.  The host is
 * compared without case, without a trailing dot and without a ":port". */
static const char *host_provider(const char *host)
{
    char h[256];
    size_t n, i;
    const char *colon;

    if (host == NULL || *host == '\0' || *host == '[')
        return NULL;
    n = strlen(host);
    colon = strchr(host, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL)
        n = (size_t)(colon - host);
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

        if (name[0] == '.' ? ends_with(h, n, name) && n > strlen(name)
                           : strcmp(h, name) == 0)
            return llm_hosts[i].provider;
    }
    return NULL;
}

int at_llm_route_find(const char *method, const char *host, const char *path,
                      at_llm_route *out)
{
    const char *provider;
    size_t n;
    at_api api;

    if (method == NULL || path == NULL || out == NULL)
        return 0;
    if (strcmp(method, "POST") != 0)
        return 0;
    /* The contract says no query; be lenient anyway (a recorded URL may
     * carry a fragment, as Mistral's "#stream"). */
    n = strcspn(path, "?#");
    if (n > 1 && path[n - 1] == '/')
        n--;
    if (ends_with(path, n, "/chat/completions"))
        api = AT_API_OPENAI_CHAT;
    else if (ends_with(path, n, "/v1/messages"))
        api = AT_API_ANTHROPIC_MESSAGES;
    else
        return 0;
    provider = host_provider(host);
    if (provider == NULL)
        provider = api == AT_API_OPENAI_CHAT ? "openai" : "anthropic";
    out->api = api;
    out->provider = provider;
    out->operation = "chat";
    return 1;
}

/* ------------------------------------------------------------------ */
/* Shared helpers (llm_int.h)                                          */
/* ------------------------------------------------------------------ */

json_t *at_llm_parse(const char *p, size_t n)
{
    json_error_t err;
    json_t *v;

    if (p == NULL)
        return NULL;
    v = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v == NULL && json_error_code(&err) == json_error_numeric_overflow)
        v = json_loadb(p, n,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL |
                           JSON_DECODE_INT_AS_REAL,
                       &err);
    return v;
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
    json_object_set_new(part, "type", json_string(type));
    if (content != NULL)
        json_object_set(part, "content", content);
    return part;
}

json_t *at_llm_part_type(const char *type)
{
    json_t *part = json_object();

    if (part != NULL)
        json_object_set_new(part, "type", json_string(type));
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
    json_object_set_new(m, "role", json_string(role));
    json_object_set_new(m, "parts", parts);
    return m;
}

void at_llm_set_string(json_t *attrs, const char *key, const json_t *obj,
                       const char *member)
{
    json_t *v = json_object_get(obj, member);

    if (json_is_string(v) && json_string_length(v) > 0)
        json_object_set(attrs, key, v);
}

void at_llm_request_params(const json_t *root, json_t *attrs)
{
    json_t *v;
    int64_t n;

    at_llm_set_string(attrs, "gen_ai.request.model", root, "model");
    if (at_llm_count(json_object_get(root, "max_tokens"), &n))
        json_object_set_new(attrs, "gen_ai.request.max_tokens",
                            json_integer((json_int_t)n));
    v = json_object_get(root, "temperature");
    if (json_is_number(v))
        json_object_set_new(attrs, "gen_ai.request.temperature",
                            json_real(json_number_value(v)));
    v = json_object_get(root, "top_p");
    if (json_is_number(v))
        json_object_set_new(attrs, "gen_ai.request.top_p",
                            json_real(json_number_value(v)));
    if (json_is_true(json_object_get(root, "stream")))
        json_object_set_new(attrs, "gen_ai.request.stream", json_true());
}

void at_llm_usage_init(at_llm_usage *u)
{
    u->input = u->output = -1;
    u->cache_read = u->cache_creation = u->reasoning = -1;
    u->cache_apart = 0;
}

/* sat_add: a + b for non-negative counts, saturating at INT64_MAX. */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b <= 0)
        return a;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* set_count: attrs[key] = v when v was reported. */
static void set_count(json_t *attrs, const char *key, int64_t v)
{
    if (v >= 0)
        json_object_set_new(attrs, key, json_integer((json_int_t)v));
}

void at_llm_usage_emit(const at_llm_usage *u, json_t *attrs)
{
    int64_t in = u->input;

    if (u->cache_apart && in >= 0) {
        in = sat_add(in, u->cache_read);
        in = sat_add(in, u->cache_creation);
    }
    set_count(attrs, "gen_ai.usage.input_tokens", in);
    set_count(attrs, "gen_ai.usage.output_tokens", u->output);
    set_count(attrs, "gen_ai.usage.cache_read.input_tokens", u->cache_read);
    set_count(attrs, "gen_ai.usage.cache_creation.input_tokens",
              u->cache_creation);
    set_count(attrs, "gen_ai.usage.reasoning.output_tokens", u->reasoning);
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

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

int at_llm_request_decode(at_api api, const char *body, size_t len,
                          json_t *attrs)
{
    json_t *root;

    if (attrs == NULL || (api != AT_API_OPENAI_CHAT &&
                          api != AT_API_ANTHROPIC_MESSAGES))
        return -1;
    root = at_llm_parse(body, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    if (api == AT_API_OPENAI_CHAT)
        at_openai_request(root, attrs);
    else
        at_anthropic_request(root, attrs);
    json_decref(root);
    return 0;
}

int at_llm_response_decode(at_api api, const char *body, size_t len,
                           json_t *attrs)
{
    json_t *root;

    if (attrs == NULL || (api != AT_API_OPENAI_CHAT &&
                          api != AT_API_ANTHROPIC_MESSAGES))
        return -1;
    root = at_llm_parse(body, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    if (api == AT_API_OPENAI_CHAT)
        at_openai_response(root, attrs);
    else
        at_anthropic_response(root, attrs);
    json_decref(root);
    return 0;
}

int at_llm_error_decode(at_api api, const char *body, size_t len,
                        at_llm_status *st)
{
    json_t *root;
    int rc;

    (void)api; /* both shapes are recognised whatever the API */
    if (st == NULL)
        return -1;
    memset(st, 0, sizeof(*st));
    root = at_llm_parse(body, len);
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
    if (s == NULL || data == NULL)
        return -1;
    if (event == NULL)
        event_len = 0;
    switch (s->api) {
    case AT_API_OPENAI_CHAT:
        return at_openai_stream_event(s, event ? event : "", event_len, data,
                                      data_len);
    case AT_API_ANTHROPIC_MESSAGES:
        return at_anthropic_stream_event(s, event ? event : "", event_len,
                                         data, data_len);
    default:
        return -1;
    }
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
        json_object_set_new(o, "type",
                            json_string(p->kind == AT_PART_TEXT ? "text"
                                        : p->kind == AT_PART_REASONING
                                            ? "reasoning"
                                            : "refusal"));
        json_object_set_new(o, "content", at_llm_stringn(p->text.p,
                                                         p->text.len));
        return o;
    case AT_PART_TOOL_CALL:
        o = json_object();
        if (o == NULL)
            return NULL;
        json_object_set_new(o, "type", json_string("tool_call"));
        if (p->id != NULL)
            json_object_set_new(o, "id", json_string(p->id));
        if (p->name != NULL)
            json_object_set_new(o, "name", json_string(p->name));
        v = NULL;
        if (p->text.len > 0)
            v = at_llm_args(p->text.p, p->text.len);
        else if (p->input != NULL)
            v = json_incref(p->input);
        if (v != NULL)
            json_object_set_new(o, "arguments", v);
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
        json_object_set_new(attrs, "gen_ai.response.id", json_string(s->id));
    if (s->model != NULL)
        json_object_set_new(attrs, "gen_ai.response.model",
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
            json_object_set_new(m, "finish_reason",
                                json_string(c->finish_reason));
        json_array_append_new(msgs, m);
        if (c->finish_reason != NULL)
            json_array_append_new(reasons, json_string(c->finish_reason));
    }
    json_object_set_new(attrs, "gen_ai.output.messages", msgs);
    if (json_array_size(reasons) > 0)
        json_object_set_new(attrs, "gen_ai.response.finish_reasons",
                            reasons);
    else
        json_decref(reasons);
}

void at_llm_stream_del(at_llm_stream *s)
{
    size_t i, j;

    if (s == NULL)
        return;
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
    const char *prefix;
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

/* price_find: the row with the longest prefix of `model` (compared
 * without case), or NULL.  A "vendor/" prefix (routers) is skipped. */
static const at_llm_price *price_find(const char *model)
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

/* attr_count: a count attribute's value, or 0 when absent or bad. */
static int64_t attr_count(const json_t *attrs, const char *key)
{
    int64_t v = 0;

    if (!at_llm_count(json_object_get(attrs, key), &v))
        return 0;
    return v;
}

int at_llm_cost(json_t *attrs)
{
    const at_llm_price *pr;
    int64_t in, out, cread, cwrite, plain;
    double usd;

    if (!json_is_object(attrs))
        return 0;
    pr = price_find(at_llm_str(attrs, "gen_ai.response.model"));
    if (pr == NULL)
        pr = price_find(at_llm_str(attrs, "gen_ai.request.model"));
    if (pr == NULL)
        return 0;
    if (json_object_get(attrs, "gen_ai.usage.input_tokens") == NULL &&
        json_object_get(attrs, "gen_ai.usage.output_tokens") == NULL)
        return 0;
    in = attr_count(attrs, "gen_ai.usage.input_tokens");
    out = attr_count(attrs, "gen_ai.usage.output_tokens");
    cread = attr_count(attrs, "gen_ai.usage.cache_read.input_tokens");
    cwrite = attr_count(attrs, "gen_ai.usage.cache_creation.input_tokens");
    /* input_tokens includes cached input (SPANS.md); what is left after
     * the cached parts is billed at the plain input price. */
    plain = in;
    plain = plain > cread ? plain - cread : 0;
    plain = plain > cwrite ? plain - cwrite : 0;
    usd = ((double)plain * pr->input + (double)cread * pr->cached +
           (double)cwrite * pr->cache_write + (double)out * pr->output) /
          1e6;
    json_object_set_new(attrs, "agenttrace.cost.usd", json_real(usd));
    return 1;
}
