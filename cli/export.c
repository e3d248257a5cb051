/* export.c - `agenttrace export otlp`: span records as OTLP/JSON
 * ExportTraceServiceRequests, one per batch, on stdout (one per line) or
 * POSTed to ENDPOINT/v1/traces; --follow ships a growing file as it is
 * written.  Runs in the inspector's own process. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/http.h"
#include "cli/input.h"
#include "cli/otlp.h"
#include "cli/util.h"

static const char export_help[] =
    "usage: agenttrace export otlp FILE [--endpoint URL] [--header K=V]...\n"
    "                              [--follow] [--batch N] [--json-attrs]\n"
    "                              [--retries N] [--backoff MS] [--timeout S]\n"
    "\n"
    "Convert the spans of FILE ('-': stdin) to OTLP/JSON\n"
    "(ExportTraceServiceRequest, the protobuf JSON mapping: ids in hex,\n"
    "times as strings, attributes as typed key/values, one resource per\n"
    "process, scope \"agenttrace\").  Without --endpoint, print one request\n"
    "per line (the format of the collector's otlpjsonfile receiver).  With\n"
    "it, POST each batch to URL/v1/traces (URL as given when it already\n"
    "ends in /v1/traces), retrying on 429, 5xx and transport errors with\n"
    "exponential backoff (honouring Retry-After).\n"
    "\n"
    "  --endpoint URL    an OTLP/HTTP receiver, e.g. http://localhost:4318\n"
    "                    (default: $OTEL_EXPORTER_OTLP_ENDPOINT when set\n"
    "                    and --stdout not given)\n"
    "  --header K=V      an HTTP header (repeatable), e.g. for an API key\n"
    "  --follow          keep reading FILE as it grows (rotation and\n"
    "                    truncation noticed); stop on SIGINT or SIGTERM\n"
    "                    after shipping what was read\n"
    "  --batch N         spans per request (default 512)\n"
    "  --json-attrs      structured attribute values (messages, tool\n"
    "                    definitions) as JSON strings rather than\n"
    "                    kvlistValue/arrayValue\n"
    "  --retries N       retries per batch (default 5)\n"
    "  --backoff MS      first wait before a retry (default 500, doubling,\n"
    "                    at most 30 s)\n"
    "  --timeout S       per request (default 30)\n"
    "  --cacert FILE     trust this CA bundle (PEM) for https\n"
    "  --stdout          print even when OTEL_EXPORTER_OTLP_ENDPOINT is set\n";

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct exporter {
    at_cli_otlp_batch batch;
    at_cli_http http;
    char *url;          /* NULL: stdout */
    size_t batch_max;
    uint64_t sent_spans, requests;
    int failed;
} exporter;

/* flush: ship the batch.  Returns 0, or -1 when it could not be
 * delivered (reported). */
