/* test_ndjson.c - unit tests of decode/ndjson.c, the NDJSON line splitter.
 *
 * Every case is fed whole, one byte at a time, and in pieces of 2, 3 and 5
 * bytes; the lines handed on must be the same each way.
 *
 * Runs as a Criterion test program (each test in its own process).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/ndjson.h"

/* The lines seen, joined with '|' (none of the cases has one inside a
 * line). */
struct seen {
    char s[512];
    size_t len;
    int calls;
};

/* on_line: the at_ndjson_cb of the tests. */
static void on_line(void *ud, const char *line, size_t len)
{
    struct seen *o = ud;

    cr_assert_eq(line[len], '\0', "lines are NUL-terminated");
    cr_assert_lt(o->len + len + 1, sizeof(o->s));
    if (o->calls++ > 0)
        o->s[o->len++] = '|';
    memcpy(o->s + o->len, line, len);
    o->len += len;
    o->s[o->len] = '\0';
}

/* One case: input bytes (with their length, NULs allowed), the line limit,
 * the lines expected (joined with '|'; "\\0" in them stands for a NUL)
 * and how many lines are dropped as too long. */
struct split_case {
    char in[160];
    size_t in_len;   /* 0: strlen(in) */
    size_t max_line;
    char want[160];
    unsigned long oversized;
};

