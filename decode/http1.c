/* http1.c - HTTP/1.x head parsers, body framing and the chunked decoder.
 *
 * Runs on the sink thread.  Every function here is pure: it reads the
 * caller's bytes, writes only into the caller's structs (and, for the
 * chunked decoder, the caller's buffer), keeps no global state and never
 * allocates.  Parsing is sequential from the first byte, so input that is
 * plainly not HTTP/1.x (TLS records, the HTTP/2 preface) is refused as soon
 * as the offending byte arrives instead of waiting for a whole head.
 */
#include "http1.h"
#include "swar.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Longest chunk-size line (digits and extensions) or trailer field line
 * accepted; anything longer means the stream is not what we think it is. */
#define AT_H1_CHUNK_LINE_MAX 8192

/* Most hex digits in a chunk size: 16 fill a uint64_t. */
#define AT_H1_CHUNK_DIGITS_MAX 16

/* tchar_tab[c]: 1 for the token characters of RFC 9110 section 5.6.2. */
static const unsigned char tchar_tab[256] = {
    ['0' ... '9'] = 1, ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1,
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1};

static inline int is_tchar(unsigned char c)
{
    return tchar_tab[c];
}

/* is_vchar_or_obs: visible ASCII or obs-text (0x80-0xff). */
static int is_vchar_or_obs(unsigned char c)
{
    return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

/* is_field_char: a byte allowed in a field value or reason phrase:
 * HTAB, SP, visible ASCII, obs-text.  NUL, other controls and DEL are
 * not. */
static int is_field_char(unsigned char c)
{
    return c == '\t' || c == ' ' || is_vchar_or_obs(c);
}

/* is_ows: optional whitespace (SP or HTAB). */
static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* lower: ASCII lowercase, independent of the locale. */
static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* case_eq: ASCII case-insensitive comparison of two n-byte strings. */
static int case_eq(const char *a, const char *b, size_t n)
{
    size_t i = 0;
    uint64_t x, y;

    if (n >= 8) {
        for (; n - i > 8; i += 8) {
            x = at_load8(a + i);
            y = at_load8(b + i);
            if (x != y && at_lower8(x) != at_lower8(y))
                return 0;
        }
        /* the last eight bytes, overlapping what was compared */
        x = at_load8(a + n - 8);
        y = at_load8(b + n - 8);
        return x == y || at_lower8(x) == at_lower8(y);
    }
    for (; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* eat_eol: consume a line end (CRLF or bare LF) at *pos.  Returns 0,
 * AT_H1_NEED_MORE, or AT_H1_ERROR when *pos is at anything else,
 * including a CR not followed by LF. */
static int eat_eol(const char *buf, size_t len, size_t *pos)
{
    size_t p = *pos;

    if (p >= len)
        return AT_H1_NEED_MORE;
    if (buf[p] == '\n') {
        *pos = p + 1;
        return 0;
    }
    if (buf[p] != '\r')
        return AT_H1_ERROR;
    if (p + 1 >= len)
        return AT_H1_NEED_MORE;
    if (buf[p + 1] != '\n')
        return AT_H1_ERROR;
    *pos = p + 2;
    return 0;
}

/* skip_empty_lines: skip the empty lines RFC 9112 section 2.2 lets a
 * recipient ignore before a start line (a stray CRLF after a body).
 * Returns 0 with *pos at the first other byte, AT_H1_NEED_MORE or
 * AT_H1_ERROR (bare CR). */
static int skip_empty_lines(const char *buf, size_t len, size_t *pos)
{
    int r;

    for (;;) {
        if (*pos >= len)
            return AT_H1_NEED_MORE;
        if (buf[*pos] != '\r' && buf[*pos] != '\n')
            return 0;
        r = eat_eol(buf, len, pos);
        if (r != 0)
            return r;
    }
}

/* token_end: the first byte from p on that is not a tchar, or len: 16
 * bytes at a time with SSE2 over letters, digits and '-' (a header name's
 * and a method's bytes), the other tchars through the table. */
static size_t token_end(const char *buf, size_t len, size_t p)
{
#ifdef __SSE2__
    const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1),
                  d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1),
                  dash = _mm_set1_epi8('-'), bit = _mm_set1_epi8(0x20);

    while (p + 16 <= len) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(buf + p));
        /* x | 0x20 is a lowercase letter only for a letter; a byte of 0x80
         * or more is negative, below both ranges */
        __m128i l = _mm_or_si128(x, bit);
        __m128i ok = _mm_or_si128(
            _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(l, a1),
                                       _mm_cmpgt_epi8(z1, l)),
                         _mm_and_si128(_mm_cmpgt_epi8(x, d0),
                                       _mm_cmpgt_epi8(d9, x))),
            _mm_cmpeq_epi8(x, dash));
        unsigned m = ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;

        if (m == 0) {
            p += 16;
            continue;
        }
        p += (size_t)__builtin_ctz(m);
        if (!is_tchar((unsigned char)buf[p]))
            return p;
        p++;
    }
