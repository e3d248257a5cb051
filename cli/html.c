/* html.c - `agenttrace html FILE`: one self-contained page (inline CSS and
 * JavaScript, no network: a Content-Security-Policy forbids it) with the
 * spans embedded as JSON, streamed: the page is written while the file is
 * read, in constant memory (distinct resources aside).  The waterfall is
 * drawn by cli/assets/page.js.  Runs in the inspector's own process. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/input.h"
#include "cli/util.h"

extern const char at_cli_asset_page_html[];
extern const char at_cli_asset_page_css[];
extern const char at_cli_asset_page_js[];

static const char html_help[] =
    "usage: agenttrace html FILE [--title TEXT] > run.html\n"
    "\n"
    "Write one self-contained HTML page (no network access needed or\n"
    "allowed) for the spans of FILE ('-': stdin): a waterfall of every\n"
    "trace, the tree on the left and bars on the trace's time axis on the\n"
    "right, coloured by kind (model call, tool call, HTTP, agent, process),\n"
    "failed spans in red, spans whose parent is missing marked.  Click a\n"
    "span to open its transcript (system, user, assistant, tool calls and\n"
    "results), facts and attributes; filter by name or show only failed\n"
    "spans and their ancestors.\n"
    "\n"
    "  --title TEXT    the page's title (default: FILE)\n";

/* escape_out: json_dump_callback sink that makes JSON safe inside a
 * <script> element: '<', '>' and '&' (only ever inside JSON strings)
 * become \u003c, \u003e, \u0026. */
static int escape_out(const char *buf, size_t size, void *data)
{
    FILE *out = data;
    size_t i, start = 0;

    for (i = 0; i < size; i++) {
        const char *rep = buf[i] == '<'   ? "\\u003c"
                          : buf[i] == '>' ? "\\u003e"
                          : buf[i] == '&' ? "\\u0026"
                                          : NULL;

        if (rep == NULL)
            continue;
        fwrite(buf + start, 1, i - start, out);
        fputs(rep, out);
        start = i + 1;
    }
    fwrite(buf + start, 1, size - start, out);
    return 0;
}

static void dump_safe(const json_t *v, FILE *out)
{
    json_dump_callback(v, escape_out, out,
                       JSON_COMPACT | JSON_ENCODE_ANY |
                           JSON_REAL_PRECISION(17));
}

/* html_text: s with & < > " escaped, for the title. */
static void html_text(const char *s, FILE *out)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

/* span_object: what the page needs of one span; the resource by index
 * into `resources` (a new one is appended, remembered in `index`). */
static json_t *span_object(const at_cli_span *s, int64_t base, json_t *index,
                           json_t *resources)
{
    json_t *o = json_object();
    char when[64];

    json_object_set_new(o, "t", json_string(s->trace_id));
    json_object_set_new(o, "s", json_string(s->span_id));
    json_object_set_new(o, "p", json_string(s->parent_id));
    json_object_set_new(o, "n", json_string(s->name));
    json_object_set_new(o, "k", json_string(at_cli_kind_name(s->kind)));
    json_object_set_new(o, "c", json_string(at_cli_cat_name(s->cat)));
    json_object_set_new(o, "b", json_integer(s->start_ns - base));
    json_object_set_new(o, "e", json_integer((s->end_ns > s->start_ns
                                                  ? s->end_ns
                                                  : s->start_ns) -
                                             base));
    at_cli_fmt_time(s->start_ns, when, sizeof(when));
    json_object_set_new(o, "w", json_string(when));
    json_object_set_new(o, "st", json_string(at_cli_status_name(s->status)));
    if (s->status_msg)
        json_object_set_new(o, "m", json_string(s->status_msg));
    json_object_set_new(o, "f", json_boolean(s->failed));
    json_object_set(o, "a", s->attrs);
    if (s->events && json_array_size(s->events))
        json_object_set(o, "ev", s->events);
    if (s->resource != NULL) {
        char *key = at_cli_json_string(s->resource,
                                       JSON_COMPACT | JSON_SORT_KEYS);
        json_t *pos = json_object_get(index, key);

        if (pos == NULL) {
            pos = json_integer((json_int_t)json_array_size(resources));
            json_object_set_new(index, key, pos);
            json_array_append(resources, s->resource);
        }
        json_object_set(o, "r", pos);
        free(key);
    }
    return o;
}