ParameterizedTestParameters(ndjson, split)
{
    static struct split_case cases[] = {
        {"{\"a\":1}\n{\"b\":2}\n", 0, 64, "{\"a\":1}|{\"b\":2}", 0},
        {"{\"a\":1}\r\n{\"b\":2}\r\n", 0, 64, "{\"a\":1}|{\"b\":2}", 0},
        /* the last line without its LF: handed on by finish */
        {"{\"a\":1}\n{\"b\":2}", 0, 64, "{\"a\":1}|{\"b\":2}", 0},
        {"{\"a\":1}\r", 0, 64, "{\"a\":1}", 0},
        /* blank lines and lines of blanks are skipped */
        {"\n\n{\"a\":1}\n \t\r\n\r\n{\"b\":2}\n\n", 0, 64,
         "{\"a\":1}|{\"b\":2}", 0},
        /* a BOM at the start only */
        {"\xef\xbb\xbf{\"a\":1}\n\xef\xbb\xbf{}\n", 0, 64,
         "{\"a\":1}|\xef\xbb\xbf{}", 0},
        /* not a BOM after all: its bytes are content */
        {"\xef\xbb{}\n", 0, 64, "\xef\xbb{}", 0},
        {"\xef{}\n", 0, 64, "\xef{}", 0},
        /* a CR inside a line is JSON whitespace: kept; only the last one
         * goes */
        {"{\"a\":\r1}\r\r\n", 0, 64, "{\"a\":\r1}\r", 0},
        /* limits: 8 bytes fit, with or without CR; 9 do not */
        {"12345678\n12345678\r\n123456789\n1\n", 0, 8,
         "12345678|12345678|1", 1},
        {"123456789\r\n", 0, 8, "", 1},
        {"1234567890123456789012345", 0, 8, "", 1},
        {"123456789\n{}", 0, 8, "{}", 1},
        /* NUL bytes pass through inside a line */
        {"a\0b\nc\n", 6, 64, "a\\0b|c", 0},
        {"", 0, 64, "", 0},
        {"\r\n", 0, 64, "", 0},
        {" ", 0, 64, "", 0},
    };
    return cr_make_param_array(struct split_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

/* expand: the case's want with "\\0" made a NUL, into out; its length. */
static size_t expand(const char *want, char *out)
{
    size_t i = 0, o = 0;

    while (want[i] != '\0') {
        if (want[i] == '\\' && want[i + 1] == '0') {
            out[o++] = '\0';
            i += 2;
        } else {
            out[o++] = want[i++];
        }
    }
    return o;
}

ParameterizedTest(struct split_case *c, ndjson, split)
{
    static const size_t steps[] = {0, 1, 2, 3, 5};
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    char want[160];
    size_t want_len = expand(c->want, want);
    size_t k, i;

    for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        size_t step = steps[k] ? steps[k] : (len ? len : 1);
        struct seen o;
        at_ndjson p;

        memset(&o, 0, sizeof(o));
        at_ndjson_init(&p, c->max_line);
        for (i = 0; i < len; i += step)
            cr_assert_eq(at_ndjson_feed(&p, c->in + i,
                                        len - i < step ? len - i : step,
                                        on_line, &o),
                         0);
        cr_assert_eq(at_ndjson_finish(&p, on_line, &o), 0);
        cr_expect_eq(o.len, want_len, "step %zu: '%s'", step, o.s);
        cr_expect_eq(memcmp(o.s, want, want_len), 0, "step %zu: '%s'", step,
                     o.s);
        cr_expect_eq(p.lines, (unsigned long)o.calls, "step %zu", step);
        cr_expect_eq(p.oversized, c->oversized, "step %zu", step);
        at_ndjson_free(&p);
    }
}

Test(ndjson, finish_twice_and_reuse)
{
    struct seen o;
    at_ndjson p;

    memset(&o, 0, sizeof(o));
    at_ndjson_init(&p, 16);
    at_ndjson_feed(&p, "{\"a\"", 4, on_line, &o);
    at_ndjson_feed(&p, ":1}", 3, on_line, &o);
    cr_expect_eq(o.calls, 0);
    at_ndjson_finish(&p, on_line, &o);
    at_ndjson_finish(&p, on_line, &o);
    cr_expect_eq(o.calls, 1);
    cr_expect_str_eq(o.s, "{\"a\":1}");
    /* a new stream: its BOM is skipped again */
    at_ndjson_feed(&p, "\xef\xbb\xbf{}", 5, on_line, &o);
    at_ndjson_finish(&p, on_line, &o);
    cr_expect_str_eq(o.s, "{\"a\":1}|{}");
    at_ndjson_free(&p);
    at_ndjson_free(&p);
    /* NULL callback: lines are counted all the same */
    at_ndjson_init(&p, 16);
    at_ndjson_feed(&p, "1\n2\n3", 5, NULL, NULL);
    at_ndjson_finish(&p, NULL, NULL);
    cr_expect_eq(p.lines, 3);
    at_ndjson_free(&p);
}

/* A long stream in pieces that fall anywhere: the memory held is one
 * line, whatever the stream's length. */
Test(ndjson, long_stream)
{
    const char *line = "{\"message\":{\"content\":\"tok\"},\"done\":false}\n";
    size_t ll = strlen(line), n = getenv("AT_UNDER_VALGRIND") ? 2000 : 50000;
    size_t total = ll * n, i, off = 0;
    char *big = malloc(total);
    struct seen o;
    at_ndjson p;

    cr_assert_not_null(big);
    for (i = 0; i < n; i++)
        memcpy(big + i * ll, line, ll);
    memset(&o, 0, sizeof(o));
    at_ndjson_init(&p, 1 << 16);
    for (i = 0; off < total; i++) {
        size_t step = 1 + (i * 7919) % 997;

        if (step > total - off)
            step = total - off;
        cr_assert_eq(at_ndjson_feed(&p, big + off, step, NULL, NULL), 0);
        off += step;
        cr_assert_leq(p.line.cap, 256); /* one line's room */
    }
    at_ndjson_finish(&p, NULL, NULL);
    cr_expect_eq(p.lines, n);
    cr_expect_eq(p.oversized, 0);
    at_ndjson_free(&p);
    free(big);
}

/* An endless line is dropped without growing past the limit. */
Test(ndjson, endless_line_bounded)
{
    char chunk[4096];
    struct seen o;
    at_ndjson p;
    int i;

    memset(chunk, 'x', sizeof(chunk));
    memset(&o, 0, sizeof(o));
    at_ndjson_init(&p, 1000);
    for (i = 0; i < 256; i++)
        cr_assert_eq(at_ndjson_feed(&p, chunk, sizeof(chunk), on_line, &o),
                     0);
    cr_expect_leq(p.line.cap, 1001);
    at_ndjson_feed(&p, "\n{}\n", 4, on_line, &o);
    at_ndjson_finish(&p, on_line, &o);
    cr_expect_eq(p.oversized, 1);
    cr_expect_str_eq(o.s, "{}");
    at_ndjson_free(&p);
}
