/* show.c - `agenttrace show FILE SPAN_ID`: one span in full, the
 * conversation as a readable transcript, usage, timing, HTTP details,
 * its parent and children.  Reads the file once, keeping only the
 * matching span.  Runs in the inspector's own process. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/commands.h"
#include "cli/input.h"
#include "cli/util.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

static const char show_help[] =
    "usage: agenttrace show FILE SPAN_ID [--json] [--color WHEN]\n"
    "\n"
    "Print one span of FILE ('-': stdin) in full: what it is, status and\n"
    "error, timing, model and parameters, token usage and cost, HTTP\n"
    "details, its process, parent and children; for a model call the\n"
    "conversation as a transcript (system, user, assistant, tool calls\n"
    "with their arguments, tool results) and the tools offered; for a\n"
    "tool call its arguments and result; for an HTTP call its bodies;\n"
    "then every other attribute.  SPAN_ID may be abbreviated to a unique\n"
    "prefix of at least 4 digits.\n"
    "\n"
    "  --json          the span's record as indented JSON\n"
    "  --color WHEN    auto (default), always, never\n";

typedef struct shower {
    FILE *out;
    int color;
} shower;

static const char *C(const shower *s, const char *code)
{
    return s->color ? code : "";
}

/* indented: text with every line prefixed by `pad`. */
static void indented(const shower *sh, const char *text, size_t n,
                     const char *pad)
{
    size_t i = 0;

    while (i <= n) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t l = nl ? (size_t)(nl - (text + i)) : n - i;

        fputs(pad, sh->out);
        fwrite(text + i, 1, l, sh->out);
        fputc('\n', sh->out);
        if (nl == NULL)
            break;
        i += l + 1;
    }
}

/* value_block: a JSON value as readable text: a string as itself (or, when
 * it holds JSON, that JSON indented), anything else indented JSON. */
static void value_block(const shower *sh, const json_t *v, const char *pad)
{
    json_t *parsed = NULL;
    char *s;

    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        size_t n = json_string_length(v);

        if (n > 0 && (str[0] == '{' || str[0] == '['))
            parsed = json_loadb(str, n, 0, NULL);
        if (parsed == NULL) {
            indented(sh, str, n, pad);
            return;
        }
        v = parsed;
    }
    s = at_cli_json_string(v, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    indented(sh, s, strlen(s), pad);
    free(s);
    json_decref(parsed);
}

static void print_part(const shower *sh, const json_t *p)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    const json_t *v;

    if (json_is_string(p)) {
        value_block(sh, p, "  ");
        return;
    }
    if (type == NULL)
        type = "?";
    if (strcmp(type, "text") == 0 &&
        json_is_string(v = json_object_get(p, "content"))) {
        value_block(sh, v, "  ");
    } else if (strcmp(type, "reasoning") == 0) {
        fprintf(sh->out, "  %s(reasoning)%s\n", C(sh, C_DIM), C(sh, C_RESET));
        v = json_object_get(p, "content");
        if (v)
            value_block(sh, v, "  ");
    } else if (strcmp(type, "tool_call") == 0) {
        const char *id = json_string_value(json_object_get(p, "id"));

        fprintf(sh->out, "  %s-> tool call %s%s%s%s%s\n", C(sh, C_YELLOW),
                json_string_value(json_object_get(p, "name"))
                    ? json_string_value(json_object_get(p, "name"))
                    : "?",
                C(sh, C_RESET), id ? "  " : "", C(sh, C_DIM), id ? id : "");
        if (sh->color)
            fputs(C_RESET, sh->out);
        v = json_object_get(p, "arguments");
        if (v != NULL)
            value_block(sh, v, "    ");
    } else if (strcmp(type, "tool_call_response") == 0) {
        const char *id = json_string_value(json_object_get(p, "id"));

        fprintf(sh->out, "  %s<- tool result%s%s%s\n", C(sh, C_YELLOW),
                id ? " for " : "", id ? id : "", C(sh, C_RESET));
        v = json_object_get(p, "response");
        if (v != NULL)
            value_block(sh, v, "    ");
    } else {
        char *s = at_cli_json_string(p, JSON_COMPACT);

        fprintf(sh->out, "  %s[%s part]%s ", C(sh, C_DIM), type,
                C(sh, C_RESET));
        at_cli_buf b;
        at_cli_buf_init(&b);
        at_cli_oneline(&b, s, strlen(s), 200);
        fprintf(sh->out, "%s\n", b.data ? b.data : "");
        at_cli_buf_free(&b);
        free(s);
    }
}

