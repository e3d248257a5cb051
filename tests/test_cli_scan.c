/* test_cli_scan.c - the fast span scanner agrees with the jansson-based
 * parser: on a realistic line, on every prefix of it (a line cut off), on
 * every one-byte damage of it, and on the corners of JSON (escapes,
 * surrogates, UTF-8, big numbers, nesting depth, duplicate keys): the
 * same lines are accepted, and an accepted line gives the same fields. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/scan.h"
#include "cli/span.h"

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* agree: both parsers on line[0..n); a description of the first
 * difference into why, or 0. */
static int agree(const char *line, size_t n, char *why, size_t wl)
{
    at_cli_span a, b;
    at_cli_buf scratch;
    char e1[128], e2[128];
    int r1, r2, ok = 1;

    at_cli_buf_init(&scratch);
    r1 = at_cli_span_parse(line, n, &a, e1, sizeof(e1));
    r2 = at_cli_span_scan(line, n, &b, &scratch, e2, sizeof(e2));
    if (r1 != r2) {
        snprintf(why, wl, "jansson %d (%s), scan %d (%s)", r1,
                 r1 ? e1 : "ok", r2, r2 ? e2 : "ok");
        ok = 0;
    } else if (r1 == 0) {
#define EQ(f) (a.f == b.f)
#define SEQ(f) same_str(a.f, b.f)
        if (!(SEQ(name) && EQ(kind) && EQ(status) && SEQ(status_msg) &&
              EQ(start_ns) && EQ(end_ns) && EQ(cat) && SEQ(op) &&
              SEQ(provider) && SEQ(model) && SEQ(resp_model) && SEQ(tool) &&
              SEQ(error_type) && SEQ(finish) && EQ(in_tok) && EQ(out_tok) &&
              EQ(cost) && EQ(ttfc) && EQ(http_status) && EQ(has_exit) &&
              EQ(exit_code) && EQ(failed) && SEQ(url) && EQ(span_u64) &&
              EQ(parent_u64) && strcmp(a.trace_id, b.trace_id) == 0 &&
              strcmp(a.parent_id, b.parent_id) == 0)) {
            snprintf(why, wl, "fields differ (name %s/%s, cat %d/%d, model "
                              "%s/%s, start %lld/%lld)",
                     a.name, b.name, a.cat, b.cat, a.model ? a.model : "-",
                     b.model ? b.model : "-", (long long)a.start_ns,
                     (long long)b.start_ns);
            ok = 0;
        }
#undef EQ
#undef SEQ
        at_cli_span_free(&a);
    } else if (strncmp(e1, "not JSON", 8) != strncmp(e2, "not JSON", 8) &&
               (strncmp(e1, "not JSON", 8) == 0) !=
                   (strncmp(e2, "not JSON", 8) == 0)) {
        snprintf(why, wl, "reasons differ: %s / %s", e1, e2);
        ok = 0;
    }
    at_cli_buf_free(&scratch);
    return ok;
}

static const char LINE[] =
    "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":"
    "\"00f067aa0ba902b7\",\"parent_span_id\":\"a3ce929d0e0e4736\","
    "\"name\":\"chat gpt-4o\",\"kind\":\"client\",\"start_time_unix_nano\":"
    "1763800000000000000,\"end_time_unix_nano\":1763800000412000000,"
    "\"status\":{\"code\":\"error\",\"message\":\"caf\xc3\xa9 \\u00e9\\n\"},"
    "\"resource\":{\"service.name\":\"a\",\"process.pid\":3},"
    "\"attributes\":{\"gen_ai.operation.name\":\"chat\","
    "\"gen_ai.provider.name\":\"openai\",\"gen_ai.request.model\":"
    "\"gpt-4o\",\"gen_ai.response.model\":\"gpt-4o-2024\","
    "\"gen_ai.input.messages\":[{\"role\":\"user\",\"parts\":[{\"type\":"
    "\"text\",\"content\":\"Hi \\ud83d\\ude00 [x] {y}\"}]}],"
    "\"gen_ai.usage.input_tokens\":12,\"gen_ai.usage.output_tokens\":9,"
    "\"gen_ai.response.finish_reasons\":[\"stop\",\"length\"],"
    "\"gen_ai.response.time_to_first_chunk\":2.5e-1,"
    "\"agenttrace.cost.usd\":7.2e-06,\"http.response.status_code\":429,"
    "\"url.full\":\"https://x/v1\",\"error.type\":\"429\","
    "\"agenttrace.truncated\":false,\"n\":null,\"neg\":-0.5},"
    "\"events\":[]}";

Test(scan, the_whole_line)
{
    char why[300];

    cr_assert(agree(LINE, sizeof(LINE) - 1, why, sizeof(why)), "%s", why);
}

Test(scan, every_prefix)
{
    char why[300];
    size_t n, step = getenv("AT_UNDER_VALGRIND") ? 3 : 1;

    for (n = 0; n < sizeof(LINE) - 1; n += step)
        cr_assert(agree(LINE, n, why, sizeof(why)), "prefix %zu: %s", n, why);
}

