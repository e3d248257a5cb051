/* test_cli_stats.c - streaming statistics: nearest-rank percentiles,
 * exact up to the window and within 1% past it in bounded memory, groups
 * per provider and model and per tool, the group cap, and the numbers of
 * the JSON form. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stats.h"

typedef struct pct_case {
    int n;      /* values 1..n (seconds) */
    double p;
    double want;
} pct_case;

static const pct_case hist_nearest_rank_cases[] = {
    {1, 50, 1},   {1, 99, 1},   {2, 50, 1},    {2, 51, 2},
    {10, 50, 5},  {10, 95, 10}, {100, 50, 50}, {100, 95, 95},
    {100, 99, 99}, {100, 100, 100}, {3, 0.1, 1},
};

static void check_hist_nearest_rank(const pct_case *c)
{
    at_cli_hist h;
    int i;

    at_cli_hist_init(&h);
    /* Reverse order: the window is sorted on query. */
    for (i = c->n; i >= 1; i--)
        at_cli_hist_add(&h, i);
    cr_assert(at_cli_hist_is_exact(&h));
    cr_assert_float_eq(at_cli_hist_pct(&h, c->p), c->want, 1e-12,
                       "n=%d p=%g: %g", c->n, c->p, at_cli_hist_pct(&h, c->p));
    at_cli_hist_free(&h);
}

Test(hist, nearest_rank)
{
    size_t i;

    for (i = 0; i < sizeof(hist_nearest_rank_cases) / sizeof(hist_nearest_rank_cases[0]); i++)
        check_hist_nearest_rank(&hist_nearest_rank_cases[i]);
}

Test(hist, empty_is_nan)
{
    at_cli_hist h;

    at_cli_hist_init(&h);
    cr_assert(isnan(at_cli_hist_pct(&h, 50)));
    at_cli_hist_free(&h);
}

Test(hist, past_the_window_within_one_percent)
{
    at_cli_hist h;
    int i, n = getenv("AT_UNDER_VALGRIND") ? 20000 : 200000;
    double ps[] = {50, 95, 99};
    size_t k;

    at_cli_hist_init(&h);
    /* Latencies from 1 ms to 10 s, a long tail. */
    for (i = 1; i <= n; i++)
        at_cli_hist_add(&h, 0.001 * pow(10000.0, (double)i / n));
    cr_assert(!at_cli_hist_is_exact(&h));
    cr_assert_null(h.exact, "the window is gone: memory is fixed");
    for (k = 0; k < 3; k++) {
        double want = 0.001 * pow(10000.0, ceil(ps[k] / 100 * n) / n);
        double got = at_cli_hist_pct(&h, ps[k]);

        cr_assert(fabs(got - want) / want < 0.01, "p%g: %g vs %g", ps[k],
                  got, want);
    }
    cr_assert_float_eq(at_cli_hist_pct(&h, 100), h.max, 1e-12);
    at_cli_hist_free(&h);
}

Test(hist, zeros_and_nonsense)
{
    at_cli_hist h;
    int i;

    at_cli_hist_init(&h);
    for (i = 0; i < 2000; i++)
        at_cli_hist_add(&h, i % 2 ? 0.0 : -1.0);
    at_cli_hist_add(&h, NAN);
    cr_assert_float_eq(at_cli_hist_pct(&h, 99), 0.0, 1e-12);
    at_cli_hist_free(&h);
}

static void add(at_cli_stats *st, const char *name, long long dur_ns,
                const char *attrs, const char *status)
{
    static int id = 1;
    char line[1024], err[128];
    at_cli_span s;

    snprintf(line, sizeof(line),
             "{\"trace_id\":\"11111111111111111111111111111111\","
             "\"span_id\":\"%016x\",\"name\":\"%s\","
             "\"start_time_unix_nano\":1000,\"end_time_unix_nano\":%lld,"
             "\"status\":{\"code\":\"%s\"},\"attributes\":%s}",
             id++, name, 1000 + dur_ns, status, attrs);
    cr_assert_eq(at_cli_span_parse(line, strlen(line), &s, err, sizeof(err)),
                 0, "%s", err);
    at_cli_stats_add(st, &s);
    at_cli_span_free(&s);
}

#define CHAT(model, in, out, cost)                                         \
    "{\"gen_ai.operation.name\":\"chat\",\"gen_ai.provider.name\":"        \
    "\"openai\",\"gen_ai.request.model\":\"" model "\","                   \
    "\"gen_ai.usage.input_tokens\":" #in ",\"gen_ai.usage.output_tokens\":" \
    #out ",\"agenttrace.cost.usd\":" #cost "}"

