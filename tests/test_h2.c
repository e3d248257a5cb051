/* test_h2.c - unit tests of decode/h2.c (HTTP/2 frames and HPACK).
 *
 * Runs in the Criterion test runner (one forked worker per test).  Each
 * case is a script: the bytes each side sent, in order, built here with
 * small frame builders and libnghttp2's HPACK deflater (one per side, kept
 * for the whole script, so later blocks reuse dynamic table entries and
 * Huffman strings).  While building, the script also writes the log that
 * the decoder's callbacks must produce.  Every script is fed whole, one
 * byte at a time, cut in two at every position (small scripts) and in
 * random pieces; each piece sits in its own exactly sized allocation, and
 * every feeding must give the expected log.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "decode/h2.h"

#define CLIENT 1
#define SERVER 0

/* Frame types and flags, spelled out here rather than taken from h2.c. */
enum {
    T_DATA = 0, T_HEADERS = 1, T_PRIORITY = 2, T_RST_STREAM = 3,
    T_SETTINGS = 4, T_PUSH_PROMISE = 5, T_PING = 6, T_GOAWAY = 7,
    T_WINDOW_UPDATE = 8, T_CONTINUATION = 9
};
enum {
    F_END_STREAM = 0x1, F_ACK = 0x1, F_END_HEADERS = 0x4, F_PADDED = 0x8,
    F_PRIORITY = 0x20
};

/* Scripts bigger than this are not cut at every position (quadratic). */
#define SMALL_SCRIPT 6000

/* ---- the log ---------------------------------------------------------
 *
 * One line per event:
 *   H c=<side> s=<stream>[ ES]: name=value name=value ...
 *   D c=<side> s=<stream> '<bytes>'[ ES]
 *   R c=<side> s=<stream> code=<n>
 *   G c=<side> last=<n> code=<n>
 *   X c=<side>          (at_h2_feed returned -1 for the first time)
 * Consecutive DATA pieces of one stream from one side make one D line, so
 * the log does not depend on where the input was cut. */
struct log {
    char *p;
    size_t len, cap;
    int open;            /* a D line is open (its quote not closed) */
    int oc;
    uint32_t os;
    int failed;          /* X written: no callback may come any more */
    const char *cur;     /* the piece being fed, for the zero-copy check */
    size_t cur_len;
};

/* log_add: append n bytes. */
static void log_add(struct log *l, const char *s, size_t n)
{
    if (l->len + n + 1 > l->cap) {
        size_t cap = l->cap ? l->cap : 256;

        while (cap < l->len + n + 1)
            cap *= 2;
        l->p = realloc(l->p, cap);
        cr_assert_not_null(l->p);
        l->cap = cap;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
    l->p[l->len] = '\0';
}

/* log_fmt: append printf-style text. */
static void log_fmt(struct log *l, const char *fmt, ...)
{
    char b[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof(b));
    log_add(l, b, (size_t)n);
}

/* log_close: end an open D line. */
static void log_close(struct log *l)
{
    if (l->open)
        log_add(l, "'\n", 2);
    l->open = 0;
}

static void log_headers(struct log *l, uint32_t stream, int c,
                        const at_h2_field *f, size_t n, int es)
{
    size_t i;

    log_close(l);
    log_fmt(l, "H c=%d s=%u%s:", c, stream, es ? " ES" : "");
    for (i = 0; i < n; i++) {
        log_add(l, " ", 1);
        log_add(l, f[i].name, f[i].name_len);
        log_add(l, "=", 1);
        log_add(l, f[i].value, f[i].value_len);
    }
    log_add(l, "\n", 1);
}

static void log_data(struct log *l, uint32_t stream, int c, const char *p,
                     size_t n, int es)
{
    if (!l->open || l->oc != c || l->os != stream) {
        log_close(l);
        log_fmt(l, "D c=%d s=%u '", c, stream);
        l->open = 1;
        l->oc = c;
        l->os = stream;
    }
    log_add(l, p, n);
    if (es) {
        log_add(l, "' ES\n", 5);
        l->open = 0;
    }
}

static void log_reset(struct log *l, uint32_t stream, int c, uint32_t code)
{
    log_close(l);
    log_fmt(l, "R c=%d s=%u code=%u\n", c, stream, code);
}

static void log_goaway(struct log *l, int c, uint32_t last, uint32_t code)
{
    log_close(l);
    log_fmt(l, "G c=%d last=%u code=%u\n", c, last, code);
}

static void log_fail(struct log *l, int c)
{
    log_close(l);
    log_fmt(l, "X c=%d\n", c);
    l->failed = 1;
}

/* ---- the callbacks under test ---------------------------------------- */

static void on_headers(void *ud, uint32_t stream, int from_client,
                       const at_h2_field *f, size_t n, int es)
{
    struct log *l = ud;
    size_t i;

    cr_assert_not(l->failed, "callback after failure");
    cr_assert_not_null(f);
    for (i = 0; i < n; i++) {
        cr_assert_not_null(f[i].name);
        cr_assert_not_null(f[i].value);
    }
    cr_assert(from_client == 0 || from_client == 1);
    cr_assert(es == 0 || es == 1);
    log_headers(l, stream, from_client, f, n, es);
}

static void on_data(void *ud, uint32_t stream, int from_client,
                    const char *p, size_t n, int es)
{
    struct log *l = ud;

    cr_assert_not(l->failed, "callback after failure");
    cr_assert(n > 0 || es, "empty DATA piece without END_STREAM");
    cr_assert_not_null(p);
    /* DATA is passed straight from the piece being fed: never buffered,
     * so a huge frame costs no memory. */
    if (n > 0)
        cr_assert(p >= l->cur && p + n <= l->cur + l->cur_len,
                  "DATA piece not inside the fed buffer");
    log_data(l, stream, from_client, p, n, es);
}

static void on_reset(void *ud, uint32_t stream, int from_client,
                     uint32_t code)
{
    struct log *l = ud;

    cr_assert_not(l->failed, "callback after failure");
    log_reset(l, stream, from_client, code);
}

static void on_goaway(void *ud, int from_client, uint32_t last,
                      uint32_t code)
{
    struct log *l = ud;

    cr_assert_not(l->failed, "callback after failure");
    log_goaway(l, from_client, last, code);
}

static const at_h2_callbacks test_cb = {
    on_headers, on_data, on_reset, on_goaway
};

/* ---- scripts ---------------------------------------------------------- */

/* The bytes one side sent in a row. */
struct seg {
    int c;
    unsigned char *p;
    size_t len, cap;
};

struct script {
    struct seg *seg;
    size_t n, cap;
    nghttp2_hd_deflater *def[2]; /* [SERVER], [CLIENT] */
    struct log expect;
    int dead;                    /* a failure is expected: log no more */
};

static void script_init(struct script *s)
{
    memset(s, 0, sizeof(*s));
    /* Encoders that may use up to 64 KiB once the peer allows it; until
     * then nghttp2 keeps them at the default 4096. */
    cr_assert_eq(nghttp2_hd_deflate_new(&s->def[0], 65536), 0);
    cr_assert_eq(nghttp2_hd_deflate_new(&s->def[1], 65536), 0);
}

static void script_free(struct script *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->seg[i].p);
    free(s->seg);
    nghttp2_hd_deflate_del(s->def[0]);
    nghttp2_hd_deflate_del(s->def[1]);
    free(s->expect.p);
}