Test(scan, every_one_byte_damage)
{
    static const char subst[] = {'"', '\\', '{', '}', '[', ']', ',', ':',
                                 'x', '0', ' ', '\x01', '\xff', '\xc3',
                                 'e', '-', 'u', '\0'};
    char buf[sizeof(LINE)], why[300];
    size_t i, k;
    /* Under valgrind every 13th position: the rest adds time, not cover. */
    size_t step = getenv("AT_UNDER_VALGRIND") ? 13 : 1;

    for (i = 0; i < sizeof(LINE) - 1; i += step) {
        for (k = 0; k < sizeof(subst); k++) {
            memcpy(buf, LINE, sizeof(LINE));
            buf[i] = subst[k];
            cr_assert(agree(buf, sizeof(LINE) - 1, why, sizeof(why)),
                      "byte %zu = 0x%02x: %s", i, (unsigned char)subst[k],
                      why);
        }
    }
}

typedef struct corner {
    char line[400];
} corner;

#define HEAD "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":" \
             "\"00f067aa0ba902b7\",\"name\":\"n\",\"start_time_unix_nano\":1"

static const corner scan_corners_cases[] = {
    {HEAD "}"},
    {HEAD ",\"x\":\"\\ud800\"}"},
    {HEAD ",\"x\":\"\\udc00\"}"},
    {HEAD ",\"x\":\"\\ud800\\u0041\"}"},
    {HEAD ",\"x\":\"\\u0000\"}"},
    {HEAD ",\"x\":\"\xed\xa0\x80\"}"},
    {HEAD ",\"x\":\"\xc0\xaf\"}"},
    {HEAD ",\"x\":\"\xf4\x90\x80\x80\"}"},
    {HEAD ",\"x\":\"\xf0\x9f\x98\x80\"}"},
    {HEAD ",\"x\":9223372036854775807}"},
    {HEAD ",\"x\":9223372036854775808}"},
    {HEAD ",\"x\":-9223372036854775809}"},
    {HEAD ",\"x\":1e400}"},
    {HEAD ",\"x\":1e-400}"},
    {HEAD ",\"x\":01}"},
    {HEAD ",\"x\":1.}"},
    {HEAD ",\"x\":.5}"},
    {HEAD ",\"x\":-}"},
    {HEAD ",\"x\":tru}"},
    {HEAD ",\"x\":nul}"},
    {HEAD "} x"},
    {HEAD "}  \t"},
    {HEAD ",}"},
    {HEAD ",\"a\":[1,]}"},
    {HEAD ",\"name\":\"second\"}"},
    {HEAD ",\"name\":5}"},
    {HEAD ",\"attributes\":{\"gen_ai.request.model\":5}}"},
    {HEAD ",\"attributes\":{\"gen_ai.usage.input_tokens\":\"5\"}}"},
    {HEAD ",\"attributes\":{\"gen_ai.usage.input_tokens\":5.9}}"},
    {HEAD ",\"attributes\":{\"gen_ai.response.finish_reasons\":[1,\"a\"]}}"},
    {HEAD ",\"attributes\":{\"gen_ai.response.finish_reasons\":\"stop\"}}"},
    {HEAD ",\"attributes\":{\"process.pid\":null}}"},
    {HEAD ",\"attributes\":{\"http.request.method\":1}}"},
    {HEAD ",\"attributes\":[]}"},
    {HEAD ",\"attributes\":{\"gen_ai.operation.name\":\"execute_tool\","
          "\"process.exit_code\":-1}}"},
    {HEAD ",\"attributes\":{\"gen_ai.operation.name\":\"process\","
          "\"process.pid\":4,\"process.exit_code\":0}}"},
    {HEAD ",\"start_time_unix_nano\":\"77\",\"end_time_unix_nano\":\"x\"}"},
    {HEAD ",\"start_time_unix_nano\":7.9e2}"},
    {HEAD ",\"parent_span_id\":null}"},
    {HEAD ",\"parent_span_id\":\"00F067AA0BA902B7\"}"},
    {HEAD ",\"parent_span_id\":\"0000000000000000\"}"},
    {HEAD ",\"status\":\"ok\"}"},
    {HEAD ",\"status\":{\"code\":\"OK\"},\"status\":{}}"},
    {HEAD ",\"kind\":\"SERVER\"}"},
    {HEAD ",\"tr\\u0061ce_id\":\"11111111111111111111111111111111\"}"},
    {"[]"},
    {"[{}]"},
    {"\"str\""},
    {"5"},
    {""},
    {"{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}"},
};

static void check_scan_corners(const corner *c)
{
    char why[300];

    cr_assert(agree(c->line, strlen(c->line), why, sizeof(why)), "%s: %s",
              c->line, why);
}

Test(scan, corners)
{
    size_t i;

    for (i = 0; i < sizeof(scan_corners_cases) / sizeof(scan_corners_cases[0]); i++)
        check_scan_corners(&scan_corners_cases[i]);
}

static void nested(int depth, char *why, size_t wl, int *ok)
{
    size_t n = strlen(HEAD) + 8 + 2 * (size_t)depth + 8;
    char *line = malloc(n), *p;
    int i;

    p = line + sprintf(line, "%s,\"x\":", HEAD);
    for (i = 0; i < depth; i++)
        *p++ = '[';
    *p++ = '1';
    for (i = 0; i < depth; i++)
        *p++ = ']';
    *p++ = '}';
    *ok = agree(line, (size_t)(p - line), why, wl);
    free(line);
}

Test(scan, nesting_depth_limit)
{
    char why[300];
    int ok, d;

    for (d = 2040; d <= 2050; d++) {
        nested(d, why, sizeof(why), &ok);
        cr_assert(ok, "depth %d: %s", d, why);
    }
}
