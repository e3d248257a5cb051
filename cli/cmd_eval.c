/* cmd_eval.c - `agenttrace dataset add` (a failing model call becomes a
 * regression case) and `agenttrace eval` (replay cases against an OpenAI-
 * or Anthropic-compatible endpoint, score them, exit 1 when one fails: a
 * gate for CI).  Runs in the inspector's own process. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/evalcase.h"
#include "cli/http.h"
#include "cli/input.h"
#include "cli/reader.h"
#include "cli/util.h"

static const char dataset_help[] =
    "usage: agenttrace dataset add FILE SPAN_ID --label TEXT\n"
    "                              [--expect CHECK]... --out CASES.jsonl\n"
    "\n"
    "Turn one model call of FILE ('-': stdin) into an eval case, appended\n"
    "as one line to CASES.jsonl: the exact request the model received\n"
    "(system instructions, messages, tools, parameters), the output it\n"
    "gave, the label, the source trace and span, and the checks a new\n"
    "answer must pass.  SPAN_ID may be a unique prefix (4+ digits).\n"
    "\n"
    "  --label TEXT     what went wrong, or what the case guards\n"
    "  --expect CHECK   a check (repeatable):\n"
    "      regex=RE          the answer's text matches RE (POSIX extended)\n"
    "      not-regex=RE      it does not\n"
    "      tool=NAME         the answer calls tool NAME\n"
    "      tool=NAME:JSON    ... with arguments holding these keys/values\n"
    "      json              the answer's text is valid JSON\n"
    "      exact=TEXT        the answer's text is TEXT\n"
    "  --out FILE       the cases file (created 0644 when missing; '-':\n"
    "                   stdout)\n";

static const char eval_help[] =
    "usage: agenttrace eval CASES.jsonl --endpoint URL [--model M]\n"
    "                       [--api openai|anthropic] [--results FILE]\n"
    "                       [--timeout S] [--retries N]\n"
    "\n"
    "Replay each case's request against an OpenAI-compatible Chat\n"
    "Completions endpoint (URL/chat/completions) or an Anthropic Messages\n"
    "endpoint (URL/messages); URL is the API's base, e.g.\n"
    "https://api.openai.com/v1.  Score each answer with the case's checks,\n"
    "print a table, write one result per case to the results file, and\n"
    "exit 1 when any case fails or errs, 0 when all pass.\n"
    "\n"
    "  --endpoint URL   the API base URL (or the full .../chat/completions\n"
    "                   or .../messages URL)\n"
    "  --model M        replay with model M (default: each case's model)\n"
    "  --api API        openai or anthropic (default: the case's provider:\n"
    "                   anthropic for anthropic, else openai)\n"
    "  --results FILE   default: CASES with .results.jsonl for .jsonl\n"
    "                   (eval-results.jsonl when CASES is '-')\n"
    "  --timeout S      per request (default 120)\n"
    "  --retries N      retries on 429, 5xx and transport errors (default 2)\n"
    "  --cacert FILE    trust this CA bundle (PEM) for https\n"
    "\n"
    "Keys: $OPENAI_API_KEY (Authorization: Bearer), $ANTHROPIC_API_KEY\n"
    "(x-api-key), when set.\n";

/* ------------------------------------------------------------- dataset */

