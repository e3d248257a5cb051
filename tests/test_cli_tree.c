/* test_cli_tree.c - the span trees: children in start order under their
 * parent, traces in start order, spans whose parent is missing (or in
 * another trace, or in a cycle) made marked roots, duplicates kept, a
 * chain far deeper than any stack survives, and the printed lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tree.h"

static void add(at_cli_tree *t, const char *trace, const char *id,
                const char *parent, const char *name, long long start,
                long long end, const char *attrs, const char *status)
{
    char line[2048], err[128];
    at_cli_span s;

    snprintf(line, sizeof(line),
             "{\"trace_id\":\"%s\",\"span_id\":\"%s\"%s%s%s,\"name\":\"%s\","
             "\"start_time_unix_nano\":%lld,\"end_time_unix_nano\":%lld,"
             "\"status\":{\"code\":\"%s\"},\"attributes\":%s}",
             trace, id, parent ? ",\"parent_span_id\":\"" : "",
             parent ? parent : "", parent ? "\"" : "", name, start, end,
             status ? status : "ok", attrs ? attrs : "{}");
    cr_assert_eq(at_cli_span_parse(line, strlen(line), &s, err, sizeof(err)),
                 0, "%s: %s", err, line);
    at_cli_tree_add(t, &s);
    at_cli_span_free(&s);
}

#define T1 "11111111111111111111111111111111"
#define T2 "22222222222222222222222222222222"

static uint32_t find(const at_cli_tree *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->nodes[i].name, name) == 0)
            return (uint32_t)i;
    cr_assert_fail("no %s", name);
    return AT_NONE;
}

static char *print(const at_cli_tree *t, int errors_only, const char *trace)
{
    at_cli_tree_opts o;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    memset(&o, 0, sizeof(o));
    o.width = 100;
    o.errors_only = errors_only;
    o.trace = trace;
    at_cli_tree_print(t, f, &o);
    fclose(f);
    return buf;
}

Test(tree, children_in_start_order_whatever_the_file_order)
{
    at_cli_tree t;
    uint32_t root, c;

    at_cli_tree_init(&t);
    /* Written as they end: children first, the process span last. */
    add(&t, T1, "00000000000000b2", "00000000000000a1", "chat two", 300, 400,
        NULL, NULL);
    add(&t, T1, "00000000000000b1", "00000000000000a1", "chat one", 100, 200,
        NULL, NULL);
    add(&t, T1, "00000000000000c1", "00000000000000b1", "GET host", 150, 160,
        NULL, NULL);
    add(&t, T1, "00000000000000a1", NULL, "invoke_agent a", 50, 500, NULL,
        NULL);
    at_cli_tree_build(&t);
    root = find(&t, "invoke_agent a");
    cr_assert_eq(t.traces[0].first_root, root);
    c = t.nodes[root].first_child;
    cr_assert_str_eq(t.nodes[c].name, "chat one");
    cr_assert_str_eq(t.nodes[t.nodes[c].first_child].name, "GET host");
    c = t.nodes[c].next_sibling;
    cr_assert_str_eq(t.nodes[c].name, "chat two");
    cr_assert_eq(t.nodes[c].next_sibling, AT_NONE);
    cr_assert_eq(t.traces[0].spans, 4);
    cr_assert_eq(t.traces[0].start_ns, 50);
    cr_assert_eq(t.traces[0].end_ns, 500);
    at_cli_tree_free(&t);
}

Test(tree, missing_parents_make_marked_roots)
{
    at_cli_tree t;
    uint32_t a, b, o;

    at_cli_tree_init(&t);
    add(&t, T1, "00000000000000a1", NULL, "root", 10, 100, NULL, NULL);
    add(&t, T1, "00000000000000a2", "00000000000000ff", "orphan", 5, 20, NULL,
        NULL);
    /* Its parent is in another trace: not its parent here. */
    add(&t, T2, "00000000000000a3", "00000000000000a1", "stray", 1, 2, NULL,
        NULL);
    at_cli_tree_build(&t);
    a = find(&t, "root");
    o = find(&t, "orphan");
    b = find(&t, "stray");
    cr_assert(t.nodes[o].flags & AT_NODE_ORPHAN);
    cr_assert(t.nodes[b].flags & AT_NODE_ORPHAN);
    cr_assert_eq(t.nodes[o].parent, AT_NONE);
    cr_assert_eq(t.nodes[a].first_child, AT_NONE);
    /* Roots of a trace in start order: the orphan started first. */
    cr_assert_eq(t.traces[0].first_root, o);
    cr_assert_eq(t.nodes[o].next_sibling, a);
    at_cli_tree_free(&t);
}

