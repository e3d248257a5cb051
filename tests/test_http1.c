/* test_http1.c - unit tests of decode/http1.c (HTTP/1.x framing).
 *
 * Runs in the Criterion test runner (one forked worker per test).  Every
 * head case is parsed whole and then from every prefix of itself, each
 * prefix in a buffer of exactly that size so that the sanitizers see any
 * read past the end; every chunked case is fed whole, one byte at a time,
 * split in two at every position and in random pieces.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/http1.h"

/* Header capacity used when a case does not name one. */
#define DEFAULT_CAP 32

/* One head: request or response, valid or not, with what it must give. */
struct head_case {
    const char *name;
    int resp;              /* 1: a response head, 0: a request head */
    const char *head;      /* the head, or the whole invalid input */
    size_t head_len;       /* 0: strlen(head) */
    const char *rest;      /* bytes that follow the head in the buffer */
    int error;             /* 1: the input must be refused */
    size_t cap;            /* header capacity; 0: DEFAULT_CAP */
    const char *method;    /* request line ... */
    const char *target;
    int status;            /* ... or status line */
    const char *reason;
    int minor;
    size_t nhdr;           /* number of headers */
    const char *hdr[3][2]; /* the first headers: name, value */
    const char *req_method; /* responses: method of the request */
    at_h1_body_kind body;
    uint64_t length;
};

#define CRLF "\r\n"

/* LIT: a string literal that may hold NUL bytes, with its length. */
#define LIT(s) s, .head_len = sizeof(s) - 1

