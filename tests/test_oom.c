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
 * k-th on failing.  Those runs start from a sink thread's second; a
 * fresh process's first run, whose one-time allocations they never meet,
 * is played in a child of its own for each k (oom_fresh).  Under `make
 * asan` the same runs check the error paths for leaks and undefined
 * behaviour.
 */
#include <criterion/criterion.h>
#include <execinfo.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corpus_records.h"
#include "preload/log.h"
#include "decode/llm.h"
#include "sink/jalloc.h"
#include "sink/sink.h"

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
/* In a child of oom_fresh: where a failed check is said before the
 * child exits 1 (criterion's asserts belong to the test's own process). */
static int child_fd = -1;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            if (child_fd >= 0) {                                          \
                dprintf(child_fd, __VA_ARGS__);                           \
                _exit(1);                                                 \
            }                                                             \
            cr_assert_fail(__VA_ARGS__);                                  \
        }                                                                 \
    } while (0)

static void rec(at_sink *s, int kind, uint64_t conn, uint64_t arg,
                const void *p, size_t len, uint64_t *t)
{
    static char *copy;
    static size_t copy_cap;
    at_rec_hdr h;

    if (len > copy_cap) {
        copy_cap = len;
        copy = __real_realloc(copy, copy_cap);
        CHECK(copy != NULL, "no memory for a record");
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
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    test_proc(&proc, 0xab, 0x1111111111111111ull);
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

            open_info(e, 0, &info);
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
    CHECK(f != NULL, "k=%lu: no span file", k);
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *sp = json_loads(line, 0, &err), *a;
        const char *name;

        CHECK(sp != NULL, "k=%lu%s: a line that is not JSON: %.200s (%s)",
                           k, after ? "+" : "", line, err.text);
        name = json_string_value(json_object_get(sp, "name"));
        CHECK(name && json_is_string(json_object_get(sp, "span_id")) &&
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
    /* the first run makes what a sink thread keeps for good (buffers the
     * decoders grow once), so the second is what every later run is */
    run(0, 0);
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
/* A run with allocation k failing once, against the reference run: at
 * most the exchange it hit lost (its call span and the tool spans its
 * response opened), no line more, the process span last.  NULL, or why
 * not (in why). */
static const char *judge_once(const result *r, const result *ref,
                              unsigned long k, char *why, size_t n)
{
    if (!r->started)
        return NULL;   /* no sink: the shim traces nothing, by design */
    if (r->client < ref->client - 1)
        snprintf(why, n, "allocation %lu of %lu failing lost %d call spans",
                 k, r->calls, ref->client - r->client);
    else if (r->tools < ref->tools - ref->tools_at_once)
        snprintf(why, n, "allocation %lu failing lost %d tool spans", k,
                 ref->tools - r->tools);
    else if (r->lines > ref->lines)
        snprintf(why, n, "allocation %lu: %d lines", k, r->lines);
    else if (!r->process)
        snprintf(why, n, "allocation %lu: no process span last", k);
    else
        return NULL;
    return why;
}

Test(oom, every_allocation_failing_once)
{
    unsigned long k, hit = 0;
    char why[200];

    for (k = first_k(); k <= last_k(); k++) {
        result r = run(k, 0);
        const char *bad;

        if (failed == 0)
            continue;   /* this run made fewer allocations */
        hit++;
        bad = judge_once(&r, &whole, k, why, sizeof(why));
        cr_assert_null(bad, "%s", bad);
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

/* ---- a process's first run ------------------------------------------------ */

/* The runs above start from a sink thread's second run: what a thread
 * makes once and keeps (jansson trees the decoders keep, buffers grown on
 * a first body: 231 of a first run's 702 allocations natively) is made
 * before them, and never fails.  Here each run is a fresh process's first:
 * a child of this test's process, which has played nothing, makes its
 * k-th allocation fail, judges its run as above and says why on a pipe
 * when it fails.  Every k natively; under ASan, whose allocator takes
 * every jansson block from malloc (several times as many), a k in every
 * so many, at most 300 runs. */
static result fresh_run(unsigned long k, int *status, char *why, size_t n)
{
    result r = {0};
    int p[2];
    pid_t pid;
    ssize_t got, at = 0;

    cr_assert_eq(pipe(p), 0);
    pid = fork();
    cr_assert(pid >= 0, "fork");
    if (pid == 0) {
        close(p[0]);
        child_fd = p[1];
        r = run(k, 0);
        if (write(p[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    /* the result, or the message of a failed check */
    while (at < (ssize_t)n - 1 &&
           (got = read(p[0], why + at, (size_t)(n - 1 - (size_t)at))) > 0)
        at += got;
    why[at] = '\0';
    close(p[0]);
    cr_assert_eq(waitpid(pid, status, 0), pid);
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0 &&
        at == (ssize_t)sizeof(r))
        memcpy(&r, why, sizeof(r));
    return r;
}

/* every k natively (a first run makes about 700 allocations); a sample
 * under ASan, where each run is slower and makes several times as many */
#ifdef __SANITIZE_ADDRESS__
#define FRESH_RUNS_MAX 300
#else
#define FRESH_RUNS_MAX 2000
#endif

static void setup_fresh(void)
{
    at_log_enabled = getenv("AGENTTRACE_DEBUG") != NULL;
    at_jalloc_install();
    load_corpus();
}

TestSuite(oom_fresh, .init = setup_fresh, .timeout = 600);

Test(oom_fresh, every_first_run_allocation_failing_once)
{
    char why[4096], judged[200];
    int status;
    result ref = fresh_run(0, &status, why, sizeof(why)), r;
    unsigned long k, step, runs = 0;
    const char *bad;

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the reference run: %s", why);
    cr_assert_gt(ref.calls, 100, "a first run of %lu allocations", ref.calls);
    cr_assert(ref.process && ref.client == (int)n_corpus,
              "the reference run: %d call spans", ref.client);
    step = ref.calls > FRESH_RUNS_MAX ? ref.calls / FRESH_RUNS_MAX + 1 : 1;
    for (k = first_k(); k <= (getenv("AT_OOM_K") ? first_k() : ref.calls);
         k += step) {
        r = fresh_run(k, &status, why, sizeof(why));
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "allocation %lu of a first run failing: %s (status %#x)",
                  k, why, status);
        bad = judge_once(&r, &ref, k, judged, sizeof(judged));
        cr_assert_null(bad, "a first run: %s", bad);
        runs++;
    }
    cr_assert_geq(runs, 100, "only %lu first runs", runs);
}
