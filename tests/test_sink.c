/* test_sink.c - the sink, from capture records to span lines.
 *
 * Each test plays the records the hooks would push for one or more
 * connections (OPEN, bytes out, bytes in, EOF/ERR/CLOSE) into a real sink
 * writing a real file, then reads the file back and checks the spans.
 * Every exchange is played twice: in the largest pieces and one byte per
 * record, which must give the same spans.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "preload/log.h"
#include "sink/sink.h"

/* ---- harness ------------------------------------------------------------ */

typedef struct advice {
    int slot;
    uint64_t conn, until;
} advice;

typedef struct harness {
    at_proc proc;
    at_sink *sink;
    char path[64];
    uint64_t t;         /* monotonic clock of the next record */
    uint64_t off[16][2];
    size_t split;       /* bytes per record */
    advice adv[32];
    int nadv;
    uint64_t current;
    json_t *spans;      /* array, after finish */
} harness;

static void on_advise(void *ud, int slot, uint64_t conn, uint64_t until)
{
    harness *h = ud;

    if (h->nadv < 32)
        h->adv[h->nadv++] = (advice){slot, conn, until};
}

static void on_current(void *ud, uint64_t span)
{
    ((harness *)ud)->current = span;
}

static void h_init(harness *h, size_t split, int capture, uint64_t max_body)
{
    at_sink_opts o;
    int fd;

    memset(h, 0, sizeof(*h));
    at_log_enabled = getenv("AGENTTRACE_DEBUG") != NULL;
    strcpy(h->path, "/tmp/at_test_sink_XXXXXX");
    fd = mkstemp(h->path);
    cr_assert(fd >= 0);
    close(fd);
    unlink(h->path);
    h->proc.pid = getpid();
    h->proc.ppid = getppid();
    memset(h->proc.trace_id, 0xab, 16);
    h->proc.span_id = 0x1111111111111111ull;
    h->proc.start_wall_ns = 1700000000000000000ull;
    h->proc.start_mono_ns = 1000;
    h->t = 1000000;
    h->split = split;
    memset(&o, 0, sizeof(o));
    o.proc = &h->proc;
    o.output = h->path;
    o.agent_name = "";
    o.capture_content = capture;
    o.max_body = max_body;
    o.advise = on_advise;
    o.set_current = on_current;
    o.ud = h;
    h->sink = at_sink_new(&o);
    cr_assert_not_null(h->sink);
}

static void h_rec(harness *h, int kind, uint64_t conn, uint64_t arg,
                  const void *data, size_t len)
{
    at_rec_hdr r;
    char *copy = malloc(len + 1);

    memset(&r, 0, sizeof(r));
    r.conn = conn;
    r.t_ns = h->t;
    r.arg = arg;
    r.len = (uint32_t)len;
    r.slot = (uint16_t)conn;
    r.kind = (uint8_t)kind;
    r.transport = AT_TRANSPORT_OPENSSL;
    if (len)
        memcpy(copy, data, len);
    at_sink_record(h->sink, &r, copy);
    free(copy);
    h->t += 1000;
}

static void h_open(harness *h, uint64_t conn, const char *sni, int port)
{
    at_open_info info;

    memset(&info, 0, sizeof(info));
    strcpy(info.sni, sni);
    strcpy(info.addr, "127.0.0.1");
    info.port = (uint16_t)port;
    info.family = 2;
    info.tls = port == 443 || port == 993 || port == 8443;
    h_rec(h, AT_REC_OPEN, conn, 0, &info, sizeof(info));
}

static void h_bytes(harness *h, uint64_t conn, int dir, const char *data,
                    size_t len)
{
    size_t i, k;

    for (i = 0; i < len; i += k) {
        k = len - i < h->split ? len - i : h->split;
        h_rec(h, dir ? AT_REC_IN : AT_REC_OUT, conn, h->off[conn][dir],
              data + i, k);
        h->off[conn][dir] += k;
    }
}

static void h_out(harness *h, uint64_t conn, const char *s)
{
    h_bytes(h, conn, 0, s, strlen(s));
}

static void h_in(harness *h, uint64_t conn, const char *s)
{
    h_bytes(h, conn, 1, s, strlen(s));
}

static void h_finish(harness *h)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;

    at_sink_finish(h->sink, h->t, 0);
    at_sink_del(h->sink);
    h->sink = NULL;
    h->spans = json_array();
    f = fopen(h->path, "r");
    cr_assert_not_null(f, "no span file");
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);

        cr_assert_not_null(j, "invalid JSON line: %s (%s)", line, err.text);
        json_array_append_new(h->spans, j);
    }
    free(line);
    fclose(f);
    if (getenv("AT_TEST_KEEP"))
        fprintf(stderr, "spans in %s\n", h->path);
    else
        unlink(h->path);
}

static void h_free(harness *h)
{
    json_decref(h->spans);
    at_sink_del(h->sink);
}

/* The n-th span (0-based) whose name starts with `prefix`. */
static json_t *span_nth(harness *h, const char *prefix, int n)
{
    size_t i;
    json_t *s;

    json_array_foreach(h->spans, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));

        if (name && !strncmp(name, prefix, strlen(prefix)) && n-- == 0)
            return s;
    }
    return NULL;
}

static int count_prefix(harness *h, const char *prefix)
{
    int n = 0;

    while (span_nth(h, prefix, n))
        n++;
    return n;
}

static json_t *attr(json_t *span, const char *k)
{
    return json_object_get(json_object_get(span, "attributes"), k);
}

static const char *attr_s(json_t *span, const char *k)
{
    return json_string_value(attr(span, k));
}

static json_int_t attr_i(json_t *span, const char *k)
{
    json_t *v = attr(span, k);

    cr_assert(json_is_integer(v), "attribute %s missing or not an int", k);
    return json_integer_value(v);
}

static const char *status_code(json_t *span)
{
    return json_string_value(json_object_get(json_object_get(span, "status"),
                                             "code"));
}

/* All text of all output messages. */
static void output_text(json_t *span, char *out, size_t cap)
{
    json_t *msgs = attr(span, "gen_ai.output.messages"), *m, *p;
    size_t i, j;

    out[0] = '\0';
    json_array_foreach(msgs, i, m) {
        json_array_foreach(json_object_get(m, "parts"), j, p) {
            const char *t = json_string_value(json_object_get(p, "type"));
            const char *c = json_string_value(json_object_get(p, "content"));

            if (t && !strcmp(t, "text") && c)
                strncat(out, c, cap - strlen(out) - 1);
        }
    }
}

/* ---- fixtures ----------------------------------------------------------- */

#define OPENAI_REQ_BODY                                                   \
    "{\"model\":\"gpt-4o-mini\",\"temperature\":0.5,\"max_tokens\":50,"     \
    "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"        \
    "{\"role\":\"user\",\"content\":\"Hello\"}]}"

#define OPENAI_RESP_BODY                                                  \
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","                \
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"       \
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hi there!\"},"       \
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":11,"         \
    "\"completion_tokens\":3,\"total_tokens\":14}}"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, f);
    cr_assert(vasprintf(&s, f, ap) >= 0);
    va_end(ap);
    return s;
}

static char *openai_request(const char *body)
{
    return fmt("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
               "Authorization: Bearer sk-test-SECRET-KEY-0123456789\r\n"
               "Content-Type: application/json\r\nContent-Length: %zu\r\n"
               "\r\n%s", strlen(body), body);
}