static const char *role_color(const char *role)
{
    if (strcmp(role, "system") == 0)
        return C_MAGENTA;
    if (strcmp(role, "user") == 0)
        return C_GREEN;
    if (strcmp(role, "assistant") == 0)
        return C_CYAN;
    if (strcmp(role, "tool") == 0)
        return C_YELLOW;
    return C_BOLD;
}

static void print_messages(const shower *sh, const json_t *msgs)
{
    const json_t *m, *p, *parts;
    size_t i, j;

    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *finish =
            json_string_value(json_object_get(m, "finish_reason"));
        const char *name = json_string_value(json_object_get(m, "name"));

        if (role == NULL)
            role = "?";
        fprintf(sh->out, "%s%s%s", C(sh, C_BOLD), C(sh, role_color(role)),
                role);
        if (name)
            fprintf(sh->out, " (%s)", name);
        fputs(C(sh, C_RESET), sh->out);
        if (finish)
            fprintf(sh->out, "  %sfinish %s%s", C(sh, C_DIM), finish,
                    C(sh, C_RESET));
        fputc('\n', sh->out);
        parts = json_object_get(m, "parts");
        if (json_is_array(parts)) {
            json_array_foreach(parts, j, p)
                print_part(sh, p);
        } else if ((p = json_object_get(m, "content")) != NULL) {
            value_block(sh, p, "  ");
        }
    }
}

static void section(const shower *sh, const char *title)
{
    fprintf(sh->out, "\n%s%s== %s ==%s\n", C(sh, C_BOLD), C(sh, C_BLUE),
            title, C(sh, C_RESET));
}

