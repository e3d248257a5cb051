/* h2.h - HTTP/2 connection decoding (RFC 9113) for a passive observer.
 *
 * Sink thread only.  One at_h2 per connection and direction pair: the
 * bytes the client sent (starting with the connection preface) and the
 * bytes it received are fed separately, in order.  The decoder splits
 * frames, reassembles HEADERS + CONTINUATION blocks, decompresses them with
 * libnghttp2's HPACK inflater (one per direction, as the protocol has),
 * strips DATA padding, and reports what happened per stream through
 * callbacks.  It never writes anything back and keeps no per-stream body:
 * the caller keeps what it wants.
 *
 * Errors: a malformed frame or a header block that does not decompress
 * makes the connection "failed": at_h2_feed returns -1 then and for every
 * later call, on either direction (each side's SETTINGS size the other
 * side's HPACK table), and nothing more is reported for that connection
 * (HPACK state is lost, so decoding further could only be wrong).
 */
#ifndef AT_H2_H
#define AT_H2_H

#include <stddef.h>
#include <stdint.h>

typedef struct at_h2 at_h2;

/* One decoded header field; name lowercase as HTTP/2 requires.  Pointers
 * are valid only during the callback. */
typedef struct at_h2_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} at_h2_field;

typedef struct at_h2_callbacks {
    /* A complete header block (HEADERS + CONTINUATIONs) on `stream`, sent
     * by the client (`from_client` 1: request headers or trailers) or by
     * the server (response headers, interim 1xx, or trailers).  `end_stream`
     * is the END_STREAM flag of the HEADERS frame. */
    void (*headers)(void *ud, uint32_t stream, int from_client,
                    const at_h2_field *fields, size_t n, int end_stream);
    /* DATA payload (padding removed), in pieces as the bytes arrive,
     * pointing into the buffer given to at_h2_feed; `end_stream` on the
     * last, which has `n` 0 when no payload byte was left to go with it
     * (an empty DATA frame, or padding after the last byte).  Never
     * called with `n` 0 otherwise. */
    void (*data)(void *ud, uint32_t stream, int from_client,
                 const char *p, size_t n, int end_stream);
    /* RST_STREAM from either side, with its error code. */
    void (*reset)(void *ud, uint32_t stream, int from_client,
                  uint32_t error_code);
    /* GOAWAY: streams above `last_stream` were not processed. */
    void (*goaway)(void *ud, int from_client, uint32_t last_stream,
                   uint32_t error_code);
} at_h2_callbacks;

/* at_h2_new: a decoder for one connection.  `cb` is copied.  NULL on
 * allocation failure. */
at_h2 *at_h2_new(const at_h2_callbacks *cb, void *ud);

/* at_h2_feed: the next `n` bytes one side sent (`from_client` 1: the
 * client's bytes, which begin with the 24-byte connection preface).  Bytes
 * may be split anywhere.  Returns 0, or -1 once that direction failed
 * (see above). */
int at_h2_feed(at_h2 *h, int from_client, const char *p, size_t n);

/* at_h2_failed: 1 once either direction failed. */
int at_h2_failed(const at_h2 *h);

/* at_h2_del: free (NULL is fine). */
void at_h2_del(at_h2 *h);

#endif
