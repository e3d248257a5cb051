/* buf.h - a growable byte buffer with a hard upper bound.
 *
 * Runs on the sink thread only (it calls malloc).  A buffer never grows past
 * its `max`: bytes beyond it are counted in `dropped` and `truncated` is set,
 * so a hostile or huge body can never make the shim's memory unbounded.  The
 * contents are always followed by a NUL byte (not counted in `len`), so a
 * buffer can be handed to string functions and to JSON parsers directly.
 */
#ifndef AT_BUF_H
#define AT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct at_buf {
    char *p;          /* NULL until the first append; NUL-terminated after */
    size_t len;       /* bytes held */
    size_t cap;       /* bytes allocated, not counting the NUL */
    size_t max;       /* never hold more than this */
    uint64_t dropped; /* bytes refused because of `max` or allocation failure */
    int truncated;    /* set once anything was dropped */
} at_buf;

/* at_buf_init: an empty buffer that will hold at most `max` bytes. Never
 * fails; allocates nothing. */
void at_buf_init(at_buf *b, size_t max);

/* at_buf_append: append `n` bytes of `data`.  Bytes past `max` are dropped
 * and counted.  Returns 0, or -1 when memory could not be allocated (the
 * bytes are then counted as dropped too and `truncated` is set). */
int at_buf_append(at_buf *b, const void *data, size_t n);

/* at_buf_reset: forget the contents, keep the allocation and `max`. */
void at_buf_reset(at_buf *b);

/* at_buf_free: release the allocation; the buffer is empty afterwards and
 * may be reused. */
void at_buf_free(at_buf *b);

#endif
