/* stats.c - streaming per-model and per-tool statistics with bounded
 * memory.  Runs in the inspector's own process. */
#include "cli/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

/* Log buckets: value v > 0 goes to bucket ceil(log(v) / log(GAMMA)); the
 * bucket's representative value 2 * GAMMA^i / (GAMMA + 1) is within
 * (GAMMA - 1) / (GAMMA + 1) < 1% of every value in it.  Indexes cover
 * 1 ns .. 1e7 s. */
#define GAMMA 1.02
#define BUCKET_MIN (-1047)
#define BUCKET_MAX 815
#define NBUCKETS (BUCKET_MAX - BUCKET_MIN + 1)

void at_cli_hist_init(at_cli_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void at_cli_hist_free(at_cli_hist *h)
{
    free(h->exact);
    free(h->buckets);
    memset(h, 0, sizeof(*h));
}

int at_cli_hist_is_exact(const at_cli_hist *h)
{
    return h->buckets == NULL;
}

static void bucket_add(at_cli_hist *h, double v)
{
    int i;

    if (!(v > 1e-9)) {
        h->low++;
        return;
    }
    i = (int)ceil(log(v) / log(GAMMA));
    if (i < BUCKET_MIN)
        i = BUCKET_MIN;
    if (i > BUCKET_MAX)
        i = BUCKET_MAX;
    h->buckets[i - BUCKET_MIN]++;
}

void at_cli_hist_add(at_cli_hist *h, double v)
{
    size_t k;

    if (!(v >= 0) || isinf(v))
        v = 0;
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (h->n == 0 || v > h->max)
        h->max = v;
    h->n++;
    if (h->buckets != NULL) {
        bucket_add(h, v);
        return;
    }
    if (h->exact == NULL)
        h->exact = at_cli_xmalloc(AT_HIST_EXACT * sizeof(*h->exact));
    if (h->n <= AT_HIST_EXACT) {
        h->exact[h->n - 1] = v;
        return;
    }
    /* Past the exact window: fold everything into buckets. */
    h->buckets = at_cli_xcalloc(NBUCKETS, sizeof(*h->buckets));
    for (k = 0; k < AT_HIST_EXACT; k++)
        bucket_add(h, h->exact[k]);
    free(h->exact);
    h->exact = NULL;
    bucket_add(h, v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

double at_cli_hist_pct(const at_cli_hist *h, double p)
{
    uint64_t rank, seen;
    int i;

    if (h->n == 0)
        return NAN;
    rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
    if (rank < 1)
        rank = 1;
    if (rank > h->n)
        rank = h->n;
    if (h->buckets == NULL) {
        double *copy = at_cli_xmalloc(h->n * sizeof(*copy)), v;

        memcpy(copy, h->exact, h->n * sizeof(*copy));
        qsort(copy, h->n, sizeof(*copy), cmp_double);
        v = copy[rank - 1];
        free(copy);
        return v;
    }
    seen = h->low;
    if (seen >= rank)
        return h->min;
    for (i = 0; i < NBUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            double v = 2.0 * pow(GAMMA, i + BUCKET_MIN) / (GAMMA + 1.0);

            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* -------------------------------------------------------------- tables */

static void table_free(at_cli_table *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->g[i].a);
        free(t->g[i].b);
        at_cli_hist_free(&t->g[i].lat);
        at_cli_hist_free(&t->g[i].ttfc);
    }
    free(t->g);
    free(t->hash);
    memset(t, 0, sizeof(*t));
}

static uint64_t key_hash(const char *a, const char *b)
{
    uint64_t h = at_cli_hash(a, strlen(a));

    if (b != NULL)
        h ^= at_cli_hash(b, strlen(b)) * 31;
    return h;
}

static int key_eq(const at_cli_group *g, const char *a, const char *b)
{
    if (strcmp(g->a, a) != 0)
        return 0;
    if ((g->b == NULL) != (b == NULL))
        return 0;
    return b == NULL || strcmp(g->b, b) == 0;
}

static void table_rehash(at_cli_table *t)
{
    size_t i;

    t->hcap = t->hcap ? t->hcap * 2 : 64;
    free(t->hash);
    t->hash = at_cli_xmalloc(t->hcap * sizeof(*t->hash));
    memset(t->hash, 0xff, t->hcap * sizeof(*t->hash));
    for (i = 0; i < t->n; i++) {
        size_t j = key_hash(t->g[i].a, t->g[i].b) & (t->hcap - 1);

        while (t->hash[j] != UINT32_MAX)
            j = (j + 1) & (t->hcap - 1);
        t->hash[j] = (uint32_t)i;
    }
}

/* table_get: the group for (a, b), made when new; past the cap, the group
 * "(other)". */
static at_cli_group *table_get(at_cli_table *t, const char *a, const char *b)
{
    size_t j;
    at_cli_group *g;

    if ((t->n + 1) * 2 > t->hcap)
        table_rehash(t);
    j = key_hash(a, b) & (t->hcap - 1);
    while (t->hash[j] != UINT32_MAX) {
        if (key_eq(&t->g[t->hash[j]], a, b))
            return &t->g[t->hash[j]];
        j = (j + 1) & (t->hcap - 1);
    }
    if (t->n >= AT_STATS_MAX_GROUPS && strcmp(a, "(other)") != 0)
        return table_get(t, "(other)", b ? "(other)" : NULL);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->g = at_cli_xrealloc(t->g, t->cap * sizeof(*t->g));
    }
    g = &t->g[t->n];
    memset(g, 0, sizeof(*g));
    g->a = at_cli_xstrdup(a);
    g->b = b ? at_cli_xstrdup(b) : NULL;
    at_cli_hist_init(&g->lat);
    at_cli_hist_init(&g->ttfc);
    t->hash[j] = (uint32_t)t->n;
    t->n++;
    return g;
}

void at_cli_stats_init(at_cli_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->first_ns = INT64_MAX;
    st->last_ns = INT64_MIN;
}

void at_cli_stats_free(at_cli_stats *st)
{
    table_free(&st->models);
    table_free(&st->toolt);
    table_free(&st->errors);
}

void at_cli_stats_add(at_cli_stats *st, const at_cli_span *s)
{
    double secs = (double)at_cli_span_duration(s) / 1e9;
    at_cli_group *g;

    st->spans++;
    if (s->start_ns < st->first_ns)
        st->first_ns = s->start_ns;
    if (s->end_ns > st->last_ns)
        st->last_ns = s->end_ns;
    if (s->failed) {
        char code[16];
        const char *type = s->error_type;

        st->failed++;
        if (type == NULL && s->http_status >= 400) {
            snprintf(code, sizeof(code), "%d", s->http_status);
            type = code;
        }
        if (type == NULL && s->has_exit && s->exit_code != 0)
            type = "exit code";
        g = table_get(&st->errors, type ? type : "error", NULL);
        g->calls++;
    }
    switch (s->cat) {
    case AT_CAT_LLM:
        st->llm++;
        g = table_get(&st->models, s->provider ? s->provider : "(unknown)",
                      s->model ? s->model : "(unknown)");
        g->calls++;
        if (s->failed)
            g->errors++;
        if (s->in_tok > 0)
            g->in_tok += s->in_tok;
        if (s->out_tok > 0)
            g->out_tok += s->out_tok;
        if (s->cost >= 0) {
            g->cost += s->cost;
            g->priced++;
        }
        at_cli_hist_add(&g->lat, secs);
        if (s->ttfc >= 0)
            at_cli_hist_add(&g->ttfc, s->ttfc);
        break;
    case AT_CAT_TOOL:
        st->tools++;
        g = table_get(&st->toolt, s->tool ? s->tool : "(unknown)", NULL);
        g->calls++;
        if (s->failed)
            g->errors++;
        at_cli_hist_add(&g->lat, secs);
        break;
    case AT_CAT_HTTP:
        st->http++;
        break;
    case AT_CAT_AGENT:
    case AT_CAT_PROCESS:
        st->procs++;
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- output */

static int cmp_group(const void *a, const void *b, void *ctx)
{
    const at_cli_table *t = ctx;
    const at_cli_group *x = &t->g[*(const uint32_t *)a];
    const at_cli_group *y = &t->g[*(const uint32_t *)b];
    int c;

    if (x->calls != y->calls)
        return x->calls > y->calls ? -1 : 1;
    c = strcmp(x->a, y->a);
    if (c != 0 || x->b == NULL || y->b == NULL)
        return c;
    return strcmp(x->b, y->b);
}

/* sorted: group indexes by calls, most first.  Caller frees. */
static uint32_t *sorted(const at_cli_table *t)
{
    uint32_t *o = at_cli_xmalloc((t->n ? t->n : 1) * sizeof(*o));
    size_t i;

    for (i = 0; i < t->n; i++)
        o[i] = (uint32_t)i;
    qsort_r(o, t->n, sizeof(*o), cmp_group, (void *)t);
    return o;
}

static void pct_cell(char *out, size_t n, const at_cli_hist *h, double p)
{
    double v = at_cli_hist_pct(h, p);

    if (isnan(v)) {
        snprintf(out, n, "-");
        return;
    }
    char tmp[40];

    at_cli_fmt_seconds(v, tmp, sizeof(tmp));
    snprintf(out, n, "%s%s", at_cli_hist_is_exact(h) ? "" : "~", tmp);
}

static int any_approx(const at_cli_table *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (!at_cli_hist_is_exact(&t->g[i].lat) ||
            !at_cli_hist_is_exact(&t->g[i].ttfc))
            return 1;
    return 0;
}

void at_cli_stats_print(const at_cli_stats *st, FILE *out, int color)
{
    const char *b = color ? "\033[1m" : "", *r = color ? "\033[0m" : "";
    const char *red = color ? "\033[31m" : "";
    char t1[48], t2[48], t3[48], t4[48], t5[48], c[32];
    uint32_t *o;
    size_t i, w = 5;

    if (st->spans == 0) {
        fprintf(out, "no spans\n");
        return;
    }
    at_cli_fmt_time(st->first_ns, t1, sizeof(t1));
    at_cli_fmt_duration(st->last_ns - st->first_ns, t2, sizeof(t2));
    fprintf(out,
            "%s%llu span%s%s from %s over %s: %llu model call%s, %llu tool "
            "call%s, %llu HTTP call%s, %llu process%s, %s%llu failed%s\n",
            b, (unsigned long long)st->spans, st->spans == 1 ? "" : "s", r,
            t1, t2, (unsigned long long)st->llm, st->llm == 1 ? "" : "s",
            (unsigned long long)st->tools, st->tools == 1 ? "" : "s",
            (unsigned long long)st->http, st->http == 1 ? "" : "s",
            (unsigned long long)st->procs, st->procs == 1 ? "" : "es",
            st->failed ? red : "", (unsigned long long)st->failed,
            st->failed ? r : "");

    if (st->models.n) {
        for (i = 0; i < st->models.n; i++) {
            size_t l = strlen(st->models.g[i].a) + 1 +
                       strlen(st->models.g[i].b);
            if (l > w)
                w = l;
        }
        if (w > 48)
            w = 48;
        fprintf(out, "\n%s%-*s %7s %6s %10s %10s %10s %9s %9s %9s %9s "
                     "%9s%s\n",
                b, (int)w, "model", "calls", "errors", "in tokens",
                "out tokens", "cost", "p50", "p95", "p99", "ttfc p50",
                "ttfc p95", r);
        o = sorted(&st->models);
        for (i = 0; i < st->models.n; i++) {
            const at_cli_group *g = &st->models.g[o[i]];
            char name[256];

            snprintf(name, sizeof(name), "%s %s", g->a, g->b);
            if (g->priced)
                at_cli_fmt_cost(g->cost, c, sizeof(c));
            else
                snprintf(c, sizeof(c), "-");
            pct_cell(t1, sizeof(t1), &g->lat, 50);
            pct_cell(t2, sizeof(t2), &g->lat, 95);
            pct_cell(t3, sizeof(t3), &g->lat, 99);
            pct_cell(t4, sizeof(t4), &g->ttfc, 50);
            pct_cell(t5, sizeof(t5), &g->ttfc, 95);
            fprintf(out,
                    "%-*.*s %7llu %s%6llu%s %10lld %10lld %10s %9s %9s %9s "
                    "%9s %9s\n",
                    (int)w, (int)w, name, (unsigned long long)g->calls,
                    g->errors ? red : "", (unsigned long long)g->errors,
                    g->errors ? r : "", (long long)g->in_tok,
                    (long long)g->out_tok, c, t1, t2, t3, t4, t5);
        }
        free(o);
    }
    if (st->toolt.n) {
        w = 5;
        for (i = 0; i < st->toolt.n; i++)
            if (strlen(st->toolt.g[i].a) > w)
                w = strlen(st->toolt.g[i].a);
        if (w > 48)
            w = 48;
        fprintf(out, "\n%s%-*s %7s %6s %9s %9s%s\n", b, (int)w, "tool",
                "calls", "errors", "p50", "p95", r);
        o = sorted(&st->toolt);
        for (i = 0; i < st->toolt.n; i++) {
            const at_cli_group *g = &st->toolt.g[o[i]];

            pct_cell(t1, sizeof(t1), &g->lat, 50);
            pct_cell(t2, sizeof(t2), &g->lat, 95);
            fprintf(out, "%-*.*s %7llu %s%6llu%s %9s %9s\n", (int)w, (int)w,
                    g->a, (unsigned long long)g->calls, g->errors ? red : "",
                    (unsigned long long)g->errors, g->errors ? r : "", t1,
                    t2);
        }
        free(o);
    }
    if (st->errors.n) {
        fprintf(out, "\n%sfailures by type%s\n", b, r);
        o = sorted(&st->errors);
        for (i = 0; i < st->errors.n; i++)
            fprintf(out, "  %-24s %llu\n", st->errors.g[o[i]].a,
                    (unsigned long long)st->errors.g[o[i]].calls);
        free(o);
    }
    if (any_approx(&st->models) || any_approx(&st->toolt))
        fprintf(out, "\n~: over %d values, percentiles are within 1%%\n",
                AT_HIST_EXACT);
}

static json_t *pct_json(const at_cli_hist *h, int p99)
{
    json_t *o;

    if (h->n == 0)
        return json_null();
    o = json_object();
    json_object_set_new(o, "p50", json_real(at_cli_hist_pct(h, 50)));
    json_object_set_new(o, "p95", json_real(at_cli_hist_pct(h, 95)));
    if (p99)
        json_object_set_new(o, "p99", json_real(at_cli_hist_pct(h, 99)));
    json_object_set_new(o, "exact", json_boolean(at_cli_hist_is_exact(h)));
    return o;
}

json_t *at_cli_stats_json(const at_cli_stats *st)
{
    json_t *root = json_object(), *a;
    uint32_t *o;
    size_t i;

    json_object_set_new(root, "spans", json_integer((json_int_t)st->spans));
    json_object_set_new(root, "model_calls",
                        json_integer((json_int_t)st->llm));
    json_object_set_new(root, "tool_calls",
                        json_integer((json_int_t)st->tools));
    json_object_set_new(root, "http_calls",
                        json_integer((json_int_t)st->http));
    json_object_set_new(root, "processes",
                        json_integer((json_int_t)st->procs));
    json_object_set_new(root, "failed", json_integer((json_int_t)st->failed));
    if (st->spans) {
        json_object_set_new(root, "start_time_unix_nano",
                            json_integer(st->first_ns));
        json_object_set_new(root, "end_time_unix_nano",
                            json_integer(st->last_ns));
    }
    a = json_array();
    o = sorted(&st->models);
    for (i = 0; i < st->models.n; i++) {
        const at_cli_group *g = &st->models.g[o[i]];
        json_t *m = json_object();

        json_object_set_new(m, "provider", json_string(g->a));
        json_object_set_new(m, "model", json_string(g->b));
        json_object_set_new(m, "calls", json_integer((json_int_t)g->calls));
        json_object_set_new(m, "errors", json_integer((json_int_t)g->errors));
        json_object_set_new(m, "input_tokens", json_integer(g->in_tok));
        json_object_set_new(m, "output_tokens", json_integer(g->out_tok));
        json_object_set_new(m, "cost_usd",
                            g->priced ? json_real(g->cost) : json_null());
        json_object_set_new(m, "latency_s", pct_json(&g->lat, 1));
        json_object_set_new(m, "time_to_first_chunk_s",
                            pct_json(&g->ttfc, 0));
        json_array_append_new(a, m);
    }
    free(o);
    json_object_set_new(root, "models", a);
    a = json_array();
    o = sorted(&st->toolt);
    for (i = 0; i < st->toolt.n; i++) {
        const at_cli_group *g = &st->toolt.g[o[i]];
        json_t *m = json_object();

        json_object_set_new(m, "name", json_string(g->a));
        json_object_set_new(m, "calls", json_integer((json_int_t)g->calls));
        json_object_set_new(m, "errors", json_integer((json_int_t)g->errors));
        json_object_set_new(m, "duration_s", pct_json(&g->lat, 0));
        json_array_append_new(a, m);
    }
    free(o);
    json_object_set_new(root, "tools", a);
    a = json_object();
    for (i = 0; i < st->errors.n; i++)
        json_object_set_new(a, st->errors.g[i].a,
                            json_integer((json_int_t)st->errors.g[i].calls));
    json_object_set_new(root, "failures_by_type", a);
    return root;
}
