/* scan.c - the fast path of span parsing for `tree` and `stats`: one pass
 * over a line that validates it as JSON as strictly as jansson does
 * (syntax, UTF-8, escapes, integer range, nesting depth, nothing after
 * the value) but builds no tree: only the few fields those views need are
 * kept, unescaped into a scratch buffer; conversations, tool definitions
 * and bodies are checked and skipped.  Runs in the inspector's own
 * process. */
#include "cli/scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct scan {
    const unsigned char *p, *end;
    at_cli_buf *scratch;
    const char *err;
    int depth;
} scan;

/* A string kept in the scratch buffer, by offset (the buffer may move). */
typedef struct kept {
    size_t off;
    size_t len;
    int set;
} kept;

static void skip_ws(scan *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
                               *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

static int fail(scan *sc, const char *why)
{
    if (sc->err == NULL)
        sc->err = why;
    return -1;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned c = p[i], d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static void put_utf8(at_cli_buf *b, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    at_cli_buf_add(b, u, n);
}

/* utf8_seq: length of the valid UTF-8 sequence at p (lead byte >= 0x80),
 * or 0 (overlong forms, surrogates and code points past U+10FFFF are
 * invalid, as in jansson). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n, i;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

/* string: at '"'; validates the string and, when keep != NULL, appends
 * it unescaped to the scratch buffer (NUL-terminated). */
static int string(scan *sc, kept *keep)
{
    const unsigned char *p = sc->p + 1, *run = p;
    at_cli_buf *b = sc->scratch;

    if (keep != NULL) {
        keep->off = b->len;
        keep->set = 1;
    }
    for (;;) {
        unsigned c;

        if (p >= sc->end)
            return fail(sc, "premature end of input in a string");
        c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(sc, "control character in a string");
        if (c >= 0x80) {
            size_t n = utf8_seq(p, sc->end);

            if (n == 0)
                return fail(sc, "invalid UTF-8");
            p += n;
            continue;
        }
        if (c != '\\') {
            p++;
            continue;
        }
        if (keep != NULL)
            at_cli_buf_add(b, run, (size_t)(p - run));
        if (p + 1 >= sc->end)
            return fail(sc, "premature end of input in a string");
        c = p[1];
        p += 2;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            if (keep)
                at_cli_buf_putc(b, (char)c);
            break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            if (keep)
                at_cli_buf_putc(b, c == 'b'   ? '\b'
                                   : c == 'f' ? '\f'
                                   : c == 'n' ? '\n'
                                   : c == 'r' ? '\r'
                                              : '\t');
            break;
        case 'u': {
            unsigned cp, lo;

            if (sc->end - p < 4 || hex4(p, &cp) < 0)
                return fail(sc, "invalid \\u escape");
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(sc, "invalid Unicode escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (sc->end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                    hex4(p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return fail(sc, "invalid Unicode escape");
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            /* \u0000 is accepted, as at_cli_span_parse loads lines with
             * JSON_ALLOW_NUL: a field that holds one ends there as a C
             * string, as jansson's string value does */
            if (keep)
                put_utf8(b, cp);
            break;
        }
        default:
            return fail(sc, "invalid escape");
        }
        run = p;
    }
    if (keep != NULL) {
        at_cli_buf_add(b, run, (size_t)(p - run));
        keep->len = b->len - keep->off;
        at_cli_buf_putc(b, '\0');
    }
    sc->p = p + 1;
    return 0;
}

/* number: validates a JSON number; *is_int, *i and *d describe it.
 * Integers beyond long long are an error, as in jansson. */
static int number(scan *sc, int *is_int, int64_t *i, double *d)
{
    const unsigned char *p = sc->p, *start = p;
    char tmp[64], *endp;
    size_t n;
    int integer = 1;

    if (p < sc->end && *p == '-')
        p++;
    if (p >= sc->end)
        return fail(sc, "invalid number");
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < sc->end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return fail(sc, "invalid number");
    }
    if (p < sc->end && *p == '.') {
        integer = 0;
        p++;
        if (p >= sc->end || *p < '0' || *p > '9')
            return fail(sc, "invalid number");
        while (p < sc->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < sc->end && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;
        if (p < sc->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= sc->end || *p < '0' || *p > '9')
            return fail(sc, "invalid number");
        while (p < sc->end && *p >= '0' && *p <= '9')
            p++;
    }
    n = (size_t)(p - start);
    if (n >= sizeof(tmp)) {
        if (integer)
            return fail(sc, "too big integer");
        n = sizeof(tmp) - 1; /* a real: the digits past 63 change nothing
                                 a view shows */
    }
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    errno = 0;
    if (integer) {
        long long v = strtoll(tmp, &endp, 10);

        if (errno == ERANGE)
            return fail(sc, "too big integer");
        *i = v;
        *d = (double)v;
    } else {
        *d = strtod(tmp, &endp);
        if (errno == ERANGE && (*d > 1.0 || *d < -1.0))
            return fail(sc, "real number overflow");
        *i = (int64_t)*d;
    }
    *is_int = integer;
    sc->p = p;
    return 0;
}

static int value(scan *sc);

static int literal(scan *sc, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
        return fail(sc, "invalid token");
    sc->p += n;
    return 0;
}

/* container: at '{' or '['; validates it.  For objects, `on_key` (when
 * not NULL) is called with each key (NUL-terminated, in a small buffer;
 * keys longer than it are passed as "") with sc->p at the value, and
 * must consume the value. */
typedef int (*key_fn)(scan *sc, const char *key, void *ctx);

static int container(scan *sc, key_fn on_key, void *ctx)
{
    int obj = *sc->p == '{';
    char close = obj ? '}' : ']';

    if (++sc->depth > MAX_DEPTH)
        return fail(sc, "maximum parsing depth reached");
    sc->p++;
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == close) {
        sc->p++;
        sc->depth--;
        return 0;
    }
    for (;;) {
        if (obj) {
            char key[64];
            kept k;
            at_cli_buf *b = sc->scratch;
            size_t mark = b->len;

            skip_ws(sc);
            if (sc->p >= sc->end || *sc->p != '"')
                return fail(sc, "string or '}' expected");
            if (string(sc, on_key ? &k : NULL) < 0)
                return -1;
            key[0] = '\0';
            if (on_key && k.len < sizeof(key) &&
                memchr(b->data + k.off, '\0', k.len) == NULL)
                memcpy(key, b->data + k.off, k.len + 1);
            if (on_key) {
                b->len = mark; /* keys are not kept */
                if (b->data)
                    b->data[b->len] = '\0';
            }
            skip_ws(sc);
            if (sc->p >= sc->end || *sc->p != ':')
                return fail(sc, "':' expected");
            sc->p++;
            skip_ws(sc);
            if (on_key) {
                if (on_key(sc, key, ctx) < 0)
                    return -1;
            } else if (value(sc) < 0) {
                return -1;
            }
        } else if (value(sc) < 0) {
            return -1;
        }
        skip_ws(sc);
        if (sc->p >= sc->end)
            return fail(sc, "premature end of input");
        if (*sc->p == ',') {
            sc->p++;
            continue;
        }
        if (*sc->p == close) {
            sc->p++;
            sc->depth--;
            return 0;
        }
        return fail(sc, obj ? "'}' expected" : "']' expected");
    }
}

static int value(scan *sc)
{
    int is_int;
    int64_t i;
    double d;

    skip_ws(sc);
    if (sc->p >= sc->end)
        return fail(sc, "premature end of input");
    if (*sc->p != '{' && *sc->p != '[' && sc->depth + 1 > MAX_DEPTH)
        return fail(sc, "maximum parsing depth reached");
    switch (*sc->p) {
    case '"':
        return string(sc, NULL);
    case '{':
    case '[':
        return container(sc, NULL, NULL);
    case 't':
        return literal(sc, "true");
    case 'f':
        return literal(sc, "false");
    case 'n':
        return literal(sc, "null");
    default:
        return number(sc, &is_int, &i, &d);
    }
}

/* ------------------------------------------------------ what is kept */

typedef struct fields {
    kept trace_id, span_id, parent_id, name, kind, start_s, end_s;
    kept code, message;
    kept op, provider, system, model, resp_model, tool, error_type, finish;
    kept url, args;
    int args_is_string;
    int has_start, has_end, has_attrs_obj, has_pid, has_method;
    int parent_null;
    int64_t start, end;
    int64_t in_tok, out_tok, http_status, exit_code;
    int has_in, has_out, has_http, has_exit;
    double cost, ttfc;
    int has_cost, has_ttfc;
    int root_is_object;
} fields;

/* str_or_skip: keep the value when it is a string, else validate and
 * drop it (a non-string is "absent", as json_string_value says). */
static int str_or_skip(scan *sc, kept *k)
{
    if (sc->p < sc->end && *sc->p == '"') {
        k->set = 0;
        return string(sc, k);
    }
    k->set = 0;
    return value(sc);
}

/* num_or_skip: a number's value, or validate and drop anything else. */
static int num_or_skip(scan *sc, int *has, int want_int, int64_t *i,
                       double *d)
{
    int is_int;
    int64_t iv;
    double dv;

    if (sc->p < sc->end && (*sc->p == '-' || (*sc->p >= '0' &&
                                              *sc->p <= '9'))) {
        if (number(sc, &is_int, &iv, &dv) < 0)
            return -1;
        *has = 1;
        if (want_int && i)
            *i = iv;
        if (d)
            *d = dv;
        return 0;
    }
    *has = 0;
    return value(sc);
}

/* time_or_skip: an integer, a real, or a string of digits. */
static int time_or_skip(scan *sc, int *has, int64_t *out, kept *ks)
{
    ks->set = 0;
    *has = 0;
    if (sc->p < sc->end && *sc->p == '"') {
        *has = 0;
        return string(sc, ks);
    }
    return num_or_skip(sc, has, 1, out, NULL);
}

static int on_status(scan *sc, const char *key, void *ctx)
{
    fields *f = ctx;

    if (strcmp(key, "code") == 0)
        return str_or_skip(sc, &f->code);
    if (strcmp(key, "message") == 0)
        return str_or_skip(sc, &f->message);
    return value(sc);
}

/* first_string: the first element of an array when it is a string. */
static int first_string(scan *sc, kept *k)
{
    k->set = 0;
    if (sc->p >= sc->end || *sc->p != '[')
        return value(sc);
    if (++sc->depth > MAX_DEPTH)
        return fail(sc, "maximum parsing depth reached");
    sc->p++;
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == ']') {
        sc->p++;
        sc->depth--;
        return 0;
    }
    skip_ws(sc);
    if (sc->p < sc->end && *sc->p == '"') {
        if (string(sc, k) < 0)
            return -1;
    } else if (value(sc) < 0) {
        return -1;
    }
    for (;;) {
        skip_ws(sc);
        if (sc->p >= sc->end)
            return fail(sc, "premature end of input");
        if (*sc->p == ']') {
            sc->p++;
            sc->depth--;
            return 0;
        }
        if (*sc->p != ',')
            return fail(sc, "']' expected");
        sc->p++;
        if (value(sc) < 0)
            return -1;
    }
}