int at_cli_cmd_dataset(int argc, char **argv)
{
    static const struct option opts[] = {
        {"label", required_argument, NULL, 'l'},
        {"expect", required_argument, NULL, 'e'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *label = NULL, *outpath = NULL, *want, *file;
    json_t *checks = json_array(), *c = NULL;
    at_cli_input in;
    at_cli_span s, found;
    size_t nfound = 0, plen;
    char err[300], other[17] = "";
    int ch, rc = 1, fd;
    char *line;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "hl:e:o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            label = optarg;
            break;
        case 'e': {
            json_t *check = at_cli_check_parse(optarg, err, sizeof(err));

            if (check == NULL) {
                json_decref(checks);
                return at_cli_usage_error("dataset", "--expect: %s", err);
            }
            json_array_append_new(checks, check);
            break;
        }
        case 'o':
            outpath = optarg;
            break;
        case 'h':
            fputs(dataset_help, stdout);
            json_decref(checks);
            return 0;
        default:
            json_decref(checks);
            return at_cli_usage_error("dataset", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 3 || strcmp(argv[optind], "add") != 0) {
        json_decref(checks);
        return at_cli_usage_error("dataset",
                                  "expected: dataset add FILE SPAN_ID");
    }
    if (label == NULL || outpath == NULL) {
        json_decref(checks);
        return at_cli_usage_error("dataset", "--label and --out are needed");
    }
    file = argv[optind + 1];
    want = argv[optind + 2];
    plen = strlen(want);
    if (plen < 4 || plen > 16 ||
        strspn(want, "0123456789abcdefABCDEF") != plen) {
        json_decref(checks);
        return at_cli_usage_error("dataset", "SPAN_ID wants 4 to 16 hex "
                                             "digits, not '%s'", want);
    }
    if (at_cli_input_open(&in, file, 0) < 0) {
        json_decref(checks);
        return 1;
    }
    memset(&found, 0, sizeof(found));
    while ((ch = at_cli_input_next(&in, &s)) == 1) {
        if (strncasecmp(s.span_id, want, plen) == 0) {
            if (nfound++ == 0) {
                found = s;
                continue;
            }
            if (strcmp(found.span_id, s.span_id) != 0 && !other[0])
                memcpy(other, s.span_id, 17);
        }
        at_cli_span_free(&s);
    }
    if (ch < 0 || at_cli_input_report(&in) != 0)
        goto out;
    if (nfound == 0) {
        at_cli_err("%s: no span %s", file, want);
        goto out;
    }
    if (other[0]) {
        at_cli_err("%s: span id %s is ambiguous (%s, %s, ...): give more "
                   "digits", file, want, found.span_id, other);
        goto out;
    }
    c = at_cli_case_from_span(&found, file, label, checks, err, sizeof(err));
    if (c == NULL) {
        at_cli_err("dataset: %s", err);
        goto out;
    }
    line = json_dumps(c, JSON_COMPACT | JSON_REAL_PRECISION(17));
    fd = strcmp(outpath, "-") == 0
             ? dup(STDOUT_FILENO)
             : open(outpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || line == NULL) {
        at_cli_err("%s: %s", outpath, fd < 0 ? strerror(errno)
                                             : "out of memory");
        if (fd >= 0)
            close(fd);
        free(line);
        goto out;
    }
    {
        size_t n = strlen(line);
        ssize_t w;

        line[n] = '\n'; /* replaces the NUL: one write(2) per case */
        w = write(fd, line, n + 1);
        if (w != (ssize_t)(n + 1) || close(fd) != 0) {
            at_cli_err("%s: %s", outpath,
                       w < 0 ? strerror(errno) : "short write");
            free(line);
            goto out;
        }
    }
    free(line);
    fprintf(strcmp(outpath, "-") == 0 ? stderr : stdout,
            "added case %s (%s) to %s with %zu check%s\n",
           json_string_value(json_object_get(c, "id")), found.name, outpath,
           json_array_size(checks), json_array_size(checks) == 1 ? "" : "s");
    if (json_array_size(checks) == 0)
        at_cli_err("dataset: no --expect: eval will only check that the "
                   "endpoint answers");
    rc = 0;
out:
    json_decref(c);
    json_decref(checks);
    at_cli_span_free(&found);
    at_cli_input_close(&in);
    return rc;
}

/* ---------------------------------------------------------------- eval */

/* results_path: CASES minus .jsonl plus .results.jsonl. */
static char *results_path(const char *cases)
{
    size_t n = strlen(cases);
    at_cli_buf b;

    if (strcmp(cases, "-") == 0)
        return at_cli_xstrdup("eval-results.jsonl");
    at_cli_buf_init(&b);
    if (n > 6 && strcmp(cases + n - 6, ".jsonl") == 0)
        n -= 6;
    at_cli_buf_add(&b, cases, n);
    at_cli_buf_puts(&b, ".results.jsonl");
    return b.data;
}

static char *api_url(const char *base, int anthropic)
{
    const char *suffix = anthropic ? "/messages" : "/chat/completions";
    size_t n = strlen(base), sl = strlen(suffix);
    at_cli_buf b;

    at_cli_buf_init(&b);
    while (n > 0 && base[n - 1] == '/')
        n--;
    at_cli_buf_add(&b, base, n);
    if (n < sl || strcmp(b.data + n - sl, suffix) != 0)
        at_cli_buf_puts(&b, suffix);
    return b.data;
}

/* error_message: the message of a provider's error body, or its first
 * 200 columns. */
static void error_message(const at_cli_http_resp *r, at_cli_buf *out)
{
    json_t *body = json_loadb(r->body.data ? r->body.data : "", r->body.len,
                              0, NULL);
    const char *msg = json_string_value(
        json_object_get(json_object_get(body, "error"), "message"));

    if (r->status == 0)
        at_cli_buf_printf(out, "%s", r->error);
    else if (msg != NULL) {
        at_cli_buf_printf(out, "HTTP %ld: ", r->status);
        at_cli_oneline(out, msg, strlen(msg), 200);
    } else {
        at_cli_buf_printf(out, "HTTP %ld: ", r->status);
        at_cli_oneline(out, r->body.data ? r->body.data : "", r->body.len,
                       200);
    }
    json_decref(body);
}

typedef struct eval_opts {
    const char *endpoint, *model, *api, *cacert;
    long timeout_ms;
    int retries;
    int color;
} eval_opts;

/* run_case: replay one case; a new result object. */
static json_t *run_case(const eval_opts *o, const json_t *c,
                        at_cli_http *oa, at_cli_http *an)
{
    const json_t *req = json_object_get(c, "request");
    const char *provider = json_string_value(json_object_get(req,
                                                             "provider"));
    int anthropic = o->api ? strcmp(o->api, "anthropic") == 0
                           : (provider && strcmp(provider, "anthropic") == 0);
    json_t *body = anthropic ? at_cli_request_anthropic(c, o->model)
                             : at_cli_request_openai(c, o->model);
    json_t *res = json_object(), *scores = json_array(), *out = NULL;
    char *url = api_url(o->endpoint, anthropic);
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17));
    at_cli_http_resp r;
    int64_t t0 = at_cli_mono_ns();
    const json_t *check;
    size_t i;
    int passed = 1;

    at_cli_http_resp_init(&r);
    json_object_set(res, "id", json_object_get(c, "id"));
    json_object_set(res, "label", json_object_get(c, "label"));
    json_object_set_new(res, "api",
                        json_string(anthropic ? "anthropic" : "openai"));
    json_object_set(res, "model", json_object_get(body, "model"));
    json_object_set_new(res, "url", json_string(url));
    if (at_cli_http_post_retry(anthropic ? an : oa, url, text, strlen(text),
                               &r) < 0) {
        at_cli_buf msg;

        at_cli_buf_init(&msg);
        error_message(&r, &msg);
        json_object_set_new(res, "error", json_string(msg.data));
        at_cli_buf_free(&msg);
        passed = 0;
    } else {
        json_t *resp = json_loadb(r.body.data, r.body.len, 0, NULL);

        out = anthropic ? at_cli_output_anthropic(resp)
                        : at_cli_output_openai(resp);
        json_decref(resp);
        if (out == NULL) {
            json_object_set_new(res, "error",
                                json_string("the answer is not a "
                                            "chat completion or message"));
            passed = 0;
        }
    }
    json_object_set_new(res, "http_status", json_integer(r.status));
    json_object_set_new(res, "latency_ms",
                        json_real((double)(at_cli_mono_ns() - t0) / 1e6));
    if (out != NULL) {
        json_array_foreach(json_object_get(c, "checks"), i, check) {
            json_t *v = at_cli_check_run(check, out);

            if (!json_is_true(json_object_get(v, "passed")))
                passed = 0;
            json_array_append_new(scores, v);
        }
        json_object_set_new(res, "output", out);
    }
    json_object_set_new(res, "checks", scores);
    json_object_set_new(res, "passed", json_boolean(passed));
    at_cli_http_resp_free(&r);
    free(text);
    free(url);
    json_decref(body);
    return res;
}

