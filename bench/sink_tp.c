/* sink_tp.c - how fast one sink thread turns capture records into spans.
 *
 * One thread plays both sides of the capture ring, as the shim's sink thread
 * would see them, without any hook: it pushes the records the hooks would
 * push for recorded HTTP exchanges into a real ring (at_ring_new, the
 * default AGENTTRACE_RING_SIZE unless -R), then pops them and hands them to
 * a real sink (at_sink_record) writing a real JSONL file.  Only the
 * consumer's side is timed (pop, sink, flush, and the final at_sink_finish),
 * which is all the sink thread does.
 *
 * The exchanges are real recordings from the corpus (../shared/corpus,
 * -C DIR), on one kept-alive TLS connection to api.openai.com:
 *
 *   plain   openai/chat_basic_2026: a chat completion, gzip, chunked; the
 *           hooks push the request (one SSL_write), the response head and
 *           the body (two SSL_reads)
 *   stream  openai/chat_streaming: a streamed chat completion, its recorded
 *           events with the content events repeated to -c chunks, one
 *           SSL_read per HTTP chunk (one SSE event), as with a token stream
 *
 * Prints, per kind, the median rate over -r repetitions:
 *
 *   sink plain exchanges_per_s <x> records_per_s <x> mb_per_s <x> \
 *        cells_per_exchange <n> n <exchanges> reps <r>
 *   sink stream chunks_per_s <x> exchanges_per_s <x> mb_per_s <x> \
 *        cells_per_chunk <n> n <chunks> reps <r>
 *   ring bytes <b> cells <n> cell <512>
 *
 * and checks every span file it made: one chat span per exchange, with the
 * recorded usage (plain) or the whole reassembled text (stream).  Exits 1
 * when a check fails.  Single thread; sink code only (no hooks, no shim).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload/log.h"
#include "preload/ring.h"
#include "sink/jalloc.h"
#include "sink/sink.h"

#define CELL_DATA (AT_RING_CELL - sizeof(uint64_t))
#define MAX_REPS 51

static const char *corpus = "../shared/corpus";
static const char *tmpdir = "/tmp";
static size_t ring_bytes = 4u << 20;
static long n_plain = 20000;
static long n_chunks = 1000;    /* content chunks per stream */
static long n_streams = 20;
static int reps = 5;

static void fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "sink_tp: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- a growable string -------------------------------------------------- */

typedef struct str {
    char *p;
    size_t len, cap;
} str;

static void str_add(str *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (s->p == NULL)
            fail("%s", "out of memory");
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void str_addz(str *s, const char *z)
{
    str_add(s, z, strlen(z));
}

static void str_fmt(str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void str_fmt(str *s, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        fail("%s", "line too long");
    str_add(s, tmp, (size_t)n);
}

static str slurp(const char *dir, const char *name)
{
    char path[4096];
    str s = {0};
    char b[65536];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail("cannot read %s", path);
    while ((n = fread(b, 1, sizeof(b), f)) > 0)
        str_add(&s, b, n);
    fclose(f);
    if (s.p == NULL)
        str_add(&s, "", 0);
    return s;
}

static json_t *load_json(const char *dir, const char *name)
{
    str s = slurp(dir, name);
    json_error_t err;
    json_t *j = json_loadb(s.p, s.len, 0, &err);

    if (j == NULL)
        fail("invalid JSON in %s", name);
    free(s.p);
    return j;
}

/* Header lines of a recorded {"Name": "value" | ["v1", "v2"]} object. */
static void add_headers(str *s, json_t *h)
{
    const char *k;
    json_t *v, *x;
    size_t i;

    json_object_foreach(h, k, v) {
        if (json_is_array(v)) {
            json_array_foreach(v, i, x)
                str_fmt(s, "%s: %s\r\n", k, json_string_value(x));
        } else {
            str_fmt(s, "%s: %s\r\n", k, json_string_value(v));
        }
    }
    str_addz(s, "\r\n");
}

/* ---- the records of one exchange ---------------------------------------- */

typedef struct rec {
    int dir;          /* 0 out, 1 in */
    char *p;
    size_t len;
} rec;

typedef struct exch {
    rec *recs;
    size_t n, cap;
    size_t bytes;     /* payload bytes */
    size_t cells;     /* ring cells its records take */
    str text;         /* the streamed text it must reassemble */
    long out_tokens;  /* the usage it must report (plain) */
} exch;

static void rec_add(exch *e, int dir, const char *p, size_t n)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->recs = realloc(e->recs, e->cap * sizeof(rec));
        if (e->recs == NULL)
            fail("%s", "out of memory");
    }
    e->recs[e->n].dir = dir;
    e->recs[e->n].p = malloc(n + 1);
    if (e->recs[e->n].p == NULL)
        fail("%s", "out of memory");
    memcpy(e->recs[e->n].p, p, n);
    e->recs[e->n].len = n;
    e->n++;
    e->bytes += n;
    e->cells += (sizeof(at_rec_hdr) + n + CELL_DATA - 1) / CELL_DATA;
}

