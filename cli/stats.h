/* stats.h - streaming statistics over spans: per provider and model
 * (calls, errors, tokens, cost, latency and time-to-first-chunk
 * percentiles) and per tool (calls, errors, duration percentiles).
 * Memory does not grow with the number of spans: a histogram keeps its
 * first AT_HIST_EXACT values (exact percentiles) and past that folds them
 * into log-spaced buckets (percentiles within 1%, relative); the number of
 * groups is capped at AT_STATS_MAX_GROUPS per table, the rest counted
 * under "(other)".  Runs in the inspector's own process. */
#ifndef AT_CLI_STATS_H
#define AT_CLI_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "cli/span.h"

#define AT_HIST_EXACT 1024
#define AT_STATS_MAX_GROUPS 1000

typedef struct at_cli_hist {
    uint64_t n;
    double min, max;
    double *exact;     /* the first AT_HIST_EXACT values, while exact */
    uint32_t *buckets; /* once past AT_HIST_EXACT: log buckets */
    uint64_t low;      /* values at or below the first bucket (<= 1 ns) */
} at_cli_hist;

void at_cli_hist_init(at_cli_hist *h);
void at_cli_hist_free(at_cli_hist *h);
/* at_cli_hist_add: one value (seconds; negative and NaN counted as 0). */
void at_cli_hist_add(at_cli_hist *h, double v);
/* at_cli_hist_pct: the nearest-rank p-th percentile (0 < p <= 100): the
 * smallest value with at least p% of the values at or below it.  NaN when
 * empty.  Exact while h->buckets is NULL. */
double at_cli_hist_pct(const at_cli_hist *h, double p);
int at_cli_hist_is_exact(const at_cli_hist *h);

typedef struct at_cli_group {
    char *a, *b;       /* provider and model, or tool name and NULL */
    uint64_t calls, errors;
    int64_t in_tok, out_tok;
    double cost;
    uint64_t priced;   /* calls with a cost */
    at_cli_hist lat, ttfc;
} at_cli_group;

typedef struct at_cli_table {
    at_cli_group *g;
    size_t n, cap;
    uint32_t *hash;
    size_t hcap;
} at_cli_table;

typedef struct at_cli_stats {
    uint64_t spans, llm, tools, http, procs, failed;
    int64_t first_ns, last_ns;
    at_cli_table models, toolt, errors; /* errors: by error type */
} at_cli_stats;

void at_cli_stats_init(at_cli_stats *st);
void at_cli_stats_free(at_cli_stats *st);
void at_cli_stats_add(at_cli_stats *st, const at_cli_span *s);

/* at_cli_stats_print: the tables as text. */
void at_cli_stats_print(const at_cli_stats *st, FILE *out, int color);
/* at_cli_stats_json: the same as a JSON object (new reference). */
json_t *at_cli_stats_json(const at_cli_stats *st);

#endif