static int on_attr(scan *sc, const char *key, void *ctx)
{
    fields *f = ctx;

    if (strncmp(key, "gen_ai.", 7) == 0) {
        const char *k = key + 7;

        if (strcmp(k, "operation.name") == 0)
            return str_or_skip(sc, &f->op);
        if (strcmp(k, "provider.name") == 0)
            return str_or_skip(sc, &f->provider);
        if (strcmp(k, "system") == 0)
            return str_or_skip(sc, &f->system);
        if (strcmp(k, "request.model") == 0)
            return str_or_skip(sc, &f->model);
        if (strcmp(k, "response.model") == 0)
            return str_or_skip(sc, &f->resp_model);
        if (strcmp(k, "tool.name") == 0)
            return str_or_skip(sc, &f->tool);
        if (strcmp(k, "response.finish_reasons") == 0)
            return first_string(sc, &f->finish);
        if (strcmp(k, "usage.input_tokens") == 0)
            return num_or_skip(sc, &f->has_in, 1, &f->in_tok, NULL);
        if (strcmp(k, "usage.output_tokens") == 0)
            return num_or_skip(sc, &f->has_out, 1, &f->out_tok, NULL);
        if (strcmp(k, "response.time_to_first_chunk") == 0)
            return num_or_skip(sc, &f->has_ttfc, 0, NULL, &f->ttfc);
        if (strcmp(k, "tool.call.arguments") == 0) {
            const unsigned char *start = sc->p;

            if (sc->p < sc->end && *sc->p == '"') {
                f->args_is_string = 1;
                return string(sc, &f->args);
            }
            if (value(sc) < 0)
                return -1;
            f->args_is_string = 0;
            f->args.off = sc->scratch->len;
            f->args.len = (size_t)(sc->p - start);
            f->args.set = 1;
            at_cli_buf_add(sc->scratch, start, f->args.len);
            at_cli_buf_putc(sc->scratch, '\0');
            return 0;
        }
        return value(sc);
    }
    if (strcmp(key, "error.type") == 0)
        return str_or_skip(sc, &f->error_type);
    if (strcmp(key, "agenttrace.cost.usd") == 0)
        return num_or_skip(sc, &f->has_cost, 0, NULL, &f->cost);
    if (strcmp(key, "http.response.status_code") == 0)
        return num_or_skip(sc, &f->has_http, 1, &f->http_status, NULL);
    if (strcmp(key, "process.exit_code") == 0)
        return num_or_skip(sc, &f->has_exit, 1, &f->exit_code, NULL);
    if (strcmp(key, "url.full") == 0) {
        f->has_method = 1; /* url.full makes an HTTP span */
        return str_or_skip(sc, &f->url);
    }
    if (strcmp(key, "process.pid") == 0) {
        f->has_pid = 1;
        return value(sc);
    }
    if (strcmp(key, "http.request.method") == 0) {
        f->has_method = 1;
        return value(sc);
    }
    return value(sc);
}