Test(tree, a_parent_cycle_is_broken)
{
    at_cli_tree t;
    uint32_t x, y;
    char *out;

    at_cli_tree_init(&t);
    add(&t, T1, "00000000000000a1", "00000000000000a2", "x", 10, 20, NULL,
        NULL);
    add(&t, T1, "00000000000000a2", "00000000000000a1", "y", 11, 19, NULL,
        NULL);
    add(&t, T1, "00000000000000a3", "00000000000000a3", "self", 12, 13, NULL,
        NULL);
    at_cli_tree_build(&t);
    x = find(&t, "x");
    y = find(&t, "y");
    cr_assert(t.nodes[x].flags & AT_NODE_CYCLE, "the earliest becomes root");
    cr_assert_eq(t.nodes[y].parent, x);
    cr_assert(t.nodes[find(&t, "self")].flags & AT_NODE_ORPHAN);
    out = print(&t, 0, NULL);
    cr_assert(strstr(out, "forms a cycle") != NULL, "%s", out);
    cr_assert(strstr(out, "3 spans") != NULL, "%s", out);
    free(out);
    at_cli_tree_free(&t);
}

Test(tree, duplicate_ids_are_all_shown)
{
    at_cli_tree t;
    char *out, *p;
    int n = 0;

    at_cli_tree_init(&t);
    add(&t, T1, "00000000000000a1", NULL, "root", 10, 100, NULL, NULL);
    add(&t, T1, "00000000000000b1", "00000000000000a1", "dup", 20, 30, NULL,
        NULL);
    add(&t, T1, "00000000000000b1", "00000000000000a1", "dup", 20, 30, NULL,
        NULL);
    at_cli_tree_build(&t);
    out = print(&t, 0, NULL);
    for (p = out; (p = strstr(p, "dup")) != NULL; p++)
        n++;
    cr_assert_eq(n, 2, "%s", out);
    free(out);
    at_cli_tree_free(&t);
}

Test(tree, a_chain_a_hundred_thousand_deep)
{
    at_cli_tree t;
    char id[17], parent[17], want[64];
    int i, n = getenv("AT_UNDER_VALGRIND") ? 5000 : 100000;
    char *out;

    at_cli_tree_init(&t);
    for (i = 1; i <= n; i++) {
        char line[512], err[64];
        at_cli_span s;

        snprintf(id, sizeof(id), "%016x", i);
        snprintf(parent, sizeof(parent), "%016x", i - 1);
        snprintf(line, sizeof(line),
                 "{\"trace_id\":\"" T1 "\",\"span_id\":\"%s\"%s%s%s,"
                 "\"name\":\"s\",\"start_time_unix_nano\":%d}",
                 id, i > 1 ? ",\"parent_span_id\":\"" : "",
                 i > 1 ? parent : "", i > 1 ? "\"" : "", i);
        cr_assert_eq(at_cli_span_parse(line, strlen(line), &s, err,
                                       sizeof(err)),
                     0);
        at_cli_tree_add(&t, &s);
        at_cli_span_free(&s);
    }
    at_cli_tree_build(&t);
    out = print(&t, 0, NULL);
    snprintf(want, sizeof(want), "%d spans", n);
    cr_assert(strstr(out, want) != NULL);
    snprintf(want, sizeof(want), "\xe2\x80\xa6(%d)", n - 1);
    cr_assert(strstr(out, want) != NULL, "deep levels stop indenting");
    free(out);
    at_cli_tree_free(&t);
}

