/* test_sse.c - unit tests of decode/sse.c (text/event-stream parser).
 *
 * Runs in the Criterion test runner (one forked worker per test).  Every
 * case is fed whole, one byte at a time, split in two at every position
 * and in random pieces, and must give the same events each way.  Two real
 * recorded streams from ../shared/corpus are parsed too (tests run with the
 * repository root as the working directory).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/sse.h"

/* Event size limit used when a case does not name one. */
#define DEFAULT_MAX (1u << 20)

/* The events a feeding produced, as one log: for each event "[name]data"
 * followed by the separator '|'. */
struct log {
    char *p;
    size_t len, cap;
    unsigned long calls;
};

/* log_add: append n bytes to the log. */
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

/* on_event: the at_sse_cb of the tests: logs the event after checking the
 * promised NUL terminators. */
static void on_event(void *ud, const char *event, size_t event_len,
                     const char *data, size_t data_len)
{
    struct log *l = ud;

    cr_assert_not_null(event);
    cr_assert_not_null(data);
    cr_assert_eq(event[event_len], '\0');
    cr_assert_eq(data[data_len], '\0');
    log_add(l, "[", 1);
    log_add(l, event, event_len);
    log_add(l, "]", 1);
    log_add(l, data, data_len);
    log_add(l, "|", 1);
    l->calls++;
}

/* Splitting strategies. */
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

/* What one feeding gave. */
struct sse_result {
    struct log log;
    unsigned long events, oversized;
};

/* feed_sse: parse in[0 .. len) in pieces chosen by `mode` (`arg`: the cut
 * for SPLIT_AT, the seed for SPLIT_RANDOM), each piece in its own exactly
 * sized buffer.  The caller frees res->log.p. */
static void feed_sse(const char *in, size_t len, size_t max_event,
                     enum split_mode mode, uint32_t arg,
                     struct sse_result *res)
{
    at_sse p;
    size_t pos = 0;
    uint32_t rng = arg ? arg : 1;

    memset(res, 0, sizeof(*res));
    log_add(&res->log, "", 0);
    at_sse_init(&p, max_event);
    while (pos < len) {
        size_t size;
        char *piece;

        switch (mode) {
        case SPLIT_ONE:
            size = 1;
            break;
        case SPLIT_AT:
            size = pos < arg ? arg - pos : len - pos;
            break;
        case SPLIT_RANDOM:
            size = 1 + rng_next(&rng) % 9;
            if (rng_next(&rng) % 4 == 0)
                size += rng_next(&rng) % 300;
            break;
        default:
            size = len;
            break;
        }
        if (size > len - pos)
            size = len - pos;
        piece = malloc(size);
        cr_assert_not_null(piece);
        memcpy(piece, in + pos, size);
        cr_assert_eq(at_sse_feed(&p, piece, size, on_event, &res->log), 0);
        free(piece);
        pos += size;
    }
    res->events = p.events;
    res->oversized = p.oversized;
    cr_assert_eq(res->events, res->log.calls);
    at_sse_free(&p);
}

/* One stream and the events it must give. */
struct sse_case {
    const char *name;
    const char *in;
    size_t in_len;        /* 0: strlen(in) */
    size_t max_event;     /* 0: DEFAULT_MAX */
    const char *log;      /* expected log, see struct log */
    size_t log_len;       /* 0: strlen(log) */
    unsigned long events;
    unsigned long oversized;
};

/* LIT: a string literal that may hold NUL bytes, with its length. */
#define LIT(s) s, .in_len = sizeof(s) - 1

/* LOGLIT: the same for an expected log. */
#define LOGLIT(s) s, .log_len = sizeof(s) - 1