static int on_top(scan *sc, const char *key, void *ctx)
{
    fields *f = ctx;

    switch (key[0]) {
    case 't':
        if (strcmp(key, "trace_id") == 0)
            return str_or_skip(sc, &f->trace_id);
        break;
    case 's':
        if (strcmp(key, "span_id") == 0)
            return str_or_skip(sc, &f->span_id);
        if (strcmp(key, "start_time_unix_nano") == 0)
            return time_or_skip(sc, &f->has_start, &f->start, &f->start_s);
        if (strcmp(key, "status") == 0) {
            f->code.set = f->message.set = 0;
            if (sc->p < sc->end && *sc->p == '{')
                return container(sc, on_status, f);
            return value(sc);
        }
        break;
    case 'p':
        if (strcmp(key, "parent_span_id") == 0) {
            f->parent_null = sc->p < sc->end && *sc->p == 'n';
            return str_or_skip(sc, &f->parent_id);
        }
        break;
    case 'n':
        if (strcmp(key, "name") == 0)
            return str_or_skip(sc, &f->name);
        break;
    case 'k':
        if (strcmp(key, "kind") == 0)
            return str_or_skip(sc, &f->kind);
        break;
    case 'e':
        if (strcmp(key, "end_time_unix_nano") == 0)
            return time_or_skip(sc, &f->has_end, &f->end, &f->end_s);
        break;
    case 'a':
        if (strcmp(key, "attributes") == 0) {
            if (sc->p < sc->end && *sc->p == '{') {
                f->has_attrs_obj = 1;
                return container(sc, on_attr, f);
            }
            return value(sc);
        }
        break;
    default:
        break;
    }
    return value(sc);
}