static size_t script_size(const struct script *s)
{
    size_t i, t = 0;

    for (i = 0; i < s->n; i++)
        t += s->seg[i].len;
    return t;
}

/* put: side c sends n more bytes. */
static void put(struct script *s, int c, const void *p, size_t n)
{
    struct seg *g;

    if (s->n == 0 || s->seg[s->n - 1].c != c) {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 16;
            s->seg = realloc(s->seg, s->cap * sizeof(*s->seg));
            cr_assert_not_null(s->seg);
        }
        memset(&s->seg[s->n], 0, sizeof(s->seg[0]));
        s->seg[s->n++].c = c;
    }
    g = &s->seg[s->n - 1];
    if (g->len + n > g->cap) {
        while (g->len + n > g->cap)
            g->cap = g->cap ? 2 * g->cap : 256;
        g->p = realloc(g->p, g->cap);
        cr_assert_not_null(g->p);
    }
    if (n > 0)
        memcpy(g->p + g->len, p, n);
    g->len += n;
}

/* fail: the decoder must fail here, on side c; nothing is logged after. */
static void fail(struct script *s, int c)
{
    if (!s->dead)
        log_fail(&s->expect, c);
    s->dead = 1;
}

/* frame: one frame with a 9-byte header built from the arguments; `len`
 * may differ from the payload given (`plen`) to build broken frames. */
static void frame_raw(struct script *s, int c, unsigned type,
                      unsigned flags, uint32_t stream, uint32_t len,
                      const void *pl, size_t plen)
{
    unsigned char h[9] = {
        (unsigned char)(len >> 16), (unsigned char)(len >> 8),
        (unsigned char)len, (unsigned char)type, (unsigned char)flags,
        (unsigned char)(stream >> 24), (unsigned char)(stream >> 16),
        (unsigned char)(stream >> 8), (unsigned char)stream
    };

    put(s, c, h, 9);
    put(s, c, pl, plen);
}

static void frame(struct script *s, int c, unsigned type, unsigned flags,
                  uint32_t stream, const void *pl, size_t len)
{
    frame_raw(s, c, type, flags, stream, (uint32_t)len, pl, len);
}

