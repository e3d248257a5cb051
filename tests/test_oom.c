/* test_oom.c - the sink when memory runs out.
 *
 * The sink runs inside someone else's process, which may be short of
 * memory (a container's limit, RLIMIT_AS, a leak of its own).  A failed
 * allocation must cost at most what it was for: never a crash, a hang, a
 * torn or invalid line, a leak, or a span of another exchange.
 *
 * This binary is linked with --wrap for malloc, calloc, realloc, strdup
 * and strndup (Makefile), so every allocation of the sink's code goes
 * through plan() below, and jansson's too (through the shim's allocator,
 * sink/jalloc.c, installed as the shim does; its cache and the decoders'
 * memo of bodies are emptied after each run, so that a run's k-th
 * allocation is the same in every run).  The whole of
 * ../shared/corpus, every recorded exchange of every provider, is played
 * through one sink over HTTP/1.1 records; then again with the k-th
 * allocation failing, for every k, and with every allocation from the
 * k-th on failing.  Under `make asan` the same runs check the error paths
 * for leaks and undefined behaviour.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <execinfo.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/log.h"
#include "decode/buf.h"
#include "decode/llm.h"
#include "sink/jalloc.h"
#include "sink/sink.h"

#ifndef CORPUS_DIR
#define CORPUS_DIR "../shared/corpus"
#endif

/* ---- the failing allocator ----------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static int armed;             /* count (and fail) only the sink's calls */
static unsigned long calls;   /* allocations while armed */
static unsigned long fail_at; /* the one to fail (1-based), 0: none */
static int fail_after;        /* and every one after it */
static unsigned long failed;  /* how many were failed */