static const struct sse_case sse_cases[] = {
    { .name = "lf", .in = "data: hello\n\n", .log = "[]hello|",
      .events = 1 },
    { .name = "crlf", .in = "data: hello\r\n\r\n", .log = "[]hello|",
      .events = 1 },
    { .name = "cr", .in = "data: hello\r\r", .log = "[]hello|",
      .events = 1 },
    { .name = "mixed_line_ends",
      .in = "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r\n",
      .log = "[]a\nb\nc|[]d|", .events = 2 },
    { .name = "crlf_is_one_line_end",
      /* read as CR + LF (two ends) this would be two events "a", "b" */
      .in = "data: a\r\ndata: b\r\n\r\n", .log = "[]a\nb|", .events = 1 },
    { .name = "cr_cr_lf",
      /* CR, then CRLF: two line ends, so one empty line */
      .in = "data: a\r\r\ndata: b\n\n", .log = "[]a|[]b|", .events = 2 },
    { .name = "bom", .in = "\xEF\xBB\xBF" "data: x\n\n", .log = "[]x|",
      .events = 1 },
    { .name = "bom_only_at_start",
      /* a second BOM is content: the field "\xEF\xBB\xBF" "data" is
       * unknown, so that line is ignored */
      .in = "\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n",
      .log = "[]y|", .events = 1 },
    { .name = "partial_bom_is_content",
      .in = "\xEF\xBB" "data: x\n\ndata: y\n\n", .log = "[]y|",
      .events = 1 },
    { .name = "no_bom", .in = "\xEF" "data: x\n\ndata: y\n\n",
      .log = "[]y|", .events = 1 },
    { .name = "comments",
      .in = ": ping\n\ndata: x\n: comment inside\ndata: y\n\n:\n\n",
      .log = "[]x\ny|", .events = 1 },
    { .name = "data_without_space", .in = "data:x\n\ndata:  two\n\n",
      .log = "[]x|[] two|", .events = 2 },
    { .name = "multi_line_data", .in = "data: a\ndata: b\ndata: c\n\n",
      .log = "[]a\nb\nc|", .events = 1 },
    { .name = "event_names",
      .in = "event: update\ndata: 1\n\nevent:other\ndata: 2\n\n"
            "data: 3\n\nevent: a\nevent: b\ndata: 4\n\n",
      .log = "[update]1|[other]2|[]3|[b]4|", .events = 4 },
    { .name = "empty_data_lines",
      .in = "data\n\ndata:\n\ndata: \n\ndata: a\ndata:\ndata: b\n\n",
      .log = "[]|[]|[]|[]a\n\nb|", .events = 4 },
    { .name = "no_data_no_event",
      .in = "event: ping\n\nid: 1\n\nretry: 5\n\ndata: x\n\n",
      .log = "[]x|", .events = 1 },
    { .name = "id_retry_unknown_ignored",
      .in = "id: 5\nretry: 100\nfoo: bar\nData: no\ndata: x\n\n",
      .log = "[]x|", .events = 1 },
    { .name = "colon_in_value", .in = "data: a: b:c\n\n",
      .log = "[]a: b:c|", .events = 1 },
    { .name = "incomplete_final_event",
      .in = "data: a\n\ndata: b\n", .log = "[]a|", .events = 1 },
    { .name = "incomplete_final_line",
      .in = "data: a\n\nevent: x\ndata: b", .log = "[]a|", .events = 1 },
    { .name = "nul_in_data", .in = LIT("data: a\0b\n\n"),
      .log = LOGLIT("[]a\0b|"), .events = 1 },
    { .name = "oversized", .max_event = 8,
      .in = "data: 0123456789abc\n\ndata: short\n\ndata: 12345678\n\n",
      .log = "[]01234567|[]short|[]12345678|", .events = 3,
      .oversized = 1 },
    { .name = "oversized_multi_line", .max_event = 8,
      .in = "data: 12345\ndata: 67890\n\ndata: ok\n\n",
      .log = "[]12345\n67|[]ok|", .events = 2, .oversized = 1 },
    { .name = "oversized_long_line", .max_event = 4,
      .in = "event: big\n"
            "data: 0123456789012345678901234567890123456789"
            "0123456789012345678901234567890123456789"
            "0123456789012345678901234567890123456789\n\n"
            ": 0123456789012345678901234567890123456789"
            "0123456789012345678901234567890123456789\n"
            "data: end\n\n",
      .log = "[big]0123|[]end|", .events = 2, .oversized = 1 },
    { .name = "openai_done",
      .in = "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":"
            "\"Hi\"}}]}\n\ndata: [DONE]\n\n",
      .log = "[]{\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":"
             "\"Hi\"}}]}|[][DONE]|",
      .events = 2 },
    { .name = "anthropic_trailing_whitespace",
      .in = "event: content_block_delta\r\n"
            "data: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}     }\r\n"
            "\r\n"
            "event: message_stop\r\n"
            "data: {\"type\":\"message_stop\" }   \t\r\n\r\n",
      .log = "[content_block_delta]{\"type\":\"content_block_delta\","
             "\"index\":0,\"delta\":{\"type\":\"text_delta\","
             "\"text\":\"Hi\"}     }|"
             "[message_stop]{\"type\":\"message_stop\" }   \t|",
      .events = 2 },
    { .name = "empty_stream", .in = "", .log = "", .events = 0 },
    { .name = "only_blank_lines", .in = "\n\r\n\r\r\n", .log = "",
      .events = 0 },
};

