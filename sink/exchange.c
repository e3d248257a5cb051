/* exchange.c - HTTP/1.1 reassembly: a connection's byte streams become
 * request/response exchanges.  Sink thread only.
 *
 * The request side (bytes the host sent) parses heads and bodies and queues
 * each finished request; the response side takes responses in order,
 * skipping interim 1xx heads, and feeds each body through the transfer
 * decoding (chunked), the content decoding (gzip, deflate) and, for a model
 * stream, the SSE parser and the provider's stream decoder.  Bodies that
 * nobody needs (an HTML page, a download) are not kept; when their length is
 * known the hooks are told to stop copying them at all.
 */
#include "internal.h"
#include "preload/log.h"
#include "decode/swar.h"
#include "sink/ids.h"
#include "sink/salvage.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEAD (64u * 1024u)
#define MAX_HEADERS 128
#define MAX_SSE_EVENT (16u * 1024u * 1024u)

void at_exch_del(at_exch *e)
{
    if (e == NULL)
        return;
    free(e->target);
    at_buf_free(&e->req_body);
    at_buf_free(&e->resp_body);
    at_buf_free(&e->req_tail);
    at_buf_free(&e->resp_tail);
    if (e->attrs) {
        at_attrs_free(e->attrs);
        free(e->attrs);
    }
    at_enc_del(e->enc);
    if (e->sse_on)
        at_sse_free(&e->sse);
    if (e->nd_on)
        at_ndjson_free(&e->nd);
    at_llm_stream_del(e->stream);
    free(e);
}

/* Keep body bytes up to the limit, and past it their last bytes. */
static void keep(at_buf *body, at_buf *tail, const char *p, size_t n)
{
    at_buf_append(body, p, n);
    if (body->truncated)
        at_salvage_tail(tail, p, n);
}

/* What a spare exchange keeps of each buffer, and of its attribute
 * list's values: the memory an ordinary exchange asks for, not a large
 * body's. */
#define SPARE_KEEP (64u << 10)

static void keep_or_free(at_buf *b)
{
    if (b->cap > SPARE_KEEP)
        at_buf_free(b);
    else
        at_buf_reset(b);
}

/* `e` is done: keep it as the sink's spare (one), so that the next
 * exchange gets its body buffers and attribute list with their memory
 * instead of allocating them again; the rest goes as at_exch_del frees
 * it. */
static void recycle(at_sink *s, at_exch *e)
{
    if (s->spare != NULL) {
        at_exch_del(e);
        return;
    }
    free(e->target);
    e->target = NULL;
    keep_or_free(&e->req_body);
    keep_or_free(&e->resp_body);
    keep_or_free(&e->req_tail);
    keep_or_free(&e->resp_tail);
    if (e->attrs)
        at_attrs_clear(e->attrs, SPARE_KEEP);
    at_enc_del(e->enc);
    e->enc = NULL;
    if (e->sse_on)
        at_sse_free(&e->sse);
    e->sse_on = 0;
    if (e->nd_on)
        at_ndjson_free(&e->nd);
    e->nd_on = 0;
    at_llm_stream_del(e->stream);
    e->stream = NULL;
    s->spare = e;
}

/* A zeroed exchange: the spare one (its buffers and attribute list kept,
 * empty) or a new one. */
static at_exch *exch_alloc(at_sink *s)
{
    at_exch *e = s->spare;
    at_buf bufs[4];
    at_attrs *attrs;

    if (e == NULL)
        return calloc(1, sizeof(*e));
    s->spare = NULL;
    bufs[0] = e->req_body;
    bufs[1] = e->resp_body;
    bufs[2] = e->req_tail;
    bufs[3] = e->resp_tail;
    attrs = e->attrs;
    memset(e, 0, sizeof(*e));
    e->req_body = bufs[0];
    e->resp_body = bufs[1];
    e->req_tail = bufs[2];
    e->resp_tail = bufs[3];
    e->attrs = attrs;
    return e;
}

/* at_buf_init, keeping the memory a spare exchange's buffer has */
static void buf_init(at_buf *b, size_t max)
{
    if (b->p == NULL) {
        at_buf_init(b, max);
    } else {
        at_buf_reset(b);
        b->max = max;
    }
}

