/* sse.c - incremental text/event-stream (Server-Sent Events) parser.
 *
 * Runs on the sink thread only: it allocates, through at_buf.  Bytes may
 * arrive in pieces of any size, split anywhere (inside a line, inside the
 * BOM, between the CR and the LF of one line end); the events and their
 * contents do not depend on where the splits fall.
 */
#include "sse.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Longest `event:` name kept; longer names are cut. */
#define AT_SSE_NAME_MAX 256

/* Room for a field name, the colon and the space on top of max_event in
 * the line buffer, so that a data line is only cut when its value is. */
#define AT_SSE_LINE_SLACK 64

/* The UTF-8 byte order mark, skipped at the very start of a stream.
 * `bom_checked` counts how many of its bytes have been matched; BOM_DONE
 * means the start of the stream is behind us. */
static const unsigned char sse_bom[3] = { 0xEF, 0xBB, 0xBF };
#define BOM_DONE 3

void at_sse_init(at_sse *p, size_t max_event)
{
    size_t line_max = max_event > SIZE_MAX - AT_SSE_LINE_SLACK
                          ? SIZE_MAX
                          : max_event + AT_SSE_LINE_SLACK;

    memset(p, 0, sizeof(*p));
    at_buf_init(&p->line, line_max);
    at_buf_init(&p->event, AT_SSE_NAME_MAX);
    at_buf_init(&p->data, max_event);
    p->max_event = max_event;
}

/* start_event: forget the event being built (after a dispatch, or at an
 * empty line when it had no data). */
static void start_event(at_sse *p)
{
    at_buf_reset(&p->event);
    at_buf_reset(&p->data);
    p->has_data = 0;
}

/* dispatch: an empty line ends the event; hand it to `cb` if it has data
 * (even empty data: "data:" alone makes an event whose data is ""). */
static void dispatch(at_sse *p, at_sse_cb cb, void *ud)
{
    if (p->has_data) {
        p->events++;
        if (p->data.truncated)
            p->oversized++;
        if (cb != NULL)
            cb(ud, p->event.p ? p->event.p : "", p->event.len,
               p->data.p ? p->data.p : "", p->data.len);
    }
    start_event(p);
}

/* field_is: whether the field name f[0 .. n) is `name`. */
static int field_is(const char *f, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(f, name, n) == 0;
}

/* process_line: act on the complete line l[0 .. n) (in p->line, or in the
 * fed bytes when it came whole in one feed); `cut` when it was cut at the
 * line buffer's bound.  Returns 0, or -1 when memory ran out. */
static int process_line(at_sse *p, const char *l, size_t n, int cut,
                        at_sse_cb cb, void *ud)
{
    const char *colon, *value;
    size_t field_len, value_len;
    int rc = 0;

    if (n == 0 && !cut) {
        dispatch(p, cb, ud);
        return 0;
    }
    if (n == 0 || l[0] == ':')
        return 0;   /* comment (or a line of which nothing could be kept) */
    /* the colon ends a field name of a few bytes: a loop, not memchr */
    for (field_len = 0; field_len < n && l[field_len] != ':'; field_len++)
        ;
    colon = field_len < n ? l + field_len : NULL;
    value = colon ? colon + 1 : l + n;
    if (value < l + n && *value == ' ')
        value++;
    value_len = (size_t)(l + n - value);

    if (field_is(l, field_len, "data")) {
        if (p->has_data && at_buf_append(&p->data, "\n", 1) < 0)
            rc = -1;
        if (at_buf_append(&p->data, value, value_len) < 0)
            rc = -1;
        if (cut)
            p->data.truncated = 1;   /* the value was cut with its line */
        p->has_data = 1;
    } else if (field_is(l, field_len, "event")) {
        at_buf_reset(&p->event);
        if (at_buf_append(&p->event, value, value_len) < 0)
            rc = -1;
    }
    /* "id", "retry" and unknown fields are ignored */
    return rc;
}

#ifdef __SSE2__
/* The CR and LF bytes of the 16 at p, one bit each (bit 0: p[0]). */
static inline unsigned crlf16(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
}
#endif

/* line_end: the position of the first CR or LF at or after i, or len.  A
 * token stream feeds this once per token, so it looks at 16 bytes at a
 * time for both bytes at once; the last block is the buffer's last 16
 * bytes (overlapping what was seen), so nothing past `len` is read. */
static size_t line_end(const unsigned char *s, size_t i, size_t len)
{
#ifdef __SSE2__
    unsigned m;

    if (len - i >= 16) {
        for (; len - i >= 32; i += 32)
            if ((m = crlf16(s + i) | crlf16(s + i + 16) << 16) != 0)
                return i + (size_t)__builtin_ctz(m);
        for (; len - i >= 16; i += 16)
            if ((m = crlf16(s + i)) != 0)
                return i + (size_t)__builtin_ctz(m);
        /* bit 0: position i */
        if (i < len && (m = crlf16(s + len - 16) >> (16 - (len - i))) != 0)
            return i + (size_t)__builtin_ctz(m);
        return len;
    }
#endif
    for (; i < len; i++)
        if (s[i] == '\r' || s[i] == '\n')
            return i;
    return len;
}

int at_sse_feed(at_sse *p, const char *buf, size_t len, at_sse_cb cb,
                void *ud)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    int rc = 0;

    /* the BOM, possibly split over several feeds */
    while (p->bom_checked < BOM_DONE && i < len) {
        if (s[i] == sse_bom[p->bom_checked]) {
            p->bom_checked++;
            i++;
            continue;
        }
        /* not a BOM after all: the bytes matched so far are content */
        if (p->bom_checked > 0 &&
            at_buf_append(&p->line, sse_bom, (size_t)p->bom_checked) < 0)
            rc = -1;
        p->bom_checked = BOM_DONE;
    }

    while (i < len) {
        size_t j;

        if (p->last_was_cr) {
            /* the LF of a CRLF whose CR ended the previous line */
            p->last_was_cr = 0;
            if (s[i] == '\n') {
                i++;
                continue;
            }
        }
        j = line_end(s, i, len);
        if (j == len) {
            /* the line continues in the next feed */
            if (at_buf_append(&p->line, s + i, j - i) < 0)
                rc = -1;
            break;
        }
        p->last_was_cr = s[j] == '\r';
        if (p->line.len == 0 && !p->line.truncated) {
            /* a whole line in this feed: read where it is, no copy; what
             * is kept of it is bounded by the data and event buffers */
            if (process_line(p, buf + i, j - i, 0, cb, ud) < 0)
                rc = -1;
        } else {
            if (j > i && at_buf_append(&p->line, s + i, j - i) < 0)
                rc = -1;
            if (process_line(p, p->line.p ? p->line.p : "", p->line.len,
                             p->line.truncated, cb, ud) < 0)
                rc = -1;
            at_buf_reset(&p->line);
        }
        i = j + 1;
    }
    return rc;
}

void at_sse_free(at_sse *p)
{
    at_buf_free(&p->line);
    at_buf_free(&p->event);
    at_buf_free(&p->data);
    p->has_data = 0;
}