#define N_SSE_CASES (sizeof(sse_cases) / sizeof(sse_cases[0]))

/* check_sse_result: one feeding's result against the case. */
static void check_sse_result(const struct sse_case *c,
                             const struct sse_result *res, const char *how)
{
    size_t log_len = c->log_len ? c->log_len : strlen(c->log);

    cr_assert_eq(res->events, c->events, "%s (%s): %lu events", c->name,
                 how, res->events);
    cr_assert_eq(res->oversized, c->oversized, "%s (%s): %lu oversized",
                 c->name, how, res->oversized);
    cr_assert(res->log.len == log_len &&
                  memcmp(res->log.p, c->log, log_len) == 0,
              "%s (%s): got '%s'", c->name, how, res->log.p);
}

ParameterizedTestParameters(sse, cases)
{
    static size_t idx[N_SSE_CASES];
    size_t i;

    for (i = 0; i < N_SSE_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_SSE_CASES);
}

ParameterizedTest(size_t *ip, sse, cases)
{
    const struct sse_case *c = &sse_cases[*ip];
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    size_t max = c->max_event ? c->max_event : DEFAULT_MAX;
    struct sse_result res;
    uint32_t k;

    feed_sse(c->in, len, max, SPLIT_WHOLE, 0, &res);
    check_sse_result(c, &res, "whole");
    free(res.log.p);
    feed_sse(c->in, len, max, SPLIT_ONE, 0, &res);
    check_sse_result(c, &res, "one byte at a time");
    free(res.log.p);
    for (k = 1; k < len; k++) {
        feed_sse(c->in, len, max, SPLIT_AT, k, &res);
        check_sse_result(c, &res, "split in two");
        free(res.log.p);
    }
    for (k = 1; k <= 20; k++) {
        feed_sse(c->in, len, max, SPLIT_RANDOM, k * 2654435761u, &res);
        check_sse_result(c, &res, "random pieces");
        free(res.log.p);
    }
}

/* A CR ending one feed and the LF starting the next are one line end. */
Test(sse, cr_then_lf_across_feeds)
{
    struct log l = { 0 };
    at_sse p;

    at_sse_init(&p, 1024);
    cr_assert_eq(at_sse_feed(&p, "data: a\r", 8, on_event, &l), 0);
    cr_assert_eq(at_sse_feed(&p, "\ndata: b\r", 9, on_event, &l), 0);
    cr_assert_eq(at_sse_feed(&p, "\n", 1, on_event, &l), 0);
    cr_assert_eq(p.events, 0);
    cr_assert_eq(at_sse_feed(&p, "\r", 1, on_event, &l), 0);
    cr_assert_eq(p.events, 1, "CR alone ends the empty line at once");
    cr_assert_str_eq(l.p, "[]a\nb|");
    cr_assert_eq(at_sse_feed(&p, "\ndata: c\n\n", 10, on_event, &l), 0);
    cr_assert_str_eq(l.p, "[]a\nb|[]c|");
    at_sse_free(&p);
    free(l.p);
}

