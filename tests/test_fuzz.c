/* test_fuzz.c - the sink against broken and hostile traffic.
 *
 * A hostile or broken server (or client) can send anything: a chunk size
 * of sixteen f's, a header cut in half, JSON with a byte flipped, a gzip
 * stream with a hole, an event stream that never ends an event.  The sink
 * must decode what it can and leave the rest, never crash, hang, or write
 * a line that is not a whole span.
 *
 * Each run takes a recorded exchange of ../shared/corpus (or two on one
 * connection, kept alive), as HTTP/1.1 or, one run in three, HTTP/2
 * (frames and HPACK made by libnghttp2's encoder), breaks it with a few random mutations (a bit
 * flipped, a byte made a delimiter, a range dropped, repeated or cut
 * short, garbage or a huge number put in), plays it into a sink in random
 * pieces, sometimes ended by a reset, and checks every line the sink
 * writes.  A sink lives for 64 runs, so state carried between exchanges
 * (kept shapes of bodies, the memo of the last requests, open tool spans)
 * meets broken input too.  Seeded: a failure names its seed, its sink's
 * first and the mutations; AT_FUZZ_SEED=N AT_FUZZ_RUNS=M replays M runs
 * from seed N (AT_FUZZ_RUNS alone: more runs).  Under
 * `make asan` the same runs check for memory errors and undefined
 * behaviour.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus_records.h"
#include "decode/llm.h"
#include "preload/log.h"
#include "sink/jalloc.h"
#include "sink/sink.h"

/* xorshift32: reproducible, and enough for choosing mutations */
static uint32_t rng;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static size_t below(size_t n)
{
    return n ? next() % n : 0;
}

/* ---- mutations ------------------------------------------------------------ */

/* Insert n bytes of s at position at of b (at <= b->len). */
static void insert(at_buf *b, size_t at, const char *s, size_t n)
{
    size_t tail = b->len - at;
    char *keep = malloc(tail + 1);

    cr_assert_not_null(keep);
    memcpy(keep, b->p + at, tail);
    b->len = at;
    cr_assert(at_buf_append(b, s, n) == 0 && at_buf_append(b, keep, tail) == 0);
    free(keep);
}