static void print_row(const eval_opts *o, const json_t *res, size_t idw)
{
    const char *red = o->color ? "\033[1;31m" : "";
    const char *green = o->color ? "\033[32m" : "";
    const char *dim = o->color ? "\033[2m" : "";
    const char *rst = o->color ? "\033[0m" : "";
    const json_t *checks = json_object_get(res, "checks"), *ck;
    const char *label = json_string_value(json_object_get(res, "label"));
    const char *id = json_string_value(json_object_get(res, "id"));
    const char *error = json_string_value(json_object_get(res, "error"));
    int passed = json_is_true(json_object_get(res, "passed"));
    size_t i, ok = 0;
    char lat[32], cnt[32];
    at_cli_buf lb;

    json_array_foreach(checks, i, ck)
        if (json_is_true(json_object_get(ck, "passed")))
            ok++;
    at_cli_fmt_seconds(json_number_value(json_object_get(res, "latency_ms")) /
                           1e3,
                       lat, sizeof(lat));
    if (error)
        snprintf(cnt, sizeof(cnt), "-");
    else
        snprintf(cnt, sizeof(cnt), "%zu/%zu", ok, json_array_size(checks));
    at_cli_buf_init(&lb);
    at_cli_oneline(&lb, label ? label : "", label ? strlen(label) : 0, 36);
    printf("%-*s  %-36s  %6s  %s%-5s%s  %9s\n", (int)idw, id ? id : "?",
           lb.data ? lb.data : "", cnt, passed ? green : red,
           passed ? "pass" : error ? "ERROR" : "FAIL", rst, lat);
    at_cli_buf_free(&lb);
    if (error)
        printf("    %s%s%s\n", red, error, rst);
    json_array_foreach(checks, i, ck) {
        if (json_is_true(json_object_get(ck, "passed")))
            continue;
        printf("    %sx %s%s: %s%s%s\n", red,
               json_string_value(json_object_get(ck, "type")), rst, dim,
               json_string_value(json_object_get(ck, "detail")), rst);
    }
}