#endif
    while (p < len && is_tchar((unsigned char)buf[p]))
        p++;
    return p;
}

/* eat_token: consume 1*tchar at *pos followed by the byte `stop` (which is
 * consumed too).  Sets *start and *tlen.  Returns 0, AT_H1_NEED_MORE or
 * AT_H1_ERROR (empty token, or another byte where `stop` must be). */
static int eat_token(const char *buf, size_t len, size_t *pos, char stop,
                     const char **start, size_t *tlen)
{
    size_t p = token_end(buf, len, *pos);

    if (p >= len)
        return AT_H1_NEED_MORE;
    if (p == *pos || buf[p] != stop)
        return AT_H1_ERROR;
    *start = buf + *pos;
    *tlen = p - *pos;
    *pos = p + 1;
    return 0;
}

/* eat_version: consume "HTTP/1.0" or "HTTP/1.1" at *pos, byte by byte so
 * that a mismatch is seen as early as possible.  Sets *minor.  Returns 0,
 * AT_H1_NEED_MORE or AT_H1_ERROR (e.g. "HTTP/2.0"). */
static int eat_version(const char *buf, size_t len, size_t *pos, int *minor)
{
    static const char prefix[] = "HTTP/1.";
    size_t i, p = *pos;

    for (i = 0; i < sizeof(prefix) - 1; i++, p++) {
        if (p >= len)
            return AT_H1_NEED_MORE;
        if (buf[p] != prefix[i])
            return AT_H1_ERROR;
    }
    if (p >= len)
        return AT_H1_NEED_MORE;
    if (buf[p] != '0' && buf[p] != '1')
        return AT_H1_ERROR;
    *minor = buf[p] - '0';
    *pos = p + 1;
    return 0;
}

/* value_end: the first byte from p on that is not a field character
 * (is_field_char), or len: 16 bytes at a time with SSE2, where only a
 * control character other than HTAB, or DEL, needs a look. */
static size_t value_end(const char *buf, size_t len, size_t p)
{
#ifdef __SSE2__
    const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);

    while (p + 16 <= len) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(buf + p));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(ctl, _mm_cmpeq_epi8(x, del)));

        if (m == 0) {
            p += 16;
            continue;
        }
        p += (size_t)__builtin_ctz(m);
        if (buf[p] != '\t')
            return p;
        p++;
    }
#endif
    while (p < len && is_field_char((unsigned char)buf[p]))
        p++;
    return p;
}

/* parse_headers: header field lines up to and including the empty line
 * that ends the head.  Fills h[0 .. *n) (at most `cap` entries).  Returns
 * 0 with *pos past the empty line, AT_H1_NEED_MORE or AT_H1_ERROR (bad
 * name, no colon, forbidden byte in a value, obsolete line folding, bare
 * CR, more than `cap` fields). */