void at_sx_spare_del(at_sink *s)
{
    at_exch_del(s->spare);
    s->spare = NULL;
}

static void nd_line(void *ud, const char *line, size_t len);

static void finish(at_sink *s, at_exch *e)
{
    if (e->nd_on) {   /* a last line without its newline */
        s->cur_exch = e;
        at_ndjson_finish(&e->nd, nd_line, s);
        s->cur_exch = NULL;
    }
    e->t_end = s->now;
    at_sink_exchange_done(s, e);
    recycle(s, e);
}

static void queue_push(at_sconn *c, at_exch *e)
{
    e->next = NULL;
    if (c->qtail)
        c->qtail->next = e;
    else
        c->qhead = e;
    c->qtail = e;
}

static at_exch *queue_pop(at_sconn *c)
{
    at_exch *e = c->qhead;

    if (e) {
        c->qhead = e->next;
        if (c->qhead == NULL)
            c->qtail = NULL;
        e->next = NULL;
    }
    return e;
}

static inline int ends_type(char ch)
{
    return ch == ';' || ch == ' ' || ch == '\t';
}

/* Media type of a Content-Type value, lowercased, without parameters. */
static void media_type(const char *v, size_t vlen, char *out, size_t cap)
{
    size_t n = 0, lim = vlen < cap - 1 ? vlen : cap - 1;

    if (v == NULL)
        lim = 0;
    for (; n + 8 <= lim; n += 8) {   /* eight bytes at a time */
        uint64_t w = at_load8(v + n);

        if (at_has_byte(w, ';') | at_has_byte(w, ' ') | at_has_byte(w, '\t'))
            break;
        w = at_lower8(w);
        memcpy(out + n, &w, 8);
    }
    for (; n < lim && !ends_type(v[n]); n++)
        out[n] = (char)(v[n] >= 'A' && v[n] <= 'Z' ? v[n] + 32 : v[n]);
    out[n] = '\0';
}

static int is_json_type(const char *mt)
{
    size_t n = strlen(mt);

    return !strcmp(mt, "application/json") ||
           (n > 5 && !strcmp(mt + n - 5, "+json")) ||
           !strcmp(mt, "application/x-ndjson");
}

void at_sx_ignore(at_sink *s, at_sconn *c, const char *why)
{
    at_exch *e;

    if (c->mode == AT_MODE_IGNORED)
        return;
    at_log("connection %llu (%s:%u): not decoded: %s",
           (unsigned long long)c->id, c->info.sni[0] ? c->info.sni
                                                     : c->info.addr,
           c->info.port, why);
    if (c->h2)
        at_h2conn_end(c->h2, "truncated", 0);
    c->mode = AT_MODE_IGNORED;
    s->stats.ignored++;
    if (s->o.advise)
        s->o.advise(s->o.ud, c->slot, c->id, UINT64_MAX);
    /* Exchanges in flight end here; nothing more will be seen of them. */
    if (c->resp) {
        c->resp->error_type = c->resp->error_type ? c->resp->error_type
                                                  : "truncated";
        finish(s, c->resp);
        c->resp = NULL;
    }
    while ((e = queue_pop(c)) != NULL) {
        e->error_type = "truncated";
        finish(s, e);
    }
    at_exch_del(c->req);
    c->req = NULL;
    at_buf_free(&c->head[0]);
    at_buf_free(&c->head[1]);
}

void at_sx_desync(at_sink *s, at_sconn *c)
{
    s->stats.desyncs++;
    if (c->h2)
        at_h2conn_end(c->h2, "truncated", 1);
    if (c->resp)
        c->resp->desync = 1;
    for (at_exch *e = c->qhead; e; e = e->next)
        e->desync = 1;
    at_sx_ignore(s, c, "bytes were lost (capture ring full)");
}

/* route_of: at_llm_route_find, remembered for the last method, host and
 * path seen by this sink (a client mostly calls one endpoint). */