/* ------------------------------------------------------------- result */

static const char *S(const at_cli_buf *b, const kept *k)
{
    return k->set ? b->data + k->off : NULL;
}

/* hex_id: lowercase copy of exactly n hex digits, not all zero. */
static int hex_id(const at_cli_buf *b, const kept *k, size_t n, char *out)
{
    const char *s = S(b, k);
    size_t i;
    int nonzero = 0;

    if (s == NULL || k->len != n)
        return -1;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        nonzero |= c != '0';
        out[i] = c;
    }
    out[n] = '\0';
    return nonzero ? 0 : -1;
}

static int kind_of(const char *k)
{
    if (k == NULL)
        return AT_KIND_UNSPECIFIED;
    if (strcasecmp(k, "internal") == 0)
        return AT_KIND_INTERNAL;
    if (strcasecmp(k, "client") == 0)
        return AT_KIND_CLIENT;
    if (strcasecmp(k, "server") == 0)
        return AT_KIND_SERVER;
    if (strcasecmp(k, "producer") == 0)
        return AT_KIND_PRODUCER;
    if (strcasecmp(k, "consumer") == 0)
        return AT_KIND_CONSUMER;
    return AT_KIND_UNSPECIFIED;
}

int at_cli_span_scan(const char *line, size_t len, at_cli_span *s,
                     at_cli_buf *scratch, char *err, size_t errlen)
{
    scan sc;
    fields f;
    const at_cli_buf *b = scratch;
    int rc;

    memset(s, 0, sizeof(*s));
    memset(&f, 0, sizeof(f));
    at_cli_buf_reset(scratch);
    at_cli_buf_putc(scratch, '\0'); /* data is never NULL below */
    sc.p = (const unsigned char *)line;
    sc.end = sc.p + len;
    sc.scratch = scratch;
    sc.err = NULL;
    sc.depth = 0;
    skip_ws(&sc);
    if (sc.p < sc.end && *sc.p == '{') {
        rc = container(&sc, on_top, &f);
        f.root_is_object = 1;
    } else if (sc.p < sc.end && *sc.p == '[') {
        rc = container(&sc, NULL, NULL);
    } else {
        rc = fail(&sc, "'[' or '{' expected");
    }
    if (rc == 0) {
        skip_ws(&sc);
        if (sc.p != sc.end)
            rc = fail(&sc, "end of file expected");
    }
    if (rc < 0) {
        snprintf(err, errlen, "not JSON: %s", sc.err);
        return -1;
    }
    if (!f.root_is_object) {
        snprintf(err, errlen, "not a JSON object");
        return -1;
    }
    if (hex_id(b, &f.trace_id, 32, s->trace_id) < 0) {
        snprintf(err, errlen, f.trace_id.set || f.trace_id.len
                                  ? "bad trace_id"
                                  : "no trace_id");
        return -1;
    }
    if (hex_id(b, &f.span_id, 16, s->span_id) < 0) {
        snprintf(err, errlen, "bad span_id");
        return -1;
    }
    at_cli_hex_to_u64(s->span_id, 16, &s->span_u64);
    if (f.parent_id.set && f.parent_id.len > 0 &&
        hex_id(b, &f.parent_id, 16, s->parent_id) == 0)
        at_cli_hex_to_u64(s->parent_id, 16, &s->parent_u64);
    else
        s->parent_id[0] = '\0';
    s->name = S(b, &f.name);
    if (s->name == NULL) {
        snprintf(err, errlen, "no name");
        return -1;
    }
    if (f.start_s.set) {
        if (at_cli_parse_i64(S(b, &f.start_s), &s->start_ns) < 0) {
            snprintf(err, errlen, "no start_time_unix_nano");
            return -1;
        }
    } else if (f.has_start) {
        s->start_ns = f.start;
    } else {
        snprintf(err, errlen, "no start_time_unix_nano");
        return -1;
    }
    if (f.end_s.set && at_cli_parse_i64(S(b, &f.end_s), &s->end_ns) == 0)
        ;
    else if (!f.end_s.set && f.has_end)
        s->end_ns = f.end;
    else
        s->end_ns = s->start_ns;
    s->kind = kind_of(S(b, &f.kind));
    s->status = AT_STATUS_UNSET;
    if (S(b, &f.code) && strcasecmp(S(b, &f.code), "ok") == 0)
        s->status = AT_STATUS_OK;
    else if (S(b, &f.code) && strcasecmp(S(b, &f.code), "error") == 0)
        s->status = AT_STATUS_ERROR;
    s->status_msg = S(b, &f.message);
    s->op = S(b, &f.op);
    s->provider = S(b, &f.provider) ? S(b, &f.provider) : S(b, &f.system);
    s->model = S(b, &f.model);
    s->resp_model = S(b, &f.resp_model);
    if (s->model == NULL)
        s->model = s->resp_model;
    s->tool = S(b, &f.tool);
    s->error_type = S(b, &f.error_type);
    s->finish = S(b, &f.finish);
    s->url = S(b, &f.url);
    s->args_text = S(b, &f.args);
    s->args_is_string = f.args_is_string;
    s->in_tok = f.has_in ? f.in_tok : -1;
    s->out_tok = f.has_out ? f.out_tok : -1;
    s->cost = f.has_cost && f.cost >= 0 ? f.cost : -1;
    s->ttfc = f.has_ttfc && f.ttfc >= 0 ? f.ttfc : -1;
    if (f.has_http && f.http_status > 0 && f.http_status < 1000)
        s->http_status = (int)f.http_status;
    if (f.has_exit) {
        s->has_exit = 1;
        s->exit_code = f.exit_code;
    }
    /* The category, as span.c decides it. */
    if (s->op != NULL) {
        if (strcmp(s->op, "execute_tool") == 0)
            s->cat = AT_CAT_TOOL;
        else if (strcmp(s->op, "invoke_agent") == 0 ||
                 strcmp(s->op, "create_agent") == 0)
            s->cat = AT_CAT_AGENT;
        else if (strcmp(s->op, "process") == 0)
            s->cat = AT_CAT_PROCESS;
        else
            s->cat = AT_CAT_LLM;
    } else if (strncmp(s->name, "execute_tool ", 13) == 0) {
        s->cat = AT_CAT_TOOL;
    } else if (strncmp(s->name, "invoke_agent ", 13) == 0) {
        s->cat = AT_CAT_AGENT;
    } else if (strncmp(s->name, "process ", 8) == 0 || f.has_pid) {
        s->cat = AT_CAT_PROCESS;
    } else if (f.has_method) {
        s->cat = AT_CAT_HTTP;
    } else {
        s->cat = AT_CAT_OTHER;
    }
    s->failed = s->status == AT_STATUS_ERROR || s->error_type != NULL ||
                s->http_status >= 400 || (s->has_exit && s->exit_code != 0);
    (void)f.parent_null;
    (void)f.has_attrs_obj;
    return 0;
}