static void drop(at_buf *b, size_t at, size_t n)
{
    if (n > b->len - at)
        n = b->len - at;
    memmove(b->p + at, b->p + at + n, b->len - at - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

/* One random change to b; `what` describes it (for a failure's message). */
static void mutate(at_buf *b, char *what, size_t cap)
{
    static const char special[] = "\r\n\"{}[]:,\\ \t0-e.f";
    static const char *const huge[] = {
        "ffffffffffffffff\r\n", "18446744073709551616", "-1",
        "99999999999999999999999999", "1e999", "\\ud800", "\\u0000",
        "data: ", "\r\n\r\n", "event: error\n", "Content-Length: 4294967297\r\n",
        "Transfer-Encoding: chunked\r\n", "Content-Encoding: gzip\r\n"};
    size_t at = below(b->len + 1), n;
    char tmp[32];
    unsigned k;

    if (b->len == 0) {
        insert(b, 0, "garbage", 7);
        snprintf(what, cap, "garbage into an empty side");
        return;
    }
    switch (next() % 8) {
    case 0:
        at = below(b->len);
        b->p[at] ^= (char)(1u << (next() % 8));
        snprintf(what, cap, "bit flipped at %zu", at);
        break;
    case 1:
        at = below(b->len);
        b->p[at] = next() % 4 == 0 ? (char)(next() & 0xff)
                                   : special[below(sizeof(special) - 1)];
        snprintf(what, cap, "byte at %zu made 0x%02x", at,
                 (unsigned char)b->p[at]);
        break;
    case 2:
        n = 1 + below(next() % 3 == 0 ? 512 : 16);
        drop(b, at, n);
        snprintf(what, cap, "%zu bytes dropped at %zu", n, at);
        break;
    case 3:
        n = 1 + below(64);
        if (n > b->len - at)
            n = b->len - at;
        {
            char *copy = malloc(n + 1);

            cr_assert_not_null(copy);
            memcpy(copy, b->p + at, n);
            insert(b, at, copy, n);
            free(copy);
        }
        snprintf(what, cap, "%zu bytes repeated at %zu", n, at);
        break;
    case 4:
        n = 1 + below(sizeof(tmp));
        for (k = 0; k < n; k++)
            tmp[k] = (char)(next() & 0xff);
        insert(b, at, tmp, n);
        snprintf(what, cap, "%zu random bytes at %zu", n, at);
        break;
    case 5:
        b->len = at;
        b->p[at] = '\0';
        snprintf(what, cap, "cut at %zu", at);
        break;
    default:
        k = (unsigned)below(sizeof(huge) / sizeof(huge[0]));
        insert(b, at, huge[k], strlen(huge[k]));
        snprintf(what, cap, "\"%.12s\" put at %zu", huge[k], at);
        break;
    }
}

/* ---- the same exchanges over HTTP/2 ------------------------------------- */

/* One frame: its 9-byte head, then the payload. */
static void frame(at_buf *b, unsigned type, unsigned flags, uint32_t stream,
                  const void *p, size_t n)
{
    unsigned char h[9] = {(unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n, (unsigned char)type,
                          (unsigned char)flags,
                          (unsigned char)((stream >> 24) & 0x7f),
                          (unsigned char)(stream >> 16),
                          (unsigned char)(stream >> 8), (unsigned char)stream};

    cr_assert(at_buf_append(b, h, 9) == 0 &&
              (n == 0 || at_buf_append(b, p, n) == 0));
}

/* The recorded headers as HTTP/2 fields after `pseudo` (lower case; the
 * connection's own dropped), one HEADERS frame, HPACK-encoded by
 * libnghttp2 (the peer's encoder, with its dynamic table). */
static void header_frame(at_buf *b, nghttp2_hd_deflater *d, uint32_t stream,
                         const nghttp2_nv *pseudo, size_t np, json_t *h,
                         int end_stream)
{
    static const char skip[] = "|connection|keep-alive|proxy-connection|"
                               "transfer-encoding|upgrade|host|";
    nghttp2_nv nv[96];
    char names[96][64];
    size_t n = 0, i, j, bound;
    const char *k;
    json_t *v;
    uint8_t *buf;
    ssize_t len;

    for (i = 0; i < np; i++)
        nv[n++] = pseudo[i];
    json_object_foreach(h, k, v) {
        char bar[70];

        for (j = 0; k[j] && j < sizeof(names[0]) - 1; j++)
            names[n][j] = (char)(k[j] >= 'A' && k[j] <= 'Z' ? k[j] + 32 : k[j]);
        names[n][j] = '\0';
        snprintf(bar, sizeof(bar), "|%s|", names[n]);
        if (strstr(skip, bar) || n + 1 >= sizeof(nv) / sizeof(nv[0]))
            continue;
        if (json_is_array(v))
            v = json_array_get(v, 0);
        nv[n] = (nghttp2_nv){(uint8_t *)names[n],
                             (uint8_t *)(json_string_value(v)
                                             ? json_string_value(v) : ""),
                             j, json_string_value(v)
                                    ? strlen(json_string_value(v)) : 0,
                             NGHTTP2_NV_FLAG_NONE};
        n++;
    }
    bound = nghttp2_hd_deflate_bound(d, nv, n);
    buf = malloc(bound);
    cr_assert_not_null(buf);
    len = nghttp2_hd_deflate_hd(d, buf, bound, nv, n);
    cr_assert(len >= 0 && len < 16384);
    frame(b, 1 /* HEADERS */, 0x4 /* END_HEADERS */ | (end_stream ? 1 : 0),
          stream, buf, (size_t)len);
    free(buf);
}

static void data_frames(at_buf *b, uint32_t stream, const char *p, size_t n)
{
    do {
        size_t k = n > 16384 ? 16384 : n;

        frame(b, 0 /* DATA */, k == n ? 1 /* END_STREAM */ : 0, stream, p, k);
        p += k;
        n -= k;
    } while (n > 0);
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), 0}

/* e on stream `stream` of a connection whose encoders are d[2]; the
 * prefaces and SETTINGS first when it is the connection's first. */
static void h2_exchange(const exch *e, uint32_t stream,
                        nghttp2_hd_deflater *d[2], at_buf *out, at_buf *in)
{
    char status[16];
    const char *method = json_string_value(json_object_get(e->rq, "method"));
    nghttp2_nv rq[4] = {NV(":method", method ? method : "POST"),
                        NV(":scheme", e->tls ? "https" : "http"),
                        NV(":authority", e->sni[0] ? e->sni : "localhost"),
                        NV(":path", e->path)};
    nghttp2_nv rs[1];

    if (stream == 1) {
        cr_assert(at_buf_append(out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                                24) == 0);
        frame(out, 4 /* SETTINGS */, 0, 0, NULL, 0);
        frame(in, 4, 0, 0, NULL, 0);
        frame(in, 4, 1 /* ACK */, 0, NULL, 0);
    }
    header_frame(out, d[0], stream, rq, 4, json_object_get(e->rq, "headers"),
                 e->req_len == 0);
    if (e->req_len)
        data_frames(out, stream, e->req_body, e->req_len);
    snprintf(status, sizeof(status), "%d",
             (int)json_integer_value(json_object_get(e->rs, "status")));
    rs[0] = (nghttp2_nv)NV(":status", status);
    header_frame(in, d[1], stream, rs, 1, json_object_get(e->rs, "headers"),
                 e->resp_len == 0);
    if (e->resp_len)
        data_frames(in, stream, e->resp_body, e->resp_len);
}

/* ---- one run ------------------------------------------------------------- */

typedef struct player {
    at_sink *sink;
    char path[64];
    long checked;           /* bytes of the file checked so far */
    uint64_t t;
    uint64_t conn;
    int runs;               /* runs this sink has had */
    unsigned first;         /* the seed of its first run */
    char what[160];         /* the mutations of the last run */
} player;

static at_proc proc;

static void rec(player *pl, int kind, uint64_t conn, uint64_t arg,
                const char *p, size_t len)
{
    at_rec_hdr h;
    char *copy = malloc(len + 1);  /* the sink may change it in place */

    cr_assert_not_null(copy);
    if (len)
        memcpy(copy, p, len);
    memset(&h, 0, sizeof(h));
    h.conn = conn;
    h.t_ns = pl->t;
    h.arg = arg;
    h.len = (uint32_t)len;
    h.slot = (uint16_t)(conn & 0xff);
    h.kind = (uint8_t)kind;
    h.transport = AT_TRANSPORT_OPENSSL;
    at_sink_record(pl->sink, &h, copy);
    free(copy);
    pl->t += 1000 + below(5000000);
}

/* Every line the sink wrote since the last check a whole span; the
 * count of them. */
static int check_lines(player *pl, unsigned seed)
{
    FILE *f = fopen(pl->path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int n = 0;

    cr_assert_not_null(f);
    fseek(f, pl->checked, SEEK_SET);
    while ((got = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *sp = json_loads(line, JSON_ALLOW_NUL, &err);

        cr_assert_not_null(sp, "seed %u (its sink's first: %u; %s): a line "
                           "that is not JSON: %.300s (%s)", seed, pl->first,
                           pl->what, line, err.text);
        cr_assert(line[got - 1] == '\n', "seed %u: a line without its end",
                  seed);
        cr_assert(json_is_string(json_object_get(sp, "name")) &&
                      json_is_string(json_object_get(sp, "trace_id")) &&
                      json_is_string(json_object_get(sp, "span_id")) &&
                      json_is_object(json_object_get(sp, "attributes")) &&
                      json_is_integer(json_object_get(sp,
                                                      "end_time_unix_nano")),
                  "seed %u (its sink's first: %u; %s): a line that is not a "
                  "span: %.300s", seed, pl->first, pl->what, line);
        json_decref(sp);
        pl->checked += got;
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static void player_start(player *pl)
{
    at_sink_opts o;
    int fd;

    strcpy(pl->path, "/tmp/at_test_fuzz_XXXXXX");
    fd = mkstemp(pl->path);
    cr_assert(fd >= 0);
    close(fd);
    memset(&o, 0, sizeof(o));
    o.proc = &proc;
    o.output = pl->path;
    o.agent_name = "";
    o.capture_content = 1;
    o.max_body = next() % 4 == 0 ? 2048 : 1 << 20;  /* bodies cut, too */
    pl->sink = at_sink_new(&o);
    cr_assert_not_null(pl->sink);
    pl->runs = 0;
    pl->checked = 0;
}

static void player_end(player *pl, unsigned seed)
{
    at_sink_finish(pl->sink, pl->t, 0);
    at_sink_del(pl->sink);
    pl->sink = NULL;
    cr_assert_geq(check_lines(pl, seed), 1, "seed %u: no process span",
                  seed);
    unlink(pl->path);
}

/* Play `out` and `in` on connection `conn` in random pieces, the request
 * first (as a client sends it; a server's answer may still come before
 * it ends, when the mutation cut it). */
static void play(player *pl, uint64_t conn, const at_buf *out,
                 const at_buf *in, uint64_t off[2])
{
    const at_buf *side[2] = {out, in};
    int dir;

    for (dir = 0; dir < 2; dir++) {
        size_t i = 0, k;
        int bytewise = next() % 8 == 0;

        while (i < side[dir]->len) {
            k = bytewise ? 1 : 1 + below(next() % 2 ? 64 : 4096);
            if (k > side[dir]->len - i)
                k = side[dir]->len - i;
            rec(pl, dir ? AT_REC_IN : AT_REC_OUT, conn, off[dir],
                side[dir]->p + i, k);
            off[dir] += k;
            i += k;
        }
    }
}

/* The exchange e's bytes, each way, into out and in. */
static void bytes_of(const exch *e, at_buf *out, at_buf *in)
{
    size_t j;

    for (j = 0; j < e->n; j++)
        cr_assert(at_buf_append(e->pieces[j].dir ? in : out, e->pieces[j].p,
                                e->pieces[j].len) == 0);
}

static void one_run(player *pl)
{
    at_buf out, in;
    char what[80];
    int m, nm, exchanges = 1 + (next() % 4 == 0), x, h2 = next() % 3 == 0;
    uint64_t conn = ++pl->conn, off[2] = {0, 0};
    const exch *e = NULL;
    at_open_info info;
    nghttp2_hd_deflater *d[2] = {NULL, NULL};

    if (h2)
        cr_assert(nghttp2_hd_deflate_new(&d[0], 4096) == 0 &&
                  nghttp2_hd_deflate_new(&d[1], 4096) == 0);
    for (x = 0; x < exchanges; x++) {
        e = &corpus[below(n_corpus)];
        if (x == 0) {
            open_info(e, h2, &info);   /* plain: HTTP/2 by its preface */
            rec(pl, AT_REC_OPEN, conn, 0, (const char *)&info, sizeof(info));
        }
        at_buf_init(&out, (size_t)1 << 30);
        at_buf_init(&in, (size_t)1 << 30);
        if (h2)
            h2_exchange(e, 1 + 2 * (uint32_t)x, d, &out, &in);
        else
            bytes_of(e, &out, &in);
        nm = 1 + (int)below(4);
        snprintf(pl->what, sizeof(pl->what), "%s%s:", e->name,
                 h2 ? " (HTTP/2)" : "");
        for (m = 0; m < nm; m++) {
            int req = next() % 4 == 0;

            mutate(req ? &out : &in, what, sizeof(what));
            snprintf(pl->what + strlen(pl->what),
                     sizeof(pl->what) - strlen(pl->what), " %s %s;",
                     req ? "request" : "response", what);
        }
        play(pl, conn, &out, &in, off);
        at_buf_free(&out);
        at_buf_free(&in);
    }
    if (h2) {
        nghttp2_hd_deflate_del(d[0]);
        nghttp2_hd_deflate_del(d[1]);
    }
    switch (next() % 4) {
    case 0:
        rec(pl, AT_REC_ERR, conn, 104 /* ECONNRESET */, NULL, 0);
        break;
    case 1:
        rec(pl, AT_REC_EOF, conn, 0, NULL, 0);
        break;
    default:
        rec(pl, AT_REC_CLOSE, conn, 0, NULL, 0);
        break;
    }
}

static void setup(void)
{
    at_log_enabled = getenv("AGENTTRACE_DEBUG") != NULL;
    at_jalloc_install();
    load_corpus();
    test_proc(&proc, 0xcd, 0x2222222222222222ull);
}

TestSuite(fuzz, .init = setup, .timeout = 600);

Test(fuzz, broken_exchanges_never_break_the_sink)
{
    unsigned runs = getenv("AT_FUZZ_RUNS") ? (unsigned)atoi(getenv("AT_FUZZ_RUNS"))
                                            : 3000;
    unsigned first = 1, i;
    player pl;

    memset(&pl, 0, sizeof(pl));
    pl.t = 1000000;
    if (getenv("AT_FUZZ_SEED")) {
        first = (unsigned)atoi(getenv("AT_FUZZ_SEED"));
        if (!getenv("AT_FUZZ_RUNS"))
            runs = 1;
    }
    for (i = first; i < first + runs; i++) {
        /* a run's seed decides it whole; the sink it meets holds what the
         * runs before it on that sink left (AT_FUZZ_SEED=its sink's first
         * AT_FUZZ_RUNS=n replays them) */
        rng = i * 2654435761u + 1;
        if (pl.sink == NULL) {
            player_start(&pl);
            pl.first = i;
        }
        one_run(&pl);
        at_sink_flush(pl.sink);
        check_lines(&pl, i);
        if (++pl.runs == 64 || i + 1 == first + runs) {
            player_end(&pl, i);
            at_llm_body_shapes_free();
        }
    }
}

/* The HTTP/2 framing above, unbroken, is read as the HTTP/1.1 one is: a
 * call span for every recording (what makes the broken HTTP/2 runs reach
 * the decoders rather than stop at a bad preface). */
Test(fuzz, unbroken_http2_exchanges_are_spans)
{
    player pl;
    size_t i;
    int calls = 0;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;

    memset(&pl, 0, sizeof(pl));
    pl.t = 1000000;
    rng = 7;
    player_start(&pl);
    for (i = 0; i < n_corpus; i++) {
        const exch *e = &corpus[i];
        nghttp2_hd_deflater *d[2];
        at_open_info info;
        at_buf out, in;
        uint64_t conn = ++pl.conn, off[2] = {0, 0};

        cr_assert(nghttp2_hd_deflate_new(&d[0], 4096) == 0 &&
                  nghttp2_hd_deflate_new(&d[1], 4096) == 0);
        open_info(e, 1, &info);
        rec(&pl, AT_REC_OPEN, conn, 0, (const char *)&info, sizeof(info));
        at_buf_init(&out, (size_t)1 << 30);
        at_buf_init(&in, (size_t)1 << 30);
        h2_exchange(e, 1, d, &out, &in);
        play(&pl, conn, &out, &in, off);
        rec(&pl, AT_REC_CLOSE, conn, 0, NULL, 0);
        at_buf_free(&out);
        at_buf_free(&in);
        nghttp2_hd_deflate_del(d[0]);
        nghttp2_hd_deflate_del(d[1]);
    }
    at_sink_finish(pl.sink, pl.t, 0);
    at_sink_del(pl.sink);
    f = fopen(pl.path, "r");
    cr_assert_not_null(f);
    while (getline(&line, &cap, f) > 0) {
        json_t *sp = json_loads(line, JSON_ALLOW_NUL, NULL);
        const char *kind = json_string_value(json_object_get(sp, "kind"));
        json_t *a = json_object_get(sp, "attributes");

        if (kind && strcmp(kind, "client") == 0) {
            calls++;
            cr_assert_str_eq(json_string_value(json_object_get(
                                 a, "agenttrace.http.version")), "2",
                             "%.300s", line);
        }
        json_decref(sp);
    }
    free(line);
    fclose(f);
    unlink(pl.path);
    cr_assert_eq(calls, (int)n_corpus, "%d call spans of %zu recordings",
                 calls, n_corpus);
}