/* Whether this allocation is to fail. */
static int plan(void)
{
    if (!armed)
        return 0;
    calls++;
    if (fail_at && (calls == fail_at || (fail_after && calls > fail_at))) {
        failed++;
        if (getenv("AT_OOM_TRACE") && failed == 1) {
            void *bt[24];

            backtrace_symbols_fd(bt, backtrace(bt, 24), 2);
        }
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return plan() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return plan() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    /* a failed realloc leaves the block as it was, the caller's to free */
    return plan() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return plan() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return plan() ? NULL : __real_strndup(s, n);
}

/* ---- the corpus as records ----------------------------------------------- */

typedef struct piece {
    int dir;            /* 0 out (request), 1 in (response) */
    char *p;
    size_t len;
} piece;

typedef struct exch {
    char name[96];
    char sni[256];      /* the host, for TLS ("" for plain HTTP) */
    int tls, port;
    piece *pieces;
    size_t n, cap;
} exch;

static exch *corpus;
static size_t n_corpus;

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char path[1024];
    FILE *f;
    char *p;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = __real_malloc((size_t)n + 1);
    cr_assert(fread(p, 1, (size_t)n, f) == (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* The pieces are built in the project's own buffers (decode/buf.h), while
 * no allocation is planned to fail. */
static void adds(at_buf *t, const char *s)
{
    cr_assert(at_buf_append(t, s, strlen(s)) == 0);
}

static void piece_add(exch *e, int dir, at_buf *t)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 16;
        e->pieces = __real_realloc(e->pieces, e->cap * sizeof(piece));
        cr_assert_not_null(e->pieces);
    }
    cr_assert_not_null(t->p);
    e->pieces[e->n++] = (piece){dir, t->p, t->len};
    at_buf_init(t, (size_t)1 << 30);   /* the next piece's, empty */
}

/* Header lines of a recorded {"Name": "value" | [values]} object, but
 * those named in `skip` (lower case, '|' separated). */
static void headers(at_buf *t, json_t *h, const char *skip)
{
    const char *k;
    json_t *v, *x;
    size_t i;

    json_object_foreach(h, k, v) {
        char low[128];
        size_t j;

        for (j = 0; k[j] && j < sizeof(low) - 3; j++)
            low[j + 1] = (char)(k[j] >= 'A' && k[j] <= 'Z' ? k[j] + 32 : k[j]);
        low[0] = '|';
        low[j + 1] = '|';
        low[j + 2] = '\0';
        if (strstr(skip, low))
            continue;
        for (i = 0; i < (json_is_array(v) ? json_array_size(v) : 1); i++) {
            x = json_is_array(v) ? json_array_get(v, i) : v;
            adds(t, k);
            adds(t, ": ");
            adds(t, json_string_value(x) ? json_string_value(x) : "");
            adds(t, "\r\n");
        }
    }
}

/* One recorded exchange as the OpenSSL hooks would see it: the request
 * in one write, the response head in one read, its body re-chunked in
 * reads of 700 bytes (one chunk each). */
static void load_exchange(const char *dir, const char *name)
{
    exch *e = &corpus[n_corpus];
    json_error_t err;
    json_t *rq, *rs;
    const char *url, *host, *path;
    char *body;
    size_t blen, i;
    at_buf t;
    char line[256];

    memset(e, 0, sizeof(*e));
    at_buf_init(&t, (size_t)1 << 30);
    snprintf(e->name, sizeof(e->name), "%s", name);
    body = slurp(dir, "request.json", &blen);
    rq = json_loadb(body, blen, 0, &err);
    free(body);
    body = slurp(dir, "response.json", &blen);
    rs = json_loadb(body, blen, 0, &err);
    free(body);
    cr_assert(rq && rs, "%s: unreadable recording", dir);
    url = json_string_value(json_object_get(rq, "url"));
    cr_assert(url && (strncmp(url, "https://", 8) == 0 ||
                      strncmp(url, "http://", 7) == 0), "%s: url", dir);
    e->tls = url[4] == 's';
    host = url + (e->tls ? 8 : 7);
    path = strchr(host, '/');
    {
        size_t hl = path ? (size_t)(path - host) : strlen(host);
        const char *colon = memchr(host, ':', hl);

        e->port = colon ? atoi(colon + 1) : e->tls ? 443 : 80;
        if (colon)
            hl = (size_t)(colon - host);
        if (e->tls)
            snprintf(e->sni, sizeof(e->sni), "%.*s", (int)hl, host);
    }
    adds(&t, json_string_value(json_object_get(rq, "method")));
    adds(&t, " ");
    adds(&t, path ? path : "/");
    adds(&t, " HTTP/1.1\r\n");
    headers(&t, json_object_get(rq, "headers"), "|transfer-encoding|");
    adds(&t, "\r\n");
    body = slurp(dir, "request.body", &blen);
    cr_assert(at_buf_append(&t, body, blen) == 0);
    free(body);
    piece_add(e, 0, &t);

    snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n",
             (int)json_integer_value(json_object_get(rs, "status")),
             json_string_value(json_object_get(rs, "reason"))
                 ? json_string_value(json_object_get(rs, "reason")) : "X");
    adds(&t, line);
    headers(&t, json_object_get(rs, "headers"),
            "|transfer-encoding|content-length|");
    adds(&t, "Transfer-Encoding: chunked\r\n\r\n");
    piece_add(e, 1, &t);
    body = slurp(dir, "response.body", &blen);
    for (i = 0; i < blen; i += 700) {
        size_t k = blen - i < 700 ? blen - i : 700;

        snprintf(line, sizeof(line), "%zx\r\n", k);
        adds(&t, line);
        cr_assert(at_buf_append(&t, body + i, k) == 0);
        adds(&t, "\r\n");
        piece_add(e, 1, &t);
    }
    adds(&t, "0\r\n\r\n");
    piece_add(e, 1, &t);
    at_buf_free(&t);
    free(body);
    json_decref(rq);
    json_decref(rs);
    n_corpus++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every provider's folder's exchanges, in name order (so that a tool
 * call's exchange comes before its result's, chat_tool_calls before
 * chat_tool_result_followup). */
static void load_corpus(void)
{
    const char *root = getenv("AT_CORPUS") ? getenv("AT_CORPUS") : CORPUS_DIR;
    char *names[256];
    size_t n = 0, i;
    DIR *d = opendir(root), *sub;
    struct dirent *de, *se;

    if (corpus)
        return;
    cr_assert_not_null(d, "no corpus at %s", root);
    while ((de = readdir(d)) != NULL && n < 256) {
        char p[512];

        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
        if ((sub = opendir(p)) == NULL)
            continue;
        while ((se = readdir(sub)) != NULL && n < 256) {
            char q[1024];

            if (se->d_name[0] == '.')
                continue;
            snprintf(q, sizeof(q), "%s/%s/request.json", p, se->d_name);
            if (access(q, R_OK) != 0)
                continue;
            snprintf(q, sizeof(q), "%s/%s", de->d_name, se->d_name);
            names[n++] = __real_strdup(q);
        }
        closedir(sub);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    corpus = __real_calloc(n, sizeof(exch));
    for (i = 0; i < n; i++) {
        char dir[1100];

        snprintf(dir, sizeof(dir), "%s/%s", root, names[i]);
        load_exchange(dir, names[i]);
        free(names[i]);
    }
    cr_assert(n_corpus >= 30, "only %zu recordings", n_corpus);
}

/* ---- one run ------------------------------------------------------------- */

typedef struct result {
    int started;            /* at_sink_new gave a sink */
    unsigned long calls;    /* allocations the sink made */
    int lines;              /* span lines written */
    int client;             /* of them, calls that left the process */
    int inference;          /* of those, model calls (gen_ai.provider.name) */
    int tools;              /* execute_tool spans */
    int tools_at_once;      /* most tool spans one response opened */
    int process;            /* the process span, the last line */
} result;

/* A record as the ring gives it: a copy the sink may change in place. */
static void rec(at_sink *s, int kind, uint64_t conn, uint64_t arg,
                const void *p, size_t len, uint64_t *t)
{
    static char *copy;
    static size_t copy_cap;
    at_rec_hdr h;

    if (len > copy_cap) {
        copy_cap = len;
        copy = __real_realloc(copy, copy_cap);
        cr_assert_not_null(copy);
    }
    if (len)
        memcpy(copy, p, len);
    memset(&h, 0, sizeof(h));
    h.conn = conn;
    h.t_ns = *t;
    h.arg = arg;
    h.len = (uint32_t)len;
    h.slot = (uint16_t)(conn & 0xff);
    h.kind = (uint8_t)kind;
    h.transport = AT_TRANSPORT_OPENSSL;
    at_sink_record(s, &h, copy);
    *t += 1000;
}

/* The corpus through a fresh sink into `path`, allocation k failing (and
 * every one after it when `after`); k = 0 fails none.  The lines written
 * are read back: each must be one whole span. */
static result run(unsigned long k, int after)
{
    at_proc proc;
    at_sink_opts o;
    at_sink *s;
    char path[64] = "/tmp/at_test_oom_XXXXXX";
    uint64_t t = 1000000;
    size_t i, j;
    int fd;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    result r = {0};
    int64_t tool_start[64];
    int nts = 0;

    fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    memset(&proc, 0, sizeof(proc));
    proc.pid = getpid();
    proc.ppid = getppid();
    memset(proc.trace_id, 0xab, 16);
    proc.span_id = 0x1111111111111111ull;
    proc.start_wall_ns = 1700000000000000000ull;
    proc.start_mono_ns = 1000;
    memset(&o, 0, sizeof(o));
    o.proc = &proc;
    o.output = path;
    o.agent_name = "";
    o.capture_content = 1;
    o.max_body = 1 << 20;

    calls = failed = 0;
    fail_at = k;
    fail_after = after;
    armed = 1;
    s = at_sink_new(&o);
    r.started = s != NULL;
    if (s != NULL) {
        for (i = 0; i < n_corpus; i++) {
            exch *e = &corpus[i];
            uint64_t conn = i + 1, off[2] = {0, 0};
            at_open_info info;

            memset(&info, 0, sizeof(info));
            snprintf(info.sni, sizeof(info.sni), "%s", e->sni);
            strcpy(info.addr, "192.0.2.1");
            info.port = (uint16_t)e->port;
            info.family = 2;
            info.tls = (uint8_t)e->tls;
            rec(s, AT_REC_OPEN, conn, 0, &info, sizeof(info), &t);
            for (j = 0; j < e->n; j++) {
                piece *p = &e->pieces[j];

                rec(s, p->dir ? AT_REC_IN : AT_REC_OUT, conn, off[p->dir],
                    p->p, p->len, &t);
                off[p->dir] += p->len;
            }
            rec(s, AT_REC_CLOSE, conn, 0, NULL, 0, &t);
        }
        at_sink_flush(s);
        at_sink_finish(s, t, 0);
        at_sink_del(s);
    }
    /* what the sink thread drops when it ends: each run starts afresh,
     * so that its k-th allocation is the same in every run */
    at_llm_body_shapes_free();
    at_jalloc_release();
    armed = 0;
    r.calls = calls;

    f = fopen(path, "r");
    cr_assert_not_null(f);
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *sp = json_loads(line, 0, &err), *a;
        const char *name;

        cr_assert_not_null(sp, "k=%lu%s: a line that is not JSON: %.200s (%s)",
                           k, after ? "+" : "", line, err.text);
        name = json_string_value(json_object_get(sp, "name"));
        cr_assert(name && json_is_string(json_object_get(sp, "span_id")) &&
                      json_is_string(json_object_get(sp, "trace_id")),
                  "k=%lu: a line that is not a span: %.200s", k, line);
        a = json_object_get(sp, "attributes");
        if (strcmp(json_string_value(json_object_get(sp, "kind")) ?
                       json_string_value(json_object_get(sp, "kind")) : "",
                   "client") == 0) {
            r.client++;
            if (json_object_get(a, "gen_ai.provider.name"))
                r.inference++;
        }
        r.process = strncmp(name, "invoke_agent ", 13) == 0;
        if (strncmp(name, "execute_tool", 12) == 0) {
            /* the tool calls of one response open at one moment */
            int64_t t0 = json_integer_value(
                json_object_get(sp, "start_time_unix_nano"));
            int same = 1, q;

            for (q = 0; q < nts; q++)
                same += tool_start[q] == t0;
            if (same > r.tools_at_once)
                r.tools_at_once = same;
            if (nts < 64)
                tool_start[nts++] = t0;
            r.tools++;
        }
        r.lines++;
        json_decref(sp);
    }
    free(line);
    fclose(f);
    if (getenv("AT_TEST_KEEP"))
        fprintf(stderr, "k=%lu%s: spans in %s\n", k, after ? "+" : "", path);
    else
        unlink(path);
    return r;
}

/* ---- the tests ------------------------------------------------------------ */

static result whole;

/* AT_OOM_K=k: that allocation only (to look at one failure, with
 * AT_OOM_TRACE=1 for where it was made and AT_TEST_KEEP=1 for its spans) */
static unsigned long first_k(void)
{
    return getenv("AT_OOM_K") ? strtoul(getenv("AT_OOM_K"), NULL, 10) : 1;
}

static unsigned long last_k(void)
{
    return getenv("AT_OOM_K") ? first_k() : whole.calls + 50;
}

static void setup(void)
{
    at_log_enabled = getenv("AGENTTRACE_DEBUG") != NULL;
    at_jalloc_install();   /* jansson allocates as in the shim */
    load_corpus();
    whole = run(0, 0);
}

TestSuite(oom, .init = setup, .timeout = 600);

Test(oom, baseline_captures_the_corpus)
{
    /* what the failing runs are held to: a call span for every recording
     * (a model call's, or for Bedrock and Cohere an HTTP call's) */
    cr_assert(whole.calls > 100, "only %lu allocations", whole.calls);
    cr_assert_eq(whole.client, (int)n_corpus,
                 "%d client spans of %zu recordings", whole.client, n_corpus);
    cr_assert_geq(whole.inference, 30, "%d model-call spans",
                  whole.inference);
    cr_assert_geq(whole.tools, 4, "%d execute_tool spans", whole.tools);
    cr_assert_eq(whole.lines, whole.client + whole.tools + 1,
                 "%d lines: not one per call, tool and the process",
                 whole.lines);
    cr_assert(whole.process, "the last line is not the process span");
}

/* Each allocation failing alone: the runs end, every line is a span, and
 * one failure costs at most the exchange it hit (and the tool spans that
 * exchange would have opened). */
Test(oom, every_allocation_failing_once)
{
    unsigned long k, hit = 0;

    for (k = first_k(); k <= last_k(); k++) {
        result r = run(k, 0);

        if (failed == 0)
            continue;   /* this run made fewer allocations */
        hit++;
        if (!r.started)
            continue;   /* no sink: the shim traces nothing, by design */
        cr_assert_geq(r.client, whole.client - 1,
                      "allocation %lu of %lu failing lost %d call spans", k,
                      r.calls, whole.client - r.client);
        cr_assert_geq(r.tools, whole.tools - whole.tools_at_once,
                      "allocation %lu failing lost %d tool spans", k,
                      whole.tools - r.tools);
        cr_assert_leq(r.lines, whole.lines, "allocation %lu: %d lines",
                      k, r.lines);
        cr_assert(r.process, "allocation %lu: no process span last", k);
    }
    if (!getenv("AT_OOM_K"))
        cr_assert_geq(hit, whole.calls * 9 / 10, "only %lu runs failed one",
                      hit);
}

/* Memory gone for good from allocation k on: the runs end, every line
 * written is a whole span, and the process span is still the last (made
 * in memory of its own when the lines buffer cannot grow). */
Test(oom, every_allocation_from_k_on_failing)
{
    unsigned long k;

    for (k = first_k(); k <= last_k(); k++) {
        result r = run(k, 1);

        cr_assert_leq(r.lines, whole.lines, "allocation %lu on: %d lines", k,
                      r.lines);
        cr_assert(!r.started || r.process,
                  "allocations from %lu on failing: no process span last",
                  k);
    }
}

/* The guard of jansson's loads (at_json_loadb, sink/jalloc.c) alone:
 * every JSON body of the corpus loaded with its k-th allocation failing,
 * for every k.  jansson's lexer, left to itself, goes on with a token
 * it could not save and aborts or writes past its buffer; guarded, the
 * load fails cleanly ("out of memory", every block freed: `make asan`
 * checks for leaks) or, when nothing failed, gives the same tree. */
Test(oom, json_loads_failing_at_every_allocation)
{
    size_t i, docs = 0;
    unsigned long k, total = 0;

    for (i = 0; i < n_corpus; i++) {
        exch *e = &corpus[i];
        const char *body = strstr(e->pieces[0].p, "\r\n\r\n");
        size_t n;
        json_error_t err;
        json_t *want, *got;
        int after;

        if (body == NULL)
            continue;
        body += 4;
        n = e->pieces[0].len - (size_t)(body - e->pieces[0].p);
        want = at_json_loadb(body, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (want == NULL)
            continue;   /* not JSON */
        docs++;
        for (after = 0; after < 2; after++) {
            for (k = 1;; k++) {
                at_jalloc_release();   /* every block from malloc */
                calls = failed = 0;
                fail_at = k;
                fail_after = after;
                armed = 1;
                got = at_json_loadb(body, n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                    &err);
                armed = 0;
                if (failed == 0) {
                    cr_assert(got && json_equal(got, want),
                              "%s: not the same tree", e->name);
                    json_decref(got);
                    break;
                }
                total++;
                cr_assert_null(got, "%s: allocation %lu failed, yet a tree",
                               e->name, k);
                cr_assert_str_eq(err.text, "out of memory");
            }
        }
        json_decref(want);
    }
    cr_assert_geq(docs, 25, "only %zu JSON request bodies", docs);
    cr_assert_geq(total, 1000, "only %lu failed loads", total);
}