static void preface(struct script *s)
{
    put(s, CLIENT, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
}

/* settings: a SETTINGS frame with n (id, value) pairs. */
static void settings(struct script *s, int c, const uint32_t *kv, size_t n)
{
    unsigned char b[64];
    size_t i;

    cr_assert(n * 6 <= sizeof(b));
    for (i = 0; i < n; i++) {
        b[6 * i] = (unsigned char)(kv[2 * i] >> 8);
        b[6 * i + 1] = (unsigned char)kv[2 * i];
        b[6 * i + 2] = (unsigned char)(kv[2 * i + 1] >> 24);
        b[6 * i + 3] = (unsigned char)(kv[2 * i + 1] >> 16);
        b[6 * i + 4] = (unsigned char)(kv[2 * i + 1] >> 8);
        b[6 * i + 5] = (unsigned char)kv[2 * i + 1];
    }
    frame(s, c, T_SETTINGS, 0, 0, b, 6 * n);
}

static void settings_ack(struct script *s, int c)
{
    frame(s, c, T_SETTINGS, F_ACK, 0, NULL, 0);
}

/* open_conn: the usual start: preface, both SETTINGS, both ACKs, and a
 * WINDOW_UPDATE as curl sends. */
static void open_conn(struct script *s)
{
    static const uint32_t cs[] = { 3, 100, 4, 1 << 20, 2, 0 };
    static const uint32_t ss[] = { 3, 128, 5, 16384 };
    static const unsigned char wu[4] = { 0, 0x0f, 0, 1 };

    preface(s);
    settings(s, CLIENT, cs, 3);
    frame(s, CLIENT, T_WINDOW_UPDATE, 0, 0, wu, 4);
    settings(s, SERVER, ss, 2);
    settings_ack(s, SERVER);
    settings_ack(s, CLIENT);
}

/* Fields are written "name=value|name=value"; the name ends at the
 * first '=' after its first character. */
struct fields {
    char *buf;
    nghttp2_nv nv[128];
    at_h2_field f[128];
    size_t n;
};

static void fields_parse(struct fields *fs, const char *spec)
{
    char *p, *end;

    fs->buf = strdup(spec);
    cr_assert_not_null(fs->buf);
    fs->n = 0;
    for (p = fs->buf; *p != '\0'; p = end) {
        char *eq = strchr(p + 1, '=');
        char *bar = strchr(p, '|');

        end = bar ? bar + 1 : p + strlen(p);
        if (bar)
            *bar = '\0';
        cr_assert(eq != NULL && (bar == NULL || eq < bar), "spec %s", spec);
        *eq = '\0';
        cr_assert(fs->n < 128);
        fs->nv[fs->n].name = (uint8_t *)p;
        fs->nv[fs->n].namelen = strlen(p);
        fs->nv[fs->n].value = (uint8_t *)(eq + 1);
        fs->nv[fs->n].valuelen = strlen(eq + 1);
        fs->nv[fs->n].flags = NGHTTP2_NV_FLAG_NONE;
        fs->f[fs->n].name = p;
        fs->f[fs->n].name_len = strlen(p);
        fs->f[fs->n].value = eq + 1;
        fs->f[fs->n].value_len = strlen(eq + 1);
        fs->n++;
    }
}

/* hblock: side c's encoder compresses the fields of `spec`.  Returns a
 * malloc'd block of *len bytes. */
static unsigned char *hblock_nv(struct script *s, int c,
                                const nghttp2_nv *nv, size_t n, size_t *len)
{
    size_t cap = nghttp2_hd_deflate_bound(s->def[c], nv, n);
    unsigned char *b = malloc(cap ? cap : 1);
    ssize_t r;

    cr_assert_not_null(b);
    r = nghttp2_hd_deflate_hd(s->def[c], b, cap, nv, n);
    cr_assert(r >= 0, "deflate: %zd", r);
    *len = (size_t)r;
    return b;
}

/* expect_headers: the decoder must report these fields here. */
static void expect_headers(struct script *s, int c, uint32_t stream,
                           const at_h2_field *f, size_t n, int es)
{
    if (!s->dead)
        log_headers(&s->expect, stream, c, f, n, es);
}

/* headers_ex: a header block of side c on `stream`: a HEADERS frame
 * (flags F_END_STREAM and F_PRIORITY as given; F_PADDED when pad >= 0)
 * carrying the first part of the block, and `ncont` CONTINUATIONs carrying
 * the rest in about equal parts (the last may be empty). */
static void headers_ex(struct script *s, int c, uint32_t stream,
                       unsigned flags, const char *spec, int pad,
                       int ncont)
{
    struct fields fs;
    unsigned char *blk, *pl;
    size_t blen, part, off = 0, plen = 0;
    int i;

    fields_parse(&fs, spec);
    blk = hblock_nv(s, c, fs.nv, fs.n, &blen);
    part = blen / (size_t)(ncont + 1);
    pl = malloc(blen + 300);
    cr_assert_not_null(pl);
    if (pad >= 0)
        pl[plen++] = (unsigned char)pad;
    if (flags & F_PRIORITY) {
        /* exclusive dependency on stream 0, weight 16 */
        static const unsigned char prio[5] = { 0x80, 0, 0, 0, 15 };

        memcpy(pl + plen, prio, 5);
        plen += 5;
    }
    memcpy(pl + plen, blk, ncont ? part : blen);
    plen += ncont ? part : blen;
    off = ncont ? part : blen;
    if (pad > 0) {
        memset(pl + plen, 0, (size_t)pad);
        plen += (size_t)pad;
    }
    frame(s, c, T_HEADERS,
          (flags & (F_END_STREAM | F_PRIORITY)) |
              (pad >= 0 ? F_PADDED : 0) | (ncont ? 0 : F_END_HEADERS),
          stream, pl, plen);
    for (i = 1; i <= ncont; i++) {
        size_t k = i == ncont ? blen - off : part;

        frame(s, c, T_CONTINUATION, i == ncont ? F_END_HEADERS : 0,
              stream, blk + off, k);
        off += k;
    }
    expect_headers(s, c, stream, fs.f, fs.n, (flags & F_END_STREAM) != 0);
    free(pl);
    free(blk);
    free(fs.buf);
}

static void headers(struct script *s, int c, uint32_t stream,
                    unsigned flags, const char *spec)
{
    headers_ex(s, c, stream, flags, spec, -1, 0);
}

/* data_ex: a DATA frame; padded when pad >= 0. */
static void data_ex(struct script *s, int c, uint32_t stream,
                    unsigned flags, const void *p, size_t n, int pad)
{
    unsigned char *pl = malloc(n + 300);
    size_t plen = 0;

    cr_assert_not_null(pl);
    if (pad >= 0)
        pl[plen++] = (unsigned char)pad;
    if (n > 0)
        memcpy(pl + plen, p, n);
    plen += n;
    if (pad > 0) {
        memset(pl + plen, 0xAA, (size_t)pad);
        plen += (size_t)pad;
    }
    frame(s, c, T_DATA, (flags & F_END_STREAM) | (pad >= 0 ? F_PADDED : 0),
          stream, pl, plen);
    free(pl);
    if (!s->dead && (n > 0 || (flags & F_END_STREAM)))
        log_data(&s->expect, stream, c, p, n, (flags & F_END_STREAM) != 0);
}

static void data(struct script *s, int c, uint32_t stream, unsigned flags,
                 const char *str)
{
    data_ex(s, c, stream, flags, str, strlen(str), -1);
}

static void rst(struct script *s, int c, uint32_t stream, uint32_t code)
{
    unsigned char b[4] = { (unsigned char)(code >> 24),
                           (unsigned char)(code >> 16),
                           (unsigned char)(code >> 8), (unsigned char)code };

    frame(s, c, T_RST_STREAM, 0, stream, b, 4);
    if (!s->dead)
        log_reset(&s->expect, stream, c, code);
}

static void goaway(struct script *s, int c, uint32_t last, uint32_t code,
                   const char *debug)
{
    unsigned char b[256];
    size_t n = strlen(debug);

    cr_assert(n + 8 <= sizeof(b));
    b[0] = (unsigned char)(last >> 24);
    b[1] = (unsigned char)(last >> 16);
    b[2] = (unsigned char)(last >> 8);
    b[3] = (unsigned char)last;
    b[4] = (unsigned char)(code >> 24);
    b[5] = (unsigned char)(code >> 16);
    b[6] = (unsigned char)(code >> 8);
    b[7] = (unsigned char)code;
    memcpy(b + 8, debug, n);
    frame(s, c, T_GOAWAY, 0, 0, b, 8 + n);
    if (!s->dead)
        log_goaway(&s->expect, c, last, code);
}

static void ping(struct script *s, int c, unsigned flags)
{
    frame(s, c, T_PING, flags, 0, "12345678", 8);
}

/* push_promise: the server promises `promised` on `stream`; the request
 * block is split into the PUSH_PROMISE (padded when pad >= 0) and `ncont`
 * CONTINUATIONs.  Nothing is reported for it. */
static void push_promise(struct script *s, uint32_t stream,
                         uint32_t promised, const char *spec, int pad,
                         int ncont)
{
    struct fields fs;
    unsigned char *blk, *pl;
    size_t blen, part, off, plen = 0;
    int i;

    fields_parse(&fs, spec);
    blk = hblock_nv(s, SERVER, fs.nv, fs.n, &blen);
    part = ncont ? blen / (size_t)(ncont + 1) : blen;
    pl = malloc(blen + 300);
    cr_assert_not_null(pl);
    if (pad >= 0)
        pl[plen++] = (unsigned char)pad;
    pl[plen++] = (unsigned char)(promised >> 24);
    pl[plen++] = (unsigned char)(promised >> 16);
    pl[plen++] = (unsigned char)(promised >> 8);
    pl[plen++] = (unsigned char)promised;
    memcpy(pl + plen, blk, part);
    plen += part;
    off = part;
    if (pad > 0) {
        memset(pl + plen, 0, (size_t)pad);
        plen += (size_t)pad;
    }
    frame(s, SERVER, T_PUSH_PROMISE,
          (pad >= 0 ? F_PADDED : 0) | (ncont ? 0 : F_END_HEADERS), stream,
          pl, plen);
    for (i = 1; i <= ncont; i++) {
        size_t k = i == ncont ? blen - off : part;

        frame(s, SERVER, T_CONTINUATION, i == ncont ? F_END_HEADERS : 0,
              stream, blk + off, k);
        off += k;
    }
    free(pl);
    free(blk);
    free(fs.buf);
}

/* The request and response most cases use. */
#define REQ_POST                                                          \
    ":method=POST|:scheme=https|:authority=api.openai.com|"               \
    ":path=/v1/chat/completions|content-type=application/json|"           \
    "authorization=Bearer sk-test-0123456789|user-agent=curl/7.88.1|"     \
    "accept=*/*"
#define RESP_SSE                                                          \
    ":status=200|content-type=text/event-stream; charset=utf-8|"          \
    "date=Mon, 01 Jan 2024 00:00:00 GMT|x-request-id=req_abc123|"         \
    "openai-processing-ms=512"

/* ---- the cases -------------------------------------------------------- */

/* A POST with a body and a streamed answer; a GET with an empty answer;
 * an empty DATA frame carrying only END_STREAM; PING and WINDOW_UPDATE
 * skipped. */
static void case_basic(struct script *s)
{
    static const unsigned char wu[4] = { 0, 0, 0x40, 0 };

    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST);
    data(s, CLIENT, 1, F_END_STREAM,
         "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[]}");
    ping(s, SERVER, 0);
    ping(s, CLIENT, F_ACK);
    frame(s, SERVER, T_WINDOW_UPDATE, 0, 1, wu, 4);
    headers(s, SERVER, 1, 0, RESP_SSE);
    data(s, SERVER, 1, 0, "data: {\"a\":1}\n\n");
    data(s, SERVER, 1, 0, "data: {\"a\":2}\n\n");
    data(s, SERVER, 1, F_END_STREAM, "data: [DONE]\n\n");
    headers(s, CLIENT, 3, F_END_STREAM,
            ":method=GET|:scheme=https|:authority=api.openai.com|"
            ":path=/v1/models");
    headers(s, SERVER, 3, F_END_STREAM, ":status=204");
    headers(s, CLIENT, 5, F_END_STREAM,
            ":method=GET|:scheme=https|:authority=api.openai.com|"
            ":path=/v1/models/gpt-4o");
    headers(s, SERVER, 5, 0, ":status=200|content-length=0");
    data(s, SERVER, 5, F_END_STREAM, "");
}