static int flush(exporter *e)
{
    json_t *req;
    char *body;
    int rc = 0;

    if (e->batch.spans == 0)
        return 0;
    req = at_cli_otlp_batch_request(&e->batch);
    body = json_dumps(req, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(req);
    if (body == NULL) {
        at_cli_err("export: out of memory");
        return -1;
    }
    if (e->url == NULL) {
        fputs(body, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    } else {
        at_cli_http_resp r;

        at_cli_http_resp_init(&r);
        if (at_cli_http_post_retry(&e->http, e->url, body, strlen(body),
                                   &r) < 0) {
            if (r.status == 0)
                at_cli_err("export: POST %s: %s (%d attempt%s); %zu spans "
                           "not delivered",
                           e->url, r.error, r.attempts,
                           r.attempts == 1 ? "" : "s", e->batch.spans);
            else {
                at_cli_buf msg;

                at_cli_buf_init(&msg);
                at_cli_oneline(&msg, r.body.data ? r.body.data : "",
                               r.body.len, 200);
                at_cli_err("export: POST %s: HTTP %ld%s%s (%d attempt%s); "
                           "%zu spans not delivered",
                           e->url, r.status, msg.len ? ": " : "",
                           msg.len ? msg.data : "", r.attempts,
                           r.attempts == 1 ? "" : "s", e->batch.spans);
                at_cli_buf_free(&msg);
            }
            rc = -1;
        } else {
            json_t *resp = json_loadb(r.body.data, r.body.len, 0, NULL);
            json_t *ps = json_object_get(resp, "partialSuccess");
            json_int_t rejected = 0;
            const json_t *rj = json_object_get(ps, "rejectedSpans");

            if (json_is_integer(rj))
                rejected = json_integer_value(rj);
            else if (json_is_string(rj))
                rejected = strtoll(json_string_value(rj), NULL, 10);
            if (rejected > 0)
                at_cli_err("export: the receiver rejected %lld spans: %s",
                           (long long)rejected,
                           json_string_value(
                               json_object_get(ps, "errorMessage"))
                               ? json_string_value(
                                     json_object_get(ps, "errorMessage"))
                               : "(no message)");
            json_decref(resp);
        }
        at_cli_http_resp_free(&r);
    }
    free(body);
    if (rc == 0) {
        e->sent_spans += e->batch.spans;
        e->requests++;
    }
    at_cli_otlp_batch_reset(&e->batch);
    return rc;
}

/* endpoint_url: URL/v1/traces, or URL when it already ends so. */
static char *endpoint_url(const char *base)
{
    size_t n = strlen(base);
    at_cli_buf b;

    at_cli_buf_init(&b);
    while (n > 0 && base[n - 1] == '/')
        n--;
    at_cli_buf_add(&b, base, n);
    if (n < 10 || strcmp(b.data + n - 10, "/v1/traces") != 0)
        at_cli_buf_puts(&b, "/v1/traces");
    return b.data;
}

/* header_line: "K=V" or "K: V" as "K: V"; NULL when malformed. */
static char *header_line(const char *kv)
{
    const char *eq = strchr(kv, '='), *colon = strchr(kv, ':');
    const char *sep = eq;
    at_cli_buf b;

    if (colon != NULL && (eq == NULL || colon < eq))
        sep = colon;
    if (sep == NULL || sep == kv || strchr(kv, '\n') || strchr(kv, '\r'))
        return NULL;
    at_cli_buf_init(&b);
    at_cli_buf_add(&b, kv, (size_t)(sep - kv));
    at_cli_buf_puts(&b, ": ");
    sep++;
    while (*sep == ' ')
        sep++;
    at_cli_buf_puts(&b, sep);
    return b.data;
}

int at_cli_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"header", required_argument, NULL, 'H'},
        {"follow", no_argument, NULL, 'f'},
        {"batch", required_argument, NULL, 'b'},
        {"json-attrs", no_argument, NULL, 'j'},
        {"retries", required_argument, NULL, 'r'},
        {"backoff", required_argument, NULL, 'B'},
        {"timeout", required_argument, NULL, 't'},
        {"poll", required_argument, NULL, 'p'},
        {"stdout", no_argument, NULL, 's'},
        {"cacert", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    exporter e;
    at_cli_input in;
    at_cli_span s;
    const char *endpoint = NULL, *cacert = NULL;
    char **headers = NULL;
    size_t nheaders = 0, i;
    int c, rc = 0, follow = 0, json_strings = 0, to_stdout = 0;
    int64_t batch = 512, retries = 5, backoff = 500, timeout = 30, poll = 200;
    struct sigaction sa;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "he:H:fb:jr:B:t:p:sC:", opts, NULL)) !=
           -1) {
        switch (c) {
        case 'e':
            endpoint = optarg;
            break;
        case 'H': {
            char *h = header_line(optarg);

            if (h == NULL) {
                for (i = 0; i < nheaders; i++)
                    free(headers[i]);
                free(headers);
                return at_cli_usage_error("export", "bad --header '%s' "
                                                    "(want K=V)", optarg);
            }
            headers = at_cli_xrealloc(headers,
                                      (nheaders + 1) * sizeof(*headers));
            headers[nheaders++] = h;
            break;
        }
        case 'f':
            follow = 1;
            break;
        case 'C':
            cacert = optarg;
            break;
        case 'j':
            json_strings = 1;
            break;
        case 's':
            to_stdout = 1;
            break;
        case 'b':
        case 'r':
        case 'B':
        case 't':
        case 'p': {
            int64_t v;
            int64_t *dst = c == 'b' ? &batch : c == 'r' ? &retries
                         : c == 'B' ? &backoff : c == 't' ? &timeout : &poll;

            if (at_cli_parse_i64(optarg, &v) < 0 || v < (c == 'r' ? 0 : 1) ||
                v > 100000000) {
                for (i = 0; i < nheaders; i++)
                    free(headers[i]);
                free(headers);
                return at_cli_usage_error("export", "bad value '%s' for %s",
                                          optarg, argv[optind - 1]);
            }
            *dst = v;
            break;
        }
        case 'h':
            fputs(export_help, stdout);
            return 0;
        default:
            for (i = 0; i < nheaders; i++)
                free(headers[i]);
            free(headers);
            return at_cli_usage_error("export", "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "otlp") != 0) {
        for (i = 0; i < nheaders; i++)
            free(headers[i]);
        free(headers);
        if (argc - optind >= 1 && strcmp(argv[optind], "otlp") != 0)
            return at_cli_usage_error("export", "unknown format '%s' (only "
                                                "otlp)", argv[optind]);
        return at_cli_usage_error("export", "expected: export otlp FILE");
    }
    if (endpoint == NULL && !to_stdout) {
        const char *env = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");

        if (env != NULL && *env)
            endpoint = env;
    }
    memset(&e, 0, sizeof(e));
    e.batch_max = (size_t)batch;
    if (endpoint != NULL) {
        if (strncmp(endpoint, "http://", 7) != 0 &&
            strncmp(endpoint, "https://", 8) != 0) {
            for (i = 0; i < nheaders; i++)
                free(headers[i]);
            free(headers);
            return at_cli_usage_error("export", "--endpoint wants an http:// "
                                                "or https:// URL, not '%s'",
                                      endpoint);
        }
        if (at_cli_http_init(&e.http, (const char *const *)headers,
                             nheaders) < 0) {
            at_cli_err("export: libcurl could not start");
            rc = 1;
            goto out_headers;
        }
        e.http.retries = (int)retries;
        e.http.backoff_ms = (long)backoff;
        e.http.timeout_ms = (long)timeout * 1000;
        e.http.stop = &g_stop;
        e.http.cainfo = cacert;
        e.url = endpoint_url(endpoint);
    }
    if (at_cli_input_open(&in, argv[optind + 1], follow) < 0) {
        rc = 1;
        goto out_http;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (follow) {
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    at_cli_otlp_batch_init(&e.batch, json_strings);
    for (;;) {
        int got = at_cli_input_next(&in, &s);

        if (got == 1) {
            at_cli_otlp_batch_add(&e.batch, &s, 0);
            at_cli_span_free(&s);
            if (e.batch.spans >= e.batch_max && flush(&e) < 0) {
                rc = 1;
                break;
            }
            if (!g_stop)
                continue;
        }
        if (got < 0) {
            rc = 1;
            break;
        }
        /* End of what is there: ship it. */
        if (flush(&e) < 0) {
            rc = 1;
            break;
        }
        if (!follow || g_stop || in.r.is_stdin)
            break;
        if (at_cli_reader_reopen_if_replaced(&in.r) == 1)
            continue;
        {
            struct timespec ts = {(time_t)(poll / 1000),
                                  (long)(poll % 1000) * 1000000L};

            nanosleep(&ts, NULL);
        }
    }
    if (rc == 0 && flush(&e) < 0)
        rc = 1;
    if (at_cli_input_report(&in) != 0)
        rc = 1;
    if (e.url != NULL && rc == 0)
        at_cli_err("exported %llu spans in %llu request%s to %s",
                   (unsigned long long)e.sent_spans,
                   (unsigned long long)e.requests,
                   e.requests == 1 ? "" : "s", e.url);
    at_cli_otlp_batch_free(&e.batch);
    at_cli_input_close(&in);
out_http:
    if (e.url != NULL) {
        at_cli_http_free(&e.http);
        free(e.url);
    }
out_headers:
    for (i = 0; i < nheaders; i++)
        free(headers[i]);
    free(headers);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