static int parse_headers(const char *buf, size_t len, size_t *pos,
                         at_h1_header *h, size_t cap, size_t *n)
{
    size_t p = *pos, count = 0;
    int r;

    for (;;) {
        const char *name;
        size_t name_len, v0, ve;
        unsigned char c;

        if (p >= len)
            return AT_H1_NEED_MORE;
        c = (unsigned char)buf[p];
        if (c == '\r' || c == '\n') {
            r = eat_eol(buf, len, &p);
            if (r != 0)
                return r;
            break;
        }
        if (is_ows(c))
            return AT_H1_ERROR;   /* obs-fold, or space before a name */
        if (count == cap)
            return AT_H1_ERROR;
        r = eat_token(buf, len, &p, ':', &name, &name_len);
        if (r != 0)
            return r;
        while (p < len && is_ows((unsigned char)buf[p]))
            p++;
        v0 = p;
        p = value_end(buf, len, p);
        if (p < len && buf[p] != '\r' && buf[p] != '\n')
            return AT_H1_ERROR;
        /* without the OWS before the line end */
        for (ve = p; ve > v0 && is_ows((unsigned char)buf[ve - 1]); ve--)
            ;
        r = eat_eol(buf, len, &p);
        if (r != 0)
            return r;
        h[count].name = name;
        h[count].name_len = name_len;
        h[count].value = buf + v0;
        h[count].value_len = ve - v0;
        count++;
    }
    *pos = p;
    *n = count;
    return 0;
}

/* head_result: turn the end offset of a parsed head into the return value
 * (a head longer than INT_MAX cannot be reported, so it is an error). */
static int head_result(size_t end)
{
    return end > (size_t)INT_MAX ? AT_H1_ERROR : (int)end;
}

int at_h1_parse_request(const char *buf, size_t len, at_h1_request *req)
{
    const char *method, *target;
    size_t p = 0, method_len, target_len, n;
    int r, minor;

    r = skip_empty_lines(buf, len, &p);
    if (r != 0)
        return r;
    r = eat_token(buf, len, &p, ' ', &method, &method_len);
    if (r != 0)
        return r;
    target = buf + p;
    while (p < len && is_vchar_or_obs((unsigned char)buf[p]))
        p++;
    if (p >= len)
        return AT_H1_NEED_MORE;
    if (buf + p == target || buf[p] != ' ')
        return AT_H1_ERROR;
    target_len = (size_t)(buf + p - target);
    p++;
    r = eat_version(buf, len, &p, &minor);
    if (r != 0)
        return r;
    r = eat_eol(buf, len, &p);
    if (r != 0)
        return r;
    r = parse_headers(buf, len, &p, req->headers, req->num_headers, &n);
    if (r != 0)
        return r;
    r = head_result(p);
    if (r < 0)
        return r;
    req->method = method;
    req->method_len = method_len;
    req->target = target;
    req->target_len = target_len;
    req->minor_version = minor;
    req->num_headers = n;
    return r;
}

int at_h1_parse_response(const char *buf, size_t len, at_h1_response *resp)
{
    const char *reason;
    size_t p = 0, i, reason_len = 0, n;
    int r, minor, status = 0;

    r = skip_empty_lines(buf, len, &p);
    if (r != 0)
        return r;
    r = eat_version(buf, len, &p, &minor);
    if (r != 0)
        return r;
    if (p >= len)
        return AT_H1_NEED_MORE;
    if (buf[p++] != ' ')
        return AT_H1_ERROR;
    for (i = 0; i < 3; i++, p++) {
        if (p >= len)
            return AT_H1_NEED_MORE;
        if (buf[p] < '0' || buf[p] > '9' || (i == 0 && buf[p] == '0'))
            return AT_H1_ERROR;
        status = status * 10 + (buf[p] - '0');
    }
    if (p >= len)
        return AT_H1_NEED_MORE;
    if (buf[p] == ' ') {
        /* "HTTP/1.1 200 OK"; servers that send no reason may also send
         * no space ("HTTP/1.1 200"), handled by the line end below */
        p++;
    } else if (buf[p] != '\r' && buf[p] != '\n') {
        return AT_H1_ERROR;
    }
    reason = buf + p;
    while (p < len && buf[p] != '\r' && buf[p] != '\n') {
        if (!is_field_char((unsigned char)buf[p]))
            return AT_H1_ERROR;
        p++;
    }
    reason_len = (size_t)(buf + p - reason);
    r = eat_eol(buf, len, &p);
    if (r != 0)
        return r;
    r = parse_headers(buf, len, &p, resp->headers, resp->num_headers, &n);
    if (r != 0)
        return r;
    r = head_result(p);
    if (r < 0)
        return r;
    resp->minor_version = minor;
    resp->status = status;
    resp->reason = reason;
    resp->reason_len = reason_len;
    resp->num_headers = n;
    return r;
}