static char *json_response(const char *body)
{
    return fmt("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Set-Cookie: session=SECRET-COOKIE\r\n"
               "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
}

static void check_openai_basic_version(json_t *s, const char *version);

static void check_openai_basic(json_t *s)
{
    check_openai_basic_version(s, "1.1");
}

static void check_openai_basic_version(json_t *s, const char *version)
{
    cr_assert_not_null(s);
    cr_expect_str_eq(json_string_value(json_object_get(s, "name")),
                     "chat gpt-4o-mini");
    cr_expect_str_eq(json_string_value(json_object_get(s, "kind")), "client");
    cr_expect_str_eq(status_code(s), "ok");
    cr_expect_str_eq(attr_s(s, "gen_ai.provider.name"), "openai");
    cr_expect_str_eq(attr_s(s, "gen_ai.operation.name"), "chat");
    cr_expect_str_eq(attr_s(s, "gen_ai.request.model"), "gpt-4o-mini");
    cr_expect_str_eq(attr_s(s, "gen_ai.response.model"),
                     "gpt-4o-mini-2024-07-18");
    cr_expect_str_eq(attr_s(s, "gen_ai.response.id"), "chatcmpl-1");
    cr_expect_eq(attr_i(s, "gen_ai.usage.input_tokens"), 11);
    cr_expect_eq(attr_i(s, "gen_ai.usage.output_tokens"), 3);
    cr_expect_eq(attr_i(s, "gen_ai.request.max_tokens"), 50);
    cr_expect_str_eq(attr_s(s, "server.address"), "api.openai.com");
    cr_expect_eq(attr_i(s, "server.port"), 443);
    cr_expect_eq(attr_i(s, "http.response.status_code"), 200);
    cr_expect_str_eq(attr_s(s, "url.full"),
                     "https://api.openai.com/v1/chat/completions");
    cr_expect_str_eq(attr_s(s, "agenttrace.transport"), "openssl");
    cr_expect_str_eq(attr_s(s, "agenttrace.http.version"), version);
    cr_expect_str_eq(json_string_value(json_array_get(
                         attr(s, "gen_ai.response.finish_reasons"), 0)),
                     "stop");
}

/* ---- parameterisation: whole records and one byte per record ----------- */

static size_t splits[] = {1 << 20, 1, 7};

ParameterizedTestParameters(sink, openai_plain)
{
    return cr_make_param_array(size_t, splits, 3);
}

ParameterizedTest(size_t *split, sink, openai_plain)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    char *rs = json_response(OPENAI_RESP_BODY);
    char text[256];
    json_t *s, *proc;

    h_init(&h, *split, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, rs);
    h_rec(&h, AT_REC_CLOSE, 1, 0, NULL, 0);
    h_finish(&h);
    cr_assert_eq(json_array_size(h.spans), 2);
    s = json_array_get(h.spans, 0);
    check_openai_basic(s);
    output_text(s, text, sizeof(text));
    cr_expect_str_eq(text, "Hi there!");
    proc = json_array_get(h.spans, 1);
    cr_expect(!strncmp(json_string_value(json_object_get(proc, "name")),
                       "invoke_agent ", 13), "process span is last");
    cr_expect_str_eq(json_string_value(json_object_get(s, "parent_span_id")),
                     "1111111111111111");
    /* wall clock: start = process start + (t - mono start) */
    cr_expect(json_integer_value(json_object_get(s, "start_time_unix_nano"))
              > 1700000000000000000ll);
    free(rq);
    free(rs);
    h_free(&h);
}

/* chunked + gzip response, several chunks, head and first chunk in one
 * record */