/* The request as one SSL_write: head and body. */
static void request(exch *e, const char *dir)
{
    json_t *rq = load_json(dir, "request.json");
    const char *url = json_string_value(json_object_get(rq, "url"));
    const char *path = url ? strchr(url + 8, '/') : NULL;
    str body = slurp(dir, "request.body");
    str s = {0};

    if (path == NULL)
        fail("no url in %s/request.json", dir);
    str_fmt(&s, "%s %s HTTP/1.1\r\n",
            json_string_value(json_object_get(rq, "method")), path);
    add_headers(&s, json_object_get(rq, "headers"));
    str_add(&s, body.p, body.len);
    rec_add(e, 0, s.p, s.len);
    free(s.p);
    free(body.p);
    json_decref(rq);
}

/* The response head as one SSL_read. */
static void response_head(exch *e, const char *dir)
{
    json_t *rs = load_json(dir, "response.json");
    json_t *te = json_object_get(json_object_get(rs, "headers"),
                                 "Transfer-Encoding");
    str s = {0};

    if (te == NULL || strcmp(json_string_value(te), "chunked") != 0)
        fail("%s: the recording is not chunked", dir);
    str_fmt(&s, "HTTP/1.1 %d %s\r\n",
            (int)json_integer_value(json_object_get(rs, "status")),
            json_string_value(json_object_get(rs, "reason")));
    add_headers(&s, json_object_get(rs, "headers"));
    rec_add(e, 1, s.p, s.len);
    free(s.p);
    json_decref(rs);
}

static void chunk(exch *e, const char *p, size_t n)
{
    str s = {0};

    str_fmt(&s, "%zx\r\n", n);
    str_add(&s, p, n);
    str_addz(&s, "\r\n");
    rec_add(e, 1, s.p, s.len);
    free(s.p);
}

static exch plain_exchange(void)
{
    char dir[4096];
    exch e = {0};
    str body;
    json_t *x;

    snprintf(dir, sizeof(dir), "%s/openai/chat_basic_2026", corpus);
    request(&e, dir);
    response_head(&e, dir);
    body = slurp(dir, "response.body");
    {
        /* the body (gzip) as one chunk, then the last chunk, one read */
        str s = {0};

        str_fmt(&s, "%zx\r\n", body.len);
        str_add(&s, body.p, body.len);
        str_addz(&s, "\r\n0\r\n\r\n");
        rec_add(&e, 1, s.p, s.len);
        free(s.p);
    }
    free(body.p);
    x = load_json(dir, "expected.json");
    e.out_tokens = (long)json_integer_value(json_object_get(x,
                                                            "output_tokens"));
    json_decref(x);
    return e;
}

/* The content delta of one "data: {...}" event, or NULL. */
static const char *delta(json_t **keep, const char *ev, size_t n)
{
    json_t *j;
    json_t *c;

    *keep = NULL;
    if (n < 6 || strncmp(ev, "data: {", 7) != 0)
        return NULL;
    j = json_loadb(ev + 6, n - 6, 0, NULL);
    if (j == NULL)
        return NULL;
    *keep = j;
    c = json_object_get(json_object_get(json_array_get(
                            json_object_get(j, "choices"), 0), "delta"),
                        "content");
    return json_string_value(c);
}

static exch stream_exchange(void)
{
    char dir[4096];
    exch e = {0};
    str body;
    char *evs[256];
    size_t lens[256], nev = 0, i, first = 0, last = 0;
    long k;

    snprintf(dir, sizeof(dir), "%s/openai/chat_streaming", corpus);
    request(&e, dir);
    response_head(&e, dir);
    body = slurp(dir, "response.body");
    /* events end with a blank line */
    for (char *p = body.p, *end; p < body.p + body.len; p = end + 2) {
        end = strstr(p, "\n\n");
        if (end == NULL || nev == 256)
            break;
        evs[nev] = p;
        lens[nev++] = (size_t)(end + 2 - p);
    }
    /* the content events are those between the role event and the last
     * two (finish_reason, [DONE]) */
    for (i = 0; i < nev; i++) {
        json_t *j;
        const char *d = delta(&j, evs[i], lens[i]);

        if (d && *d && first == 0)
            first = i;
        if (d && *d)
            last = i;
        json_decref(j);
    }
    if (first == 0 || last < first)
        fail("%s: no content events", dir);
    for (i = 0; i < first; i++)
        chunk(&e, evs[i], lens[i]);
    for (k = 0; k < n_chunks; k++) {
        size_t at = first + (size_t)k % (last - first + 1);
        json_t *j;
        const char *d = delta(&j, evs[at], lens[at]);

        if (d)
            str_addz(&e.text, d);
        json_decref(j);
        chunk(&e, evs[at], lens[at]);
    }
    for (i = last + 1; i < nev; i++)
        chunk(&e, evs[i], lens[i]);
    rec_add(&e, 1, "0\r\n\r\n", 5);
    free(body.p);
    return e;
}