const at_h1_header *at_h1_find_header(const at_h1_header *h, size_t n,
                                      const char *name)
{
    size_t i, len;

    if (h == NULL || name == NULL)
        return NULL;
    len = strlen(name);
    for (i = 0; i < n; i++)
        if (h[i].name_len == len && case_eq(h[i].name, name, len))
            return &h[i];
    return NULL;
}

/* A cursor over the elements of a comma-separated field value. */
typedef struct list_iter {
    const char *p;    /* next unread byte */
    const char *end;  /* end of the value */
} list_iter;

/* list_next: the next element of the list, OWS trimmed, empty elements
 * included (",," yields an empty one).  Returns 1 and sets *elem and *elen,
 * or 0 at the end.  A value of only whitespace yields one empty element. */
static int list_next(list_iter *it, const char **elem, size_t *elen)
{
    const char *s, *e;

    if (it->p == NULL || it->p > it->end)
        return 0;
    s = it->p;
    e = s;
    while (e < it->end && *e != ',')
        e++;
    it->p = e + 1;   /* past the comma, or past the end: then finished */
    while (s < e && is_ows((unsigned char)*s))
        s++;
    while (e > s && is_ows((unsigned char)e[-1]))
        e--;
    *elem = s;
    *elen = (size_t)(e - s);
    return 1;
}

/* list_start: a cursor over the value of header `h`. */
static list_iter list_start(const at_h1_header *h)
{
    list_iter it;

    it.p = h->value;
    it.end = h->value + h->value_len;
    return it;
}

int at_h1_header_has_token(const at_h1_header *h, const char *token)
{
    list_iter it;
    const char *e;
    size_t elen, tlen;

    if (h == NULL || token == NULL)
        return 0;
    tlen = strlen(token);
    it = list_start(h);
    while (list_next(&it, &e, &elen)) {
        size_t k = 0;

        /* compare the element up to its parameters ("gzip;q=1") */
        while (k < elen && e[k] != ';')
            k++;
        while (k > 0 && is_ows((unsigned char)e[k - 1]))
            k--;
        if (k == tlen && case_eq(e, token, tlen))
            return 1;
    }
    return 0;
}

/* Transfer-Encoding as seen over all its field lines. */
enum te_state { TE_ABSENT, TE_CHUNKED, TE_OTHER };

/* transfer_encoding: whether any Transfer-Encoding field is present and,
 * if so, whether "chunked" is the final coding of the last one. */
static enum te_state transfer_encoding(const at_h1_header *h, size_t n)
{
    enum te_state st = TE_ABSENT;
    size_t i;

    for (i = 0; i < n; i++) {
        list_iter it;
        const char *e;
        size_t elen;

        if (h[i].name_len != 17 ||
            !case_eq(h[i].name, "Transfer-Encoding", 17))
            continue;
        st = TE_OTHER;
        it = list_start(&h[i]);
        while (list_next(&it, &e, &elen)) {
            if (elen == 0)
                continue;
            st = (elen == 7 && case_eq(e, "chunked", 7)) ? TE_CHUNKED
                                                         : TE_OTHER;
        }
    }
    return st;
}

/* Content-Length as seen over all its field lines. */
enum cl_state { CL_ABSENT, CL_VALID, CL_INVALID };

/* add_length: one element of a Content-Length value into the lengths
 * seen so far; -1 when it is not a number up to INT64_MAX or differs from
 * one seen before. */
