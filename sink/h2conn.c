/* h2conn.c - HTTP/2 connections: streams become exchanges.  Sink thread.
 *
 * A connection is HTTP/2 when TLS negotiated "h2" or the client's first
 * bytes are the connection preface.  decode/h2.c splits frames and
 * decompresses header blocks; here each stream is an exchange: the
 * client's HEADERS (with :method, :path, :authority) start it, its DATA is
 * the request body, END_STREAM from the client completes the request, the
 * server's final HEADERS start the response (interim 1xx are skipped) and
 * END_STREAM from the server completes the exchange.  RST_STREAM, GOAWAY
 * and the end of the connection end what is in flight as errors.  When the
 * decoder fails (bytes lost, or a malformed frame), HPACK state is gone,
 * so the connection is no longer decoded rather than decoded wrongly.
 */
#include "internal.h"
#include "decode/h2.h"
#include "preload/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct h2s {
    struct h2s *next;
    uint32_t id;
    at_exch *e;
    int req_done;
    int resp_started;
} h2s;

struct at_h2conn {
    at_h2 *dec;
    h2s *streams;
    at_sink *s;
    at_sconn *c;
};

static h2s *stream_get(struct at_h2conn *h, uint32_t id)
{
    h2s *x;

    for (x = h->streams; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

static void stream_drop(struct at_h2conn *h, h2s *x)
{
    h2s **pp;

    for (pp = &h->streams; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    }
    at_exch_del(x->e);
    free(x);
}

/* End stream `x`'s exchange (with error_type when not NULL). */
static void stream_end(struct at_h2conn *h, h2s *x, const char *error_type,
                       const char *message)
{
    at_exch *e = x->e;

    if (e) {
        if (!x->req_done) {
            at_sx_req_done(h->s, e);
            x->req_done = 1;
        }
        if (error_type) {
            e->error_type = error_type;
            e->error_message = message;
        }
        x->e = NULL;
        at_sx_exch_finish(h->s, e);
    }
    stream_drop(h, x);
}

static const at_h2_field *field(const at_h2_field *f, size_t n,
                                const char *name)
{
    size_t i, l = strlen(name);

    for (i = 0; i < n; i++)
        if (f[i].name_len == l && !memcmp(f[i].name, name, l))
            return &f[i];
    return NULL;
}

#define FV(f) ((f) ? (f)->value : NULL), ((f) ? (f)->value_len : 0)

static void on_headers(void *ud, uint32_t id, int from_client,
                       const at_h2_field *f, size_t n, int end_stream)
{
    struct at_h2conn *h = ud;
    h2s *x = stream_get(h, id);

    if (from_client) {
        if (x == NULL) {
            const at_h2_field *m = field(f, n, ":method");
            const at_h2_field *p = field(f, n, ":path");
            const at_h2_field *a = field(f, n, ":authority");

            if (a == NULL)
                a = field(f, n, "host");
            x = calloc(1, sizeof(*x));
            if (x == NULL)
                return;
            x->id = id;
            x->e = at_sx_exch_new(h->s, h->c, FV(m), FV(p), FV(a),
                                  FV(field(f, n, "content-type")));
            x->next = h->streams;
            h->streams = x;
            if (x->e)
                x->e->h2 = 1;
        }
        if (end_stream && !x->req_done && x->e) {
            at_sx_req_done(h->s, x->e);
            x->req_done = 1;
        }
        return;
    }
    if (x == NULL || x->e == NULL)
        return;   /* a pushed stream, or one we could not follow */
    if (!x->resp_started) {
        const at_h2_field *st = field(f, n, ":status");
        char code[8] = "";
        int status;

        if (st && st->value_len < sizeof(code))
            memcpy(code, st->value, st->value_len);
        status = atoi(code);
        if (status >= 100 && status < 200)
            return;   /* interim */
        if (!x->req_done) {
            at_sx_req_done(h->s, x->e);
            x->req_done = 1;
        }
        at_sx_resp_begin(h->s, x->e, status, FV(field(f, n, "content-type")),
                         FV(field(f, n, "content-encoding")));
        x->resp_started = 1;
    }
    if (end_stream)
        stream_end(h, x, NULL, NULL);
}

static void on_data(void *ud, uint32_t id, int from_client, const char *p,
                    size_t n, int end_stream)
{
    struct at_h2conn *h = ud;
    h2s *x = stream_get(h, id);

    if (x == NULL || x->e == NULL)
        return;
    if (from_client) {
        at_sx_req_body(h->s, x->e, p, n);
        if (end_stream && !x->req_done) {
            at_sx_req_done(h->s, x->e);
            x->req_done = 1;
        }
        return;
    }
    if (x->resp_started)
        at_sx_resp_body(h->s, x->e, p, n);
    if (end_stream)
        stream_end(h, x, NULL, NULL);
}

static void on_reset(void *ud, uint32_t id, int from_client, uint32_t code)
{
    struct at_h2conn *h = ud;
    h2s *x = stream_get(h, id);

    if (x)
        stream_end(h, x, "truncated", from_client
                                          ? "the client reset the stream"
                                          : "the server reset the stream");
    (void)code;
}

static void on_goaway(void *ud, int from_client, uint32_t last,
                      uint32_t code)
{
    struct at_h2conn *h = ud;
    h2s *x = h->streams, *next;

    for (; x; x = next) {
        next = x->next;
        if (x->id > last)
            stream_end(h, x, "truncated",
                       "the stream was refused by GOAWAY");
    }
    (void)from_client;
    (void)code;
}

struct at_h2conn *at_h2conn_new(at_sink *s, at_sconn *c)
{
    struct at_h2conn *h = calloc(1, sizeof(*h));
    at_h2_callbacks cb;

    if (h == NULL)
        return NULL;
    memset(&cb, 0, sizeof(cb));
    cb.headers = on_headers;
    cb.data = on_data;
    cb.reset = on_reset;
    cb.goaway = on_goaway;
    h->dec = at_h2_new(&cb, h);
    if (h->dec == NULL) {
        free(h);
        return NULL;
    }
    h->s = s;
    h->c = c;
    return h;
}

int at_h2conn_feed(struct at_h2conn *h, int from_client, const char *p,
                   size_t n)
{
    if (at_h2_feed(h->dec, from_client, p, n) < 0) {
        at_h2conn_end(h, "truncated", 1);
        return -1;
    }
    return 0;
}

void at_h2conn_end(struct at_h2conn *h, const char *error_type, int desync)
{
    while (h->streams) {
        if (desync && h->streams->e)
            h->streams->e->desync = 1;
        stream_end(h, h->streams, error_type ? error_type : "truncated",
                   desync ? "HTTP/2 decoding stopped: bytes were lost or a "
                            "frame was malformed"
                          : "the connection ended before the stream did");
    }
}

void at_h2conn_del(struct at_h2conn *h)
{
    if (h == NULL)
        return;
    while (h->streams)
        stream_drop(h, h->streams);
    at_h2_del(h->dec);
    free(h);
}