/* A NULL callback only counts; a parser can be freed and reused. */
Test(sse, null_callback_and_reuse)
{
    struct log l = { 0 };
    at_sse p;

    at_sse_init(&p, 64);
    cr_assert_eq(at_sse_feed(&p, "data: a\n\ndata: b\n\n", 18, NULL, NULL),
                 0);
    cr_assert_eq(p.events, 2);
    at_sse_free(&p);
    at_sse_free(&p);
    at_sse_init(&p, 64);
    cr_assert_eq(at_sse_feed(&p, "data: c\n\n", 9, on_event, &l), 0);
    cr_assert_str_eq(l.p, "[]c|");
    at_sse_free(&p);
    free(l.p);
}

/* read_file: a whole file, NUL-terminated; *len set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    cr_assert_not_null(f, "cannot open %s (run from the repo root)", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* expected_events: "stream": {"events": N} from an expected.json (read
 * with a plain search, to need no JSON library here). */
static unsigned long expected_events(const char *json)
{
    const char *s = strstr(json, "\"stream\"");
    unsigned long n;

    cr_assert_not_null(s);
    s = strstr(s, "\"events\":");
    cr_assert_not_null(s);
    cr_assert_eq(sscanf(s + 9, " %lu", &n), 1);
    return n;
}

/* check_corpus: parse a recorded stream whole, one byte at a time and in
 * random pieces; the count must be the recorded one and all ways equal.
 * Returns the whole-feed result (caller frees log.p). */
static void check_corpus(const char *dir, struct sse_result *whole)
{
    char path[256], *body, *json;
    size_t len, jlen;
    unsigned long want;
    struct sse_result res;
    uint32_t k;

    snprintf(path, sizeof(path), "../shared/corpus/%s/expected.json", dir);
    json = read_file(path, &jlen);
    want = expected_events(json);
    snprintf(path, sizeof(path), "../shared/corpus/%s/response.body", dir);
    body = read_file(path, &len);

    feed_sse(body, len, DEFAULT_MAX, SPLIT_WHOLE, 0, whole);
    cr_assert_eq(whole->events, want, "%s: %lu events, expected %lu", dir,
                 whole->events, want);
    cr_assert_eq(whole->oversized, 0);
    feed_sse(body, len, DEFAULT_MAX, SPLIT_ONE, 0, &res);
    cr_assert_eq(res.events, want);
    cr_assert_str_eq(res.log.p, whole->log.p);
    free(res.log.p);
    for (k = 1; k <= 10; k++) {
        feed_sse(body, len, DEFAULT_MAX, SPLIT_RANDOM, k, &res);
        cr_assert_str_eq(res.log.p, whole->log.p);
        free(res.log.p);
    }
    /* the same stream with CRLF line ends gives the same events */
    {
        char *crlf = malloc(len * 2 + 1);
        size_t i, n = 0;

        cr_assert_not_null(crlf);
        for (i = 0; i < len; i++) {
            if (body[i] == '\n')
                crlf[n++] = '\r';
            crlf[n++] = body[i];
        }
        feed_sse(crlf, n, DEFAULT_MAX, SPLIT_ONE, 0, &res);
        cr_assert_str_eq(res.log.p, whole->log.p);
        free(res.log.p);
        free(crlf);
    }
    free(body);
    free(json);
}

/* starts_with: s begins with prefix. */
static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

Test(sse, corpus_anthropic_messages_streaming)
{
    struct sse_result res;

    check_corpus("anthropic/messages_streaming", &res);
    cr_assert(starts_with(res.log.p,
                          "[message_start]{\"type\":\"message_start\""));
    cr_assert_not_null(strstr(res.log.p, "[ping]{\"type\": \"ping\"}|"));
    cr_assert_not_null(
        strstr(res.log.p, "|[message_stop]{\"type\":\"message_stop\" }|"));
    free(res.log.p);
}