int at_cli_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"model", required_argument, NULL, 'm'},
        {"api", required_argument, NULL, 'a'},
        {"results", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'R'},
        {"color", required_argument, NULL, 'c'},
        {"cacert", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    eval_opts o;
    const char *results = NULL, *color = NULL;
    char *rpath = NULL, *hdr_oa = NULL, *hdr_an = NULL;
    at_cli_reader rd;
    at_cli_http oa, an;
    FILE *rf = NULL;
    size_t ncases = 0, npass = 0, idw = 25;
    int ch, rc = 1;
    int64_t v;

    memset(&o, 0, sizeof(o));
    o.timeout_ms = 120000;
    o.retries = 2;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "he:m:a:r:t:R:c:C:", opts, NULL)) !=
           -1) {
        switch (ch) {
        case 'C':
            o.cacert = optarg;
            break;
        case 'e':
            o.endpoint = optarg;
            break;
        case 'm':
            o.model = optarg;
            break;
        case 'a':
            if (strcmp(optarg, "openai") != 0 &&
                strcmp(optarg, "anthropic") != 0)
                return at_cli_usage_error("eval", "--api openai or "
                                                  "anthropic, not '%s'",
                                          optarg);
            o.api = optarg;
            break;
        case 'r':
            results = optarg;
            break;
        case 't':
        case 'R':
            if (at_cli_parse_i64(optarg, &v) < 0 || v < (ch == 'R' ? 0 : 1) ||
                v > 100000)
                return at_cli_usage_error("eval", "bad value '%s' for %s",
                                          optarg, argv[optind - 1]);
            if (ch == 't')
                o.timeout_ms = (long)v * 1000;
            else
                o.retries = (int)v;
            break;
        case 'c':
            color = optarg;
            break;
        case 'h':
            fputs(eval_help, stdout);
            return 0;
        default:
            return at_cli_usage_error("eval", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return at_cli_usage_error("eval", "expected one CASES file");
    if (o.endpoint == NULL)
        return at_cli_usage_error("eval", "--endpoint URL is needed");
    if (strncmp(o.endpoint, "http://", 7) != 0 &&
        strncmp(o.endpoint, "https://", 8) != 0)
        return at_cli_usage_error("eval", "--endpoint wants an http:// or "
                                          "https:// URL, not '%s'",
                                  o.endpoint);
    if ((o.color = at_cli_color(color, stdout)) < 0)
        return at_cli_usage_error("eval", "bad --color '%s'", color);
    if (at_cli_reader_open(&rd, argv[optind], 0) < 0) {
        at_cli_err("%s: %s", argv[optind], strerror(errno));
        return 1;
    }
    {
        const char *k = getenv("OPENAI_API_KEY");
        at_cli_buf b;
        const char *h1[1], *h2[2];

        at_cli_buf_init(&b);
        if (k != NULL && *k && !strpbrk(k, "\r\n")) {
            at_cli_buf_printf(&b, "Authorization: Bearer %s", k);
            hdr_oa = b.data;
            at_cli_buf_init(&b);
        }
        k = getenv("ANTHROPIC_API_KEY");
        if (k != NULL && *k && !strpbrk(k, "\r\n")) {
            at_cli_buf_printf(&b, "x-api-key: %s", k);
            hdr_an = b.data;
        }
        h1[0] = hdr_oa;
        h2[0] = "anthropic-version: 2023-06-01";
        h2[1] = hdr_an;
        if (at_cli_http_init(&oa, h1, hdr_oa ? 1 : 0) < 0 ||
            at_cli_http_init(&an, h2, hdr_an ? 2 : 1) < 0) {
            at_cli_err("eval: libcurl could not start");
            at_cli_reader_close(&rd);
            free(hdr_oa);
            free(hdr_an);
            return 1;
        }
    }
    oa.timeout_ms = an.timeout_ms = o.timeout_ms;
    oa.cainfo = an.cainfo = o.cacert;
    oa.retries = an.retries = o.retries;
    oa.backoff_ms = an.backoff_ms = 1000;
    rpath = results ? at_cli_xstrdup(results) : results_path(argv[optind]);
    rf = fopen(rpath, "w");
    if (rf == NULL) {
        at_cli_err("%s: %s", rpath, strerror(errno));
        goto out;
    }
    printf("%-*s  %-36s  %6s  %-5s  %9s\n", (int)idw, "case", "label",
           "checks", "", "latency");
    for (;;) {
        char *line, err[64];
        size_t len;
        int complete;
        int got = at_cli_reader_next(&rd, &line, &len, &complete);
        json_t *c, *res;
        const char *why;

        if (got == AT_CLI_END)
            break;
        if (got == AT_CLI_ERROR) {
            at_cli_err("%s: %s", argv[optind], strerror(errno));
            goto out;
        }
        if (got == AT_CLI_TOOLONG)
            continue;
        if (strspn(line, " \t\r") == len)
            continue;
        c = json_loadb(line, len, 0, NULL);
        why = c ? at_cli_case_check(c) : "not JSON";
        ncases++;
        if (why != NULL) {
            snprintf(err, sizeof(err), "line %llu",
                     (unsigned long long)rd.lineno);
            res = json_object();
            json_object_set_new(res, "id", json_string(err));
            json_object_set_new(res, "error",
                                json_string(why));
            json_object_set_new(res, "passed", json_false());
            json_object_set_new(res, "checks", json_array());
            json_object_set_new(res, "latency_ms", json_real(0));
        } else {
            res = run_case(&o, c, &oa, &an);
        }
        if (json_is_true(json_object_get(res, "passed")))
            npass++;
        print_row(&o, res, idw);
        fflush(stdout);
        json_dumpf(res, rf, JSON_COMPACT | JSON_REAL_PRECISION(17));
        fputc('\n', rf);
        json_decref(res);
        json_decref(c);
    }
    if (fclose(rf) != 0) {
        rf = NULL;
        at_cli_err("%s: %s", rpath, strerror(errno));
        goto out;
    }
    rf = NULL;
    if (ncases == 0) {
        at_cli_err("%s: no cases", argv[optind]);
        goto out;
    }
    /* Not "N passed, N failed": CI tools read such lines as a test run. */
    printf("\n%zu of %zu case%s passed; results in %s\n", npass, ncases,
           ncases == 1 ? "" : "s", rpath);
    rc = npass == ncases ? 0 : 1;
out:
    if (rf != NULL)
        fclose(rf);
    at_cli_http_free(&oa);
    at_cli_http_free(&an);
    at_cli_reader_close(&rd);
    free(rpath);
    free(hdr_oa);
    free(hdr_an);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
