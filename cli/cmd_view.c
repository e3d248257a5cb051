/* cmd_view.c - `agenttrace tree` and `agenttrace stats`, and the option
 * helpers every subcommand shares.  Runs in the inspector's own process. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/input.h"
#include "cli/stats.h"
#include "cli/util.h"

int at_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("agenttrace: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see agenttrace %s --help)\n", cmd);
    return 2;
}

int at_cli_color(const char *mode, FILE *fp)
{
    if (mode == NULL || strcmp(mode, "auto") == 0) {
        const char *no = getenv("NO_COLOR");

        if (no != NULL && *no)
            return 0;
        return isatty(fileno(fp)) ? 1 : 0;
    }
    if (strcmp(mode, "always") == 0)
        return 1;
    if (strcmp(mode, "never") == 0)
        return 0;
    return -1;
}

size_t at_cli_columns(FILE *fp)
{
    struct winsize ws;
    const char *c = getenv("COLUMNS");
    int64_t v;

    if (isatty(fileno(fp)) && ioctl(fileno(fp), TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col >= 40)
        return ws.ws_col;
    if (c != NULL && at_cli_parse_i64(c, &v) == 0 && v >= 40 && v < 10000)
        return (size_t)v;
    return 160;
}

int at_cli_load_tree(const char *path, at_cli_tree *t,
                     unsigned long long skip_bytes)
{
    at_cli_input in;
    at_cli_span s;
    int rc;

    if (at_cli_input_open(&in, path, 0) < 0)
        return 1;
    if (skip_bytes > 0 && !in.r.is_stdin) {
        if (lseek(in.r.fd, (off_t)skip_bytes, SEEK_SET) < 0) {
            at_cli_input_close(&in);
            return 1;
        }
        in.r.offset = skip_bytes;
    }
    while ((rc = at_cli_input_next_lite(&in, &s)) == 1) {
        at_cli_tree_add(t, &s);
        at_cli_span_free(&s);
    }
    if (rc < 0) {
        at_cli_input_close(&in);
        return 1;
    }
    rc = at_cli_input_report(&in);
    at_cli_input_close(&in);
    at_cli_tree_build(t);
    return rc;
}

/* ---------------------------------------------------------------- tree */

static const char tree_help[] =
    "usage: agenttrace tree FILE [--trace ID] [--errors] [--color WHEN]\n"
    "                       [--width N]\n"
    "\n"
    "Print the spans of FILE ('-': stdin) as one tree per trace, oldest\n"
    "trace first, children in start order: name, duration, then model\n"
    "tokens (in / out), cost, time to first chunk and finish reason for\n"
    "model calls; arguments for tool calls; status for HTTP calls; exit\n"
    "code for processes.  Failed spans are marked with a cross, and a\n"
    "span whose parent is not in the file is shown as a root, marked\n"
    "'(parent ... missing)'.  A footer gives the totals.\n"
    "\n"
    "  --trace ID      only the trace whose id starts with ID\n"
    "  --errors        only failed spans and the spans above them\n"
    "  --color WHEN    auto (default: on a terminal), always, never\n"
    "  --width N       line width (default: the terminal's, else 160)\n"
    "  --stats-memory  print the memory the tree holds on stderr\n";

int at_cli_cmd_tree(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trace", required_argument, NULL, 't'},
        {"errors", no_argument, NULL, 'e'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"width", required_argument, NULL, 'w'},
        {"stats-memory", no_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    at_cli_tree_opts o;
    at_cli_tree t;
    const char *color = NULL;
    int c, rc, mem = 0;
    int64_t w;
    size_t idx, found;

    memset(&o, 0, sizeof(o));
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ht:ec:w:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            o.trace = optarg;
            break;
        case 'e':
            o.errors_only = 1;
            break;
        case 'c':
            color = optarg;
            break;
        case 'w':
            if (at_cli_parse_i64(optarg, &w) < 0 || w < 20 || w > 100000)
                return at_cli_usage_error("tree", "bad --width '%s'", optarg);
            o.width = (size_t)w;
            break;
        case 'm':
            mem = 1;
            break;
        case 'h':
            fputs(tree_help, stdout);
            return 0;
        default:
            return at_cli_usage_error("tree", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return at_cli_usage_error("tree", "expected one FILE");
    if ((o.color = at_cli_color(color, stdout)) < 0)
        return at_cli_usage_error("tree", "bad --color '%s'", color);
    if (o.width == 0)
        o.width = at_cli_columns(stdout);
    at_cli_tree_init(&t);
    rc = at_cli_load_tree(argv[optind], &t, 0);
    if (rc != 0) {
        at_cli_tree_free(&t);
        return rc;
    }
    if (mem)
        at_cli_err("tree memory: %zu bytes for %zu spans", at_cli_tree_bytes(&t),
                   t.n);
    if (o.trace != NULL) {
        found = at_cli_tree_find_trace(&t, o.trace, &idx);
        if (found == 0) {
            at_cli_err("%s: no trace %s", argv[optind], o.trace);
            at_cli_tree_free(&t);
            return 1;
        }
        if (found > 1) {
            at_cli_err("%s: %zu traces start with %s; give more digits",
                       argv[optind], found, o.trace);
            at_cli_tree_free(&t);
            return 1;
        }
    }
    if (t.n == 0)
        printf("no spans in %s\n", argv[optind]);
    else if (at_cli_tree_print(&t, stdout, &o) == 0 && o.errors_only)
        printf("no failed spans in %s\n", argv[optind]);
    at_cli_tree_free(&t);
    if (fflush(stdout) != 0 || ferror(stdout))
        return 1;
    return 0;
}

/* --------------------------------------------------------------- stats */

static const char stats_help[] =
    "usage: agenttrace stats FILE [--json] [--color WHEN]\n"
    "\n"
    "Per provider and model: calls, failed calls, input and output tokens,\n"
    "cost, latency p50/p95/p99, time to first chunk p50/p95 (streamed\n"
    "calls).  Per tool: calls, failures, duration p50/p95.  Failures by\n"
    "type.  Reads FILE ('-': stdin) once, in memory that does not grow with\n"
    "its size: percentiles are exact up to 1024 values per row, and within\n"
    "1% past that (marked ~).\n"
    "\n"
    "  --json          one JSON object, for machines (durations in seconds)\n"
    "  --color WHEN    auto (default), always, never\n";

int at_cli_cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    at_cli_stats st;
    at_cli_input in;
    at_cli_span s;
    const char *color = NULL;
    int c, rc, json = 0, col;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hjc:", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'c':
            color = optarg;
            break;
        case 'h':
            fputs(stats_help, stdout);
            return 0;
        default:
            return at_cli_usage_error("stats", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return at_cli_usage_error("stats", "expected one FILE");
    if ((col = at_cli_color(color, stdout)) < 0)
        return at_cli_usage_error("stats", "bad --color '%s'", color);
    if (at_cli_input_open(&in, argv[optind], 0) < 0)
        return 1;
    at_cli_stats_init(&st);
    while ((rc = at_cli_input_next_lite(&in, &s)) == 1) {
        at_cli_stats_add(&st, &s);
        at_cli_span_free(&s);
    }
    if (rc < 0 || at_cli_input_report(&in) != 0) {
        at_cli_input_close(&in);
        at_cli_stats_free(&st);
        return 1;
    }
    if (json) {
        json_t *j = at_cli_stats_json(&st);

        json_object_set_new(j, "skipped_lines",
                            json_integer((json_int_t)in.bad));
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        at_cli_stats_print(&st, stdout, col);
    }
    at_cli_input_close(&in);
    at_cli_stats_free(&st);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