/* Three requests with the same fields: the second and third are mostly
 * indexes into the dynamic table; values with odd bytes and an empty
 * value; a never-indexed field. */
static void case_dynamic_table(struct script *s)
{
    static const nghttp2_nv secret = {
        (uint8_t *)"authorization", (uint8_t *)"Bearer secret", 13, 13,
        NGHTTP2_NV_FLAG_NO_INDEX
    };
    unsigned char *blk;
    size_t blen;
    static const at_h2_field f = { "authorization", 13, "Bearer secret",
                                   13 };
    uint32_t i;

    open_conn(s);
    for (i = 0; i < 3; i++) {
        headers(s, CLIENT, 1 + 2 * i, F_END_STREAM,
                ":method=GET|:scheme=https|:authority=example.com|"
                ":path=/v1/x|x-empty=|x-bytes=\x01\x7f\xc3\xa9\xff|"
                "x-same=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        headers(s, SERVER, 1 + 2 * i, 0, RESP_SSE);
        data(s, SERVER, 1 + 2 * i, F_END_STREAM, "ok");
    }
    blk = hblock_nv(s, CLIENT, &secret, 1, &blen);
    frame(s, CLIENT, T_HEADERS, F_END_HEADERS | F_END_STREAM, 7, blk, blen);
    expect_headers(s, CLIENT, 7, &f, 1, 1);
    free(blk);
}

/* Header blocks over HEADERS + CONTINUATION(s), one CONTINUATION empty. */
static void case_continuation(struct script *s)
{
    open_conn(s);
    headers_ex(s, CLIENT, 1, 0, REQ_POST, -1, 2);
    data(s, CLIENT, 1, F_END_STREAM, "{}");
    headers_ex(s, SERVER, 1, 0, RESP_SSE, -1, 1);
    data(s, SERVER, 1, F_END_STREAM, "x");
    /* a block of 3 bytes over 4 frames: the first three are empty */
    headers_ex(s, CLIENT, 3, F_END_STREAM,
               ":method=GET|:scheme=https|:path=/", -1, 3);
    headers_ex(s, SERVER, 3, F_END_STREAM, ":status=404", 5, 1);
}

/* Padding on DATA and HEADERS, with and without END_STREAM, pad length 0,
 * padding only, the largest padding that fits. */
static void case_padded(struct script *s)
{
    open_conn(s);
    headers_ex(s, CLIENT, 1, 0, REQ_POST, 7, 0);
    data_ex(s, CLIENT, 1, 0, "{\"a\":", 5, 0);
    data_ex(s, CLIENT, 1, 0, "", 0, 255);
    data_ex(s, CLIENT, 1, F_END_STREAM, "1}", 2, 10);
    headers_ex(s, SERVER, 1, F_PRIORITY, RESP_SSE, 3, 0);
    data_ex(s, SERVER, 1, 0, "data: 1\n\n", 9, 200);
    data_ex(s, SERVER, 1, F_END_STREAM, "", 0, 4);
    headers_ex(s, CLIENT, 3, F_END_STREAM | F_PRIORITY,
               ":method=GET|:path=/", 0, 0);
    headers_ex(s, SERVER, 3, F_END_STREAM, ":status=304", 1, 1);
}

/* The PRIORITY flag on HEADERS (5 more bytes before the block) and a
 * PRIORITY frame. */
static void case_priority(struct script *s)
{
    static const unsigned char prio[5] = { 0, 0, 0, 1, 200 };

    open_conn(s);
    headers_ex(s, CLIENT, 1, F_PRIORITY, REQ_POST, -1, 0);
    frame(s, CLIENT, T_PRIORITY, 0, 3, prio, 5);
    headers_ex(s, CLIENT, 3, F_PRIORITY | F_END_STREAM,
               ":method=GET|:path=/a", -1, 1);
    data(s, CLIENT, 1, F_END_STREAM, "body");
    headers(s, SERVER, 3, F_END_STREAM, ":status=200");
    headers_ex(s, SERVER, 1, F_PRIORITY, ":status=200", -1, 0);
    data(s, SERVER, 1, F_END_STREAM, "done");
}

/* Streams 1, 3 and 5 interleaved both ways. */
static void case_concurrent(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST);
    headers(s, CLIENT, 3, 0, REQ_POST);
    data(s, CLIENT, 1, 0, "one-a ");
    headers(s, CLIENT, 5, F_END_STREAM,
            ":method=GET|:scheme=https|:path=/v1/models");
    data(s, CLIENT, 3, 0, "three-a ");
    data(s, CLIENT, 1, F_END_STREAM, "one-b");
    headers(s, SERVER, 5, 0, ":status=200|content-type=application/json");
    data(s, CLIENT, 3, F_END_STREAM, "three-b");
    headers(s, SERVER, 3, 0, RESP_SSE);
    data(s, SERVER, 5, 0, "{\"data\":");
    headers(s, SERVER, 1, 0, RESP_SSE);
    data(s, SERVER, 3, 0, "data: 3a\n\n");
    data(s, SERVER, 1, 0, "data: 1a\n\n");
    data(s, SERVER, 5, F_END_STREAM, "[]}");
    data(s, SERVER, 1, 0, "data: 1b\n\n");
    data(s, SERVER, 3, F_END_STREAM, "data: 3b\n\n");
    data(s, SERVER, 1, F_END_STREAM, "");
}