static void field(const shower *sh, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void field(const shower *sh, const char *name, const char *fmt, ...)
{
    va_list ap;

    fprintf(sh->out, "  %s%-9s%s ", C(sh, C_DIM), name, C(sh, C_RESET));
    va_start(ap, fmt);
    vfprintf(sh->out, fmt, ap);
    va_end(ap);
    fputc('\n', sh->out);
}

/* Attributes shown in their own sections, not again in the list. */
static int shown_apart(const char *k)
{
    static const char *keys[] = {
        "gen_ai.system_instructions", "gen_ai.input.messages",
        "gen_ai.output.messages",     "gen_ai.tool.definitions",
        "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
        "agenttrace.http.request.body", "agenttrace.http.response.body"};
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

typedef struct relative {
    char id[17];
    const char *name; /* malloc'd */
    int64_t dur;
    int failed;
} relative;

static void print_span(const shower *sh, const at_cli_span *s,
                       const relative *parent, const relative *kids,
                       size_t nkids, size_t more_kids)
{
    const json_t *a = s->attrs, *v;
    char t1[64], t2[64];
    const char *k;
    size_t i;
    int64_t i64;

    fprintf(sh->out, "%s%s%s%s", C(sh, C_BOLD),
            s->failed ? C(sh, C_RED) : "", s->name, C(sh, C_RESET));
    if (s->failed)
        fprintf(sh->out, "  %s\xe2\x9c\x97 failed%s", C(sh, C_RED),
                C(sh, C_RESET));
    fputc('\n', sh->out);
    field(sh, "span", "%s  trace %s", s->span_id, s->trace_id);
    if (s->parent_id[0])
        field(sh, "parent", "%s  %s", s->parent_id,
              parent && parent->name ? parent->name
                                     : "(not in the file: shown as a root)");
    if (nkids > 0) {
        for (i = 0; i < nkids; i++) {
            at_cli_fmt_duration(kids[i].dur, t1, sizeof(t1));
            field(sh, i == 0 ? "children" : "", "%s  %s%s  %s", kids[i].id,
                  kids[i].failed ? "x " : "", kids[i].name, t1);
        }
        if (more_kids)
            field(sh, "", "... and %zu more", more_kids);
    }
    field(sh, "kind", "%s, %s", at_cli_kind_name(s->kind),
          s->cat == AT_CAT_LLM      ? "model call"
          : s->cat == AT_CAT_TOOL   ? "tool call"
          : s->cat == AT_CAT_HTTP   ? "HTTP call"
          : s->cat == AT_CAT_AGENT  ? "agent process"
          : s->cat == AT_CAT_PROCESS ? "process"
                                     : "other");
    fprintf(sh->out, "  %s%-9s%s %s%s%s", C(sh, C_DIM), "status",
            C(sh, C_RESET), s->status == AT_STATUS_ERROR ? C(sh, C_RED) : "",
            at_cli_status_name(s->status), C(sh, C_RESET));
    if (s->status_msg && *s->status_msg)
        fprintf(sh->out, ": %s", s->status_msg);
    if (s->error_type)
        fprintf(sh->out, "  (error.type %s)", s->error_type);
    fputc('\n', sh->out);
    at_cli_fmt_time(s->start_ns, t1, sizeof(t1));
    at_cli_fmt_duration(at_cli_span_duration(s), t2, sizeof(t2));
    field(sh, "start", "%s", t1);
    if (s->ttfc >= 0) {
        at_cli_fmt_seconds(s->ttfc, t1, sizeof(t1));
        field(sh, "duration", "%s  (first chunk after %s)", t2, t1);
    } else {
        field(sh, "duration", "%s", t2);
    }
    if (s->cat == AT_CAT_LLM || s->model) {
        const char *rid = at_cli_attr_str(a, "gen_ai.response.id");

        field(sh, "model", "%s %s%s%s%s%s", s->provider ? s->provider : "?",
              s->model ? s->model : "?",
              s->resp_model && s->model && strcmp(s->resp_model, s->model)
                  ? " -> "
                  : "",
              s->resp_model && s->model && strcmp(s->resp_model, s->model)
                  ? s->resp_model
                  : "",
              rid ? "  id " : "", rid ? rid : "");
        at_cli_buf b;
        at_cli_buf_init(&b);
        json_object_foreach((json_t *)a, k, v) {
            if (strncmp(k, "gen_ai.request.", 15) != 0 ||
                strcmp(k, "gen_ai.request.model") == 0)
                continue;
            if (b.len)
                at_cli_buf_puts(&b, ", ");
            at_cli_buf_printf(&b, "%s ", k + 15);
            at_cli_json_oneline(&b, v, 80);
        }
        if (b.len)
            field(sh, "params", "%s", b.data);
        at_cli_buf_free(&b);
    }
    if (s->in_tok >= 0 || s->out_tok >= 0) {
        at_cli_buf b;
        at_cli_buf_init(&b);
        at_cli_buf_printf(&b, "%lld in / %lld out tokens",
                          (long long)s->in_tok, (long long)s->out_tok);
        if (at_cli_attr_int(a, "gen_ai.usage.cache_read.input_tokens",
                            &i64) == 0)
            at_cli_buf_printf(&b, ", cache read %lld", (long long)i64);
        if (at_cli_attr_int(a, "gen_ai.usage.cache_creation.input_tokens",
                            &i64) == 0)
            at_cli_buf_printf(&b, ", cache write %lld", (long long)i64);
        if (at_cli_attr_int(a, "gen_ai.usage.reasoning.output_tokens",
                            &i64) == 0)
            at_cli_buf_printf(&b, ", reasoning %lld", (long long)i64);
        if (s->cost >= 0) {
            at_cli_fmt_cost(s->cost, t1, sizeof(t1));
            at_cli_buf_printf(&b, "  cost %s", t1);
        }
        field(sh, "usage", "%s", b.data);
        at_cli_buf_free(&b);
    }
    v = json_object_get(a, "gen_ai.response.finish_reasons");
    if (json_is_array(v) && json_array_size(v) > 0) {
        at_cli_buf b;
        const json_t *e;

        at_cli_buf_init(&b);
        json_array_foreach(v, i, e) {
            if (b.len)
                at_cli_buf_puts(&b, ", ");
            at_cli_json_oneline(&b, e, 60);
        }
        field(sh, "finish", "%s", b.data ? b.data : "");
        at_cli_buf_free(&b);
    }
    if (at_cli_attr_str(a, "url.full") || at_cli_attr_str(a,
                                                         "server.address")) {
        const char *method = at_cli_attr_str(a, "http.request.method");
        const char *url = at_cli_attr_str(a, "url.full");
        const char *ver = at_cli_attr_str(a, "agenttrace.http.version");
        const char *tr = at_cli_attr_str(a, "agenttrace.transport");

        at_cli_buf b;

        at_cli_buf_init(&b);
        at_cli_buf_printf(&b, "%s%s%s", method ? method : "",
                          method ? " " : "",
                          url ? url : at_cli_attr_str(a, "server.address"));
        if (s->http_status)
            at_cli_buf_printf(&b, " -> %d", s->http_status);
        else
            at_cli_buf_puts(&b, " -> no response");
        if (ver || tr)
            at_cli_buf_printf(&b, "  (%s%s%s%s)", ver ? "HTTP/" : "",
                              ver ? ver : "", ver && tr ? ", " : "",
                              tr ? tr : "");
        field(sh, "HTTP", "%s", b.data);
        at_cli_buf_free(&b);
    }
    if (s->resource != NULL) {
        const char *svc = json_string_value(
            json_object_get(s->resource, "service.name"));
        const char *cmd = json_string_value(
            json_object_get(s->resource, "process.command_line"));

        if (at_cli_attr_int(s->resource, "process.pid", &i64) < 0)
            i64 = -1;
        field(sh, "process", "%s pid %lld%s%s", svc ? svc : "?",
              (long long)i64, cmd ? ": " : "", cmd ? cmd : "");
    }
    if (s->has_exit)
        field(sh, "exit", "%lld", (long long)s->exit_code);

    v = json_object_get(a, "gen_ai.system_instructions");
    if (v != NULL || json_object_get(a, "gen_ai.input.messages")) {
        section(sh, "conversation sent");
        if (json_is_array(v)) {
            json_t *sys = json_array(), *m = json_object();

            json_object_set_new(m, "role", json_string("system"));
            json_object_set(m, "parts", (json_t *)v);
            json_array_append_new(sys, m);
            print_messages(sh, sys);
            json_decref(sys);
        } else if (v != NULL) {
            fprintf(sh->out, "%ssystem%s\n", C(sh, C_MAGENTA),
                    C(sh, C_RESET));
            value_block(sh, v, "  ");
        }
        print_messages(sh, json_object_get(a, "gen_ai.input.messages"));
    }
    v = json_object_get(a, "gen_ai.output.messages");
    if (v != NULL) {
        section(sh, "model output");
        print_messages(sh, v);
    } else if (s->cat == AT_CAT_LLM &&
               json_object_get(a, "gen_ai.input.messages") == NULL) {
        fprintf(sh->out, "\n  %s(no content: captured with "
                         "AGENTTRACE_CAPTURE_CONTENT=0, or not decoded)%s\n",
                C(sh, C_DIM), C(sh, C_RESET));
    }
    v = json_object_get(a, "gen_ai.tool.definitions");
    if (json_is_array(v)) {
        const json_t *t;

        section(sh, "tools offered");
        json_array_foreach(v, i, t) {
            const char *nm = json_string_value(json_object_get(t, "name"));
            const char *desc =
                json_string_value(json_object_get(t, "description"));
            const json_t *params = json_object_get(t, "parameters");

            fprintf(sh->out, "  %s%s%s%s%s\n", C(sh, C_YELLOW),
                    nm ? nm : "?", C(sh, C_RESET), desc ? "  " : "",
                    desc ? desc : "");
            if (params != NULL) {
                at_cli_buf b;

                at_cli_buf_init(&b);
                at_cli_json_oneline(&b, params, 200);
                fprintf(sh->out, "    %s%s%s\n", C(sh, C_DIM),
                        b.data ? b.data : "", C(sh, C_RESET));
                at_cli_buf_free(&b);
            }
        }
    }
    if ((v = json_object_get(a, "gen_ai.tool.call.arguments")) != NULL) {
        section(sh, "tool arguments");
        value_block(sh, v, "  ");
    }
    if ((v = json_object_get(a, "gen_ai.tool.call.result")) != NULL) {
        section(sh, "tool result");
        value_block(sh, v, "  ");
    } else if (s->cat == AT_CAT_TOOL && s->status == AT_STATUS_UNSET) {
        fprintf(sh->out, "\n  %s(no result: the process ended before the "
                         "result was sent back to the model)%s\n",
                C(sh, C_YELLOW), C(sh, C_RESET));
    }
    if ((v = json_object_get(a, "agenttrace.http.request.body")) != NULL) {
        section(sh, "request body");
        value_block(sh, v, "  ");
    }
    if ((v = json_object_get(a, "agenttrace.http.response.body")) != NULL) {
        section(sh, "response body");
        value_block(sh, v, "  ");
    }
    section(sh, "attributes");
    json_object_foreach((json_t *)a, k, v) {
        at_cli_buf b;

        if (shown_apart(k))
            continue;
        at_cli_buf_init(&b);
        if (json_is_string(v)) {
            char *q = at_cli_json_string(v, 0);

            at_cli_buf_puts(&b, q);
            free(q);
        } else {
            char *q = at_cli_json_string(v, JSON_COMPACT |
                                                JSON_REAL_PRECISION(10));

            at_cli_buf_puts(&b, q);
            free(q);
        }
        fprintf(sh->out, "  %s%s%s = %s\n", C(sh, C_DIM), k, C(sh, C_RESET),
                b.data ? b.data : "");
        at_cli_buf_free(&b);
    }
    if (s->events != NULL && json_array_size(s->events) > 0) {
        const json_t *e;

        section(sh, "events");
        json_array_foreach(s->events, i, e) {
            char *q = at_cli_json_string(e, JSON_COMPACT);

            fprintf(sh->out, "  %s\n", q);
            free(q);
        }
    }
}

#define MAX_KIDS 50

static void add_kid(relative *kids, size_t *n, size_t *more,
                    const at_cli_span *s)
{
    if (*n >= MAX_KIDS) {
        (*more)++;
        return;
    }
    memcpy(kids[*n].id, s->span_id, 17);
    kids[*n].name = at_cli_xstrdup(s->name);
    kids[*n].dur = at_cli_span_duration(s);
    kids[*n].failed = s->failed;
    (*n)++;
}

int at_cli_cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    at_cli_input in;
    at_cli_span s, found;
    relative parent, kids[MAX_KIDS];
    size_t nkids = 0, more = 0, nfound = 0, i, plen;
    const char *color = NULL, *want;
    char other[17] = "", lower[17];
    int c, rc = 0, json = 0;
    shower sh;

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
            fputs(show_help, stdout);
            return 0;
        default:
            return at_cli_usage_error("show", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return at_cli_usage_error("show", "expected FILE SPAN_ID");
    want = argv[optind + 1];
    plen = strlen(want);
    if (plen < 4 || plen > 16 || strspn(want, "0123456789abcdefABCDEF") !=
                                     plen)
        return at_cli_usage_error("show", "SPAN_ID wants 4 to 16 hex digits, "
                                          "not '%s'", want);
    for (i = 0; i <= plen; i++)
        lower[i] = (char)(want[i] >= 'A' && want[i] <= 'F' ? want[i] + 32
                                                            : want[i]);
    want = lower;
    sh.out = stdout;
    if ((sh.color = at_cli_color(color, stdout)) < 0)
        return at_cli_usage_error("show", "bad --color '%s'", color);
    if (at_cli_input_open(&in, argv[optind], 0) < 0)
        return 1;
    memset(&parent, 0, sizeof(parent));
    memset(&found, 0, sizeof(found));
    while ((c = at_cli_input_next(&in, &s)) == 1) {
        int keep = 0;

        if (strncasecmp(s.span_id, want, plen) == 0) {
            if (nfound == 0) {
                found = s;
                keep = 1;
            } else if (strcmp(found.span_id, s.span_id) != 0 &&
                       other[0] == '\0') {
                memcpy(other, s.span_id, 17);
            }
            nfound++;
        }
        /* Relatives, as far as the match is known: parents may come after
         * (a parent's line is written when it ends). */
        if (nfound > 0 && strcmp(s.span_id, found.parent_id) == 0 &&
            parent.name == NULL) {
            memcpy(parent.id, s.span_id, 17);
            parent.name = at_cli_xstrdup(s.name);
        }
        if (plen == 16 && strcmp(s.parent_id, want) == 0)
            add_kid(kids, &nkids, &more, &s);
        if (!keep)
            at_cli_span_free(&s);
    }
    if (c < 0) {
        rc = 1;
        goto out;
    }
    if (at_cli_input_report(&in) != 0) {
        rc = 1;
        goto out;
    }
    if (nfound == 0) {
        at_cli_err("%s: no span %s", argv[optind], want);
        rc = 1;
        goto out;
    }
    if (other[0]) {
        at_cli_err("%s: span id %s is ambiguous (%s, %s, ...): give more "
                   "digits",
                   argv[optind], want, found.span_id, other);
        rc = 1;
        goto out;
    }
    if (json) {
        json_dumpf(found.root, stdout, JSON_INDENT(2) |
                                           JSON_REAL_PRECISION(17));
        fputc('\n', stdout);
        goto out;
    }
    /* A second pass for relatives that come before the match; stdin can
     * not be read twice, so there they are what the first pass saw. */
    if (!in.r.is_stdin && (plen < 16 || parent.name == NULL)) {
        at_cli_input_close(&in);
        if (at_cli_input_open(&in, argv[optind], 0) == 0) {
            while (at_cli_input_next(&in, &s) == 1) {
                if (parent.name == NULL &&
                    strcmp(s.span_id, found.parent_id) == 0) {
                    memcpy(parent.id, s.span_id, 17);
                    parent.name = at_cli_xstrdup(s.name);
                }
                if (plen < 16 && strcmp(s.parent_id, found.span_id) == 0)
                    add_kid(kids, &nkids, &more, &s);
                at_cli_span_free(&s);
            }
        }
    }
    if (nfound > 1)
        at_cli_err("%s: %zu spans have id %s; showing the first",
                   argv[optind], nfound, found.span_id);
    print_span(&sh, &found, &parent, kids, nkids, more);
out:
    at_cli_span_free(&found);
    free((char *)parent.name);
    for (i = 0; i < nkids; i++)
        free((char *)kids[i].name);
    at_cli_input_close(&in);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
