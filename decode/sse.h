/* sse.h - incremental parser for text/event-stream (Server-Sent Events).
 *
 * Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; a
 * leading UTF-8 BOM is skipped; "field: value" with one optional space after
 * the colon; lines starting with ':' are comments; `data` lines are joined
 * with '\n'; an empty line dispatches the event when it has data.  `id` and
 * `retry` are ignored.  An incomplete event at the end of the stream is not
 * dispatched (as the spec says).  Sink thread only: it allocates.
 */
#ifndef AT_SSE_H
#define AT_SSE_H

#include <stddef.h>
#include "buf.h"

/* Called once per dispatched event.  `event` is the `event:` field value
 * ("" when absent, event_len 0), `data` the joined data; both are
 * NUL-terminated and valid only during the call. */
typedef void (*at_sse_cb)(void *ud, const char *event, size_t event_len,
                          const char *data, size_t data_len);

typedef struct at_sse {
    at_buf line;      /* private: the current, unfinished line */
    at_buf event;     /* private: event name of the event being built */
    at_buf data;      /* private: data of the event being built */
    int has_data;     /* private */
    int bom_checked;  /* private */
    int last_was_cr;  /* private: a CR ended the previous feed's last line */
    size_t max_event; /* an event's data longer than this is cut */
    unsigned long events;     /* events dispatched so far */
    unsigned long oversized;  /* events whose data was cut at max_event */
} at_sse;

/* at_sse_init: a parser whose events carry at most `max_event` bytes of data
 * (longer data is cut there, and `oversized` counts it). */
void at_sse_init(at_sse *p, size_t max_event);

/* at_sse_feed: feed the next `len` bytes; calls `cb` for every event that
 * completes.  Returns 0, or -1 if memory ran out (the parser stays usable;
 * the affected event is cut). */
int at_sse_feed(at_sse *p, const char *buf, size_t len, at_sse_cb cb,
                void *ud);

/* at_sse_free: release the parser's memory. */
void at_sse_free(at_sse *p);

#endif