static void route_of(at_sink *s, const char *method, const char *host,
                     const char *path, at_llm_route *r)
{
    char key[sizeof(s->route_memo.key)];
    size_t a = method != NULL ? strlen(method) + 1 : 0;
    size_t b = host != NULL ? strlen(host) + 1 : 0, c = strlen(path) + 1;
    size_t n = 1 + a + b + c;

    if (method == NULL || n > sizeof(key)) {
        at_llm_route_find(method, host, path, r);
        return;
    }
    key[0] = host != NULL;
    memcpy(key + 1, method, a);
    if (host != NULL)
        memcpy(key + 1 + a, host, b);
    memcpy(key + 1 + a + b, path, c);
    if (s->route_memo.len == n && memcmp(s->route_memo.key, key, n) == 0) {
        *r = s->route_memo.route;
        return;
    }
    at_llm_route_find(method, host, path, r);
    memcpy(s->route_memo.key, key, n);
    s->route_memo.len = n;
    s->route_memo.route = *r;
}

/* ---- request side ------------------------------------------------------ */

/* port_of: the decimal number from p on (before end), read as strtol
 * would (spaces and a '+' before it; stops at the first other byte), or -1
 * when there is none or it is negative; at most 65536 (too large). */
static long port_of(const char *p, const char *end)
{
    long v = 0;
    int any = 0;

    while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
        p++;
    if (p < end && *p == '+')
        p++;
    for (; p < end && *p >= '0' && *p <= '9'; p++, any = 1)
        if ((v = v * 10 + (*p - '0')) > 65536)
            v = 65536;
    return any ? v : -1;
}

static void host_port(at_exch *e, const at_sconn *c, const char *v, size_t n)
{
    size_t hl;
    const char *colon;

    e->port = c->info.port ? c->info.port : (e->tls ? 443 : 80);
    if (v && n > 0 && n < sizeof(e->host)) {
        if (v[0] == '[') {  /* [v6]:port */
            const char *rb = memchr(v, ']', n);

            hl = rb ? (size_t)(rb - v) + 1 : n;
            colon = rb && (size_t)(rb - v) + 1 < n && rb[1] == ':' ? rb + 1
                                                                  : NULL;
        } else {
            colon = memchr(v, ':', n);
            hl = colon ? (size_t)(colon - v) : n;
        }
        memcpy(e->host, v, hl);
        e->host[hl] = '\0';
        if (colon) {
            long p = port_of(colon + 1, v + n);

            if (p > 0 && p < 65536)
                e->port = (int)p;
        } else {
            e->port = e->tls ? 443 : 80;
        }
    } else if (c->info.sni[0]) {
        strcpy(e->host, c->info.sni);
    } else {
        strcpy(e->host, c->info.addr);
    }
}

at_exch *at_sx_exch_new(at_sink *s, at_sconn *c, const char *method,
                        size_t mlen, const char *target, size_t tlen,
                        const char *host, size_t hostlen, const char *ctype,
                        size_t ctlen)
{
    at_exch *e = exch_alloc(s);
    char path[2048], mt[128];
    size_t pl, ml;

    if (e == NULL)
        return NULL;
    if (target == NULL)
        tlen = 0;
    e->target = malloc(tlen + 1);
    if (e->target == NULL) {
        at_exch_del(e);
        return NULL;
    }
    if (tlen)
        memcpy(e->target, target, tlen);
    e->target[tlen] = '\0';
    ml = method == NULL ? 0 : mlen < sizeof(e->method) ? mlen
                                                       : sizeof(e->method) - 1;
    if (ml)
        memcpy(e->method, method, ml);
    e->method[ml] = '\0';
    e->conn = c->id;
    e->transport = c->transport;
    e->tls = c->info.tls;
    e->h2 = c->info.alpn_len == 2 && !memcmp(c->info.alpn, "h2", 2);
    host_port(e, c, host, hostlen);
    e->t_req_start = s->now;
    e->span_id = at_ids_span();
    e->parent_id = at_sink_current_parent(s);
    /* path without query; absolute-form targets keep only their path */
    {
        const char *t = e->target, *q;

        if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0) {
            const char *sl = strchr(strstr(t, "//") + 2, '/');

            t = sl ? sl : "/";
        }
        q = strpbrk(t, "?#");
        pl = q ? (size_t)(q - t) : strlen(t);
        if (pl >= sizeof(path))
            pl = sizeof(path) - 1;
        memcpy(path, t, pl);
        path[pl] = '\0';
    }
    route_of(s, e->method, e->host, path, &e->route);
    media_type(ctype, ctlen, mt, sizeof(mt));
    e->req_json = is_json_type(mt);
    e->keep_req = e->route.api != AT_API_NONE ||
                  (s->o.capture_content && e->req_json);
    buf_init(&e->req_body, s->o.max_body);
    buf_init(&e->resp_body, s->o.max_body);
    buf_init(&e->req_tail, 2 * AT_SALVAGE_TAIL);
    buf_init(&e->resp_tail, 2 * AT_SALVAGE_TAIL);
    return e;
}

