/* test_cli_parse.c - the inspector's reading of span files: the line
 * reader (whole lines, a last line cut off, CRLF, over-long lines, a file
 * followed as it grows), the span record parser (what is required, what
 * is tolerated, categories and failure), and the formatting helpers. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/input.h"
#include "cli/reader.h"
#include "cli/span.h"
#include "cli/util.h"

static char *temp_file(const char *content, size_t n)
{
    char *path = strdup("/tmp/at-cli-parse-XXXXXX");
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

#define SPAN(extra)                                                        \
    "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","                  \
    "\"span_id\":\"00f067aa0ba902b7\",\"name\":\"chat gpt-4o\","           \
    "\"kind\":\"client\",\"start_time_unix_nano\":1000,"                   \
    "\"end_time_unix_nano\":3000" extra "}"

/* ------------------------------------------------------------ reader */

Test(reader, lines_and_a_last_line_without_newline)
{
    const char text[] = "one\ntwo\r\n\nthree";
    char *path = temp_file(text, sizeof(text) - 1), *line;
    at_cli_reader r;
    size_t len;
    int complete;

    cr_assert_eq(at_cli_reader_open(&r, path, 0), 0);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "one");
    cr_assert_eq(complete, 1);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_eq(len, 4, "CR is left for the parser");
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_eq(len, 0);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "three");
    cr_assert_eq(complete, 0, "no newline: cut off");
    cr_assert_eq(r.lineno, 4);
    cr_assert_eq(r.line_offset, 10);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_END);
    at_cli_reader_close(&r);
    unlink(path);
    free(path);
}

Test(reader, a_line_longer_than_the_buffer)
{
    size_t n = 3u << 20; /* over the 256 KiB first buffer */
    char *big = malloc(n + 8), *path, *line;
    at_cli_reader r;
    size_t len;
    int complete;

    memset(big, 'x', n);
    memcpy(big + n, "\nend\n", 5);
    path = temp_file(big, n + 5);
    cr_assert_eq(at_cli_reader_open(&r, path, 0), 0);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_eq(len, n);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "end");
    at_cli_reader_close(&r);
    unlink(path);
    free(path);
    free(big);
}

Test(reader, follow_holds_a_partial_line_until_its_end_arrives)
{
    char *path = temp_file("a\npar", 5), *line;
    at_cli_reader r;
    size_t len;
    int complete, fd;

    cr_assert_eq(at_cli_reader_open(&r, path, 1), 0);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "a");
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_END);
    fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_eq(write(fd, "tial\nb\n", 7), 7);
    close(fd);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "partial");
    cr_assert_eq(complete, 1);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "b");
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_END);
    /* Truncated in place: start over. */
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, "c\n", 2), 2);
    close(fd);
    cr_assert_eq(at_cli_reader_reopen_if_replaced(&r), 1);
    cr_assert_eq(at_cli_reader_next(&r, &line, &len, &complete), AT_CLI_LINE);
    cr_assert_str_eq(line, "c");
    at_cli_reader_close(&r);
    unlink(path);
    free(path);
}

Test(reader, a_missing_file_fails_with_errno)
{
    at_cli_reader r;

    cr_assert_eq(at_cli_reader_open(&r, "/nonexistent/x.jsonl", 0), -1);
    cr_assert_eq(at_cli_reader_open(&r, "/tmp", 0), -1, "a directory");
}

Test(input, skipped_lines_are_counted_and_spans_returned)
{
    const char text[] = SPAN("") "\n"
                        "not json\n"
                        "\n"
                        "{\"trace_id\":\"x\"}\n" SPAN(",\"more\":1")
                        "\n{\"trace_id\":\"4bf92f3577b34da6a3ce92";
    char *path = temp_file(text, sizeof(text) - 1);
    at_cli_input in;
    at_cli_span s;
    int n = 0;

    cr_assert_eq(at_cli_input_open(&in, path, 0), 0);
    while (at_cli_input_next(&in, &s) == 1) {
        n++;
        at_cli_span_free(&s);
    }
    cr_assert_eq(n, 2);
    cr_assert_eq(in.bad, 3);
    cr_assert_eq(in.blank, 1);
    cr_assert(strstr(in.first_bad, "line 2: not JSON") != NULL, "%s",
              in.first_bad);
    cr_assert(strstr(in.last_bad, "line 6: cut off") != NULL, "%s",
              in.last_bad);
    cr_assert_eq(at_cli_input_report(&in), 0, "spans were read");
    at_cli_input_close(&in);
    unlink(path);
    free(path);
}