/* ---- playing records through the ring into the sink --------------------- */

static void noop_advise(void *ud, int slot, uint64_t conn, uint64_t until)
{
    (void)ud;
    (void)slot;
    (void)conn;
    (void)until;
}

typedef struct player {
    at_ring *ring;
    at_sink *sink;
    void *buf;
    uint64_t t, off[2], timed_ns, records;
} player;

/* The sink thread's part: everything in the ring, then a flush. */
static void drain(player *pl)
{
    at_rec_hdr h;
    uint64_t t0 = now_ns();
    void *p;

    while ((p = at_ring_peek(pl->ring, &h, pl->buf)) != NULL) {
        at_sink_record(pl->sink, &h, p);
        at_ring_release(pl->ring, &h);
    }
    at_sink_flush(pl->sink);
    pl->timed_ns += now_ns() - t0;
}

static void push(player *pl, int kind, const void *p, size_t n)
{
    at_rec_hdr h;

    memset(&h, 0, sizeof(h));
    h.conn = 1;
    h.t_ns = pl->t;
    h.slot = 1;
    h.kind = (uint8_t)kind;
    h.transport = AT_TRANSPORT_OPENSSL;
    h.len = (uint32_t)n;
    if (kind == AT_REC_OUT || kind == AT_REC_IN) {
        h.arg = pl->off[kind == AT_REC_IN];
        pl->off[kind == AT_REC_IN] += n;
    }
    pl->t += 1000;
    pl->records++;
    while (at_ring_push(pl->ring, &h, p) < 0)
        drain(pl);   /* full: let the sink catch up, as it would */
}

/* Plays `n` exchanges `e` on one connection into a fresh sink writing
 * `path`; returns the seconds the sink side took. */
static double play(const exch *e, long n, const char *path, at_proc *proc,
                   uint64_t *records)
{
    at_sink_opts o;
    at_open_info info;
    player pl;
    long i;
    size_t r;
    uint64_t t0;

    memset(&pl, 0, sizeof(pl));
    memset(&o, 0, sizeof(o));
    o.proc = proc;
    o.output = path;
    o.agent_name = "";
    o.capture_content = 1;     /* the shim's defaults */
    o.max_body = 8u << 20;
    o.advise = noop_advise;
    pl.ring = at_ring_new(ring_bytes);
    pl.sink = at_sink_new(&o);
    pl.buf = malloc(AT_RING_MAX_PAYLOAD);
    if (pl.ring == NULL || pl.sink == NULL || pl.buf == NULL)
        fail("%s", "out of memory");
    pl.t = proc->start_mono_ns + 1000000;
    memset(&info, 0, sizeof(info));
    strcpy(info.sni, "api.openai.com");
    strcpy(info.addr, "162.159.140.245");
    info.port = 443;
    info.family = 2;
    info.tls = 1;
    push(&pl, AT_REC_OPEN, &info, sizeof(info));
    for (i = 0; i < n; i++)
        for (r = 0; r < e->n; r++)
            push(&pl, e->recs[r].dir ? AT_REC_IN : AT_REC_OUT, e->recs[r].p,
                 e->recs[r].len);
    push(&pl, AT_REC_CLOSE, NULL, 0);
    drain(&pl);
    t0 = now_ns();
    at_sink_finish(pl.sink, pl.t, 0);
    pl.timed_ns += now_ns() - t0;
    at_sink_del(pl.sink);
    at_ring_del(pl.ring);
    free(pl.buf);
    *records = pl.records;
    return (double)pl.timed_ns / 1e9;
}

/* ---- checking the span file --------------------------------------------- */

static json_t *attr(json_t *span, const char *k)
{
    return json_object_get(json_object_get(span, "attributes"), k);
}