static int add_length(const char *e, size_t elen, enum cl_state *st,
                      uint64_t *seen)
{
    uint64_t v = 0;
    size_t k;

    if (elen == 0)
        return -1;
    for (k = 0; k < elen; k++) {
        unsigned d = (unsigned char)e[k] - '0';

        if (d > 9 || v > ((uint64_t)INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (*st == CL_VALID && v != *seen)
        return -1;
    *st = CL_VALID;
    *seen = v;
    return 0;
}

/* content_length: all Content-Length values must be decimal numbers no
 * larger than INT64_MAX and all equal ("10, 10" or two lines of "10" are
 * one length).  Sets *out when CL_VALID. */
static enum cl_state content_length(const at_h1_header *h, size_t n,
                                    uint64_t *out)
{
    enum cl_state st = CL_ABSENT;
    uint64_t seen = 0;
    size_t i, k;

    for (i = 0; i < n; i++) {
        list_iter it;
        const char *e;
        size_t elen;

        if (h[i].name_len != 14 || !case_eq(h[i].name, "Content-Length", 14))
            continue;
        /* one number, as nearly every one is: no list to split */
        for (k = 0; k < h[i].value_len &&
                    (unsigned)((unsigned char)h[i].value[k] - '0') <= 9u;
             k++)
            ;
        if (k > 0 && k == h[i].value_len) {
            if (add_length(h[i].value, k, &st, &seen) < 0)
                return CL_INVALID;
            continue;
        }
        it = list_start(&h[i]);
        while (list_next(&it, &e, &elen))
            if (add_length(e, elen, &st, &seen) < 0)
                return CL_INVALID;
    }
    *out = seen;
    return st;
}

at_h1_body_kind at_h1_request_body(const at_h1_request *req,
                                   uint64_t *length)
{
    uint64_t len = 0;
    at_h1_body_kind kind;

    switch (transfer_encoding(req->headers, req->num_headers)) {
    case TE_CHUNKED:
        kind = AT_H1_BODY_CHUNKED;
        break;
    case TE_OTHER:
        /* RFC 9112 section 6.3: a request whose final coding is not
         * chunked cannot be delimited */
        kind = AT_H1_BODY_INVALID;
        break;
    default:
        switch (content_length(req->headers, req->num_headers, &len)) {
        case CL_VALID:
            kind = AT_H1_BODY_LENGTH;
            break;
        case CL_INVALID:
            kind = AT_H1_BODY_INVALID;
            break;
        default:
            kind = AT_H1_BODY_NONE;
            break;
        }
    }
    if (length != NULL)
        *length = kind == AT_H1_BODY_LENGTH ? len : 0;
    return kind;
}

at_h1_body_kind at_h1_response_body(const at_h1_response *resp,
                                    const char *method, size_t method_len,
                                    uint64_t *length)
{
    uint64_t len = 0;
    at_h1_body_kind kind;
    int status = resp->status;

    if (length != NULL)
        *length = 0;
    if (method != NULL && method_len == 4 && memcmp(method, "HEAD", 4) == 0)
        return AT_H1_BODY_NONE;
    if (status < 200 || status == 204 || status == 304)
        return AT_H1_BODY_NONE;
    if (method != NULL && method_len == 7 &&
        memcmp(method, "CONNECT", 7) == 0 && status < 300)
        return AT_H1_BODY_NONE;
    switch (transfer_encoding(resp->headers, resp->num_headers)) {
    case TE_CHUNKED:
        return AT_H1_BODY_CHUNKED;
    case TE_OTHER:
        return AT_H1_BODY_UNTIL_CLOSE;
    default:
        break;
    }
    switch (content_length(resp->headers, resp->num_headers, &len)) {
    case CL_VALID:
        kind = AT_H1_BODY_LENGTH;
        break;
    case CL_INVALID:
        kind = AT_H1_BODY_INVALID;
        break;
    default:
        kind = AT_H1_BODY_UNTIL_CLOSE;
        break;
    }
    if (length != NULL && kind == AT_H1_BODY_LENGTH)
        *length = len;
    return kind;
}

/* States of the chunked decoder.  0 must be the first state, so that a
 * zero-initialised at_h1_chunked is ready. */
enum {
    CH_SIZE_FIRST = 0, /* at the first hex digit of a chunk size */
    CH_SIZE,           /* after at least one hex digit */
    CH_EXT,            /* after the size: whitespace and extensions */
    CH_SIZE_LF,        /* a CR ended the size line; LF must follow */
    CH_DATA,           /* inside chunk data, `remaining` bytes left */
    CH_DATA_CR,        /* after chunk data: CR (or a lenient bare LF) */
    CH_DATA_LF,        /* after chunk data and CR: LF */
    CH_TRAILER_START,  /* at the start of a trailer line or the last line */
    CH_TRAILER,        /* inside a trailer field line */
    CH_TRAILER_LF,     /* a CR ended a trailer line; LF must follow */
    CH_END_LF,         /* the CR of the final empty line; LF must follow */
    CH_DONE,           /* the body is complete */
    CH_FAILED          /* an error was seen; stays so */
};

void at_h1_chunked_init(at_h1_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CH_SIZE_FIRST;
}

/* hex_value: 0-15 for a hex digit, else -1. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* chunk_line_grow: count one more byte of a size or trailer line. */
static int chunk_line_grow(at_h1_chunked *c)
{
    if (c->ext_len >= AT_H1_CHUNK_LINE_MAX)
        return -1;
    c->ext_len++;
    return 0;
}

/* end_size_line: the size line is complete; go to the data or, for the
 * zero-size last chunk, to the trailer. */
static void end_size_line(at_h1_chunked *c)
{
    c->ext_len = 0;
    c->state = c->remaining == 0 ? CH_TRAILER_START : CH_DATA;
}

ssize_t at_h1_chunked_decode(at_h1_chunked *c, char *buf, size_t *len)
{
    size_t r = 0, w = 0, n = *len;

    while (r < n && c->state != CH_DONE && c->state != CH_FAILED) {
        unsigned char ch = (unsigned char)buf[r];
        int d;

        switch (c->state) {
        case CH_SIZE_FIRST:
        case CH_SIZE:
            d = hex_value(ch);
            if (d >= 0) {
                if (c->ext_len >= AT_H1_CHUNK_DIGITS_MAX)
                    goto fail;
                if (c->state == CH_SIZE_FIRST)
                    c->remaining = 0;
                c->remaining = (c->remaining << 4) | (uint64_t)d;
                c->ext_len++;
                c->state = CH_SIZE;
            } else if (c->state == CH_SIZE_FIRST) {
                goto fail;
            } else if (ch == ';' || is_ows(ch)) {
                c->state = CH_EXT;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if (ch == '\n') {
                end_size_line(c);
            } else {
                goto fail;
            }
            r++;
            break;
        case CH_EXT:
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n')
                end_size_line(c);
            else if (!is_field_char(ch) || chunk_line_grow(c) < 0)
                goto fail;
            r++;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                goto fail;
            end_size_line(c);
            r++;
            break;
        case CH_DATA: {
            size_t take = n - r;

            if ((uint64_t)take > c->remaining)
                take = (size_t)c->remaining;
            if (w != r)
                memmove(buf + w, buf + r, take);
            w += take;
            r += take;
            c->remaining -= take;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (ch == '\r')
                c->state = CH_DATA_LF;
            else if (ch == '\n')
                c->state = CH_SIZE_FIRST;
            else
                goto fail;
            r++;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                goto fail;
            c->state = CH_SIZE_FIRST;
            r++;
            break;
        case CH_TRAILER_START:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (ch == '\n') {
                c->state = CH_DONE;
            } else if (is_tchar(ch)) {
                c->ext_len = 1;
                c->state = CH_TRAILER;
            } else {
                goto fail;
            }
            r++;
            break;
        case CH_TRAILER:
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (ch == '\n')
                c->state = CH_TRAILER_START;
            else if (!is_field_char(ch) || chunk_line_grow(c) < 0)
                goto fail;
            r++;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                goto fail;
            c->state = CH_TRAILER_START;
            r++;
            break;
        case CH_END_LF:
            if (ch != '\n')
                goto fail;
            c->state = CH_DONE;
            r++;
            break;
        default:
            goto fail;
        }
    }
    *len = w;
    if (c->state == CH_FAILED)
        return AT_H1_ERROR;
    if (c->state == CH_DONE)
        return (ssize_t)(n - r);
    return AT_H1_NEED_MORE;

fail:
    c->state = CH_FAILED;
    *len = w;
    return AT_H1_ERROR;
}