/* -------------------------------------------------------------- spans */

Test(span, a_full_record)
{
    const char line[] =
        "{\"trace_id\":\"4BF92F3577B34DA6A3CE929D0E0E4736\","
        "\"span_id\":\"00f067aa0ba902b7\",\"parent_span_id\":"
        "\"a3ce929d0e0e4736\",\"name\":\"chat gpt-4o\",\"kind\":\"client\","
        "\"start_time_unix_nano\":1763800000000000000,"
        "\"end_time_unix_nano\":1763800000412000000,"
        "\"status\":{\"code\":\"error\",\"message\":\"rate limited\"},"
        "\"resource\":{\"service.name\":\"a\"},\"attributes\":{"
        "\"gen_ai.operation.name\":\"chat\",\"gen_ai.provider.name\":"
        "\"openai\",\"gen_ai.request.model\":\"gpt-4o\","
        "\"gen_ai.usage.input_tokens\":12,\"gen_ai.usage.output_tokens\":9,"
        "\"gen_ai.response.finish_reasons\":[\"stop\"],"
        "\"gen_ai.response.time_to_first_chunk\":0.25,"
        "\"agenttrace.cost.usd\":7.2e-06,\"http.response.status_code\":429,"
        "\"error.type\":\"429\"},\"events\":[],\"unknown\":{\"x\":1}}";
    at_cli_span s;
    char err[128];

    cr_assert_eq(at_cli_span_parse(line, sizeof(line) - 1, &s, err,
                                   sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736",
                     "ids are lowercased");
    cr_assert_eq(s.span_u64, 0x00f067aa0ba902b7ULL);
    cr_assert_eq(s.parent_u64, 0xa3ce929d0e0e4736ULL);
    cr_assert_eq(s.kind, AT_KIND_CLIENT);
    cr_assert_eq(s.status, AT_STATUS_ERROR);
    cr_assert_str_eq(s.status_msg, "rate limited");
    cr_assert_eq(s.cat, AT_CAT_LLM);
    cr_assert_str_eq(s.model, "gpt-4o");
    cr_assert_str_eq(s.provider, "openai");
    cr_assert_str_eq(s.finish, "stop");
    cr_assert_eq(s.in_tok, 12);
    cr_assert_eq(s.out_tok, 9);
    cr_assert_float_eq(s.ttfc, 0.25, 1e-12);
    cr_assert_float_eq(s.cost, 7.2e-06, 1e-15);
    cr_assert_eq(s.http_status, 429);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(at_cli_span_duration(&s), 412000000);
    at_cli_span_free(&s);
}

typedef struct bad_case {
    char line[300];
    char why[40];
} bad_case;

static const bad_case span_rejects_cases[] = {
    {"[1,2]", "not a JSON object"},
    {"{\"span_id\":\"00f067aa0ba902b7\"}", "no trace_id"},
    {"{\"trace_id\":\"4bf9\",\"span_id\":\"00f067aa0ba902b7\"}",
     "bad trace_id"},
    {"{\"trace_id\":\"00000000000000000000000000000000\","
     "\"span_id\":\"00f067aa0ba902b7\"}",
     "bad trace_id"},
    {"{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
     "\"span_id\":\"00f067aa0ba902bz\"}",
     "bad span_id"},
    {"{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
     "\"span_id\":\"00f067aa0ba902b7\",\"start_time_unix_nano\":1}",
     "no name"},
    {"{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
     "\"span_id\":\"00f067aa0ba902b7\",\"name\":\"x\"}",
     "no start_time_unix_nano"},
    {"{\"trace_id\":", "not JSON"},
};

static void check_span_rejects(const bad_case *c)
{
    at_cli_span s;
    char err[128];

    cr_assert_eq(at_cli_span_parse(c->line, strlen(c->line), &s, err,
                                   sizeof(err)),
                 -1, "accepted: %s", c->line);
    cr_assert(strncmp(err, c->why, strlen(c->why)) == 0, "%s vs %s", err,
              c->why);
}

Test(span, rejects)
{
    size_t i;

    for (i = 0; i < sizeof(span_rejects_cases) / sizeof(span_rejects_cases[0]); i++)
        check_span_rejects(&span_rejects_cases[i]);
}

Test(span, tolerated_oddities)
{
    const char line[] =
        "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"span_id\":\"00f067aa0ba902b7\",\"parent_span_id\":\"\","
        "\"name\":\"process sh\",\"start_time_unix_nano\":\"5000\","
        "\"attributes\":{\"process.pid\":3,\"process.exit_code\":2}} \r";
    at_cli_span s;
    char err[128];

    cr_assert_eq(at_cli_span_parse(line, sizeof(line) - 1, &s, err,
                                   sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(s.parent_u64, 0, "an empty parent is a root");
    cr_assert_eq(s.start_ns, 5000, "a time as a string");
    cr_assert_eq(s.end_ns, 5000, "no end: zero length");
    cr_assert_eq(s.kind, AT_KIND_UNSPECIFIED);
    cr_assert_eq(s.status, AT_STATUS_UNSET);
    cr_assert_eq(s.cat, AT_CAT_PROCESS);
    cr_assert_eq(s.failed, 1, "a non-zero exit is a failure");
    cr_assert_not_null(s.attrs);
    at_cli_span_free(&s);
}

Test(span, a_string_holding_an_escaped_nul)
{
    /* what the shim writes for a NUL inside a model's text: valid JSON */
    const char line[] =
        "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"span_id\":\"00f067aa0ba902b7\",\"name\":\"chat m\","
        "\"start_time_unix_nano\":1,\"attributes\":{"
        "\"gen_ai.operation.name\":\"chat\",\"gen_ai.output.messages\":"
        "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\","
        "\"content\":\"a\\u0000b\"}]}]}}";
    at_cli_span s;
    char err[128];
    json_t *m;

    cr_assert_eq(at_cli_span_parse(line, sizeof(line) - 1, &s, err,
                                   sizeof(err)),
                 0, "%s", err);
    m = json_object_get(json_array_get(json_object_get(json_array_get(
            json_object_get(s.attrs, "gen_ai.output.messages"), 0), "parts"),
                                       0), "content");
    cr_assert_eq(json_string_length(m), 3, "the NUL kept");
    at_cli_span_free(&s);
}

typedef struct cat_case {
    char attrs[160];
    char name[40];
    int cat;
} cat_case;

static const cat_case span_categories_cases[] = {
    {"{\"gen_ai.operation.name\":\"chat\"}", "chat m", AT_CAT_LLM},
    {"{\"gen_ai.operation.name\":\"embeddings\"}", "embeddings m",
     AT_CAT_LLM},
    {"{\"gen_ai.operation.name\":\"execute_tool\"}", "execute_tool t",
     AT_CAT_TOOL},
    {"{\"gen_ai.operation.name\":\"invoke_agent\"}", "invoke_agent a",
     AT_CAT_AGENT},
    {"{\"process.pid\":1}", "process sh", AT_CAT_PROCESS},
    /* as the shim writes a process span that is not an agent's */
    {"{\"gen_ai.operation.name\":\"process\",\"process.pid\":1}",
     "process true", AT_CAT_PROCESS},
    {"{\"http.request.method\":\"GET\"}", "GET host", AT_CAT_HTTP},
    {"{}", "something", AT_CAT_OTHER},
};

static void check_span_categories(const cat_case *c)
{
    char line[512], err[128];
    at_cli_span s;

    snprintf(line, sizeof(line),
             "{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
             "\"span_id\":\"00f067aa0ba902b7\",\"name\":\"%s\","
             "\"start_time_unix_nano\":1,\"attributes\":%s}",
             c->name, c->attrs);
    cr_assert_eq(at_cli_span_parse(line, strlen(line), &s, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(s.cat, c->cat, "%s: %d", c->name, s.cat);
    at_cli_span_free(&s);
}

Test(span, categories)
{
    size_t i;

    for (i = 0; i < sizeof(span_categories_cases) / sizeof(span_categories_cases[0]); i++)
        check_span_categories(&span_categories_cases[i]);
}

/* --------------------------------------------------------- formatting */

Test(fmt, durations_and_costs)
{
    char b[32];

    at_cli_fmt_duration(812000, b, sizeof(b));
    cr_assert_str_eq(b, "812 us");
    at_cli_fmt_duration(2500000, b, sizeof(b));
    cr_assert_str_eq(b, "2.5 ms");
    at_cli_fmt_duration(1240000000, b, sizeof(b));
    cr_assert_str_eq(b, "1.24 s");
    at_cli_fmt_duration(123000000000LL, b, sizeof(b));
    cr_assert_str_eq(b, "2m03s");
    at_cli_fmt_duration(-5, b, sizeof(b));
    cr_assert_str_eq(b, "0 us");
    at_cli_fmt_cost(1.234, b, sizeof(b));
    cr_assert_str_eq(b, "$1.23");
    at_cli_fmt_cost(0.0042, b, sizeof(b));
    cr_assert_str_eq(b, "$0.0042");
    at_cli_fmt_cost(5.25e-6, b, sizeof(b));
    cr_assert_str_eq(b, "$0.000005");
    at_cli_fmt_time(1763800000412000000LL, b, sizeof(b));
    cr_assert_str_eq(b, "2025-11-22 08:26:40.412 UTC");
}

typedef struct line_case {
    char in[64];
    size_t width;
    char out[64];
} line_case;

static const line_case fmt_oneline_cases[] = {
    {"hello", 10, "hello"},
    {"hello world", 5, "hell\xe2\x80\xa6"},
    {"  a\n\n b\tc  ", 20, "a b c"},
    {"exactly10!", 10, "exactly10!"},
    {"exactly11!!", 10, "exactly11\xe2\x80\xa6"},
    {"caf\xc3\xa9 au lait", 5, "caf\xc3\xa9\xe2\x80\xa6"},
    {"\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9\xc3\xa9\xc3\xa9"},
    {"abc", 1, "\xe2\x80\xa6"},
    {"a", 1, "a"},
};

static void check_fmt_oneline(const line_case *c)
{
    at_cli_buf b;

    at_cli_buf_init(&b);
    at_cli_oneline(&b, c->in, strlen(c->in), c->width);
    cr_assert_str_eq(b.data ? b.data : "", c->out);
    cr_assert_leq(at_cli_utf8_width(b.data ? b.data : "", b.len), c->width);
    at_cli_buf_free(&b);
}

Test(fmt, oneline)
{
    size_t i;

    for (i = 0; i < sizeof(fmt_oneline_cases) / sizeof(fmt_oneline_cases[0]); i++)
        check_fmt_oneline(&fmt_oneline_cases[i]);
}

Test(pool, equal_strings_share_one_copy)
{
    at_cli_pool p;
    const char *a, *b;
    char name[32];
    int i;

    at_cli_pool_init(&p);
    a = at_cli_pool_get(&p, "chat gpt-4o");
    for (i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        at_cli_pool_get(&p, name);
    }
    b = at_cli_pool_get(&p, "chat gpt-4o");
    cr_assert_eq(a, b);
    cr_assert_eq(p.count, 5001);
    cr_assert_null(at_cli_pool_get(&p, NULL));
    at_cli_pool_free(&p);
}
