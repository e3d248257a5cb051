/* http1.h - HTTP/1.1 message framing: heads, body framing, chunked bodies.
 *
 * Pure decoders in the picohttpparser style: they keep no hidden state,
 * borrow the caller's buffer (returned pointers point into it) and return
 * the number of bytes consumed, AT_H1_NEED_MORE (-2) when the input ends
 * before the item does, or AT_H1_ERROR (-1) when the input is not HTTP/1.x.
 * They run on the sink thread; nothing here allocates.
 */
#ifndef AT_HTTP1_H
#define AT_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AT_H1_ERROR (-1)
#define AT_H1_NEED_MORE (-2)

typedef struct at_h1_header {
    const char *name;   /* as sent, not lowercased; not NUL-terminated */
    size_t name_len;
    const char *value;  /* leading/trailing spaces and tabs stripped */
    size_t value_len;
} at_h1_header;

typedef struct at_h1_request {
    const char *method;
    size_t method_len;
    const char *target;  /* request-target, e.g. "/v1/chat/completions?x=1" */
    size_t target_len;
    int minor_version;   /* 0 or 1 */
    at_h1_header *headers;  /* caller-provided array */
    size_t num_headers;     /* in: capacity of `headers`; out: count */
} at_h1_request;

typedef struct at_h1_response {
    int minor_version;
    int status;           /* 100..999 */
    const char *reason;
    size_t reason_len;
    at_h1_header *headers;
    size_t num_headers;   /* in: capacity; out: count */
} at_h1_response;

/* at_h1_parse_request: parse a request head (request line + headers + the
 * empty line).  Returns the head's length in bytes, AT_H1_NEED_MORE, or
 * AT_H1_ERROR (not a request line; a version other than HTTP/1.0 or 1.1;
 * bad header syntax; more headers than the capacity; a NUL or bare CR where
 * none may be).  Accepts CRLF and bare LF line ends; empty lines before the
 * request line are skipped (and counted in the length).  Obsolete line
 * folding is an error.  Bytes are checked in order, so input that is not
 * HTTP/1.x (a TLS record, the HTTP/2 preface) fails at its first wrong byte
 * rather than waiting for more.  *req is only written on success (the
 * entries of req->headers may be scribbled on), so after AT_H1_NEED_MORE
 * the same struct, num_headers still the capacity, can be passed again
 * with more bytes. */
int at_h1_parse_request(const char *buf, size_t len, at_h1_request *req);

/* at_h1_parse_response: the same for a status line + headers.  The status
 * is three digits, 100..999; the reason phrase may be empty and the space
 * before it missing ("HTTP/1.1 200\r\n"). */
int at_h1_parse_response(const char *buf, size_t len, at_h1_response *resp);

/* at_h1_find_header: the first header named `name` (ASCII case-insensitive),
 * or NULL. */
const at_h1_header *at_h1_find_header(const at_h1_header *h, size_t n,
                                      const char *name);

/* at_h1_header_has_token: 1 when the comma-separated value of header `h`
 * contains `token` (case-insensitive, e.g. "chunked" in Transfer-Encoding,
 * "close" in Connection; parameters after ';' are not compared), else 0.
 * h may be NULL (returns 0). */
int at_h1_header_has_token(const at_h1_header *h, const char *token);

/* How a message's body is delimited (RFC 9112 section 6.3). */
typedef enum at_h1_body_kind {
    AT_H1_BODY_NONE = 0,    /* no body at all */
    AT_H1_BODY_LENGTH,      /* exactly `length` bytes */
    AT_H1_BODY_CHUNKED,     /* chunked transfer coding */
    AT_H1_BODY_UNTIL_CLOSE, /* response read until the connection closes */
    AT_H1_BODY_INVALID      /* bad or conflicting Content-Length */
} at_h1_body_kind;

/* at_h1_request_body: body framing of a parsed request; *length is set for
 * AT_H1_BODY_LENGTH (0 otherwise; length may be NULL).  Transfer-Encoding
 * chunked wins over Content-Length; a Transfer-Encoding whose final coding
 * is not chunked is AT_H1_BODY_INVALID; a request with neither has no body.
 * Content-Length: every value, over all its field lines and list elements
 * ("10, 10"), must be the same decimal number <= INT64_MAX, else
 * AT_H1_BODY_INVALID (negative, empty, huge, conflicting). */
at_h1_body_kind at_h1_request_body(const at_h1_request *req,
                                   uint64_t *length);

/* at_h1_response_body: body framing of a parsed response to a request with
 * method `method` (HEAD: no body; 1xx, 204, 304: no body; 2xx to CONNECT:
 * none; method may be NULL when unknown).  Transfer-Encoding chunked wins
 * over Content-Length; another final coding, or neither header:
 * AT_H1_BODY_UNTIL_CLOSE.  Content-Length rules as for requests. */
at_h1_body_kind at_h1_response_body(const at_h1_response *resp,
                                    const char *method, size_t method_len,
                                    uint64_t *length);

/* Incremental decoder of the chunked transfer coding.  Zero-initialise (or
 * call at_h1_chunked_init) before the first call. */
typedef struct at_h1_chunked {
    uint64_t remaining;  /* bytes left in the current chunk's data */
    int state;           /* private */
    int ext_len;         /* private: length of the current size or
                            trailer line, to bound it */
} at_h1_chunked;

/* at_h1_chunked_init: ready `c` for a new body.  Cannot fail. */
void at_h1_chunked_init(at_h1_chunked *c);

/* at_h1_chunked_decode: decode `*len` bytes at `buf` in place: on return
 * buf[0 .. *len) holds the body data found in the input (chunk framing
 * removed).  Returns AT_H1_NEED_MORE when the terminating zero-size chunk and
 * trailer have not been seen yet (call again with the following bytes),
 * AT_H1_ERROR on a malformed size line, or, when the body is complete, the
 * number of input bytes that follow the end of the body (they belong to the
 * next message; they are at the end of the input as it was passed in, i.e.
 * at buf + original_len - returned value, untouched).  Chunk extensions and
 * trailer fields are skipped; bare LF is accepted for CRLF; hex digits may
 * be either case.  Errors: a size with no digit or more than 16 hex digits,
 * a size or trailer line longer than 8192 bytes, a control byte in one,
 * anything but CRLF (or LF) after chunk data.  After AT_H1_ERROR
 * buf[0 .. *len) still holds the data decoded before the error, and the
 * decoder stays failed.  Once complete, further calls output nothing and
 * return *len. */
ssize_t at_h1_chunked_decode(at_h1_chunked *c, char *buf, size_t *len);

#endif