/* Trailers: a second HEADERS with END_STREAM after DATA, both ways. */
static void case_trailers(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0,
            ":method=POST|:scheme=http|:path=/pkg.Svc/Call|te=trailers|"
            "content-type=application/grpc");
    data_ex(s, CLIENT, 1, 0, "\0\0\0\0\x02hi", 7, -1);
    headers(s, CLIENT, 1, F_END_STREAM, "x-checksum=abc");
    headers(s, SERVER, 1, 0,
            ":status=200|content-type=application/grpc");
    data_ex(s, SERVER, 1, 0, "\0\0\0\0\x03yes", 8, -1);
    headers_ex(s, SERVER, 1, F_END_STREAM,
               "grpc-status=0|grpc-message=OK", 2, 1);
}

/* Interim responses (100, 103) before the final one. */
static void case_interim(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST "|expect=100-continue");
    headers(s, SERVER, 1, 0, ":status=100");
    data(s, CLIENT, 1, F_END_STREAM, "{\"big\":true}");
    headers(s, SERVER, 1, 0,
            ":status=103|link=</style.css>; rel=preload; as=style");
    headers(s, SERVER, 1, 0, ":status=200|content-type=application/json");
    data(s, SERVER, 1, F_END_STREAM, "{\"ok\":1}");
}

/* RST_STREAM both ways, GOAWAY with and without debug data. */
static void case_reset_goaway(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST);
    headers(s, CLIENT, 3, F_END_STREAM, ":method=GET|:path=/");
    rst(s, CLIENT, 1, 8);
    headers(s, SERVER, 3, 0, ":status=200");
    data(s, SERVER, 3, 0, "partial");
    rst(s, SERVER, 3, 2);
    headers(s, CLIENT, 5, F_END_STREAM, ":method=GET|:path=/x");
    goaway(s, SERVER, 3, 0, "graceful shutdown, see you");
    rst(s, SERVER, 5, 7);
    goaway(s, CLIENT, 0, 0, "");
    goaway(s, SERVER, 0x7fffffffu, 11, "");
}

/* PUSH_PROMISE: its block goes through the server's encoder, so later
 * blocks refer to entries it added; it is decoded and not reported. */
static void case_push_promise(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM,
            ":method=GET|:scheme=https|:authority=h.example|:path=/");
    push_promise(s, 1, 2,
                 ":method=GET|:scheme=https|:authority=h.example|"
                 ":path=/style.css|x-pushed-marker=pushed-value-1234567",
                 -1, 0);
    push_promise(s, 1, 4,
                 ":method=GET|:scheme=https|:authority=h.example|"
                 ":path=/app.js|x-another-marker=another-value-987",
                 6, 2);
    headers(s, SERVER, 1, 0,
            ":status=200|x-pushed-marker=pushed-value-1234567|"
            "x-another-marker=another-value-987");
    data(s, SERVER, 1, F_END_STREAM, "<html>");
    headers(s, SERVER, 2, 0,
            ":status=200|content-type=text/css|"
            "x-pushed-marker=pushed-value-1234567");
    data(s, SERVER, 2, F_END_STREAM, "body{}");
    rst(s, CLIENT, 4, 8);
}

/* SETTINGS_HEADER_TABLE_SIZE: each side's announcement sizes the other
 * side's encoder (and our decoder of it): growth to 64 KiB lets an 8 KB
 * field be indexed, then the client shrinks the server's table to 0 mid-
 * connection and later to 100, and the server's announcement sizes the
 * client's encoder. */
static void case_table_size(struct script *s)
{
    static const uint32_t c_big[] = { 1, 65536 };
    static const uint32_t s_hts[] = { 1, 8192, 3, 100 };
    static const uint32_t c_zero[] = { 4, 65535, 1, 0 };
    static const uint32_t c_small[] = { 1, 100 };
    char *big = malloc(9000);
    char *spec = malloc(9100);
    int i;

    cr_assert_not_null(big);
    cr_assert_not_null(spec);
    for (i = 0; i < 8000; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    big[8000] = '\0';

    preface(s);
    settings(s, CLIENT, c_big, 1);
    settings(s, SERVER, s_hts, 2);
    settings_ack(s, CLIENT);
    settings_ack(s, SERVER);
    /* Each encoder learns the other side's setting. */
    cr_assert_eq(nghttp2_hd_deflate_change_table_size(s->def[SERVER],
                                                      65536), 0);
    cr_assert_eq(nghttp2_hd_deflate_change_table_size(s->def[CLIENT], 8192),
                 0);
    snprintf(spec, 9100, ":status=200|x-big=%s", big);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/1");
    headers(s, SERVER, 1, 0, spec);
    data(s, SERVER, 1, F_END_STREAM, "1");
    headers(s, CLIENT, 3, F_END_STREAM, ":method=GET|:path=/1");
    headers(s, SERVER, 3, F_END_STREAM, spec); /* x-big now an index */

    settings(s, CLIENT, c_zero, 2);
    settings_ack(s, SERVER);
    cr_assert_eq(nghttp2_hd_deflate_change_table_size(s->def[SERVER], 0),
                 0);
    headers(s, CLIENT, 5, F_END_STREAM, ":method=GET|:path=/1");
    headers(s, SERVER, 5, F_END_STREAM, spec);
    headers(s, SERVER, 5, F_END_STREAM, ":status=200|x-a=b");

    settings(s, CLIENT, c_small, 1);
    settings_ack(s, SERVER);
    cr_assert_eq(nghttp2_hd_deflate_change_table_size(s->def[SERVER], 100),
                 0);
    headers(s, CLIENT, 7, F_END_STREAM, ":method=GET|:path=/1");
    headers(s, SERVER, 7, 0, ":status=200|x-a=b");
    headers(s, SERVER, 7, F_END_STREAM, ":status=200|x-a=b");
    free(big);
    free(spec);
}

/* Unknown frame types, on stream 0 and on a stream, empty or not; unknown
 * SETTINGS; flags we do not know on known frames. */
static void case_unknown(struct script *s)
{
    static const uint32_t odd[] = { 0x99, 7, 8, 1, 0x4242, 0xffffffffu };

    open_conn(s);
    frame(s, CLIENT, 0xfa, 0xff, 0, "hello", 5);
    frame(s, CLIENT, 0x0b, 0, 1, NULL, 0);
    settings(s, CLIENT, odd, 3);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    frame(s, SERVER, 0x10, 0x3, 1, "\x01\x02\x03", 3);
    frame(s, SERVER, 0xff, 0, 0x7fffffffu, "zz", 2);
    settings_ack(s, SERVER);
    headers(s, SERVER, 1, 0, ":status=200");
    frame(s, SERVER, 0x0a, 0, 0, "altsvc-like", 11);
    data(s, SERVER, 1, F_END_STREAM, "fine");
}

/* One 1 MB DATA frame: passed through in pieces, never buffered (the
 * callback checks every piece lies inside the buffer being fed). */
static void case_big_data(struct script *s)
{
    size_t n = 1u << 20, i;
    unsigned char *b = malloc(n);

    cr_assert_not_null(b);
    for (i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 31 + (i >> 9));
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/big");
    headers(s, SERVER, 1, 0, ":status=200");
    data_ex(s, SERVER, 1, F_END_STREAM, b, n, -1);
    headers(s, CLIENT, 3, 0, ":method=PUT|:path=/big");
    data_ex(s, CLIENT, 3, F_END_STREAM, b, n - 1000, 255);
    free(b);
}

/* A header list whose decoded size passes the limit (1 MiB counted as
 * HPACK does): the fields past it are left out, the table stays right. */
static void case_fields_limit(struct script *s)
{
    static const uint32_t c_big[] = { 1, 65536 };
    char *big = malloc(40001);
    nghttp2_nv nv[40];
    at_h2_field f[40];
    unsigned char *blk;
    size_t blen, i, kept, size = 0;

    cr_assert_not_null(big);
    memset(big, 'v', 40000);
    big[40000] = '\0';
    preface(s);
    settings(s, CLIENT, c_big, 1);
    settings(s, SERVER, NULL, 0);
    cr_assert_eq(nghttp2_hd_deflate_change_table_size(s->def[SERVER],
                                                      65536), 0);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)"200", 7, 3,
                          NGHTTP2_NV_FLAG_NONE };
    for (i = 1; i < 40; i++)
        nv[i] = (nghttp2_nv){ (uint8_t *)"x-big", (uint8_t *)big, 5,
                              40000, NGHTTP2_NV_FLAG_NONE };
    for (i = 0, kept = 0; i < 40; i++) {
        size_t cost = nv[i].namelen + nv[i].valuelen + 32;

        f[i] = (at_h2_field){ (const char *)nv[i].name, nv[i].namelen,
                              (const char *)nv[i].value, nv[i].valuelen };
        if (size + cost <= 1024 * 1024) {
            size += cost;
            kept++;
        }
    }
    cr_assert_lt(kept, 40);
    blk = hblock_nv(s, SERVER, nv, 40, &blen);
    cr_assert_lt(blen, 40000); /* the copies are indexes */
    frame(s, SERVER, T_HEADERS, F_END_HEADERS, 1, blk, blen);
    expect_headers(s, SERVER, 1, f, kept, 0);
    free(blk);
    headers(s, SERVER, 1, F_END_STREAM, ":status=200|x-after=1");
    free(big);
}