static char *gzip_bytes(const char *in, size_t *outlen)
{
    z_stream z;
    size_t cap = strlen(in) + 128;
    char *out = malloc(cap);

    memset(&z, 0, sizeof(z));
    cr_assert(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8,
                           Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (unsigned)strlen(in);
    z.next_out = (unsigned char *)out;
    z.avail_out = (unsigned)cap;
    cr_assert(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

ParameterizedTestParameters(sink, chunked_gzip)
{
    return cr_make_param_array(size_t, splits, 3);
}

ParameterizedTest(size_t *split, sink, chunked_gzip)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    size_t gzlen, i;
    char *gz = gzip_bytes(OPENAI_RESP_BODY, &gzlen);
    char *rs = malloc(gzlen * 2 + 512);
    size_t n = 0;

    n += (size_t)sprintf(rs, "HTTP/1.1 200 OK\r\nContent-Type: "
                             "application/json\r\nContent-Encoding: gzip\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n");
    for (i = 0; i < gzlen; i += 10) {
        size_t k = gzlen - i < 10 ? gzlen - i : 10;

        n += (size_t)sprintf(rs + n, "%zx;ext=1\r\n", k);
        memcpy(rs + n, gz + i, k);
        n += k;
        memcpy(rs + n, "\r\n", 2);
        n += 2;
    }
    n += (size_t)sprintf(rs + n, "0\r\n\r\n");
    h_init(&h, *split, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_bytes(&h, 1, 1, rs, n);
    h_finish(&h);
    cr_assert_eq(json_array_size(h.spans), 2);
    check_openai_basic(json_array_get(h.spans, 0));
    free(rq);
    free(rs);
    free(gz);
    h_free(&h);
}

/* An OpenAI stream: headers and the first event in one read, fragments of
 * tool-call arguments, the usage chunk, [DONE]. */
#define SSE_HEAD                                                          \
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n" \
    "Transfer-Encoding: chunked\r\n\r\n"

static char *chunk(const char *s)
{
    return fmt("%zx\r\n%s\r\n", strlen(s), s);
}

static const char *stream_events[] = {
    "data: {\"id\":\"chatcmpl-9\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},"
    "\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo!\"},"
    "\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
    "\n\n",
    "data: {\"id\":\"chatcmpl-9\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":"
    "2,\"total_tokens\":22}}\n\n",
    "data: [DONE]\n\n",
};

/* stream_body: the events above as the chunked body of a response whose
 * head was fed, and its last chunk, in one read each. */
static void stream_body(harness *h)
{
    size_t i;

    for (i = 0; i < sizeof(stream_events) / sizeof(stream_events[0]); i++) {
        char *c = chunk(stream_events[i]);

        h_in(h, 1, c);
        free(c);
    }
    h_in(h, 1, "0\r\n\r\n");
}

ParameterizedTestParameters(sink, openai_stream)
{
    return cr_make_param_array(size_t, splits, 3);
}

ParameterizedTest(size_t *split, sink, openai_stream)
{
    harness h;
    char *rq = openai_request("{\"model\":\"gpt-4o-mini\",\"stream\":true,"
                              "\"stream_options\":{\"include_usage\":true},"
                              "\"messages\":[{\"role\":\"user\","
                              "\"content\":\"Hi\"}]}");
    char *first = chunk(stream_events[0]);
    char *head_and_first = fmt("%s%s", SSE_HEAD, first);
    char text[64];
    json_t *s;
    double ttfc;
    size_t i;

    h_init(&h, *split, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h.t += 5000000;   /* the model thinks for 5 ms */
    h_in(&h, 1, head_and_first);
    for (i = 1; i < 6; i++) {
        char *c = chunk(stream_events[i]);

        h.t += 1000000;
        h_in(&h, 1, c);
        free(c);
    }
    h_in(&h, 1, "0\r\n\r\n");
    h_finish(&h);
    s = span_nth(&h, "chat ", 0);
    cr_assert_not_null(s);
    cr_expect_str_eq(status_code(s), "ok");
    cr_expect(json_is_true(attr(s, "gen_ai.request.stream")));
    cr_expect_eq(attr_i(s, "gen_ai.usage.input_tokens"), 20);
    cr_expect_eq(attr_i(s, "gen_ai.usage.output_tokens"), 2);
    cr_expect_str_eq(attr_s(s, "gen_ai.response.id"), "chatcmpl-9");
    output_text(s, text, sizeof(text));
    cr_expect_str_eq(text, "Hello!");
    /* first content chunk ("Hel") came 5 ms + 1 ms after the request */
    ttfc = json_real_value(attr(s, "gen_ai.response.time_to_first_chunk"));
    cr_expect(ttfc >= 0.005 && ttfc < 0.0075, "ttfc %f", ttfc);
    free(rq);
    free(first);
    free(head_and_first);
    h_free(&h);
}

/* The response's media type decides whether it is read as a stream: its
 * case and parameters do not matter, a longer or different type does
 * (the type is compared whole, eight bytes at a time and byte by byte). */
Test(sink, stream_media_type_spellings)
{
    static const struct {
        const char *ctype;
        int stream;
    } cases[] = {
        {"text/event-stream", 1},
        {"Text/Event-Stream", 1},
        {"TEXT/EVENT-STREAM; charset=UTF-8", 1},
        {"text/event-stream;charset=utf-8", 1},
        {"text/event-stream\t;x=1", 1},
        {"text/event-stream ; q=1", 1},
        /* the end inside an eight-byte block */
        {"text/event-stream\tx=1234567", 1},
        {"text/event-stream x=1234567", 1},
        {"text/event-stream;x=1234567", 1},
        {"application/x-text/event-stream", 0},
        {"text/event-streams", 0},
        {"text/event-strea", 0},
        {"text/event_stream", 0},
        {"text/plain; x=text/event-stream", 0},
        {"text/event-stream\x80", 0},
    };
    size_t k;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        harness h;
        char *rq = openai_request("{\"model\":\"gpt-4o-mini\","
                                  "\"stream\":true,\"messages\":[{\"role\":"
                                  "\"user\",\"content\":\"Hi\"}]}");
        char *head = fmt("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n",
                         cases[k].ctype);
        char text[64] = "";
        json_t *s;

        h_init(&h, 1 << 20, 1, 8 << 20);
        h_open(&h, 1, "api.openai.com", 443);
        h_out(&h, 1, rq);
        h_in(&h, 1, head);
        stream_body(&h);
        h_finish(&h);
        s = span_nth(&h, "chat ", 0);
        cr_assert_not_null(s, "%s", cases[k].ctype);
        if (cases[k].stream) {
            output_text(s, text, sizeof(text));
            cr_expect_str_eq(text, "Hello!", "%s", cases[k].ctype);
            cr_expect_eq(attr_i(s, "gen_ai.usage.output_tokens"), 2, "%s",
                         cases[k].ctype);
        } else {
            cr_expect_null(attr(s, "gen_ai.output.messages"), "%s",
                           cases[k].ctype);
        }
        free(rq);
        free(head);
        h_free(&h);
    }
}

/* Five exchanges on one kept-alive connection, 100 Continue in one. */
Test(sink, keep_alive_and_continue)
{
    harness h;
    int i;
    char *rq = openai_request(OPENAI_REQ_BODY);
    char *rs = json_response(OPENAI_RESP_BODY);

    h_init(&h, 3, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    for (i = 0; i < 5; i++) {
        if (i == 2) {
            /* head, 100 Continue, then the body */
            char *body = strstr(rq, "\r\n\r\n") + 4;

            h_bytes(&h, 1, 0, rq, (size_t)(body - rq));
            h_in(&h, 1, "HTTP/1.1 100 Continue\r\n\r\n");
            h_out(&h, 1, body);
        } else {
            h_out(&h, 1, rq);
        }
        h_in(&h, 1, rs);
    }
    h_finish(&h);
    cr_assert_eq(count_prefix(&h, "chat gpt-4o-mini"), 5);
    for (i = 0; i < 5; i++)
        check_openai_basic(span_nth(&h, "chat ", i));
    free(rq);
    free(rs);
    h_free(&h);
}

/* Requests on one sink alternate between endpoints (the sink remembers
 * the last route): each exchange gets its own route. */
Test(sink, routes_alternate)
{
    static const char *const paths[] = {
        "/v1/chat/completions", "/v1/chat/completions", "/v1/embeddings",
        "/v1/chat/completions", "/v1/chat/completionsX", "/v1/embeddings",
        "/openai/deployments/dep-1/chat/completions",
        "/openai/deployments/dep-2/chat/completions", "/v1/chat/completions",
    };
    static const char *const ops[] = {
        "chat", "chat", "embeddings", "chat", NULL, "embeddings", "chat",
        "chat", "chat",
    };
    static const char *const emb =
        "{\"object\":\"list\",\"data\":[],\"model\":\"text-embedding-3\","
        "\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}";
    harness h;
    size_t i, n = sizeof(paths) / sizeof(paths[0]);

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    for (i = 0; i < n; i++) {
        const char *body = ops[i] && !strcmp(ops[i], "embeddings")
                               ? "{\"model\":\"text-embedding-3\","
                                 "\"input\":\"hi\"}"
                               : OPENAI_REQ_BODY;
        char *rq = fmt("POST %s HTTP/1.1\r\nHost: api.openai.com\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       paths[i], strlen(body), body);
        char *rs = json_response(ops[i] && !strcmp(ops[i], "embeddings")
                                     ? emb
                                     : OPENAI_RESP_BODY);

        h_out(&h, 1, rq);
        h_in(&h, 1, rs);
        free(rq);
        free(rs);
    }
    h_finish(&h);
    cr_expect_eq(count_prefix(&h, "chat "), 6);
    cr_expect_eq(count_prefix(&h, "embeddings "), 2);
    cr_expect_eq(count_prefix(&h, "POST api.openai.com"), 1);
    for (i = 0; i < 6; i++)
        cr_expect_str_eq(attr_s(span_nth(&h, "chat ", (int)i),
                                "gen_ai.operation.name"), "chat");
    for (i = 0; i < 2; i++)
        cr_expect_str_eq(attr_s(span_nth(&h, "embeddings ", (int)i),
                                "gen_ai.operation.name"), "embeddings");
    h_free(&h);
}

/* HEAD, 204 and 304 have no body; a body ended by close. */
Test(sink, bodiless_and_close_delimited)
{
    harness h;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "tools.example", 443);
    h_out(&h, 1, "HEAD /a HTTP/1.1\r\nHost: tools.example\r\n\r\n");
    h_in(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n");
    h_out(&h, 1, "DELETE /b HTTP/1.1\r\nHost: tools.example\r\n\r\n");
    h_in(&h, 1, "HTTP/1.1 204 No Content\r\n\r\n");
    h_out(&h, 1, "GET /c HTTP/1.1\r\nHost: tools.example\r\n\r\n");
    h_in(&h, 1, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
    h_out(&h, 1, "GET /d?api_key=SECRET123&x=1 HTTP/1.1\r\n"
                 "Host: tools.example:8443\r\n\r\n");
    h_in(&h, 1, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Connection: close\r\n\r\n{\"ok\":");
    h_in(&h, 1, "true}");
    h_rec(&h, AT_REC_EOF, 1, 0, NULL, 0);
    h_finish(&h);
    cr_assert_eq(count_prefix(&h, "HEAD tools.example"), 1);
    cr_assert_eq(count_prefix(&h, "DELETE tools.example"), 1);
    cr_assert_eq(count_prefix(&h, "GET tools.example"), 2);
    {
        json_t *d = span_nth(&h, "GET ", 1);

        cr_expect_str_eq(attr_s(d, "url.full"),
                         "https://tools.example:8443/d?api_key=REDACTED&x=1");
        cr_expect_str_eq(attr_s(d, "agenttrace.http.response.body"),
                         "{\"ok\":true}");
        cr_expect_eq(attr_i(d, "server.port"), 8443);
        cr_expect_str_neq(status_code(d), "error");
    }
    h_free(&h);
}

/* A stream cut short by EOF: the span is written with what arrived. */
Test(sink, truncated_stream)
{
    harness h;
    char *rq = openai_request("{\"model\":\"gpt-4o-mini\",\"stream\":true,"
                              "\"messages\":[]}");
    char *c1 = chunk(stream_events[1]);
    char text[64];
    json_t *s;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, SSE_HEAD);
    h_in(&h, 1, c1);
    h_rec(&h, AT_REC_EOF, 1, 0, NULL, 0);
    h_finish(&h);
    s = span_nth(&h, "chat ", 0);
    cr_assert_not_null(s);
    cr_expect_str_eq(status_code(s), "error");
    cr_expect_str_eq(attr_s(s, "error.type"), "truncated");
    output_text(s, text, sizeof(text));
    cr_expect_str_eq(text, "Hel");
    free(rq);
    free(c1);
    h_free(&h);
}

Test(sink, connection_reset)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    json_t *s;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\"");
    h_rec(&h, AT_REC_ERR, 1, ECONNRESET, NULL, 0);
    h_finish(&h);
    s = span_nth(&h, "chat ", 0);
    cr_assert_not_null(s);
    cr_expect_str_eq(status_code(s), "error");
    cr_expect_str_eq(attr_s(s, "error.type"), "connection_reset");
    free(rq);
    h_free(&h);
}

Test(sink, http_error_status)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    const char *body = "{\"error\":{\"message\":\"Rate limit reached\","
                       "\"type\":\"rate_limit_exceeded\"}}";
    char *rs = fmt("HTTP/1.1 429 Too Many Requests\r\nContent-Type: "
                   "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   strlen(body), body);
    json_t *s;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, rs);
    h_finish(&h);
    s = span_nth(&h, "chat ", 0);
    cr_assert_not_null(s);
    cr_expect_str_eq(status_code(s), "error");
    cr_expect_str_eq(attr_s(s, "error.type"), "429");
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_object_get(s, "status"), "message")),
                     "Rate limit reached");
    cr_expect_eq(attr_i(s, "http.response.status_code"), 429);
    free(rq);
    free(rs);
    h_free(&h);
}