Test(sse, corpus_openai_chat_streaming)
{
    struct sse_result res;
    size_t n;

    check_corpus("openai/chat_streaming", &res);
    cr_assert(starts_with(res.log.p, "[]{\"id\":\"chatcmpl-"));
    n = strlen("|[][DONE]|");
    cr_assert(res.log.len >= n &&
              strcmp(res.log.p + res.log.len - n, "|[][DONE]|") == 0);
    free(res.log.p);
}

/* Line ends at every offset of the 16-byte blocks line_end reads: for each
 * value length to 40 and each line end (LF, CR, CRLF), two data lines and an
 * event line, fed whole (each line read where it is), split in two
 * everywhere and in random pieces (lines through the line buffer); each way
 * must give the event built by hand. */
Test(sse, line_ends_at_every_offset)
{
    static const char *const ends[] = { "\n", "\r", "\r\n" };
    char in[256], want[256];
    size_t e, n, k, len, wl;
    struct sse_result res;

    for (e = 0; e < 3; e++) {
        const char *eol = ends[e];

        for (n = 0; n <= 40; n++) {
            char v[48];

            for (k = 0; k < n; k++)
                v[k] = (char)('a' + k % 26);
            v[n] = '\0';
            len = (size_t)snprintf(in, sizeof(in),
                                   "event: e%s%sdata: %s%sdata:%s%s%s", eol,
                                   n % 3 ? ": c\r" + (n % 2) : "", v, eol,
                                   v + n / 2, eol, eol);
            cr_assert_lt(len, sizeof(in));
            wl = (size_t)snprintf(want, sizeof(want), "[e]%s\n%s|", v,
                                  v + n / 2);
            feed_sse(in, len, DEFAULT_MAX, SPLIT_WHOLE, 0, &res);
            cr_assert(res.log.len == wl && memcmp(res.log.p, want, wl) == 0,
                      "eol %zu, %zu bytes, whole: got '%s'", e, n, res.log.p);
            free(res.log.p);
            for (k = 1; k < len; k += 3) {
                feed_sse(in, len, DEFAULT_MAX, SPLIT_AT, (uint32_t)k, &res);
                cr_assert(res.log.len == wl &&
                              memcmp(res.log.p, want, wl) == 0,
                          "eol %zu, %zu bytes, split at %zu: got '%s'", e, n,
                          k, res.log.p);
                free(res.log.p);
            }
            feed_sse(in, len, DEFAULT_MAX, SPLIT_RANDOM, (uint32_t)(n + 7),
                     &res);
            cr_assert(res.log.len == wl && memcmp(res.log.p, want, wl) == 0);
            free(res.log.p);
        }
    }
}

/* A line longer than the line buffer's bound, whole in one feed (read where
 * it is) and in pieces (through the line buffer): the data is cut at
 * max_event either way, and the event counted as oversized. */
Test(sse, long_line_whole_and_in_pieces)
{
    size_t max = 32, len, k;
    char in[512];
    struct sse_result res;

    len = (size_t)snprintf(in, sizeof(in), "data: ");
    for (k = 0; k < 200; k++)
        in[len++] = (char)('0' + k % 10);
    memcpy(in + len, "\n\ndata: ok\n\n", 12);
    len += 12;
    for (k = 0; k < 3; k++) {
        feed_sse(in, len, max, k == 0 ? SPLIT_WHOLE : k == 1 ? SPLIT_ONE
                                                             : SPLIT_RANDOM,
                 5, &res);
        cr_assert_eq(res.events, 2);
        cr_assert_eq(res.oversized, 1);
        cr_assert_str_eq(res.log.p,
                         "[]01234567890123456789012345678901|[]ok|");
        free(res.log.p);
    }
}