/* Input that stops inside a header block, or inside a frame header: no
 * report, no failure. */
static void case_truncated(struct script *s)
{
    struct fields fs;
    unsigned char *blk;
    size_t blen;

    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    fields_parse(&fs, RESP_SSE);
    blk = hblock_nv(s, SERVER, fs.nv, fs.n, &blen);
    frame(s, SERVER, T_HEADERS, 0, 1, blk, blen);
    frame(s, SERVER, T_CONTINUATION, 0, 1, blk, 3);
    free(blk);
    free(fs.buf);
    put(s, CLIENT, "\0\0\x05\x01", 4);
}

/* A frame of `declared` bytes of which only the first ones are sent. */
static void case_truncated_data(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    headers(s, SERVER, 1, 0, ":status=200");
    frame_raw(s, SERVER, T_DATA, F_END_STREAM, 1, 100, "only some", 9);
    if (!s->dead)
        log_data(&s->expect, 1, SERVER, "only some", 9, 0);
}

/* ---- invalid input ------------------------------------------------------ */

static void case_bad_preface(struct script *s)
{
    put(s, CLIENT, "PRI * HTTP/2.0\r\n\r\nSM\r\n\n", 24);
    fail(s, CLIENT);
    settings(s, CLIENT, NULL, 0);
    settings(s, SERVER, NULL, 0);
}

static void case_http1_not_h2(struct script *s)
{
    put(s, CLIENT, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    fail(s, CLIENT);
}

/* The first frame after the preface is not SETTINGS. */
static void case_first_not_settings(struct script *s)
{
    preface(s);
    ping(s, CLIENT, 0);
    fail(s, CLIENT);
    settings(s, CLIENT, NULL, 0);
}

static void case_server_first_not_settings(struct script *s)
{
    preface(s);
    settings(s, CLIENT, NULL, 0);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    put(s, SERVER, "HTTP/1.1 200 OK\r\n\r\n", 19);
    fail(s, SERVER);
    headers(s, CLIENT, 3, F_END_STREAM, ":method=GET|:path=/");
}

/* Padding as long as the payload (pad length 5 in a 5-byte frame). */
static void case_pad_too_long_data(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST);
    data(s, CLIENT, 1, 0, "ok so far");
    frame(s, CLIENT, T_DATA, F_PADDED, 1, "\x05" "abcd", 5);
    fail(s, CLIENT);
    data(s, CLIENT, 1, F_END_STREAM, "never");
    headers(s, SERVER, 1, 0, ":status=200");
}

/* A PADDED DATA frame too short to hold its pad length. */
static void case_pad_empty_frame(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST);
    frame(s, CLIENT, T_DATA, F_PADDED | F_END_STREAM, 1, NULL, 0);
    fail(s, CLIENT);
}

/* HEADERS with PADDED and PRIORITY whose padding eats into the block. */
static void case_pad_too_long_headers(struct script *s)
{
    static const unsigned char pl[] = { 3, 0, 0, 0, 0, 16, 0x82, 0x84 };

    open_conn(s);
    frame(s, CLIENT, T_HEADERS, F_PADDED | F_PRIORITY | F_END_HEADERS, 1,
          pl, sizeof(pl));
    fail(s, CLIENT);
}

static void case_continuation_alone(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    frame(s, SERVER, T_CONTINUATION, F_END_HEADERS, 1, "\x88", 1);
    fail(s, SERVER);
    headers(s, SERVER, 1, F_END_STREAM, ":status=200");
}

/* A CONTINUATION after a block already ended. */
static void case_continuation_after_end(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    frame(s, CLIENT, T_CONTINUATION, F_END_HEADERS, 1, "\x84", 1);
    fail(s, CLIENT);
}

/* DATA inside a header block. */
static void case_block_interrupted_data(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    frame(s, SERVER, T_HEADERS, 0, 1, "\x88", 1);
    fail(s, SERVER);
    data(s, SERVER, 1, 0, "x");
    frame(s, SERVER, T_CONTINUATION, F_END_HEADERS, 1, "", 0);
}

/* PING inside a header block. */
static void case_block_interrupted_ping(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_HEADERS, F_END_STREAM, 1, "\x82", 1);
    ping(s, CLIENT, 0);
    fail(s, CLIENT);
}