/* Lost bytes (a gap in the offsets): the connection stops being decoded. */
Test(sink, gap_desynchronises)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    json_t *s;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n{");
    h.off[1][1] += 50;   /* 50 bytes never reached the sink */
    h_in(&h, 1, "\"x\":1}");
    h_finish(&h);
    s = span_nth(&h, "chat ", 0);
    cr_assert_not_null(s);
    cr_expect_str_eq(status_code(s), "error");
    cr_expect(json_is_true(attr(s, "agenttrace.desynchronized")));
    cr_assert_eq(h.nadv, 1);
    cr_expect_eq(h.adv[0].until, UINT64_MAX);
    free(rq);
    h_free(&h);
}

/* Not HTTP at all: ignored, hooks told so, no span; an HTTP/2 preface
 * without requests: no span either, and not ignored. */
Test(sink, not_http_is_ignored)
{
    harness h;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "imap.example", 993);
    h_in(&h, 1, "* OK IMAP4rev1 ready\r\n");
    h_open(&h, 2, "db.example", 5432);
    h_bytes(&h, 2, 0, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
    h_open(&h, 3, "api.openai.com", 443);
    h_out(&h, 3, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    h_finish(&h);
    cr_expect_eq(json_array_size(h.spans), 1, "only the process span");
    cr_expect_eq(h.nadv, 2);
    h_free(&h);
}

/* A download nobody wants: the hooks are told to skip its body. */
Test(sink, unwanted_body_is_skipped)
{
    harness h;
    json_t *s;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "files.example", 443);
    h_out(&h, 1, "GET /big.tar HTTP/1.1\r\nHost: files.example\r\n\r\n");
    h_in(&h, 1, "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"
                "Content-Length: 1000000\r\n\r\nABCD");
    cr_assert_eq(h.nadv, 1);
    cr_expect_eq(h.adv[0].conn, 1);
    /* the body started at offset (head length); skip to its end */
    cr_expect_eq(h.adv[0].until, h.off[1][1] - 4 + 1000000);
    /* the hook skips the rest and says so; the next exchange follows */
    h_rec(&h, AT_REC_SKIPPED, 1, h.adv[0].until, NULL, 0);
    h.off[1][1] = h.adv[0].until;
    h_out(&h, 1, "GET /small HTTP/1.1\r\nHost: files.example\r\n\r\n");
    h_in(&h, 1, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
    h_finish(&h);
    s = span_nth(&h, "GET files.example", 0);
    cr_assert_not_null(s);
    cr_expect_eq(attr_i(s, "http.response.status_code"), 200);
    s = span_nth(&h, "GET files.example", 1);
    cr_assert_not_null(s);
    cr_expect_eq(attr_i(s, "http.response.status_code"), 404);
    cr_expect_str_eq(status_code(s), "error");
    h_free(&h);
}

/* The tool loop: a tool call, an HTTP call made by the tool, the result
 * sent back.  execute_tool spans the gap and parents the HTTP call. */
Test(sink, tool_loop)
{
    harness h;
    const char *b1 = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                     "\"content\":\"Weather in Paris?\"}],\"tools\":[{\"type\":"
                     "\"function\",\"function\":{\"name\":\"get_weather\","
                     "\"parameters\":{\"type\":\"object\"}}}]}";
    const char *r1 = "{\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{"
                     "\"index\":0,\"message\":{\"role\":\"assistant\","
                     "\"content\":null,\"tool_calls\":[{\"id\":\"call_42\","
                     "\"type\":\"function\",\"function\":{\"name\":"
                     "\"get_weather\",\"arguments\":\"{\\\"city\\\":"
                     "\\\"Paris\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
                     "\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":"
                     "10}}";
    const char *b2 = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                     "\"content\":\"Weather in Paris?\"},{\"role\":"
                     "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
                     "\"call_42\",\"type\":\"function\",\"function\":{\"name\":"
                     "\"get_weather\",\"arguments\":\"{}\"}}]},{\"role\":"
                     "\"tool\",\"tool_call_id\":\"call_42\",\"content\":"
                     "\"21C sunny\"}]}";
    char *rq1 = openai_request(b1), *rs1 = json_response(r1);
    char *rq2 = openai_request(b2), *rs2 = json_response(OPENAI_RESP_BODY);
    json_t *c1, *c2, *tool, *get;
    const char *tool_id;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq1);
    h_in(&h, 1, rs1);
    cr_expect_neq(h.current, 0, "children now hang under the tool");
    h_open(&h, 2, "weather.example", 443);
    h_out(&h, 2, "GET /now?city=Paris HTTP/1.1\r\nHost: weather.example\r\n"
                 "\r\n");
    h_in(&h, 2, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Content-Length: 9\r\n\r\n{\"t\":21}\n");
    h_out(&h, 1, rq2);
    h_in(&h, 1, rs2);
    cr_expect_eq(h.current, 0, "the tool span closed");
    h_finish(&h);
    c1 = span_nth(&h, "chat gpt-4o", 0);
    c2 = span_nth(&h, "chat gpt-4o", 1);
    tool = span_nth(&h, "execute_tool get_weather", 0);
    get = span_nth(&h, "GET weather.example", 0);
    cr_assert(c1 && c2 && tool && get);
    tool_id = json_string_value(json_object_get(tool, "span_id"));
    cr_expect_str_eq(json_string_value(json_object_get(get,
                                                       "parent_span_id")),
                     tool_id);
    cr_expect_str_eq(json_string_value(json_object_get(tool,
                                                       "parent_span_id")),
                     "1111111111111111");
    cr_expect_str_eq(json_string_value(json_object_get(c2, "parent_span_id")),
                     "1111111111111111");
    cr_expect_str_eq(attr_s(tool, "gen_ai.tool.call.id"), "call_42");
    cr_expect_str_eq(attr_s(tool, "gen_ai.operation.name"), "execute_tool");
    cr_expect_str_eq(json_string_value(json_object_get(
                         attr(tool, "gen_ai.tool.call.arguments"), "city")),
                     "Paris");
    cr_expect_str_eq(attr_s(tool, "gen_ai.tool.call.result"), "21C sunny");
    cr_expect(json_is_true(attr(tool, "agenttrace.inferred")));
    cr_expect_str_eq(status_code(tool), "ok");
    /* the tool runs from the end of c1 to the start of c2 */
    cr_expect_eq(json_integer_value(json_object_get(tool,
                                                    "start_time_unix_nano")),
                 json_integer_value(json_object_get(c1,
                                                    "end_time_unix_nano")));
    cr_expect_eq(json_integer_value(json_object_get(tool,
                                                    "end_time_unix_nano")),
                 json_integer_value(json_object_get(c2,
                                                    "start_time_unix_nano")));
    free(rq1);
    free(rs1);
    free(rq2);
    free(rs2);
    h_free(&h);
}

/* q: a copy of s with ' made " (JSON test texts without a wall of
 * backslashes). */
static char *q(const char *s)
{
    char *t = strdup(s), *p;

    for (p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

extern int at_llm_body_fast_off;

/* A tool loop through the sink: request b1 answered by r1 (which opens
 * tools), then request b2 (which answers them) answered by r1 again; the
 * bodies' ' are made ".  Returns the execute_tool spans' names, calls,
 * arguments, results and statuses, in the order written, as text. */
static char *tool_run(const char *host, const char *path, const char *b1,
                      const char *r1, const char *b2, int fast_off)
{
    harness h;
    char *body1 = q(b1), *body2 = q(b2), *resp = q(r1);
    char *rq1 = fmt("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer "
                    "sk-SECRET\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n%s", path, host,
                    strlen(body1), body1);
    char *rq2 = fmt("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer "
                    "sk-SECRET\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n%s", path, host,
                    strlen(body2), body2);
    char *rs = json_response(resp), *text;
    json_t *out = json_array(), *sp;
    size_t i;

    at_llm_body_fast_off = fast_off;
    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, host, 443);
    h_out(&h, 1, rq1);
    h_in(&h, 1, rs);
    cr_expect_neq(h.current, 0, "%s: a tool opened", path);
    h_out(&h, 1, rq2);
    h_in(&h, 1, rs);
    h_finish(&h);
    at_llm_body_fast_off = 0;
    json_array_foreach(h.spans, i, sp) {
        const char *name = json_string_value(json_object_get(sp, "name"));

        if (strncmp(name, "execute_tool ", 13) != 0)
            continue;
        json_array_append_new(out, json_pack(
            "{s:s, s:O?, s:O?, s:O?, s:s}", "name", name,
            "id", attr(sp, "gen_ai.tool.call.id"),
            "args", attr(sp, "gen_ai.tool.call.arguments"),
            "result", attr(sp, "gen_ai.tool.call.result"),
            "status", status_code(sp)));
    }
    text = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(out);
    free(body1);
    free(body2);
    free(resp);
    free(rq1);
    free(rq2);
    free(rs);
    h_free(&h);
    return text;
}

/* tool_loop_check: tool_run with the scanner decoders and with the tree
 * decoders: the same spans, and the ones expected (' made "). */
static void tool_loop_check(const char *host, const char *path,
                            const char *b1, const char *r1, const char *b2,
                            const char *want)
{
    char *fast = tool_run(host, path, b1, r1, b2, 0);
    char *tree = tool_run(host, path, b1, r1, b2, 1);
    char *w = q(want);

    cr_expect_str_eq(fast, tree, "%s: the scanner's text and the tree agree",
                     path);
    cr_expect_str_eq(fast, w, "%s", path);
    free(fast);
    free(tree);
    free(w);
}

/* One response opens three tools; the next request answers them among
 * the history of older ones (a string, an object, text blocks the tree
 * joins); the reply opens them again, closed at exit. */
Test(sink, tool_results_in_a_long_conversation)
{
    tool_loop_check(
        "api.openai.com", "/v1/chat/completions",
        "{'model':'gpt-4o','messages':[{'role':'user','content':'Hi'}]}",
        "{'id':'c1','model':'gpt-4o','choices':[{'index':0,'message':{"
        "'role':'assistant','content':null,'tool_calls':["
        "{'id':'call_a','type':'function','function':{'name':'weather',"
        "'arguments':'{\\'city\\':\\'Paris\\',\\'days\\':[1,2.5]}'}},"
        "{'id':'call_\\u0062','type':'function','function':{'name':'time',"
        "'arguments':''}},"
        "{'id':'call_c','type':'function','function':{'name':'ls',"
        "'arguments':'{\\'path\\':\\'/tmp\\'}'}}]},"
        "'finish_reason':'tool_calls'}],"
        "'usage':{'prompt_tokens':30,'completion_tokens':10}}",
        "{'model':'gpt-4o','messages':[{'role':'system','content':'Be "
        "brief.'},{'role':'user','content':'Weather?'},"
        "{'role':'assistant','content':null,'tool_calls':[{'id':'call_old',"
        "'type':'function','function':{'name':'weather','arguments':'{}'}}]},"
        "{'role':'tool','tool_call_id':'call_old','content':'old result'},"
        "{'role':'assistant','content':null,'tool_calls':["
        "{'id':'call_a','type':'function','function':{'name':'weather',"
        "'arguments':'{\\'city\\':\\'Paris\\'}'}},"
        "{'id':'call_b','type':'function','function':{'name':'time',"
        "'arguments':''}},"
        "{'id':'call_c','type':'function','function':{'name':'ls',"
        "'arguments':'{}'}}]},"
        "{'role':'tool','tool_call_id':'call_a','content':'21C \\'sunny\\''},"
        "{'role':'tool','tool_call_id':'call_\\u0062','content':"
        "{'h':12,'m':30.5,'tz':'\\u00e9'}},"
        "{'role':'tool','tool_call_id':'call_c','content':[{'type':'text',"
        "'text':'a.txt '},{'type':'text','text':'b.txt'}]}]}",
        "[{'args':{'city':'Paris','days':[1,2.5]},'id':'call_a','name':"
        "'execute_tool weather','result':'21C \\'sunny\\'','status':'ok'},"
        "{'args':'','id':'call_b','name':'execute_tool time','result':{'h':"
        "12,'m':30.5,'tz':'\xc3\xa9'},'status':'ok'},"
        "{'args':{'path':'/tmp'},'id':'call_c','name':'execute_tool ls',"
        "'result':'a.txt b.txt','status':'ok'},"
        "{'args':{'path':'/tmp'},'id':'call_c','name':'execute_tool ls',"
        "'result':null,'status':'unset'},"
        "{'args':'','id':'call_b','name':'execute_tool time','result':null,"
        "'status':'unset'},"
        "{'args':{'city':'Paris','days':[1,2.5]},'id':'call_a','name':"
        "'execute_tool weather','result':null,'status':'unset'}]");
}

/* The same with Claude: two tool_use blocks answered by one user message
 * of two tool_result blocks (a string, text blocks), among older ones. */
Test(sink, anthropic_tool_results)
{
    tool_loop_check(
        "api.anthropic.com", "/v1/messages",
        "{'model':'claude-sonnet-4-5','max_tokens':100,'messages':"
        "[{'role':'user','content':'Weather?'}]}",
        "{'id':'msg_1','type':'message','role':'assistant','model':"
        "'claude-sonnet-4-5','content':[{'type':'text','text':'Checking.'},"
        "{'type':'tool_use','id':'toolu_a','name':'weather','input':{"
        "'city':'Paris'}},{'type':'tool_use','id':'toolu_b','name':'time',"
        "'input':{}}],'stop_reason':'tool_use','usage':{'input_tokens':30,"
        "'output_tokens':10}}",
        "{'model':'claude-sonnet-4-5','max_tokens':100,'system':'Be brief.',"
        "'messages':[{'role':'user','content':'Weather?'},{'role':"
        "'assistant','content':[{'type':'tool_use','id':'toolu_old','name':"
        "'weather','input':{}}]},{'role':'user','content':[{'type':"
        "'tool_result','tool_use_id':'toolu_old','content':'old'}]},"
        "{'role':'assistant','content':[{'type':'text','text':'Checking.'},"
        "{'type':'tool_use','id':'toolu_a','name':'weather','input':{"
        "'city':'Paris'}},{'type':'tool_use','id':'toolu_b','name':'time',"
        "'input':{}}]},{'role':'user','content':[{'type':'tool_result',"
        "'tool_use_id':'toolu_a','content':'21C'},{'type':'tool_result',"
        "'tool_use_id':'toolu_b','content':[{'type':'text','text':'12:'},"
        "{'type':'text','text':'30'}]}]}]}",
        "[{'args':{'city':'Paris'},'id':'toolu_a','name':"
        "'execute_tool weather','result':'21C','status':'ok'},"
        "{'args':{},'id':'toolu_b','name':'execute_tool time','result':"
        "'12:30','status':'ok'},"
        "{'args':{},'id':'toolu_b','name':'execute_tool time','result':null,"
        "'status':'unset'},"
        "{'args':{'city':'Paris'},'id':'toolu_a','name':"
        "'execute_tool weather','result':null,'status':'unset'}]");
}

/* And with the Responses API: function_call items answered by
 * function_call_output items, a reasoning item between. */
Test(sink, responses_tool_results)
{
    tool_loop_check(
        "api.openai.com", "/v1/responses",
        "{'model':'gpt-4.1','input':'Weather?'}",
        "{'id':'resp_1','status':'completed','model':'gpt-4.1','output':["
        "{'type':'reasoning','summary':[]},{'type':'function_call',"
        "'call_id':'call_a','name':'weather','arguments':"
        "'{\\'city\\':\\'Paris\\'}'},{'type':'function_call','call_id':"
        "'call_b','name':'time','arguments':'{}'}],'usage':{"
        "'input_tokens':30,'output_tokens':10}}",
        "{'model':'gpt-4.1','instructions':'Be brief.','input':[{'role':"
        "'user','content':'Weather?'},{'type':'function_call','call_id':"
        "'call_old','name':'weather','arguments':'{}'},{'type':"
        "'function_call_output','call_id':'call_old','output':'old'},"
        "{'type':'reasoning','summary':[]},{'type':'function_call',"
        "'call_id':'call_a','name':'weather','arguments':"
        "'{\\'city\\':\\'Paris\\'}'},{'type':'function_call','call_id':"
        "'call_b','name':'time','arguments':'{}'},{'type':"
        "'function_call_output','call_id':'call_a','output':'21C'},{'type':"
        "'function_call_output','call_id':'call_b','output':[{'type':"
        "'input_text','text':'12:'},{'type':'input_text','text':'30'}]}]}",
        "[{'args':{'city':'Paris'},'id':'call_a','name':"
        "'execute_tool weather','result':'21C','status':'ok'},"
        "{'args':{},'id':'call_b','name':'execute_tool time','result':"
        "'12:30','status':'ok'},"
        "{'args':{},'id':'call_b','name':'execute_tool time','result':null,"
        "'status':'unset'},"
        "{'args':{'city':'Paris'},'id':'call_a','name':"
        "'execute_tool weather','result':null,'status':'unset'}]");
}

/* And with Gemini: a functionCall without an id (its name is its id)
 * answered by a functionResponse naming it, among older ones. */
Test(sink, gemini_tool_results)
{
    tool_loop_check(
        "generativelanguage.googleapis.com",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "{'contents':[{'role':'user','parts':[{'text':'Weather?'}]}]}",
        "{'candidates':[{'content':{'role':'model','parts':[{"
        "'functionCall':{'name':'weather','args':{'city':'Paris'}}}]},"
        "'finishReason':'STOP'}],'usageMetadata':{'promptTokenCount':10,"
        "'candidatesTokenCount':5}}",
        "{'contents':[{'role':'user','parts':[{'text':'Weather?'}]},{'role':"
        "'model','parts':[{'functionCall':{'id':'old','name':'time',"
        "'args':{}}}]},{'role':'user','parts':[{'functionResponse':{'id':"
        "'old','name':'time','response':{'h':1}}}]},{'role':'model',"
        "'parts':[{'functionCall':{'name':'weather','args':{'city':"
        "'Paris'}}}]},{'role':'user','parts':[{'functionResponse':{'name':"
        "'weather','response':{'t':21}}}]}]}",
        "[{'args':{'city':'Paris'},'id':'weather','name':"
        "'execute_tool weather','result':{'t':21},'status':'ok'},"
        "{'args':{'city':'Paris'},'id':'weather','name':"
        "'execute_tool weather','result':null,'status':'unset'}]");
}

/* And with Ollama: a tool call named by its function, answered by a
 * tool message naming it. */
Test(sink, ollama_tool_results)
{
    tool_loop_check(
        "localhost:11434", "/api/chat",
        "{'model':'llama3.2','messages':[{'role':'user','content':'Hi'}],"
        "'stream':false}",
        "{'model':'llama3.2','created_at':'2025-01-01T00:00:00Z','message':"
        "{'role':'assistant','content':'','tool_calls':[{'function':{"
        "'name':'weather','arguments':{'city':'Paris'}}}]},'done':true,"
        "'done_reason':'stop','prompt_eval_count':10,'eval_count':5}",
        "{'model':'llama3.2','stream':false,'messages':[{'role':'user',"
        "'content':'Hi'},{'role':'assistant','content':'','tool_calls':[{"
        "'function':{'name':'time','arguments':{}}}]},{'role':'tool',"
        "'tool_name':'time','content':'12:00'},{'role':'assistant',"
        "'content':'','tool_calls':[{'function':{'name':'weather',"
        "'arguments':{'city':'Paris'}}}]},{'role':'tool','tool_name':"
        "'weather','content':'21C'}]}",
        "[{'args':{'city':'Paris'},'id':'weather','name':"
        "'execute_tool weather','result':'21C','status':'ok'},"
        "{'args':{'city':'Paris'},'id':'weather','name':"
        "'execute_tool weather','result':null,'status':'unset'}]");
}

/* An unanswered tool call is closed at exit with status unset. */
Test(sink, tool_open_at_exit)
{
    harness h;
    const char *r1 = "{\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{"
                     "\"index\":0,\"message\":{\"role\":\"assistant\","
                     "\"tool_calls\":[{\"id\":\"call_7\",\"type\":"
                     "\"function\",\"function\":{\"name\":\"ls\","
                     "\"arguments\":\"{}\"}}]},\"finish_reason\":"
                     "\"tool_calls\"}]}";
    char *rq = openai_request(OPENAI_REQ_BODY), *rs = json_response(r1);
    json_t *tool, *last;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, rs);
    h_finish(&h);
    tool = span_nth(&h, "execute_tool ls", 0);
    cr_assert_not_null(tool);
    cr_expect_str_eq(status_code(tool), "unset");
    last = json_array_get(h.spans, json_array_size(h.spans) - 1);
    cr_expect(!strncmp(json_string_value(json_object_get(last, "name")),
                       "invoke_agent", 12));
    free(rq);
    free(rs);
    h_free(&h);
}

/* Content capture off: no prompts, outputs or bodies; the rest stays. */
Test(sink, capture_off)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    char *rs = json_response(OPENAI_RESP_BODY);
    json_t *s;

    h_init(&h, 1 << 20, 0, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, rs);
    h_finish(&h);
    s = span_nth(&h, "chat ", 0);
    check_openai_basic(s);
    cr_expect_null(attr(s, "gen_ai.input.messages"));
    cr_expect_null(attr(s, "gen_ai.output.messages"));
    free(rq);
    free(rs);
    h_free(&h);
}