static void check(const char *path, const exch *e, long n, int streamed)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    long chats = 0, procs = 0;

    if (f == NULL)
        fail("no span file %s", path);
    while (getline(&line, &cap, f) > 0) {
        json_t *s = json_loads(line, 0, NULL);
        const char *name = json_string_value(json_object_get(s, "name"));

        if (s == NULL || name == NULL)
            fail("invalid span line in %s", path);
        if (!strncmp(name, "chat ", 5)) {
            chats++;
            if (!streamed &&
                json_integer_value(attr(s, "gen_ai.usage.output_tokens")) !=
                    e->out_tokens)
                fail("a plain span has the wrong usage: %s", line);
            if (streamed) {
                json_t *m = json_array_get(attr(s, "gen_ai.output.messages"),
                                           0);
                json_t *parts = json_object_get(m, "parts");
                const char *t = json_string_value(json_object_get(
                    json_array_get(parts, 0), "content"));

                if (t == NULL || strcmp(t, e->text.p) != 0)
                    fail("a stream span's text is not the %s",
                         "streamed text");
            }
        } else {
            procs++;
        }
        json_decref(s);
    }
    free(line);
    fclose(f);
    if (chats != n || procs != 1) {
        char msg[128];

        snprintf(msg, sizeof(msg), "%ld chat spans (want %ld), %ld others",
                 chats, n, procs);
        fail("%s", msg);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Reps of `n` exchanges `e`; returns the median seconds. */
static double measure(const exch *e, long n, int streamed, uint64_t *records)
{
    double t[MAX_REPS];
    char path[4096];
    at_proc proc;
    int r;

    memset(&proc, 0, sizeof(proc));
    proc.pid = getpid();
    proc.ppid = getppid();
    memset(proc.trace_id, 0xab, 16);
    proc.span_id = 0x1111111111111111ull;
    proc.start_wall_ns = 1700000000000000000ull;
    proc.start_mono_ns = 1000;
    snprintf(path, sizeof(path), "%s/sink_tp.%d.jsonl", tmpdir,
             (int)getpid());
    for (r = 0; r < reps; r++) {
        unlink(path);
        t[r] = play(e, n, path, &proc, records);
        check(path, e, n, streamed);
    }
    unlink(path);
    qsort(t, (size_t)reps, sizeof(t[0]), cmp_double);
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    int c;
    exch pe, se;
    double t;
    uint64_t recs;

    at_jalloc_install(); /* jansson's allocator, as in the shim */
    while ((c = getopt(argc, argv, "C:t:R:e:c:s:r:")) != -1) {
        switch (c) {
        case 'C': corpus = optarg; break;
        case 't': tmpdir = optarg; break;
        case 'R': ring_bytes = (size_t)atol(optarg); break;
        case 'e': n_plain = atol(optarg); break;
        case 'c': n_chunks = atol(optarg); break;
        case 's': n_streams = atol(optarg); break;
        case 'r': reps = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: sink_tp [-C corpus] [-t tmpdir] "
                            "[-R ring-bytes] [-e exchanges] [-c chunks] "
                            "[-s streams] [-r reps]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || n_plain < 1 || n_chunks < 1 ||
        n_streams < 1)
        fail("%s", "bad arguments");
    at_log_enabled = getenv("AGENTTRACE_DEBUG") != NULL;
    pe = plain_exchange();
    se = stream_exchange();

    t = measure(&pe, n_plain, 0, &recs);
    printf("sink plain exchanges_per_s %.0f records_per_s %.0f "
           "mb_per_s %.1f cells_per_exchange %zu bytes_per_exchange %zu "
           "n %ld reps %d\n",
           (double)n_plain / t, (double)recs / t,
           (double)pe.bytes * (double)n_plain / t / 1e6, pe.cells, pe.bytes,
           n_plain, reps);
    fflush(stdout);

    t = measure(&se, n_streams, 1, &recs);
    printf("sink stream chunks_per_s %.0f exchanges_per_s %.1f "
           "mb_per_s %.1f cells_per_chunk %.3f bytes_per_chunk %.0f "
           "n %ld reps %d\n",
           (double)(n_chunks * n_streams) / t, (double)n_streams / t,
           (double)se.bytes * (double)n_streams / t / 1e6,
           (double)se.cells / (double)se.n, (double)se.bytes / (double)se.n,
           n_chunks * n_streams, reps);
    {
        size_t cells = 64;   /* as at_ring_new rounds */

        while (cells * AT_RING_CELL < ring_bytes)
            cells *= 2;
        printf("ring bytes %zu cells %zu cell %u\n", cells * AT_RING_CELL,
               cells, AT_RING_CELL);
    }
    return 0;
}