/* An unknown frame type inside a header block (RFC 9113 section 5.5). */
static void case_block_interrupted_unknown(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_HEADERS, F_END_STREAM, 1, "\x82", 1);
    frame(s, CLIENT, 0xfa, 0, 0, NULL, 0);
    fail(s, CLIENT);
}

/* A CONTINUATION of another stream. */
static void case_continuation_wrong_stream(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_HEADERS, F_END_STREAM, 1, "\x82", 1);
    frame(s, CLIENT, T_CONTINUATION, F_END_HEADERS, 3, "\x84", 1);
    fail(s, CLIENT);
}

/* A HEADERS frame that starts a new block inside one. */
static void case_headers_in_block(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_HEADERS, 0, 1, "\x82", 1);
    frame(s, CLIENT, T_HEADERS, F_END_HEADERS, 1, "\x84", 1);
    fail(s, CLIENT);
}

/* HPACK that does not decode: index 0, then an index past both tables,
 * then a literal shorter than its length says. */
static void case_bad_hpack_zero(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, 0, REQ_POST);
    frame(s, SERVER, T_HEADERS, F_END_HEADERS, 1, "\x88\x80", 2);
    fail(s, SERVER);
    headers(s, SERVER, 3, 0, ":status=200");
    data(s, CLIENT, 1, F_END_STREAM, "x");
}

static void case_bad_hpack_index(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_HEADERS, F_END_HEADERS, 1, "\x82\xbf", 2);
    fail(s, CLIENT);
    data(s, CLIENT, 1, F_END_STREAM, "x");
}

static void case_bad_hpack_short(struct script *s)
{
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    frame(s, SERVER, T_HEADERS, F_PADDED | F_END_HEADERS, 1,
          "\x02\x40\x05" "ab\0\0", 7);
    fail(s, SERVER);
}

/* A table size update above what the peer allowed (no SETTINGS). */
static void case_bad_hpack_table_size(struct script *s)
{
    open_conn(s);
    /* 0x3f 80 20: dynamic table size update to 31 + 4096 = 4127 */
    frame(s, CLIENT, T_HEADERS, F_END_HEADERS, 1, "\x3f\x80\x20\x82", 4);
    fail(s, CLIENT);
}

/* A header block over the 256 KiB limit, in 16 KiB frames. */
static void case_block_too_big(struct script *s)
{
    unsigned char *junk = calloc(1, 16384);
    int i;

    cr_assert_not_null(junk);
    open_conn(s);
    headers(s, CLIENT, 1, F_END_STREAM, ":method=GET|:path=/");
    frame(s, SERVER, T_HEADERS, 0, 1, junk, 16384);
    for (i = 0; i < 16; i++)
        frame(s, SERVER, T_CONTINUATION, 0, 1, junk, 16384);
    frame(s, SERVER, T_CONTINUATION, F_END_HEADERS, 1, junk, 1);
    fail(s, SERVER);
    free(junk);
}

static void case_rst_bad_length(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_RST_STREAM, 0, 1, "\0\0\0\x08\0", 5);
    fail(s, CLIENT);
}

static void case_settings_bad_length(struct script *s)
{
    open_conn(s);
    frame(s, SERVER, T_SETTINGS, 0, 0, "\0\x01\0\0\0\0\0", 7);
    fail(s, SERVER);
}

static void case_settings_ack_payload(struct script *s)
{
    open_conn(s);
    frame(s, SERVER, T_SETTINGS, F_ACK, 0, "\0\x01\0\0\0\0", 6);
    fail(s, SERVER);
}

static void case_goaway_short(struct script *s)
{
    open_conn(s);
    frame(s, SERVER, T_GOAWAY, 0, 0, "\0\0\0\x01", 4);
    fail(s, SERVER);
}

static void case_data_stream_zero(struct script *s)
{
    open_conn(s);
    frame(s, SERVER, T_DATA, 0, 0, "x", 1);
    fail(s, SERVER);
}

static void case_headers_stream_zero(struct script *s)
{
    open_conn(s);
    frame(s, CLIENT, T_HEADERS, F_END_HEADERS, 0, "\x82", 1);
    fail(s, CLIENT);
}

struct h2_case {
    const char *name;
    void (*build)(struct script *);
};

#define CASE(n) { #n, case_##n }
static const struct h2_case h2_cases[] = {
    CASE(basic),
    CASE(dynamic_table),
    CASE(continuation),
    CASE(padded),
    CASE(priority),
    CASE(concurrent),
    CASE(trailers),
    CASE(interim),
    CASE(reset_goaway),
    CASE(push_promise),
    CASE(table_size),
    CASE(unknown),
    CASE(big_data),
    CASE(fields_limit),
    CASE(truncated),
    CASE(truncated_data),
    CASE(bad_preface),
    CASE(http1_not_h2),
    CASE(first_not_settings),
    CASE(server_first_not_settings),
    CASE(pad_too_long_data),
    CASE(pad_empty_frame),
    CASE(pad_too_long_headers),
    CASE(continuation_alone),
    CASE(continuation_after_end),
    CASE(block_interrupted_data),
    CASE(block_interrupted_ping),
    CASE(block_interrupted_unknown),
    CASE(continuation_wrong_stream),
    CASE(headers_in_block),
    CASE(bad_hpack_zero),
    CASE(bad_hpack_index),
    CASE(bad_hpack_short),
    CASE(bad_hpack_table_size),
    CASE(block_too_big),
    CASE(rst_bad_length),
    CASE(settings_bad_length),
    CASE(settings_ack_payload),
    CASE(goaway_short),
    CASE(data_stream_zero),
    CASE(headers_stream_zero),
};
#define N_CASES (sizeof(h2_cases) / sizeof(h2_cases[0]))

/* ---- feeding ------------------------------------------------------------ */

enum split_mode { SPLIT_WHOLE, SPLIT_ONE, SPLIT_AT, SPLIT_RANDOM };

/* rng_next: xorshift32, for reproducible random splits. */
static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* feed_one: feed one piece (copied into its own exact allocation); after
 * a failure every call must return -1 and log nothing. */
static void feed_one(at_h2 *h, struct log *l, int c, const unsigned char *p,
                     size_t n)
{
    char *piece = malloc(n ? n : 1);
    int rc;

    cr_assert_not_null(piece);
    memcpy(piece, p, n);
    l->cur = piece;
    l->cur_len = n;
    rc = at_h2_feed(h, c, piece, n);
    if (l->failed) {
        cr_assert_eq(rc, -1, "feed after failure returned %d", rc);
    } else if (rc != 0) {
        cr_assert_eq(rc, -1);
        log_fail(l, c);
    }
    cr_assert_eq(at_h2_failed(h), l->failed);
    l->cur = NULL;
    free(piece);
}

/* run: feed script `s` cut by `mode` (`arg`: the cut for SPLIT_AT, counted
 * over the whole script; the seed for SPLIT_RANDOM).  Whole means one call
 * per run of one side's bytes.  Returns the log, of *len bytes (caller
 * frees). */