/* put_until: write template text up to the next marker; returns the
 * marker's name ("CSS", ...) or NULL at the end, and advances *p past it. */
static const char *put_until(const char **p, FILE *out, char *name,
                             size_t n)
{
    const char *at = *p, *m;

    for (;;) {
        m = strchr(at, '@');
        if (m == NULL) {
            fputs(*p, out);
            *p += strlen(*p);
            return NULL;
        }
        {
            const char *end = strchr(m + 1, '@');
            size_t l = end ? (size_t)(end - m - 1) : 0;

            if (end != NULL && l > 0 && l < n &&
                strspn(m + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == l) {
                fwrite(*p, 1, (size_t)(m - *p), out);
                memcpy(name, m + 1, l);
                name[l] = '\0';
                *p = end + 1;
                return name;
            }
        }
        at = m + 1;
    }
}

int at_cli_cmd_html(int argc, char **argv)
{
    static const struct option opts[] = {
        {"title", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *title = NULL, *tpl = at_cli_asset_page_html, *mk;
    char name[16];
    at_cli_input in;
    at_cli_span s;
    json_t *index, *resources, *meta;
    int64_t base = 0;
    int c, rc = 0, have_base = 0, data_done = 0;
    uint64_t n = 0;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ht:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            title = optarg;
            break;
        case 'h':
            fputs(html_help, stdout);
            return 0;
        default:
            return at_cli_usage_error("html", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return at_cli_usage_error("html", "expected one FILE");
    if (at_cli_input_open(&in, argv[optind], 0) < 0)
        return 1;
    if (title == NULL)
        title = strcmp(argv[optind], "-") == 0 ? "stdin" : argv[optind];
    index = json_object();
    resources = json_array();
    while ((mk = put_until(&tpl, stdout, name, sizeof(name))) != NULL) {
        if (strcmp(mk, "TITLE") == 0) {
            html_text(title, stdout);
        } else if (strcmp(mk, "CSS") == 0) {
            fputs(at_cli_asset_page_css, stdout);
        } else if (strcmp(mk, "JS") == 0) {
            fputs(at_cli_asset_page_js, stdout);
        } else if (strcmp(mk, "DATA") == 0) {
            fputc('[', stdout);
            while ((c = at_cli_input_next(&in, &s)) == 1) {
                json_t *o;

                if (!have_base) {
                    base = s.start_ns;
                    have_base = 1;
                }
                o = span_object(&s, base, index, resources);
                if (n++)
                    fputc(',', stdout);
                fputc('\n', stdout);
                dump_safe(o, stdout);
                json_decref(o);
                at_cli_span_free(&s);
            }
            fputs("]", stdout);
            data_done = 1;
            if (c < 0)
                rc = 1;
        } else if (strcmp(mk, "META") == 0) {
            meta = json_object();
            json_object_set_new(meta, "file", json_string(title));
            json_object_set_new(meta, "skipped",
                                json_integer((json_int_t)in.bad));
            json_object_set_new(meta, "version",
                                json_string(AT_CLI_VERSION));
            json_object_set(meta, "resources", resources);
            dump_safe(meta, stdout);
            json_decref(meta);
        } else {
            fputc('@', stdout);
            fputs(mk, stdout);
            fputc('@', stdout);
        }
    }
    json_decref(index);
    json_decref(resources);
    if (!data_done)
        rc = 1;
    if (at_cli_input_report(&in) != 0)
        rc = 1;
    at_cli_input_close(&in);
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = 1;
    if (n > 50000)
        at_cli_err("html: %llu spans on one page; a browser may be slow to "
                   "draw them (agenttrace tree --trace ID picks one trace)",
                   (unsigned long long)n);
    return rc;
}