Test(stats, per_model_and_per_tool)
{
    at_cli_stats st;
    json_t *j, *m, *t;
    int i;

    at_cli_stats_init(&st);
    for (i = 1; i <= 10; i++)
        add(&st, "chat gpt-4o", i * 100000000LL, CHAT("gpt-4o", 10, 2, 0.5),
            "ok");
    add(&st, "chat gpt-4o", 50000000,
        "{\"gen_ai.operation.name\":\"chat\",\"gen_ai.provider.name\":"
        "\"openai\",\"gen_ai.request.model\":\"gpt-4o\",\"error.type\":"
        "\"429\",\"gen_ai.response.time_to_first_chunk\":0.02}",
        "error");
    add(&st, "chat claude", 1000000, CHAT("claude", 1, 1, 0.25), "ok");
    add(&st, "execute_tool get_weather", 2000000,
        "{\"gen_ai.operation.name\":\"execute_tool\",\"gen_ai.tool.name\":"
        "\"get_weather\"}",
        "ok");
    add(&st, "execute_tool get_weather", 4000000,
        "{\"gen_ai.operation.name\":\"execute_tool\",\"gen_ai.tool.name\":"
        "\"get_weather\"}",
        "error");
    add(&st, "GET host", 1000, "{\"http.request.method\":\"GET\","
                               "\"http.response.status_code\":503}",
        "unset");
    j = at_cli_stats_json(&st);
    cr_assert_eq(json_integer_value(json_object_get(j, "spans")), 15);
    cr_assert_eq(json_integer_value(json_object_get(j, "model_calls")), 12);
    cr_assert_eq(json_integer_value(json_object_get(j, "failed")), 3);
    m = json_array_get(json_object_get(j, "models"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(m, "model")),
                     "gpt-4o", "most calls first");
    cr_assert_eq(json_integer_value(json_object_get(m, "calls")), 11);
    cr_assert_eq(json_integer_value(json_object_get(m, "errors")), 1);
    cr_assert_eq(json_integer_value(json_object_get(m, "input_tokens")), 100);
    cr_assert_float_eq(json_real_value(json_object_get(m, "cost_usd")), 5.0,
                       1e-9);
    /* 11 latencies: 0.05, 0.1 .. 1.0: p50 is the 6th, 0.5. */
    cr_assert_float_eq(json_real_value(json_object_get(
                           json_object_get(m, "latency_s"), "p50")),
                       0.5, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(
                           json_object_get(m, "latency_s"), "p99")),
                       1.0, 1e-9);
    cr_assert_float_eq(
        json_real_value(json_object_get(
            json_object_get(m, "time_to_first_chunk_s"), "p95")),
        0.02, 1e-9);
    t = json_array_get(json_object_get(j, "tools"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(t, "name")),
                     "get_weather");
    cr_assert_eq(json_integer_value(json_object_get(t, "errors")), 1);
    cr_assert_float_eq(json_real_value(json_object_get(
                           json_object_get(t, "duration_s"), "p95")),
                       0.004, 1e-9);
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(j, "failures_by_type"), "429")),
                 1);
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(j, "failures_by_type"), "503")),
                 1);
    json_decref(j);
    {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        at_cli_stats_print(&st, f, 0);
        fclose(f);
        cr_assert(strstr(buf, "openai gpt-4o") != NULL, "%s", buf);
        cr_assert(strstr(buf, "get_weather") != NULL, "%s", buf);
        cr_assert(strstr(buf, "failures by type") != NULL, "%s", buf);
        free(buf);
    }
    at_cli_stats_free(&st);
}

Test(stats, groups_are_capped)
{
    at_cli_stats st;
    char attrs[256];
    int i;

    at_cli_stats_init(&st);
    for (i = 0; i < AT_STATS_MAX_GROUPS + 50; i++) {
        snprintf(attrs, sizeof(attrs),
                 "{\"gen_ai.operation.name\":\"execute_tool\","
                 "\"gen_ai.tool.name\":\"tool%d\"}",
                 i);
        add(&st, "execute_tool t", 1000, attrs, "ok");
    }
    cr_assert_eq(st.toolt.n, AT_STATS_MAX_GROUPS + 1);
    {
        json_t *j = at_cli_stats_json(&st), *t;
        size_t k;
        int other = 0;

        json_array_foreach(json_object_get(j, "tools"), k, t)
            if (strcmp(json_string_value(json_object_get(t, "name")),
                       "(other)") == 0)
                other = (int)json_integer_value(json_object_get(t, "calls"));
        cr_assert_eq(other, 50);
        json_decref(j);
    }
    at_cli_stats_free(&st);
}