/* HV: a header's value and length, or NULL and 0 (h is evaluated twice:
 * a variable, not a look-up). */
#define HV(h) ((h) ? (h)->value : NULL), ((h) ? (h)->value_len : 0)

static at_exch *request_start(at_sink *s, at_sconn *c,
                              const at_h1_request *rq)
{
    const at_h1_header *host =
        at_h1_find_header(rq->headers, rq->num_headers, "host");
    const at_h1_header *ctype =
        at_h1_find_header(rq->headers, rq->num_headers, "content-type");
    at_exch *e = at_sx_exch_new(s, c, rq->method, rq->method_len,
                                rq->target, rq->target_len, HV(host),
                                HV(ctype));

    if (e) {
        e->t_req_start = c->head_t0[0];
        /* a libcurl transfer is one exchange, begun when the application
         * called libcurl (the OPEN record's time) */
        if (c->transport == AT_TRANSPORT_LIBCURL && c->t_open &&
            c->t_open < e->t_req_start)
            e->t_req_start = c->t_open;
    }
    return e;
}

void at_sx_req_body(at_sink *s, at_exch *e, const char *p, size_t n)
{
    (void)s;
    if (e->keep_req)
        keep(&e->req_body, &e->req_tail, p, n);
}

void at_sx_req_done(at_sink *s, at_exch *e)
{
    e->t_req_end = s->now;
    at_sink_request_done(s, e);
}

void at_sx_exch_finish(at_sink *s, at_exch *e)
{
    finish(s, e);
}

static void request_done(at_sink *s, at_sconn *c)
{
    at_exch *e = c->req;

    c->req = NULL;
    c->rstate = AT_RS_HEAD;
    if (e == NULL)
        return;
    at_sx_req_done(s, e);
    queue_push(c, e);
}

/* still_open: whether the head of direction `dir`, which parsed as an
 * unfinished one before the last `added` bytes came, is still unfinished:
 * no blank line among those bytes (or just before them).  libcurl hands
 * over a response head a line at a time; parsing it all again for every
 * line cost more than the rest of the exchange. */
static int still_open(const at_sconn *c, int dir, size_t added)
{
    const at_buf *h = &c->head[dir];
    size_t from = h->len - added, i;

    if (!c->head_more[dir] || h->len >= MAX_HEAD)
        return 0;
    i = from > 2 ? from - 2 : 0;
    while (i < h->len) {
        const char *nl = memchr(h->p + i, '\n', h->len - i);

        if (nl == NULL)
            return 1;
        i = (size_t)(nl - h->p) + 1;
        if (i < h->len && (h->p[i] == '\n' ||
                           (h->p[i] == '\r' && i + 1 < h->len &&
                            h->p[i + 1] == '\n')))
            return 0;
    }
    return 1;
}

/* Consume request body bytes; returns how many were consumed. */
static size_t request_body(at_sink *s, at_sconn *c, char *p, size_t n)
{
    at_exch *e = c->req;

    if (c->rkind == AT_H1_BODY_LENGTH) {
        size_t k = n < c->rremain ? n : (size_t)c->rremain;

        if (e)
            at_sx_req_body(s, e, p, k);
        c->rremain -= k;
        if (c->rremain == 0)
            request_done(s, c);
        return k;
    }
    /* chunked */
    {
        size_t len = n;
        ssize_t rest = at_h1_chunked_decode(&c->rchunk, p, &len);

        if (rest == AT_H1_ERROR) {
            at_sx_ignore(s, c, "malformed chunked request body");
            return n;
        }
        if (e)
            at_sx_req_body(s, e, p, len);
        if (rest == AT_H1_NEED_MORE)
            return n;
        request_done(s, c);
        return n - (size_t)rest;
    }
}