static char *run(const struct script *s, enum split_mode mode, uint32_t arg,
                 size_t *len)
{
    struct log l;
    at_h2 *h = at_h2_new(&test_cb, &l);
    uint32_t rng = arg ? arg : 1;
    size_t i, at = 0;

    cr_assert_not_null(h);
    memset(&l, 0, sizeof(l));
    log_add(&l, "", 0);
    for (i = 0; i < s->n; i++) {
        const struct seg *g = &s->seg[i];
        size_t pos = 0;

        while (pos < g->len) {
            size_t size;

            switch (mode) {
            case SPLIT_ONE:
                size = 1;
                break;
            case SPLIT_AT:
                size = at + pos < arg ? arg - (at + pos) : g->len - pos;
                break;
            case SPLIT_RANDOM:
                size = 1 + rng_next(&rng) % 12;
                if (rng_next(&rng) % 4 == 0)
                    size += rng_next(&rng) % 5000;
                break;
            default:
                size = g->len;
                break;
            }
            if (size > g->len - pos)
                size = g->len - pos;
            feed_one(h, &l, g->c, g->p + pos, size);
            pos += size;
        }
        at += g->len;
    }
    /* Nothing may come out of a failed connection, either side. */
    if (l.failed) {
        static const unsigned char more[9] = { 0, 0, 0, 4 };

        feed_one(h, &l, CLIENT, more, 9);
        feed_one(h, &l, SERVER, more, 9);
    }
    at_h2_feed(h, CLIENT, NULL, 0);
    log_close(&l);
    at_h2_del(h);
    *len = l.len;
    return l.p;
}

/* show: up to 200 bytes of p[0 .. n) from `at`, printable, in `out`. */
static const char *show(char *out, const char *p, size_t n, size_t at)
{
    size_t i, o = 0;

    for (i = at; i < n && i < at + 200; i++) {
        unsigned char ch = (unsigned char)p[i];

        o += (size_t)snprintf(out + o, 8, ch >= 32 && ch < 127 ? "%c"
                                          : ch == '\n' ? "\n" : "\\x%02x",
                              ch);
    }
    out[o] = '\0';
    return out;
}

/* check_log: `got` (n bytes) must equal the expected log. */
static void check_log(const char *name, const char *how, const char *got,
                      size_t n, const struct log *want)
{
    char a[1700], b[1700];
    size_t i, from;

    if (n == want->len && memcmp(got, want->p, n) == 0)
        return;
    for (i = 0; i < n && i < want->len && got[i] == want->p[i]; i++)
        ;
    from = i > 60 ? i - 60 : 0;
    cr_assert_fail("%s fed %s: logs differ at byte %zu (%zu, want %zu)\n"
                   "got:  %s\nwant: %s",
                   name, how, i, n, want->len, show(a, got, n, from),
                   show(b, want->p, want->len, from));
}

ParameterizedTestParameters(h2, feed)
{
    static int idx[N_CASES];
    size_t i;

    for (i = 0; i < N_CASES; i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, N_CASES);
}

ParameterizedTest(int *ip, h2, feed, .timeout = 300)
{
    const struct h2_case *k = &h2_cases[*ip];
    struct script s;
    size_t total, cut;
    uint32_t seed;
    char *got, how[64];
    size_t n;

    script_init(&s);
    k->build(&s);
    log_close(&s.expect);
    log_add(&s.expect, "", 0);
    total = script_size(&s);

    got = run(&s, SPLIT_WHOLE, 0, &n);
    check_log(k->name, "whole", got, n, &s.expect);
    free(got);
    got = run(&s, SPLIT_ONE, 0, &n);
    check_log(k->name, "byte by byte", got, n, &s.expect);
    free(got);
    for (seed = 1; seed <= 8; seed++) {
        got = run(&s, SPLIT_RANDOM, seed * 2654435761u, &n);
        snprintf(how, sizeof(how), "in random pieces (seed %u)", seed);
        check_log(k->name, how, got, n, &s.expect);
        free(got);
    }
    if (total <= SMALL_SCRIPT) {
        for (cut = 1; cut < total; cut++) {
            got = run(&s, SPLIT_AT, (uint32_t)cut, &n);
            snprintf(how, sizeof(how), "cut at %zu", cut);
            check_log(k->name, how, got, n, &s.expect);
            free(got);
        }
    }
    script_free(&s);
}

/* The expected logs are not empty, and the failing cases fail: guards
 * against a script builder that silently logs nothing. */
Test(h2, cases_say_something)
{
    size_t i;

    for (i = 0; i < N_CASES; i++) {
        struct script s;

        script_init(&s);
        h2_cases[i].build(&s);
        cr_assert(s.expect.len > 0, "%s expects nothing",
                  h2_cases[i].name);
        script_free(&s);
    }
}

/* A decoder without callbacks decodes and reports nothing; del(NULL). */
Test(h2, no_callbacks)
{
    struct script s;
    at_h2 *h = at_h2_new(NULL, NULL);
    size_t i;

    cr_assert_not_null(h);
    script_init(&s);
    case_push_promise(&s);
    case_reset_goaway(&s);
    for (i = 0; i < s.n; i++)
        cr_assert_eq(at_h2_feed(h, s.seg[i].c, (const char *)s.seg[i].p,
                                s.seg[i].len),
                     0);
    cr_assert_eq(at_h2_failed(h), 0);
    at_h2_del(h);
    at_h2_del(NULL);
    script_free(&s);
}

/* The fields of a block are handed over as the encoder sent them, in
 * order, with their exact bytes (NUL and 0xff included). */
Test(h2, field_bytes)
{
    struct script s;
    struct log l;
    at_h2 *h;
    static const nghttp2_nv nv[2] = {
        { (uint8_t *)":status", (uint8_t *)"200", 7, 3,
          NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"x-bin", (uint8_t *)"a\0b\xff", 5, 4,
          NGHTTP2_NV_FLAG_NONE },
    };
    unsigned char *blk;
    size_t blen, i;

    script_init(&s);
    preface(&s);
    settings(&s, CLIENT, NULL, 0);
    settings(&s, SERVER, NULL, 0);
    blk = hblock_nv(&s, SERVER, nv, 2, &blen);
    frame(&s, SERVER, T_HEADERS, F_END_HEADERS, 1, blk, blen);
    free(blk);
    memset(&l, 0, sizeof(l));
    h = at_h2_new(&test_cb, &l);
    cr_assert_not_null(h);
    for (i = 0; i < s.n; i++)
        feed_one(h, &l, s.seg[i].c, s.seg[i].p, s.seg[i].len);
    cr_assert_eq(l.len, strlen("H c=0 s=1: :status=200 x-bin=a") + 4);
    cr_assert_eq(memcmp(l.p, "H c=0 s=1: :status=200 x-bin=a\0b\xff\n",
                        l.len),
                 0);
    at_h2_del(h);
    free(l.p);
    script_free(&s);
}