/* A body over the capture limit: marked truncated, memory stays bounded. */
Test(sink, max_body)
{
    harness h;
    size_t big = 100000, i;
    char *body = malloc(big + 200);
    char *rq;
    json_t *s;

    strcpy(body, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"");
    for (i = strlen(body); i < big; i++)
        body[i] = 'a';
    strcpy(body + big, "\"}]}");
    rq = openai_request(body);
    h_init(&h, 1 << 20, 1, 4096);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    {
        char *rs = json_response(OPENAI_RESP_BODY);

        h_in(&h, 1, rs);
        free(rs);
    }
    h_finish(&h);
    s = span_nth(&h, "chat", 0);
    cr_assert_not_null(s);
    cr_expect(json_is_true(attr(s, "agenttrace.truncated")));
    cr_expect_eq(attr_i(s, "gen_ai.usage.output_tokens"), 3);
    free(body);
    free(rq);
    h_free(&h);
}

/* Exchanges one after another reuse the last one's buffers and attribute
 * list: nothing of an exchange (a truncated body, a streamed answer, its
 * parameters, its tools) may show in the next one's span. */
Test(sink, reused_exchange_carries_nothing_over)
{
    harness h;
    size_t big = 100000, i, k;
    char *body = malloc(big + 200), *rq_big, *rq_stream, *rq_plain;
    char text[64];
    json_t *s;

    strcpy(body, "{\"model\":\"gpt-4o\",\"temperature\":0.25,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (i = strlen(body); i < big; i++)
        body[i] = 'a';
    strcpy(body + big, "\"}]}");
    rq_big = openai_request(body);
    rq_stream = openai_request(
        "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"tools\":[{\"type\":"
        "\"function\",\"function\":{\"name\":\"f\"}}],\"messages\":[{"
        "\"role\":\"user\",\"content\":\"Hi\"}]}");
    rq_plain = openai_request(OPENAI_REQ_BODY);
    h_init(&h, 1 << 20, 1, 4096);
    h_open(&h, 1, "api.openai.com", 443);
    for (k = 0; k < 2; k++) {
        char *rs = json_response(OPENAI_RESP_BODY);

        /* a truncated request, then a stream with tools, then a plain
         * call; twice, so every kind follows every other */
        h_out(&h, 1, rq_big);
        h_in(&h, 1, rs);
        h_out(&h, 1, rq_stream);
        h_in(&h, 1, SSE_HEAD);
        stream_body(&h);
        h_out(&h, 1, rq_plain);
        h_in(&h, 1, rs);
        free(rs);
    }
    h_finish(&h);
    for (k = 0; k < 2; k++) {
        s = span_nth(&h, "chat ", 3 * k);
        cr_assert_not_null(s);
        cr_expect(json_is_true(attr(s, "agenttrace.truncated")));
        cr_expect_null(attr(s, "gen_ai.request.stream"));
        cr_expect_null(attr(s, "gen_ai.tool.definitions"));

        s = span_nth(&h, "chat ", 3 * k + 1);
        cr_assert_not_null(s);
        cr_expect_null(attr(s, "agenttrace.truncated"));
        cr_expect_null(attr(s, "gen_ai.request.temperature"));
        cr_expect_not_null(attr(s, "gen_ai.tool.definitions"));
        output_text(s, text, sizeof(text));
        cr_expect_str_eq(text, "Hello!");

        s = span_nth(&h, "chat ", 3 * k + 2);
        check_openai_basic(s);
        cr_expect_null(attr(s, "agenttrace.truncated"));
        cr_expect_null(attr(s, "gen_ai.request.stream"));
        cr_expect(json_real_value(attr(s, "gen_ai.request.temperature")) ==
                  0.5);
        cr_expect_null(attr(s, "gen_ai.tool.definitions"));
        cr_expect_null(attr(s, "gen_ai.response.time_to_first_chunk"));
    }
    free(body);
    free(rq_big);
    free(rq_stream);
    free(rq_plain);
    h_free(&h);
}

/* Anthropic stream with an error event mid-way. */
Test(sink, anthropic_stream_error_event)
{
    harness h;
    const char *body = "{\"model\":\"claude-3-5-haiku-latest\",\"max_tokens\":"
                       "100,\"stream\":true,\"system\":\"Be terse.\","
                       "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    char *rq = fmt("POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
                   "x-api-key: sk-ant-SECRET\r\nContent-Type: application/json"
                   "\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    json_t *s;
    char text[64];

    h_init(&h, 5, 1, 8 << 20);
    h_open(&h, 1, "api.anthropic.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                "Connection: close\r\n\r\n"
                "event: message_start\ndata: {\"type\":\"message_start\","
                "\"message\":{\"id\":\"msg_1\",\"model\":"
                "\"claude-3-5-haiku-20241022\",\"usage\":{\"input_tokens\":9,"
                "\"output_tokens\":1}}}\n\n"
                "event: content_block_start\ndata: {\"type\":"
                "\"content_block_start\",\"index\":0,\"content_block\":{"
                "\"type\":\"text\",\"text\":\"\"}}\n\n"
                "event: content_block_delta\ndata: {\"type\":"
                "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                "\"text_delta\",\"text\":\"Hey\"}}\n\n"
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
    h_rec(&h, AT_REC_EOF, 1, 0, NULL, 0);
    h_finish(&h);
    s = span_nth(&h, "chat claude", 0);
    cr_assert_not_null(s);
    cr_expect_str_eq(attr_s(s, "gen_ai.provider.name"), "anthropic");
    cr_expect_str_eq(status_code(s), "error");
    cr_expect_str_eq(attr_s(s, "error.type"), "overloaded_error");
    cr_expect_eq(attr_i(s, "gen_ai.usage.input_tokens"), 9);
    output_text(s, text, sizeof(text));
    cr_expect_str_eq(text, "Hey");
    free(rq);
    h_free(&h);
}

/* The file never sees a credential. */
Test(sink, no_secrets_in_output)
{
    harness h;
    char *rq = openai_request(OPENAI_REQ_BODY);
    char *rs = json_response(OPENAI_RESP_BODY);
    char *dump;
    size_t i;
    json_t *s;

    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, rs);
    h_finish(&h);
    json_array_foreach(h.spans, i, s) {
        dump = json_dumps(s, 0);
        cr_expect_null(strstr(dump, "SECRET"), "%s", dump);
        free(dump);
    }
    free(rq);
    free(rs);
    h_free(&h);
}

/* An unwritable output: spans are lost, counted, nothing crashes. */
Test(sink, unwritable_output)
{
    at_proc p;
    at_sink_opts o;
    at_sink *s;
    at_sink_stats st;

    memset(&p, 0, sizeof(p));
    p.span_id = 1;
    p.trace_id[0] = 1;
    memset(&o, 0, sizeof(o));
    o.proc = &p;
    o.output = "/nonexistent-dir/agenttrace.jsonl";
    o.agent_name = "";
    o.max_body = 1024;
    s = at_sink_new(&o);
    at_sink_finish(s, 10, 0);
    at_sink_stats_get(s, &st);
    cr_expect_eq(st.writer.failed, 1);
    cr_expect_eq(st.writer.last_errno, ENOENT);
    at_sink_del(s);
}

/* Bodies over the capture limit keep what their two ends say: the model
 * (even after a huge messages array, as the Python SDK orders keys) and
 * the usage at the end of the response. */
Test(sink, max_body_keeps_model_and_usage)
{
    harness h;
    size_t big = 200000, i;
    char *content = malloc(big + 1);
    char *rqb, *rsb, *rq, *rs;
    json_t *s;

    for (i = 0; i < big; i++)
        content[i] = (char)('a' + i % 26);
    content[big] = '\0';
    rqb = fmt("{\"messages\":[{\"role\":\"user\",\"content\":\"%s \\\"model\\\""
              ": \\\"fake\\\"\"}],\"model\":\"gpt-4o\",\"stream\":false,"
              "\"temperature\":0.25}", content);
    rsb = fmt("{\"id\":\"chatcmpl-big\",\"model\":\"gpt-4o-2024-08-06\","
              "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              "\"content\":\"%s\"},\"finish_reason\":\"length\"}],"
              "\"usage\":{\"prompt_tokens\":50000,\"completion_tokens\":"
              "4096,\"total_tokens\":54096}}", content);
    rq = openai_request(rqb);
    rs = json_response(rsb);
    h_init(&h, 16384, 1, 4096);
    h_open(&h, 1, "api.openai.com", 443);
    h_out(&h, 1, rq);
    h_in(&h, 1, rs);
    h_finish(&h);
    s = span_nth(&h, "chat gpt-4o", 0);
    cr_assert_not_null(s, "the model survives the cut");
    cr_expect(json_is_true(attr(s, "agenttrace.truncated")));
    cr_expect_str_eq(attr_s(s, "gen_ai.request.model"), "gpt-4o");
    cr_expect_eq(json_real_value(attr(s, "gen_ai.request.temperature")),
                 0.25);
    cr_expect_str_eq(attr_s(s, "gen_ai.response.id"), "chatcmpl-big");
    cr_expect_str_eq(attr_s(s, "gen_ai.response.model"),
                     "gpt-4o-2024-08-06");
    cr_expect_eq(attr_i(s, "gen_ai.usage.input_tokens"), 50000);
    cr_expect_eq(attr_i(s, "gen_ai.usage.output_tokens"), 4096);
    cr_expect_str_eq(status_code(s), "ok");
    free(content);
    free(rqb);
    free(rsb);
    free(rq);
    free(rs);
    h_free(&h);
}

/* ---- HTTP/2 ------------------------------------------------------------- */

#include <nghttp2/nghttp2.h>

/* One frame: 9-byte header and payload, appended to b. */
static size_t frame(char *b, size_t at, int type, int flags, uint32_t sid,
                    const void *payload, size_t n)
{
    unsigned char *h = (unsigned char *)b + at;

    h[0] = (unsigned char)(n >> 16);
    h[1] = (unsigned char)(n >> 8);
    h[2] = (unsigned char)n;
    h[3] = (unsigned char)type;
    h[4] = (unsigned char)flags;
    h[5] = (unsigned char)(sid >> 24);
    h[6] = (unsigned char)(sid >> 16);
    h[7] = (unsigned char)(sid >> 8);
    h[8] = (unsigned char)sid;
    memcpy(b + at + 9, payload, n);
    return at + 9 + n;
}

static size_t hpack(nghttp2_hd_deflater *d, char *out, size_t cap,
                    const char *const *kv, size_t n)
{
    nghttp2_nv nv[16];
    size_t i;
    ssize_t r;

    for (i = 0; i < n; i++) {
        nv[i].name = (uint8_t *)kv[2 * i];
        nv[i].namelen = strlen(kv[2 * i]);
        nv[i].value = (uint8_t *)kv[2 * i + 1];
        nv[i].valuelen = strlen(kv[2 * i + 1]);
        nv[i].flags = NGHTTP2_NV_FLAG_NONE;
    }
    r = nghttp2_hd_deflate_hd(d, (uint8_t *)out, cap, nv, n);
    cr_assert(r > 0);
    return (size_t)r;
}

/* Client and server bytes of `n` requests on streams 1, 3, 5, ...,
 * interleaved frame by frame as a multiplexing client sends them. */
static void h2_exchange(char *cb, size_t *cn, char *sb, size_t *sn, int n)
{
    nghttp2_hd_deflater *dc, *ds;
    char blk[512];
    size_t k, c = 0, s = 0;
    int i;
    static const char settings[] = "";

    cr_assert(nghttp2_hd_deflate_new(&dc, 4096) == 0);
    cr_assert(nghttp2_hd_deflate_new(&ds, 4096) == 0);
    memcpy(cb, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    c = frame(cb, 24, 4, 0, 0, settings, 0);
    s = frame(sb, 0, 4, 0, 0, settings, 0);
    for (i = 0; i < n; i++) {
        const char *rq[] = {":method", "POST", ":scheme", "https",
                            ":path", "/v1/chat/completions",
                            ":authority", "api.openai.com",
                            "content-type", "application/json",
                            "authorization", "Bearer sk-h2-SECRET-000"};

        k = hpack(dc, blk, sizeof(blk), rq, 6);
        c = frame(cb, c, 1, 0x4, 1 + 2 * (uint32_t)i, blk, k);
    }
    for (i = 0; i < n; i++)
        c = frame(cb, c, 0, 0x1, 1 + 2 * (uint32_t)i, OPENAI_REQ_BODY,
                  strlen(OPENAI_REQ_BODY));
    for (i = n - 1; i >= 0; i--) {   /* answered in reverse order */
        const char *rs[] = {":status", "200", "content-type",
                            "application/json"};

        k = hpack(ds, blk, sizeof(blk), rs, 2);
        s = frame(sb, s, 1, 0x4, 1 + 2 * (uint32_t)i, blk, k);
        s = frame(sb, s, 0, 0x1, 1 + 2 * (uint32_t)i, OPENAI_RESP_BODY,
                  strlen(OPENAI_RESP_BODY));
    }
    nghttp2_hd_deflate_del(dc);
    nghttp2_hd_deflate_del(ds);
    *cn = c;
    *sn = s;
}

ParameterizedTestParameters(sink, h2_streams)
{
    return cr_make_param_array(size_t, splits, 3);
}

/* Three concurrent streams on one HTTP/2 connection: three spans. */
ParameterizedTest(size_t *split, sink, h2_streams)
{
    harness h;
    static char cb[8192], sb[8192];
    size_t cn, sn;
    int i;

    h2_exchange(cb, &cn, sb, &sn, 3);
    h_init(&h, *split, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_bytes(&h, 1, 0, cb, cn);
    h_bytes(&h, 1, 1, sb, sn);
    h_finish(&h);
    cr_assert_eq(count_prefix(&h, "chat gpt-4o-mini"), 3);
    for (i = 0; i < 3; i++) {
        json_t *s = span_nth(&h, "chat ", i);

        check_openai_basic_version(s, "2");
    }
    h_free(&h);
}

/* Bytes lost on an HTTP/2 connection: the streams in flight end as
 * desynchronised errors, and nothing after the gap is decoded. */
Test(sink, h2_gap_is_never_decoded_wrongly)
{
    harness h;
    static char cb[8192], sb[8192];
    size_t cn, sn;
    json_t *s;
    size_t i;

    h2_exchange(cb, &cn, sb, &sn, 2);
    h_init(&h, 1 << 20, 1, 8 << 20);
    h_open(&h, 1, "api.openai.com", 443);
    h_bytes(&h, 1, 0, cb, cn);
    h_bytes(&h, 1, 1, sb, 40);        /* SETTINGS and part of HEADERS */
    h.off[1][1] += 30;                /* 30 bytes never reached the sink */
    h_bytes(&h, 1, 1, sb + 70, sn - 70);
    h_finish(&h);
    cr_assert_eq(count_prefix(&h, "chat "), 2);
    json_array_foreach(h.spans, i, s) {
        if (strncmp(json_string_value(json_object_get(s, "name")), "chat ",
                    5))
            continue;
        cr_expect_str_eq(status_code(s), "error");
        cr_expect(json_is_true(attr(s, "agenttrace.desynchronized")));
        cr_expect_null(attr(s, "gen_ai.response.id"),
                       "nothing decoded after the gap");
    }
    h_free(&h);
}

char *at_url_full(int tls, const char *host, int port, const char *target);

/* url.full: the scheme's own port left out, any other written; IPv6
 * hosts in brackets; absolute-form targets keep their path. */
Test(sink, url_full_ports)
{
    static const struct {
        int tls;
        const char *host;
        int port;
        const char *target, *want;
    } c[] = {
        {1, "api.openai.com", 443, "/v1/x", "https://api.openai.com/v1/x"},
        {0, "localhost", 80, "/a", "http://localhost/a"},
        {1, "h", 80, "/", "https://h:80/"},
        {0, "h", 443, "/", "http://h:443/"},
        {1, "127.0.0.1", 8443, "/v1", "https://127.0.0.1:8443/v1"},
        {0, "::1", 11434, "/api/chat", "http://[::1]:11434/api/chat"},
        {0, "h", 65535, "/", "http://h:65535/"},
        {0, "h", 0, "/", "http://h:0/"},
        {0, "h", 8080, "http://h:8080/p?q=1", "http://h:8080/p?q=1"},
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char *u = at_url_full(c[i].tls, c[i].host, c[i].port, c[i].target);

        cr_assert_not_null(u);
        cr_expect_str_eq(u, c[i].want);
        free(u);
    }
}

/* One OpenAI call over TLS (port 443 in the connection's OPEN record)
 * whose request carries `Host: host`; its span, or NULL.  h_free(h)
 * after. */
static json_t *call_with_host(harness *h, const char *host)
{
    char *rq = fmt("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   host, strlen(OPENAI_REQ_BODY), OPENAI_REQ_BODY);
    char *rs = json_response(OPENAI_RESP_BODY);

    h_init(h, 1 << 20, 1, 8 << 20);
    h_open(h, 1, "api.openai.com", 443);
    h_out(h, 1, rq);
    h_in(h, 1, rs);
    h_finish(h);
    free(rq);
    free(rs);
    return span_nth(h, "chat ", 0);
}

/* The attributes of every exchange are written at once (http_attrs): a
 * Host that needs escapes is escaped, one that is not UTF-8 is written
 * "\uFFFD" whole, in server.address and in url.full, as the attribute
 * setters do; every span line stays JSON. */
Test(sink, http_attributes_of_odd_hosts)
{
    static const struct {
        const char *host, *address, *url;
    } c[] = {
        {"a\"b\\c", "a\"b\\c", "https://a\"b\\c/v1/chat/completions"},
        {"h\xffst", "\xEF\xBF\xBD", "\xEF\xBF\xBD"},
        {"caf\xc3\xa9.example", "caf\xc3\xa9.example",
         "https://caf\xc3\xa9.example/v1/chat/completions"},
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        harness h;
        json_t *s = call_with_host(&h, c[i].host);

        cr_assert_not_null(s, "host %zu: no span", i);
        cr_expect_str_eq(attr_s(s, "server.address"), c[i].address,
                         "host %zu", i);
        cr_expect_str_eq(attr_s(s, "url.full"), c[i].url, "host %zu", i);
        cr_expect_eq(attr_i(s, "server.port"), 443);
        cr_expect_str_eq(attr_s(s, "http.request.method"), "POST");
        cr_expect_eq(attr_i(s, "http.response.status_code"), 200);
        cr_expect_str_eq(attr_s(s, "agenttrace.transport"), "openssl");
        h_free(&h);
    }
}

/* The port of a Host header, read as strtol would: a number in range is
 * the port, anything else leaves the connection's. */
Test(sink, host_header_ports)
{
    static const struct {
        const char *host;
        int port;
    } c[] = {
        {"h:8080", 8080}, {"h: 81", 81},    {"h:+82", 82},
        {"h:65535", 65535}, {"h:65536", 443}, {"h:999999999999999", 443},
        {"h:0", 443},     {"h:x", 443},     {"h:-5", 443},
        {"h:", 443},      {"h:83x", 83},    {"[::1]:8444", 8444},
        {"[::1]", 443},
    };
    size_t i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        harness h;
        json_t *s = call_with_host(&h, c[i].host);

        cr_assert_not_null(s, "%s: no span", c[i].host);
        cr_expect_eq(attr_i(s, "server.port"), c[i].port, "%s: port %lld",
                     c[i].host, (long long)attr_i(s, "server.port"));
        h_free(&h);
    }
}