static int looks_like_method(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n && i < 16; i++) {
        if (p[i] == ' ')
            return i > 0 ? 1 : 0;
        if (!((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-' || p[i] == '_'))
            return 0;
    }
    return i < 16 ? 2 : 0;   /* 2: can't tell yet */
}

/* Switch connection `c` to HTTP/2 (ALPN said h2, or the preface came). */
int at_sx_h2(at_sink *s, at_sconn *c)
{
    c->h2 = at_h2conn_new(s, c);
    if (c->h2 == NULL) {
        at_sx_ignore(s, c, "out of memory for HTTP/2");
        return -1;
    }
    c->mode = AT_MODE_H2;
    return 0;
}

static void h2_feed(at_sink *s, at_sconn *c, int from_client, const char *p,
                    size_t n)
{
    if (at_h2conn_feed(c->h2, from_client, p, n) < 0)
        at_sx_ignore(s, c, "malformed HTTP/2 (decoding stopped)");
}

void at_sx_out(at_sink *s, at_sconn *c, char *p, size_t n)
{
    if (c->mode == AT_MODE_H2) {
        h2_feed(s, c, 1, p, n);
        return;
    }
    while (n > 0 && c->mode != AT_MODE_IGNORED) {
        if (c->rstate == AT_RS_HEAD) {
            at_h1_header hdrs[MAX_HEADERS];
            at_h1_request rq;
            at_buf *h = &c->head[0];
            size_t extra, take;
            int r;
            uint64_t len;

            if (h->len == 0)
                c->head_t0[0] = s->now;
            take = n < MAX_HEAD - h->len ? n : MAX_HEAD - h->len;
            if (at_buf_append(h, p, take) < 0) {
                at_sx_ignore(s, c, "out of memory for a request head");
                return;
            }
            if (c->mode == AT_MODE_NEW &&
                !memcmp(h->p, "PRI ", h->len < 4 ? h->len : 4)) {
                char first[4];
                size_t k = h->len;

                if (k < 4)
                    return;   /* could still be the HTTP/2 preface */
                /* It is: hand what was gathered to the HTTP/2 decoder. */
                memcpy(first, h->p, 4);
                at_buf_reset(h);
                if (at_sx_h2(s, c) < 0)
                    return;
                h2_feed(s, c, 1, first, 4);
                if (k - take < 4) {
                    /* the rest of this record, after what the head held */
                    size_t held = k - take, used = 4 - held;

                    h2_feed(s, c, 1, p + used, n - used);
                }
                return;
            }
            if (h->len >= 2 && h->p[0] == 0x16 && h->p[1] == 0x03) {
                at_sx_ignore(s, c, "TLS (its plaintext is captured above "
                                   "the socket, if at all)");
                return;
            }
            if (looks_like_method(h->p, h->len) == 0) {
                at_sx_ignore(s, c, "not HTTP/1.x");
                return;
            }
            memset(&rq, 0, sizeof(rq));
            rq.headers = hdrs;
            rq.num_headers = MAX_HEADERS;
            r = still_open(c, 0, take) ? AT_H1_NEED_MORE
                                       : at_h1_parse_request(h->p, h->len,
                                                             &rq);
            c->head_more[0] = r == AT_H1_NEED_MORE;
            if (r == AT_H1_NEED_MORE && h->len >= MAX_HEAD) {
                at_sx_ignore(s, c, "request head over 64 KiB");
                return;
            }
            if (r == AT_H1_NEED_MORE)
                return;
            if (r < 0) {
                at_sx_ignore(s, c, "not an HTTP/1.x request");
                return;
            }
            c->mode = AT_MODE_H1;
            extra = h->len - (size_t)r;   /* body bytes taken with the head */
            c->req = request_start(s, c, &rq);
            c->rkind = at_h1_request_body(&rq, &len);
            at_buf_reset(h);
            p += take - extra;
            n -= take - extra;
            if (c->req == NULL) {
                at_sx_ignore(s, c, "out of memory");
                return;
            }
            if (c->rkind == AT_H1_BODY_INVALID) {
                at_sx_ignore(s, c, "invalid request body framing");
                return;
            }
            if (c->rkind == AT_H1_BODY_NONE ||
                (c->rkind == AT_H1_BODY_LENGTH && len == 0)) {
                request_done(s, c);
                continue;
            }
            c->rstate = AT_RS_BODY;
            c->rremain = len;
            at_h1_chunked_init(&c->rchunk);
        } else {
            size_t k = request_body(s, c, p, n);

            p += k;
            n -= k;
        }
    }
}

/* ---- response side ----------------------------------------------------- */

static void sse_event(void *ud, const char *ev, size_t evlen,
                      const char *data, size_t dlen)
{
    at_sink *s = ud;
    at_exch *e = s->cur_exch;

    if (e->stream && at_llm_stream_event(e->stream, ev, evlen, data, dlen) == 1
        && e->t_first_chunk == 0)
        e->t_first_chunk = s->now;
}

static void nd_line(void *ud, const char *line, size_t len)
{
    at_sink *s = ud;
    at_exch *e = s->cur_exch;

    if (e->stream && at_llm_stream_event(e->stream, "", 0, line, len) == 1
        && e->t_first_chunk == 0)
        e->t_first_chunk = s->now;
}

static void body_decoded(void *ud, const char *data, size_t len)
{
    at_sink *s = ud;
    at_exch *e = s->cur_exch;

    e->resp_bytes += len;
    if (e->route.stream && !e->sse_on && !e->nd_on && len &&
        e->t_first_chunk == 0)
        e->t_first_chunk = s->now;   /* a streamed JSON array's first bytes */
    if (e->sse_on)
        at_sse_feed(&e->sse, data, len, sse_event, s);
    else if (e->nd_on)
        at_ndjson_feed(&e->nd, data, len, nd_line, s);
    else if (e->keep_resp)
        keep(&e->resp_body, &e->resp_tail, data, len);
}

void at_sx_resp_body(at_sink *s, at_exch *e, const char *p, size_t n)
{
    if (n == 0 || (!e->keep_resp && !e->sse_on && !e->nd_on))
        return;
    s->cur_exch = e;
    if (e->enc) {
        if (!e->enc_failed && at_enc_feed(e->enc, p, n, body_decoded, s) < 0)
            e->enc_failed = 1;
    } else if (!e->undecoded) {
        body_decoded(s, p, n);
    }
    s->cur_exch = NULL;
}

static void response_done(at_sink *s, at_sconn *c)
{
    at_exch *e = c->resp;

    c->resp = NULL;
    c->sstate = AT_SS_HEAD;
    if (e)
        finish(s, e);
}

void at_sx_resp_begin(at_sink *s, at_exch *e, int status, const char *ctype,
                      size_t ctlen, const char *cenc, size_t celen)
{
    char mt[128];

    e->t_resp_start = e->t_resp_start ? e->t_resp_start : s->now;
    e->status = status;
    media_type(ctype, ctlen, mt, sizeof(mt));
    e->resp_json = is_json_type(mt);
    if (e->route.api != AT_API_NONE) {
        e->keep_resp = 1;
        if (!strcmp(mt, "text/event-stream") && e->status < 300) {
            e->resp_sse = 1;
            e->stream = at_llm_stream_new(e->route.api);
            at_sse_init(&e->sse, MAX_SSE_EVENT);
            e->sse_on = 1;
            e->keep_resp = 0;
        } else if (!strcmp(mt, "application/x-ndjson") && e->status < 300) {
            e->resp_sse = 1;   /* a stream, one JSON object per line */
            e->stream = at_llm_stream_new(e->route.api);
            at_ndjson_init(&e->nd, MAX_SSE_EVENT);
            e->nd_on = 1;
            e->keep_resp = 0;
        }
    } else {
        e->keep_resp = s->o.capture_content && e->resp_json;
    }
    if (cenc && (e->keep_resp || e->sse_on || e->nd_on)) {
        at_enc_kind k = at_enc_parse(cenc, celen);

        if (k == AT_ENC_UNKNOWN) {
            e->undecoded = 1;
        } else if (k != AT_ENC_IDENTITY) {
            e->enc = at_enc_new(k, s->o.max_body);
            if (e->enc == NULL)
                e->undecoded = 1;
        }
    }
}

static void response_start(at_sink *s, at_sconn *c, const at_h1_response *rs,
                           uint64_t body_off)
{
    at_exch *e = queue_pop(c);
    const at_h1_header *ctype =
        at_h1_find_header(rs->headers, rs->num_headers, "content-type");
    const at_h1_header *cenc =
        at_h1_find_header(rs->headers, rs->num_headers, "content-encoding");
    uint64_t len = 0;
    size_t rl;

    c->resp = e;
    e->t_resp_start = c->head_t0[1];
    rl = rs->reason_len < sizeof(e->reason) ? rs->reason_len
                                            : sizeof(e->reason) - 1;
    memcpy(e->reason, rs->reason, rl);
    e->reason[rl] = '\0';
    at_sx_resp_begin(s, e, rs->status, HV(ctype), HV(cenc));
    c->skind = at_h1_response_body(rs, e->method, strlen(e->method), &len);
    c->sremain = len;
    at_h1_chunked_init(&c->schunk);
    if (c->skind == AT_H1_BODY_INVALID) {
        e->error_type = "truncated";
        e->error_message = "invalid response body framing";
        at_sx_ignore(s, c, "invalid response body framing");
        return;
    }
    if (c->skind == AT_H1_BODY_NONE ||
        (c->skind == AT_H1_BODY_LENGTH && len == 0)) {
        response_done(s, c);
        return;
    }
    c->sstate = AT_SS_BODY;
    if (!e->keep_resp && !e->sse_on && !e->nd_on) {
        /* Nobody wants this body: have the hooks stop copying it. */
        if (c->skind == AT_H1_BODY_LENGTH) {
            c->sstate = AT_SS_SKIP;
            c->skip_until = body_off + len;
            if (s->o.advise)
                s->o.advise(s->o.ud, c->slot, c->id, c->skip_until);
        } else if (c->skind == AT_H1_BODY_UNTIL_CLOSE && s->o.advise) {
            s->o.advise(s->o.ud, c->slot, c->id, UINT64_MAX);
        }
    }
}

/* Consume response body bytes at stream offset `off`; returns how many. */
static size_t response_body(at_sink *s, at_sconn *c, uint64_t off, char *p,
                            size_t n)
{
    at_exch *e = c->resp;

    if (c->sstate == AT_SS_SKIP) {
        size_t k = off >= c->skip_until ? 0
                   : c->skip_until - off < n ? (size_t)(c->skip_until - off)
                                             : n;
        if (off + k >= c->skip_until)
            response_done(s, c);
        return k;
    }
    if (c->skind == AT_H1_BODY_LENGTH) {
        size_t k = n < c->sremain ? n : (size_t)c->sremain;

        at_sx_resp_body(s, e, p, k);
        c->sremain -= k;
        if (c->sremain == 0)
            response_done(s, c);
        return k;
    }
    if (c->skind == AT_H1_BODY_CHUNKED) {
        size_t len = n;
        ssize_t rest = at_h1_chunked_decode(&c->schunk, p, &len);

        if (rest == AT_H1_ERROR) {
            e->error_type = "truncated";
            e->error_message = "malformed chunked response body";
            at_sx_ignore(s, c, "malformed chunked response body");
            return n;
        }
        at_sx_resp_body(s, e, p, len);
        if (rest == AT_H1_NEED_MORE)
            return n;
        response_done(s, c);
        return n - (size_t)rest;
    }
    at_sx_resp_body(s, e, p, n);  /* until close */
    return n;
}

void at_sx_in(at_sink *s, at_sconn *c, uint64_t off, char *p, size_t n)
{
    if (c->mode == AT_MODE_H2) {
        h2_feed(s, c, 0, p, n);
        return;
    }
    while (n > 0 && c->mode != AT_MODE_IGNORED) {
        if (c->sstate == AT_SS_HEAD) {
            at_h1_header hdrs[MAX_HEADERS];
            at_h1_response rs;
            at_buf *h = &c->head[1];
            size_t extra, take;
            int r;

            if (c->qhead == NULL && c->req == NULL) {
                at_sx_ignore(s, c, c->mode == AT_MODE_NEW
                                       ? "the server spoke first"
                                       : "response without a request");
                return;
            }
            if (h->len == 0)
                c->head_t0[1] = s->now;
            take = n < MAX_HEAD - h->len ? n : MAX_HEAD - h->len;
            if (at_buf_append(h, p, take) < 0) {
                at_sx_ignore(s, c, "out of memory for a response head");
                return;
            }
            memset(&rs, 0, sizeof(rs));
            rs.headers = hdrs;
            rs.num_headers = MAX_HEADERS;
            r = still_open(c, 1, take) ? AT_H1_NEED_MORE
                                       : at_h1_parse_response(h->p, h->len,
                                                              &rs);
            c->head_more[1] = r == AT_H1_NEED_MORE;
            if (r == AT_H1_NEED_MORE && h->len >= MAX_HEAD) {
                at_sx_ignore(s, c, "response head over 64 KiB");
                return;
            }
            if (r == AT_H1_NEED_MORE)
                return;
            if (r < 0) {
                at_sx_ignore(s, c, "not an HTTP/1.x response");
                return;
            }
            extra = h->len - (size_t)r;
            p += take - extra;
            off += take - extra;
            n -= take - extra;
            if (rs.status >= 100 && rs.status < 200 && rs.status != 101) {
                at_buf_reset(h);   /* 100 Continue and friends */
                continue;
            }
            if (c->qhead == NULL) {
                /* A final answer before the request body was sent (413,
                 * 401 to Expect: 100-continue): the request ends here. */
                c->rstate = AT_RS_HEAD;
                c->req->t_req_end = s->now;
                at_sink_request_done(s, c->req);
                queue_push(c, c->req);
                c->req = NULL;
            }
            response_start(s, c, &rs, off);
            at_buf_reset(h);
            if (rs.status == 101) {
                response_done(s, c);
                at_sx_ignore(s, c, "switched protocols");
                return;
            }
        } else {
            size_t k = response_body(s, c, off, p, n);

            p += k;
            off += k;
            n -= k;
        }
    }
}

void at_sx_skipped(at_sink *s, at_sconn *c, uint64_t off)
{
    if (c->sstate == AT_SS_SKIP && off == c->skip_until) {
        c->off[1] = off;
        response_done(s, c);
    }
}

void at_sx_end(at_sink *s, at_sconn *c, const char *error_type, int closed)
{
    at_exch *e;

    if (c->h2 && c->mode == AT_MODE_H2)
        at_h2conn_end(c->h2, error_type, 0);
    if (c->mode != AT_MODE_IGNORED) {
        if (c->resp) {
            if (c->skind == AT_H1_BODY_UNTIL_CLOSE && error_type == NULL &&
                c->sstate == AT_SS_BODY) {
                response_done(s, c);
            } else {
                c->resp->error_type = error_type ? error_type : "truncated";
                response_done(s, c);
            }
        }
        while ((e = queue_pop(c)) != NULL) {
            e->error_type = error_type ? error_type : "truncated";
            e->error_message = closed ? "connection closed before the "
                                        "response was complete"
                                      : "the server closed the connection "
                                        "before responding";
            finish(s, e);
        }
        if (c->req) {
            /* a request whose body was never completely sent */
            c->req->error_type = error_type ? error_type : "truncated";
            c->req->t_req_end = s->now;
            finish(s, c->req);
            c->req = NULL;
        }
    }
    c->eof = 1;
    c->rstate = AT_RS_HEAD;
    c->sstate = AT_SS_HEAD;
    at_buf_reset(&c->head[0]);
    at_buf_reset(&c->head[1]);
    c->head_more[0] = c->head_more[1] = 0;
}

void at_sx_free_conn(at_sconn *c)
{
    at_exch *e;

    at_h2conn_del(c->h2);
    at_exch_del(c->req);
    at_exch_del(c->resp);
    while ((e = queue_pop(c)) != NULL)
        at_exch_del(e);
    at_buf_free(&c->head[0]);
    at_buf_free(&c->head[1]);
    free(c);
}