static const struct head_case head_cases[] = {
    /* requests */
    { .name = "post_content_length",
      .head = "POST /v1/chat/completions HTTP/1.1" CRLF
              "Host: api.openai.com" CRLF
              "Content-Type: application/json" CRLF
              "Content-Length: 17" CRLF CRLF,
      .rest = "{\"model\":\"gpt\"}\n",
      .method = "POST", .target = "/v1/chat/completions", .minor = 1,
      .nhdr = 3,
      .hdr = { { "Host", "api.openai.com" },
               { "Content-Type", "application/json" },
               { "Content-Length", "17" } },
      .body = AT_H1_BODY_LENGTH, .length = 17 },
    { .name = "get_query_no_body",
      .head = "GET /v1/models?limit=5&after=x HTTP/1.1" CRLF
              "Host: api.anthropic.com" CRLF CRLF,
      .method = "GET", .target = "/v1/models?limit=5&after=x", .minor = 1,
      .nhdr = 1, .hdr = { { "Host", "api.anthropic.com" } },
      .body = AT_H1_BODY_NONE },
    { .name = "post_chunked",
      .head = "POST /v1/messages HTTP/1.1" CRLF
              "Host: localhost:8080" CRLF
              "Transfer-Encoding: chunked" CRLF CRLF,
      .rest = "5" CRLF "hello" CRLF "0" CRLF CRLF,
      .method = "POST", .target = "/v1/messages", .minor = 1, .nhdr = 2,
      .hdr = { { "Host", "localhost:8080" },
               { "Transfer-Encoding", "chunked" } },
      .body = AT_H1_BODY_CHUNKED },
    { .name = "request_chunked_overrides_length",
      .head = "POST /x HTTP/1.1" CRLF "Content-Length: 10" CRLF
              "transfer-encoding: gzip, Chunked" CRLF CRLF,
      .method = "POST", .target = "/x", .minor = 1, .nhdr = 2,
      .body = AT_H1_BODY_CHUNKED },
    { .name = "request_te_not_chunked_last",
      .head = "POST /x HTTP/1.1" CRLF "Transfer-Encoding: chunked, gzip"
              CRLF CRLF,
      .method = "POST", .target = "/x", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "bare_lf",
      .head = "POST /x HTTP/1.1\nHost: a\nContent-Length: 3\n\n",
      .rest = "abc",
      .method = "POST", .target = "/x", .minor = 1, .nhdr = 2,
      .hdr = { { "Host", "a" }, { "Content-Length", "3" } },
      .body = AT_H1_BODY_LENGTH, .length = 3 },
    { .name = "mixed_line_ends",
      .head = "GET / HTTP/1.1\nHost: a" CRLF "Accept: */*\n" CRLF,
      .method = "GET", .target = "/", .minor = 1, .nhdr = 2,
      .hdr = { { "Host", "a" }, { "Accept", "*/*" } } },
    { .name = "http10_no_headers",
      .head = "GET / HTTP/1.0" CRLF CRLF,
      .method = "GET", .target = "/", .minor = 0, .nhdr = 0 },
    { .name = "value_whitespace_trimmed",
      .head = "GET / HTTP/1.1" CRLF "X-A: \t  v a l \t " CRLF
              "X-Empty:" CRLF "X-Spaces:   " CRLF "X-Obs: caf\xc3\xa9" CRLF
              CRLF,
      .method = "GET", .target = "/", .minor = 1, .nhdr = 4,
      .hdr = { { "X-A", "v a l" }, { "X-Empty", "" },
               { "X-Spaces", "" } } },
    { .name = "leading_empty_lines_skipped",
      .head = CRLF "\nGET / HTTP/1.1" CRLF "Host: a" CRLF CRLF,
      .method = "GET", .target = "/", .minor = 1, .nhdr = 1 },
    { .name = "headers_at_capacity", .cap = 4,
      .head = "GET / HTTP/1.1" CRLF "A: 1" CRLF "B: 2" CRLF "C: 3" CRLF
              "D: 4" CRLF CRLF,
      .method = "GET", .target = "/", .minor = 1, .nhdr = 4,
      .hdr = { { "A", "1" }, { "B", "2" }, { "C", "3" } } },
    { .name = "content_length_negative",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: -5" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_huge",
      .head = "POST / HTTP/1.1" CRLF
              "Content-Length: 99999999999999999999999" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_int64_max_plus_one",
      .head = "POST / HTTP/1.1" CRLF
              "Content-Length: 9223372036854775808" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_int64_max",
      .head = "POST / HTTP/1.1" CRLF
              "Content-Length: 9223372036854775807" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_LENGTH, .length = INT64_MAX },
    { .name = "content_length_conflicting_lines",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: 10" CRLF
              "Content-Length: 11" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 2,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_conflicting_list",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: 10, 11" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_equal_list",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: 10, 10" CRLF CRLF,
      .rest = "0123456789",
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .hdr = { { "Content-Length", "10, 10" } },
      .body = AT_H1_BODY_LENGTH, .length = 10 },
    { .name = "content_length_equal_lines",
      .head = "POST / HTTP/1.1" CRLF "content-length: 10" CRLF
              "Content-Length:10" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 2,
      .body = AT_H1_BODY_LENGTH, .length = 10 },
    { .name = "content_length_empty",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: " CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_plus_sign",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: +5" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },
    { .name = "content_length_hex",
      .head = "POST / HTTP/1.1" CRLF "Content-Length: 0x10" CRLF CRLF,
      .method = "POST", .target = "/", .minor = 1, .nhdr = 1,
      .body = AT_H1_BODY_INVALID },

    /* invalid requests */
    { .name = "too_many_headers", .cap = 4, .error = 1,
      .head = "GET / HTTP/1.1" CRLF "A: 1" CRLF "B: 2" CRLF "C: 3" CRLF
              "D: 4" CRLF "E: 5" CRLF CRLF },
    { .name = "garbage", .error = 1, .head = "hello world" CRLF CRLF },
    { .name = "tls_client_hello", .error = 1,
      .head = LIT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") },
    { .name = "http2_preface", .error = 1,
      .head = "PRI * HTTP/2.0" CRLF CRLF "SM" CRLF CRLF },
    { .name = "nul_in_header_value", .error = 1,
      .head = LIT("GET / HTTP/1.1" CRLF "X: a\0b" CRLF CRLF) },
    { .name = "nul_in_header_name", .error = 1,
      .head = LIT("GET / HTTP/1.1" CRLF "X\0: ab" CRLF CRLF) },
    { .name = "nul_in_target", .error = 1,
      .head = LIT("GET /a\0b HTTP/1.1" CRLF CRLF) },
    { .name = "obs_fold", .error = 1,
      .head = "GET / HTTP/1.1" CRLF "X: a" CRLF " b" CRLF CRLF },
    { .name = "space_before_colon", .error = 1,
      .head = "GET / HTTP/1.1" CRLF "Host : a" CRLF CRLF },
    { .name = "no_colon", .error = 1,
      .head = "GET / HTTP/1.1" CRLF "Host" CRLF CRLF },
    { .name = "empty_header_name", .error = 1,
      .head = "GET / HTTP/1.1" CRLF ": x" CRLF CRLF },
    { .name = "bare_cr_in_request_line", .error = 1,
      .head = "GET / HTTP/1.1\rHost: a" CRLF CRLF },
    { .name = "bare_cr_in_value", .error = 1,
      .head = "GET / HTTP/1.1" CRLF "X: a\rb" CRLF CRLF },
    { .name = "ctl_in_value", .error = 1,
      .head = "GET / HTTP/1.1" CRLF "X: a\x01" CRLF CRLF },
    { .name = "missing_target", .error = 1,
      .head = "GET  HTTP/1.1" CRLF CRLF },
    { .name = "lowercase_version", .error = 1,
      .head = "GET / http/1.1" CRLF CRLF },
    { .name = "version_1_2", .error = 1, .head = "GET / HTTP/1.2" CRLF CRLF },
    { .name = "version_trailing_junk", .error = 1,
      .head = "GET / HTTP/1.1x" CRLF CRLF },
    { .name = "response_as_request", .error = 1,
      .head = "HTTP/1.1 200 OK" CRLF CRLF },

    /* responses */
    { .name = "resp_200_length", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Type: application/json" CRLF
              "Content-Length: 2" CRLF CRLF,
      .rest = "{}", .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .hdr = { { "Content-Type", "application/json" },
               { "Content-Length", "2" } },
      .req_method = "POST", .body = AT_H1_BODY_LENGTH, .length = 2 },
    { .name = "resp_100_continue", .resp = 1,
      .head = "HTTP/1.1 100 Continue" CRLF CRLF,
      .rest = "HTTP/1.1 200 OK" CRLF "Content-Length: 0" CRLF CRLF,
      .status = 100, .reason = "Continue", .minor = 1, .nhdr = 0,
      .req_method = "POST", .body = AT_H1_BODY_NONE },
    { .name = "resp_101_switching", .resp = 1,
      .head = "HTTP/1.1 101 Switching Protocols" CRLF "Upgrade: websocket"
              CRLF "Connection: Upgrade" CRLF CRLF,
      .status = 101, .reason = "Switching Protocols", .minor = 1, .nhdr = 2,
      .req_method = "GET", .body = AT_H1_BODY_NONE },
    { .name = "resp_204", .resp = 1,
      .head = "HTTP/1.1 204 No Content" CRLF "Content-Length: 5" CRLF CRLF,
      .rest = "HTTP/1.1 200 OK" CRLF,
      .status = 204, .reason = "No Content", .minor = 1, .nhdr = 1,
      .req_method = "DELETE", .body = AT_H1_BODY_NONE },
    { .name = "resp_304", .resp = 1,
      .head = "HTTP/1.1 304 Not Modified" CRLF "ETag: \"x\"" CRLF
              "Transfer-Encoding: chunked" CRLF CRLF,
      .status = 304, .reason = "Not Modified", .minor = 1, .nhdr = 2,
      .req_method = "GET", .body = AT_H1_BODY_NONE },
    { .name = "resp_to_head", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Length: 1234" CRLF CRLF,
      .rest = "HTTP/1.1 200 OK" CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 1,
      .req_method = "HEAD", .body = AT_H1_BODY_NONE },
    { .name = "resp_to_connect", .resp = 1,
      .head = "HTTP/1.1 200 Connection established" CRLF CRLF,
      .rest = "\x16\x03\x03",
      .status = 200, .reason = "Connection established", .minor = 1,
      .req_method = "CONNECT", .body = AT_H1_BODY_NONE },
    { .name = "resp_until_close", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Type: text/event-stream" CRLF
              "Connection: close" CRLF CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_UNTIL_CLOSE },
    { .name = "resp_http10_until_close", .resp = 1,
      .head = "HTTP/1.0 200 OK" CRLF "Server: BaseHTTP/0.6" CRLF CRLF,
      .rest = "{\"ok\":true}",
      .status = 200, .reason = "OK", .minor = 0, .nhdr = 1,
      .req_method = "GET", .body = AT_H1_BODY_UNTIL_CLOSE },
    { .name = "resp_chunked_overrides_length", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Length: 99" CRLF
              "Transfer-Encoding: chunked" CRLF CRLF,
      .rest = "2" CRLF "{}" CRLF "0" CRLF CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_CHUNKED },
    { .name = "resp_chunked_overrides_bad_length", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Length: -1" CRLF
              "Transfer-Encoding: chunked" CRLF CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_CHUNKED },
    { .name = "resp_te_split_lines", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Transfer-Encoding: gzip" CRLF
              "Transfer-Encoding: chunked" CRLF CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_CHUNKED },
    { .name = "resp_te_chunked_not_last", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Transfer-Encoding: chunked, gzip" CRLF
              "Content-Length: 5" CRLF CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_UNTIL_CLOSE },
    { .name = "resp_bad_length", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Length: 5" CRLF
              "Content-Length: 6" CRLF CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_INVALID },
    { .name = "resp_no_reason_no_space", .resp = 1,
      .head = "HTTP/1.1 200" CRLF "Content-Length: 0" CRLF CRLF,
      .status = 200, .reason = "", .minor = 1, .nhdr = 1,
      .req_method = "GET", .body = AT_H1_BODY_LENGTH, .length = 0 },
    { .name = "resp_empty_reason", .resp = 1,
      .head = "HTTP/1.1 404 \nContent-Length: 0\n\n",
      .status = 404, .reason = "", .minor = 1, .nhdr = 1,
      .req_method = "GET", .body = AT_H1_BODY_LENGTH, .length = 0 },
    { .name = "resp_unknown_method", .resp = 1,
      .head = "HTTP/1.1 500 Internal Server Error" CRLF
              "content-length: 3" CRLF CRLF,
      .rest = "err", .status = 500, .reason = "Internal Server Error",
      .minor = 1, .nhdr = 1, .req_method = NULL,
      .body = AT_H1_BODY_LENGTH, .length = 3 },
    { .name = "resp_head_then_sse_event", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF
              "Content-Type: text/event-stream; charset=utf-8" CRLF
              "Cache-Control: no-cache" CRLF CRLF,
      .rest = "event: message_start\n"
              "data: {\"type\":\"message_start\",\"message\":{}}\n\n"
              "event: ping\n",
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .hdr = { { "Content-Type", "text/event-stream; charset=utf-8" },
               { "Cache-Control", "no-cache" } },
      .req_method = "POST", .body = AT_H1_BODY_UNTIL_CLOSE },
    { .name = "resp_head_then_chunked_sse", .resp = 1,
      .head = "HTTP/1.1 200 OK" CRLF "Content-Type: text/event-stream" CRLF
              "Transfer-Encoding: chunked" CRLF CRLF,
      .rest = "1f" CRLF "event: ping\ndata: {\"t\": \"p\"}\n\n" CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 2,
      .req_method = "POST", .body = AT_H1_BODY_CHUNKED },
    { .name = "resp_many_headers_at_capacity", .resp = 1, .cap = 3,
      .head = "HTTP/1.1 200 OK" CRLF "A: 1" CRLF "B: 2" CRLF "C: 3" CRLF
              CRLF,
      .status = 200, .reason = "OK", .minor = 1, .nhdr = 3,
      .req_method = "GET", .body = AT_H1_BODY_UNTIL_CLOSE },

    /* invalid responses */
    { .name = "resp_too_many_headers", .resp = 1, .cap = 3, .error = 1,
      .head = "HTTP/1.1 200 OK" CRLF "A: 1" CRLF "B: 2" CRLF "C: 3" CRLF
              "D: 4" CRLF CRLF },
    { .name = "resp_http2", .resp = 1, .error = 1,
      .head = "HTTP/2.0 200 OK" CRLF CRLF },
    { .name = "resp_tls_record", .resp = 1, .error = 1,
      .head = LIT("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03") },
    { .name = "resp_h2_frame", .resp = 1, .error = 1,
      .head = LIT("\x00\x00\x12\x04\x00\x00\x00\x00\x00") },
    { .name = "resp_html", .resp = 1, .error = 1,
      .head = "<html><body>hi</body></html>" CRLF CRLF },
    { .name = "resp_two_digit_status", .resp = 1, .error = 1,
      .head = "HTTP/1.1 20 OK" CRLF CRLF },
    { .name = "resp_four_digit_status", .resp = 1, .error = 1,
      .head = "HTTP/1.1 2000 OK" CRLF CRLF },
    { .name = "resp_status_leading_zero", .resp = 1, .error = 1,
      .head = "HTTP/1.1 099 Odd" CRLF CRLF },
    { .name = "resp_nul_in_reason", .resp = 1, .error = 1,
      .head = LIT("HTTP/1.1 200 O\0K" CRLF CRLF) },
    { .name = "resp_nul_in_header", .resp = 1, .error = 1,
      .head = LIT("HTTP/1.1 200 OK" CRLF "X: \0" CRLF CRLF) },
    { .name = "resp_obs_fold", .resp = 1, .error = 1,
      .head = "HTTP/1.1 200 OK" CRLF "X: a" CRLF "\tb" CRLF CRLF },
};

#define N_HEAD_CASES (sizeof(head_cases) / sizeof(head_cases[0]))

/* case_len: the length of a case's head or invalid input. */
static size_t case_len(const struct head_case *c)
{
    return c->head_len ? c->head_len : strlen(c->head);
}

/* parse: run the right parser over buf[0 .. len).  `hdrs` has `cap`
 * entries; the request or response struct is reused across calls, as a
 * caller that gets AT_H1_NEED_MORE would reuse it. */
static int parse(const struct head_case *c, const char *buf, size_t len,
                 at_h1_request *req, at_h1_response *resp)
{
    return c->resp ? at_h1_parse_response(buf, len, resp)
                   : at_h1_parse_request(buf, len, req);
}

/* exact_copy: a heap copy of n bytes with nothing after it. */
static char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    cr_assert_not_null(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* mem_eq_str: buffer p[0 .. n) equals the string s. */
static int mem_eq_str(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* check_valid_head: the fields of a parsed head against the case. */
static void check_valid_head(const struct head_case *c,
                             const at_h1_request *req,
                             const at_h1_response *resp)
{
    const at_h1_header *h = c->resp ? resp->headers : req->headers;
    size_t n = c->resp ? resp->num_headers : req->num_headers;
    uint64_t length = 12345;
    at_h1_body_kind kind;
    size_t i;

    cr_assert_eq(n, c->nhdr, "%s: %zu headers, expected %zu", c->name, n,
                 c->nhdr);
    if (c->resp) {
        cr_assert_eq(resp->status, c->status, "%s: status %d", c->name,
                     resp->status);
        cr_assert_eq(resp->minor_version, c->minor, "%s", c->name);
        cr_assert(mem_eq_str(resp->reason, resp->reason_len, c->reason),
                  "%s: reason '%.*s'", c->name, (int)resp->reason_len,
                  resp->reason);
        kind = at_h1_response_body(resp, c->req_method,
                                   c->req_method ? strlen(c->req_method) : 0,
                                   &length);
    } else {
        cr_assert(mem_eq_str(req->method, req->method_len, c->method),
                  "%s: method", c->name);
        cr_assert(mem_eq_str(req->target, req->target_len, c->target),
                  "%s: target '%.*s'", c->name, (int)req->target_len,
                  req->target);
        cr_assert_eq(req->minor_version, c->minor, "%s", c->name);
        kind = at_h1_request_body(req, &length);
    }
    for (i = 0; i < 3 && c->hdr[i][0] != NULL; i++) {
        cr_assert(mem_eq_str(h[i].name, h[i].name_len, c->hdr[i][0]),
                  "%s: header %zu name '%.*s'", c->name, i,
                  (int)h[i].name_len, h[i].name);
        cr_assert(mem_eq_str(h[i].value, h[i].value_len, c->hdr[i][1]),
                  "%s: header %zu value '%.*s'", c->name, i,
                  (int)h[i].value_len, h[i].value);
    }
    cr_assert_eq(kind, c->body, "%s: body kind %d, expected %d", c->name,
                 (int)kind, (int)c->body);
    cr_assert_eq(length, kind == AT_H1_BODY_LENGTH ? c->length : 0,
                 "%s: length %llu", c->name, (unsigned long long)length);
}

ParameterizedTestParameters(http1, head)
{
    static size_t idx[N_HEAD_CASES];
    size_t i;

    for (i = 0; i < N_HEAD_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_HEAD_CASES);
}

/* Whole, then every prefix (each in its own exactly sized buffer, with
 * the same structs reused as after AT_H1_NEED_MORE). */
ParameterizedTest(size_t *ip, http1, head)
{
    const struct head_case *c = &head_cases[*ip];
    size_t cap = c->cap ? c->cap : DEFAULT_CAP;
    size_t hlen = case_len(c);
    size_t rlen = c->rest ? strlen(c->rest) : 0;
    size_t total = hlen + rlen, k;
    at_h1_header hdrs[DEFAULT_CAP];
    at_h1_request req;
    at_h1_response resp;
    char *whole;
    int r, seen_error = 0;

    whole = malloc(total ? total : 1);
    cr_assert_not_null(whole);
    memcpy(whole, c->head, hlen);
    if (rlen)
        memcpy(whole + hlen, c->rest, rlen);

    /* whole */
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.headers = resp.headers = hdrs;
    req.num_headers = resp.num_headers = cap;
    r = parse(c, whole, total, &req, &resp);
    if (c->error) {
        cr_assert_eq(r, AT_H1_ERROR, "%s: whole gave %d", c->name, r);
    } else {
        cr_assert_eq(r, (int)hlen, "%s: whole gave %d, head is %zu",
                     c->name, r, hlen);
        if (rlen)
            cr_assert(memcmp(whole + r, c->rest, rlen) == 0,
                      "%s: head length does not point at the body",
                      c->name);
        check_valid_head(c, &req, &resp);
    }

    /* byte at a time: every prefix */
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.headers = resp.headers = hdrs;
    req.num_headers = resp.num_headers = cap;
    for (k = 0; k <= total; k++) {
        char *pre = exact_copy(whole, k);

        r = parse(c, pre, k, &req, &resp);
        if (c->error) {
            cr_assert(r == AT_H1_NEED_MORE || r == AT_H1_ERROR,
                      "%s: prefix %zu gave %d", c->name, k, r);
            if (seen_error)
                cr_assert_eq(r, AT_H1_ERROR,
                             "%s: prefix %zu recovered from an error",
                             c->name, k);
            if (r == AT_H1_ERROR)
                seen_error = 1;
        } else if (k < hlen) {
            cr_assert_eq(r, AT_H1_NEED_MORE, "%s: prefix %zu gave %d",
                         c->name, k, r);
            /* the struct keeps its capacity for the next try */
            cr_assert_eq(c->resp ? resp.num_headers : req.num_headers, cap,
                         "%s: capacity lost after NEED_MORE", c->name);
        } else {
            cr_assert_eq(r, (int)hlen, "%s: prefix %zu gave %d", c->name,
                         k, r);
            if (k == hlen)
                check_valid_head(c, &req, &resp);
            /* restore the capacity for the next, longer prefix */
            req.num_headers = resp.num_headers = cap;
        }
        free(pre);
    }
    if (c->error)
        cr_assert(seen_error, "%s: never refused", c->name);
    free(whole);
}

/* Inputs that are not HTTP/1.x are refused at the first wrong byte, not
 * after a whole head arrived. */
Test(http1, refuses_early)
{
    at_h1_header h[4];
    at_h1_request req = { .headers = h, .num_headers = 4 };
    at_h1_response resp = { .headers = h, .num_headers = 4 };

    cr_assert_eq(at_h1_parse_request("\x16", 1, &req), AT_H1_ERROR);
    cr_assert_eq(at_h1_parse_response("\x16", 1, &resp), AT_H1_ERROR);
    cr_assert_eq(at_h1_parse_request("PRI * HTTP/2", 12, &req),
                 AT_H1_ERROR);
    cr_assert_eq(at_h1_parse_response("HTTP/2", 6, &resp), AT_H1_ERROR);
    cr_assert_eq(at_h1_parse_request("", 0, &req), AT_H1_NEED_MORE);
    cr_assert_eq(at_h1_parse_response("", 0, &resp), AT_H1_NEED_MORE);
}

/* Many headers: exactly the capacity parses, one more is an error. */
Test(http1, many_headers)
{
    enum { CAP = 100 };
    static at_h1_header h[CAP];
    char buf[4096];
    size_t len, i;
    at_h1_request req;
    int r;

    len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
    for (i = 0; i < CAP; i++)
        len += (size_t)sprintf(buf + len, "X-H%zu: v%zu\r\n", i, i);
    len += (size_t)sprintf(buf + len, "\r\n");
    req.headers = h;
    req.num_headers = CAP;
    r = at_h1_parse_request(buf, len, &req);
    cr_assert_eq(r, (int)len);
    cr_assert_eq(req.num_headers, CAP);
    cr_assert(mem_eq_str(h[99].name, h[99].name_len, "X-H99"));
    cr_assert(mem_eq_str(h[99].value, h[99].value_len, "v99"));

    req.num_headers = CAP - 1;
    cr_assert_eq(at_h1_parse_request(buf, len, &req), AT_H1_ERROR);
    req.num_headers = 0;
    cr_assert_eq(at_h1_parse_request(buf, len, &req), AT_H1_ERROR);
}

/* Header lookup and comma-separated token matching. */
Test(http1, find_header_and_tokens)
{
    static const char head[] =
        "HTTP/1.1 200 OK\r\n"
        "content-TYPE: text/event-stream\r\n"
        "Connection: keep-alive, Close\r\n"
        "Transfer-Encoding: gzip ,chunked;x=1\r\n"
        "Vary: Accept-Encoding\r\n"
        "Vary: Origin\r\n\r\n";
    at_h1_header h[8];
    at_h1_response resp = { .headers = h, .num_headers = 8 };
    const at_h1_header *f;

    cr_assert_eq(at_h1_parse_response(head, sizeof(head) - 1, &resp),
                 (int)sizeof(head) - 1);
    f = at_h1_find_header(h, resp.num_headers, "Content-Type");
    cr_assert_not_null(f);
    cr_assert(mem_eq_str(f->value, f->value_len, "text/event-stream"));
    f = at_h1_find_header(h, resp.num_headers, "vary");
    cr_assert_eq(f, &h[3], "the first of several is returned");
    cr_assert_null(at_h1_find_header(h, resp.num_headers, "Content"));
    cr_assert_null(at_h1_find_header(h, 0, "Vary"));

    f = at_h1_find_header(h, resp.num_headers, "Connection");
    cr_assert(at_h1_header_has_token(f, "close"));
    cr_assert(at_h1_header_has_token(f, "KEEP-ALIVE"));
    cr_assert(!at_h1_header_has_token(f, "keep"));
    cr_assert(!at_h1_header_has_token(f, "alive"));
    f = at_h1_find_header(h, resp.num_headers, "transfer-encoding");
    cr_assert(at_h1_header_has_token(f, "chunked"));
    cr_assert(at_h1_header_has_token(f, "gzip"));
    cr_assert(!at_h1_header_has_token(f, "deflate"));
    cr_assert(!at_h1_header_has_token(NULL, "close"));
}

/* ------------------------------------------------------------------ */
/* Chunked transfer coding                                             */

/* One chunked body, with what decoding it must give. */
struct chunk_case {
    const char *name;
    const char *in;
    size_t in_len;     /* 0: strlen(in) */
    const char *out;   /* decoded body */
    size_t out_len;    /* 0: strlen(out) */
    size_t trailing;   /* bytes after the body's end */
    int error;
};

/* CLIT: a chunked input that may hold NUL bytes, with its length. */
#define CLIT(s) s, .in_len = sizeof(s) - 1

static const struct chunk_case chunk_cases[] = {
    { .name = "two_chunks",
      .in = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", .out = "hello world" },
    { .name = "empty_body", .in = "0\r\n\r\n", .out = "" },
    { .name = "next_message_follows",
      .in = "2\r\n{}\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", .out = "{}",
      .trailing = 17 },
    { .name = "hex_lower_and_upper",
      .in = "a\r\n0123456789\r\nA\r\nabcdefghij\r\n"
            "1f\r\n0123456789012345678901234567890\r\n"
            "1F\r\nABCDEFGHIJABCDEFGHIJABCDEFGHIJA\r\n0\r\n\r\n",
      .out = "0123456789abcdefghij0123456789012345678901234567890"
             "ABCDEFGHIJABCDEFGHIJABCDEFGHIJA" },
    { .name = "extensions",
      .in = "5;foo=bar\r\nhello\r\n5 ; name=\"quoted;value\"\r\nworld\r\n"
            "0;last\r\n\r\n",
      .out = "helloworld" },
    { .name = "trailers",
      .in = "3\r\nabc\r\n0\r\nX-Checksum: 123\r\nServer-Timing: a;dur=1\r\n"
            "\r\nNEXT",
      .out = "abc", .trailing = 4 },
    { .name = "bare_lf",
      .in = "3\nabc\n0\nX-T: 1\n\nX", .out = "abc", .trailing = 1 },
    { .name = "leading_zeros", .in = "0005\r\nhello\r\n0000\r\n\r\n",
      .out = "hello" },
    { .name = "sixteen_digits",
      .in = "0000000000000003\r\nabc\r\n0\r\n\r\n", .out = "abc" },
    { .name = "nul_and_crlf_in_data",
      .in = CLIT("5\r\na\0\r\nb\r\n0\r\n\r\n"),
      .out = "a\0\r\nb", .out_len = 5 },
    { .name = "sse_in_chunks",
      .in = "15\r\nevent: message_start\n\r\n"
            "14\r\ndata: {\"type\":\"x\"}\n\n\r\n"
            "7\r\n: ping\n\r\n1\r\n\n\r\n0\r\n\r\n",
      .out = "event: message_start\ndata: {\"type\":\"x\"}\n\n: ping\n\n" },
    { .name = "seventeen_digits", .error = 1,
      .in = "00000000000000003\r\nabc\r\n0\r\n\r\n" },
    { .name = "overflow", .error = 1, .in = "fffffffffffffffff\r\n" },
    { .name = "data_too_long", .error = 1,
      .in = "3\r\nabcd\r\n0\r\n\r\n" },
    { .name = "data_cr_without_lf", .error = 1, .in = "3\r\nabc\rX\n" },
    { .name = "data_no_crlf_before_next", .error = 1,
      .in = "3\r\nabc3\r\nabc\r\n0\r\n\r\n" },
    { .name = "no_digits", .error = 1, .in = "\r\n" },
    { .name = "not_hex", .error = 1, .in = "x\r\n" },
    { .name = "negative", .error = 1, .in = "-1\r\n" },
    { .name = "junk_after_digits", .error = 1, .in = "3x\r\nabc\r\n" },
    { .name = "size_cr_without_lf", .error = 1, .in = "3\rabc\r\n" },
    { .name = "ctl_in_extension", .error = 1, .in = "3;a=\x01\r\nabc\r\n" },
    { .name = "final_cr_without_lf", .error = 1, .in = "0\r\n\rX" },
    { .name = "trailer_starts_with_space", .error = 1,
      .in = "0\r\n X: 1\r\n\r\n" },
    { .name = "http_instead_of_chunk", .error = 1,
      .in = "HTTP/1.1 200 OK\r\n" },
};

#define N_CHUNK_CASES (sizeof(chunk_cases) / sizeof(chunk_cases[0]))

/* What feeding a chunked body gave. */
struct chunk_result {
    char *out;        /* concatenated output */
    size_t out_len;
    int done;         /* a call returned the trailing count */
    size_t trailing;  /* that count plus the bytes never fed */
    int error;
};

/* Splitting strategies. */
enum split_mode { SPLIT_WHOLE, SPLIT_ONE, SPLIT_AT, SPLIT_RANDOM };

/* rng_next: xorshift32, for reproducible random splits. */
static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* feed_chunked: decode in[0 .. len) in pieces chosen by `mode` (`arg` is
 * the cut position for SPLIT_AT, the seed for SPLIT_RANDOM), each piece in
 * its own exactly sized buffer, the decoder state carried across.  Stops
 * at the first completion or error.  The caller frees res->out. */
static void feed_chunked(const char *in, size_t len, enum split_mode mode,
                         uint32_t arg, struct chunk_result *res)
{
    at_h1_chunked c;
    size_t pos = 0;
    uint32_t rng = arg ? arg : 1;

    memset(res, 0, sizeof(*res));
    res->out = malloc(len ? len : 1);
    cr_assert_not_null(res->out);
    at_h1_chunked_init(&c);
    while (pos < len) {
        size_t size, dl;
        ssize_t r;
        char *piece;

        switch (mode) {
        case SPLIT_ONE:
            size = 1;
            break;
        case SPLIT_AT:
            size = pos < arg ? arg - pos : len - pos;
            break;
        case SPLIT_RANDOM:
            size = 1 + rng_next(&rng) % 7;
            if (rng_next(&rng) % 5 == 0)
                size += rng_next(&rng) % 40;
            break;
        default:
            size = len;
            break;
        }
        if (size > len - pos)
            size = len - pos;
        piece = exact_copy(in + pos, size);
        dl = size;
        r = at_h1_chunked_decode(&c, piece, &dl);
        cr_assert(dl <= size);
        memcpy(res->out + res->out_len, piece, dl);
        res->out_len += dl;
        if (r == AT_H1_ERROR) {
            res->error = 1;
            free(piece);
            return;
        }
        if (r >= 0) {
            cr_assert((size_t)r <= size);
            /* the bytes after the body are untouched */
            cr_assert(memcmp(piece + size - (size_t)r,
                             in + pos + size - (size_t)r, (size_t)r) == 0);
            res->done = 1;
            res->trailing = (size_t)r + (len - pos - size);
            free(piece);
            return;
        }
        cr_assert_eq(r, AT_H1_NEED_MORE);
        free(piece);
        pos += size;
    }
}

/* check_chunk_result: the result of one feeding against the case. */
static void check_chunk_result(const struct chunk_case *c,
                               const struct chunk_result *res,
                               const char *how)
{
    size_t out_len = c->out_len ? c->out_len
                                : (c->out ? strlen(c->out) : 0);

    if (c->error) {
        cr_assert(res->error, "%s (%s): not refused", c->name, how);
        cr_assert(!res->done, "%s (%s)", c->name, how);
        return;
    }
    cr_assert(!res->error, "%s (%s): refused", c->name, how);
    cr_assert(res->done, "%s (%s): not complete", c->name, how);
    cr_assert_eq(res->out_len, out_len, "%s (%s): %zu bytes out", c->name,
                 how, res->out_len);
    cr_assert(memcmp(res->out, c->out, out_len) == 0, "%s (%s): output",
              c->name, how);
    cr_assert_eq(res->trailing, c->trailing, "%s (%s): trailing %zu",
                 c->name, how, res->trailing);
}

ParameterizedTestParameters(http1, chunked)
{
    static size_t idx[N_CHUNK_CASES];
    size_t i;

    for (i = 0; i < N_CHUNK_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_CHUNK_CASES);
}

ParameterizedTest(size_t *ip, http1, chunked)
{
    const struct chunk_case *c = &chunk_cases[*ip];
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    struct chunk_result res;
    uint32_t k;

    feed_chunked(c->in, len, SPLIT_WHOLE, 0, &res);
    check_chunk_result(c, &res, "whole");
    free(res.out);
    feed_chunked(c->in, len, SPLIT_ONE, 0, &res);
    check_chunk_result(c, &res, "one byte at a time");
    free(res.out);
    for (k = 1; k < len; k++) {
        feed_chunked(c->in, len, SPLIT_AT, k, &res);
        check_chunk_result(c, &res, "split in two");
        free(res.out);
    }
    for (k = 1; k <= 50; k++) {
        feed_chunked(c->in, len, SPLIT_RANDOM, k * 2654435761u, &res);
        check_chunk_result(c, &res, "random pieces");
        free(res.out);
    }
}

/* A large body in chunks of many sizes, in random pieces. */
Test(http1, chunked_large)
{
    enum { BODY = 200000 };
    char *body = malloc(BODY), *enc = malloc(BODY * 2);
    size_t i, pos = 0, enc_len = 0;
    uint32_t rng = 12345, seed;
    struct chunk_result res;

    cr_assert(body && enc);
    for (i = 0; i < BODY; i++)
        body[i] = (char)(rng_next(&rng) & 0xff);
    while (pos < BODY) {
        size_t n = 1 + rng_next(&rng) % 9000;

        if (n > BODY - pos)
            n = BODY - pos;
        enc_len += (size_t)sprintf(enc + enc_len, (pos & 1) ? "%zx\r\n"
                                                           : "%zX\r\n", n);
        memcpy(enc + enc_len, body + pos, n);
        enc_len += n;
        memcpy(enc + enc_len, "\r\n", 2);
        enc_len += 2;
        pos += n;
    }
    memcpy(enc + enc_len, "0\r\n\r\nGET", 8);
    enc_len += 8;
    for (seed = 1; seed <= 5; seed++) {
        feed_chunked(enc, enc_len,
                     seed == 1 ? SPLIT_WHOLE : SPLIT_RANDOM, seed, &res);
        cr_assert(res.done && !res.error);
        cr_assert_eq(res.out_len, BODY);
        cr_assert(memcmp(res.out, body, BODY) == 0);
        cr_assert_eq(res.trailing, 3);
        free(res.out);
    }
    free(body);
    free(enc);
}

/* Size lines and trailer lines are bounded. */
Test(http1, chunked_line_limits)
{
    char *in = malloc(20000);
    struct chunk_result res;
    size_t n;

    cr_assert_not_null(in);
    /* an extension of 8000 bytes is fine, 9000 is not */
    memcpy(in, "1;", 2);
    memset(in + 2, 'x', 8000);
    memcpy(in + 8002, "\r\na\r\n0\r\n\r\n", 11);
    feed_chunked(in, 8012, SPLIT_RANDOM, 7, &res);
    cr_assert(res.done && !res.error && res.out_len == 1);
    free(res.out);
    memset(in + 2, 'x', 9000);
    memcpy(in + 9002, "\r\na\r\n0\r\n\r\n", 11);
    feed_chunked(in, 9012, SPLIT_WHOLE, 0, &res);
    cr_assert(res.error);
    free(res.out);
    /* a trailer line of 9000 bytes is refused */
    memcpy(in, "0\r\nX: ", 6);
    memset(in + 6, 'y', 9000);
    memcpy(in + 9006, "\r\n\r\n", 4);
    n = 9010;
    feed_chunked(in, n, SPLIT_WHOLE, 0, &res);
    cr_assert(res.error);
    free(res.out);
    free(in);
}

/* An error is sticky; a finished decoder passes everything on. */
Test(http1, chunked_after_end_and_error)
{
    at_h1_chunked c;
    char a[] = "1\r\nx\r\n0\r\n\r\n", b[] = "more", e[] = "zz\r\n";
    size_t len;

    at_h1_chunked_init(&c);
    len = sizeof(a) - 1;
    cr_assert_eq(at_h1_chunked_decode(&c, a, &len), 0);
    cr_assert_eq(len, 1);
    cr_assert_eq(a[0], 'x');
    len = 4;
    cr_assert_eq(at_h1_chunked_decode(&c, b, &len), 4);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(b, "more");

    memset(&c, 0, sizeof(c));   /* zero-initialised is ready too */
    len = 4;
    cr_assert_eq(at_h1_chunked_decode(&c, e, &len), AT_H1_ERROR);
    cr_assert_eq(len, 0);
    len = sizeof(a) - 1;
    memcpy(a, "1\r\nx\r\n0\r\n\r\n", sizeof(a));
    cr_assert_eq(at_h1_chunked_decode(&c, a, &len), AT_H1_ERROR);

    /* data decoded before an error is kept */
    at_h1_chunked_init(&c);
    {
        char f[] = "3\r\nabc\r\n4\r\nabcdX";
        size_t fl = sizeof(f) - 1;

        cr_assert_eq(at_h1_chunked_decode(&c, f, &fl), AT_H1_ERROR);
        cr_assert_eq(fl, 7);
        cr_assert(memcmp(f, "abcabcd", 7) == 0);
    }
    /* remaining counts down through a chunk */
    at_h1_chunked_init(&c);
    {
        char g[] = "a\r\n0123";
        size_t gl = sizeof(g) - 1;

        cr_assert_eq(at_h1_chunked_decode(&c, g, &gl), AT_H1_NEED_MORE);
        cr_assert_eq(gl, 4);
        cr_assert_eq(c.remaining, 6);
    }
}

/* parse_between: at_h1_parse_request (four header slots, h) of `pre`, the
 * n bytes of `mid`, then `post`, made in buf; *len is its length. */
static int parse_between(char *buf, size_t *len, const char *pre,
                         const char *mid, size_t n, const char *post,
                         at_h1_request *req, at_h1_header *h)
{
    size_t l = strlen(pre);

    memcpy(buf, pre, l);
    memcpy(buf + l, mid, n);
    l += n;
    l += (size_t)sprintf(buf + l, "%s", post);
    *len = l;
    req->headers = h;
    req->num_headers = 4;
    return at_h1_parse_request(buf, l, req);
}

/* Field values of every length to 40, with each byte value at each
 * position: a value is read 16 bytes at a time, so a byte that ends it
 * (CR, LF), is allowed inside it (HTAB, SP, visible, obs-text) or refuses
 * it (other controls, DEL) must be seen wherever it falls in a block or
 * the tail; OWS before the line end is not part of the value. */
Test(http1, field_values_at_every_offset)
{
    static const unsigned char probes[] = {'\t', ' ', 'a', 0x80, 0xff,
                                           0x00, 0x01, 0x1f, 0x7f, '\r'};
    at_h1_header h[4];
    at_h1_request req;
    char buf[128], want[64];
    size_t vlen, pos, k, len, wl;

    for (vlen = 1; vlen <= 40; vlen++) {
        for (pos = 0; pos < vlen; pos++) {
            for (k = 0; k < sizeof(probes); k++) {
                unsigned char c = probes[k];
                char val[64];
                int r, bad = (c < 0x20 && c != '\t') || c == 0x7f;

                memset(val, 'v', vlen);
                val[pos] = (char)c;
                r = parse_between(buf, &len, "GET / HTTP/1.1\r\nX: ", val,
                                  vlen, "\r\nY: z\r\n\r\n", &req, h);
                if (c == '\r') {
                    /* a bare CR inside the value: not a line end */
                    cr_assert_eq(r, AT_H1_ERROR, "len %zu pos %zu", vlen,
                                 pos);
                    continue;
                }
                if (bad) {
                    cr_assert_eq(r, AT_H1_ERROR, "len %zu pos %zu byte %#x",
                                 vlen, pos, c);
                    continue;
                }
                cr_assert_eq(r, (int)len, "len %zu pos %zu byte %#x", vlen,
                             pos, c);
                cr_assert_eq(req.num_headers, 2);
                /* the expected value: OWS at the end trimmed (the start
                 * is 'v' or the probe; leading OWS was eaten after ':') */
                memcpy(want, val, vlen);
                wl = vlen;
                while (wl > 0 && (want[wl - 1] == ' ' || want[wl - 1] == '\t'))
                    wl--;
                if (pos == 0 && (c == ' ' || c == '\t')) {
                    /* leading OWS is not part of the value either */
                    cr_assert_eq(h[0].value_len, vlen - 1);
                    cr_assert(memcmp(h[0].value, val + 1, vlen - 1) == 0);
                } else {
                    cr_assert_eq(h[0].value_len, wl, "len %zu pos %zu byte %#x",
                                 vlen, pos, c);
                    cr_assert(memcmp(h[0].value, want, wl) == 0);
                }
                cr_assert(mem_eq_str(h[1].value, h[1].value_len, "z"));
            }
        }
    }
}

/* Header names compared without regard to ASCII case, eight bytes at a
 * time: for every length to 24 and every position, a name differing from
 * the looked-for one only in the case of a letter matches; one differing
 * by a byte that only looks like a case change ('@' and '`', '[' and '{',
 * a byte >= 0x80 and its 0x20 neighbour) does not. */
Test(http1, find_header_case_at_every_offset)
{
    static const char pairs[][2] = { { 'a', 'A' }, { 'z', 'Z' }, { 'q', 'Q' } };
    static const unsigned char near[][2] = {
        { '@', '`' }, { '[', '{' }, { ']', '}' }, { 0xC1, 0xE1 },
        { 0xDA, 0xFA }, { '-', 0x0D } };
    char want[32], name[32];
    size_t n, i, k;

    for (n = 1; n <= 24; n++) {
        for (i = 0; i < n; i++) {
            at_h1_header h;

            for (k = 0; k < n; k++)
                want[k] = (char)('a' + (k * 7) % 26);
            want[n] = '\0';
            for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
                memcpy(name, want, n);
                want[i] = pairs[k][0];
                name[i] = pairs[k][1];
                h.name = name;
                h.name_len = n;
                h.value = "v";
                h.value_len = 1;
                cr_assert_not_null(at_h1_find_header(&h, 1, want),
                                   "length %zu, case at %zu", n, i);
                name[i] = want[i];
                cr_assert_not_null(at_h1_find_header(&h, 1, want));
            }
            for (k = 0; k < sizeof(near) / sizeof(near[0]); k++) {
                memcpy(name, want, n);
                want[i] = (char)near[k][0];
                name[i] = (char)near[k][1];
                h.name = name;
                h.name_len = n;
                h.value = "v";
                h.value_len = 1;
                cr_assert_null(at_h1_find_header(&h, 1, want),
                               "length %zu, %02x for %02x at %zu", n,
                               near[k][1], near[k][0], i);
                want[i] = (char)near[k][1];
                name[i] = (char)near[k][0];
                cr_assert_null(at_h1_find_header(&h, 1, want));
            }
        }
    }
}

/* Header names and methods are scanned 16 bytes at a time over letters,
 * digits and '-' (token_end): for every name length to 40 and every
 * position, every byte value put there parses exactly when RFC 9110 makes
 * it a token character (the table a byte loop would use), in a header
 * name and in a method. */
Test(http1, token_bytes_at_every_offset)
{
    static const char tchars[] = "!#$%&'*+-.^_`|~";
    at_h1_header h[4];
    at_h1_request req;
    char buf[160], name[64];
    size_t nlen, pos, len;
    unsigned c;

    for (nlen = 1; nlen <= 40; nlen++) {
        for (pos = 0; pos < nlen; pos++) {
            for (c = 0; c < 256; c++) {
                int tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                            (c >= 'A' && c <= 'Z') ||
                            (c != 0 && strchr(tchars, (int)c) != NULL);
                int r, want;

                if (pos == 0 && c == '\n')
                    continue;   /* a bare LF there is a line end: an empty
                                   line, which ends a head (or is skipped
                                   before a request line) */
                memset(name, 'N', nlen);
                name[pos] = (char)c;
                /* in a header name */
                r = parse_between(buf, &len, "GET / HTTP/1.1\r\n", name, nlen,
                                  ": v\r\nY: z\r\n\r\n", &req, h);
                /* a ':' there ends the name early: a shorter name whose
                 * value starts with the rest (valid when pos > 0) */
                want = tchar || (c == ':' && pos > 0);
                if (!want) {
                    cr_assert_lt(r, 0, "name: len %zu pos %zu byte %#x: %d",
                                 nlen, pos, c, r);
                } else {
                    cr_assert_eq(r, (int)len, "name: len %zu pos %zu byte %#x",
                                 nlen, pos, c);
                    cr_assert_eq(h[0].name_len, c == ':' ? pos : nlen);
                    cr_assert(memcmp(h[0].name, name, h[0].name_len) == 0);
                }
                /* in a method */
                r = parse_between(buf, &len, "", name, nlen,
                                  " / HTTP/1.1\r\nY: z\r\n\r\n", &req, h);
                if (c == ' ' && pos > 0)
                    continue;   /* the method ends there: another request */
                if (!tchar) {
                    cr_assert_lt(r, 0, "method: len %zu pos %zu byte %#x: %d",
                                 nlen, pos, c, r);
                } else {
                    cr_assert_eq(r, (int)len, "method: len %zu pos %zu byte %#x",
                                 nlen, pos, c);
                    cr_assert_eq(req.method_len, nlen);
                }
            }
        }
    }
}