Test(tree, printed_lines)
{
    at_cli_tree t;
    char *out;

    at_cli_tree_init(&t);
    add(&t, T1, "00000000000000b1", "00000000000000a1", "chat gpt-4o",
        1000000, 3500000,
        "{\"gen_ai.operation.name\":\"chat\",\"gen_ai.request.model\":"
        "\"gpt-4o\",\"gen_ai.usage.input_tokens\":19,"
        "\"gen_ai.usage.output_tokens\":4,\"agenttrace.cost.usd\":0.00125,"
        "\"gen_ai.response.finish_reasons\":[\"tool_calls\"],"
        "\"gen_ai.response.time_to_first_chunk\":0.0014}",
        NULL);
    add(&t, T1, "00000000000000b2", "00000000000000a1",
        "execute_tool get_weather", 3500000, 5100000,
        "{\"gen_ai.operation.name\":\"execute_tool\",\"gen_ai.tool.name\":"
        "\"get_weather\",\"gen_ai.tool.call.arguments\":{\"city\":"
        "\"Paris\"}}",
        NULL);
    add(&t, T1, "00000000000000b3", "00000000000000a1", "chat gpt-4o",
        5100000, 6000000,
        "{\"gen_ai.operation.name\":\"chat\",\"http.response.status_code\":"
        "429,\"error.type\":\"429\"}",
        "error");
    add(&t, T1, "00000000000000a1", NULL, "invoke_agent agent", 0, 19000000,
        "{\"gen_ai.operation.name\":\"invoke_agent\","
        "\"process.exit_code\":0}",
        NULL);
    at_cli_tree_build(&t);
    out = print(&t, 0, NULL);
    cr_assert(strstr(out, "trace " T1 "  ") == out, "%s", out);
    cr_assert(strstr(out, "\xe2\x94\x94\xe2\x94\x80 invoke_agent agent") !=
                  NULL,
              "%s", out);
    cr_assert(strstr(out, "   \xe2\x94\x9c\xe2\x94\x80 chat gpt-4o") != NULL,
              "%s", out);
    cr_assert(strstr(out, "2.5 ms  19 in / 4 out  $0.0013  ttfc 1.4 ms  "
                          "finish tool_calls") != NULL,
              "%s", out);
    cr_assert(strstr(out, "args {\"city\":\"Paris\"}") != NULL, "%s", out);
    cr_assert(strstr(out, "\xe2\x9c\x97 chat gpt-4o") != NULL,
              "the failed call is marked: %s", out);
    cr_assert(strstr(out, "HTTP 429") != NULL, "%s", out);
    cr_assert(strstr(out, "1 trace, 4 spans: 2 model calls, 1 tool call, 0 "
                          "HTTP calls, 1 process") != NULL,
              "%s", out);
    cr_assert(strstr(out, "tokens 19 in / 4 out") != NULL, "%s", out);
    cr_assert(strstr(out, "1 failed") != NULL, "%s", out);
    cr_assert(strchr(out, '\033') == NULL, "no colour unless asked");
    /* Every line fits the width. */
    {
        char *line = out, *nl;

        while ((nl = strchr(line, '\n')) != NULL) {
            cr_assert_leq(at_cli_utf8_width(line, (size_t)(nl - line)), 100,
                          "%.*s", (int)(nl - line), line);
            line = nl + 1;
        }
    }
    free(out);
    /* --errors: the failed span and its ancestors only. */
    out = print(&t, 1, NULL);
    cr_assert(strstr(out, "invoke_agent") != NULL);
    cr_assert(strstr(out, "execute_tool") == NULL, "%s", out);
    cr_assert(strstr(out, "1 trace, 2 spans") != NULL, "%s", out);
    free(out);
    /* --trace with a prefix that matches nothing prints nothing. */
    out = print(&t, 0, "2222");
    cr_assert_str_eq(out, "");
    free(out);
    at_cli_tree_free(&t);
}

Test(tree, traces_in_start_order_and_found_by_prefix)
{
    at_cli_tree t;
    size_t idx;
    char *out;

    at_cli_tree_init(&t);
    add(&t, T1, "00000000000000a1", NULL, "late", 500, 600, NULL, NULL);
    add(&t, T2, "00000000000000a2", NULL, "early", 100, 200, NULL, NULL);
    at_cli_tree_build(&t);
    out = print(&t, 0, NULL);
    cr_assert(strstr(out, "early") < strstr(out, "late"), "%s", out);
    free(out);
    cr_assert_eq(at_cli_tree_find_trace(&t, "2222", &idx), 1);
    cr_assert_str_eq(t.traces[idx].id, T2);
    cr_assert_eq(at_cli_tree_find_trace(&t, "", &idx), 2);
    cr_assert(at_cli_tree_bytes(&t) > 0);
    at_cli_tree_free(&t);
}
